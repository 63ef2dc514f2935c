"""Hot keys on a sharded cache: how much of a Zipf workload lands on one key and on one shard.

A cache spread over several servers (shards) puts each key on exactly one of them. Redis Cluster
does it with 16,384 hash slots: ``slot = CRC16(key) mod 16384`` (only the part inside ``{…}``
is hashed when a key has such a hash tag), and each shard owns a range of slots. This module
uses the same rule, with the slots split into ``shards`` equal ranges, so the numbers are those a
real cluster with evenly assigned slots would show.

Every read of a key goes to that key's shard, hit or miss: the hit ratio decides how much reaches
the *database*, not how the cache's own load is spread. So the busiest shard's share depends only
on popularity (``zipf``), the number of keys, and where the hash happens to put the hottest
ones:

* :func:`key_slots` and :func:`shard_of`: Redis Cluster's rule, vectorized over key names;
* :func:`shard_shares`: each shard's share of the reads, for given key names and weights;
* :func:`hot_key_load`: the whole picture for product keys under Zipf popularity, with the hottest
  key optionally split over ``copies`` replicas (``<key>:copy:i``, as
  :class:`cacheaside_lab.core.hot_keys.HotKeyReplicas` names them).

No Redis here: key names are built with :func:`cacheaside_lab.core.keys.make_key`, and the only
work is hashing them.
"""

from __future__ import annotations

import binascii
import functools
from dataclasses import dataclass

import numpy as np

from ..core.hot_keys import COPY_MARK, MAX_COPIES
from ..core.keys import DEFAULT_NAMESPACE, make_key
from ..core.validation import require_count
from .closed_forms import zipf_weights

SLOTS = 16_384  # Redis Cluster's hash slots
MAX_SHARDS = 1_000
MAX_KEYS = 1_000_000


def key_slots(names) -> np.ndarray:
    """Redis Cluster's hash slot of each key name: CRC16 (XMODEM) of the name, or of its
    ``{hash tag}`` if it has a non-empty one, mod 16,384."""
    names = [names] if isinstance(names, str) else list(names)
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"key names must be strings (got {type(name).__name__} {name!r}).")
    return np.fromiter((binascii.crc_hqx(_hashed_part(name).encode(), 0) for name in names),
                       dtype=np.int64, count=len(names)) % SLOTS


def _hashed_part(name: str) -> str:
    start = name.find("{")
    if start >= 0:
        end = name.find("}", start + 1)
        if end > start + 1:
            return name[start + 1:end]
    return name


def shard_of(slots, shards: int) -> np.ndarray:
    """The shard that owns each slot, slots split into ``shards`` equal contiguous ranges."""
    require_count("shards", shards, minimum=1, maximum=MAX_SHARDS)
    slots = np.asarray(slots, dtype=np.int64)
    if slots.size and (slots.min() < 0 or slots.max() >= SLOTS):
        raise ValueError(f"slots must be from 0 to {SLOTS - 1}.")
    return slots * shards // SLOTS


def shard_shares(names, weights, shards: int) -> np.ndarray:
    """Each shard's share of the reads when key ``names[i]`` takes share ``weights[i]``."""
    weights = np.asarray(weights, dtype=float)
    slots = key_slots(names)
    if weights.shape != slots.shape:
        raise ValueError(f"names and weights must have the same length ({slots.size} names, {weights.size} weights).")
    if weights.size and (weights.min() < 0 or not np.isfinite(weights).all()):
        raise ValueError("weights must be finite and not negative.")
    total = weights.sum()
    if total <= 0:
        raise ValueError("weights must not all be 0.")
    return np.bincount(shard_of(slots, shards), weights=weights / total, minlength=shards)


@dataclass(frozen=True)
class HotKeyLoad:
    """Where a Zipf workload's reads land: the hottest key, each shard, the busiest shard."""

    keys: int
    zipf: float
    shards: int
    copies: int
    hottest_key_share: float  # of all reads: product 1's (all copies together)
    shares: np.ndarray  # each shard's share of all reads
    hot_shares: np.ndarray  # the part of each shard's share that is product 1 (or its copies)
    hot_shards: np.ndarray  # the shards holding product 1 (or its copies)

    @property
    def busiest_shard(self) -> int:
        return int(np.argmax(self.shares))

    @property
    def busiest_share(self) -> float:
        return float(self.shares.max())

    @property
    def imbalance(self) -> float:
        """The busiest shard's load over the average shard's (1.0: perfectly even)."""
        return self.busiest_share * self.shards

    def busiest_reads_per_s(self, read_rate: float) -> float:
        """The busiest shard's reads per second when the whole workload reads ``read_rate``."""
        return self.busiest_share * float(read_rate)

    def row(self) -> list:
        return [self.keys, f"{self.zipf:g}", self.shards, self.copies, f"{100 * self.hottest_key_share:.1f}%",
                f"{100 * self.busiest_share:.1f}%", f"{100 / self.shards:.1f}%", f"{self.imbalance:.2f}×"]


HOT_KEY_HEADERS = ["keys", "zipf", "shards", "copies of #1", "hottest key", "busiest shard", "even share", "busiest / even"]


def product_names(keys: int, prefix: str = "product") -> list[str]:
    """The cache keys of products ``1 … keys``: ``cacheaside-lab:product:1`` …

    Always in the default namespace, whatever ``CACHEASIDE_NAMESPACE`` says: a cluster hashes the
    whole key, so a workshop learner's own namespace (``cacheaside-lab-alice:``) would move
    products to other shards and the lecture's printed shards would not be the learner's. The
    skew itself (how much the busiest shard carries) is the same in any namespace.
    """
    require_count("keys", keys, minimum=1, maximum=MAX_KEYS)
    return [make_key(prefix, item, namespace=DEFAULT_NAMESPACE) for item in range(1, keys + 1)]


@functools.lru_cache(maxsize=8)
def _product_slots(keys: int, prefix: str) -> np.ndarray:
    """The slots of products ``1 … keys`` (hashed once per catalogue size: a design loop calls
    :func:`hot_key_load` for many numbers of copies)."""
    slots = key_slots(product_names(keys, prefix))
    slots.setflags(write=False)
    return slots


def hot_key_load(keys: int = 10_000, zipf: float = 1.0, shards: int = 8, *, copies: int = 1,
                 prefix: str = "product") -> HotKeyLoad:
    """The reads of products ``1 … keys`` (Zipf popularity ``zipf``) over ``shards`` Redis Cluster
    shards; with ``copies`` > 1, product 1's reads are split evenly over ``<key>:copy:0 … N-1``."""
    require_count("copies", copies, minimum=1, maximum=MAX_COPIES)
    weights = zipf_weights(keys, zipf)
    slots = _product_slots(keys, prefix)
    hot = product_names(1, prefix)[0]  # in the default namespace, as every product here
    if copies > 1:
        hot_slots = key_slots([f"{hot}{COPY_MARK}{copy}" for copy in range(copies)])
        slots = np.concatenate([hot_slots, slots[1:]])
        weights = np.concatenate([np.full(copies, weights[0] / copies), weights[1:]])
    hot_slots = shard_of(slots[:copies], shards)
    return HotKeyLoad(
        keys=keys, zipf=float(zipf), shards=shards, copies=copies,
        hottest_key_share=float(weights[:copies].sum()),
        shares=np.bincount(shard_of(slots, shards), weights=weights, minlength=shards),
        hot_shares=np.bincount(hot_slots, weights=weights[:copies], minlength=shards),
        hot_shards=np.unique(hot_slots),
    )
