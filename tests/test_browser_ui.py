"""The course as a learner meets it: JupyterLab in a real (headless) browser.

nbval proves each notebook runs in a kernel; it cannot see what JupyterLab draws. These tests
open every lecture and lab in JupyterLab, in Chromium driven by Playwright, and check what a
person would notice:

* every lecture runs with Run ▸ Run All Cells, leaving no error output, nothing on stderr, no
  cell left unexecuted, and no "Error displaying widget" / "model not found" where a widget
  should be;
* every interactive widget is drawn, and moving each of its controls changes what it draws;
* every predict-then-run question, once a choice is picked and locked in, shows the guess, the
  verdict and the explanation;
* every lab, run untouched, answers each check with the friendly feedback (what we tried, what
  went wrong, a hint; no traceback); typing the solution's code for the first exercise into its
  cell and running its check prints the pass line;
* screenshots of every notebook, for a human to look at, in ``test-artifacts/screenshots``.

Notebooks, labs and widgets are discovered (``notebooks/*.ipynb``, ``labs/*_lab.ipynb``, widget
views in the page), so new ones are tested without editing this file. One JupyterLab server and
one browser serve each group of these tests (under pytest-xdist the lectures and the labs are
two groups, on two workers: see the root ``conftest.py``); each notebook gets a fresh page and
a fresh kernel. Both are module-scoped: Playwright's sync API keeps an asyncio loop running in
this thread while it is open, and a test after this module that calls ``asyncio.run`` (grading,
nbclient) would fail if the browser outlived the module.

Without Chromium these tests skip with one line saying how to enable them; under CI
(``CI=true``) a missing browser is an error. ``pytest -k "not browser"`` leaves them out.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import time
from pathlib import Path

import pytest

from cacheaside_lab.course import labgen
from cacheaside_lab.widgets.predict import LOCKED_LABEL
from jupyterlab_ui import (
    CHROMIUM_ARGS,
    ENABLE_HINT,
    WIDGET_ERRORS,
    WIDGET_LOADING,
    JupyterLabServer,
    NotebookPage,
    copy_course,
    find_chromium,
)
from notebook_files import LABS, NOTEBOOKS, ROOT, SOLUTIONS, read, tags


def _browser_missing() -> str | None:
    if find_chromium() is None:
        return "no Chromium found"
    if importlib.util.find_spec("playwright") is None:
        return "Playwright is not installed (pip install -e '.[test]')"
    return None


# Decided once for the whole module, so a machine without a browser gets one line, not one per test.
if _missing := _browser_missing():
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but the browser tests cannot run: {_missing}; {ENABLE_HINT} (.ci/run does).", pytrace=False)
    pytest.skip(f"browser tests skipped: {_missing}; {ENABLE_HINT}.", allow_module_level=True)

CHROMIUM = find_chromium()
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
VIEWPORT = {"width": 1280, "height": 900}
MAX_CONTROLS_PER_WIDGET = 12
REDRAW_TIMEOUT_S = 20.0


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


# --- the session: one browser, one JupyterLab, a summary line at the end ---------------------


class BrowserReport:
    """Collects what the suite did, and prints where the screenshots are when pytest finishes."""

    def __init__(self):
        self.started = time.monotonic()
        self.finished = self.started
        self.notebooks: list[str] = []
        self.screenshots = 0

    def pytest_terminal_summary(self, terminalreporter):
        if self.notebooks:
            terminalreporter.write_line(
                f"browser tests: {len(self.notebooks)} notebooks driven in JupyterLab in "
                f"{self.finished - self.started:.0f} s; {self.screenshots} screenshots in {SCREENSHOTS}"
            )


@pytest.fixture(scope="session")
def chromium() -> str:
    return CHROMIUM


@pytest.fixture(scope="session")
def report(request, chromium) -> BrowserReport:
    if "PYTEST_XDIST_WORKER" not in os.environ:  # a worker clears only its own notebooks' folders
        shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    collected = BrowserReport()
    request.config.pluginmanager.register(collected, "cacheaside-browser-report")
    return collected


# Module scope, not session: Playwright's sync API runs an event loop in the main thread for as
# long as it is open, and the notebook runners of later test modules must not share it.
@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory, chromium):
    base = tmp_path_factory.mktemp("jupyterlab")
    root = base / "root"
    root.mkdir()
    copy_course(ROOT, root)
    server = JupyterLabServer(root, base / "state").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        context = launched.new_context(viewport=VIEWPORT)
        context.set_default_timeout(30_000)
        yield context
        context.close()
        launched.close()


@pytest.fixture
def learner(browser, jupyterlab, report):
    """Open a notebook in a fresh page; afterwards close the page and end its kernel."""
    pages = []

    def open_notebook(path: Path) -> NotebookPage:
        page = browser.new_page()
        page.crashes = []
        page.on("pageerror", lambda error: page.crashes.append(str(error)))
        pages.append(page)
        notebook = NotebookPage(page, jupyterlab, relative(path)).open()
        notebook.command("application:toggle-left-area")  # more room for the notebook
        report.notebooks.append(relative(path))
        return notebook

    yield open_notebook
    for page in pages:
        page.close()
    jupyterlab.shut_down_kernels()
    report.finished = time.monotonic()


def save_screenshots(notebook: NotebookPage, path: Path, report: BrowserReport) -> None:
    shutil.rmtree(SCREENSHOTS / path.stem, ignore_errors=True)  # this run's screenshots only
    report.screenshots += len(notebook.screenshots(SCREENSHOTS / path.stem))


# --- what counts as a problem on the page --------------------------------------------------


def output_problems(cells: list[dict], *, allowed_errors=lambda cell: False) -> list[str]:
    """Errors, stderr, unexecuted cells and widget failures, one line each."""
    problems = []
    for cell in cells:
        if cell["type"] != "code":
            continue
        where = f"cell {cell['index']} ({cell['source'].strip().splitlines()[0][:50] if cell['source'].strip() else 'empty'})"
        if cell["source"].strip() and cell["executionCount"] is None:
            problems.append(f"{where} was never executed (did Run All stop early?)")
        for output in cell["outputs"]:
            if output["output_type"] == "error" and not allowed_errors(cell):
                first_line = ((output["evalue"] or "").splitlines() or [""])[0]
                problems.append(f"{where} raised {output['ename']}: {first_line}")
            elif output["output_type"] == "stream" and output["name"] == "stderr":
                problems.append(f"{where} wrote to stderr: {(output['text'] or '').strip()[:200]}")
        shown = cell.get("renderedText") or ""
        for message in WIDGET_ERRORS:
            if message in shown:
                problems.append(f"{where} shows {message!r} instead of its widget")
        if WIDGET_LOADING in shown:
            problems.append(f"{where} still shows {WIDGET_LOADING!r}: the widget never appeared")
    return problems


def page_crashes(notebook: NotebookPage) -> list[str]:
    return [f"uncaught error in the page: {error[:200]}" for error in notebook.page.crashes]


def exercise_widgets(notebook: NotebookPage, redraw_timeout_s: float = REDRAW_TIMEOUT_S) -> list[str]:
    """Each widget is drawn; moving each of its controls changes what it draws."""
    problems = []
    for index in notebook.widget_cells():
        if notebook.rendered_widgets(index) == 0:
            problems.append(f"cell {index}: outputs a widget, but nothing is drawn")
            continue
        # the controls a learner can reach: enabled, and not hidden (e.g. in a closed tab)
        controls = [c for c in notebook.controls(index) if c["visible"] and not c["disabled"]]
        controls = controls[:MAX_CONTROLS_PER_WIDGET]
        for control in controls:
            before = notebook.drawn(index, skip=control["index"])
            done = notebook.move_control(index, control)
            deadline = time.monotonic() + redraw_timeout_s
            while notebook.drawn(index, skip=control["index"]) == before and time.monotonic() < deadline:
                time.sleep(0.2)
            notebook.wait_until_idle()
            if notebook.drawn(index, skip=control["index"]) == before:
                problems.append(
                    f"cell {index}: {control['kind']} {control['label']!r}: {done}, "
                    f"but nothing else in the widget changed within {redraw_timeout_s:.0f} s"
                )
    return problems


# --- the tests ------------------------------------------------------------------------------

CANARY_CELLS = [
    'import sys\nprint("a warning nobody reads", file=sys.stderr)',
    # a widget whose control is wired to nothing: moving it changes nothing else
    "import ipywidgets as widgets\n"
    'dead = widgets.IntSlider(value=2, min=0, max=10, description="dead", continuous_update=False)\n'
    'display(widgets.VBox([dead, widgets.Label("I never change")]))',
    # a widget that responds to both of its controls
    'live = widgets.IntSlider(value=2, min=0, max=10, description="live", continuous_update=False)\n'
    'choice = widgets.Dropdown(options=["a", "b"], description="choice")\n'
    "shown = widgets.Label()\n"
    'update = lambda change=None: setattr(shown, "value", f"{live.value} {choice.value}")\n'
    'live.observe(update, names="value"); choice.observe(update, names="value"); update()\n'
    "display(widgets.VBox([live, choice, shown]))",
    # a widget that redraws a matplotlib figure in an Output widget
    "import matplotlib.pyplot as plt\n"
    'k = widgets.FloatSlider(value=1, min=1, max=5, description="slope", continuous_update=False)\n'
    "out = widgets.Output()\n"
    "def draw(change=None):\n"
    "    with out:\n"
    "        out.clear_output(wait=True)\n"
    '        plt.plot([0, 1], [0, k.value]); plt.title("a line"); plt.show()\n'
    'k.observe(draw, names="value"); draw()\n'
    "display(widgets.VBox([k, out]))",
    # one of every other kind of control, all wired to one label
    "controls = [widgets.ToggleButtons(options=['x', 'y']), widgets.Checkbox(description='tick'),\n"
    "            widgets.IntText(value=1), widgets.RadioButtons(options=['p', 'q']),\n"
    "            widgets.IntSlider(value=1, max=9, orientation='vertical', continuous_update=False),\n"
    "            widgets.SelectionSlider(options=['lo', 'mid', 'hi'], continuous_update=False),\n"
    "            widgets.Select(options=['s', 't']), widgets.ToggleButton(description='on/off')]\n"
    "button, said = widgets.Button(description='count'), widgets.Label()\n"
    "clicks = []\n"
    "def say(change=None):\n"
    "    said.value = ' '.join(str(c.value) for c in controls) + f' clicks={len(clicks)}'\n"
    "for c in controls:\n"
    "    c.observe(say, names='value')\n"
    "button.on_click(lambda b: (clicks.append(1), say())); say()\n"
    "display(widgets.VBox([*controls, button, said]))",
    # a view of a widget model that does not exist in the kernel
    'display({"application/vnd.jupyter.widget-view+json": '
    '{"model_id": "0" * 32, "version_major": 2, "version_minor": 0}, "text/plain": "gone"}, raw=True)',
    'raise ValueError("boom")',
    'print("Run All stops before this cell")',
]


def test_the_harness_sees_what_a_learner_would_see(learner, jupyterlab):
    """A notebook with every fault the suite looks for, so a green suite means something."""
    import nbformat

    path = jupyterlab.root / "harness" / "canary.ipynb"
    path.parent.mkdir(exist_ok=True)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in CANARY_CELLS])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, path)

    page = learner(ROOT / "harness" / "canary.ipynb")
    problems = "\n".join(output_problems(page.run_all()))
    assert "cell 0 (import sys) wrote to stderr: a warning nobody reads" in problems
    assert "cell 5" in problems and "instead of its widget" in problems
    assert "cell 6 (raise ValueError(\"boom\")) raised ValueError: boom" in problems
    assert "cell 7" in problems and "never executed" in problems
    assert not [line for line in problems.splitlines() if line.startswith(("cell 1", "cell 2", "cell 3", "cell 4"))]

    widget_problems = exercise_widgets(page, redraw_timeout_s=4)
    assert any(p.startswith("cell 1: widget-slider 'dead'") for p in widget_problems), widget_problems
    # every control of the live widgets redraws something: sliders, dropdown, toggle and radio
    # buttons, checkbox, text, list, button
    assert not [p for p in widget_problems if p.startswith(("cell 2", "cell 3", "cell 4"))], widget_problems
    assert len(page.controls(4)) == 9


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_lecture_runs_clean_and_its_widgets_respond(path, learner, report):
    notebook = learner(path)
    cells = notebook.run_all()
    save_screenshots(notebook, path, report)
    problems = output_problems(cells) + page_crashes(notebook)
    assert not problems, f"{path.name} in JupyterLab:\n  " + "\n  ".join(problems)

    problems = exercise_widgets(notebook)
    cells = notebook.cells()
    problems += question_problems(cells) + output_problems(cells) + page_crashes(notebook)
    assert not problems, f"{path.name} widgets in JupyterLab:\n  " + "\n  ".join(problems)


ASKS_A_QUESTION = re.compile(r"\bask\(")


def question_problems(cells: list[dict]) -> list[str]:
    """After its controls were moved (a pick, then the lock-in button), each question widget shows
    the guess locked in, its verdict and the explanation, as a learner who guessed would see."""
    problems = []
    for cell in cells:
        if cell["type"] != "code" or not ASKS_A_QUESTION.search(cell["source"]):
            continue
        shown = cell["renderedText"]
        for expected, meaning in ((LOCKED_LABEL, "the lock-in button's locked label"),
                                  ("You locked in:", "the guess it locked in"),
                                  ("Why.", "the explanation")):
            if expected not in shown:
                problems.append(f"question cell {cell['index']} does not show {meaning} ({expected!r}): {shown[:200]!r}")
        if not re.search(r"(✅ Right|❌ Not quite)", shown):
            problems.append(f"question cell {cell['index']} shows no verdict after the guess: {shown[:200]!r}")
    return problems


def solution_cells_for(lab: Path):
    """The solution's cells that the lab keeps, in the lab's order (labgen drops solution-only)."""
    name = lab.name[: -len(labgen.LAB_SUFFIX)] + labgen.SOLUTION_SUFFIX
    solution = ROOT / "solutions" / name
    assert solution in SOLUTIONS, f"{lab.name} has no solution notebook {name}"
    return [cell for cell in read(solution).cells if "solution-only" not in tags(cell)]


def learner_answer(solution_source: str) -> str:
    """The solution's code as a learner would type it: the same code, without the markers."""
    return "\n".join(
        line for line in solution_source.splitlines() if labgen.BEGIN not in line and labgen.END not in line
    )


@pytest.mark.parametrize("path", LABS, ids=[p.name for p in LABS])
def test_lab_gives_feedback_then_passes_once_an_exercise_is_solved(path, learner, report):
    notebook = learner(path)
    cells = notebook.run_all()

    # Untouched: every check answers with feedback, not a traceback.
    def expected_to_fail(cell):
        return "raises-exception" in cell["tags"]

    problems = output_problems(cells, allowed_errors=expected_to_fail) + page_crashes(notebook)
    checks = [cell for cell in cells if "check" in cell["tags"]]
    assert checks, f"{path.name} has no check cells"
    for cell in checks:
        errors = [o for o in cell["outputs"] if o["output_type"] == "error"]
        shown = cell["renderedText"]
        if not errors or errors[0]["ename"] != "CheckFailed":
            problems.append(f"check cell {cell['index']} did not fail with CheckFailed on the untouched lab")
        for expected in ("✘", "not passed yet", "What we tried", "What went wrong", "Hint"):
            if expected not in shown:
                problems.append(f"check cell {cell['index']} does not show {expected!r}; it shows: {shown[:300]!r}")
        if "Traceback" in shown or "File \"" in shown:
            problems.append(f"check cell {cell['index']} shows a traceback instead of feedback: {shown[:300]!r}")
    assert not problems, f"{path.name}, untouched, in JupyterLab:\n  " + "\n  ".join(problems)

    # Solve the first exercise: type the solution's code into its cell, run it, run its check.
    solution = solution_cells_for(path)
    assert len(solution) == len(cells), f"{path.name} is out of sync with its solution: run `make labs`"
    # the first exercise's cell: a stub that raises, or a literal answer left as `name = ...`
    stub = next(c for c in cells if c["type"] == "code" and labgen.BEGIN in solution[c["index"]].source)
    check = next(c for c in cells[stub["index"] + 1 :] if "check" in c["tags"])
    answer = learner_answer(solution[stub["index"]].source)
    typed = notebook.replace_cell_source(stub["index"], answer)
    assert typed == answer, f"typing into cell {stub['index']} gave different code:\n{typed}"
    ran = notebook.run_cell(stub["index"])
    assert not [o for o in ran["outputs"] if o["output_type"] == "error"], f"the solution's code failed: {ran['outputs']}"
    checked = notebook.run_cell(check["index"])
    save_screenshots(notebook, path, report)
    shown = checked["renderedText"]
    assert "✔" in shown and ": passed." in shown, f"check cell {check['index']} after solving shows: {shown!r}"
    assert not [o for o in checked["outputs"] if o["output_type"] == "error"]
    assert not page_crashes(notebook), page_crashes(notebook)
