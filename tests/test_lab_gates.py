"""The untouched lab (stubs as generated) fails every one of its checks on a real redis-server.

Each gate runs where it is not already run: on fakeredis the untouched lab's kernel run in
``test_labs.py`` checks the same, and the solutions pass every check on fakeredis (nbval) and
on a real redis-server (``test_notebooks_real_redis.py``, which also counts the pass lines and
looks for keys outside the course namespace). Cells run in this process, under the namespace
guard of the ``backend`` fixture.
"""

from __future__ import annotations

import matplotlib
import pytest

from cacheaside_lab.course.checks import CheckFailed
from cacheaside_lab.course.checks.framework import NOT_ANSWERED
from notebook_files import LABS, run_cells_in_process, tags

matplotlib.use("Agg")


@pytest.mark.parametrize("backend", ["redis-server"], indirect=True)
@pytest.mark.parametrize("path", LABS, ids=[p.name for p in LABS])
def test_untouched_lab_fails_every_check(path, backend):
    for cell, error in run_cells_in_process(path):
        if "check" in tags(cell):
            assert isinstance(error, CheckFailed), f"{path.name}: a check did not fail on the stub: {error!r}"
            assert ("NotImplementedError" in str(error) or NOT_ANSWERED in str(error)) and "Hint:" in str(error)
        elif "raises-exception" in tags(cell):
            assert isinstance(error, NotImplementedError)
        else:
            assert error is None, f"{path.name}: {type(error).__name__}: {error}"
