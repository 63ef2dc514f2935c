"""One grading at a time per namespace on a real Redis: a lock key inside that namespace.

Every lab check starts by clearing its own keys under the namespace, so two gradings (or a
grading and the learner's own JupyterLab) in one namespace at once wipe each other's keys
mid-check and correct answers fail. Different namespaces never touch each other; for the same
namespace, ``cacheaside-lab check`` takes this lock first and waits, for a bounded time, for
another grading to finish. The lock expires on its own (a crashed grader cannot block a
namespace for ever), it is released only by its owner (compare-and-delete in Lua), and taking it
is also the first write under the namespace: a Redis user whose ACL does not cover it is told so
before any kernel starts. It cannot see a learner running checks by hand in JupyterLab.
"""

from __future__ import annotations

import secrets
import time
from contextlib import contextmanager

import redis

from ..core.scripts import COMPARE_AND_DELETE

LOCK_NAME = "grading:lock"
POLL_S = 0.25


def lock_key(namespace: str) -> str:
    return f"{namespace}{LOCK_NAME}"


@contextmanager
def namespace_lock(client, namespace: str, *, hold_s: float, wait_s: float, on_wait=None):
    """Hold the grading lock of ``namespace`` for the ``with`` block (at most ``hold_s`` seconds).

    Waits at most ``wait_s`` seconds for another grading's lock, calling ``on_wait()`` once if it
    has to wait; raises ValueError saying why when the lock cannot be had.
    """
    key, token = lock_key(namespace), secrets.token_hex(16)
    deadline = time.monotonic() + wait_s
    waited = False
    while True:  # bounded: one try per POLL_S until deadline
        try:
            if client.set(key, token, nx=True, px=max(1, int(hold_s * 1000))):
                break
        except redis.exceptions.NoPermissionError:
            raise ValueError(
                f"the Redis user may not write keys in namespace {namespace!r}: grade with "
                "--namespace (or CACHEASIDE_NAMESPACE) set to the namespace its ACL allows"
            ) from None
        except redis.exceptions.RedisError as error:
            raise ValueError(f"the Redis given with --redis-url did not answer ({type(error).__name__})") from None
        if time.monotonic() >= deadline:
            raise ValueError(
                f"another grading has been using namespace {namespace!r} for more than {wait_s:g} s; "
                "wait for it to finish, or grade in a namespace of its own (--namespace)"
            )
        if not waited and on_wait is not None:
            on_wait()
        waited = True
        time.sleep(POLL_S)
    try:
        yield key
    finally:
        try:
            # compare-and-delete: a grader whose lock expired must not delete the next grader's lock
            COMPARE_AND_DELETE(client, keys=[key], args=[token])
        except redis.exceptions.RedisError:
            pass  # it expires by itself within hold_s
