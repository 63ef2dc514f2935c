"""The simulator: request by request it agrees with a plain loop, and with the real CacheAside.

* ``test_matches_a_plain_loop``: a straightforward per-request implementation of the same model
  (the one a reader would write first) gives exactly the same hits, misses and stale reads on
  random workloads with ties, lost invalidations and warm starts.
* ``test_replays_exactly_like_cache_aside``: the same requests sent to the real ``CacheAside``
  on fakeredis (with the clock under test control) and on a real redis-server (in real time,
  with every request well away from an expiry instant) hit, miss and go stale the same way.
"""

from __future__ import annotations

import time
from collections import defaultdict

import numpy as np
import pytest
import time_machine

from cacheaside_lab import CacheAside
from cacheaside_lab.models import closed_forms as models
from cacheaside_lab.core.keys import clear_course_keys
from cacheaside_lab.models.simulator import TICKS_PER_SECOND, Trace, Workload, replay, simulate
from test_models import cycle_estimate

STRATEGIES = ["ttl-only", "delete", "update"]


def plain_loop(reads, writes, *, ttl, strategy, lost, warm_start):
    """The model, one request at a time. Returns (hit, stale, staleness_s) per read, in input order."""
    tick = lambda t: round(t * TICKS_PER_SECOND) + 1  # noqa: E731 - the simulator's clock
    ttl_ticks = round(ttl * TICKS_PER_SECOND)
    events = [(tick(t), 0, i, key) for i, (t, key) in enumerate(reads)]
    events += [(tick(t), 1, j, key) for j, (t, key) in enumerate(writes)]
    events.sort()  # by time; at the same tick reads first; then in the order given
    keys = {key for _, _, _, key in events}
    entry = {key: (ttl_ticks, 0) for key in keys} if warm_start else {}  # key -> (expires, version)
    version = defaultdict(int)
    written_at = defaultdict(list)
    hit, stale, staleness = [None] * len(reads), [None] * len(reads), [0.0] * len(reads)
    for now, kind, index, key in events:
        if kind == 0:
            cached = entry.get(key)
            if cached is not None and now <= cached[0]:
                hit[index] = True
                stale[index] = cached[1] < version[key]
                if stale[index]:
                    staleness[index] = (now - written_at[key][cached[1]]) / TICKS_PER_SECOND
            else:
                hit[index], stale[index] = False, False
                entry[key] = (now + ttl_ticks, version[key])
        else:
            version[key] += 1
            written_at[key].append(now)
            if lost[index] or strategy == "ttl-only":
                continue
            if strategy == "delete":
                entry.pop(key, None)
            else:
                entry[key] = (now + ttl_ticks, version[key])
    return np.array(hit), np.array(stale), np.array(staleness)


def random_requests(seed, *, reads=300, writes=60, keys=3, horizon=60, step=0.1):
    """Requests on a coarse grid of times, so that many of them share an instant (ties)."""
    rng = np.random.default_rng(seed)
    read_list = [(float(rng.integers(horizon) * step), int(rng.integers(keys))) for _ in range(reads)]
    write_list = [(float(rng.integers(horizon) * step), int(rng.integers(keys))) for _ in range(writes)]
    lost = (rng.random(writes) < 0.3).tolist()
    return read_list, write_list, lost


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("warm_start", [False, True])
@pytest.mark.parametrize("seed", range(4))
def test_matches_a_plain_loop(strategy, warm_start, seed):
    reads, writes, lost = random_requests(seed)
    for ttl in (0.3, 1.0):
        result = replay(reads, writes, ttl=ttl, strategy=strategy, lost=lost, warm_start=warm_start)
        hit, stale, staleness = plain_loop(reads, writes, ttl=ttl, strategy=strategy, lost=lost, warm_start=warm_start)
        assert result.trace.hit.tolist() == hit.tolist()
        assert result.trace.stale.tolist() == stale.tolist()
        assert np.allclose(result.trace.staleness_s, staleness)
        assert result.hits == hit.sum() and result.stale_reads == stale.sum()
        assert result.misses + result.hits == len(reads)


# -- against the real CacheAside --------------------------------------------------------------


class VersionedDB:
    """A source of truth that only counts versions: a read returns the key's current version."""

    def __init__(self):
        self.version = defaultdict(int)

    def load(self, key):
        return {"id": key, "version": self.version[key]}

    def write(self, key, **fields):
        self.version[key] += 1
        return self.load(key)


def through_cache_aside(cache, reads, writes, lost, *, ttl, warm_start, wait_until):
    """Send the requests to three real CacheAsides at once (one per write strategy).

    Returns {strategy: (hit flags, stale flags)} per read, in input order.
    """
    events = sorted([(t, 0, i, key) for i, (t, key) in enumerate(reads)]
                    + [(t, 1, j, key) for j, (t, key) in enumerate(writes)])
    layers = {}
    for strategy in STRATEGIES:
        db = VersionedDB()
        layers[strategy] = (db, CacheAside(cache, db.load, prefix=f"sim-{strategy}", ttl=ttl,
                                           writer=db.write, write_strategy=strategy))
    if warm_start:
        for db, layer in layers.values():
            for key in {key for _, key in reads + writes}:
                layer.set(key, db.load(key))
    seen = {strategy: ([None] * len(reads), [None] * len(reads)) for strategy in STRATEGIES}
    for at, kind, index, key in events:
        wait_until(at)
        for strategy, (db, layer) in layers.items():
            if kind == 1:
                if lost[index]:
                    db.write(key)  # the database changed; the DEL or SET never reached the cache
                else:
                    layer.update(key, stock=index)
                continue
            misses = layer.stats.misses
            value = layer.get(key)
            seen[strategy][0][index] = layer.stats.misses == misses
            seen[strategy][1][index] = value["version"] < db.version[key]
    return seen


def test_replays_exactly_like_cache_aside(cache, backend):
    if backend.name == "fakeredis":
        # a controlled clock: requests on a 2 ms grid and a TTL of 999 ms, so no request ever
        # falls on the instant an entry expires, where a millisecond clock could round either way
        reads, writes, lost = random_requests(11, reads=250, writes=40, horizon=3000, step=0.002)
        ttl, warm_start = 0.999, True
        start = 1_800_000_000.0
        with time_machine.travel(start, tick=False) as traveller:
            seen = through_cache_aside(cache, reads, writes, lost, ttl=ttl, warm_start=warm_start,
                                       wait_until=lambda at: traveller.move_to(start + at))
    else:
        # a real server keeps its own clock: real time, requests on a 250 ms grid and a TTL of
        # 625 ms, so every request is at least 125 ms away from any expiry instant. A run where
        # the machine stalled long enough to break that margin proves nothing either way, so it
        # is repeated (a stall is measured, not guessed); only a run that kept time is compared.
        reads, writes, lost = random_requests(31, reads=18, writes=6, keys=2, horizon=24, step=0.25)
        ttl, warm_start = 0.625, False
        for _attempt in range(3):
            clear_course_keys(cache)
            start = time.monotonic() + 0.05
            lateness = [0.0]

            def wait_until(at, start=start, lateness=lateness):
                lateness[0] = max(lateness[0], time.monotonic() - (start + at))  # the previous event's overrun
                time.sleep(max(0.0, start + at - time.monotonic()))

            seen = through_cache_aside(cache, reads, writes, lost, ttl=ttl, warm_start=warm_start,
                                       wait_until=wait_until)
            if lateness[0] < 0.1:
                break
        else:
            pytest.fail(f"the machine stalled {lateness[0] * 1000:.0f} ms in three runs out of three")
    for strategy in STRATEGIES:
        result = replay(reads, writes, ttl=ttl, strategy=strategy, lost=lost, warm_start=warm_start)
        hits, stale = seen[strategy]
        assert result.trace.hit.tolist() == hits, strategy
        assert result.trace.stale.tolist() == stale, strategy
    # the workload exercised what it should: hits, expiries, invalidations and stale reads
    ttl_only = replay(reads, writes, ttl=ttl, strategy="ttl-only", lost=lost, warm_start=warm_start)
    delete = replay(reads, writes, ttl=ttl, strategy="delete", lost=lost, warm_start=warm_start)
    assert ttl_only.hits and ttl_only.misses and ttl_only.stale_reads
    assert delete.misses > ttl_only.misses and 0 < delete.stale_reads < ttl_only.stale_reads


# -- behaviour of simulate() --------------------------------------------------------------------


def test_expiry_instant_follows_redis():
    """An entry filled at t with TTL T still answers at exactly t + T, and not a microsecond later."""
    at_expiry = replay([(0.0, 0), (2.0, 0)], ttl=2.0, strategy="ttl-only")
    after = replay([(0.0, 0), (2.000001, 0)], ttl=2.0, strategy="ttl-only")
    assert at_expiry.trace.hit.tolist() == [False, True]
    assert after.trace.hit.tolist() == [False, False]


def test_a_read_and_a_write_at_the_same_instant_read_first():
    result = replay([(0.0, 0), (1.0, 0), (1.000001, 0)], [(1.0, 0)], ttl=10, strategy="delete")
    assert result.trace.hit.tolist() == [False, True, False]


def test_the_same_seed_gives_the_same_run():
    workload = Workload(read_rate=500, write_rate=20, ttl=5, duration=60, keys=50, zipf=1.1, ttl_jitter=0.2,
                        lost_invalidations=0.1, strategy="delete", seed=4)
    first, second = simulate(workload), simulate(workload)
    assert first.to_dict() | {"elapsed_s": 0} == second.to_dict() | {"elapsed_s": 0}
    assert simulate(workload, seed=5).hits != first.hits


def test_keywords_override_a_workload():
    workload = Workload(read_rate=100, write_rate=1, ttl=5, duration=10)
    assert simulate(workload, strategy="ttl-only").workload.strategy == "ttl-only"


def test_many_batches_give_the_same_answer_as_one(monkeypatch):
    """Keys are played in batches; splitting the same requests differently changes nothing."""
    from cacheaside_lab.models import simulator

    reads, writes, lost = random_requests(3, reads=2000, writes=300, keys=40, horizon=400, step=0.05)
    whole = replay(reads, writes, ttl=1.0, strategy="delete", lost=lost)
    for key in range(40):
        mine = [i for i, (_, k) in enumerate(reads) if k == key]
        their_writes = [j for j, (_, k) in enumerate(writes) if k == key]
        alone = replay([(reads[i][0], 0) for i in mine], [(writes[j][0], 0) for j in their_writes],
                       ttl=1.0, strategy="delete", lost=[lost[j] for j in their_writes])
        assert alone.trace.hit.tolist() == whole.trace.hit[mine].tolist()
        assert alone.trace.stale.tolist() == whole.trace.stale[mine].tolist()
    monkeypatch.setattr(simulator, "BATCH", 1000)
    small = simulate(read_rate=2000, write_rate=100, ttl=2, duration=30, keys=300, zipf=0.8, seed=1)
    assert small.reads + small.writes > 20 * 1000  # it really ran in many batches
    assert small.hits + small.misses == small.reads


def test_jitter_spreads_ttls_uniformly_below_the_ttl():
    """With reads every few microseconds, a key's misses are one (jittered) TTL apart."""
    result = simulate(read_rate=20_000, write_rate=0, ttl=0.1, duration=30, strategy="ttl-only",
                      ttl_jitter=0.4, seed=2, trace=True)
    fills = np.sort(result.trace.time_s[~result.trace.hit])
    lifetimes = np.diff(fills)
    gap = 5 / 20_000  # the wait for the next read after an expiry is almost never longer
    assert lifetimes.min() >= 0.06 - 1e-6 and lifetimes.max() <= 0.1 + gap
    # uniform on [0.06, 0.1]: the share below each decile is what it should be, within sampling error
    n = lifetimes.size
    for q in np.linspace(0.1, 0.9, 9):
        share = np.mean(lifetimes <= 0.06 + 0.04 * q + 1 / 20_000)
        assert abs(share - q) <= 5 * np.sqrt(q * (1 - q) / n) + 1 / 80


def test_jitter_breaks_up_synchronized_expiry():
    """Warm every key at once: without jitter they all expire together and the database sees a spike."""
    common = dict(read_rate=5000, write_rate=0, ttl=60, duration=200, keys=5000, zipf=0, warm_start=True,
                  strategy="ttl-only", seed=1, trace=True)
    peaks = {}
    for jitter in (0.0, 0.2):
        result = simulate(ttl_jitter=jitter, **common)
        _, per_second = result.trace.per_second(result.trace.db_read_times(), 200)
        peaks[jitter] = per_second[1:].max()  # after the warming second
    assert peaks[0.0] > 5 * peaks[0.2]


def test_warm_start_counts_the_warming_loads_as_database_reads():
    result = simulate(read_rate=10, write_rate=0, ttl=1000, duration=10, keys=20, warm_start=True)
    assert result.misses == 0 and result.db_reads == 20


def test_latency_accounting():
    result = simulate(read_rate=100, write_rate=10, ttl=30, duration=100, strategy="delete",
                      cache_latency_ms=1, db_latency_ms=10)
    read_time = result.hits * 1 + result.misses * 12
    assert result.mean_read_latency_ms == pytest.approx(read_time / result.reads)
    assert result.mean_latency_ms == pytest.approx((read_time + result.writes * 11) / result.requests)
    assert result.latency_without_cache_ms == 10


@pytest.mark.parametrize("bad, message", [
    (dict(keys=0), "keys must be 1 or more"),
    (dict(read_rate=-5), "read_rate must be greater than 0"),
    (dict(write_rate=-1), "write_rate must be 0 or more"),
    (dict(ttl=0), "ttl must be greater than 0"),
    (dict(ttl=-3), "ttl must be greater than 0"),
    (dict(zipf=-1), "zipf must be 0 or more"),
    (dict(strategy="write-around"), "unknown strategy"),
    (dict(ttl_jitter=1.0), "ttl_jitter must be a fraction"),
    (dict(duration=1e9), "at most"),
])
def test_bad_workloads_are_refused_with_a_reason(bad, message):
    with pytest.raises(ValueError, match=message):
        Workload(**(dict(read_rate=10, write_rate=1, ttl=5, duration=10) | bad))


def test_replay_checks_its_input():
    with pytest.raises(ValueError, match="one flag per write"):
        replay([(0, 0)], [(1, 0)], ttl=1, lost=[True, False])
    with pytest.raises(ValueError, match="pairs"):
        replay([(-1, 0)], ttl=1)


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("warm_start", [False, True])
def test_a_hot_key_played_in_windows_gives_the_same_answer(strategy, warm_start, monkeypatch):
    """A key with more reads than a batch is played window by window, carrying the cached entry over."""
    from cacheaside_lab.models import simulator

    rng = np.random.default_rng(8)
    shift = 30
    reads = np.sort(rng.integers(1, 20_000, 3000))  # one key (key 0): codes are just ticks, many ties
    writes = np.sort(rng.integers(1, 20_000, 400))
    delivered = rng.random(writes.size) > 0.3
    warm = np.zeros(1 if warm_start else 0, np.int64)
    lives = [rng.integers(100, 400, size) for size in (reads.size, writes.size, warm.size)]  # jittered TTLs
    whole = simulator._play(reads, writes, delivered, warm, *lives, shift=shift, strategy=strategy)
    for batch in (3, 7, 500):
        monkeypatch.setattr(simulator, "BATCH", batch)
        windows = simulator._play_in_windows(reads, writes, delivered, warm, *lives, shift=shift, strategy=strategy)
        for expected, got in zip(whole, windows):
            assert got.tolist() == expected.tolist()
    assert whole[0].any() and (~whole[0]).any() and (strategy == "delete" or whole[1].any())


def test_simulate_plays_a_hot_key_in_windows(monkeypatch):
    from cacheaside_lab.models import simulator

    calls = []
    original = simulator._play_in_windows
    monkeypatch.setattr(simulator, "_play_in_windows", lambda *a, **k: calls.append(1) or original(*a, **k))
    monkeypatch.setattr(simulator, "BATCH", 5000)
    result = simulate(read_rate=1000, write_rate=20, ttl=0.5, duration=60, keys=50, zipf=2.0,
                      strategy="update", ttl_jitter=0.2, lost_invalidations=0.1, seed=2, trace=True)
    assert calls  # the hottest key had more than 5,000 reads
    hit_ratio = models.hit_ratio("update", 1000 * models.zipf_weights(50, 2.0)[0], 20 * models.zipf_weights(50, 2.0)[0],
                                 0.5, ttl_jitter=0.2, lost_invalidations=0.1)
    hottest = result.trace.key == 0
    trace = Trace(*(column[hottest] for column in (result.trace.time_s, result.trace.key, result.trace.hit,
                                                   result.trace.stale, result.trace.staleness_s)))
    measured, error = cycle_estimate(trace, trace.hit)
    assert abs(measured - float(hit_ratio)) <= 5 * error


# -- key_history: one key's entries, rebuilt from the replay (lecture 04's timeline) ---------------


def test_key_history_lists_each_entry_and_why_it_ended():
    from cacheaside_lab.models.simulator import key_history

    history = key_history([1, 2, 11, 30, 31, 95], [5, 20], lost=[False, True], ttl=60, duration=100)
    filled = [entry[0] for entry in history.entries]
    assert filled == [1, 11, 95]  # a miss at 1, one after the delivered DEL at 5, one after expiry at 71
    assert [entry[2] for entry in history.entries] == ["delete", "ttl", "end of run"]
    assert np.isnan(history.entries[0][3]) and history.entries[1][3] == 20  # the lost write at 20
    assert history.read_stale.tolist() == [False, False, False, True, True, False]
    assert history.worst_staleness_s() == pytest.approx(11)  # read at 31, outdated since 20


def test_key_history_without_a_ttl_keeps_a_lost_delete_to_the_end():
    from cacheaside_lab.models.simulator import key_history

    history = key_history(np.arange(1, 500, 7.0), [100], lost=[True], ttl=1e6, duration=500)
    assert len(history.entries) == 1 and history.entries[0][2] == "end of run"
    assert history.worst_staleness_s() == pytest.approx(500 - 7 - 100 + 1, abs=7)


@pytest.mark.parametrize("kwargs, message", [
    (dict(read_s=[], ttl=10), "at least one read"),
    (dict(read_s=[1], write_s=[2], lost=[True, False], ttl=10), "one flag per write"),
    (dict(read_s=[1], ttl=10, strategy="update"), "strategy"),
])
def test_key_history_refuses_bad_arguments(kwargs, message):
    from cacheaside_lab.models.simulator import key_history

    with pytest.raises(ValueError, match=message):
        key_history(**kwargs)
