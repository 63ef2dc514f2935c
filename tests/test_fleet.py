"""The fleet table: parsed as the authors wrote it, N/A kept as N/A, summaries computed from it."""

from __future__ import annotations

import math

import pytest

from cacheaside_lab.data.fleet import (
    COLUMNS,
    cluster,
    duration_text,
    load_fleet,
    parse_operations,
    parse_table,
    parse_ttl,
    parse_ttl_mix,
    summary,
    summary_lines,
    workload_cluster,
)


def test_the_whole_table_is_read():
    fleet = load_fleet()
    assert len(fleet) == 54 and fleet[0].name == "cluster1" and fleet[-1].name == "cluster54"


def test_a_row_is_parsed_into_numbers_mixes_and_ttls():
    four = cluster("cluster4")
    assert (four.miss_ratio, four.key_size, four.value_size, four.request_rate) == (0.3941, 67, 2439, 5260)
    assert four.operations == {"get": 0.93, "set": 0.07}
    assert four.ttl_mix[:3] == ((60, 0.39), (300, 0.24), (3600, 0.13))
    assert four.dominant_ttl == 60 and four.zipf_alpha == 1.1004
    assert four.read_share == 0.93 and four.write_share == 0.07
    assert four.reads_per_write == pytest.approx(13.29, abs=0.01)


def test_na_cells_stay_marked_and_are_listed():
    five = cluster(5)
    assert five.miss_ratio == 0.7124 and five.category == 3
    assert five.operations is None and five.zipf_alpha is None and five.ttl_mix is None
    assert "operations" in five.missing and "miss_ratio" not in five.missing
    assert not five.has_workload and five.reads_per_write is None


def test_a_mix_without_writes_is_not_read_as_zero_writes_measured():
    one = cluster(1)
    assert one.operations == {"get": 0.99} and math.isinf(one.reads_per_write)
    assert summary()["no_writes_listed"] >= 1


def test_deletes_are_counted_apart_from_writes():
    fourteen = cluster(14)
    assert fourteen.delete_share == 0.22 and fourteen.write_share == 0.13


@pytest.mark.parametrize("text, seconds", [("240s", 240), ("30m", 1800), ("1.8h", 6480), ("92.6d", 92.6 * 86400), (" 4d ", 345600)])
def test_ttls_are_read_in_seconds(text, seconds):
    assert parse_ttl(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["4 days", "h", "-3s", ""])
def test_a_ttl_that_is_not_one_says_what_one_looks_like(text):
    with pytest.raises(ValueError, match="a TTL looks like 240s"):
        parse_ttl(text)


def test_mixes_and_na():
    assert parse_ttl_mix("60s:1.00,") == ((60, 1.0),)
    assert parse_ttl_mix("N/A") is None and parse_operations("N/A") is None
    assert parse_operations("get:0.96 add:0.02 gets:0.01 cas:0.01") == {"get": 0.96, "add": 0.02, "gets": 0.01, "cas": 0.01}


def test_a_changed_table_is_refused():
    with pytest.raises(ValueError, match="columns changed"):
        parse_table("| cluster | something else |\n|---|---|\n| a | b |")


def test_unknown_clusters_and_rows_without_a_workload_get_clear_errors():
    with pytest.raises(ValueError, match="cluster1 to cluster54"):
        cluster("cluster99")
    with pytest.raises(ValueError, match="cluster5 has no operations, no zipf_alpha, no ttl_mix"):
        workload_cluster("cluster5")
    assert workload_cluster("4").name == "cluster4"


def test_the_summary_is_computed_from_the_rows():
    fleet = load_fleet()
    facts = summary(fleet)
    with_mix = [item for item in fleet if item.operations is not None]
    assert facts["with_operation_mix"] == len(with_mix)
    assert facts["read_heavy_100_to_1"] == sum(item.reads_per_write >= 100 for item in with_mix)
    assert facts["write_heavy"] == sum(item.write_share > item.read_share for item in with_mix)
    assert facts["read_heavy_100_to_1"] <= facts["read_heavy_10_to_1"] <= facts["with_operation_mix"]
    assert facts["zipf_alpha"] == sorted(facts["zipf_alpha"])
    lines = summary_lines(fleet)
    assert lines[0].startswith("54 clusters") and "CC BY 4.0" in lines[-1]


def test_durations_read_as_people_write_them():
    assert [duration_text(s) for s in (20, 240, 28800, 345600, None)] == ["20 s", "4 min", "8 h", "4 d", "-"]


def test_every_column_has_a_field():
    assert len(COLUMNS) == 14 and all(hasattr(cluster(4), attribute) for _c, attribute in COLUMNS)
