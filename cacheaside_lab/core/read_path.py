"""What the sync and the async cache-aside share: argument checks, expiries, sorting an MGET.

:class:`~cacheaside_lab.core.cache_aside.CacheAside` and
:class:`~cacheaside_lab.core.async_cache_aside.AsyncCacheAside` differ only in *how* they talk to
Redis and to the loader (a call, or an ``await``). What they decide must not differ, or the two
forms would drift apart and stop reading each other's entries: which settings are allowed (and
the message that refuses the others), how long an entry lives, and what each value of an MGET
means (a hit, a cached "not found", a miss, something foreign). Those decisions live here, with
no I/O in them, and both classes call them.
"""

from __future__ import annotations

import random

from .entries import MISS, NOT_FOUND, decode_plain, require_ttl
from .validation import require_callable, require_fraction


def check_settings(*, loader, loader_many, writer, ttl, ttl_jitter, negative_ttl) -> None:
    """Refuse, with a message saying why, the settings no cache-aside layer may run with."""
    require_callable("loader", loader)
    if loader_many is not None:
        require_callable("loader_many", loader_many)
    if writer is not None:
        require_callable("writer", writer)
    require_ttl(
        "ttl",
        ttl,
        why="Every cache-aside entry needs an expiry: it is the backstop that bounds how "
        "long a missed invalidation can serve stale data.",
    )
    require_fraction(
        "ttl_jitter",
        ttl_jitter,
        allow_one=False,
        why="It is the largest share by which a TTL may be shortened at random, "
        "e.g. 0.1 spreads expiries over the last 10% of the TTL.",
    )
    if negative_ttl is not None:
        require_ttl(
            "negative_ttl",
            negative_ttl,
            why="It is how long a cached 'not found' answers for an id the database does not "
            "have; pass None (the default) to cache nothing for missing ids.",
        )
        if negative_ttl > ttl:
            raise ValueError(
                f"negative_ttl must be at most ttl ({ttl!r} s; got {negative_ttl!r}): a cached 'not "
                "found' is stale as soon as the row is inserted, so it should live shorter than a value."
            )


def expiry_ms(ttl: float, ttl_jitter: float, rng: random.Random) -> int:
    """The PX of the next SET: ``ttl`` shortened by up to ``ttl_jitter`` at random, never longer,
    so ``ttl`` stays the bound on how long (and how stale) an entry can live."""
    if ttl_jitter:
        ttl *= 1 - ttl_jitter * rng.random()
    return max(1, round(ttl * 1000))


def negative_expiry_ms(negative_ttl: float | None) -> int:
    """The PX of a cached "not found" (``negative_ttl``, never jittered)."""
    if negative_ttl is None:
        raise ValueError("this cache caches nothing for missing ids; pass negative_ttl= to enable it.")
    return max(1, round(negative_ttl * 1000))


def sort_batch(ids: list, cached: list) -> tuple[dict, list, int, int]:
    """What one MGET answered for ``ids``: ``(found, missing, foreign, absent)``.

    ``found`` maps each hit to its value (``None`` for a cached "not found", of which there are
    ``absent``); ``missing`` lists the ids to load, in order; ``foreign`` counts the values under
    our keys that the layer did not write (each also missing, and overwritten by the fill).
    """
    found, missing, foreign, absent = {}, [], 0, 0
    for item_id, raw in zip(ids, cached):
        value = MISS if raw is None else decode_plain(raw)
        if value is MISS:
            missing.append(item_id)
            foreign += raw is not None
        elif value is NOT_FOUND:
            found[item_id] = None
            absent += 1
        else:
            found[item_id] = value
    return found, missing, foreign, absent
