"""The workshop kit: the instructor guide, the Binder files and CI's browser.

The guide's agenda must add up to the three hours it promises and cover every lecture that
exists; Binder must install what pyproject.toml pins (repo2docker reads only ``binder/`` once
that folder exists, so the pins are repeated there); CI must install the browser the UI tests
need.
"""

from __future__ import annotations

import os
import re
import tomllib
from urllib.parse import unquote

from notebook_files import NOTEBOOKS, ROOT

GUIDE = ROOT / "docs" / "instructor.md"
BINDER = ROOT / "binder"
PIN = re.compile(r"^\s*-\s+([\w.\-\[\]]+==[\w.]+)\s*$", re.M)


def agenda_rows():
    """(start minute, minutes, block) for each row of the guide's agenda table."""
    rows = []
    for line in GUIDE.read_text().splitlines():
        match = re.match(r"\|\s*(\d+):(\d\d)\s*\|\s*(\d+)\s*\|\s*([^|]+)\|", line)
        if match:
            hours, minutes, length, block = match.groups()
            rows.append((int(hours) * 60 + int(minutes), int(length), block.strip()))
    return rows


def test_agenda_fills_three_hours_without_gaps():
    rows = agenda_rows()
    assert rows and rows[0][0] == 0
    for (start, length, block), (next_start, _, next_block) in zip(rows, rows[1:]):
        assert start + length == next_start, f"{block!r} ends at minute {start + length}, {next_block!r} starts at {next_start}"
    assert rows[-1][0] + rows[-1][1] == 180


def test_guide_covers_every_lecture_and_the_running_options():
    guide = GUIDE.read_text()
    agenda = " ".join(block for _, _, block in agenda_rows())
    for notebook in NOTEBOOKS:
        number = notebook.name[:2]
        assert re.search(rf"\b{number}\b", agenda), f"lecture {notebook.name} is missing from the agenda"
    for needed in ("CACHEASIDE_REDIS_URL", "CACHEASIDE_NAMESPACE", "make redis", "cacheaside-lab check", "binder/"):
        assert needed in guide, f"the instructor guide should explain {needed}"


def test_guide_links_resolve():
    for target in re.findall(r"\]\(([^)\s]+)\)", GUIDE.read_text()):
        if target.startswith(("http://", "https://", "#")):
            continue
        assert (GUIDE.parent / unquote(target.split("#")[0])).exists(), f"docs/instructor.md links to missing {target}"


def test_binder_installs_what_pyproject_pins():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    environment = (BINDER / "environment.yml").read_text()
    assert set(PIN.findall(environment)) == set(project["dependencies"])
    assert "python=3.11" in environment


def test_binder_has_redis_and_installs_the_course():
    assert "redis-server" in (BINDER / "apt.txt").read_text().split()
    post_build = BINDER / "postBuild"
    assert os.access(post_build, os.X_OK), "binder/postBuild must be executable"
    script = post_build.read_text()
    assert script.startswith("#!/bin/bash") and "set -e" in script
    assert re.search(r"pip install .*-e \.", script) and "cacheaside-lab doctor" in script


def test_ci_installs_chromium_for_the_browser_tests():
    script = (ROOT / ".ci" / "run").read_text()
    install = next(line for line in script.splitlines() if "apt-get install" in line)
    assert "chromium" in install.split() and "--no-install-recommends" in install
    assert "make test" in script
