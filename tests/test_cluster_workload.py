"""Workloads shaped like a row of Twitter's fleet table: rates, skew and TTL classes from the row."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cacheaside_lab.data.fleet import cluster, load_fleet
from cacheaside_lab.models.cluster_workload import (
    SAMPLE,
    ClusterRequests,
    sample_workloads,
    ttl_classes,
    workload_for,
)
from cacheaside_lab.models.simulator import simulate


def test_rates_follow_the_operation_mix_scaled_to_the_total():
    workload = workload_for("cluster4", rate=2000)  # get 0.93, set 0.07
    assert workload.rate == pytest.approx(2000)
    assert workload.read_rate == pytest.approx(2000 * 0.93)
    assert workload.write_rate == pytest.approx(2000 * 0.07)
    assert workload.zipf == cluster("cluster4").zipf_alpha == pytest.approx(1.1004)


def test_deletes_are_writes_that_invalidate():
    workload = workload_for("cluster14", rate=1000)  # get 0.65, delete 0.22, set 0.13
    assert workload.write_rate == pytest.approx(350)
    assert all(item.workload.strategy == "delete" for item in workload.classes)


def test_read_rate_sets_the_reads_and_the_writes_follow():
    workload = workload_for("cluster12", read_rate=100)  # set 0.8, get 0.2
    assert workload.read_rate == pytest.approx(100) and workload.write_rate == pytest.approx(400)
    with pytest.raises(ValueError, match="not both"):
        workload_for("cluster12", rate=10, read_rate=5)


def test_a_mix_that_does_not_add_up_to_one_is_normalised():
    workload = workload_for("cluster1", rate=1000)  # get 0.99 and nothing else listed
    assert workload.read_rate == pytest.approx(1000) and workload.write_rate == 0
    assert math.isinf(workload.reads_per_write)


def test_ttl_classes_split_keys_and_requests_by_share():
    workload = workload_for("short-TTL", keys=10_000, rate=1000)
    mix = ttl_classes(cluster("cluster4"))
    assert sum(share for _ttl, share in mix) == pytest.approx(1)
    assert [item.ttl for item in workload.classes] == [ttl for ttl, _share in mix]
    assert sum(item.workload.keys for item in workload.classes) == 10_000
    for item in workload.classes:
        assert item.workload.keys == pytest.approx(10_000 * item.share, abs=1)
        assert item.workload.read_rate == pytest.approx(workload.read_rate * item.share)
        assert item.workload.zipf == workload.zipf


def test_duplicate_ttls_are_merged_and_long_ttls_simulated_as_the_run():
    assert ttl_classes(cluster("cluster49")) == ((86400.0, 1.0),)  # 1 d listed twice
    workload = workload_for("cluster25", duration=600)  # 30-day TTL
    assert workload.classes[0].ttl == 2_592_000 and workload.classes[0].simulated_ttl == 600


def test_a_ttl_longer_than_the_run_gives_the_same_numbers_as_one_equal_to_it():
    shorter = simulate(read_rate=500, write_rate=5, ttl=60, duration=60, keys=200, zipf=1, seed=3)
    longer = simulate(read_rate=500, write_rate=5, ttl=86_400, duration=60, keys=200, zipf=1, seed=3)
    assert (shorter.hits, shorter.misses) == (longer.hits, longer.misses)


def test_every_class_gets_at_least_one_key():
    workload = workload_for("cluster6", keys=40)  # ten TTLs at 2-3 % each
    assert all(item.workload.keys >= 1 for item in workload.classes)
    assert sum(item.workload.keys for item in workload.classes) == 40
    with pytest.raises(ValueError, match="one per TTL class"):
        workload_for("cluster6", keys=5)


def test_simulation_adds_up_its_classes():
    result = workload_for("short-TTL", keys=2000, duration=120, rate=500).simulate()
    assert result.total.reads == sum(outcome.reads for _item, outcome in result.classes)
    assert result.total.hits + result.total.misses == result.total.reads
    ratios = [outcome.hit_ratio for _item, outcome in result.classes]
    assert min(ratios) <= result.hit_ratio <= max(ratios)
    short = dict((item.ttl, outcome.hit_ratio) for item, outcome in result.classes)
    assert short[60.0] < short[3600.0]  # the 1-minute class expires more often
    info = result.to_dict()
    assert info["cluster"] == "cluster4" and len(info["ttl_classes"]) == 6 and "OSDI 2020" in info["source"]


def test_same_seed_same_numbers_and_overrides_apply_to_every_class():
    workload = workload_for("read-heavy", keys=1000, duration=60, rate=500, seed=4)
    assert workload.simulate().total.hits == workload.simulate().total.hits
    lossy = workload.simulate(lost_invalidations=0.5)
    assert lossy.total.stale_reads > 0
    with pytest.raises(ValueError, match="come from the cluster's row"):
        workload.simulate(ttl=5)


def test_the_sample_is_what_its_labels_say():
    samples = sample_workloads(keys=1000)
    assert set(samples) == set(SAMPLE) == {"read-heavy", "write-heavy", "short-TTL"}
    assert samples["read-heavy"].reads_per_write >= 90
    assert samples["write-heavy"].write_rate > samples["write-heavy"].read_rate
    assert samples["short-TTL"].classes[0].ttl <= 60
    # chosen from rows the table actually has, each with a full row
    assert all(cluster(name).has_workload for name in SAMPLE.values())


def test_request_lists_have_the_rows_mix_and_skew():
    workload = workload_for("short-TTL", keys=1000)
    requests = workload.requests(count=50_000, seed=1)
    assert isinstance(requests, ClusterRequests) and len(requests) == 50_000
    assert requests.writes / len(requests) == pytest.approx(0.07, abs=0.01)
    counts = np.bincount(requests.keys, minlength=1000)
    assert counts[0] / len(requests) == pytest.approx(requests.popularity[0], rel=0.05)
    assert set(np.unique(requests.ttl_of_key)) <= {ttl for ttl, _share in workload.ttl_mix}
    assert requests.value_size == cluster("cluster4").value_size
    assert np.array_equal(workload.requests(count=100, seed=2).keys, workload.requests(count=100, seed=2).keys)


@pytest.mark.parametrize("name, message", [
    ("cluster5", "marked it N/A"),
    ("cluster43", "no zipf_alpha"),
    ("cluster15", "lists no reads"),
    ("cluster99", "unknown cluster 'cluster99'"),
    ("nonsense", "sample labels: read-heavy, write-heavy, short-TTL"),
])
def test_clear_errors_for_rows_that_cannot_make_a_workload(name, message):
    with pytest.raises(ValueError, match=message):
        workload_for(name)


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="keys"):
        workload_for("cluster4", keys=0)
    with pytest.raises(ValueError, match="duration"):
        workload_for("cluster4", duration=0)
    with pytest.raises(ValueError, match="rate"):
        workload_for("cluster4", rate=-1)
    with pytest.raises(TypeError, match="cluster must be"):
        workload_for(4.5)
    with pytest.raises(ValueError, match="count"):
        workload_for("cluster4").requests(count=0)


def test_every_usable_row_builds_and_describes_itself():
    usable = [item for item in load_fleet() if item.has_workload and item.read_share > 0]
    assert len(usable) >= 45
    for item in usable:
        workload = workload_for(item, keys=200, duration=10, rate=100)
        assert item.name in workload.describe()
