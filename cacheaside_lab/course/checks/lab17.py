"""Checks for lab 17: a multi-key read that goes one MGET per slot, a hash-tag layout for a value
and its lease, the tags that pin a workload to one shard (break it), and a question on a lost shard.

Every check runs on the course's cache (fakeredis or a real server) or on the model alone, so the
lab works without a cluster:

* the per-slot read runs the learner's ``read_many`` against :class:`SlotStrictClient`, a client
  that behaves as a Redis Cluster does for ``MGET``: it refuses one whose keys are in two slots
  (``CROSSSLOT``), and counts the round trips;
* the layout and break-it checks place keys with Redis Cluster's own rule
  (:func:`cacheaside_lab.models.skew.key_slots`) on the slot map ``redis-cli --cluster create``
  makes for 3 primaries (:class:`cacheaside_lab.models.shards.SlotMap`).
"""

from __future__ import annotations

import numpy as np
import redis

from ...core.keys import root_namespace
from ...models.closed_forms import zipf_weights
from ...models.shards import SlotMap, shard_spread
from ...models.skew import key_slots
from .framework import CheckFailed, attempt, exercise, expect, short, unanswered
from .setups import empty_namespace, key_function
from .understanding import estimate

LAB = "lab17"
PRIMARIES = 3
SLOT_MAP = SlotMap.even(PRIMARIES)
TTL_SECONDS = 300
MAX_KEY_SHARE = 0.40  # exercise 2: no primary may hold more than this share of the keys
LAYOUT_IDS = 1_000
MAX_CATEGORIES = 20

product_key = key_function(LAB, doc="Where the lab caches a product: ``cacheaside-lab:lab17:product:42``.")


# -- exercise 1: one MGET per slot ---------------------------------------------------------------


class SlotStrictClient:
    """A client that refuses, as a Redis Cluster does, an ``MGET`` whose keys are in more than one
    hash slot, and counts the round trips (``MGET`` and ``GET`` calls) the learner's code makes."""

    def __init__(self, client):
        self._client = client
        self.mgets: list[list[str]] = []
        self.gets = 0

    def mget(self, keys, *args):
        keys = list(keys) + list(args) if not isinstance(keys, (str, bytes)) else [keys, *args]
        slots = set(key_slots(keys).tolist())
        if len(slots) > 1:
            raise redis.ResponseError("CROSSSLOT Keys in request don't hash to the same slot")
        self.mgets.append(keys)
        return self._client.mget(keys)

    def get(self, key):
        self.gets += 1
        return self._client.get(key)


def _tagged_keys() -> list[str]:
    """Twelve keys in six slots: four products with their lease (hash tag ``{id}``), two info
    slices of those products, and two untagged keys, in an order that mixes the slots."""
    start = f"{root_namespace()}{LAB}:"
    ids = (42, 7, 1001, 3)
    keys = [f"{start}product:{{{item}}}" for item in ids]
    keys += [f"{start}info:{{42}}", f"{start}report:1"]
    keys += [f"{start}product:{{{item}}}:lease" for item in ids]
    keys += [f"{start}info:{{7}}", f"{start}report:2"]
    return keys


def _seed(cache, keys) -> dict:
    """Store a value under every other key; return the expected value of each (None: missing)."""
    expected = {}
    for n, key in enumerate(keys):
        if n % 3 == 2:
            expected[key] = None
            continue
        expected[key] = f"value {n}"
        cache.set(key, expected[key], ex=TTL_SECONDS)
    return expected


@exercise("Exercise 1 · One MGET per slot")
def check_read_many(read_many, *, cache=None):
    cache = empty_namespace(cache, LAB)
    keys = _tagged_keys()
    expected = _seed(cache, keys)
    strict = SlotStrictClient(cache)
    slots = len(set(key_slots(keys).tolist()))
    tried = (f"read_many(client, keys) for {len(keys)} keys in {slots} hash slots (products with their "
             "lease and info under the tag {id}, and two untagged keys), on a client that refuses a cross-slot MGET")
    hint = "Group the keys by key_slot(key) (the hash tag decides it), send one MGET per group, and put the values back in order."
    got = attempt(read_many, strict, list(keys), tried=tried, hint=hint)
    empty_namespace(cache, LAB)
    _judge_read_many(got, keys, expected, strict, slots, tried)
    return f"{len(keys)} keys read in {len(strict.mgets)} MGETs, one per slot, values in the order asked."


def _judge_read_many(got, keys, expected, strict, slots, tried) -> None:
    if not isinstance(got, (list, tuple)):
        raise CheckFailed(tried, f"read_many returned {short(got)}, not a list of values.",
                          "Return a list with one value per key, in the order of keys (None for a missing key).")
    got = list(got)
    expect(len(got) == len(keys), tried=tried, wrong=f"{len(got)} values for {len(keys)} keys.",
           hint="Return exactly one value per key asked for, None where the key is missing.")
    wrong = [(key, value) for key, value in zip(keys, got) if value != expected[key]]
    expect(not wrong, tried=tried,
           wrong=(f"{len(wrong)} values are not the ones stored under their keys, e.g. {short(wrong[0][0])} gave "
                  f"{short(wrong[0][1])}, expected {short(expected[wrong[0][0]])}." if wrong else ""),
           hint="Each MGET answers in the order of its own keys: remember which key each answer belongs to, "
                "and build the result in the order of the keys you were given.")
    expect(strict.gets == 0, tried=tried, wrong=f"{strict.gets} single GETs: one round trip per key.",
           hint="Read a whole slot's keys in one MGET: a round trip per slot, not per key.")
    expect(len(strict.mgets) == slots, tried=tried,
           wrong=(f"{len(strict.mgets)} MGETs for keys in {slots} slots: "
                  + ("some slot was read more than once." if len(strict.mgets) > slots else "fewer than the slots?")),
           hint="Keys with the same hash tag share a slot, so they belong in one MGET: group by "
                "redis.crc.key_slot(key) (or cacheaside_lab.models.skew.key_slots), not by the whole name.")


# -- exercise 2 (design): a value and its lease in one slot, spread over the shards -------------


def layout_keys(value_key, lease_key, ids, tried) -> tuple[list[str], list[str]]:
    """The learner's value and lease keys for ``ids``, each a string under the lab's namespace."""
    hint = "value_key(item_id) and lease_key(item_id) each return a string key such as 'cacheaside-lab:lab17:…'."
    values = [attempt(value_key, item, tried=tried, hint=hint) for item in ids]
    leases = [attempt(lease_key, item, tried=tried, hint=hint) for item in ids]
    start = f"{root_namespace()}{LAB}:"
    for key in values + leases:
        if not isinstance(key, str):
            raise CheckFailed(tried, f"a key is {short(key)}, not a string.", hint)
        expect(key.startswith(start), tried=tried, wrong=f"{short(key)} does not start with {start!r}.",
               hint=f"Every key of this lab starts with the namespace and the lab: {start}… (make_key does it).")
    expect(len(set(values)) == len(values) and len(set(leases)) == len(leases) and not set(values) & set(leases),
           tried=tried, wrong="two items (or an item's value and its lease) got the same key.",
           hint="Each item needs its own value key and its own lease key; put the id in both.")
    return values, leases


@exercise("Exercise 2 (design) · A value and its lease in one slot")
def check_lease_layout(value_key, lease_key, *, cache=None):  # cache: accepted like every check's; the model needs none
    ids = list(range(1, LAYOUT_IDS + 1))
    tried = f"value_key(i) and lease_key(i) for products 1 … {LAYOUT_IDS:,}, placed on {PRIMARIES} primaries"
    values, leases = layout_keys(value_key, lease_key, ids, tried)
    value_slots, lease_slots = key_slots(values), key_slots(leases)
    apart = np.flatnonzero(value_slots != lease_slots)
    expect(not apart.size, tried=tried,
           wrong=(f"{apart.size:,} of {LAYOUT_IDS:,} items have their value and lease in different slots, e.g. "
                  f"{values[apart[0]]!r} (slot {value_slots[apart[0]]}) and {leases[apart[0]]!r} "
                  f"(slot {lease_slots[apart[0]]}): a Lua script that reads both is refused (CROSSSLOT)."
                  if apart.size else ""),
           hint="A cluster hashes only the part between { and }: give both keys the same hash tag.")
    spread = shard_spread(values, zipf_weights(LAYOUT_IDS, 1.0), SLOT_MAP)
    shares = spread.keys_per_shard / LAYOUT_IDS
    busiest = int(np.argmax(shares))
    distinct = len(set(value_slots.tolist()))
    expect(shares[busiest] <= MAX_KEY_SHARE, tried=tried,
           wrong=(f"shard {busiest} holds {100 * shares[busiest]:.0f}% of the items ({distinct} distinct slots for "
                  f"{LAYOUT_IDS:,} items): the tag pins them together, so one primary takes all their traffic."),
           hint="A tag shared by every item puts every item in one slot. What must differ from item to item, "
                "and still be the same for an item's value and its lease?")
    return (f"each value shares its lease's slot; {distinct:,} slots used, the busiest primary holds "
            f"{100 * shares[busiest]:.1f}% of the items.")


# -- exercise 3 (break it): tags that pin the traffic to one shard ------------------------------


def category_key(category: str, item_id) -> str:
    """The layout to break: items tagged by their category (``…:item:{shoes}:42``), so that one
    category's page of items is one slot and one MGET."""
    return f"{root_namespace()}{LAB}:item:{{{category}}}:{item_id}"


def category_traffic(categories) -> np.ndarray:
    """Each primary's share of the reads when 100 items of each category are read with Zipf 1.0
    popularity over the categories (the first the most read)."""
    names, weights = [], []
    category_weights = zipf_weights(len(categories), 1.0)
    for category, weight in zip(categories, category_weights):
        names += [category_key(category, item) for item in range(1, 101)]
        weights += [weight / 100] * 100
    return shard_spread(names, weights, SLOT_MAP).shares


def _parse_categories(categories, tried) -> list[str]:
    if isinstance(categories, (str, bytes)) or not hasattr(categories, "__iter__"):
        raise CheckFailed(tried, f"categories is {short(categories)}, not a list of names.",
                          'Give a list of category names, e.g. ["shoes", "hats", "bags"].')
    categories = list(categories)
    expect(3 <= len(categories) <= MAX_CATEGORIES, tried=tried, wrong=f"{len(categories)} categories.",
           hint=f"Give from 3 to {MAX_CATEGORIES} category names.")
    for name in categories:
        ok = isinstance(name, str) and name.isalnum() and len(name) <= 40
        expect(ok, tried=tried, wrong=f"{short(name)} is not a category name.",
               hint="Use short names of letters and digits (no spaces, colons or braces), at most 40 characters.")
    expect(len(set(categories)) == len(categories), tried=tried, wrong="a category is named twice.",
           hint="Every category must be different: the point is several categories, one shard.")
    return categories


@exercise("Exercise 3 (break it) · Categories that pin one shard")
def check_pinned_categories(categories, *, cache=None):  # cache: accepted like every check's; the model needs none
    tried = f"100 items of each of your categories, read with Zipf 1.0 over the categories, on {PRIMARIES} primaries"
    unanswered(categories, tried, "categories")
    categories = _parse_categories(categories, tried)
    shares = category_traffic(categories)
    busiest = int(np.argmax(shares))
    if shares[busiest] >= 1 - 1e-12:
        return (f"all {len(categories)} categories ({', '.join(categories)}) land on shard {busiest}: it serves 100% "
                "of the reads and the other primaries none; hash tags decide placement, so they can defeat sharding.")
    shards = [int(SLOT_MAP.shard_of(key_slots([category_key(name, 1)]))[0]) for name in categories]
    raise CheckFailed(tried, f"the categories land on shards {shards}: the busiest serves {100 * shares[busiest]:.1f}% "
                      "of the reads, not all of them.",
                      "Only the tag is hashed: compute key_slots(['{' + name + '}']) for candidate names and keep "
                      f"names whose slot falls in one primary's range ({SLOT_MAP.ranges()[0][0]} is shard 0's).")


# -- exercise 4 (question): a lost shard ------------------------------------------------------------


@exercise("Exercise 4 (question) · What a lost shard sends to the database")
def check_lost_shard_estimate(answer):
    return estimate(
        answer,
        question=("A 4-primary cluster runs warm with a 98% hit ratio. The primary that serves 40% of the reads "
                  "dies; the other three keep their 98%. By what factor does the database's load grow?"),
        answer=20.6, unit="×", tolerance=1.5,
        too_low="The dead shard's reads all miss now: 40% of all reads, on top of the 2% the others still miss.",
        too_high="The other three shards still hit 98% of their reads; and 40% dead is not the whole cache "
                 "(which would be 1 / 0.02 = ×50).",
        why="Before: 2% of the reads. After: 40% + 2% of the other 60% = 41.2%. 41.2 / 2 = ×20.6: a partial total "
            "miss, sized by the dead shard's share of the reads.",
    )
