"""How the suite is spread over pytest-xdist workers (`make test` runs ``-n N --dist loadscope``).

Here, at the root, so it also applies to `pytest notebooks/` alone. With ``--dist loadscope``
the scheduler below gives every test a group, and a worker runs a whole group, in collection
order. By default the group is the test's file, which keeps together what must stay together:

* a notebook's nbval cells share one kernel and run in order (one group per notebook);
* a module's module-scoped fixtures (a private redis-server, a built venv) are set up once.

Two files are split further, because each is long enough to leave the other workers idle:
the real-Redis notebook runs (one group per notebook; each needs only its own server), and the
browser tests (lectures and labs, each in two groups of even and odd numbers; each group
starts its own JupyterLab).
The tests that read one shared execution of each untouched lab (the ``untouched_lab`` fixture)
share a group, so each lab is executed once. The longest groups are collected, and so sent,
first, so that no worker is left finishing a long group alone at the end.

(The groups are computed here from node ids rather than with ``xdist_group`` marks: with
pytest 9, pytest-xdist 3.8's ``--dist loadgroup`` no longer sees the marks.)
"""

from __future__ import annotations

import re

import pytest

BROWSER = "tests/test_browser_ui.py::"
REAL_REDIS = "tests/test_notebooks_real_redis.py::"
# tests that read the untouched_lab fixture's shared run
UNTOUCHED = (
    "tests/test_labs.py::test_untouched_lab_fails_every_check_with_feedback",
    "tests/test_grading.py::test_untouched_lab_fails_every_exercise_with_its_feedback",
)
# groups that take longest, sent first (the rest keep their collection order)
LONG_FIRST = ("browser-labs", "browser-lectures", "real-redis:", "untouched-labs")


def group_of(nodeid: str) -> str:
    if nodeid.startswith(BROWSER):
        # lectures, and labs, split by the parity of their number: two groups each of about equal length
        number = re.search(r"\[(\d+)_", nodeid)
        if "_lab" in nodeid or "harness" in nodeid:
            return f"browser-labs-{int(number.group(1)) % 2 if number else 0}"
        return f"browser-lectures-{int(number.group(1)) % 2 if number else 0}"
    if nodeid.startswith(REAL_REDIS):
        return f"real-redis:{nodeid}"
    if nodeid.startswith(UNTOUCHED):
        return "untouched-labs"
    return nodeid.split("::", 1)[0]


def priority(nodeid: str) -> int:
    group = group_of(nodeid)
    return next((rank for rank, prefix in enumerate(LONG_FIRST) if group.startswith(prefix)), len(LONG_FIRST))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    if hasattr(config, "workerinput"):  # an xdist worker: the controller schedules in this order
        items.sort(key=lambda item: priority(item.nodeid))  # stable: collection order within a rank


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist: unknown without it
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class CourseScheduling(LoadScopeScheduling):
        """loadscope, with the groups of ``group_of`` as its scopes."""

        def _split_scope(self, nodeid: str) -> str:
            return group_of(nodeid)

    return CourseScheduling(config, log)
