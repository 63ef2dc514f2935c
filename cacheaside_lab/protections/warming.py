"""Warming: fill the keys you know will be hot *before* traffic arrives.

After a deploy, a cache restart or a failover the cache is empty, and the first wave of traffic
would all miss at once (lecture 07's total-miss events). Warming loads the hot keys in batches
(one ``loader_many`` call and one pipelined round trip per batch when the cache has them) so
those first requests hit. It pairs with TTL jitter: keys warmed together also *expire* together
unless their TTLs are spread (``CacheAside(ttl_jitter=0.1)``).
"""

from __future__ import annotations

from collections.abc import Iterable

from ..core.validation import require_count


def warm(cache_aside, item_ids: Iterable, *, batch: int = 100) -> int:
    """Load and store ``item_ids`` in batches; return how many values were stored.

    Goes through ``CacheAside.set`` when the cache has a protection (so the stored format is the
    protection's), otherwise through ``get_many``'s batched loads and pipelined SETs.
    """
    require_count("batch", batch, minimum=1)
    ids = list(dict.fromkeys(item_ids))
    stored = 0
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        if cache_aside.protection is None:
            fills_before = cache_aside.stats.fills
            loaded = cache_aside.load_many(chunk)
            cache_aside.store_many({i: v for i, v in loaded.items() if v is not None})
            stored += cache_aside.stats.fills - fills_before
        else:
            for item_id, value in cache_aside.load_many(chunk).items():
                if value is not None:
                    stored += bool(cache_aside.set(item_id, value))
    return stored
