"""Sharded caches: which keys and how much traffic each shard holds, a lost shard, and a reshard.

Lecture 10 (:mod:`.skew`) showed that hashing spreads *keys* evenly but not *reads*: the shard
that holds the hottest key carries all of its reads. This module takes the same rule (Redis
Cluster's ``slot = CRC16(key or {tag}) mod 16,384``, :func:`.skew.key_slots`) to the questions an
operator of a sharded cache asks, with a **slot map** that can be the real one of a running
cluster (``redis-cli --cluster create`` does not split 16,384 slots evenly over 3 primaries:
:func:`cluster_create_ranges` reproduces its split):

* :class:`SlotMap`: which shard owns each of the 16,384 slots (:meth:`SlotMap.even`, from slot
  ranges, from a live ``redis.RedisCluster`` with :meth:`SlotMap.from_cluster`);
* :func:`shard_spread` / :func:`product_spread`: keys and share of the reads per shard under Zipf
  popularity, and the shard of the hottest key;
* :func:`lost_shard`: a shard dies and every read of its keys misses: the database's load before
  and after, against the total miss of lecture 07 (:func:`.herd.total_miss_multiplier`);
* :func:`reshard_moves`: the share of keys and of reads whose shard changes when a cache grows
  from N to N + 1 shards, by modulo hashing (``shard = slot mod N``) and by a slot map that hands
  the new shard an equal slice of every old shard's slots;
* :func:`reshard_hit_ratio`: a warm cache replays a seeded Zipf stream (:mod:`.workload`); at
  ``reshard_at_s`` the moved keys are lost (modulo hashing, or slots handed over without their
  keys) or carried along (a slot migration moves the keys with the slots); the hit ratio per bucket.

No Redis here except :meth:`SlotMap.from_cluster`, which only asks a cluster for its slot ranges.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..core.validation import require_choice, require_count, require_non_negative, require_positive
from .closed_forms import zipf_weights
from .herd import total_miss_multiplier
from .skew import MAX_SHARDS, SLOTS, key_slots, product_names
from .workload import request_stream

RESHARD_METHODS = ("modulo", "slots, keys left behind", "slot migration")


def cluster_create_ranges(primaries: int) -> list[tuple[int, int]]:
    """The slot range ``(first, last)`` of each primary, as ``redis-cli --cluster create`` assigns
    them: 16,384 / N slots each, rounded the way redis-cli rounds (3 primaries: 0-5460,
    5461-10922, 10923-16383)."""
    require_count("primaries", primaries, minimum=1, maximum=MAX_SHARDS)
    per_node = SLOTS / primaries
    ranges, first, cursor = [], 0, 0.0
    for index in range(primaries):
        last = int(math.floor(cursor + per_node - 1 + 0.5))  # C's lroundf on a positive number
        if last > SLOTS or index == primaries - 1:
            last = SLOTS - 1
        last = max(last, first)
        ranges.append((first, last))
        first, cursor = last + 1, cursor + per_node
    return ranges


@dataclass(frozen=True)
class SlotMap:
    """Which shard owns each slot: ``owner[slot]`` is a shard index ``0 … shards-1``."""

    owner: np.ndarray = field(repr=False)
    names: tuple[str, ...] = ()  # a label per shard (a node's address), or empty

    def __post_init__(self):
        owner = np.asarray(self.owner, dtype=np.int64)
        if owner.shape != (SLOTS,):
            raise ValueError(f"a slot map gives an owner for each of the {SLOTS:,} slots (got {owner.size:,}).")
        if owner.min() < 0:
            raise ValueError("every slot needs an owner: the map has slots no shard serves.")
        owner.setflags(write=False)
        object.__setattr__(self, "owner", owner)
        if self.names and len(self.names) != self.shards:
            raise ValueError(f"names must give one label per shard ({self.shards}), got {len(self.names)}.")

    @property
    def shards(self) -> int:
        return int(self.owner.max()) + 1

    def slots_per_shard(self) -> np.ndarray:
        return np.bincount(self.owner, minlength=self.shards)

    def ranges(self) -> list[list[tuple[int, int]]]:
        """Each shard's slots as contiguous ``(first, last)`` ranges."""
        edges = np.flatnonzero(np.diff(self.owner)) + 1
        starts = np.concatenate([[0], edges])
        ends = np.concatenate([edges - 1, [SLOTS - 1]])
        out: list[list[tuple[int, int]]] = [[] for _ in range(self.shards)]
        for start, end in zip(starts, ends):
            out[int(self.owner[start])].append((int(start), int(end)))
        return out

    def shard_of(self, slots) -> np.ndarray:
        slots = np.asarray(slots, dtype=np.int64)
        if slots.size and (slots.min() < 0 or slots.max() >= SLOTS):
            raise ValueError(f"slots must be from 0 to {SLOTS - 1}.")
        return self.owner[slots]

    def label(self, shard: int) -> str:
        return self.names[shard] if self.names else f"shard {shard}"

    @classmethod
    def even(cls, primaries: int) -> "SlotMap":
        """The map ``redis-cli --cluster create`` makes for ``primaries`` primaries."""
        return cls.from_ranges([[span] for span in cluster_create_ranges(primaries)])

    @classmethod
    def from_ranges(cls, ranges, names=()) -> "SlotMap":
        """``ranges[i]``: shard i's slot ranges, each ``(first, last)`` inclusive; they must cover
        every slot exactly once."""
        ranges = list(ranges)
        require_count("shards", len(ranges), minimum=1, maximum=MAX_SHARDS)
        owner = np.full(SLOTS, -1, dtype=np.int64)
        for shard, spans in enumerate(ranges):
            for span in spans:
                first, last = (int(value) for value in span)
                if not 0 <= first <= last < SLOTS:
                    raise ValueError(f"slot range {span!r} of shard {shard} is not within 0 … {SLOTS - 1}.")
                if (owner[first:last + 1] >= 0).any():
                    raise ValueError(f"slot range {span!r} of shard {shard} overlaps another shard's.")
                owner[first:last + 1] = shard
        if (owner < 0).any():
            missing = int((owner < 0).sum())
            raise ValueError(f"the ranges leave {missing:,} slots without a shard; a cluster serves all {SLOTS:,}.")
        return cls(owner, tuple(names))

    @classmethod
    def from_cluster(cls, client) -> "SlotMap":
        """The live map of a ``redis.RedisCluster`` (``CLUSTER SLOTS``), shards ordered by their
        first slot and labelled ``host:port``."""
        reply = client.cluster_slots()  # {(first, last): {"primary": (host, port), ...}}
        by_node: dict[str, list[tuple[int, int]]] = {}
        for (first, last), info in reply.items():
            host, port = info["primary"][:2]
            by_node.setdefault(f"{host}:{port}", []).append((int(first), int(last)))
        nodes = sorted(by_node, key=lambda name: min(by_node[name]))
        return cls.from_ranges([sorted(by_node[name]) for name in nodes], names=nodes)

    def add_shard(self) -> "SlotMap":
        """The map after a new shard takes an equal slice of every old shard's slots (the highest
        slots of each), so each shard ends with about ``16,384 / (N + 1)``: a rebalance that moves
        only what the new shard needs."""
        owner = self.owner.copy()
        new = self.shards
        target = SLOTS // (new + 1)
        counts = self.slots_per_shard()
        give = _split_evenly(target, counts)
        for shard in range(new):
            mine = np.flatnonzero(owner == shard)
            if give[shard]:
                owner[mine[-give[shard]:]] = new
        return SlotMap(owner, self.names + (f"new shard {new}",) if self.names else ())


def _split_evenly(total: int, counts: np.ndarray) -> np.ndarray:
    """``total`` slots to take, split in proportion to ``counts`` (largest remainder)."""
    exact = total * counts / counts.sum()
    give = np.floor(exact).astype(int)
    for index in np.argsort(-(exact - give), kind="stable")[: total - give.sum()]:
        give[index] += 1
    return give


def _require_map(slot_map) -> SlotMap:
    if isinstance(slot_map, SlotMap):
        return slot_map
    if isinstance(slot_map, int) and not isinstance(slot_map, bool):
        return SlotMap.even(slot_map)
    raise TypeError(f"shards must be a number of primaries or a SlotMap (got {type(slot_map).__name__}).")


# -- keys and traffic per shard ------------------------------------------------------------------


@dataclass(frozen=True)
class ShardSpread:
    """Where a set of keys and their reads land on a slot map."""

    slot_map: SlotMap = field(repr=False)
    names: list = field(repr=False)
    slots: np.ndarray = field(repr=False)
    weights: np.ndarray = field(repr=False)  # each key's share of the reads (summing to 1)
    shard: np.ndarray = field(repr=False)  # each key's shard
    zipf: float | None = None  # the popularity exponent, when the weights are Zipf (product_spread)

    @property
    def shards(self) -> int:
        return self.slot_map.shards

    @property
    def keys_per_shard(self) -> np.ndarray:
        return np.bincount(self.shard, minlength=self.shards)

    @property
    def shares(self) -> np.ndarray:
        """Each shard's share of the reads (every read goes to its key's shard, hit or miss)."""
        return np.bincount(self.shard, weights=self.weights, minlength=self.shards)

    @property
    def hot_shard(self) -> int:
        """The shard of the hottest key."""
        return int(self.shard[int(np.argmax(self.weights))])

    @property
    def busiest_shard(self) -> int:
        return int(np.argmax(self.shares))

    def hottest_on(self, shard: int) -> str:
        """The most read key on ``shard``."""
        mine = np.flatnonzero(self.shard == shard)
        return self.names[int(mine[np.argmax(self.weights[mine])])] if mine.size else "-"

    def rows(self) -> list[list]:
        keys, shares = self.keys_per_shard, self.shares
        return [[self.slot_map.label(shard), int(self.slot_map.slots_per_shard()[shard]), f"{keys[shard]:,}",
                 f"{100 * keys[shard] / keys.sum():.1f}%", f"{100 * shares[shard]:.1f}%", self.hottest_on(shard)]
                for shard in range(self.shards)]


SPREAD_HEADERS = ["shard", "slots", "keys", "share of keys", "share of reads", "its hottest key"]


def shard_spread(names, weights, shards=3) -> ShardSpread:
    """Keys ``names`` read with shares ``weights`` on ``shards`` (a number of primaries, split as
    ``redis-cli --cluster create`` splits them, or a :class:`SlotMap`)."""
    slot_map = _require_map(shards)
    names = [names] if isinstance(names, str) else list(names)
    slots = key_slots(names)
    return _spread(slot_map, names, slots, weights)


def product_spread(keys: int = 10_000, zipf: float = 1.0, shards=3, *, prefix: str = "product") -> ShardSpread:
    """Products ``1 … keys`` (``cacheaside-lab:product:N``) read with Zipf popularity ``zipf``."""
    slot_map = _require_map(shards)
    names = product_names(keys, prefix)
    require_non_negative("zipf", zipf)
    return _spread(slot_map, names, key_slots(names), zipf_weights(keys, zipf), zipf=float(zipf))


def _spread(slot_map, names, slots, weights, zipf=None) -> ShardSpread:
    weights = np.asarray(weights, dtype=float)
    if weights.shape != slots.shape:
        raise ValueError(f"names and weights must have the same length ({slots.size} names, {weights.size} weights).")
    if not weights.size:
        raise ValueError("give at least one key.")
    if weights.min() < 0 or not np.isfinite(weights).all() or weights.sum() <= 0:
        raise ValueError("weights must be finite, not negative, and not all 0.")
    return ShardSpread(slot_map, names, slots, weights / weights.sum(), slot_map.shard_of(slots), zipf)


# -- a lost shard ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LostShard:
    """One shard dead, the others warm: what the database sees."""

    shard: int
    share: float  # the dead shard's share of the reads
    hit_ratio: float  # the warm cache's hit ratio before the loss
    db_share_before: float  # of all reads: 1 - h
    db_share_after: float  # the dead shard's reads, plus the misses of the rest

    @property
    def multiplier(self) -> float:
        """The database's load after the loss over before it."""
        return self.db_share_after / self.db_share_before

    @property
    def total_miss_multiplier(self) -> float:
        """What losing the whole cache would do (lecture 07): ``1 / (1 - h)``."""
        return total_miss_multiplier(self.hit_ratio)

    @property
    def hit_ratio_after(self) -> float:
        return 1 - self.db_share_after

    def row(self, label: str | None = None) -> list:
        return [label or f"shard {self.shard}", f"{100 * self.share:.1f}%", f"{100 * self.db_share_before:.1f}%",
                f"{100 * self.db_share_after:.1f}%", f"{self.multiplier:.1f}×", f"{self.total_miss_multiplier:.0f}×"]


LOST_HEADERS = ["dead shard", "its share of reads", "DB share before", "DB share after", "DB load ×", "whole cache lost ×"]


def lost_shard(spread: ShardSpread, shard: int, hit_ratio: float = 0.99) -> LostShard:
    """Shard ``shard`` dies (every read of its keys misses and goes to the database); the other
    shards keep their hit ratio ``hit_ratio``."""
    require_count("shard", shard, minimum=0, maximum=spread.shards - 1)
    hit_ratio = float(hit_ratio)
    if not 0 <= hit_ratio < 1:
        raise ValueError(f"hit_ratio must be at least 0 and below 1 (got {hit_ratio!r}): at 1 the database "
                         "sees nothing to multiply.")
    share = float(spread.shares[shard])
    before = 1 - hit_ratio
    return LostShard(shard, share, hit_ratio, before, share + (1 - share) * before)


# -- resharding ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReshardMoves:
    """Growing from ``shards`` to ``shards + 1``: which keys change shard, by each method."""

    shards: int
    moved_by_modulo: np.ndarray = field(repr=False)  # bool per key
    moved_by_slots: np.ndarray = field(repr=False)  # bool per key
    weights: np.ndarray = field(repr=False)
    slots_moved: int = 0

    @property
    def keys(self) -> int:
        return int(self.weights.size)

    def share_of_keys(self, method: str = "modulo") -> float:
        return float(self._moved(method).mean())

    def share_of_reads(self, method: str = "modulo") -> float:
        return float(self.weights[self._moved(method)].sum())

    def _moved(self, method: str) -> np.ndarray:
        method = require_choice("method", method, ("modulo", "slots"))
        return self.moved_by_modulo if method == "modulo" else self.moved_by_slots

    def rows(self) -> list[list]:
        return [[f"modulo: slot mod {self.shards} → mod {self.shards + 1}", "-",
                 f"{100 * self.share_of_keys('modulo'):.1f}%", f"{100 * self.share_of_reads('modulo'):.1f}%"],
                [f"slot map: the new shard takes {self.slots_moved:,} slots", f"{100 * self.slots_moved / SLOTS:.1f}%",
                 f"{100 * self.share_of_keys('slots'):.1f}%", f"{100 * self.share_of_reads('slots'):.1f}%"]]


MOVES_HEADERS = ["growing by one shard", "slots moved", "keys that change shard", "reads that change shard"]


def reshard_moves(spread: ShardSpread) -> ReshardMoves:
    """Which of ``spread``'s keys change shard when one shard is added: by modulo hashing
    (``slot mod N`` → ``slot mod N+1``) and by :meth:`SlotMap.add_shard`."""
    n = spread.shards
    grown = spread.slot_map.add_shard()
    moved_slots = grown.owner != spread.slot_map.owner
    return ReshardMoves(
        shards=n,
        moved_by_modulo=(spread.slots % n) != (spread.slots % (n + 1)),
        moved_by_slots=moved_slots[spread.slots],
        weights=spread.weights,
        slots_moved=int(moved_slots.sum()),
    )


@dataclass(frozen=True)
class ReshardRun:
    """A warm cache, a seeded Zipf stream, and one reshard at ``reshard_at_s``."""

    method: str
    reshard_at_s: float
    bucket_s: float
    bucket_starts_s: np.ndarray = field(repr=False)
    hit_ratio_by_bucket: np.ndarray = field(repr=False)
    reads: int = 0
    misses: int = 0
    lost_keys: int = 0  # keys whose cached value the reshard lost
    first_second_hit_ratio: float = 1.0  # in the second right after the reshard

    @property
    def hit_ratio(self) -> float:
        return 1 - self.misses / self.reads if self.reads else float("nan")

    def row(self) -> list:
        return [self.method, f"{self.lost_keys:,}", f"{100 * self.first_second_hit_ratio:.1f}%",
                f"{100 * self.hit_ratio_by_bucket[-1]:.1f}%", f"{self.misses:,}"]


RESHARD_HEADERS = ["reshard by", "cached keys lost", "hit ratio, 1st second after", "hit ratio, last bucket",
                   "misses (DB loads)"]


def reshard_hit_ratio(spread: ShardSpread, method: str = "modulo", *, read_rate: float = 2_000.0,
                      duration: float = 10.0, reshard_at_s: float = 2.0, bucket_s: float = 0.5,
                      seed: int = 17) -> ReshardRun:
    """Replay ``duration`` seconds of Zipf reads of ``spread``'s keys (``read_rate`` per second,
    their weights as popularity) through a warm cache with no expiry; at ``reshard_at_s`` one
    shard is added by ``method``:

    * ``"modulo"``: every key whose ``slot mod N`` differs from ``slot mod N+1`` is now looked
      for on a shard that never had it: it misses once, then hits;
    * ``"slots, keys left behind"``: the new shard takes its slots (:meth:`SlotMap.add_shard`)
      empty, so the keys of those slots miss once;
    * ``"slot migration"``: the keys move with their slots (what ``redis-cli --cluster reshard``
      does with ``MIGRATE``): nothing is lost.
    """
    method = require_choice("method", method, RESHARD_METHODS)
    require_positive("read_rate", read_rate, unit="reads per second")
    require_positive("duration", duration, unit="seconds")
    require_positive("bucket_s", bucket_s, unit="seconds")
    require_non_negative("reshard_at_s", reshard_at_s, unit="seconds")
    if reshard_at_s >= duration:
        raise ValueError(f"reshard_at_s must fall inside the run, below duration={duration!r} (got {reshard_at_s!r}).")
    if read_rate * duration > 5_000_000:
        raise ValueError(f"read_rate × duration must be at most 5,000,000 reads (got {read_rate * duration:,.0f}).")
    moves = reshard_moves(spread)
    lost = {"modulo": moves.moved_by_modulo, "slots, keys left behind": moves.moved_by_slots,
            "slot migration": np.zeros(spread.weights.size, dtype=bool)}[method]
    stream = _weighted_stream(spread, read_rate, duration, seed)
    ids = stream.ids - 1  # key index, 0 = names[0]
    after = stream.times >= reshard_at_s
    miss = np.zeros(ids.size, dtype=bool)
    later = np.flatnonzero(after)
    _, first = np.unique(ids[later], return_index=True)  # each key's first read after the reshard
    firsts = later[first]
    miss[firsts[lost[ids[firsts]]]] = True
    buckets = int(math.ceil(duration / bucket_s))
    bucket = np.minimum((stream.times / bucket_s).astype(int), buckets - 1)
    reads_in = np.bincount(bucket, minlength=buckets)
    misses_in = np.bincount(bucket[miss], minlength=buckets)
    with np.errstate(invalid="ignore", divide="ignore"):
        by_bucket = np.where(reads_in > 0, 1 - misses_in / np.maximum(reads_in, 1), np.nan)
    window = after & (stream.times < reshard_at_s + 1.0)
    first_second = 1 - miss[window].sum() / max(1, window.sum())
    return ReshardRun(method=method, reshard_at_s=float(reshard_at_s), bucket_s=float(bucket_s),
                      bucket_starts_s=np.arange(buckets) * bucket_s, hit_ratio_by_bucket=by_bucket,
                      reads=int(ids.size), misses=int(miss.sum()), lost_keys=int(lost.sum()),
                      first_second_hit_ratio=float(first_second))


def _weighted_stream(spread, read_rate, duration, seed):
    """The seeded Poisson stream of reads of :func:`.workload.request_stream`, product ``i`` by
    the spread's Zipf popularity."""
    if spread.zipf is None:
        raise ValueError("reshard_hit_ratio replays Zipf popularity: give a spread from product_spread(...).")
    return request_stream(np.random.default_rng(seed), rates={"read": read_rate}, duration=duration,
                          keys=spread.weights.size, zipf=spread.zipf)
