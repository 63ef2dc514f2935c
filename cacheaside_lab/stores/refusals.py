"""When a Redis ACL says no: one clear course error instead of a bare ``NOPERM``.

On a workshop server (``cacheaside-lab workshop provision``) each learner's Redis user may touch
only the keys under its own namespace and run only the course's commands. Redis answers anything
else with ``NOPERM this user has no permissions to access one of the keys used as arguments``
(or, inside a Lua script, ``ERR The user executing the script can't access ...``): true, but it
does not say which key, whose namespace is allowed, or that nothing was read or changed.

Every real client :func:`~cacheaside_lab.stores.backend.connect_cache` returns turns such a reply
into :class:`AccessRefused`, which says what was refused (the command and the keys outside the
namespace), to which user, which namespace that user may use, and that no data was read or
written. It is still a ``redis.exceptions.NoPermissionError``, so code that already handles
NOPERM (``CacheAside`` raises it as ``CachePermissionError``, never serving it as a miss) is
unchanged.
"""

from __future__ import annotations

import redis

from ..core.keys import root_namespace

# Inside a Lua script Redis reports an ACL refusal as a plain ERR with this text.
SCRIPT_DENIED = "The user executing the script can't"
# Commands whose second word is a subcommand (``CLIENT LIST``, ``SCRIPT FLUSH``, ``CONFIG GET``).
_CONTAINERS = {"ACL", "CLIENT", "CONFIG", "SCRIPT", "MEMORY", "OBJECT", "COMMAND", "DEBUG", "CLUSTER", "XINFO", "FUNCTION"}
MAX_SHOWN = 3
_ALL_ARGS_ARE_KEYS = {"DEL", "UNLINK", "EXISTS", "MGET", "TOUCH", "WATCH"}
# A workshop learner's user is this prefix + their name, and may use exactly the namespace
# "<user>:" (cacheaside_lab.workshop.acl makes them so, and imports this prefix from here).
WORKSHOP_USER_PREFIX = "cacheaside-lab-"


class AccessRefused(redis.exceptions.NoPermissionError):
    """Redis refused a command or a key to this ACL user; the message says what, and what is allowed.

    ``command`` is what was refused (``"GET"``), ``outside`` the keys named outside the namespace,
    ``user`` the Redis user and ``namespace`` the namespace the course is configured with.
    """

    def __init__(self, message: str, *, command: str, outside: tuple, user: str, namespace: str):
        super().__init__(message)
        self.command, self.outside, self.user, self.namespace = command, outside, user, namespace


def is_refusal(error: BaseException) -> bool:
    """Whether ``error`` is Redis refusing this user a key, channel or command (an ACL), not a failure."""
    if isinstance(error, redis.exceptions.NoPermissionError):
        return True
    return isinstance(error, redis.exceptions.ResponseError) and SCRIPT_DENIED in str(error)


def _text(value) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def command_name(args) -> str:
    """``("CLIENT", "LIST")`` → ``"CLIENT LIST"``; ``("GET", key)`` → ``"GET"``."""
    if not args:
        return "?"
    first = _text(args[0]).upper()
    words = first.split()
    if len(words) > 1:  # redis-py sends some commands as one string: "CLIENT LIST"
        return " ".join(words[:2])
    if first in _CONTAINERS and len(args) > 1:
        return f"{first} {_text(args[1]).upper()}"
    return first


def explain(error: BaseException, args, *, user: str | None, namespace: str | None = None) -> AccessRefused:
    """An :class:`AccessRefused` explaining ``error``, Redis's refusal of the command ``args``."""
    namespace = namespace or root_namespace()
    user = user or "default"
    allowed = f"{user}:" if user.startswith(WORKSHOP_USER_PREFIX) else None
    command = command_name(args)
    if command in ("EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO"):
        named = [_text(a) for a in args[3:3 + _numkeys(args)]]
    elif command in _ALL_ARGS_ARE_KEYS:
        named = [_text(a) for a in args[1:]]
    else:  # the key is the first argument; the rest may be values, never quoted back
        named = [_text(a) for a in args[1:2]]
    outside = tuple(a for a in named if ":" in a and not a.startswith(allowed or namespace))
    reply = _text(error)
    if "to run the" in reply or "no permissions to run" in reply:
        message = (
            f"Redis refused user {user!r} the command {command}: a workshop learner's user may run only the "
            "commands the course needs (cacheaside_lab.workshop.acl.COURSE_COMMANDS), never KEYS, INFO, "
            "CONFIG or FLUSH*. The command did nothing."
        )
    elif "channel" in reply:
        message = (
            f"Redis refused user {user!r} {command} on a channel outside what it may use (only "
            "__redis__:invalidate, for near-cache invalidations). The command did nothing."
        )
    else:
        shown = ", ".join(repr(a) for a in outside[:MAX_SHOWN]) + (" …" if len(outside) > MAX_SHOWN else "")
        where = " inside a Lua script" if SCRIPT_DENIED in reply else ""
        if allowed is None:
            may = "only the keys its ACL allows (ACL WHOAMI, then ACL GETUSER <user>, shows its key patterns)"
        else:
            may = f"only keys under its namespace {allowed!r}"
        message = (
            f"Redis refused user {user!r} {command}{where} on {shown or 'a key'}: it may use {may}. The "
            "command read and changed nothing; another learner's keys are theirs alone."
        )
        if allowed is not None and allowed != namespace:
            message += f" The course is set to namespace {namespace!r}: set CACHEASIDE_NAMESPACE={allowed}."
        else:
            message += f" Build keys with make_key(...) or your CacheAside so they land under {namespace!r}."
    message += f" (Redis said: {reply})"
    return AccessRefused(message, command=command, outside=outside, user=user, namespace=namespace)


def _numkeys(args) -> int:
    try:
        return max(0, int(_text(args[2])))
    except (IndexError, ValueError):
        return 0
