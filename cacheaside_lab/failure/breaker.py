"""A circuit breaker: stop asking a cache that is not answering.

Cache-aside already survives a dead cache: a failed GET is a miss and the answer comes from the
database. What it does not do on its own is *stop trying*. If the cache host is gone and every
connection attempt waits for a timeout, every single read pays that timeout before it even reaches
the database, and the application keeps hammering a cache that is trying to come back.

A breaker remembers recent failures and short-circuits:

* **closed** (normal): every call goes through. ``failure_threshold`` failures in a row open it.
* **open**: calls are refused at once, without touching the network (``allow()`` is False), for
  ``reset_timeout`` seconds.
* **half-open**: after that pause, one trial call is let through. Success closes the breaker;
  failure opens it again for another ``reset_timeout``.

So a dead cache costs ``failure_threshold`` timeouts to notice, then one probe per
``reset_timeout``, instead of one timeout per read. The price: while it is open, even a cache that
has recovered is not used until the next probe, and invalidations sent during that time are
skipped (the TTL is what eventually cleans up after them; notebook 13 shows both).

:class:`GuardedCache` wraps a redis-py client so that every command goes through a breaker, and
``CacheAside(..., breaker=CircuitBreaker())`` uses one for you.
"""

from __future__ import annotations

import threading
import time

import redis

from ..core.entries import CACHE_ERRORS, is_permission_error
from ..core.validation import require_count, require_positive

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"



class BreakerOpen(redis.ConnectionError):
    """Raised instead of sending a command while the breaker is open.

    It is a ``redis.ConnectionError``, so code that already treats cache errors as misses (like
    ``CacheAside``) handles it with no change: the read goes to the database, immediately.
    """


class CircuitBreaker:
    """Closed → open after ``failure_threshold`` consecutive failures → half-open after
    ``reset_timeout`` seconds → closed again on a successful trial call.

    ``clock`` is any function returning seconds (``time.monotonic`` by default; a
    :class:`~cacheaside_lab.failure.clock.VirtualClock` in experiments and checks).
    """

    def __init__(self, failure_threshold: int = 5, reset_timeout: float = 5.0, *, clock=time.monotonic):
        require_count("failure_threshold", failure_threshold, minimum=1)
        require_positive(
            "reset_timeout",
            reset_timeout,
            unit="seconds",
            why="It is how long the breaker stays open before letting one trial call through.",
        )
        if not callable(clock):
            raise TypeError(f"clock must be a function returning seconds (got {type(clock).__name__}).")
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self.clock = clock
        self._state = CLOSED
        self._failures = 0  # consecutive, while closed
        self._opened_at = 0.0
        self._probe_started: float | None = None
        self._lock = threading.Lock()
        # what happened, for dashboards and checks
        self.allowed = 0
        self.rejected = 0
        self.successes = 0
        self.failures = 0
        self.transitions: list[tuple[float, str, str]] = []  # (time, from, to)

    # -- the state machine ---------------------------------------------------------------

    @property
    def state(self) -> str:
        """``"closed"``, ``"open"`` or ``"half-open"`` (an open breaker whose pause is over)."""
        with self._lock:
            if self._state == OPEN and self.clock() >= self._opened_at + self.reset_timeout:
                return HALF_OPEN
            return self._state

    def allow(self) -> bool:
        """May a call go to the cache now? Counts the answer in ``allowed`` / ``rejected``."""
        with self._lock:
            now = self.clock()
            if self._state == OPEN and now >= self._opened_at + self.reset_timeout:
                self._move(HALF_OPEN, now)
            if self._state == CLOSED:
                verdict = True
            elif self._state == HALF_OPEN and (
                # one trial at a time; a trial that never reported back is given up on after
                # another reset_timeout, so a lost probe cannot wedge the breaker half-open
                self._probe_started is None or now >= self._probe_started + self.reset_timeout
            ):
                self._probe_started = now
                verdict = True
            else:
                verdict = False
            if verdict:
                self.allowed += 1
            else:
                self.rejected += 1
            return verdict

    def record_success(self) -> None:
        with self._lock:
            self.successes += 1
            self._failures = 0
            self._probe_started = None
            if self._state != CLOSED:
                self._move(CLOSED, self.clock())

    def record_failure(self) -> None:
        with self._lock:
            self.failures += 1
            now = self.clock()
            if self._state == HALF_OPEN:
                self._open(now)
            elif self._state == CLOSED:
                self._failures += 1
                if self._failures >= self.failure_threshold:
                    self._open(now)

    def call(self, function, *args, **kwargs):
        """Run ``function`` through the breaker: refuse with :class:`BreakerOpen` when open,
        record cache failures and successes otherwise."""
        if not self.allow():
            raise BreakerOpen(
                f"circuit breaker open: the cache failed {self.failure_threshold} times in a row; "
                f"next trial in {max(0.0, self._opened_at + self.reset_timeout - self.clock()):.3g} s"
            )
        try:
            result = function(*args, **kwargs)
        except CACHE_ERRORS as error:  # the cache failing, as CacheAside sees it (core/entries.py)
            if is_permission_error(error):
                # An ACL refusal is configuration, not an outage: it must reach the caller every
                # time, not open the breaker and turn every read into a silent database read.
                with self._lock:
                    self._probe_started = None
                raise
            self.record_failure()
            raise
        except BaseException:
            # Not the cache's fault (e.g. a value that is not JSON): neither a success nor a
            # failure, but free the trial slot so the breaker is not left waiting for it.
            with self._lock:
                self._probe_started = None
            raise
        self.record_success()
        return result

    def reset(self) -> None:
        """Back to closed, counters kept."""
        with self._lock:
            if self._state != CLOSED:
                self._move(CLOSED, self.clock())
            self._failures = 0
            self._probe_started = None

    # -- internals -----------------------------------------------------------------------

    def _open(self, now: float) -> None:
        self._opened_at = now
        self._probe_started = None
        self._failures = 0
        self._move(OPEN, now)

    def _move(self, state: str, now: float) -> None:
        if state != self._state:
            self.transitions.append((now, self._state, state))
            self._state = state

    @property
    def times_opened(self) -> int:
        return sum(1 for _when, _from, to in self.transitions if to == OPEN)

    def __repr__(self) -> str:
        return (
            f"<CircuitBreaker {self.state}: threshold {self.failure_threshold}, reset "
            f"{self.reset_timeout:g}s, {self.allowed} allowed, {self.rejected} rejected, "
            f"opened {self.times_opened}×>"
        )


class GuardedCache:
    """A redis-py client whose commands go through ``breaker``.

    Commands that reach the server (``get``, ``set``, ``delete``, a pipeline's ``execute`` …)
    are counted as successes or failures; while the breaker is open they raise
    :class:`BreakerOpen` without touching the network. Attributes that are not methods pass
    straight through.
    """

    def __init__(self, client, breaker: CircuitBreaker):
        if not isinstance(breaker, CircuitBreaker):
            raise TypeError(f"breaker must be a CircuitBreaker (got {type(breaker).__name__}).")
        self._client = client
        self.breaker = breaker

    def pipeline(self, *args, **kwargs):
        # Queuing commands sends nothing; only execute() talks to the server.
        return _GuardedPipeline(self._client.pipeline(*args, **kwargs), self.breaker)

    def __getattr__(self, name):
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute

        def guarded(*args, **kwargs):
            return self.breaker.call(attribute, *args, **kwargs)

        return guarded

    def __repr__(self) -> str:
        return f"<GuardedCache {self.breaker!r}>"


class _GuardedPipeline:
    def __init__(self, pipe, breaker: CircuitBreaker):
        self._pipe = pipe
        self._breaker = breaker

    def execute(self, *args, **kwargs):
        return self._breaker.call(self._pipe.execute, *args, **kwargs)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._pipe.reset()

    def __getattr__(self, name):
        attribute = getattr(self._pipe, name)
        if not callable(attribute):
            return attribute

        def queued(*args, **kwargs):
            result = attribute(*args, **kwargs)
            return self if result is self._pipe else result

        return queued
