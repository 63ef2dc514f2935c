"""Stop cleanly on Ctrl-C, SIGTERM and SIGHUP, so nothing the course started outlives it.

Python turns Ctrl-C into ``KeyboardInterrupt``, and ``with`` blocks and ``atexit`` then tidy up.
SIGTERM (``kill``, a closing IDE, ``make`` being stopped) and SIGHUP (a closed terminal) kill the
process outright by default: no ``finally``, no ``atexit``, and a redis-server started in its own
session keeps running with its temporary folder. :func:`stop_on_signals` turns all three into one
exception, :class:`StopRequested`, that unwinds like Ctrl-C does.
"""

from __future__ import annotations

import contextlib
import signal
import threading

STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


class StopRequested(BaseException):
    """Raised in the main thread when a stop signal arrives (a BaseException, like Ctrl-C,
    so an ``except Exception`` in between cannot swallow it)."""

    def __init__(self, signum: int):
        self.signum = signum
        self.signal_name = signal.Signals(signum).name
        super().__init__(f"received {self.signal_name}")


@contextlib.contextmanager
def stop_on_signals(signals: tuple[int, ...] = STOP_SIGNALS):
    """Raise :class:`StopRequested` on the first of ``signals``; ignore repeats while cleaning up.

    Only the first signal raises: a second Ctrl-C pressed while the ``finally`` blocks stop a
    server must not interrupt that cleanup halfway. The previous handlers are restored on exit.
    Outside the main thread (where Python cannot set handlers) this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    first = []

    def handler(signum, frame):
        if not first:
            first.append(signum)
            raise StopRequested(signum)

    previous = {signum: signal.signal(signum, handler) for signum in signals}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
