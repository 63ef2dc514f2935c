"""Project-level promises: two commands, pinned dependencies, and the course's safety rules."""

from __future__ import annotations

import re
import tomllib

from notebook_files import ROOT

PACKAGE = ROOT / "cacheaside_lab"


def pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_dependency_is_pinned():
    project = pyproject()["project"]
    extras = project["optional-dependencies"]
    for requirement in project["dependencies"] + extras["test"] + extras["bench"]:
        assert re.fullmatch(r"[\w.\-\[\]]+==[\w.]+", requirement), f"pin {requirement} with =="


def test_environment_yml_lists_what_pyproject_lists():
    listed = set(re.findall(r"^\s*-\s+([\w.\-\[\]]+==[\w.]+)\s*$", (ROOT / "environment.yml").read_text(), re.M))
    project = pyproject()["project"]
    extras = project["optional-dependencies"]
    assert set(project["dependencies"]) | set(extras["test"]) | set(extras["bench"]) <= listed
    assert "python=3.11" in (ROOT / "environment.yml").read_text()


def test_lock_file_agrees_with_the_pins():
    locked = dict(
        line.split("==", 1) for line in (ROOT / "requirements.lock").read_text().splitlines() if "==" in line
    )
    locked = {name.lower().replace("_", "-"): version for name, version in locked.items()}
    for requirement in pyproject()["project"]["dependencies"]:
        name, version = requirement.split("==")
        name = re.sub(r"\[.*\]", "", name).lower().replace("_", "-")
        assert locked.get(name) == version, f"requirements.lock has {name} {locked.get(name)}, pyproject {version}"


def test_readme_opens_with_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    first_screen = readme[:1200]
    assert "make lab" in first_screen and "make test" in first_screen
    assert "CACHEASIDE_REDIS_URL" in readme


def test_ci_installs_redis_and_runs_make_test():
    script = (ROOT / ".ci" / "run").read_text()
    assert "redis-server" in script and "make test" in script and "CI=true" in script


def test_nothing_flushes_and_nothing_pickles():
    for path in PACKAGE.rglob("*.py"):
        source = path.read_text()
        assert not re.search(r"\bflush(all|db)\b", source, re.I), f"{path.name} mentions FLUSHDB/FLUSHALL"
        assert not re.search(r"^\s*(import pickle|from pickle)", source, re.M), f"{path.name} imports pickle"
