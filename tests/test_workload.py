"""The one request stream and event loop every replaying experiment uses (models/workload.py)."""

from __future__ import annotations

import numpy as np
import pytest

from cacheaside_lab.models.closed_forms import zipf_weights
from cacheaside_lab.models.workload import DRAW_ORDERS, MAX_REQUESTS, replay, request_stream

RATES = {"read": 1_000.0, "write": 10.0}


def stream(seed=1, **options):
    return request_stream(np.random.default_rng(seed), rates=options.pop("rates", RATES),
                          duration=options.pop("duration", 5.0), keys=options.pop("keys", 100), **options)


@pytest.mark.parametrize("order", DRAW_ORDERS)
def test_the_stream_is_seeded_sorted_and_zipf_shaped(order):
    a, b = stream(draw_order=order), stream(draw_order=order)
    for name in ("times", "kind", "ids", "nth"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.ids, stream(seed=2, draw_order=order).ids)
    assert np.all(np.diff(a.times) >= 0) and 0 <= a.times.min() and a.times.max() < 5.0
    assert 0.005 < a.is_kind("write").mean() < 0.015
    counts = np.bincount(a.ids, minlength=101)
    assert counts[0] == 0 and counts[1] > 5 * counts[10] > 0
    # nth numbers each kind's requests 0 … n-1
    for kind in RATES:
        assert sorted(a.nth[a.is_kind(kind)].tolist()) == list(range(a.count(kind)))


def test_each_draw_order_is_the_sequence_its_experiment_drew_by_hand():
    """The draws the experiments made before the stream existed, written out once more."""
    weights, ids = zipf_weights(100, 1.0), np.arange(1, 101)

    rng = np.random.default_rng(3)  # outage: per kind, times sorted before the products
    n = rng.poisson(1_000 * 5.0)
    read_at = np.sort(rng.uniform(0, 5.0, n))
    read_ids = rng.choice(ids, size=n, p=weights)
    got = stream(seed=3, draw_order="kind by kind, times sorted")
    assert np.array_equal(got.times_of("read"), read_at)
    reads = got.is_kind("read")
    assert np.array_equal(got.ids[reads][np.argsort(got.nth[reads])], read_ids)

    rng = np.random.default_rng(3)  # total miss: counts, times, then every product in one draw
    counts = [rng.poisson(1_000 * 5.0), rng.poisson(10 * 5.0)]
    times = np.concatenate([rng.uniform(0, 5.0, c) for c in counts])
    every = rng.choice(ids, size=sum(counts), p=weights)
    order = np.argsort(times, kind="stable")
    got = stream(seed=3, draw_order="counts, times, products")
    assert np.array_equal(got.times, times[order]) and np.array_equal(got.ids, every[order])

    rng = np.random.default_rng(3)  # splitting: every count, then each kind; prices uniform
    rates = {"read": 50.0, "sale": 5.0, "price": 1.0}
    counts = [rng.poisson(rate * 5.0) for rate in rates.values()]
    drawn = [(rng.uniform(0, 5.0, counts[0]), rng.choice(ids, counts[0], p=weights)),
             (rng.uniform(0, 5.0, counts[1]), rng.choice(ids, counts[1], p=weights)),
             (rng.uniform(0, 5.0, counts[2]), rng.choice(ids, counts[2]))]
    got = stream(seed=3, rates=rates, uniform=("price",), draw_order="counts first")
    assert np.array_equal(got.times_of("price"), drawn[2][0])
    prices = got.is_kind("price")
    assert np.array_equal(got.ids[prices][np.argsort(got.nth[prices])], drawn[2][1])


def test_replay_runs_scheduled_events_before_requests_at_the_same_instant_and_moves_the_clock():
    s = stream(rates={"read": 20.0, "write": 2.0}, duration=2.0)
    seen, clock = [], []
    first = float(s.times[0])
    scheduled = [(first, lambda t: seen.append(("first", t))), (0.0, lambda t: seen.append(("zero", t))),
                 (first, lambda t: seen.append(("second", t)))]
    replay(s, lambda kind, product, nth, t: seen.append((kind, t)), scheduled=scheduled, set_time=clock.append)
    assert seen[:4] == [("zero", 0.0), ("first", first), ("second", first), (s.kinds[s.kind[0]], first)]
    assert len(seen) == s.times.size + 3 and clock == sorted(clock) and len(clock) == len(seen)


def test_bad_arguments_say_what_is_allowed():
    rng = np.random.default_rng(0)
    with pytest.raises(TypeError, match="rng must be a numpy Generator"):
        request_stream(0, rates=RATES, duration=1, keys=10)
    with pytest.raises(ValueError, match="rates must name at least one kind"):
        request_stream(rng, rates={}, duration=1, keys=10)
    with pytest.raises(ValueError, match=r"rates\['write'\] must be 0 or more"):
        request_stream(rng, rates={"read": 1, "write": -1}, duration=1, keys=10)
    with pytest.raises(ValueError, match="draw_order"):
        request_stream(rng, rates=RATES, duration=1, keys=10, draw_order="random")
    with pytest.raises(ValueError, match="uniform"):
        request_stream(rng, rates=RATES, duration=1, keys=10, uniform=("sale",))
    with pytest.raises(ValueError, match=f"at most {MAX_REQUESTS:,} are allowed"):
        request_stream(rng, rates={"read": 1e9}, duration=10, keys=10)


def test_per_request_values_are_drawn_right_before_their_kinds_times():
    # consistency.measure drew, by hand: both counts, the reads' times and products, the writes'
    # new stock levels, then the writes' times and products
    by_hand = np.random.default_rng(4)
    n_reads, n_writes = by_hand.poisson(20 * 30), by_hand.poisson(10 * 30)
    read_times, read_ids = by_hand.uniform(0, 30, n_reads), by_hand.integers(1, 21, n_reads)
    stock = by_hand.integers(0, 500, n_writes)
    write_times, write_ids = by_hand.uniform(0, 30, n_writes), by_hand.integers(1, 21, n_writes)

    rng = np.random.default_rng(4)
    stream = request_stream(rng, rates={"read": 20, "write": 10}, duration=30, keys=20, uniform=("read", "write"),
                            draw_order="counts first", per_request={"write": lambda g, n: g.integers(0, 500, n)})
    assert (stream.count("read"), stream.count("write")) == (n_reads, n_writes)
    assert np.array_equal(stream.values["write"], stock)
    assert np.array_equal(stream.times_of("read"), read_times) and np.array_equal(stream.times_of("write"), write_times)
    writes = stream.is_kind("write")
    assert np.array_equal(stream.ids[writes], write_ids[stream.nth[writes]])
    assert np.array_equal(stream.ids[~writes], read_ids[stream.nth[~writes]])
    assert rng.random() == by_hand.random()  # what the experiment draws next is where it was


def test_per_request_must_name_a_kind_and_be_a_function():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="unknown per_request 'sale'"):
        request_stream(rng, rates={"read": 1}, duration=1, keys=1, per_request={"sale": lambda g, n: g.random(n)})
    with pytest.raises(TypeError, match=r"per_request\['read'\] must be a function"):
        request_stream(rng, rates={"read": 1}, duration=1, keys=1, per_request={"read": 3})
