"""The lab checkers share one set of setup helpers and stay small (issue 13, "checks without copies").

Before the fix ``product_key`` was written six times, the fresh setups eight times and
``describe_steps`` twice, and nine checks were over 60 lines; these tests fail on that code.
"""

from __future__ import annotations

import ast
import importlib
import json
from pathlib import Path

import pytest

import cacheaside_lab
from cacheaside_lab.core.keys import make_key
from cacheaside_lab.course.checks import CheckFailed, setups
from cacheaside_lab.races import STRATEGIES, RaceWorld

PACKAGE = Path(cacheaside_lab.__file__).parent
CHECKS = PACKAGE / "course" / "checks"
LAB_MODULES = sorted(path.stem for path in CHECKS.glob("lab[0-9][0-9].py"))
SHARED = {"key_function", "empty_namespace", "fresh_catalogue", "fresh_race_world", "describe_steps",
          "explore_or_fail", "product_key", "info_key", "stock_key"}
MAX_LINES = 60


def functions(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def test_every_lab_has_a_checker_module():
    from notebook_files import LABS

    assert LAB_MODULES == [f"lab{path.name[:2]}" for path in LABS]


@pytest.mark.parametrize("module", LAB_MODULES)
def test_no_lab_checker_redefines_a_shared_helper(module):
    defined = {node.name for node in functions(CHECKS / f"{module}.py")}
    assert not defined & SHARED, f"{module} defines its own {sorted(defined & SHARED)}: use checks/setups.py"


@pytest.mark.parametrize("path", sorted(CHECKS.glob("*.py")) + sorted((PACKAGE / "races").glob("*.py")),
                         ids=lambda path: f"{path.parent.name}/{path.name}")
def test_no_function_in_the_checks_or_races_is_over_60_lines(path):
    long = [f"{node.name} ({node.end_lineno - node.lineno + 1} lines)" for node in functions(path)
            if node.end_lineno - node.lineno + 1 > MAX_LINES]
    assert not long, f"{path.name}: split into one function per scenario: {long}"


# lab05 checks a simulator, lab11 has two slices (info_key, stock_key), lab15 keys each region,
# lab18 grades a whole service whose keys the capstone's scenario runner owns (service/scenarios.py)
@pytest.mark.parametrize("module", [m for m in LAB_MODULES if m not in ("lab05", "lab11", "lab15", "lab18")])
def test_each_lab_product_key_is_its_own_namespace(module):
    product_key = importlib.import_module(f"cacheaside_lab.course.checks.{module}").product_key
    assert product_key(42) == make_key(f"{module}:product", 42)
    assert product_key.__name__ == "product_key" and f"{module}:product:42" in product_key.__doc__


def test_lab08_keys_name_their_slice():
    from cacheaside_lab.course.checks.lab11 import info_key, stock_key

    assert (info_key(42), stock_key(42)) == (make_key("lab11:info", 42), make_key("lab11:stock", 42))
    assert "stable slice" in info_key.__doc__ and "stock figure" in stock_key.__doc__


def test_a_key_function_refuses_a_bad_id_like_make_key():
    with pytest.raises(ValueError, match="id"):
        setups.key_function("lab06")("4:2")


def test_empty_namespace_deletes_only_that_labs_keys(backend, cache):
    cache.set(make_key("lab06:product", 1), "old")
    cache.set(make_key("lab11:product", 1), "kept")
    assert setups.empty_namespace(cache, "lab06") is cache
    assert cache.get(make_key("lab06:product", 1)) is None
    assert cache.get(make_key("lab11:product", 1)) == "kept"
    cache.delete(make_key("lab11:product", 1))


def test_fresh_catalogue_is_new_each_time_with_the_latency_asked_for(backend, cache):
    cache.set(make_key("lab14:product", 3), "old")
    same, db = setups.fresh_catalogue(cache, "lab14", latency_ms=5)
    assert same is cache and cache.get(make_key("lab14:product", 3)) is None
    assert (db.count(), db.latency_ms, db.queries) == (100, 5, 0)
    db.update_product(1, stock=0)
    again = setups.fresh_catalogue(cache, "lab14")[1]
    assert again is not db and again.current(1)["version"] == 0 and again.latency_ms == 0


def test_fresh_race_world_lives_in_the_lab_namespace(backend, cache):
    world = setups.fresh_race_world(cache, "lab02", ttl_ms=1_000)
    assert isinstance(world, RaceWorld)
    assert world.key == make_key("lab02:product", 42)
    world.reset()


def test_describe_steps_reads_like_the_feedback():
    assert setups.describe_steps([("R1", "GET"), ("W1", "UPDATE")]) == "R1 GET, W1 UPDATE"
    assert setups.describe_steps(None) == ""


def test_explore_or_fail_turns_a_raising_writer_into_feedback(backend, cache):
    world = setups.fresh_race_world(cache, "lab02", ttl_ms=1_000)

    def reader(cache, db, product_id):
        return json.loads(cache.get(make_key("lab02:product", product_id)) or "null")

    def writer(cache, db, product_id, **fields):
        raise KeyError("boom")

    with pytest.raises(CheckFailed) as failure:
        setups.explore_or_fail(reader, writer, 0, 1, world=world, tried="one writer", hint="look at the writer")
    assert failure.value.tried == "one writer" and failure.value.hint == "look at the writer"
    assert "KeyError" in failure.value.wrong and "boom" in failure.value.wrong
    world.reset()


def test_the_update_writer_sets_with_the_readers_set_step():
    """``_set_new_row`` was a copy of ``_set``: one step now does both jobs."""
    update = STRATEGIES["update"]
    assert update.writer[-1] is update.reader[-1]
