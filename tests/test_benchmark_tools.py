"""The benchmarks' own tools count what they claim to count, and every script still imports.

The scripts print speed and are never timed here; but the round trips they report are behaviour
(hit = one GET, get_many = one MGET plus one pipeline), so the counter behind them is tested on
both backends, and each script is imported so a renamed API cannot leave one broken unnoticed.
"""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

import pytest

from cacheaside_lab import CacheAside, ProductDB

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
SCRIPTS = sorted(p.stem for p in BENCHMARKS.glob("*.py") if not p.name.startswith("_"))


@pytest.fixture
def benchmark_modules(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    yield
    for name in ["_common", *SCRIPTS]:
        sys.modules.pop(name, None)


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_benchmark_script_imports_and_has_a_main(script, benchmark_modules):
    if re.search(r"^\s*(from|import) dogpile\b", (BENCHMARKS / f"{script}.py").read_text(), re.MULTILINE):
        pytest.importorskip("dogpile.cache", reason=f"benchmarks/{script}.py needs the bench extra: pip install -e '.[bench]'")
    module = importlib.import_module(script)
    assert callable(module.main)
    assert module.__doc__ and "benchmarks/" in module.__doc__  # says how to run it


def test_round_trip_counter_sees_one_get_per_hit_and_two_commands_per_miss(cache, benchmark_modules):
    from _common import describe_round_trips, round_trips

    products = CacheAside(cache, ProductDB().get_product, prefix="bench-tools", ttl=60)
    cache.ping()  # the connection's handshake (HELLO, CLIENT SETINFO) is not part of a read
    with round_trips() as miss:
        products.get(7)
    with round_trips() as hit:
        products.get(7)
    assert (miss["round_trips"], describe_round_trips(miss)) == (2, "GET, SET")
    assert (hit["round_trips"], describe_round_trips(hit)) == (1, "GET")


@pytest.mark.not_on_cluster("counts one server's round trips; on a cluster get_many sends an MGET per slot and a pipeline per node, "
                             "after each node's connection handshake")
def test_round_trip_counter_sees_get_many_as_one_mget_and_one_pipeline(cache, benchmark_modules):
    from _common import describe_round_trips, round_trips

    db = ProductDB()
    products = CacheAside(cache, db.get_product, loader_many=db.get_products, prefix="bench-tools", ttl=60)
    products.get(1)
    with round_trips() as first:
        products.get_many(range(1, 101))
    with round_trips() as again:
        products.get_many(range(1, 101))
    assert (first["round_trips"], describe_round_trips(first)) == (2, "MGET, [SET ×99]")
    assert (again["round_trips"], describe_round_trips(again)) == (1, "MGET")


def test_make_bench_keeps_the_sections_measured_by_hand(benchmark_modules, monkeypatch, tmp_path):
    import run_all

    by_hand = f"{run_all.MANUAL}\n## Test suite\n\nmake test: 6 min\n"
    (tmp_path / "RESULTS.md").write_text("# Benchmark results\n\n<!-- old.py -->\nold output\n\n" + by_hand)
    monkeypatch.setattr(run_all, "HERE", tmp_path)
    monkeypatch.setattr(run_all, "scripts", lambda: [])
    assert run_all.main([]) == 0
    written = (tmp_path / "RESULTS.md").read_text()
    assert written.endswith(by_hand) and "old output" not in written
