"""Grading ends on time whatever the learner's code does (issue 12, defect 4).

Before the fix a cell that swallowed KeyboardInterrupt was re-interrupted for ever (still running
after 11 minutes with ``--timeout 10``), and ``os._exit(0)`` ended ``check --json`` in a
DeadKernelError traceback with nothing on stdout.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import nbformat

from cacheaside_lab.course import labgen
from notebook_files import LABS, code_cells, read, tags

LAB = LABS[0]
SWALLOW = "import time\n    while True:\n        try:\n            time.sleep(1000)\n        except KeyboardInterrupt:\n            pass"


def lab_with_first_exercise(tmp_path, body: str):
    lab = read(LAB)
    index = next(i for i, c in enumerate(lab.cells) if c.cell_type == "code" and labgen.STUB in c.source)
    lab.cells[index].source = lab.cells[index].source.replace(labgen.STUB, body)
    path = tmp_path / LAB.name
    nbformat.write(lab, path)
    return path, index


def check_json(path, *argv, bound_s=180):
    started = time.monotonic()
    process = subprocess.run(
        [sys.executable, "-m", "cacheaside_lab.cli", "check", str(path), "--json", *argv],
        capture_output=True, text=True, timeout=bound_s,
    )
    return process, json.loads(process.stdout), time.monotonic() - started


def test_a_loop_that_swallows_interrupts_is_killed_and_reported(tmp_path):
    # the exercise function itself loops, so the kernel hangs inside the first check
    path, _ = lab_with_first_exercise(tmp_path, SWALLOW)
    process, result, elapsed = check_json(path, "--timeout", "2")
    assert process.returncode == 1 and "Traceback" not in process.stderr
    first, *rest = result["exercises"]
    assert not first["passed"] and "ignored the interrupt at 2 s" in first["message"]
    assert rest and all("never ran" in e["message"] for e in rest)
    assert "kernel was stopped" in result["stopped"]
    assert result["passed"] + result["failed"] == len(result["exercises"]) == sum("check" in tags(c) for c in code_cells(read(LAB)))
    assert elapsed < 120  # generous: a hung kernel would run into the subprocess bound instead


def test_the_notebook_limit_stops_a_long_run(tmp_path):
    path, _ = lab_with_first_exercise(tmp_path, "import time\n    for _ in range(100):\n        time.sleep(1)")
    process, result, elapsed = check_json(path, "--timeout", "100", "--notebook-timeout", "6")
    assert process.returncode == 1
    assert "ran past its limit of 6 s" in result["stopped"]
    assert not result["exercises"][0]["passed"] and "in this cell" in result["exercises"][0]["message"]
    assert elapsed < 90  # generous; without the limit it would take 100 s and more


def test_os_exit_in_a_cell_is_that_notebooks_failure_with_complete_json(tmp_path):
    lab = read(LAB)
    code = [i for i, c in enumerate(lab.cells) if c.cell_type == "code" and "check" not in tags(c)]
    exercise = next(i for i in code if labgen.STUB in lab.cells[i].source)
    lab.cells.insert(exercise, nbformat.v4.new_code_cell("import os\nos._exit(0)"))
    path = tmp_path / LAB.name
    nbformat.write(lab, path)
    process, result, _ = check_json(path, "--timeout", "20")
    assert process.returncode == 1 and "DeadKernelError" not in process.stderr
    assert "the kernel died" in result["stopped"]
    assert len(result["exercises"]) == sum("check" in tags(c) for c in code_cells(lab)) and result["passed"] == 0
    assert all(f"in cell {exercise}, so this check never ran" in e["message"] for e in result["exercises"])
    assert result["other_errors"] == [f"cell {exercise}: {result['stopped']}"]


def test_a_pass_line_printed_before_the_kernel_dies_does_not_count(tmp_path):
    # the learner's function prints the check's own pass line, then kills the kernel mid-check
    fake = 'print("✔ Exercise 1 · the read path: passed.")\n    import os\n    os._exit(0)'
    path, _ = lab_with_first_exercise(tmp_path, fake)
    process, result, _ = check_json(path, "--timeout", "20")
    assert result["passed"] == 0 and "the kernel died" in result["exercises"][0]["message"]


def test_the_bounded_runner_works_where_an_event_loop_is_already_running(tmp_path):
    """Playwright's sync API (the browser tests) and notebooks keep an event loop running in the
    main thread; asyncio.run() refuses to nest there, so the runner must bring a loop of its own."""
    import asyncio

    from cacheaside_lab.course.execute import kernel_env, run_bounded

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")])

    async def from_inside_a_loop():
        return run_bounded(notebook, cwd=tmp_path, env=kernel_env(), cell_timeout=60, limit=120)

    run = asyncio.run(from_inside_a_loop())
    assert run.stopped is None
    assert run.replies == {0: "ok"}
    assert "42" in notebook.cells[0].outputs[0]["text"]
