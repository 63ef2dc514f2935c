"""`cacheaside-lab herd`: both forms of the contract, and one clear line for bad arguments."""

from __future__ import annotations

import json
import math

import pytest

from cacheaside_lab.cli import COMMANDS, main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_herd_is_a_subcommand():
    assert "herd" in COMMANDS


@pytest.mark.parametrize("protection", ["none", "single-flight", "lock", "lease", "swr"])
def test_threads_json(protection, capsys, backend):
    code, out, _ = run(capsys, "herd", "--clients", "12", "--db-latency-ms", "80", "--protection", protection, "--json")
    info = json.loads(out)
    assert code == 0
    for field in ("clients", "protection", "loader_calls", "errors", "wrong_values", "p50_ms", "p99_ms"):
        assert field in info
    assert info["clients"] == 12 and info["protection"] == protection
    assert info["errors"] == info["wrong_values"] == 0
    assert info["loader_calls"] == 1 if protection != "none" else info["loader_calls"] > 1
    assert info["backend"].startswith(
        {"fakeredis": "fakeredis", "redis-server": "redis-server", "redis-cluster": "Redis Cluster (3 primaries)"}[backend.name])


def test_threads_text_and_redis_url(capsys, backend):
    argv = ["herd", "--clients", "4", "--db-latency-ms", "10", "--protection", "lock"]
    if backend.url:
        argv += ["--redis-url", backend.url]
    code, out, _ = run(capsys, *argv)
    assert code == 0 and "loader calls:  1" in out and "p99" in out


def test_old_flag_names_still_work_but_are_not_advertised(capsys, backend):
    # --fill-ms and --rate were renamed --db-latency-ms and --read-rate (one vocabulary); scripts
    # written against the old names keep working, and --help shows only the new ones
    argv = ["herd", "--clients", "4", "--fill-ms", "10", "--protection", "lock", "--json"]
    if backend.url:
        argv += ["--redis-url", backend.url]
    code, out, _ = run(capsys, *argv)
    info = json.loads(out)
    assert code == 0 and info["db_latency_ms"] == 10 and info["read_rate"] is None and info["loader_calls"] == 1
    code, out, _ = run(capsys, "herd", "--simulate", "--rate", "200", "--recompute-s", "0.1", "--protection", "none",
                       "--expiries", "100", "--json")
    assert code == 0 and json.loads(out)["read_rate"] == 200
    with pytest.raises(SystemExit):
        main(["herd", "--help"])
    help_text = capsys.readouterr().out
    assert "--db-latency-ms" in help_text and "--read-rate" in help_text
    assert "--fill-ms" not in help_text and "--rate " not in help_text


@pytest.mark.parametrize("protection, expected", [("none", 1 + 2_000 * 0.1), ("xfetch", math.e)])
def test_simulate_json(protection, expected, capsys):
    code, out, _ = run(
        capsys, "herd", "--simulate", "--read-rate", "2000", "--recompute-s", "0.1", "--protection", protection,
        "--expiries", "5000", "--seed", "3", "--json",
    )
    info = json.loads(out)
    assert code == 0
    assert abs(info["mean_recomputes_per_expiry"] - expected) < 4 * info["standard_error"] + 0.05
    assert info["max_recomputes"] >= info["mean_recomputes_per_expiry"]
    assert info["predicted"] == pytest.approx(expected, rel=1e-3)


def test_simulate_text_with_beta(capsys):
    code, out, _ = run(capsys, "herd", "--simulate", "--read-rate", "5000", "--recompute-s", "0.05", "--protection", "xfetch", "--beta", "2")
    assert code == 0 and "β = 2" in out and "formula e^(1/beta): 1.649" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--clients", "4", "--protection", "lock"], "needs --clients N and --db-latency-ms F"),
        (["--clients", "0", "--db-latency-ms", "5", "--protection", "lock"], "--clients must be from 1 to 1024 (got 0)"),
        (["--clients", "4", "--db-latency-ms", "-5", "--protection", "lock"], "--db-latency-ms must be 0 or more ms"),
        (["--clients", "4", "--db-latency-ms", "5", "--protection", "xfetch"], "use it with --simulate"),
        (["--clients", "4", "--db-latency-ms", "5", "--read-rate", "9", "--protection", "lock"], "--read-rate only apply with --simulate"),
        (["--simulate", "--read-rate", "10", "--protection", "none"], "--simulate needs --read-rate R"),
        (["--simulate", "--read-rate", "0", "--recompute-s", "1", "--protection", "none"], "--read-rate must be greater than 0"),
        (["--simulate", "--read-rate", "10", "--recompute-s", "1", "--protection", "lock"], "--simulate models none and xfetch"),
        (["--simulate", "--read-rate", "10", "--recompute-s", "1", "--protection", "none", "--beta", "2"], "--beta is XFetch's parameter"),
        (["--simulate", "--read-rate", "10", "--recompute-s", "1", "--protection", "xfetch", "--beta", "0"], "beta must be greater than 0"),
        (["--simulate", "--read-rate", "10", "--recompute-s", "1", "--protection", "xfetch", "--expiries", "0"], "expiries must be from 1"),
        (["--simulate", "--read-rate", "10", "--recompute-s", "1", "--protection", "none", "--clients", "3"], "--clients only apply to the thread experiment"),
        (["--simulate", "--read-rate", "10", "--recompute-s", "1", "--protection", "none", "--missing"], "--missing only apply to the thread experiment"),
    ],
)
def test_bad_arguments_are_one_clear_line_and_exit_2(argv, message, capsys):
    code, out, err = run(capsys, "herd", *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err and err.startswith("cacheaside-lab herd: error:")


def test_unknown_protection_is_refused_by_argparse(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["herd", "--clients", "2", "--db-latency-ms", "1", "--protection", "mutex"])
    assert exit_.value.code == 2
    assert "invalid choice: 'mutex'" in capsys.readouterr().err


# -- issue 12: bounded clients, failures printed, a TLS mismatch explained ---------------------


def test_clients_above_the_bound_are_refused_with_the_bound_and_why(capsys):
    code, out, err = run(capsys, "herd", "--clients", "1025", "--db-latency-ms", "5", "--protection", "lock")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "--clients must be from 1 to 1024 (got 1025)" in err and "pool holds 1024 connections" in err


def test_300_clients_with_a_lock_load_once_and_print_every_kind_of_error(capsys, backend):
    argv = ["herd", "--clients", "300", "--db-latency-ms", "50", "--protection", "lock"]
    code, out, _ = run(capsys, *argv)
    assert "errors: 0 (readers that raised 0, cache errors 0, of which connection pool exhausted 0)" in out
    # about one load: a second only when a fill outlasts the 5 s lock, and then a WARNING says so
    loads = int(out.split("loader calls:")[1].split()[0])
    assert loads == 1 and code == 0 or (loads == 2 and "WARNING" in out and code == 1)


@pytest.mark.not_on_cluster("holds connections of the one pool of a single-server client; a cluster client has a CoursePool per node (test_redis_cluster checks them)")
def test_failures_reach_the_json_and_the_exit_status(capsys, backend, monkeypatch):
    from cacheaside_lab.experiments import herd as herd_module
    from cacheaside_lab.cli import herd as cli_herd

    real_run_herd = herd_module.run_herd

    def run_herd_with_no_free_connection(client, **kwargs):
        held = [client.connection_pool.get_connection() for _ in range(client.connection_pool.max_connections)]
        monkeypatch.setattr(herd_module, "clear_course_keys", lambda *args, **kw: 0)
        try:
            return real_run_herd(client, **kwargs)
        finally:
            for connection in held:
                client.connection_pool.release(connection)

    small_pool = lambda url=None: backend.client(pool_size=2, pool_wait_s=0.01)  # noqa: E731
    monkeypatch.setattr(cli_herd, "connect_cache", small_pool)
    monkeypatch.setattr(cli_herd, "run_herd", run_herd_with_no_free_connection)
    code, out, _ = run(capsys, "herd", "--clients", "6", "--db-latency-ms", "5", "--protection", "lease", "--json")
    info = json.loads(out)
    assert code == 1
    assert info["loader_calls"] == 6 and info["cache_errors"] >= 6 and info["pool_exhausted"] == info["cache_errors"]
    assert any("not a cache outage" in warning for warning in info["warnings"])


def test_rediss_to_a_plain_server_fails_once_with_the_tls_hint(capsys):
    from cacheaside_lab.stores.backend import TLS_HINT
    from cacheaside_lab.stores.redis_server import RedisServer, find_redis_server

    if find_redis_server() is None:
        pytest.skip("redis-server is not installed")
    with RedisServer(tcp=True) as server:
        url = server.url.replace("redis://", "rediss://")
        code, out, err = run(capsys, "herd", "--clients", "4", "--db-latency-ms", "5", "--protection", "lock", "--redis-url", url)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "does not answer, so there is no herd to measure" in err and TLS_HINT in err


@pytest.mark.parametrize("protection", ["single-flight", "lock", "lease", "swr"])
def test_a_herd_on_a_missing_id_costs_at_most_two_queries(protection, capsys, backend):
    argv = ["herd", "--clients", "16", "--db-latency-ms", "100", "--protection", protection, "--missing", "--json"]
    if backend.url:
        argv += ["--redis-url", backend.url]
    code, out, _ = run(capsys, *argv)
    info = json.loads(out)
    assert info["missing_id"] == 10**9 and info["wrong_values"] == info["errors"] == 0
    assert info["loader_calls"] <= 2, f"{protection}: {info['loader_calls']} queries for one missing id"
    assert code == (0 if info["loader_calls"] == 1 else 1)


def test_the_lock_reports_its_lost_locks(capsys, backend):
    argv = ["herd", "--clients", "8", "--db-latency-ms", "20", "--protection", "lock", "--missing"]
    if backend.url:
        argv += ["--redis-url", backend.url]
    code, out, _ = run(capsys, *argv)
    assert "id 1,000,000,000 (not in the database)" in out and "lost locks:    0" in out
