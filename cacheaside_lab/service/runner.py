"""Start the product API on a free loopback port in the background, and stop it for certain.

A notebook or a test needs a real HTTP server (so the load generator measures real requests),
but one that cannot outlive it or be reached from outside the machine:

* the server is uvicorn, run by ``uvicorn.Server`` in a thread of this process, so the app can
  use the notebook's own ``ProductDB``, cache client and caching layer (a learner's class defined
  in a cell works; a subprocess could not see it). The thread has its own event loop;
* it listens on a socket bound to ``127.0.0.1`` port 0 before uvicorn starts, so the kernel
  picks a free port and no other program can take it in between. Any host that is not loopback
  is refused: the course never serves on ``0.0.0.0``;
* :func:`start_service` returns only once ``GET /stats`` answers, and returns a
  :class:`ServiceHandle` with ``.url`` and ``.stop()``. ``stop()`` asks uvicorn to exit, joins the
  thread (bounded) and says if it did not stop. A ``with`` block stops it, and every handle
  still running when the interpreter exits is stopped too (``stop_all_services`` does it by hand).

The server shares the process (and its GIL) with the notebook and the load generator, which
caps how many requests per second a run can reach on a small machine: the capstone's rates are
chosen for that.
"""

from __future__ import annotations

import atexit
import inspect
import ipaddress
import socket
import threading
import time

from ..core.validation import require_positive

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0
LOOPBACK = "127.0.0.1"

__all__ = ["ServiceHandle", "require_loopback", "running_services", "start_service", "stop_all_services"]

_RUNNING: list["ServiceHandle"] = []
_RUNNING_LOCK = threading.Lock()


def require_loopback(host: str) -> str:
    """``host`` as a loopback IP address (``"localhost"`` means 127.0.0.1); anything else is refused."""
    if not isinstance(host, str) or not host.strip():
        raise ValueError(f"host must be a loopback address such as {LOOPBACK!r} (got {host!r}).")
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return LOOPBACK
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(
            f"host must be a loopback IP address such as {LOOPBACK!r} or 'localhost' (got {host!r}): "
            "the course serves and loads only this machine."
        ) from None
    if not address.is_loopback:
        raise ValueError(
            f"host {host!r} is not a loopback address: the course never serves on, or sends load to, "
            f"another interface (use {LOOPBACK!r})."
        )
    return str(address)


class ServiceHandle:
    """A running service: ``url`` (``http://127.0.0.1:PORT``), ``port``, ``app``, ``stop()``."""

    def __init__(self, app, server, thread: threading.Thread, host: str, port: int):
        self.app, self.host, self.port = app, host, port
        self.url = f"http://{host}:{port}" if ":" not in host else f"http://[{host}]:{port}"
        self._server, self._thread = server, thread
        self.error: BaseException | None = None
        self.stopped = False

    @property
    def running(self) -> bool:
        return self._thread.is_alive() and not self.stopped

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Ask uvicorn to exit (requests in flight finish, within its graceful timeout), then
        join the thread. Raises ``RuntimeError`` if the thread is still alive after ``timeout_s``."""
        require_positive("timeout_s", timeout_s, unit="s")
        self._server.should_exit = True
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(2.0)
        with _RUNNING_LOCK:
            if self in _RUNNING:
                _RUNNING.remove(self)
        self.stopped = True
        if self._thread.is_alive():
            raise RuntimeError(f"the service at {self.url} did not stop within {timeout_s:g} s.")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self) -> str:
        return f"<ServiceHandle {self.url} {'running' if self.running else 'stopped'}>"


def _build_app(app_or_factory):
    """An ASGI app as given (it has a router, or takes scope/receive/send), or a factory's app."""
    if hasattr(app_or_factory, "router"):
        return app_or_factory
    if not callable(app_or_factory):
        raise TypeError(f"start_service needs an app (make_app(...)) or a function that returns one; got {app_or_factory!r}.")
    try:
        parameters = inspect.signature(app_or_factory).parameters
    except (TypeError, ValueError):
        return app_or_factory
    if len(parameters) >= 3:
        return app_or_factory  # a bare ASGI callable
    return app_or_factory()


def start_service(app_or_factory, *, host: str = LOOPBACK, timeout_s: float = START_TIMEOUT_S) -> ServiceHandle:
    """Serve ``app_or_factory`` (an app, or a function of no arguments returning one) with uvicorn
    on a free port of ``host`` (loopback only), in a background thread; return once it answers.

    >>> with start_service(make_app(db, layer)) as service:
    ...     httpx.get(f"{service.url}/products/42").json()
    """
    import httpx
    import uvicorn

    host = require_loopback(host)
    require_positive("timeout_s", timeout_s, unit="s")
    app = _build_app(app_or_factory)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named explicitly: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on
    # sockets whose proto says TCP, and an accepted socket inherits its listener's proto (0 when
    # left out). With Nagle on, uvicorn's two writes per response (headers, then body) wait for
    # the client's delayed ACK: about 40 ms added to every keep-alive request, a hit included.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, 0))  # port 0: the kernel picks a free port, and we hold it from now on
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", access_log=False, lifespan="on",
        timeout_graceful_shutdown=2, backlog=2048,
    )
    server = uvicorn.Server(config)
    handle: ServiceHandle

    def serve():
        try:
            server.run(sockets=[sock])
        except BaseException as error:  # shown by start_service / the handle, not lost in a thread
            handle.error = error
        finally:
            sock.close()

    thread = threading.Thread(target=serve, name=f"service-{port}", daemon=True)
    handle = ServiceHandle(app, server, thread, host, port)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while True:
        if not thread.is_alive():
            handle.stopped = True
            reason = getattr(getattr(app, "state", None), "startup_error", None) or handle.error
            raise RuntimeError(f"the service on port {port} stopped while starting: {reason!r}") from reason
        if server.started:
            try:
                if httpx.get(f"{handle.url}/stats", timeout=1.0).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
        if time.monotonic() > deadline:
            handle.stop()
            raise RuntimeError(f"the service on port {port} did not answer within {timeout_s:g} s.")
        time.sleep(0.02)
    with _RUNNING_LOCK:
        _RUNNING.append(handle)
    return handle


def running_services() -> list[ServiceHandle]:
    """The services started here and not stopped yet."""
    with _RUNNING_LOCK:
        return list(_RUNNING)


def stop_all_services() -> int:
    """Stop every service still running; returns how many were stopped (also run at exit)."""
    handles = running_services()
    for handle in handles:
        handle.stop()
    return len(handles)


atexit.register(stop_all_services)
