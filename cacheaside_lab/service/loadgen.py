"""An open-loop load generator for the loopback product API, bounded in requests, in flight and time.

Open loop means the arrivals are a schedule drawn before the run (Poisson at ``rate`` requests
per second), and each request is sent when its time comes, whether or not earlier ones have been
answered. A closed loop (N clients, each waiting for its answer before asking again) sends less
when the server slows down, which hides exactly what the capstone wants to see: a herd or a
cold cache makes the server slow, arrivals keep coming, requests queue, and latency grows with
the backlog. Latency is therefore measured from each request's *scheduled* time, so time a
request spent waiting to be sent counts too.

The run is bounded three ways: at most ``max_requests`` arrivals (and never more than
``MAX_REQUESTS``), a schedule at most ``duration_s`` long, and at most ``max_in_flight`` requests
in flight (an arrival that finds them all busy is not sent and is counted as ``dropped``, an
error, never queued behind the others). Each request has a timeout, and the run waits at most
``timeout_s + 1`` s past the schedule's end. It is aimed only at a loopback URL (anything else is
refused), uses httpx's ``AsyncClient``, and samples the service's ``/stats`` every
``sample_every_s`` seconds so database queries per second and the hit ratio can be drawn over time.

What a request is:

* ``read``: ``GET /products/{id}``, ids Zipf-distributed over ``1..products`` (id 1 the hottest);
* ``write`` (share ``write_share``): ``PUT /products/{id}`` with a new ``stock``, the same Zipf ids;
* ``missing`` (share ``missing_share``): ``GET`` of an id the catalogue does not have: each one
  different, the way a scraper walks ids (the default), or drawn from ``missing_pool`` ids asked
  again and again, the way a client keeps retrying products that were deleted;
* ``listing`` (share ``listing_share``): ``GET /products?ids=...`` of ``listing_size`` Zipf ids.

:func:`generate_load` is the async function; :func:`run_load` runs it from ordinary code (a
notebook cell, a test) in a thread with its own event loop, or in a child process
(``in_subprocess=True``, so the client does not share a GIL with an in-process service), and
returns the same :class:`LoadRun`, which :mod:`cacheaside_lab.service.report` summarises.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field

import numpy as np

from ..core.validation import require_count, require_fraction, require_positive
from ..models.closed_forms import zipf_weights
from .runner import require_loopback

KINDS = ("read", "write", "missing", "listing")
MAX_RATE = 5000.0  # requests per second
MAX_DURATION_S = 300.0
MAX_REQUESTS = 200_000
MAX_IN_FLIGHT = 1000
MAX_PRODUCTS = 1_000_000  # the catalogue sizes the course uses are far smaller
DROPPED = -1  # status of an arrival not sent because max_in_flight requests were in flight
FAILED = 0  # status of a request that got no HTTP answer (timeout, connection error)

__all__ = ["DROPPED", "FAILED", "KINDS", "LoadPlan", "LoadRun", "generate_load", "main", "plan_load", "run_load"]


@dataclass
class LoadPlan:
    """The arrival schedule, drawn before the run: what is sent, and when (seconds from start)."""

    times: np.ndarray  # scheduled send time of each request, seconds from the run's start
    kinds: np.ndarray  # index into KINDS
    ids: np.ndarray  # the product id (the first id of a listing)
    listings: list  # for each listing request, in order, its ids
    rate: float
    duration_s: float

    def __len__(self) -> int:
        return len(self.times)


@dataclass
class LoadRun:
    """What a run did, request by request, plus the service's ``/stats`` samples.

    Per request (arrays in schedule order): ``scheduled`` and ``sent`` and ``done`` (seconds
    from start; ``sent``/``done`` NaN for a dropped arrival), ``status`` (HTTP status, ``FAILED``
    for no answer, ``DROPPED`` for not sent), ``kinds``, ``ids``. ``latency_ms`` is ``done``
    minus ``scheduled``. ``samples`` is ``[(t, stats_dict), ...]`` from ``/stats``.
    """

    url: str
    plan: LoadPlan
    scheduled: np.ndarray
    sent: np.ndarray
    done: np.ndarray
    status: np.ndarray
    samples: list = field(default_factory=list)
    max_in_flight: int = 0
    peak_in_flight: int = 0
    wall_s: float = 0.0
    settings: dict = field(default_factory=dict)
    events: list = field(default_factory=list)  # [{"t", "name", "seconds", "error"}] of what ran during the run

    @property
    def kinds(self) -> np.ndarray:
        return self.plan.kinds

    @property
    def ids(self) -> np.ndarray:
        return self.plan.ids

    @property
    def latency_ms(self) -> np.ndarray:
        return 1000 * (self.done - self.scheduled)

    def __len__(self) -> int:
        return len(self.scheduled)

    def __repr__(self) -> str:
        sent = int(np.sum(self.status != DROPPED))
        return f"<LoadRun {len(self)} arrivals at {self.plan.rate:g}/s to {self.url}, {sent} sent, wall {self.wall_s:.2f} s>"


def plan_load(
    *,
    rate: float,
    duration_s: float,
    max_requests: int = 10_000,
    products: int = 1000,
    zipf: float = 1.0,
    write_share: float = 0.0,
    missing_share: float = 0.0,
    listing_share: float = 0.0,
    listing_size: int = 10,
    missing_pool: int = 0,
    seed: int = 0,
) -> LoadPlan:
    """Draw the schedule: Poisson arrivals at ``rate``/s for ``duration_s`` (at most ``max_requests``),
    each a read, write, missing-id read or listing, ids Zipf(``zipf``) over ``1..products``.

    Missing ids are all different, or, with ``missing_pool`` > 0, drawn uniformly from that many
    ids past the catalogue (``products + 1 .. products + missing_pool``), so each is asked again."""
    require_positive("rate", rate, unit="requests per second")
    if rate > MAX_RATE:
        raise ValueError(f"rate must be at most {MAX_RATE:g} requests per second (got {rate!r}).")
    require_positive("duration_s", duration_s, unit="s")
    if duration_s > MAX_DURATION_S:
        raise ValueError(f"duration_s must be at most {MAX_DURATION_S:g} s (got {duration_s!r}).")
    require_count("max_requests", max_requests, minimum=1, maximum=MAX_REQUESTS)
    require_count("products", products, minimum=1, maximum=MAX_PRODUCTS)
    for name, share in (("write_share", write_share), ("missing_share", missing_share), ("listing_share", listing_share)):
        require_fraction(name, share)
    if write_share + missing_share + listing_share > 1:
        raise ValueError(
            f"write_share + missing_share + listing_share must be at most 1 (got {write_share + missing_share + listing_share:g}): "
            "the rest are reads."
        )
    require_count("listing_size", listing_size, minimum=1, maximum=100)
    require_count("missing_pool", missing_pool, minimum=0, maximum=MAX_PRODUCTS)
    require_count("seed", seed)
    rng = np.random.default_rng(seed)
    expected = int(rate * duration_s * 1.2) + 50
    gaps = rng.exponential(1.0 / rate, size=min(expected, MAX_REQUESTS + 1))
    times = np.cumsum(gaps) - gaps[0]  # the first request at t=0
    times = times[times < duration_s][:max_requests]
    count = len(times)
    shares = np.array([1 - write_share - missing_share - listing_share, write_share, missing_share, listing_share])
    kinds = rng.choice(len(KINDS), size=count, p=np.clip(shares, 0, None) / shares.clip(0, None).sum())
    weights = zipf_weights(products, zipf)
    ids = rng.choice(products, size=count, p=weights) + 1
    missing = kinds == KINDS.index("missing")
    # ids past the catalogue, all different (a flood of random ids walks past a cache)
    flood = int(missing.sum())
    if missing_pool:  # the same few missing ids, again and again
        ids[missing] = products + 1 + rng.integers(0, missing_pool, size=flood)
    else:
        ids[missing] = products + 1 + rng.choice(max(100 * products, flood), size=flood, replace=False)
    listings = [list(map(int, rng.choice(products, size=listing_size, p=weights) + 1))
                for _ in range(int(np.sum(kinds == KINDS.index("listing"))))]
    return LoadPlan(times=times, kinds=kinds, ids=ids, listings=listings, rate=float(rate), duration_s=float(duration_s))


def _check_events(events, duration_s) -> list[tuple[float, str, object]]:
    """``[(seconds, name, function)]`` from ``{seconds: function or (name, function)}``, in time order."""
    if events is None:
        return []
    if not isinstance(events, dict):
        raise TypeError(f"events must be a dict {{seconds: function}} (got {type(events).__name__}).")
    planned = []
    for when, what in events.items():
        if isinstance(when, bool) or not isinstance(when, (int, float)) or not 0 <= when < duration_s:
            raise ValueError(f"an event's time must be a number of seconds from 0 up to duration_s={duration_s:g} (got {when!r}).")
        name, function = what if isinstance(what, tuple) and len(what) == 2 else (getattr(what, "__name__", "event"), what)
        if not callable(function):
            raise TypeError(f"the event at {when} s must be a function to call (got {function!r}).")
        planned.append((float(when), str(name), function))
    return sorted(planned, key=lambda event: event[0])


def _base_url(url: str) -> str:
    import httpx

    if not isinstance(url, str):
        raise TypeError(f"url must be the service's URL, e.g. service.url (got {url!r}).")
    parsed = httpx.URL(url)
    if parsed.scheme != "http":
        raise ValueError(f"url must be an http:// URL of the loopback service (got {url!r}).")
    require_loopback(parsed.host)
    return str(parsed).rstrip("/")


async def generate_load(
    url: str,
    *,
    rate: float,
    duration_s: float,
    max_requests: int = 10_000,
    max_in_flight: int = 200,
    timeout_s: float = 2.0,
    sample_every_s: float = 0.25,
    products: int = 1000,
    zipf: float = 1.0,
    write_share: float = 0.0,
    missing_share: float = 0.0,
    listing_share: float = 0.0,
    listing_size: int = 10,
    missing_pool: int = 0,
    seed: int = 0,
    events: dict | None = None,
) -> LoadRun:
    """Send the schedule :func:`plan_load` draws to the loopback service at ``url``; return the run.

    ``max_in_flight`` bounds requests in flight (and the client's connections); ``timeout_s`` each
    request (then it is ``FAILED``). The whole run takes at most ``duration_s + 3 * timeout_s + 1``
    seconds: the ``/stats`` samples before and after (each within ``timeout_s``), the schedule, and
    ``timeout_s + 1`` s for the last answers, after which any request still open is cancelled.

    ``events`` is ``{seconds: function}`` (or ``{seconds: (name, function)}``): each function is
    called with no arguments at that time of the run, in a worker thread so the schedule goes on
    meanwhile (a cache restart, a burst of writes to the database); ``run.events`` records when
    each ran, for how long, and its error if it raised."""
    import httpx

    base = _base_url(url)
    planned_events = _check_events(events, duration_s)
    require_count("max_in_flight", max_in_flight, minimum=1, maximum=MAX_IN_FLIGHT)
    require_positive("timeout_s", timeout_s, unit="s")
    require_positive("sample_every_s", sample_every_s, unit="s")
    plan = plan_load(
        rate=rate, duration_s=duration_s, max_requests=max_requests, products=products, zipf=zipf,
        write_share=write_share, missing_share=missing_share, listing_share=listing_share,
        listing_size=listing_size, missing_pool=missing_pool, seed=seed,
    )
    count = len(plan)
    sent = np.full(count, np.nan)
    done = np.full(count, np.nan)
    status = np.full(count, DROPPED, dtype=int)
    samples: list = []
    in_flight = 0
    peak = 0
    limits = httpx.Limits(max_connections=max_in_flight, max_keepalive_connections=max_in_flight)
    listing_of = {}
    listing_index = 0
    for index in np.flatnonzero(plan.kinds == KINDS.index("listing")):
        listing_of[int(index)] = plan.listings[listing_index]
        listing_index += 1
    loop = asyncio.get_running_loop()

    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=timeout_s, trust_env=False) as client:
        start = loop.time()

        def now() -> float:
            return loop.time() - start

        async def one(index: int) -> None:
            nonlocal in_flight
            kind = KINDS[plan.kinds[index]]
            item_id = int(plan.ids[index])
            sent[index] = now()
            status[index] = FAILED  # until an answer says otherwise (a cancelled request stays FAILED)
            try:
                if kind == "write":
                    response = await client.put(f"/products/{item_id}", json={"stock": index % 500})
                elif kind == "listing":
                    response = await client.get("/products", params={"ids": ",".join(map(str, listing_of[index]))})
                else:
                    response = await client.get(f"/products/{item_id}")
                status[index] = response.status_code
            except httpx.HTTPError:
                status[index] = FAILED
            finally:
                done[index] = now()
                in_flight -= 1

        async def read_stats():
            try:
                response = await client.get("/stats", timeout=timeout_s)
                return response.json() if response.status_code == 200 else None
            except (httpx.HTTPError, ValueError):
                return None  # a missed sample leaves a gap; the next one covers the interval

        async def sample_stats() -> None:
            counters = await read_stats()
            if counters is not None:
                samples.append((now(), counters))

        async def sampler() -> None:
            while True:
                await asyncio.sleep(sample_every_s)
                await sample_stats()

        before = await read_stats()  # the counters before the first request, at t = 0
        catalogue = (before or {}).get("products")
        if isinstance(catalogue, int) and catalogue < products:
            raise ValueError(
                f"the service has {catalogue} products, so products={products} would read ids it does not have "
                f"as if they existed; pass products={catalogue} (and missing_share= for ids that do not exist)."
            )
        start = loop.time()
        if before is not None:
            samples.append((0.0, before))
        sampling = asyncio.create_task(sampler())
        happened: list[dict] = []

        async def happen(when: float, name: str, function) -> None:
            await asyncio.sleep(max(0.0, when - now()))
            began = now()
            error = None
            try:
                await asyncio.to_thread(function)
            except Exception as failure:  # recorded, so the run and its record still finish
                error = f"{type(failure).__name__}: {failure}"
            happened.append({"t": began, "name": name, "seconds": now() - began, "error": error})

        happening = [asyncio.create_task(happen(when, name, function)) for when, name, function in planned_events]
        tasks = []
        for index in range(count):
            delay = plan.times[index] - now()
            if delay > 0:
                await asyncio.sleep(delay)
            if in_flight >= max_in_flight:
                continue  # open loop: never wait for a slot; the arrival is counted as dropped
            in_flight += 1
            peak = max(peak, in_flight)
            tasks.append(asyncio.create_task(one(index)))
        if tasks:
            await asyncio.wait(tasks, timeout=timeout_s + 1.0)
        for task in tasks:
            task.cancel()  # only ones past their own timeout can still be here
        await asyncio.gather(*tasks, return_exceptions=True)
        if happening:
            await asyncio.wait(happening, timeout=timeout_s + 1.0)
            for task in happening:
                task.cancel()
            await asyncio.gather(*happening, return_exceptions=True)
        sampling.cancel()
        await asyncio.gather(sampling, return_exceptions=True)
        await sample_stats()  # the counters after the last answer
        wall = now()
    settings = dict(rate=rate, duration_s=duration_s, max_requests=max_requests, timeout_s=timeout_s, products=products,
                    zipf=zipf, write_share=write_share, missing_share=missing_share, listing_share=listing_share,
                    listing_size=listing_size, missing_pool=missing_pool, seed=seed)
    return LoadRun(url=base, plan=plan, scheduled=plan.times.copy(), sent=sent, done=done, status=status,
                   samples=samples, max_in_flight=max_in_flight, peak_in_flight=peak, wall_s=wall, settings=settings,
                   events=sorted(happened, key=lambda event: event["t"]))


def run_load(url: str, *, in_subprocess: bool = False, **settings) -> LoadRun:
    """:func:`generate_load` from ordinary code, returning its :class:`LoadRun`; the same keywords.

    By default the generator runs in a fresh thread of this process with its own event loop (a
    notebook's loop is already running, so ``asyncio.run`` cannot be called there). With
    ``in_subprocess=True`` it runs in a child Python process instead (killed by its PID if it
    outlives its bound), so the client's work does not compete with an in-process service for
    this process's GIL: on a small machine the service then gets a whole core. The schedule is
    the same either way (it is drawn from ``seed``)."""
    _base_url(url)  # refuse a non-loopback URL before starting anything
    if not isinstance(in_subprocess, bool):
        raise TypeError(f"in_subprocess must be True or False (got {in_subprocess!r}).")
    limit = MAX_DURATION_S + 60
    if in_subprocess:
        return _run_in_subprocess(url, settings, limit)
    outcome: dict = {}

    def work():
        try:
            outcome["run"] = asyncio.run(generate_load(url, **settings))
        except BaseException as error:  # raised again in the caller's thread
            outcome["error"] = error

    thread = threading.Thread(target=work, name="load-generator", daemon=True)
    thread.start()
    thread.join(limit)
    if thread.is_alive():
        raise RuntimeError(f"the load generator did not finish within {limit:g} s.")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["run"]


def _record(run: LoadRun) -> dict:
    """What a child process hands back: the measured arrays and samples (the plan is re-drawn)."""
    def listed(values):
        return [None if np.isnan(value) else float(value) for value in values]

    return {"sent": listed(run.sent), "done": listed(run.done), "status": run.status.tolist(),
            "samples": run.samples, "peak_in_flight": run.peak_in_flight, "wall_s": run.wall_s}


def _run_in_subprocess(url: str, settings: dict, limit: float) -> LoadRun:
    import inspect
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    if settings.get("events"):
        raise TypeError("events run in this process; pass them without in_subprocess=True.")
    known = set(inspect.signature(generate_load).parameters) - {"url", "events"}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise TypeError(f"run_load got unknown settings {', '.join(unknown)}; it takes {', '.join(sorted(known))}.")
    environment = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[2])  # so the child imports this same package
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, environment.get("PYTHONPATH")]))
    try:
        finished = subprocess.run(
            [sys.executable, "-m", "cacheaside_lab.service.loadgen", json.dumps({"url": url, **settings})],
            capture_output=True, text=True, timeout=limit, env=environment,
        )
    except subprocess.TimeoutExpired:  # subprocess.run has killed the child by then
        raise RuntimeError(f"the load generator's process did not finish within {limit:g} s.") from None
    if finished.returncode != 0:
        lines = finished.stderr.strip().splitlines()
        raise RuntimeError(f"the load generator's process failed: {lines[-1] if lines else finished.returncode}")
    record = json.loads(finished.stdout)
    defaults = {name: parameter.default for name, parameter in inspect.signature(generate_load).parameters.items()
                if parameter.default is not inspect.Parameter.empty}
    chosen = {**defaults, **settings}
    plan_settings = set(inspect.signature(plan_load).parameters)
    plan = plan_load(**{name: value for name, value in chosen.items() if name in plan_settings})
    as_array = lambda values: np.array([np.nan if value is None else value for value in values], dtype=float)  # noqa: E731
    return LoadRun(url=_base_url(url), plan=plan, scheduled=plan.times.copy(), sent=as_array(record["sent"]),
                   done=as_array(record["done"]), status=np.array(record["status"], dtype=int),
                   samples=[tuple(sample) for sample in record["samples"]], max_in_flight=chosen["max_in_flight"],
                   peak_in_flight=record["peak_in_flight"], wall_s=record["wall_s"],
                   settings={name: chosen[name] for name in chosen if name in plan_settings or name == "timeout_s"})


def main(argv=None) -> int:
    """The child process of ``run_load(in_subprocess=True)``: settings as JSON in, the record as JSON out."""
    import json
    import sys

    arguments = json.loads((sys.argv[1:] if argv is None else argv)[0])
    url = arguments.pop("url")
    run = asyncio.run(generate_load(url, **arguments))
    print(json.dumps(_record(run)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
