"""Single-flight: concurrent misses for one key, in one process, wait for a single load.

The idea behind Go's ``singleflight`` and Instagram's "promise" caching. The first thread that
misses a key becomes its *leader*: it registers a flight (a ``Future``) under the key, loads and
fills. Threads that miss the same key while the flight is open find it and wait on it instead
of calling the loader. When the leader finishes, every waiter gets the same answer (or the same
exception).

Two details that matter under real concurrency:

* the leader re-reads the cache before loading. A thread can miss, be descheduled, and arrive
  after the previous flight for its key has finished and been removed; without the re-read it
  would start a second load of a value that is already cached;
* it only protects *one process*. Twenty application servers each run their own flights, so a
  cold key can still cost up to twenty loads. The Redis ``lock`` and ``lease`` protections
  coordinate across processes, at the price of a round trip and polling.
"""

from __future__ import annotations

import copy
import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout

from ..core.entries import CACHE_ERRORS, MISS
from ..core.validation import require_positive
from .base import Protection


class SingleFlight(Protection):
    """``CacheAside(..., protection="single-flight")``."""

    name = "single-flight"

    def __init__(self, *, wait_ms: float = 10_000):
        super().__init__()
        self.wait_ms = require_positive("wait_ms", wait_ms, unit="ms")
        self._flights: dict[str, Future] = {}
        self._lock = threading.Lock()

    def fill(self, ca, item_id, key: str):
        with self._lock:
            flight = self._flights.get(key)
            leader = flight is None
            if leader:
                flight = self._flights[key] = Future()
        if not leader:
            self.stats.add(waits=1)
            try:
                # Waiters get their own copy: a caller that edits its dict must not edit the others'.
                return copy.deepcopy(flight.result(timeout=self.wait_ms / 1000))
            except FutureTimeout:
                # The leader is stuck (a very slow database): answer from the loader, do not fill.
                self.stats.add(gave_up=1)
                return ca.load(item_id)
        try:
            value = self._cached_or_loaded(ca, item_id, key)
        except BaseException as error:
            flight.set_exception(error)
            raise
        else:
            flight.set_result(value)
            return value
        finally:
            with self._lock:
                del self._flights[key]

    def _cached_or_loaded(self, ca, item_id, key: str):
        try:
            cached = self.read(ca, key)
        except CACHE_ERRORS:
            cached = MISS
        if cached is not MISS:
            return cached  # the previous flight filled it after our miss
        return self.load_and_store(ca, item_id, key)

    def in_flight(self) -> int:
        """How many keys are being loaded right now (for explanations and tests)."""
        with self._lock:
            return len(self._flights)
