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


def notebook_headings() -> dict[str, list[str]]:
    import nbformat

    headings = {}
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        headings[path.name[:2]] = [
            line.lstrip("#").strip()
            for cell in notebook.cells if cell.cell_type == "markdown"
            for line in cell.source.splitlines() if line.startswith("#")
        ]
    return headings


def test_readme_maps_all_twenty_claims_to_sections_that_exist():
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("### Where each claim is demonstrated"):readme.index("## Commands")]
    rows = [line for line in table.splitlines() if re.match(r"\| \d+ \|", line)]
    assert [int(row.split("|")[1]) for row in rows] == list(range(1, 21))
    headings = notebook_headings()
    for row in rows:
        where = row.rstrip(" |").split("|")[-1]
        notebook = None
        for part in where.split(";"):
            cited = re.match(r"\s*(\d\d) ·", part)
            notebook = cited.group(1) if cited else notebook
            lab = re.match(r"\s*lab (\d\d)", part)
            if lab:
                assert list((ROOT / "labs").glob(f"{lab.group(1)}_*_lab.ipynb")), f"claim map cites missing lab {lab.group(1)}"
            for section in re.findall(r"\*([^*]+)\*", part):
                assert notebook in headings, f"claim map cites notebook {notebook}, which does not exist"
                assert any(section in heading for heading in headings[notebook]), (
                    f"claim map cites section {section!r} of notebook {notebook}, which has no such heading"
                )
