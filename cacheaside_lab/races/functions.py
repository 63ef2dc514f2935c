"""Races between plain Python functions: your read path and your write path, call by call.

The strategies in :mod:`.strategies` are written as explicit steps. Lab code is not: it is an
ordinary function such as ``read_product(cache, db, product_id)``. To race such functions, each
actor runs in its own thread, with the cache and the database replaced by *gates*: every call to
a cache command (``cache.get``, ``cache.set``, ``cache.eval``, a registered script, a pipeline's
``execute``) or to a database method (``db.get_product``) stops the thread and hands the call to
the scheduler, which decides who goes next and runs that one call itself. So a step is exactly
one command, wherever the function makes it, and two commands the function makes one after the
other are two steps that other actors can come between. That is how a check that reads the lease
and then sets the value in two commands gets caught.

Only one thread runs at any time (the scheduler waits until the actor it released has reached its
next call or returned), so a run is deterministic. Threads cannot be copied, so to explore another
branch the explorer replays from the start: one run per execution. That is slower than the
strategies' explorer, which is why the labs use small scenarios.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable

from ..core.validation import require_callable, require_count
from .explorer import Exploration
from .scheduler import check_scenario
from .world import RaceWorld, WorldSnapshot

DEFAULT_MAX_CALLS = 25  # per actor and run: a read or a write makes a handful of calls
DEFAULT_MAX_EXECUTIONS = 5_000
PARK_TIMEOUT_S = 5.0


class RaceError(RuntimeError):
    """The functions under test could not be raced: they looped, hung, raised, or were not deterministic."""

    def __init__(self, message: str, *, actor: str | None = None, error: BaseException | None = None):
        super().__init__(message)
        self.actor = actor
        self.error = error


class _Abort(BaseException):
    """Unwinds an actor thread when a run is abandoned (a BaseException, so ``except Exception`` lets it pass)."""


class _Workers:
    """A few daemon threads kept between runs.

    Starting a fresh thread costs about half a millisecond, more than a whole step; an
    exploration makes one run per execution and one actor per thread, so the threads are reused.
    They are daemons, so an actor stuck in a loop cannot keep Python from exiting.
    """

    def __init__(self):
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.idle = 0

    def submit(self, job: Callable[[], None]) -> None:
        with self.lock:
            if self.idle:
                self.idle -= 1
            else:
                threading.Thread(target=self._loop, daemon=True, name="race-actor").start()
        self.jobs.put(job)

    def _loop(self) -> None:
        while True:
            self.jobs.get()()
            with self.lock:
                self.idle += 1


_WORKERS = _Workers()


class _ActorThread:
    """One actor: ``function`` running on a worker thread, parked at every gated call until released.

    The actor and the scheduler talk through two queues. At a gated call the actor posts
    ``("parked", label, call)`` and waits for a reply; when the function returns it posts
    ``("done",)``. The scheduler runs the call itself and posts back the result (or the error).
    """

    def __init__(self, name: str, function: Callable, args: tuple, kwargs: dict, cache, db, max_calls: int):
        self.name = name
        self.max_calls = max_calls
        self.calls = 0
        self.state = "new"  # new → running → parked → running … → done
        self.pending: tuple[str, Callable] | None = None
        self.error: BaseException | None = None
        self.result = None
        self._to_scheduler: queue.SimpleQueue = queue.SimpleQueue()
        self._to_actor: queue.SimpleQueue = queue.SimpleQueue()
        gated_cache, gated_db = GatedProxy(cache, self, "cache"), GatedProxy(db, self, "db")
        self._job = lambda: self._main(function, (gated_cache, gated_db, *args), kwargs)

    # -- on the actor's worker thread ------------------------------------------------------

    def _main(self, function, args, kwargs):
        try:
            self.result = function(*args, **kwargs)
        except _Abort:
            pass
        except BaseException as error:  # reported to the scheduler, which reports it to you
            self.error = error
        self._to_scheduler.put(("done",))

    def call(self, label: str, thunk: Callable):
        """Park at a gated call; the scheduler runs ``thunk`` and hands back its result."""
        self._to_scheduler.put(("parked", label, thunk))
        kind, value = self._to_actor.get()
        if kind == "abort":
            raise _Abort()
        if kind == "error":
            raise value
        return value

    # -- on the scheduler's thread ---------------------------------------------------------

    def start(self) -> None:
        self.state = "running"
        _WORKERS.submit(self._job)
        self.wait()

    def wait(self) -> None:
        """Wait until the actor reaches its next gated call or returns."""
        try:
            message = self._to_scheduler.get(timeout=PARK_TIMEOUT_S)
        except queue.Empty:
            raise RaceError(
                f"{self.name} did not reach its next cache or database call within "
                f"{PARK_TIMEOUT_S:g} s: is it sleeping or waiting for something?",
                actor=self.name,
            ) from None
        if message[0] == "parked":
            self.state, self.pending = "parked", (message[1], message[2])
        else:
            self.state, self.pending = "done", None

    @property
    def label(self) -> str | None:
        return self.pending[0] if self.pending else None

    def release(self) -> None:
        """Run the parked call here, on the scheduler's thread, then let the actor go on to its next one."""
        self.calls += 1
        if self.calls > self.max_calls:
            raise RaceError(
                f"{self.name} made more than {self.max_calls} cache and database calls in one run: "
                "does it loop, retrying until something changes? A reader without the lease should "
                "answer from the database instead of waiting.",
                actor=self.name,
            )
        _, thunk = self.pending
        try:
            reply = ("ok", thunk())
        except Exception as error:  # the command failed: the actor's code sees the exception
            reply = ("error", error)
        self.state, self.pending = "running", None
        self._to_actor.put(reply)
        self.wait()

    def abort(self) -> None:
        """Unwind a parked actor (a run that was abandoned part way)."""
        if self.state == "parked":
            self.state, self.pending = "running", None
            self._to_actor.put(("abort", None))


class GatedProxy:
    """Stands in for the cache or the database inside an actor: every method call becomes one step."""

    def __init__(self, target, actor: _ActorThread, label: str):
        self._target, self._actor, self._label = target, actor, label

    def __getattr__(self, name):
        attribute = getattr(self._target, name)
        if not callable(attribute):
            return attribute
        if name == "register_script":
            return lambda script: _GatedScript(attribute(script), self._actor, f"{self._label}.script")
        if name == "pipeline":
            return lambda *args, **kwargs: _GatedPipeline(attribute(*args, **kwargs), self._actor, self._label)
        label = f"{self._label}.{name}"

        def gated(*args, **kwargs):
            return self._actor.call(label, lambda: attribute(*args, **kwargs))

        return gated


class _GatedScript:
    """A registered Lua script: calling it is one command (EVALSHA), so one step."""

    def __init__(self, script, actor, label):
        self._script, self._actor, self._label = script, actor, label

    def __call__(self, keys=(), args=(), client=None):
        return self._actor.call(self._label, lambda: self._script(keys=list(keys), args=list(args)))


class _GatedPipeline:
    """Commands queue locally (no step); ``execute`` sends them in one round trip: one step."""

    def __init__(self, pipeline, actor, label):
        self._pipeline, self._actor, self._label = pipeline, actor, label

    def __getattr__(self, name):
        attribute = getattr(self._pipeline, name)
        if name == "execute":
            return lambda *args, **kwargs: self._actor.call(
                f"{self._label}.pipeline", lambda: attribute(*args, **kwargs))
        if not callable(attribute):
            return attribute

        def queue(*args, **kwargs):
            attribute(*args, **kwargs)
            return self

        return queue

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._pipeline.reset()
        return False


class FunctionRace:
    """``readers`` copies of ``reader(cache, db, product_id)`` against ``writers`` copies of
    ``writer(cache, db, product_id, stock=i)``, over product 42 in ``world``."""

    def __init__(self, reader: Callable | None, writer: Callable | None, readers: int, writers: int, *,
                 world: RaceWorld, warm: bool = False, max_calls: int = DEFAULT_MAX_CALLS,
                 setup: Callable[[RaceWorld], None] | None = None):
        check_scenario(readers, writers)
        if setup is not None:
            require_callable("setup", setup)
        self.setup = setup
        if readers:
            require_callable("reader", reader)
        if writers:
            require_callable("writer", writer)
        require_count("max_calls", max_calls, minimum=1)
        self.reader, self.writer = reader, writer
        self.readers, self.writers = readers, writers
        self.world, self.warm, self.max_calls = world, warm, max_calls
        self.names = [f"R{i}" for i in range(1, readers + 1)] + [f"W{i}" for i in range(1, writers + 1)]

    def _actors(self) -> list[_ActorThread]:
        pid = self.world.product_id
        made = []
        for name in self.names:
            index = int(name[1:])
            if name.startswith("R"):
                made.append(_ActorThread(name, self.reader, (pid,), {}, self.world.cache, self.world.db, self.max_calls))
            else:
                made.append(_ActorThread(name, self.writer, (pid,), {"stock": index}, self.world.cache,
                                         self.world.db, self.max_calls))
        return made

    def run(self, schedule: list[str] = (), *, complete: bool = True):
        """One run: follow ``schedule``, then (if ``complete``) let the first actor that can move
        go until everyone has finished. Returns ``(trace, snapshot, results)`` where ``trace`` lists
        ``(movable actors, who moved, what call)`` for every step."""
        self.world.reset(warm=self.warm, clear_prefix=True)
        if self.setup is not None:  # e.g. a lease left behind by a reader that crashed
            self.setup(self.world)
            self.world.forget()
        actors = self._actors()
        by_name = {actor.name: actor for actor in actors}
        trace: list[tuple[tuple[str, ...], str, str]] = []
        try:
            for actor in actors:
                actor.start()
            self._raise_errors(actors)
            position = 0
            while True:
                movable = tuple(actor.name for actor in actors if actor.state == "parked")
                if not movable:
                    break
                if position < len(schedule):
                    name = schedule[position]
                    if name not in by_name:
                        raise ValueError(f"no actor named {name!r}; this race has {', '.join(self.names)}.")
                    if name not in movable:
                        raise RaceError(f"step {position + 1}: {name} has already finished; "
                                        f"actors that can still move: {', '.join(movable)}.", actor=name)
                elif complete:
                    name = movable[0]
                else:
                    break
                chosen = by_name[name]
                trace.append((movable, name, chosen.label))
                chosen.release()
                self._raise_errors(actors)
                position += 1
        finally:
            for actor in actors:
                actor.abort()
        self.world.forget()
        return trace, self.world.snapshot(), {actor.name: actor.result for actor in actors}

    @staticmethod
    def _raise_errors(actors) -> None:
        for actor in actors:
            if actor.error is not None:
                raise RaceError(f"{actor.name} raised {type(actor.error).__name__}: {actor.error}",
                                actor=actor.name, error=actor.error)

    def explore(self, *, name: str = "your code", limit: int = DEFAULT_MAX_EXECUTIONS,
                stop_at_first_stale: bool = False) -> Exploration:
        """Every execution, one run each, depth first (each run replays its prefix from the start)."""
        started = time.perf_counter()
        counts = {"stale": 0, "fresh": 0, "empty": 0}
        example = None
        executions = steps_run = 0
        seen_labels: list[str] = []  # the calls made along the current prefix, to catch non-determinism
        prefix: list[str] = []
        while True:
            trace, snapshot, _ = self.run(prefix)
            steps_run += len(trace)
            labels = [label for _, _, label in trace]
            if labels[: len(seen_labels)] != seen_labels:
                raise RaceError(
                    "the same interleaving made different calls on two runs "
                    f"({', '.join(seen_labels)} the first time, {', '.join(labels[: len(seen_labels)])} the "
                    "next): the code must depend only on what the cache and the database return."
                )
            executions += 1
            ending = snapshot.ending()
            counts[ending] += 1
            if ending == "stale" and example is None:
                example = tuple((who, label) for _, who, label in trace)
                if stop_at_first_stale:
                    break
            if executions >= limit:
                raise RaceError(f"more than {limit:,} executions: this scenario is too large to enumerate run by run.")
            # backtrack: the deepest step where another actor could have moved instead
            for depth in range(len(trace) - 1, -1, -1):
                movable, chosen, _ = trace[depth]
                later = movable[movable.index(chosen) + 1:]
                if later:
                    prefix = [who for _, who, _ in trace[:depth]] + [later[0]]
                    seen_labels = labels[:depth]
                    break
            else:
                break
        self.world.reset()
        return Exploration(name, self.readers, self.writers, executions, counts["stale"], counts["fresh"],
                           counts["empty"], example, self.warm, 0, steps_run, time.perf_counter() - started)


def explore_functions(reader, writer, readers: int, writers: int, *, world: RaceWorld | None = None, cache=None,
                      warm: bool = False, setup=None, max_calls: int = DEFAULT_MAX_CALLS,
                      limit: int = DEFAULT_MAX_EXECUTIONS, stop_at_first_stale: bool = False,
                      name: str = "your code") -> Exploration:
    """Enumerate every interleaving of plain ``reader``/``writer`` functions, one call per step.

    ``setup(world)`` runs after each reset, before the actors start (e.g. to leave a lease held).
    """
    world = world if world is not None else RaceWorld(cache)
    race = FunctionRace(reader, writer, readers, writers, world=world, warm=warm, max_calls=max_calls, setup=setup)
    return race.explore(name=name, limit=limit, stop_at_first_stale=stop_at_first_stale)


def replay_functions(reader, writer, schedule: list[str], *, readers: int, writers: int,
                     world: RaceWorld | None = None, cache=None, warm: bool = False) -> tuple[list, WorldSnapshot]:
    """Run plain functions in the order ``schedule`` gives; returns ``(steps, final snapshot)``."""
    world = world if world is not None else RaceWorld(cache)
    race = FunctionRace(reader, writer, readers, writers, world=world, warm=warm)
    trace, snapshot, _ = race.run(list(schedule))
    return [(who, label) for _, who, label in trace], snapshot
