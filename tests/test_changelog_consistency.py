"""Change-log invalidation and fan-out (lecture 15), and consistency measured in nines (lecture 14)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cacheaside_lab import CacheAside, FaultyCache, ProductDB
from cacheaside_lab.consistency.changelog import (
    CHANGES_TABLE,
    ChangeLogInvalidator,
    FanOut,
    Target,
    install_change_log,
    run_bulk_job,
)
from cacheaside_lab.failure.clock import VirtualClock
from cacheaside_lab.consistency.measure import (
    LossyDeletes,
    Timeline,
    describe_nines,
    interval_rows,
    measure_consistency,
    nines,
    nines_interval,
    read_your_writes,
    share_interval,
)


@pytest.fixture
def db():
    return ProductDB(products=120)


def test_every_write_is_logged_whoever_makes_it(db):
    install_change_log(db)
    install_change_log(db)  # idempotent
    db.update_product(3, stock=1)
    changed = run_bulk_job(db, "update products set price = price + 1, version = version + 1 where id <= ?", [5])
    assert changed == 5
    rows = db._database().execute(f"select product_id, version from {CHANGES_TABLE} order by seq").fetchall()
    assert rows == [(3, 1), (1, 1), (2, 1), (3, 2), (4, 1), (5, 1)]


def test_invalidator_deletes_every_target_and_only_new_changes(cache, db):
    products = CacheAside(cache, db.get_product, prefix="product", ttl=300)
    db.update_product(1, stock=5)  # before the invalidator exists: not replayed
    invalidator = ChangeLogInvalidator(db, [Target(cache, lambda pid: [products.key(pid)])])
    products.get_many(range(1, 11))
    assert invalidator.pending() == 0 and invalidator.poll() == 0
    db.update_product(2, stock=0)
    db.update_product(2, stock=1)
    db.update_product(9, price=1.0)
    assert invalidator.pending() == 3
    assert invalidator.drain() == 3 and invalidator.deleted == 2
    assert [bool(cache.exists(products.key(pid))) for pid in (1, 2, 9)] == [True, False, False]
    invalidator.close()


def test_a_failed_poll_keeps_its_position_and_is_retried(cache, db):
    down = FaultyCache(cache, down=True)
    products = CacheAside(cache, db.get_product, prefix="product", ttl=300)
    invalidator = ChangeLogInvalidator(db, [Target(down, lambda pid: [products.key(pid)])])
    products.get(4)
    db.update_product(4, stock=2)
    assert invalidator.poll() == 0 and invalidator.failed_polls == 1 and invalidator.pending() == 1
    assert cache.exists(products.key(4))
    down.come_back()
    assert invalidator.poll() == 1 and invalidator.pending() == 0
    assert not cache.exists(products.key(4))


def test_invalidator_validates(db):
    with pytest.raises(ValueError, match="at least one Target"):
        ChangeLogInvalidator(db, [])
    with pytest.raises(ValueError, match="batch must be 1 or more"):
        ChangeLogInvalidator(db, [Target(None, lambda pid: [])], batch=0)


def test_fan_out_application_code_misses_what_the_change_log_catches(cache, db):
    fan = FanOut(cache, db, regions=("eu", "us", "ap"), page_size=10)
    ids = range(1, 41)
    assert len(fan.keys_for(42)) == 4 and fan.page_of(42) == 4
    fan.warm(ids)
    assert fan.stale_entries(ids) == {"eu": 0, "us": 0, "ap": 0, "listing pages": 0}
    fan.regions["eu"].update(5, price=1.5)  # the app deletes its own region's key only
    run_bulk_job(db, "update products set stock = 0, version = version + 1 where id between 11 and 15")
    assert fan.stale_entries(ids) == {"eu": 5, "us": 6, "ap": 6, "listing pages": 2}

    fan.clear()
    fan.warm(ids)
    invalidator = ChangeLogInvalidator(db, fan.targets())
    db.update_product(5, price=2.5)
    run_bulk_job(db, "update products set stock = 1, version = version + 1 where id between 11 and 15")
    assert invalidator.drain() == 6
    assert fan.stale_entries(ids) == {"eu": 0, "us": 0, "ap": 0, "listing pages": 0}
    assert fan.clear() > 0


def test_nines():
    assert nines(1, 1_000) == pytest.approx(3)
    assert nines(0, 1_000) == pytest.approx(3)  # the lower bound the sample can show
    assert describe_nines(0, 1_000, 1) == "≥ 3.0 nines within 1 s (0 of 1,000 inconsistent)"
    assert describe_nines(5, 1_000, 0.5).startswith("2.3 nines within 0.5 s")
    with pytest.raises(ValueError, match="inconsistent must be from 0 to 10"):
        nines(11, 10)


def test_timeline_runs_nested_events_in_time_order():
    clock = VirtualClock()
    timeline = Timeline(clock)
    seen = []
    timeline.at(1.0, lambda: (seen.append(("slow starts", clock())), timeline.wait(1.0), seen.append(("slow ends", clock()))))
    timeline.at(1.5, lambda: seen.append(("overtakes", clock())))
    timeline.at(3.0, lambda: seen.append(("later", clock())))
    timeline.run_until(5)
    assert seen == [("slow starts", 1.0), ("overtakes", 1.5), ("slow ends", 2.0), ("later", 3.0)]
    assert clock() == 5


def test_lossy_deletes_drop_a_seeded_share(cache):
    lossy = LossyDeletes(cache, 0.25, seed=2)
    for n in range(400):
        lossy.delete(f"cacheaside-lab-test-nothing-{n}")
    assert 70 < lossy.dropped < 130
    with pytest.raises(ValueError, match="loss_rate must be a fraction"):
        LossyDeletes(cache, 1.5)


SMALL = dict(keys=10, read_rate=20, write_rate=10, duration=20, delays=(0.05, 2.0, 40.0))


def test_measurement_is_reproducible_on_both_backends(cache, db):
    first = measure_consistency(cache, db, "lossy-delete", seed=5, **SMALL)
    second = measure_consistency(cache, db, "lossy-delete", seed=5, **SMALL)
    assert first.inconsistent == second.inconsistent and first.samples == second.samples > 100


def test_paths_behave_as_their_mechanisms_say(cache, db):
    results = {path: measure_consistency(cache, db, path, seed=2, **SMALL)
               for path in ("delete", "lossy-delete", "change-log")}
    delete, lossy, log = results["delete"], results["lossy-delete"], results["change-log"]
    # the change log is inconsistent until its next poll (every second), then caught up
    assert log.inconsistent[0.05] > log.samples / 3 and log.inconsistent[2.0] <= delete.inconsistent[0.05] + 2
    # lost deletes stay visible for seconds; delete-on-write only misses to the (rare) fill race
    assert lossy.details["dropped deletes"] > 0 and lossy.inconsistent[2.0] > delete.inconsistent[2.0]
    # past the TTL (30 s) everything has healed
    assert all(result.inconsistent[40.0] == 0 for result in results.values())
    assert math.isclose(delete.nines(40.0), math.log10(delete.samples))
    assert delete.row()[0] == "delete" and delete.row()[-1].startswith("≥")


def test_update_on_write_races_between_writers(cache, db):
    # one key, no fill race (fill_gap_ms=0), a slow commit-to-cache gap: with update-on-write an older
    # SET can land after a newer one and stay; a delete cannot leave anything older behind
    options = dict(keys=1, read_rate=5, write_rate=2, duration=30, write_gap_ms=400, fill_gap_ms=0,
                   delays=(2.0,), ttl=300, seed=1)
    update = measure_consistency(cache, db, "update", **options)
    delete = measure_consistency(cache, db, "delete", **options)
    assert update.inconsistent[2.0] > 0 and delete.inconsistent[2.0] == 0


def test_measurement_validates(cache, db):
    with pytest.raises(ValueError, match="unknown path"):
        measure_consistency(cache, db, "carrier-pigeon")
    with pytest.raises(ValueError, match="delays must be one or more positive"):
        measure_consistency(cache, db, "delete", delays=(0,))


def test_read_your_writes_marker_closes_the_gap_for_the_writer(cache, db):
    without = read_your_writes(cache, db, pairs=20, poll_interval=1.0, read_after=0.2)
    marked = read_your_writes(cache, db, pairs=20, poll_interval=1.0, read_after=0.2, marker=True)
    assert without["stale_read_backs"] > 10 and marked["stale_read_backs"] == 0
    assert marked["db_reads"] == 20 > without["db_reads"]


def test_the_measurement_replays_the_shared_workload(cache, db):
    # the reads and writes are the course's one request stream (models.workload), drawn as before
    from cacheaside_lab.models.workload import request_stream

    result = measure_consistency(cache, db, "delete", keys=10, read_rate=20, write_rate=10, duration=20,
                                 fill_gap_ms=5, delays=(1.0,), seed=3)
    stream = request_stream(np.random.default_rng(3), rates={"read": 20, "write": 10}, duration=20, keys=10,
                            uniform=("read", "write"), draw_order="counts first")
    assert (result.reads, result.writes) == (stream.count("read"), stream.count("write"))
    assert result.samples == result.writes  # sample_rate 1: every write is probed


def test_share_interval_is_the_exact_binomial_interval():
    low, high = share_interval(0, 1_000)
    assert low == 0 and high == pytest.approx(1 - 0.025 ** (1 / 1_000), rel=1e-6)  # 0.0037, about 3.7 / n
    low, high = share_interval(13, 2_970)
    assert low < 13 / 2_970 < high and high - low < 0.006
    # the bounds are where the binomial tails are 2.5%: check one against a direct sum
    k, n = 5, 200
    tail = sum(math.comb(n, i) * high_i ** i * (1 - high_i) ** (n - i)
               for high_i in [share_interval(k, n)[1]] for i in range(k + 1))
    assert tail == pytest.approx(0.025, abs=1e-6)
    assert share_interval(5, 5) == (pytest.approx(0.025 ** (1 / 5)), 1.0)
    assert share_interval(10, 100, confidence=0.5)[1] < share_interval(10, 100)[1]  # narrower at lower confidence


def test_nines_interval_has_no_upper_end_for_a_clean_sample():
    low, high = nines_interval(0, 1_539)
    assert math.isinf(high) and low == pytest.approx(2.62, abs=0.01)
    low, high = nines_interval(7, 1_539)
    assert low < nines(7, 1_539) < high


@pytest.mark.parametrize("arguments, error, message", [
    ((1, 0), ValueError, "samples must be"),
    ((3, 2), ValueError, "inconsistent must be from 0 to 2"),
    ((1, 10, 1.0), ValueError, "confidence must be"),
    ((1, 10, 0), ValueError, "confidence must be above 0"),
])
def test_share_interval_validates(arguments, error, message):
    with pytest.raises(error, match=message):
        share_interval(*arguments)


def test_interval_rows_compare_paths_at_one_delay(cache, db):
    results = [measure_consistency(cache, db, path, seed=2, **SMALL) for path in ("delete", "change-log")]
    rows, headers = interval_rows(results, 0.05)
    assert headers == ["path", "inconsistent within 0.05 s", "nines", "95% interval (nines)"]
    assert [row[0] for row in rows] == ["delete", "change-log"]
    assert rows[1][1] == f"{results[1].inconsistent[0.05]:,} of {results[1].samples:,}"
    clean = interval_rows(results, 40.0)[0]
    assert all(row[2].startswith("≥") and row[3].endswith("to ∞") for row in clean)  # past the TTL, none
    low, high = results[0].interval(0.05)
    assert low <= results[0].nines(0.05) <= high


def test_a_trace_records_one_products_story_without_changing_the_measurement(cache, db):
    plain = measure_consistency(cache, db, "lossy-delete", seed=5, **SMALL)
    traced = measure_consistency(cache, db, "lossy-delete", seed=5, trace=3, **SMALL)
    assert traced.inconsistent == plain.inconsistent and "trace" not in plain.details
    story = traced.details["trace"]
    kinds = {event["event"] for event in story}
    assert {"write", "set", "probe"} <= kinds and kinds <= {"write", "set", "delete", "delete lost", "probe"}
    assert [event["t"] for event in story] == sorted(event["t"] for event in story)
    writes = [event for event in story if event["event"] == "write"]
    assert len([event for event in story if event["event"] == "probe"]) == len(writes) * len(SMALL["delays"])
    with pytest.raises(ValueError, match="trace must be"):
        measure_consistency(cache, db, "delete", trace=11, **SMALL)  # SMALL has 10 products


def test_read_your_writes_trace_says_where_each_read_back_was_answered(cache, db):
    plain = read_your_writes(cache, db, pairs=10, poll_interval=1.0, read_after=0.2)
    traced = read_your_writes(cache, db, pairs=10, poll_interval=1.0, read_after=0.2, trace=True)
    assert {k: traced[k] for k in plain} == plain and "trace" not in plain
    story = traced["trace"]
    assert len(story) == 10 and traced["polls"][:3] == [1.0, 2.0, 3.0]
    assert sum(event["stale"] for event in story) == traced["stale_read_backs"]
    for event in story:
        assert event["read_at"] == pytest.approx(event["written_at"] + 0.2)
        polled = any(event["written_at"] < poll <= event["read_at"] for poll in traced["polls"])
        assert event["source"] == ("database (miss)" if polled else "cache") and event["stale"] == (not polled)
    marked = read_your_writes(cache, db, pairs=10, poll_interval=1.0, read_after=0.2, marker=True, trace=True)
    assert {event["source"] for event in marked["trace"]} == {"database (marker)"}
