"""Virtual time: run minutes of a workload in milliseconds, with the same answer every time.

Outages, circuit breakers, TTLs and "consistent within M seconds" are all about *time*, and
wall-clock time makes experiments slow and results machine-dependent. Two small pieces fix that:

* :class:`VirtualClock` is a clock you move by hand (``clock.advance(0.5)``). Pass it wherever the
  course accepts a ``clock`` (``CircuitBreaker(clock=clock)``) and its ``sleep`` wherever it
  accepts a ``sleep`` (``FaultyCache(sleep=clock.sleep)``): a 500 ms timeout then costs 500
  *virtual* milliseconds and no real ones.
* :class:`ClockedCache` wraps a redis-py client so that TTLs run on that clock. Redis itself
  only knows real time, so the wrapper remembers when each key it wrote should expire and treats
  the key as gone once the virtual clock passes that moment (deleting it for real on the next
  touch). The real key still gets a real TTL, never shorter than ``MIN_REAL_TTL_MS``, so a key
  written by an experiment can never outlive the course's "every key expires" rule, and cannot
  vanish in the middle of a slow run either.

It runs the same on fakeredis and on a real Redis, which is what lets a check say "the stock a
reader saw was never more than 2 seconds old" without waiting 2 seconds.
"""

from __future__ import annotations

import threading

from ..core.validation import require_non_negative

# Real expiry given to keys written through a ClockedCache: long enough that no experiment or
# check sees a key disappear for real mid-run, short enough that nothing lingers.
MIN_REAL_TTL_MS = 600_000


class VirtualClock:
    """A clock that only moves when told to.

    >>> clock = VirtualClock()
    >>> clock.advance(1.5); clock()
    1.5
    """

    def __init__(self, start: float = 0.0):
        self._now = float(require_non_negative("start", start, unit="seconds"))
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self._now

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        """Move forward by ``seconds`` (0 or more); returns the new time."""
        require_non_negative("seconds", seconds, unit="seconds")
        with self._lock:
            self._now += seconds
            return self._now

    def sleep(self, seconds: float) -> None:
        """A drop-in for ``time.sleep`` that costs no real time."""
        self.advance(seconds)

    def set(self, when: float) -> float:
        """Jump to ``when``; the clock never goes backwards, so an earlier time is ignored."""
        with self._lock:
            self._now = max(self._now, float(when))
            return self._now

    def __repr__(self) -> str:
        return f"<VirtualClock t={self._now:g}s>"


class ClockedCache:
    """A redis-py client whose TTLs run on ``clock`` (see the module docstring).

    Understands the commands the course's cache code uses: ``get``, ``mget``, ``set`` (with
    ``ex``/``px``), ``setex``, ``psetex``, ``delete``, ``exists``, ``ttl``, ``pttl`` and pipelines of
    those. Anything else passes straight through to the real client.
    """

    def __init__(self, client, clock):
        if not callable(clock):
            raise TypeError(f"clock must be callable and return seconds (got {type(clock).__name__}).")
        self._client = client
        self.clock = clock
        self._deadlines: dict[str, float] = {}
        self._lock = threading.Lock()

    # -- virtual expiry ------------------------------------------------------------------

    def _expired(self, key) -> bool:
        with self._lock:
            deadline = self._deadlines.get(key)
            if deadline is None or self.clock() < deadline:
                return False
            del self._deadlines[key]
        return True

    def _purge(self, *keys) -> None:
        """Delete, for real, the keys whose virtual TTL has run out."""
        gone = [key for key in keys if self._expired(key)]
        if gone:
            self._client.delete(*gone)

    def _remember(self, key, ex=None, px=None) -> int | None:
        """Record a key's virtual deadline; return the real PX to send."""
        if px is None and ex is None:
            with self._lock:
                self._deadlines.pop(key, None)
            return None
        ttl_s = px / 1000 if px is not None else ex
        with self._lock:
            self._deadlines[key] = self.clock() + ttl_s
        return max(MIN_REAL_TTL_MS, round(ttl_s * 1000))

    def remaining(self, key) -> float | None:
        """Virtual seconds left before ``key`` expires (None if it has no virtual TTL)."""
        with self._lock:
            deadline = self._deadlines.get(key)
        return None if deadline is None else max(0.0, deadline - self.clock())

    # -- the commands --------------------------------------------------------------------

    def get(self, key):
        self._purge(key)
        return self._client.get(key)

    def mget(self, keys, *more):
        keys = [*(keys if isinstance(keys, (list, tuple)) else [keys]), *more]
        self._purge(*keys)
        return self._client.mget(keys)

    def exists(self, *keys):
        self._purge(*keys)
        return self._client.exists(*keys)

    def set(self, key, value, ex=None, px=None, **options):
        self._purge(key)
        real_px = self._remember(key, ex=ex, px=px)
        if real_px is None:
            return self._client.set(key, value, **options)
        return self._client.set(key, value, px=real_px, **options)

    def setex(self, key, seconds, value):
        return self.set(key, value, ex=seconds)

    def psetex(self, key, milliseconds, value):
        return self.set(key, value, px=milliseconds)

    def delete(self, *keys):
        with self._lock:
            for key in keys:
                self._deadlines.pop(key, None)
        return self._client.delete(*keys)

    def pttl(self, key):
        self._purge(key)
        left = self.remaining(key)
        return self._client.pttl(key) if left is None else round(left * 1000)

    def ttl(self, key):
        self._purge(key)
        left = self.remaining(key)
        return self._client.ttl(key) if left is None else round(left)

    def pipeline(self, transaction: bool = True, **options):
        return _ClockedPipeline(self, self._client.pipeline(transaction=transaction, **options))

    def __getattr__(self, name):
        return getattr(self._client, name)

    def __repr__(self) -> str:
        return f"<ClockedCache on {self.clock!r}, {len(self._deadlines)} keys with a virtual TTL>"


class _ClockedPipeline:
    """A pipeline whose GET/MGET/SET/DEL follow the same virtual TTLs (expiry checked when queued)."""

    def __init__(self, owner: ClockedCache, pipe):
        self._owner = owner
        self._pipe = pipe

    def get(self, key):
        self._owner._purge(key)
        self._pipe.get(key)
        return self

    def mget(self, keys, *more):
        keys = [*(keys if isinstance(keys, (list, tuple)) else [keys]), *more]
        self._owner._purge(*keys)
        self._pipe.mget(keys)
        return self

    def set(self, key, value, ex=None, px=None, **options):
        self._owner._purge(key)
        real_px = self._owner._remember(key, ex=ex, px=px)
        if real_px is None:
            self._pipe.set(key, value, **options)
        else:
            self._pipe.set(key, value, px=real_px, **options)
        return self

    def setex(self, key, seconds, value):
        return self.set(key, value, ex=seconds)

    def psetex(self, key, milliseconds, value):
        return self.set(key, value, px=milliseconds)

    def delete(self, *keys):
        with self._owner._lock:
            for key in keys:
                self._owner._deadlines.pop(key, None)
        self._pipe.delete(*keys)
        return self

    def execute(self, *args, **kwargs):
        return self._pipe.execute(*args, **kwargs)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._pipe.reset()

    def __getattr__(self, name):
        return getattr(self._pipe, name)
