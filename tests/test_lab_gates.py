"""Gates every lab must pass, on fakeredis and on a real redis-server:

* the worked solution passes every one of its checks;
* the untouched lab (stubs as generated) fails every one of its checks with CheckFailed.
"""

from __future__ import annotations

import matplotlib
import pytest

from cacheaside_lab.course.checks import CheckFailed
from notebook_files import LABS, SOLUTIONS, run_cells_in_process, tags

matplotlib.use("Agg")


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.name for p in SOLUTIONS])
def test_solution_passes_every_check(path, backend, capsys):
    passed = 0
    for cell, error in run_cells_in_process(path):
        assert error is None, f"{path.name}: {type(error).__name__}: {error}"
        passed += "check" in tags(cell)
    assert capsys.readouterr().out.count("passed.") == passed > 0


@pytest.mark.parametrize("path", LABS, ids=[p.name for p in LABS])
def test_untouched_lab_fails_every_check(path, backend):
    for cell, error in run_cells_in_process(path):
        if "check" in tags(cell):
            assert isinstance(error, CheckFailed), f"{path.name}: a check did not fail on the stub: {error!r}"
            assert "NotImplementedError" in str(error) and "Hint:" in str(error)
        elif "raises-exception" in tags(cell):
            assert isinstance(error, NotImplementedError)
        else:
            assert error is None, f"{path.name}: {type(error).__name__}: {error}"
