"""Herd protections for ``CacheAside``: one small module each, chosen with ``protection=``.

``CacheAside(cache, loader, prefix="product", ttl=300, protection="lock")``

==========================  ===========================================================  ==========================
name                        what a miss (or an expiring value) does                      costs
==========================  ===========================================================  ==========================
``none``                    every concurrent miss loads (the herd: about 1 + rate × Δ)  database load
``single-flight``           misses in *this process* wait for one load                   one load per process
``lock``                    ``SET key:lock NX PX``: one filler everywhere, others poll   waiting, polling
``lease``                   memcache lease token: one filler, others retry; a delete     waiting, Lua
                            voids the token
``stale-while-revalidate``  past its freshness the old copy is served while one caller   stale answers, memory
                            refreshes (alias ``swr``)
``xfetch``                  readers refresh early at random, more often near expiry      a few extra loads
==========================  ===========================================================  ==========================

Pass a name (a fresh protection with default settings) or an instance for other settings, e.g.
``protection=RedisLock(lock_ms=2_000)``. TTL jitter (``CacheAside(ttl_jitter=0.1)``) and
:func:`warm` are the two remedies for synchronized expiry and cold starts; they combine with any
of the above.

Every protection that makes readers wait hands the one loader's "not found" to them (lecture 08),
and the lock counts the fills that outlived it and can be fenced or extended (lecture 09).
:mod:`.async_protections` holds the asyncio forms for ``AsyncCacheAside``: ``AsyncSingleFlight``
(one load per key per event loop), ``AsyncRedisLock`` and ``AsyncLease`` (the same keys and Lua
scripts as the sync forms).

Used by lecture 06 and lab 06 (the thundering herd), lecture 07 and lab 07 (warming and jitter after a
total miss), lectures 08 and 09, and by ``cacheaside-lab herd``.
"""

from __future__ import annotations

from .base import Protection, ProtectionStats
from .lease import LeaseProtection
from .lock import RedisLock, lock_key
from .single_flight import SingleFlight
from .stale_while_revalidate import StaleWhileRevalidate
from .warming import warm
from .xfetch import XFetch, refresh_probability, should_refresh

PROTECTIONS = ("none", "single-flight", "lock", "lease", "stale-while-revalidate", "xfetch")
ALIASES = {"swr": "stale-while-revalidate", "singleflight": "single-flight"}

_CLASSES = {
    "single-flight": SingleFlight,
    "lock": RedisLock,
    "lease": LeaseProtection,
    "stale-while-revalidate": StaleWhileRevalidate,
    "xfetch": XFetch,
}


def canonical_name(name: str) -> str:
    """``"swr"`` → ``"stale-while-revalidate"``; unknown names get a message listing the choices."""
    if not isinstance(name, str):
        raise TypeError(f"protection must be a name such as 'lock' or a Protection (got {name!r}).")
    canonical = ALIASES.get(name, name)
    if canonical not in PROTECTIONS:
        listed = ", ".join(repr(option) for option in PROTECTIONS)
        raise ValueError(f"unknown protection {name!r}; choose one of {listed} ('swr' is short for 'stale-while-revalidate').")
    return canonical


def make_protection(protection) -> Protection | None:
    """A protection from a name, an instance (used as it is), or ``None``/``"none"`` (no protection)."""
    if protection is None or isinstance(protection, Protection):
        return protection
    name = canonical_name(protection)
    return None if name == "none" else _CLASSES[name]()


__all__ = [
    "ALIASES",
    "PROTECTIONS",
    "LeaseProtection",
    "Protection",
    "ProtectionStats",
    "RedisLock",
    "SingleFlight",
    "StaleWhileRevalidate",
    "XFetch",
    "canonical_name",
    "lock_key",
    "make_protection",
    "refresh_probability",
    "should_refresh",
    "warm",
]
