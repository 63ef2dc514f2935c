"""Lab 07's checks reject plausible wrong answers, each with a hint that points at the mistake."""

from __future__ import annotations

import json
import math
import random

import numpy as np
import pytest

from cacheaside_lab.course.checks import CheckFailed
from cacheaside_lab.course.checks.lab07 import (
    JITTER,
    PRODUCTS,
    TTL_SECONDS,
    WARM_SCENARIOS,
    RoundTrips,
    check_breaks_shared_jitter,
    check_hits_and_ttls,
    check_total_miss_load,
    check_warm_set_size,
    check_warming,
    expiries_s,
    fewest_to_warm,
    hottest,
    loads_per_second,
    popularity,
    product_key,
    read_counts,
)

# -- exercise 1 (question) -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer, expected",
    [(300, "too low"), (33, "too low"), (9, "too low"), (30_000, "too high"), ("10000", "not a finite number"),
     (..., "no answer yet")],
)
def test_wrong_total_miss_loads_fail(answer, expected):
    with pytest.raises(CheckFailed) as failure:
        check_total_miss_load(answer)
    assert expected in str(failure.value)


def test_the_total_miss_load_passes(capsys):
    check_total_miss_load(10_000)
    assert "33× the steady load" in capsys.readouterr().out


# -- exercise 2: warming ---------------------------------------------------------------------------


def _warm(*, pick="hottest", pipeline=True, batch_query=True, ttl="per key", encode=json.dumps, result="stored"):
    """A warming routine; each keyword names one way of getting it wrong."""

    def warm_cache(cache, db, counts, top):
        ids = sorted(counts, key=counts.get, reverse=True)[:top] if pick == "hottest" else list(range(1, top + 1))
        rows = db.get_products(ids) if batch_query else {i: db.get_product(i) for i in ids}
        shared = TTL_SECONDS * (1 - JITTER * random.random())
        pipe = cache.pipeline() if pipeline else cache
        for product_id, row in rows.items():
            seconds = {"per key": TTL_SECONDS * (1 - JITTER * random.random()), "none": TTL_SECONDS,
                       "shared": shared, "wide": TTL_SECONDS * (1 - 0.5 * random.random()),
                       "longer": TTL_SECONDS * (1 + JITTER * random.random())}.get(ttl)
            if seconds is None:
                pipe.set(product_key(product_id), encode(row))
            else:
                pipe.set(product_key(product_id), encode(row), px=int(seconds * 1000))
        if pipeline:
            pipe.execute()
        return len(rows) if result == "stored" else None

    return warm_cache


@pytest.mark.parametrize(
    "answer, expected",
    [
        (_warm(pick="lowest ids"), "of the 200 most read products were not cached"),
        (_warm(pipeline=False), "it made 200 round trips to the cache"),
        (_warm(batch_query=False), "it asked the database 200 times"),
        (_warm(ttl="none"), "200 of the 200 warmed products expire in the same second"),
        (_warm(ttl="shared"), "warmed products expire in the same second"),
        (_warm(ttl="wide"), "TTLs are outside 540 to 600 s"),
        (_warm(ttl="longer"), "jitter that lengthens a TTL lets an entry live, and be stale, longer"),
        (_warm(ttl="forever"), "have no TTL, so they never expire"),
        (_warm(encode=str), "is not cached as JSON"),
        (_warm(result="nothing"), "it returned None"),
    ],
    ids=["lowest ids", "no pipeline", "a query per row", "no jitter", "shared jitter", "wide jitter", "longer", "no TTL",
         "not JSON", "returns None"],
)
def test_wrong_warming_routines_fail(answer, expected, cache):
    with pytest.raises(CheckFailed) as failure:
        check_warming(answer, cache=cache)
    message = str(failure.value)
    assert expected in message, message
    assert message.splitlines()[0] == "Exercise 2 · warm the hottest products: not passed yet"


def test_the_reference_warming_passes(cache, capsys):
    check_warming(_warm(), cache=cache)
    assert "1 query and 1 round trip" in capsys.readouterr().out


def test_a_warming_stub_fails_with_not_implemented(cache):
    def warm_cache(cache, db, counts, top):
        raise NotImplementedError("your code here")

    with pytest.raises(CheckFailed, match="still raises NotImplementedError"):
        check_warming(warm_cache, cache=cache)


def test_round_trips_count_commands_and_pipelines(cache):
    trips = RoundTrips(cache)
    trips.set(product_key(1), "x", ex=5)
    with trips.pipeline() as pipe:
        pipe.set(product_key(2), "y", ex=5).set(product_key(3), "z", ex=5)
        pipe.execute()
    assert trips.count == 2
    assert expiries_s(cache, [1, 2, 3, 4]) == {1: 5.0, 2: 5.0, 3: 5.0}
    cache.delete(product_key(1), product_key(2), product_key(3))


def test_read_counts_are_seeded_and_shuffled():
    counts = read_counts()
    assert counts == read_counts() and len(counts) == PRODUCTS
    assert hottest(counts, 5) != [1, 2, 3, 4, 5]


# -- exercise 3 (design): how many to warm ------------------------------------------------------------


def size_ok(shares, read_rate, capacity):
    cold = read_rate * (1 - np.concatenate([[0.0], np.cumsum(shares)]))
    return int(np.argmax(cold <= capacity))


def size_as_if_uniform(shares, read_rate, capacity):
    return max(0, math.ceil(shares.size * (1 - capacity / read_rate)))


def size_one_short(shares, read_rate, capacity):
    return max(0, size_ok(shares, read_rate, capacity) - 1)


def size_everything(shares, read_rate, capacity):
    return shares.size


def size_as_a_float(shares, read_rate, capacity):
    return float(size_ok(shares, read_rate, capacity))


def size_nothing(shares, read_rate, capacity):
    return 0


@pytest.mark.parametrize(
    "answer, expected",
    [
        (size_as_if_uniform, "750 products is more than needed"),
        (size_one_short, "still send 501 queries/s"),
        (size_everything, "more than needed"),
        (size_as_a_float, "Return a whole number"),
        (size_nothing, "still send 2,000 queries/s"),
    ],
    ids=lambda value: getattr(value, "__name__", value),
)
def test_wrong_warm_set_sizes_fail(answer, expected):
    with pytest.raises(CheckFailed) as failure:
        check_warm_set_size(answer)
    assert expected in str(failure.value), str(failure.value)


def test_the_fewest_products_pass(capsys):
    check_warm_set_size(size_ok)
    out = capsys.readouterr().out
    assert "a shop: 1,000 products, Zipf 1: 154" in out and "quiet service: its database takes every read: 0" in out


def test_fewest_to_warm_matches_the_scenarios():
    assert [fewest_to_warm(popularity(shape), rate, cap) for _w, shape, rate, cap in WARM_SCENARIOS] == [154, 3895, 900, 0]


# -- exercise 4 (break it) -----------------------------------------------------------------------------


@pytest.mark.parametrize("answer", [580, 580.5])
def test_the_second_of_the_wave_passes(answer, cache, capsys):
    check_breaks_shared_jitter(answer, cache=cache)
    out = capsys.readouterr().out
    assert "drew its jitter once" in out
    assert "the warmed keys sent the database 221 loads" in out  # the number the solution's prose quotes


@pytest.mark.parametrize(
    "answer, expected",
    [
        (600, "Nothing expires at 600 s exactly"),
        (540, "no more than a quiet second"),
        (581, "You are on the tail of the wave"),
        (0, "products that were never warmed"),
        ("580", "is not a time in the replay"),
        (-1, "is not a time in the replay"),
        (..., "no answer yet"),
    ],
)
def test_wrong_seconds_fail(answer, expected, cache):
    with pytest.raises(CheckFailed) as failure:
        check_breaks_shared_jitter(answer, cache=cache)
    assert expected in str(failure.value), str(failure.value)


def test_the_replay_spreads_what_is_jittered_and_not_what_is_not():
    counts = read_counts()
    top = hottest(counts, 300)
    together = loads_per_second({i: 580.0 for i in top}, counts, only=set(top))
    rng = np.random.default_rng(1)
    spread = loads_per_second({i: float(rng.uniform(540, 600)) for i in top}, counts, only=set(top))
    assert together[580] > 150 and together.sum() == pytest.approx(spread.sum(), rel=0.05)
    assert spread[540:601].max() < 0.2 * together[580]
    everyone = loads_per_second({i: 580.0 for i in top}, counts)
    assert everyone[0] > 100 and everyone.sum() > together.sum()  # the unwarmed products' first misses


# -- exercise 5 (question) -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer, expected",
    [("a", "A GET does not touch the TTL"), ("c", "Eviction is what a full cache does"), ("d", "Both keep TTLs"),
     ("x", "not one of the choices"), (None, "no answer yet")],
)
def test_wrong_answers_on_hits_and_ttls_fail(answer, expected):
    with pytest.raises(CheckFailed) as failure:
        check_hits_and_ttls(answer)
    assert expected in str(failure.value)


def test_hits_do_not_extend_ttls(capsys):
    check_hits_and_ttls("b")
    assert "warmed keys need jitter" in capsys.readouterr().out
