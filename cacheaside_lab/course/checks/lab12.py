"""Checks for lab 12: size a cache for a workload shaped like a real cluster, choose its policy,
break a sizing that counts value bytes only, choose a policy and memory checked on a real Redis,
questions on the fleet data, and choose a TTL per TTL class under a staleness budget and a
hit-ratio target (exercise 7: simulated with 1% of the DELs lost, written to the course's cache
and read back with PTTL, and replayed on a private server).

The workload is shaped like Twitter's cluster52 (Yang, Yue and Rashmi, OSDI 2020; the row is in
:mod:`cacheaside_lab.data.fleet`): 91% gets, Zipf alpha 1.21 (the fleet's median), 273-byte values,
TTLs of 12 hours to 14 days. Plans are checked twice: with the simulated hit-ratio curves of
:mod:`cacheaside_lab.models.miss_ratio` (a perfect LFU, or Che's approximation for LRU), and, where
a ``redis-server`` is installed, by replaying the stream on a private server with the plan's
``maxmemory`` (:func:`cacheaside_lab.experiments.eviction.play`). Every check takes ``cache=None``
for the course's backend fixture; the memory runs need a server of their own (``maxmemory`` and
``CONFIG SET`` on the learner's cache would be rude), so they start one and stop it by PID.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from numbers import Real

import numpy as np

from ...core.keys import glob_escape, root_namespace
from ...data.fleet import cluster as fleet_cluster
from ...data.fleet import workload_cluster
from ...models.cluster_workload import workload_for
from ...models.miss_ratio import lfu_hit_ratio, lru_hit_ratio
from ...stores.redis_server import find_redis_server
from .framework import NOT_ANSWERED, CheckFailed, attempt, exercise, expect, short
from .setups import key_function
from .understanding import choose, estimate

LAB = "lab12"
CLUSTER = "cluster52"
KEYS = 5_000
REQUESTS = 8_000
TARGET = 0.9
MIN_ENTRIES = 50  # a break-it cluster's right-sized cache holds at least this many entries
MB = 2**20  # bytes: Redis's "mb" (1mb = 1024 × 1024 bytes)
POLICY_OF = {"LFU": "allkeys-lfu", "LRU": "allkeys-lru"}
BREAK_MARGIN = 0.05  # how far below the target a broken sizing must land
# MEMORY USAGE of one entry on redis-server 7.0 (key "cacheaside-lab:evict:1234", value "x" * size,
# with an expiry), measured when this lab was written: what the checks use without a server (the
# replay's keys are a few bytes longer, so a real server reports up to a size class more)
MEASURED_SIZES = (1, 4, 8, 16, 32, 64, 128, 224, 273, 500, 1000, 1118, 2439, 4096, 10000, 20134, 65536)
MEASURED_USAGE = (88, 88, 88, 104, 120, 152, 232, 328, 392, 584, 1096, 1352, 2632, 5192, 10312, 20552, 81992)
HINT_PLAN = ("The hit ratio a cache of C entries gets is lfu_hit_ratio(popularity, sizes) (or lru_hit_ratio): give it "
             "every C from 1 to the number of keys at once, find the first C that reaches the target, and turn C "
             "entries into megabytes with bytes_per_entry.")


product_key = key_function(LAB, "product", doc="Where lab 12 measures one entry's bytes: ``cacheaside-lab:lab12:product:42``.")


def lab_workload(keys: int = KEYS):
    """The lab's workload: shaped like cluster52 (``workload_for``), ``keys`` keys."""
    return workload_for(CLUSTER, keys=keys)


def lab_requests(count: int = REQUESTS, seed: int = 0):
    """The lab's request list (reads and writes in order, each key's TTL) for the replays."""
    return lab_workload().requests(count=count, seed=seed)


def redis_available() -> bool:
    return find_redis_server() is not None


def entry_bytes(value_size: float, server=None) -> int:
    """What one cached entry of ``value_size`` bytes costs: ``MEMORY USAGE`` on ``server`` (a client
    to a real Redis) or, without one, the measurements above (interpolated)."""
    size = max(1, int(round(value_size)))
    if server is not None:
        key = product_key(9999)  # as long as the replay's keys, within a few bytes
        try:
            server.set(key, "x" * size, px=60_000)
            return int(server.memory_usage(key, samples=0))
        finally:
            server.delete(key)
    return int(round(float(np.interp(size, MEASURED_SIZES, MEASURED_USAGE))))


def simulated_hit_ratio(popularity, entries: int, policy: str = "LFU") -> float:
    """The simulated hit ratio of ``entries`` entries under ``policy`` ("LFU" or "LRU")."""
    entries = int(max(0, min(entries, len(popularity))))
    if entries == 0:
        return 0.0
    curve = lfu_hit_ratio if policy == "LFU" else lru_hit_ratio
    return float(curve(popularity, [entries])[0])


def reference_plan_memory(popularity, target: float, bytes_per_entry: float, policy: str = "LFU") -> float:
    """The least memory (MB) whose simulated hit ratio under ``policy`` reaches ``target``."""
    return reference_entries(popularity, target, policy) * bytes_per_entry / MB


def reference_entries(popularity, target: float, policy: str = "LFU") -> int:
    """The fewest entries whose simulated hit ratio under ``policy`` reaches ``target`` (bisection:
    the hit ratio only grows with the cache's size)."""
    popularity = np.asarray(popularity, dtype=float)
    low, high = 1, popularity.size
    while low < high:
        middle = (low + high) // 2
        if simulated_hit_ratio(popularity, middle, policy) >= target - 1e-12:
            high = middle
        else:
            low = middle + 1
    return low


def naive_memory(row, target: float = TARGET, keys: int = KEYS) -> float:
    """A colleague's sizing: the entries an LFU cache needs for ``target`` × the row's *value size*
    (MB). It plans the right number of entries and forgets what the server adds to each."""
    popularity = workload_for(row, keys=keys).requests(count=1).popularity
    return reference_entries(popularity, target, "LFU") * row.value_size / MB


@contextmanager
def _private_server():
    from ...stores.redis_server import RedisServer

    with RedisServer() as server:
        yield server.client()


def _replay(client, requests, policy: str, memory_mb: float) -> float:
    from ...experiments.eviction import play

    run = play(client, requests, policy=policy, data_bytes=max(1, int(memory_mb * MB)), prefix=f"{LAB}-evict")
    # the share of the reads a cache could serve at all (a key's first request misses in any cache),
    # which is what the simulated curves give
    servable = run.reads - run.first_reads
    return run.hits / servable if servable else 0.0


# -- exercise 1 -------------------------------------------------------------------------------

PRECISION_QUESTION = "cluster33 lists get:0.99 set:0.01. Is it read-heavy at 100:1 or more?"


@exercise("Exercise 1 (question) · What a rounded mix can tell you")
def check_precision(answer, *, cache=None):
    return choose(
        answer,
        question=PRECISION_QUESTION,
        choices={
            "a": "No: 0.99 / 0.01 is 99 reads per write, just under 100.",
            "b": "Yes: 99:1 is 100:1 to the table's precision.",
            "c": "The table cannot say: 0.01 stands for anything from 0.005 to 0.015, so anywhere from about 66:1 to 199:1.",
            "d": "No: a cluster that lists a set at all is write-heavy.",
        },
        answer="c",
        wrong={
            "a": "99 is what the printed digits give, but each share is rounded to 0.01: set:0.01 could be 0.006 "
                 "(165:1) or 0.014 (71:1). Work out the interval the rounding allows.",
            "b": "Rounding goes both ways: the true share of sets could just as well be 0.014, which is 71:1. The "
                 "digits do not put it on either side of 100.",
            "d": "Write-heavy means more writes than reads; 1% sets against 99% gets is very read-heavy. The question "
                 "is only whether it reaches 100:1.",
        },
        why="The lecture counted 8 clusters as certainly at 100:1 and 2 (this one and cluster44) as possibly: an "
            "honest count from rounded data is an interval, not a number.",
    )


# -- exercise 2 -------------------------------------------------------------------------------

def _plan_cases():
    from ...models.closed_forms import zipf_weights

    shaped = lab_workload().requests(count=1).popularity
    return [
        ("cluster52-shaped, 5,000 keys, target 0.9, LFU, 392 B per entry", shaped, 0.9, 392.0, "LFU"),
        ("Zipf 1.0 over 2,000 keys, target 0.7, LRU, 600 B per entry", zipf_weights(2_000, 1.0), 0.7, 600.0, "LRU"),
        ("Zipf 0.6 over 2,000 keys, target 0.5, LFU, 1,352 B per entry", zipf_weights(2_000, 0.6), 0.5, 1352.0, "LFU"),
    ]


@exercise("Exercise 2 (design) · The least memory for a hit-ratio target")
def check_plan_memory(plan_memory, *, cache=None):
    lines = []
    for (described, popularity, target, per_entry, policy), label in zip(_plan_cases(), ("cluster52", "Zipf 1.0", "Zipf 0.6")):
        tried = f"plan_memory(popularity, {target}, {per_entry:g}, {policy!r}) for {described}"
        given = attempt(plan_memory, popularity, target, per_entry, policy, tried=tried, hint=HINT_PLAN)
        expect(isinstance(given, Real) and not isinstance(given, bool) and math.isfinite(given) and given > 0,
               tried=tried, wrong=f"it returned {short(given)}, not a positive number of megabytes.",
               hint="Return megabytes as a float: entries × bytes_per_entry / 2**20.")
        best = reference_plan_memory(popularity, target, per_entry, policy)
        entries = int(given * MB // per_entry)
        reached = simulated_hit_ratio(popularity, entries, policy)
        if given > 1000 * best:
            raise CheckFailed(tried, f"it returned {given:,.0f}, about {given / best:,.0f}× the memory needed.",
                              "Megabytes, not bytes: divide the bytes by 2**20.")
        expect(reached >= target - 1e-9, tried=tried,
               wrong=f"{given:.4f} MB holds {entries:,} entries of {per_entry:g} B, which reach a simulated hit "
                     f"ratio of {reached:.4f} under {policy}, below the target {target}.",
               hint="Find the first cache size whose hit ratio is at or above the target, not the last one below "
                    "it, and make sure the memory holds that many whole entries of bytes_per_entry (not of the "
                    "value's own size).")
        spare = given - best
        expect(spare <= 0.01 * best + per_entry / MB, tried=tried,
               wrong=f"{given:.4f} MB reaches the target, but {best:.4f} MB already does ({given / best - 1:+.1%}).",
               hint="The least memory: the smallest cache size that reaches the target. Check that the policy you "
                    "simulate is the one asked for (LFU keeps the most popular keys, LRU needs more room for the "
                    "same hit ratio), and that a megabyte here is 2**20 bytes, as in Redis's maxmemory.")
        lines.append(f"{label}: {given:.3f} MB")
    summary = "; ".join(lines)
    return summary + _replayed(plan_memory)


def _replayed(plan_memory) -> str:
    """On a real server: the lab workload at the learner's plan under allkeys-lfu (reported)."""
    if not redis_available():
        return " (no redis-server here: checked against the simulated curves only)."
    requests = lab_requests()
    with _private_server() as client:
        per_entry = entry_bytes(requests.value_size, client)
        memory = float(attempt(plan_memory, requests.popularity, TARGET, per_entry, "LFU",
                               tried=f"plan_memory for {CLUSTER}'s stream", hint=HINT_PLAN))
        measured = _replay(client, requests, "allkeys-lfu", memory)
    return (f". Replayed on a real redis-server: {CLUSTER}'s stream ({REQUESTS:,} requests) with {memory:.3f} MB "
            f"for entries ({per_entry} B each, MEMORY USAGE) under allkeys-lfu served {measured:.3f} of the reads a "
            f"cache could serve (all but each key's first), against the simulated {TARGET}.")


# -- exercise 3 -------------------------------------------------------------------------------

@exercise("Exercise 3 (break it) · A cluster the value-size sizing fails")
def check_breaks_naive_sizing(cluster_name, *, cache=None):
    tried = f"the value-size sizing of {cluster_name!r} for a hit ratio of {TARGET} under allkeys-lfu"
    if cluster_name in (None, Ellipsis):
        raise CheckFailed(tried, f"{NOT_ANSWERED}.", "Set cluster_name to the name of a cluster in the fleet, "
                          "such as \"cluster4\", and run this check again.")
    try:
        row = workload_cluster(cluster_name)
        workload = workload_for(row, keys=KEYS)
    except (ValueError, TypeError) as error:
        raise CheckFailed(tried, str(error), "Pick a cluster whose row has an operation mix with reads, a Zipf "
                          "alpha and TTLs: load_fleet() lists them all.") from None
    requests = workload.requests(count=REQUESTS)
    needed = reference_entries(requests.popularity, TARGET, "LFU")
    expect(needed >= MIN_ENTRIES, tried=tried,
           wrong=f"{row.name}'s popularity is so skewed (alpha {row.zipf_alpha:.2f}) that {needed} entries reach "
                 f"{TARGET}: a cache that small fails or passes on rounding, not on its sizing.",
           hint=f"Pick a cluster whose cache for {TARGET} needs at least {MIN_ENTRIES} entries (alpha nearer 1 or "
                "below), so the sizing rule is what decides.")
    naive = naive_memory(row)
    true_bytes = entry_bytes(row.value_size)
    fits = int(naive * MB // true_bytes)
    simulated = simulated_hit_ratio(requests.popularity, fits, "LFU")
    expect(simulated < TARGET - BREAK_MARGIN, tried=tried,
           wrong=f"{row.name}'s values are {row.value_size:,.0f} B and an entry costs about {true_bytes:,} B, so the "
                 f"naive {naive:.3f} MB still holds {fits:,} entries: simulated hit ratio {simulated:.3f}, not below "
                 f"{TARGET - BREAK_MARGIN:.2f}.",
           hint="The sizing forgets what the server adds to each entry. Where is that a large part of the entry? "
                "Look at the value-size column of the fleet.")
    summary = (f"{row.name}: {row.value_size:,.0f} B values, ~{true_bytes:,} B per entry; the value-size plan "
               f"({naive:.3f} MB) holds {fits:,} entries and simulates at {simulated:.3f} against the target {TARGET}")
    if not redis_available():
        return summary + " (no redis-server here: the simulation is the replay)."
    with _private_server() as client:
        measured_bytes = entry_bytes(row.value_size, client)
        right = reference_plan_memory(requests.popularity, TARGET, measured_bytes, "LFU")
        naive_hit = _replay(client, requests, "allkeys-lfu", naive)
        right_hit = _replay(client, requests, "allkeys-lfu", right)
    expect(naive_hit < right_hit - 0.02, tried=tried + " (replayed on a real redis-server)",
           wrong=f"the naive plan hit {naive_hit:.3f} and the sizing from MEMORY USAGE {right_hit:.3f}: too close "
                 "to call it broken.",
           hint="Pick a cluster whose values are small beside the server's per-entry overhead.")
    short_replay = (f" (both below the simulated steady state: {REQUESTS:,} requests do not fully warm a cache of "
                    f"{needed:,} entries)" if right_hit < TARGET - BREAK_MARGIN else "")
    return (summary + f". Replayed on redis-server: {naive_hit:.3f} with the naive {naive:.3f} MB against "
            f"{right_hit:.3f} with {right:.3f} MB sized from MEMORY USAGE ({measured_bytes} B per entry), of the reads a "
            f"cache could serve{short_replay}.")


# -- exercise 4 -------------------------------------------------------------------------------

PLAN_CLUSTER = "cluster4"
PLAN_KEYS = 5_000
PLAN_REQUESTS = 6_000
PLAN_TARGET = 0.8  # of the reads a cache could serve (all but each key's first request)
PLAN_BUDGET_MB = 1.0
POLICY_HINTS = {
    "noeviction": "noeviction refuses every fill once full, and this workload's writes delete keys: the room a "
                  "write frees goes to whatever misses next, usually a tail key, and the popular key's refill is "
                  "refused from then on. Choose a policy that evicts.",
    "volatile-ttl": "volatile-ttl evicts the key closest to expiry, here a 1-minute key whether it is hot or not (TTLs "
                    "and popularity are unrelated in this workload). Choose a policy that follows the reads.",
    "allkeys-lru": "LRU keeps what was read recently; under a steady popularity the policy that counts reads keeps "
                   "the popular keys better.",
    "allkeys-lfu": "LFU is the right idea; give it the whole budget.",
}


def plan_requests():
    """The stream exercise 4 replays: shaped like cluster4 (short TTLs, 7% writes that delete)."""
    return workload_for(PLAN_CLUSTER, keys=PLAN_KEYS).requests(count=PLAN_REQUESTS)


@exercise("Exercise 4 · Choose the policy and the memory, checked on a real Redis")
def check_policy_plan(plan, *, cache=None):
    from ...experiments.eviction import POLICIES

    tried = f"your plan for {PLAN_CLUSTER}'s stream: {short(plan)}"
    if plan in (None, Ellipsis):
        raise CheckFailed(tried, f"{NOT_ANSWERED}.", 'Set plan = {"policy": "...", "memory_mb": ...} and run this '
                          "check again.")
    expect(isinstance(plan, dict) and set(plan) == {"policy", "memory_mb"}, tried=tried,
           wrong="the plan is not a dict with exactly the keys 'policy' and 'memory_mb'.",
           hint='plan = {"policy": "allkeys-…", "memory_mb": 0.5}')
    policy, memory = plan["policy"], plan["memory_mb"]
    expect(policy in POLICIES, tried=tried, wrong=f"{policy!r} is not one of the policies {', '.join(POLICIES)}.",
           hint="Spell it as Redis does, e.g. 'allkeys-lru'.")
    expect(isinstance(memory, Real) and not isinstance(memory, bool) and 0 < memory <= PLAN_BUDGET_MB, tried=tried,
           wrong=f"memory_mb is {memory!r}; the budget is more than 0 and at most {PLAN_BUDGET_MB} MB.",
           hint=f"Stay within the budget: {PLAN_BUDGET_MB} MB for entries.")
    requests = plan_requests()
    if not redis_available():
        return _simulated_policy_plan(requests, policy, float(memory), tried)
    with _private_server() as client:
        served = _replay(client, requests, policy, float(memory))
    expect(served >= PLAN_TARGET, tried=tried + " (replayed on a real redis-server)",
           wrong=f"{policy} with {memory:g} MB served {served:.3f} of the reads a cache could serve; the target is "
                 f"{PLAN_TARGET}.", hint=POLICY_HINTS[policy])
    return (f"{policy} with {memory:g} MB served {served:.3f} of the reads a cache could serve on a real redis-server "
            f"(target {PLAN_TARGET}).")


def _simulated_policy_plan(requests, policy: str, memory: float, tried: str) -> str:
    from ...models.miss_ratio import memory_curve_for

    simulated = {"allkeys-lfu": "LFU", "allkeys-lru": "LRU"}
    expect(policy in simulated, tried=tried + " (no redis-server here: simulated)",
           wrong=f"{policy} cannot be simulated here, and in the lecture's real-server run of this cluster it stayed below "
                 "LRU and LFU at every size.",
           hint=POLICY_HINTS[policy])
    per_entry = entry_bytes(requests.value_size)
    curve = memory_curve_for(requests, [memory, PLAN_BUDGET_MB], per_entry)
    reached = float(curve.hit_ratio[simulated[policy]][0])
    best = float(curve.hit_ratio["LFU"][1])
    expect(reached >= best - 0.01, tried=tried + " (no redis-server here: simulated)",
           wrong=f"{policy} with {memory:g} MB simulates at {reached:.3f}; LFU with the whole budget reaches {best:.3f}.",
           hint=POLICY_HINTS[policy])
    return f"{policy} with {memory:g} MB simulates at {reached:.3f} (no redis-server here: the simulator is the replay)."


# -- exercise 5 -------------------------------------------------------------------------------

SHARE_QUESTION = ("MEMORY USAGE says an entry whose value is 224 bytes costs 344 bytes. A cache sized as entries × "
                  "224 bytes holds what share of the entries it was sized for?")


@exercise("Exercise 5 (question) · What a value-size sizing holds")
def check_share_held(answer, *, cache=None):
    return estimate(
        answer,
        question=SHARE_QUESTION,
        answer=224 / 344,
        tolerance=0.02,
        too_low="Each entry takes 344 bytes of the memory that was sized at 224 per entry: divide one by the other.",
        too_high="The memory was sized for 224-byte entries but each takes 344: fewer fit than planned, so the "
                 "share is below 1 by the overhead's share of an entry.",
        why="224/344 ≈ 0.65: a third of the entries planned for do not fit, and on a Zipf curve the lost entries "
            "are the least popular of the planned ones, so the hit ratio drops by less than a third but drops.",
    )


# -- exercise 6 -------------------------------------------------------------------------------

POLICY_QUESTION = ("cluster4's keys carry TTLs from 1 minute to a day, and a key's TTL has nothing to do with how often "
                   "it is read. Which maxmemory-policy is the wrong choice for its cache?")


@exercise("Exercise 6 (question) · The policy that evicts by TTL")
def check_policy_choice(answer, *, cache=None):
    fleet_cluster("cluster4")  # the row the question is about
    return choose(
        answer,
        question=POLICY_QUESTION,
        choices={
            "a": "allkeys-lru",
            "b": "allkeys-lfu",
            "c": "volatile-ttl",
        },
        answer="c",
        wrong={
            "a": "LRU keeps what was read recently, which tracks popularity; it did a little worse than LFU in the "
                 "lecture's run but not badly. Which policy decides by something unrelated to reads?",
            "b": "LFU kept the highest hit ratio in the lecture's cluster4 run. Which policy looks only at the "
                 "expiry time?",
        },
        why="volatile-ttl evicts the key closest to expiry, which for cluster4 is a 1-minute key whether it is hot "
            "or not: in the lecture's run it stayed below both LRU and LFU at every size. It suits a cache only when "
            "the short-TTL keys are also the ones not worth keeping.",
    )


# -- exercise 7 -------------------------------------------------------------------------------

TTL_KEYS = 5_000
TTL_DURATION = 7_200.0  # seconds simulated: two hours, longer than any budget below
TTL_RATE = 100.0  # requests per second, reads and writes together
TTL_LOST = 0.01  # share of the invalidating DELs that never arrive: what makes the TTL the staleness bound
TTL_MEMORY_MB = PLAN_BUDGET_MB  # the replay on a real server: exercise 4's plan, allkeys-lfu with 1 MB
TTL_CASES = (  # (cluster, staleness budget in seconds, hit-ratio target of all reads in the simulation)
    ("cluster4", 1_800.0, 0.82),
    ("cluster52", 600.0, 0.88),
)
HINT_TTLS = ("Return a dict {listed TTL: your TTL in seconds}, one entry per class in workload.classes "
             "(item.ttl is the class's listed TTL), each no longer than the staleness budget and no longer than "
             "the class's own listed TTL.")


def ttl_workload(name: str):
    """The workload exercise 7 gives ``choose_ttls``: shaped like ``name``, two hours at 100 requests/s."""
    return workload_for(name, keys=TTL_KEYS, duration=TTL_DURATION, rate=TTL_RATE)


def simulate_ttls(workload, ttls: dict) -> tuple[float, list]:
    """Each class simulated with its chosen TTL and ``TTL_LOST`` of its invalidations lost:
    (the hit ratio of all reads, [(class, result), …])."""
    from dataclasses import replace

    from ...models.simulator import simulate

    results = [(item, simulate(replace(item.workload, ttl=min(float(ttls[item.ttl]), workload.duration),
                                       lost_invalidations=TTL_LOST)))
               for item in workload.classes]
    reads = sum(result.reads for _item, result in results)
    hits = sum(result.hits for _item, result in results)
    return (hits / reads if reads else 0.0), results


def _as_ttls(given, workload, tried: str) -> tuple[dict, bool]:
    """The learner's answer as {listed TTL: chosen TTL}; True when it was one TTL for every class."""
    listed = [item.ttl for item in workload.classes]
    single = isinstance(given, Real) and not isinstance(given, bool)
    if single:
        given = {ttl: given for ttl in listed}
    expect(isinstance(given, dict), tried=tried, wrong=f"it returned {short(given)}, not a dict of TTLs per class.",
           hint=HINT_TTLS)
    chosen = {}
    for key, value in given.items():
        matches = [ttl for ttl in listed if isinstance(key, Real) and not isinstance(key, bool) and key == ttl]
        expect(bool(matches), tried=tried,
               wrong=f"{short(key)} is not one of this workload's listed TTLs ({', '.join(f'{ttl:g}' for ttl in listed)}).",
               hint="Key the dict by each class's listed TTL, item.ttl for item in workload.classes.")
        expect(isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value) and value > 0,
               tried=tried, wrong=f"the TTL for the {key:g} s class is {short(value)}, not a positive number of seconds.",
               hint="Every cache-aside entry needs an expiry: a positive number of seconds per class.")
        chosen[matches[0]] = float(value)
    missing = [ttl for ttl in listed if ttl not in chosen]
    expect(not missing, tried=tried,
           wrong=f"no TTL for the classes listed at {', '.join(fleet_duration(ttl) for ttl in missing)}.",
           hint="Give every class in workload.classes a TTL, even the small ones.")
    return chosen, single


def fleet_duration(seconds: float) -> str:
    from ...data import fleet

    return fleet.duration_text(seconds)


@exercise("Exercise 7 (design) · TTLs per class under a staleness budget")
def check_ttl_choice(choose_ttls, *, cache=None):
    lines = []
    plans = {}
    for name, budget, target in TTL_CASES:
        workload = ttl_workload(name)
        tried = f"choose_ttls(ttl_workload({name!r}), staleness_budget_s={budget:g}, target={target})"
        given = attempt(choose_ttls, workload, budget, target, tried=tried, hint=HINT_TTLS)
        ttls, single = _as_ttls(given, workload, tried)
        for item in workload.classes:
            chosen = ttls[item.ttl]
            expect(chosen <= budget + 1e-9, tried=tried,
                   wrong=f"the {fleet_duration(item.ttl)} class gets {chosen:g} s, {chosen - budget:g} s above the "
                         f"staleness budget of {budget:g} s: when its DEL is lost, an entry is served stale until it "
                         f"expires, up to {chosen:g} s.",
                   hint="The TTL is the only bound on how long a lost invalidation leaves an entry stale: cap every "
                        "class at the budget, however long the production team's TTL was.")
            expect(chosen <= item.ttl + 1e-9, tried=tried,
                   wrong=(("one TTL for every class ignores the TTL classes: " if single else "")
                          + f"the {fleet_duration(item.ttl)} class ({item.share:.0%} of the keys) gets {chosen:g} s, "
                            f"{chosen / item.ttl:.3g}× the TTL its application sets, so its entries outlive the data "
                            "they hold."),
                   hint="A class's listed TTL is the longest its application allows (a 1-minute rate limit cannot "
                        "be cached for 30 minutes): each class needs its own TTL, no longer than the budget or its own.")
        reached, results = simulate_ttls(workload, ttls)
        if reached < target:
            slack = [f"{fleet_duration(item.ttl)} class at {ttls[item.ttl]:g} s (allowed {min(item.ttl, budget):g} s, "
                     f"hit ratio {result.hit_ratio:.3f})"
                     for item, result in results if ttls[item.ttl] < min(item.ttl, budget) - 1e-9]
            raise CheckFailed(
                tried,
                f"the simulated hit ratio is {reached:.3f}, {target - reached:.3f} below the target {target}"
                + (f"; shorter than allowed: {'; '.join(slack)}." if slack else "."),
                "Every expiry is a miss the target pays for: a TTL shorter than the budget and the class allow buys "
                "freshness the budget did not ask for. Give the classes that carry the reads the longest TTL allowed.")
        worst = max(result.max_staleness_s for _item, result in results)
        lines.append(f"{name}: hit ratio {reached:.3f} (target {target}), worst stale read {worst:.0f} s "
                     f"(budget {budget:g} s, {TTL_LOST:.0%} of DELs lost)")
        plans[name] = (ttls, budget)
    ttls, budget = plans[PLAN_CLUSTER]
    summary = "; ".join(lines) + ". " + _ttls_on_cache(cache, ttls, budget)
    return summary + _ttls_replayed(ttls, budget)


def _ttls_on_cache(cache, ttls: dict, budget: float) -> str:
    """One entry per class written with its TTL on the course's cache, and its PTTL read back."""
    from .setups import empty_namespace

    cache = empty_namespace(cache, LAB)
    keys = [product_key(index) for index in range(len(ttls))]
    try:
        for key, ttl in zip(keys, ttls.values()):
            cache.set(key, "x", px=max(1, int(round(ttl * 1000))))
        longest = max(int(cache.pttl(key)) for key in keys)
    finally:
        cache.delete(*keys)
    expect(0 < longest <= budget * 1000, tried=f"{PLAN_CLUSTER}'s TTLs written to the cache",
           wrong=f"the cache reports an entry expiring in {longest} ms, beyond the budget of {budget:g} s.",
           hint="Pass each TTL to SET as PX in milliseconds (seconds × 1000).")
    return f"On the cache, {PLAN_CLUSTER}'s longest entry expires in {longest / 1000:.0f} s (PTTL)."


def _ttls_replayed(ttls: dict, budget: float) -> str:
    """With a redis-server: exercise 4's stream with these TTLs, allkeys-lfu and 1 MB, then every
    cached entry's PTTL."""
    from dataclasses import replace

    if not redis_available():
        return " (no redis-server here: checked with the simulator and the cache only.)"
    requests = plan_requests()
    mapped = np.array([ttls[float(ttl)] for ttl in requests.ttl_of_key.tolist()])
    requests = replace(requests, ttl_of_key=mapped)
    with _private_server() as client:
        served = _replay(client, requests, "allkeys-lfu", TTL_MEMORY_MB)
        pattern = f"{glob_escape(root_namespace())}{LAB}-evict:*"
        found = list(client.scan_iter(match=pattern, count=5000))
        pipe = client.pipeline(transaction=False)
        for key in found:
            pipe.pttl(key)
        longest = max((int(value) for value in pipe.execute()), default=0)
    expect(longest <= budget * 1000, tried=f"{PLAN_CLUSTER}'s stream replayed with your TTLs on a real redis-server",
           wrong=f"an entry expires in {longest} ms, beyond the budget of {budget:g} s.", hint=HINT_TTLS)
    return (f" Replayed on a real redis-server ({PLAN_REQUESTS:,} requests, allkeys-lfu, {TTL_MEMORY_MB:g} MB): "
            f"{len(found):,} entries cached, the longest expiring in {longest / 1000:.0f} s, and {served:.3f} of the "
            "reads a cache could serve were hits (the run lasts under a second, so no TTL expires in it: the "
            "simulation is where the TTLs cost hits).")
