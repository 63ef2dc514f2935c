"""The closed forms: the references' formulas, their limits, and the simulator agreeing with them.

Agreement is tested within sampling error: a read that misses starts a new, independent cycle
(a fresh fill, a fresh TTL, memoryless arrivals after it), so hits per cycle and reads per cycle
are independent samples and the ratio estimator's standard error follows from them
(regenerative method). We allow five standard errors: a correct simulator fails that by chance
about once in two million runs, and a wrong formula off by more than a fraction of a percent fails.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from cacheaside_lab.models import closed_forms as models
from cacheaside_lab.models.simulator import simulate

Z = 5.0  # standard errors allowed

# (read rate λ, write rate w, TTL T): short and long TTLs relative to the gaps between requests
PARAMETERS = [(10.0, 0.5, 2.0), (50.0, 5.0, 0.3), (2.0, 0.1, 10.0), (200.0, 1.0, 0.05)]
STRATEGIES = ["ttl-only", "delete", "update"]


def cycle_estimate(trace, numerator):
    """Ratio estimate and its standard error, from the cycles that start at each miss."""
    cycle = np.cumsum(~trace.hit) - 1  # the first read is always a miss, so cycles start at 0
    reads = np.bincount(cycle)
    counted = np.bincount(cycle, weights=numerator.astype(float))
    ratio = counted.sum() / reads.sum()
    error = math.sqrt(np.sum((counted - ratio * reads) ** 2)) / reads.sum()
    return ratio, error


def one_key(strategy, read_rate, write_rate, ttl, **options):
    duration = 150_000 / read_rate  # about 150,000 reads
    return simulate(read_rate=read_rate, write_rate=write_rate, ttl=ttl, duration=duration,
                    strategy=strategy, seed=7, trace=True, **options)


def test_reference_formulas():
    assert models.ttl_only_hit_ratio(10, 2) == pytest.approx(20 / 21)
    hits = 10 * (1 - math.exp(-0.5 * 2)) / 0.5
    assert models.delete_hits_per_fill(10, 0.5, 2) == pytest.approx(hits)
    assert models.delete_hit_ratio(10, 0.5, 2) == pytest.approx(hits / (1 + hits))
    stale = 10 * (2 - (1 - math.exp(-1)) / 0.5) / 21
    assert models.ttl_only_stale_fraction(10, 0.5, 2) == pytest.approx(stale)
    # the general forms reduce to the references' ones
    assert models.hit_ratio("ttl-only", 10, 0.5, 2) == pytest.approx(20 / 21)
    assert models.hit_ratio("delete", 10, 0.5, 2) == pytest.approx(hits / (1 + hits))
    assert models.stale_read_fraction("ttl-only", 10, 0.5, 2) == pytest.approx(stale)


def test_limits():
    # delete on write: the write rate caps the hit ratio at λ/(λ + w), whatever the TTL
    assert models.delete_hit_ratio(100, 1, 1e6) == pytest.approx(100 / 101)
    # no writes: every strategy is TTL-only
    for strategy in STRATEGIES:
        assert models.hit_ratio(strategy, 5, 0, 3) == pytest.approx(15 / 16)
        assert models.stale_read_fraction(strategy, 5, 0, 3) == 0
    # all invalidations lost: delete behaves like ttl-only
    assert models.hit_ratio("delete", 5, 1, 3, lost_invalidations=1) == pytest.approx(15 / 16)
    assert models.stale_read_fraction("delete", 5, 1, 3, lost_invalidations=1) == pytest.approx(
        models.ttl_only_stale_fraction(5, 1, 3)
    )
    # update keeps a frequently written key warm: its hit ratio tends to 1 with the TTL
    assert models.hit_ratio("update", 1, 10, 5) > 0.999


@pytest.mark.parametrize("jitter", [0.0, 0.1])
def test_update_stays_finite_when_a_key_practically_never_expires(jitter):
    # Writes every second and a TTL of 10^4 s: P(no write for a whole TTL) = e^(-10^4) underflows
    # to 0. Notebook 05's widget reaches this corner (ratio 1, TTL slider at its maximum).
    with np.errstate(divide="raise", over="raise", invalid="raise"):  # underflow to 0 is the point
        assert models.hit_ratio("update", [1.0, 2.0], 1.0, 1e4, ttl_jitter=jitter) == pytest.approx([1, 1])
        stale = models.stale_read_fraction("update", 1.0, 1.0, 1e4, ttl_jitter=jitter, lost_invalidations=0.01)
    assert stale == pytest.approx(0.01, rel=0.01)  # only the lost SETs leave an old copy behind


def test_zipf_weights():
    uniform = models.zipf_weights(4, 0)
    assert np.allclose(uniform, 0.25)
    skewed = models.zipf_weights(3, 1)
    assert np.allclose(skewed, np.array([1, 1 / 2, 1 / 3]) / (11 / 6))
    assert models.zipf_weights(1, 2.0).tolist() == [1.0]


def test_catalogue_sums_the_per_key_forms():
    expected = models.expected_results(keys=3, zipf=1, read_rate=60, write_rate=6, ttl=2, strategy="delete")
    weights = models.zipf_weights(3, 1)
    per_key = [models.delete_hit_ratio(60 * p, 6 * p, 2) for p in weights]
    assert expected["hit_ratio"] == pytest.approx(float(np.dot(weights, per_key)))
    assert expected["db_load_per_s"] == pytest.approx(60 * (1 - expected["hit_ratio"]) + 6)


@pytest.mark.parametrize("bad, message", [
    (dict(strategy="write-around"), "unknown strategy"),
    (dict(ttl=0), "ttl must be greater than 0"),
    (dict(ttl_jitter=1), "ttl_jitter must be a fraction"),
    (dict(lost_invalidations=1.5), "lost_invalidations must be a fraction"),
    (dict(read_rate=-1), "rates must be 0 or more"),
])
def test_bad_arguments(bad, message):
    arguments = dict(strategy="delete", read_rate=1, write_rate=1, ttl=1) | bad
    strategy = arguments.pop("strategy")
    read_rate, write_rate, ttl = arguments.pop("read_rate"), arguments.pop("write_rate"), arguments.pop("ttl")
    with pytest.raises(ValueError, match=message):
        models.hit_ratio(strategy, read_rate, write_rate, ttl, **arguments)


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("read_rate, write_rate, ttl", PARAMETERS)
def test_one_key_hit_ratio_matches_the_closed_form(strategy, read_rate, write_rate, ttl):
    result = one_key(strategy, read_rate, write_rate, ttl)
    measured, error = cycle_estimate(result.trace, result.trace.hit)
    assert measured == pytest.approx(result.hit_ratio)
    expected = float(models.hit_ratio(strategy, read_rate, write_rate, ttl))
    assert Z * error < 0.01, "the run is too short to tell a right formula from a wrong one"
    assert abs(measured - expected) <= Z * error, f"{measured:.4f} vs {expected:.4f} ± {error:.4f}"


@pytest.mark.parametrize("read_rate, write_rate, ttl", PARAMETERS)
def test_one_key_ttl_only_stale_share_matches_the_closed_form(read_rate, write_rate, ttl):
    result = one_key("ttl-only", read_rate, write_rate, ttl)
    measured, error = cycle_estimate(result.trace, result.trace.stale)
    expected = float(models.ttl_only_stale_fraction(read_rate, write_rate, ttl))
    assert abs(measured - expected) <= Z * error, f"{measured:.4f} vs {expected:.4f} ± {error:.4f}"
    assert result.max_staleness_s <= ttl  # the TTL bounds how stale a read can be


@pytest.mark.parametrize("strategy", ["delete", "update"])
def test_delete_and_update_never_serve_stale_when_every_invalidation_arrives(strategy):
    result = one_key(strategy, 10.0, 2.0, 5.0)
    assert result.stale_reads == 0 and result.max_staleness_s == 0


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("options", [dict(lost_invalidations=0.2), dict(ttl_jitter=0.5),
                                     dict(lost_invalidations=0.5, ttl_jitter=0.3)], ids=str)
def test_lossy_and_jittered_forms_match_the_simulator(strategy, options):
    read_rate, write_rate, ttl = 10.0, 0.5, 2.0
    result = one_key(strategy, read_rate, write_rate, ttl, **options)
    for measured_of, formula in ((result.trace.hit, models.hit_ratio), (result.trace.stale, models.stale_read_fraction)):
        measured, error = cycle_estimate(result.trace, measured_of)
        expected = float(formula(strategy, read_rate, write_rate, ttl, **options))
        assert abs(measured - expected) <= Z * error, f"{formula.__name__}: {measured:.4f} vs {expected:.4f} ± {error:.4f}"
    assert result.max_staleness_s <= ttl


@pytest.mark.parametrize("strategy, options", [("ttl-only", {}), ("delete", dict(lost_invalidations=0.3)),
                                               ("update", dict(lost_invalidations=0.3, ttl_jitter=0.2))])
@pytest.mark.parametrize("window", [0.25, 1.0])
def test_reads_staler_than_a_window_match_the_closed_form(strategy, options, window):
    read_rate, write_rate, ttl = 10.0, 0.5, 2.0
    result = one_key(strategy, read_rate, write_rate, ttl, **options)
    measured, error = cycle_estimate(result.trace, result.trace.staleness_s > window)
    expected = float(models.stale_read_fraction(strategy, read_rate, write_rate, ttl, older_than=window, **options))
    assert abs(measured - expected) <= Z * error, f"{measured:.4f} vs {expected:.4f} ± {error:.4f}"
    assert expected < float(models.stale_read_fraction(strategy, read_rate, write_rate, ttl, **options))


def test_a_wrong_formula_is_caught():
    """The tolerance is tight enough to reject a plausible mistake: using λ/(λ + w) for delete."""
    result = one_key("delete", 10.0, 0.5, 2.0)
    measured, error = cycle_estimate(result.trace, result.trace.hit)
    assert abs(measured - 10 / 10.5) > Z * error


def test_many_keys_with_zipf_popularity_match_the_summed_forms():
    kwargs = dict(keys=200, zipf=1.0, read_rate=2000, write_rate=40, ttl=5, strategy="delete")
    result = simulate(duration=400, seed=3, trace=True, **kwargs)
    expected = models.expected_results(**kwargs)
    # the trace is ordered by key, then time, and every key's first read misses, so the cycles
    # of all keys together give the catalogue's ratio estimate and its standard error
    measured, error = cycle_estimate(result.trace, result.trace.hit)
    assert measured == pytest.approx(result.hit_ratio)
    assert abs(measured - expected["hit_ratio"]) <= Z * error
    reads_per_s = result.reads / result.duration_s
    assert result.db_reads_per_s == pytest.approx(reads_per_s * (1 - measured))


def test_delete_misses_split_by_cause_add_up_and_match_the_simulator():
    read_rate, write_rate, ttl = 2.0, 0.05, 30.0
    after_write, after_expiry = models.delete_miss_rates(read_rate, write_rate, ttl)
    total = read_rate * (1 - models.delete_hit_ratio(read_rate, write_rate, ttl))
    assert after_write + after_expiry == pytest.approx(total)
    assert after_write / total == pytest.approx(1 - math.exp(-write_rate * ttl))
    run = simulate(read_rate=read_rate, write_rate=write_rate, ttl=ttl, duration=40_000, strategy="delete", seed=4)
    assert run.misses / 40_000 == pytest.approx(total, rel=0.03)
    # no writes: every miss follows an expiry; a very long TTL: every miss follows a write
    assert models.delete_miss_rates(2.0, 0.0, ttl)[0] == 0
    assert models.delete_miss_rates(2.0, 0.05, 1e6)[1] == pytest.approx(0)
