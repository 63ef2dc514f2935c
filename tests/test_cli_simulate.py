"""``cacheaside-lab simulate``: the contract's fields, readable text, clear errors with exit status 2."""

from __future__ import annotations

import json

import pytest

from cacheaside_lab.cli import main

ARGS = ["simulate", "--keys", "100", "--zipf", "1", "--read-rate", "1000", "--write-rate", "10",
        "--ttl", "60", "--duration", "60", "--strategy", "delete"]
CONTRACT = ("reads", "writes", "hits", "misses", "hit_ratio", "db_reads", "stale_reads",
            "stale_read_fraction", "max_staleness_s", "elapsed_s")


def test_json_has_every_field_of_the_contract(capsys):
    assert main([*ARGS, "--seed", "3", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(CONTRACT) <= set(result)
    assert result["hits"] + result["misses"] == result["reads"] > 50_000
    assert result["hit_ratio"] == pytest.approx(result["hits"] / result["reads"])
    assert result["stale_read_fraction"] == pytest.approx(result["stale_reads"] / result["reads"])
    assert result["db_reads"] == result["misses"] and result["elapsed_s"] > 0
    assert result["workload"]["seed"] == 3


def test_same_seed_same_numbers(capsys):
    runs = []
    for _ in range(2):
        main([*ARGS, "--seed", "9", "--json"])
        runs.append(json.loads(capsys.readouterr().out) | {"elapsed_s": 0})
    assert runs[0] == runs[1]


def test_ttl_only_reports_stale_reads_bounded_by_the_ttl(capsys):
    args = [arg if arg != "delete" else "ttl-only" for arg in ARGS]
    main([*args, "--json"])
    result = json.loads(capsys.readouterr().out)
    assert result["stale_reads"] > 0 and 0 < result["max_staleness_s"] <= 60


def test_text_output(capsys):
    assert main(ARGS) == 0
    out = capsys.readouterr().out
    assert "hit ratio" in out and "stale-read fraction" in out and "requests in" in out


@pytest.mark.parametrize("change, message", [
    (("--read-rate", "-1"), "read_rate must be greater than 0"),
    (("--write-rate", "-10"), "write_rate must be 0 or more"),
    (("--ttl", "0"), "ttl must be greater than 0"),
    (("--ttl", "-5"), "ttl must be greater than 0"),
    (("--keys", "0"), "keys must be 1 or more"),
    (("--zipf", "-1"), "zipf must be 0 or more"),
])
def test_bad_arguments_exit_2_with_one_clear_line(capsys, change, message):
    args = list(ARGS)
    args[args.index(change[0]) + 1] = change[1]
    assert main(args) == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert captured.out == ""


def test_unknown_strategy_is_refused_by_the_parser(capsys):
    args = [arg if arg != "delete" else "write-around" for arg in ARGS]
    with pytest.raises(SystemExit) as stop:
        main(args)
    assert stop.value.code == 2 and "invalid choice" in capsys.readouterr().err


@pytest.mark.parametrize("change, message", [
    # issue 12, defect 9: 10^8 keys used 8.7 GB, 10^10 died with a MemoryError traceback
    (("--keys", "100000000"), "keys must be at most 5,000,000 (got 100,000,000): more keys need more than half a gigabyte"),
    (("--keys", str(10**10)), "keys must be at most 5,000,000 (got 10,000,000,000)"),
    (("--duration", "1e9"), "the simulator takes at most 100,000,000 per run"),
    (("--read-rate", "1e300"), "the simulator takes at most 100,000,000 per run"),
])
def test_memory_and_time_bounds_exit_2_stating_the_limit(capsys, change, message):
    args = list(ARGS)
    args[args.index(change[0]) + 1] = change[1]
    assert main(args) == 2
    captured = capsys.readouterr()
    assert message in captured.err and "Traceback" not in captured.err and "MemoryError" not in captured.err
    assert captured.out == ""


def test_the_largest_catalogue_allowed_runs(capsys):
    args = list(ARGS)
    args[args.index("--keys") + 1] = "5000000"
    args[args.index("--duration") + 1] = "1"
    assert main([*args, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["workload"]["keys"] == 5_000_000


# -- simulate --cluster NAME: a workload shaped like a row of Twitter's fleet table ---------------

CLUSTER_ARGS = ["simulate", "--cluster", "short-TTL", "--keys", "2000", "--duration", "120", "--rate", "500"]


def test_cluster_json_names_the_row_and_its_ttl_classes(capsys):
    assert main([*CLUSTER_ARGS, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(CONTRACT) <= set(result)
    assert result["cluster"] == "cluster4" and result["zipf"] == pytest.approx(1.1004)
    assert result["read_rate"] == pytest.approx(465) and result["write_rate"] == pytest.approx(35)
    assert [item["ttl_s"] for item in result["ttl_classes"]] == [60, 300, 3600, 600, 14400, 86400]
    assert sum(item["reads"] for item in result["ttl_classes"]) == result["reads"]
    assert "OSDI 2020" in result["source"]


def test_cluster_by_number_or_name_is_the_same_run(capsys):
    runs = []
    for name in ("4", "cluster4", "short-TTL"):
        args = list(CLUSTER_ARGS)
        args[args.index("--cluster") + 1] = name
        main([*args, "--json"])
        runs.append(json.loads(capsys.readouterr().out) | {"elapsed_s": 0})
    assert runs[0] == runs[1] == runs[2]


def test_cluster_text_says_what_the_stream_cannot_reproduce(capsys):
    assert main(CLUSTER_ARGS) == 0
    out = capsys.readouterr().out
    assert out.startswith("cluster4: ") and "per TTL class" in out and "hit ratio" in out
    assert "no bursts" in out and "popularity churn" in out


@pytest.mark.parametrize("args, message", [
    (["--cluster", "cluster99"], "unknown cluster 'cluster99'"),
    (["--cluster", "busy"], "sample labels: read-heavy, write-heavy, short-TTL"),
    (["--cluster", "5"], "cluster5 has no operations, no zipf_alpha, no ttl_mix in the table"),
    (["--cluster", "43"], "cluster43 has no zipf_alpha"),
    (["--cluster", "15"], "cluster15 lists no reads"),
    (["--cluster", "4", "--ttl", "30"], "--ttl cannot be combined with --cluster"),
    (["--cluster", "4", "--zipf", "1", "--write-rate", "3"], "--zipf, --write-rate cannot be combined with --cluster"),
    (["--cluster", "4", "--rate", "10", "--read-rate", "5"], "not both"),
    (["--cluster", "4", "--rate", "-1"], "rate must be greater than 0"),
    (["--keys", "100"], "simulate needs --zipf, --read-rate, --write-rate, --ttl, --duration, --strategy"),
    ([*ARGS[1:], "--rate", "10"], "--rate goes with --cluster"),
])
def test_cluster_errors_exit_2_with_one_clear_line(capsys, args, message):
    assert main(["simulate", *args]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert captured.out == ""
