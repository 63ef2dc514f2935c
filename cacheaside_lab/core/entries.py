"""What CacheAside and its protections agree on: the stored format, the miss sentinel, cache errors.

**Why the layer marks what it writes.** A key under our prefix can hold anything: bytes that are
not JSON, someone else's JSON (``null``, ``123``, a learner's plain ``json.dumps(row)``), or the
envelope of a protection configured differently on the same prefix. Returned as a hit, any of
them hands the caller something that is not the item (one probe logged 38,734 ``KeyError: 'id'``
from plain readers served XFetch envelopes). So every value the layer stores says what it is::

    plain entry   (no protection, single-flight, lock, lease)
        {"v":1,"value":{...the row...}}
    envelope      (stale-while-revalidate, xfetch: ``kind`` is the protection's name)
        {"v":1,"kind":"xfetch","value":{...},"expires_at":1767225600.25,"delta":0.0213}
    not found     (negative caching, and a protection handing "not found" to its waiters)
        {"v":1,"absent":true}

"Not found" has a format of its own, so it can never be confused with a value: a ``None`` stored
on purpose is ``{"v":1,"value":null}``, a decoder returns :data:`NOT_FOUND` only for the absent
entry, and every decoder (plain and envelope) knows it.

A reader accepts only its own format and version. Anything else is *foreign*: the decoders return
:data:`MISS`, ``CacheAside`` counts it (``stats.foreign``), treats it as a miss, and the fill
overwrites it with a good entry. One format per prefix: two CacheAsides with different
protections on one prefix keep overwriting each other's entries, which ``stats.foreign`` shows.

**Cache errors.** :data:`CACHE_ERRORS` is what "the cache is not answering" looks like; such a
failure is a miss and the answer comes from the loader. One exception is carved out: Redis
refusing a key or command under an ACL (``NOPERM``) is configuration, not an outage, so
:func:`permission_problem` turns it into a :class:`CachePermissionError` that is raised instead of
being swallowed as a miss on every read for ever.
"""

from __future__ import annotations

import json
import math

import redis

from .validation import require_positive

FORMAT_VERSION = 1

# What "the cache is not answering" looks like: redis-py's errors (connection refused, timeout,
# a server that went away) and the operating system's, for clients that surface those directly.
CACHE_ERRORS = (redis.RedisError, OSError)

# The longest expiry the layer writes. Redis refuses a PX that does not fit, with the current
# time, in a signed 64-bit number of ms (~292 million years), and a refused SET means nothing is
# ever cached. The course's cap is far below that: a TTL is the backstop against a missed
# invalidation, and one longer than a year backs nothing.
MAX_TTL_SECONDS = 365 * 24 * 3600


_SCRIPT_DENIED = "The user executing the script can't"


class _Miss:
    """The sentinel type: one instance, :data:`MISS`."""

    def __repr__(self) -> str:
        return "MISS"

    def __bool__(self) -> bool:
        return False


#: "No value of ours here": the key is absent, or holds something the layer did not write.
#: Distinct from ``None``, which a caller may have stored on purpose with ``CacheAside.set``.
MISS = _Miss()


class _NotFound:
    """The sentinel type: one instance, :data:`NOT_FOUND`."""

    def __repr__(self) -> str:
        return "NOT_FOUND"

    def __bool__(self) -> bool:
        return False


#: "The source of truth had nothing for this id, and the cache remembers it": what a decoder
#: returns for an absent entry. ``CacheAside.get`` answers it with ``None`` without a query.
NOT_FOUND = _NotFound()


class CachePermissionError(RuntimeError):
    """Redis refused a key or command (ACL ``NOPERM``): fix the configuration, not the cache.

    Deliberately *not* a ``redis.RedisError`` or ``OSError``, so no ``except CACHE_ERRORS`` turns it
    back into a silent miss.
    """


def encode_absent() -> str:
    """The stored string for "not found": ``{"v":1,"absent":true}``."""
    return ABSENT_ENTRY


def encode_plain(value) -> str:
    """The stored string for ``value`` as a plain entry: ``{"v":1,"value":...}``."""
    return _dumps({"v": FORMAT_VERSION, "value": value})


def decode_plain(raw):
    """The value inside a plain entry, or :data:`MISS` for anything the layer did not write as one.

    Runs on every hit, so it is one ``json.loads`` and three cheap checks.
    """
    try:
        stored = json.loads(raw)
    except (ValueError, TypeError):  # not JSON (or not text at all)
        return MISS
    if type(stored) is dict and len(stored) == 2 and stored.get("v") == FORMAT_VERSION:
        if "value" in stored:
            return stored["value"]
        if stored.get("absent") is True:
            return NOT_FOUND
    return MISS


def encode_envelope(kind: str, value, expires_at: float, delta: float) -> str:
    """The stored string for an envelope of protection ``kind`` (logical expiry and Δ inside)."""
    return _dumps(
        {"v": FORMAT_VERSION, "kind": kind, "value": value, "expires_at": expires_at, "delta": delta}
    )


def decode_envelope(raw, kind: str):
    """The envelope dict (``value``, ``expires_at``, ``delta``) if ``raw`` is one of ``kind``'s,
    :data:`NOT_FOUND` for the absent entry, else :data:`MISS`: a plain entry, another
    protection's envelope, or foreign data."""
    try:
        stored = json.loads(raw)
    except (ValueError, TypeError):
        return MISS
    if stored == _ABSENT:
        return NOT_FOUND
    if (
        type(stored) is dict
        and len(stored) == 5
        and stored.get("v") == FORMAT_VERSION
        and stored.get("kind") == kind
        and "value" in stored
        and _is_number(stored.get("expires_at"))
        and _is_number(stored.get("delta"))
        and stored["delta"] >= 0
    ):
        return stored
    return MISS


def require_ttl(name: str, seconds, *, why: str = "") -> float:
    """A positive expiry of at most :data:`MAX_TTL_SECONDS`, with a message saying both limits."""
    require_positive(name, seconds, unit="seconds", why=why)
    if seconds > MAX_TTL_SECONDS:
        raise ValueError(
            f"{name} must be at most {MAX_TTL_SECONDS:,} seconds (one year; got {seconds!r}). "
            "Redis refuses an expiry that does not fit in 64 bits of milliseconds, and then every "
            "SET fails and nothing is cached; a TTL is a backstop, and one beyond a year backs nothing."
        )
    return seconds


def is_permission_error(error: BaseException) -> bool:
    """Whether Redis refused a key or command to this user (ACL), rather than failing."""
    if isinstance(error, redis.exceptions.NoPermissionError):
        return True
    # inside a Lua script Redis reports an ACL refusal as a plain error with this text
    return isinstance(error, redis.exceptions.ResponseError) and _SCRIPT_DENIED in str(error)


def permission_problem(error: BaseException, key: str, namespace: str) -> CachePermissionError | None:
    """A :class:`CachePermissionError` explaining ``error`` if Redis refused access, else ``None``."""
    if not is_permission_error(error):
        return None
    return CachePermissionError(
        f"Redis refused access to {key!r} ({error}). This is configuration, not an outage, so it "
        f"is not served as a miss (stats.denied counts it). The keys are in namespace {namespace!r}: either set "
        "CACHEASIDE_NAMESPACE to the namespace your Redis user may use (ACL WHOAMI, then ACL "
        "GETUSER <user> shows its key patterns), or have that user granted this namespace "
        "('~<namespace>*') and the commands GET, SET, MGET, DEL, EVAL and EVALSHA."
    )


def _dumps(document) -> str:
    try:
        return json.dumps(document, separators=(",", ":"))
    except TypeError as error:
        raise TypeError(
            f"cache-aside stores JSON, and this value cannot be written as JSON ({error}). "
            "Return plain dicts, lists, strings and numbers from the loader."
        ) from None


_ABSENT = {"v": FORMAT_VERSION, "absent": True}
ABSENT_ENTRY = _dumps(_ABSENT)


def _is_number(value) -> bool:
    return type(value) in (int, float) and math.isfinite(value)
