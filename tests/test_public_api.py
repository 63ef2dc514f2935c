"""The package's public names and its layout: what `from cacheaside_lab import X` offers, and the map.

`TODAY` is the list of public names `cacheaside_lab` had before the modules moved into
subpackages (issue 13); moving a file must never take one away.
"""

import ast
import importlib
import pkgutil
import types
from pathlib import Path

import cacheaside_lab

PACKAGE = Path(cacheaside_lab.__file__).parent
ROOT = PACKAGE.parent

TODAY = {
    "CACHE_ERRORS", "CacheAside", "CacheStats", "CircuitBreaker", "FaultyCache", "PROTECTIONS",
    "ProductDB", "RecordingProxy", "RedisServer", "RedisServerUnavailable", "SimulationResult",
    "WRITE_STRATEGIES", "Workload", "clear_course_keys", "connect_cache", "describe_backend",
    "find_redis_server", "format_table", "make_key", "print_table", "replay", "root_namespace",
    "simulate",
}
SUBPACKAGES = {"cli", "consistency", "core", "course", "experiments", "failure", "models", "protections",
               "data", "pictures", "races", "service", "stores", "widgets", "workshop"}


def test_every_public_name_of_today_is_still_importable_from_the_package():
    assert set(cacheaside_lab.__all__) == TODAY
    public = {name for name in dir(cacheaside_lab)
              if not name.startswith("_") and not isinstance(getattr(cacheaside_lab, name), types.ModuleType)}
    assert public == TODAY
    namespace = {}
    exec("from cacheaside_lab import *", namespace)
    assert TODAY <= namespace.keys()


def test_the_package_root_holds_only_subpackages():
    assert [path.name for path in PACKAGE.glob("*.py")] == ["__init__.py"]
    assert {path.parent.name for path in PACKAGE.glob("*/__init__.py")} == SUBPACKAGES


def test_every_module_imports_and_every_subpackage_says_what_it_holds_and_for_which_lectures():
    for info in pkgutil.walk_packages(cacheaside_lab.__path__, "cacheaside_lab."):
        module = importlib.import_module(info.name)
        assert module.__doc__ and module.__doc__.strip(), f"{info.name} has no docstring"
        if info.ispkg and info.name != "cacheaside_lab.cli":
            assert "lecture" in module.__doc__.lower() or "lab" in module.__doc__.lower(), info.name


def test_colliding_names_have_one_name_per_concept():
    from cacheaside_lab import races
    from cacheaside_lab.experiments import metrics
    from cacheaside_lab.widgets import ratio_explorer

    assert races.replay_schedule and races.explore_interleavings and races.WorldSnapshot
    assert metrics.MetricsSnapshot and ratio_explorer.explore_ratios
    for module, old in [(races, "replay"), (races, "explore"), (races, "Snapshot"),
                        (metrics, "Snapshot"), (ratio_explorer, "explore")]:
        assert not hasattr(module, old), f"{module.__name__}.{old} should have been renamed"
    assert not (PACKAGE / "course" / "doctor.py").exists()  # cli/doctor.py is the only doctor


def test_no_module_imports_a_private_name_from_another():
    offenders = []
    for folder in ("cacheaside_lab", "tests", "benchmarks"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.ImportFrom) and node.module != "__future__":
                    offenders += [f"{path.relative_to(ROOT)}:{node.lineno} {alias.name}"
                                  for alias in node.names if alias.name.startswith("_")]
    assert offenders == []


def test_cache_aside_imports_nothing_inside_its_functions():
    tree = ast.parse((PACKAGE / "core" / "cache_aside.py").read_text())
    for function in ast.walk(tree):
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            inner = [node for node in ast.walk(function) if isinstance(node, (ast.Import, ast.ImportFrom))]
            assert inner == [], f"CacheAside's {function.name} imports inside its body"
