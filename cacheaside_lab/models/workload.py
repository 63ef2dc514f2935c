"""One seeded request stream and one virtual-time event loop, for every experiment that replays traffic.

The experiments on the real cache (outage, dashboard, payload splitting, total miss) all replay
the same kind of traffic: requests of a few kinds (reads, writes, sales, price changes), each
kind a Poisson process over ``duration`` seconds at its own rate per second, each request for a
product picked by Zipf popularity (product 1 the most popular; ``zipf=0`` is uniform). Time is
virtual: the loop jumps from one request to the next, so a minute of traffic replays in about a
second and gives the same numbers on every machine and on both backends.

* :func:`request_stream` draws the requests from a seeded ``numpy`` generator;
* :func:`replay` runs them in time order together with scheduled events (an outage starting, a
  dashboard tick, a cache restart), moving the experiment's clock before each one.

Every experiment's committed numbers come from the random numbers it drew before this module
existed, in the order it drew them, so the stream keeps those orders (``draw_order``, see
:data:`DRAW_ORDERS`). Statistically they are the same stream; only the exact numbers differ.
No Redis here: the experiments bring the cache.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from ..core.validation import require_choice, require_count, require_non_negative, require_positive
from .closed_forms import zipf_weights

#: The orders in which :func:`request_stream` draws its random numbers (and who uses each):
#:
#: * ``"kind by kind"`` (dashboard): for each kind, its count, its times, its products;
#: * ``"kind by kind, times sorted"`` (outage): the same, but each kind's times are sorted before
#:   its products are drawn, so the n-th product drawn goes to the n-th request in time;
#: * ``"counts first"`` (payload splitting): every kind's count, then each kind's times and products;
#: * ``"counts, times, products"`` (total miss): every count, then every kind's times, then the
#:   products of all requests in one draw (every kind must then use Zipf popularity).
DRAW_ORDERS = ("kind by kind", "kind by kind, times sorted", "counts first", "counts, times, products")

#: Bounds every replay loop: more requests than this is a typo in a rate, not an experiment.
MAX_REQUESTS = 5_000_000


@dataclass(frozen=True)
class RequestStream:
    """Requests in time order (ties keep the order of ``kinds``).

    ``kind[i]`` indexes ``kinds``; ``nth[i]`` is the request's position among the requests of its
    kind in the order they were drawn (for per-request arrays such as a write's new stock).
    ``values[kind]`` holds what ``request_stream(per_request=...)`` drew for that kind, indexed by
    ``nth``.
    """

    kinds: tuple[str, ...]
    times: np.ndarray
    kind: np.ndarray
    ids: np.ndarray
    nth: np.ndarray
    values: dict = field(default_factory=dict)

    def count(self, kind: str) -> int:
        return int((self.kind == self.kinds.index(kind)).sum())

    def is_kind(self, kind: str) -> np.ndarray:
        """A boolean mask over the stream: which requests are of ``kind``."""
        return self.kind == self.kinds.index(require_choice("kind", kind, self.kinds))

    def times_of(self, kind: str) -> np.ndarray:
        """The times of the requests of ``kind``, indexed by ``nth``."""
        mask = self.is_kind(kind)
        out = np.empty(int(mask.sum()))
        out[self.nth[mask]] = self.times[mask]
        return out


def request_stream(
    rng: np.random.Generator,
    *,
    rates: dict[str, float],
    duration: float,
    keys: int,
    zipf: float = 1.0,
    uniform: Iterable[str] = (),
    draw_order: str = "kind by kind",
    per_request: dict[str, Callable[[np.random.Generator, int], np.ndarray]] | None = None,
) -> RequestStream:
    """Draw Poisson requests of each kind in ``rates`` (kind → requests per second) over
    ``duration`` seconds, for products ``1 … keys`` by Zipf popularity with exponent ``zipf``;
    the kinds in ``uniform`` pick products uniformly instead (a price change is not driven by
    popularity). ``rng`` is the experiment's own generator, so what it draws afterwards (new
    stock levels, query times) stays where it was.

    ``per_request[kind](rng, n)`` draws one value per request of ``kind`` (a write's new stock
    level) right before that kind's times, for an experiment that drew them there; the values
    come back in ``stream.values[kind]``.
    """
    per_request = dict(per_request or {})
    uniform = _require_stream(rng, rates, duration, keys, zipf, set(uniform), draw_order, per_request)
    kinds = tuple(rates)
    products = np.arange(1, keys + 1)
    weights = zipf_weights(keys, zipf)
    values: dict[str, np.ndarray] = {}

    def pick(kind, n):
        return rng.choice(products, n) if kind in uniform else rng.choice(products, size=n, p=weights)

    def arrivals(kind, n):
        if kind in per_request:
            values[kind] = np.asarray(per_request[kind](rng, n))
        at = rng.uniform(0, duration, n)
        return np.sort(at) if draw_order.endswith("sorted") else at

    times: list[np.ndarray] = []
    ids: list[np.ndarray] = []
    if draw_order.startswith("kind by kind"):
        for kind in kinds:
            n = rng.poisson(rates[kind] * duration)
            times.append(arrivals(kind, n))
            ids.append(pick(kind, n))
    else:
        counts = [rng.poisson(rates[kind] * duration) for kind in kinds]
        if draw_order == "counts first":
            for kind, n in zip(kinds, counts):
                times.append(arrivals(kind, n))
                ids.append(pick(kind, n))
        else:
            times = [arrivals(kind, n) for kind, n in zip(kinds, counts)]
            every = rng.choice(products, size=sum(counts), p=weights)
            ids = np.split(every, np.cumsum(counts)[:-1])
    return _in_time_order(kinds, times, ids, values)


def _require_stream(rng, rates, duration, keys, zipf, uniform, draw_order, per_request) -> set:
    """Validate :func:`request_stream`'s arguments; returns the set of uniform kinds."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy Generator, e.g. np.random.default_rng(seed) (got {type(rng).__name__}).")
    if not rates:
        raise ValueError("rates must name at least one kind of request, e.g. {'read': 100.0}.")
    for kind, rate in rates.items():
        require_non_negative(f"rates[{kind!r}]", rate, unit="requests per second")
    require_positive("duration", duration, unit="seconds")
    require_count("keys", keys, minimum=1)
    require_non_negative("zipf", zipf)
    require_choice("draw_order", draw_order, DRAW_ORDERS)
    for kind in uniform:
        require_choice("uniform", kind, tuple(rates))
    for kind, draw in per_request.items():
        require_choice("per_request", kind, tuple(rates))
        if not callable(draw):
            raise TypeError(f"per_request[{kind!r}] must be a function (rng, n) -> n values (got {type(draw).__name__}).")
    if uniform and draw_order == "counts, times, products":
        raise ValueError("draw_order 'counts, times, products' draws every product in one Zipf draw; uniform must be empty.")
    expected = sum(rates.values()) * duration
    if expected > MAX_REQUESTS:
        raise ValueError(
            f"rates × duration asks for about {expected:,.0f} requests; at most {MAX_REQUESTS:,} are allowed."
        )
    return uniform


def _in_time_order(kinds, times, ids, values) -> RequestStream:
    """Merge the kinds' draws into one stream sorted by time."""
    all_times = np.concatenate(times)
    order = np.argsort(all_times, kind="stable")  # ties: the earlier kind first
    return RequestStream(
        kinds=kinds,
        times=all_times[order],
        kind=np.concatenate([np.full(len(t), k) for k, t in enumerate(times)])[order],
        ids=np.concatenate(ids).astype(np.int64)[order],
        nth=np.concatenate([np.arange(len(t)) for t in times])[order],
        values=values,
    )


def replay(
    stream: RequestStream,
    on_request: Callable[[str, int, int, float], None],
    *,
    scheduled: Iterable[tuple[float, Callable[[float], None]]] = (),
    set_time: Callable[[float], object] | None = None,
) -> None:
    """Run ``stream`` in time order: before each request, ``set_time(t)`` (the experiment's
    virtual clock), then ``on_request(kind, product_id, nth, t)``.

    ``scheduled`` holds ``(t, callback)`` events: ``callback(t)`` runs at ``t``, before any
    request at the same instant, and events at the same instant run in the order given. The
    loop runs once per request and event, so it ends: the stream is bounded by :data:`MAX_REQUESTS`.
    """
    events = [(float(t), 0, seq, callback) for seq, (t, callback) in enumerate(scheduled)]
    kinds = stream.kinds
    events += [(t, 1, i, None) for i, t in enumerate(stream.times.tolist())]
    events.sort(key=lambda event: event[:3])
    kind, ids, nth = stream.kind.tolist(), stream.ids.tolist(), stream.nth.tolist()
    for when, is_request, index, callback in events:
        if set_time is not None:
            set_time(when)
        if is_request:
            on_request(kinds[kind[index]], ids[index], nth[index], when)
        else:
            callback(when)
