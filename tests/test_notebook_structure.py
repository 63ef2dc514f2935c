"""Every lecture, lab and solution follows the course's shape (see CONTRIBUTING.md).

Lectures open with a time estimate and objectives, end with key takeaways and a pointer onwards,
are committed executed without errors, label their plots, and link only to files that exist.
Labs are committed clean; solutions executed, with every check passing.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest

from notebook_files import CHECK_MARK, LABS, NOTEBOOKS, ROOT, SOLUTIONS, code_cells, read, tags, text_of

LINK = re.compile(r"\]\(([^)\s]+)\)")


def ids(paths):
    return [path.name for path in paths]


def test_there_is_a_course():
    assert NOTEBOOKS and SOLUTIONS and LABS
    assert NOTEBOOKS[0].name == "00_start_here.ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS + SOLUTIONS + LABS, ids=ids(NOTEBOOKS + SOLUTIONS + LABS))
def test_python3_kernel_and_markdown_links_resolve(path):
    notebook = read(path)
    assert notebook.metadata.get("kernelspec", {}).get("name") == "python3"
    for cell in notebook.cells:
        if cell.cell_type != "markdown":
            continue
        for target in LINK.findall(cell.source):
            if target.startswith(("http://", "https://", "#", "mailto:")):
                continue
            linked = (path.parent / unquote(target.split("#")[0])).resolve()
            assert linked.exists(), f"{path.name} links to {target}, which does not exist"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_lecture_shape(path):
    notebook = read(path)
    opening = notebook.cells[0]
    assert opening.cell_type == "markdown" and opening.source.startswith("# ")
    assert re.search(r"\*\*Time:\*\*\s*(about\s*)?\d+", opening.source), "state an estimated time up front"
    assert "objectives" in opening.source.lower() or "you will" in opening.source.lower()
    markdown = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    assert "## Key takeaways" in markdown
    assert "## Next" in markdown
    assert any(CHECK_MARK in cell.source for cell in code_cells(notebook)), (
        "mark the cells whose numbers the prose quotes with # NBVAL_CHECK_OUTPUT"
    )


@pytest.mark.parametrize("path", NOTEBOOKS + SOLUTIONS, ids=ids(NOTEBOOKS + SOLUTIONS))
def test_committed_executed_without_errors(path):
    for cell in code_cells(read(path)):
        assert cell.execution_count is not None, f"{path.name}: run `make notebooks` before committing"
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, f"{path.name}: a committed cell shows {errors[0].ename}"


@pytest.mark.parametrize("path", NOTEBOOKS + SOLUTIONS, ids=ids(NOTEBOOKS + SOLUTIONS))
def test_every_cell_says_why_before_how(path):
    """A sentence of why before each code cell; only a lab's check cell may follow its exercise directly."""
    previous = None
    for index, cell in enumerate(read(path).cells):
        if cell.cell_type == "code" and previous == "code" and "check" not in tags(cell):
            pytest.fail(f"{path.name}: cell {index} follows a code cell with no explanation between them")
        previous = cell.cell_type


FIGURE = re.compile(r"plt\.(subplots|figure)\(")


@pytest.mark.parametrize("path", NOTEBOOKS + SOLUTIONS, ids=ids(NOTEBOOKS + SOLUTIONS))
def test_plots_have_titles_labelled_axes_and_end_cleanly(path):
    for cell in code_cells(read(path)):
        if not FIGURE.search(cell.source):
            continue
        last = cell.source.rstrip().splitlines()[-1].strip()
        assert last == "plt.show()" or last.endswith(";"), f"{path.name}: end plot cells with plt.show()"
        for part in ("title", "xlabel", "ylabel"):
            assert part in cell.source, f"{path.name}: a plot cell without a {part}"


@pytest.mark.parametrize("path", LABS, ids=ids(LABS))
def test_labs_are_committed_clean(path):
    for cell in code_cells(read(path)):
        assert not cell.outputs and cell.execution_count is None, f"{path.name}: labs ship without outputs"


@pytest.mark.parametrize("path", SOLUTIONS, ids=ids(SOLUTIONS))
def test_solution_checks_pass_in_the_committed_outputs(path):
    checks = [cell for cell in code_cells(read(path)) if "check" in tags(cell)]
    assert checks, f"{path.name} has no cells tagged 'check'"
    for cell in checks:
        assert "passed" in text_of(cell.outputs), f"{path.name}: a check cell did not print its pass line"


def test_every_lab_has_a_lecture():
    lectures = {path.name[:2] for path in NOTEBOOKS}
    for lab in LABS:
        assert lab.name[:2] in lectures, f"{lab.name} has no lecture notebook"
    assert (ROOT / "labs").is_dir()
