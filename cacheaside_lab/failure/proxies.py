"""Wrappers that watch or sabotage a client, so behaviour can be observed instead of assumed.

* :class:`RecordingProxy` writes down every call made through it (``("cache", "delete",
  ("cacheaside-lab:product:42",))``) into a shared log. Wrap the cache and the database with the
  same log and you can check *order*: did the write reach the database before the key was
  deleted?
* :class:`FaultyCache` is a cache that fails on purpose: down, erroring at some rate, timing out,
  or slow. Cache-aside's promise is "slower but correct when the cache is sick"; this is how the
  course tests that promise without pulling a cable.
"""

from __future__ import annotations

import random
import threading
import time

import redis

from ..core.validation import require_fraction, require_non_negative


class RecordingProxy:
    """Forwards every method call to ``target`` and appends ``(label, name, args, kwargs)`` to ``log``."""

    def __init__(self, target, log: list, label: str):
        self._target = target
        self._log = log
        self._label = label

    def __getattr__(self, name):
        attribute = getattr(self._target, name)
        if not callable(attribute):
            return attribute

        def recorded(*args, **kwargs):
            self._log.append((self._label, name, args, kwargs))
            result = attribute(*args, **kwargs)
            if name == "pipeline":  # record what goes into the pipeline too
                return RecordingProxy(result, self._log, f"{self._label}.pipeline")
            return result

        return recorded

    def calls(self, name: str | None = None) -> list:
        """The calls made through this proxy (optionally only those of one method)."""
        return [
            entry for entry in self._log
            if entry[0] == self._label and (name is None or entry[1] == name)
        ]


# Client methods that send nothing to the server: FaultyCache passes them through untouched (no
# count, no seeded roll). register_script only computes a SHA1; the EVALSHA it later sends is
# called through this wrapper (LuaScript passes client=self) and misbehaves like any command.
NOT_COMMANDS = frozenset({"register_script"})


PATTERN_OUTCOMES = ("ok", "error", "timeout")
MAX_PATTERN = 100


def _fault_pattern(pattern) -> tuple[str, ...] | None:
    """``pattern`` as a tuple of outcomes, or None; refused with what is allowed."""
    if pattern is None:
        return None
    if isinstance(pattern, (str, bytes)) or not hasattr(pattern, "__iter__"):
        raise TypeError(f"pattern must be a list of outcomes such as ['timeout', 'ok'] (got {pattern!r}).")
    outcomes = tuple(pattern)
    if not 1 <= len(outcomes) <= MAX_PATTERN:
        raise ValueError(f"pattern needs from 1 to {MAX_PATTERN} outcomes (got {len(outcomes)}).")
    for outcome in outcomes:
        if outcome not in PATTERN_OUTCOMES:
            raise ValueError(f"each outcome in pattern must be one of {', '.join(PATTERN_OUTCOMES)} (got {outcome!r}).")
    return outcomes


class FaultyCache:
    """A redis-py client that misbehaves on request.

    ``FaultyCache(client, down=True)`` refuses every command with ``redis.ConnectionError``;
    ``error_rate=0.2`` fails one command in five; ``timeout_rate`` makes commands hang for
    ``timeout_ms`` and then raise ``redis.TimeoutError``; ``latency_ms`` slows every command.
    Toggle an outage with :meth:`go_down` / :meth:`come_back`.

    Latency spikes: ``spike_rate=0.05, spike_ms=800`` makes one command in twenty take 800 ms
    longer (and then succeed). ``pattern=["timeout", "timeout", "ok"]`` replaces the random rolls
    with a fixed cycle of outcomes, one per command (``"ok"``, ``"error"``: refused at once,
    ``"timeout"``: waits ``timeout_ms``, then fails), so a check can replay exactly the fault
    schedule a learner wrote (lab 13's flapping cache). ``client_timeout_ms`` is the client's own patience, like
    redis-py's ``socket_timeout``: a command that would take longer gives up after that long with
    ``redis.TimeoutError``. ``sleep`` is how waiting happens: ``time.sleep`` by default, or a
    :class:`~cacheaside_lab.failure.clock.VirtualClock`'s ``sleep`` so that experiments cost no real time.
    """

    def __init__(
        self,
        client,
        *,
        down: bool = False,
        error_rate: float = 0.0,
        timeout_rate: float = 0.0,
        timeout_ms: float = 500.0,
        latency_ms: float = 0.0,
        seed: int = 0,
        spike_rate: float = 0.0,
        spike_ms: float = 0.0,
        client_timeout_ms: float | None = None,
        pattern=None,
        sleep=time.sleep,
    ):
        require_fraction("error_rate", error_rate)
        require_fraction("timeout_rate", timeout_rate)
        if error_rate + timeout_rate > 1:
            raise ValueError(
                f"error_rate + timeout_rate must be at most 1 (got {error_rate} + {timeout_rate})."
            )
        require_non_negative("timeout_ms", timeout_ms, unit="ms")
        require_non_negative("latency_ms", latency_ms, unit="ms")
        require_fraction("spike_rate", spike_rate)
        require_non_negative("spike_ms", spike_ms, unit="ms")
        if client_timeout_ms is not None:
            require_non_negative("client_timeout_ms", client_timeout_ms, unit="ms")
        if not callable(sleep):
            raise TypeError(f"sleep must be a function like time.sleep (got {type(sleep).__name__}).")
        self.pattern = _fault_pattern(pattern)
        self._client = client
        self.down = down
        self.error_rate = error_rate
        self.timeout_rate = timeout_rate
        self.timeout_ms = timeout_ms
        self.latency_ms = latency_ms
        self.spike_rate = spike_rate
        self.spike_ms = spike_ms
        self.client_timeout_ms = client_timeout_ms
        self.sleep = sleep
        self.spikes = 0
        self.commands = 0
        self.failures = 0
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def go_down(self) -> None:
        self.down = True

    def come_back(self) -> None:
        self.down = False

    def __getattr__(self, name):
        attribute = getattr(self._client, name)
        if not callable(attribute) or name in NOT_COMMANDS:
            return attribute

        def misbehaving(*args, **kwargs):
            self._before_command(name)
            return attribute(*args, **kwargs)

        return misbehaving

    def _before_command(self, name: str) -> None:
        if self.pattern is not None:
            self._patterned_command(name)
            return
        with self._lock:
            self.commands += 1
            roll = self._rng.random()
            # a second roll only when spikes are on, so seeded error patterns stay as they were
            spiked = self.spike_rate > 0 and self._rng.random() < self.spike_rate
            self.spikes += spiked
        delay_ms = self.latency_ms + (self.spike_ms if spiked else 0.0)
        if self.client_timeout_ms is not None and delay_ms > self.client_timeout_ms:
            self.sleep(self.client_timeout_ms / 1000)
            self._failed()
            raise redis.TimeoutError(
                f"{name.upper()} timed out after {self.client_timeout_ms:g} ms (simulated slow cache)"
            )
        if delay_ms:
            self.sleep(delay_ms / 1000)
        if self.down or roll < self.error_rate:
            self._failed()
            raise redis.ConnectionError(f"{name.upper()} failed: the cache is unreachable (simulated)")
        if roll < self.error_rate + self.timeout_rate:
            self.sleep(self.timeout_ms / 1000)
            self._failed()
            raise redis.TimeoutError(f"{name.upper()} timed out after {self.timeout_ms:g} ms (simulated)")

    def _patterned_command(self, name: str) -> None:
        """The next outcome of ``pattern`` (cycled), after the usual ``latency_ms``."""
        with self._lock:
            outcome = self.pattern[self.commands % len(self.pattern)]
            self.commands += 1
        if self.latency_ms:
            self.sleep(self.latency_ms / 1000)
        if self.down or outcome == "error":
            self._failed()
            raise redis.ConnectionError(f"{name.upper()} failed: the cache is unreachable (simulated)")
        if outcome == "timeout":
            self.sleep(self.timeout_ms / 1000)
            self._failed()
            raise redis.TimeoutError(f"{name.upper()} timed out after {self.timeout_ms:g} ms (simulated)")

    def _failed(self) -> None:
        with self._lock:
            self.failures += 1

    def __repr__(self) -> str:
        state = "down" if self.down else "up"
        return (
            f"<FaultyCache {state}, error_rate={self.error_rate}, timeout_rate={self.timeout_rate}, "
            f"latency_ms={self.latency_ms:g}, {self.failures}/{self.commands} commands failed>"
        )
