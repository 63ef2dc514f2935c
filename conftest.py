"""How the suite is spread over pytest-xdist workers (`make test` runs ``-n N --dist loadgroup``).

Here, at the root, so it also applies to `pytest notebooks/` alone. Every test gets an
``xdist_group``: a worker runs a whole group, in collection order. By default the group is the
test's file, which keeps what must stay together together:

* a notebook's nbval cells share one kernel and run in order (one group per notebook);
* a module's module-scoped fixtures (a private redis-server, a built venv) are set up once.

Two files are split further, because each is long enough to leave the other workers idle:
the real-Redis notebook runs (one group per notebook; each needs only its own server), and the
browser tests (one group for the lectures, one for the labs; each group starts its own
JupyterLab). Tests that inspect one shared execution of a notebook (the ``untouched_lab``
fixture) share a group, so it is executed once. The longest groups are sent first, so no worker
is left finishing a long group alone at the end. Without xdist the marks do nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

# groups that take longest, started first (the rest keep their collection order)
LONG_FIRST = ("browser-lectures", "browser-labs", "real-redis:", "untouched-labs")


def group_of(item) -> str:
    path = Path(str(item.fspath))
    if path.name == "test_browser_ui.py":
        return "browser-labs" if "_lab" in item.name or "harness" in item.name else "browser-lectures"
    if path.name == "test_notebooks_real_redis.py":
        return f"real-redis:{item.name}"
    if "untouched_lab" in getattr(item, "fixturenames", ()):
        return "untouched-labs"
    return path.as_posix()


def priority(group: str) -> int:
    return next((rank for rank, prefix in enumerate(LONG_FIRST) if group.startswith(prefix)), len(LONG_FIRST))


def pytest_collection_modifyitems(config, items):
    groups = {}
    for item in items:
        groups[item] = group_of(item)
        item.add_marker(pytest.mark.xdist_group(groups[item]))
    if getattr(config.option, "dist", "no") == "loadgroup":
        # stable: within a priority, and within a group, collection order is kept
        items.sort(key=lambda item: priority(groups[item]))
