"""The same notebooks, unchanged, against a real Redis, run as a confined workshop learner.

nbval runs every notebook on the default in-process fakeredis. Here each lecture and solution
runs again in a fresh kernel as a learner of a workshop: ``CACHEASIDE_REDIS_URL`` and
``CACHEASIDE_NAMESPACE`` are those ``cacheaside_lab.workshop.provision`` gives a fresh ACL user
on a private redis-server (only the keys under its namespace, only the course's commands). It
must finish without errors (so nothing the course sends is refused by that ACL) and print the
same checked numbers (the cells marked ``NBVAL_CHECK_OUTPUT``) as the committed fakeredis run,
once timings are sanitized away; afterwards no key exists outside the learner's namespace.
Notebooks that start their own private redis-server (eviction, restarts) still do so.
"""

from __future__ import annotations

import re

import pytest

from cacheaside_lab.core.keys import DEFAULT_NAMESPACE, clear_course_keys
from cacheaside_lab.course.checks.framework import PASSED
from cacheaside_lab.course.execute import execute_notebook
from cacheaside_lab.stores.redis_server import RedisServer
from cacheaside_lab.workshop.acl import provision, revoke
from notebook_files import CHECK_MARK, NOTEBOOKS, SOLUTIONS, code_cells, load_sanitizers, read, sanitize, tags, text_of

SANITIZERS = load_sanitizers()
# Lines that name the backend are expected to differ between the two runs.
BACKEND_WORDS = ("fakeredis", "redis-server", "unix://")


@pytest.fixture(scope="module")
def notebook_redis(redis_server):
    """A server of its own, with ACL users made per notebook (the unit tests' server stays as is)."""
    with RedisServer() as server:
        yield server


@pytest.fixture
def learner(notebook_redis, request):
    """A freshly provisioned ACL user for one notebook (named after it), revoked afterwards."""
    admin = notebook_redis.client()
    name = re.sub(r"[^a-z0-9_.-]", "-", request.node.callspec.id.lower().removesuffix(".ipynb"))[:40]
    [access] = provision(admin, [f"nb-{name}"], server_url=notebook_redis.url)
    try:
        yield access
    finally:
        revoke(admin, [access.learner])
        clear_course_keys(admin, namespace=access.namespace)
        admin.close()


def comparable(text: str) -> list[str]:
    lines = sanitize(text, SANITIZERS).splitlines()
    return [line for line in lines if not any(word in line for word in BACKEND_WORDS)]


@pytest.mark.parametrize("path", NOTEBOOKS + SOLUTIONS, ids=[p.name for p in NOTEBOOKS + SOLUTIONS])
def test_notebook_runs_unchanged_on_real_redis(path, notebook_redis, learner):
    committed = code_cells(read(path))
    executed = code_cells(execute_notebook(path, redis_url=learner.redis_url, namespace=learner.namespace))
    for index, (before, after) in enumerate(zip(committed, executed)):
        errors = [o for o in after.outputs if o.output_type == "error"]
        assert not errors, (
            f"{path.name} cell {index} failed on real Redis as learner {learner.user}: {errors[0].ename}: {errors[0].evalue}"
        )
        if "check" in tags(after):  # a solution's check passes, and says so
            assert f": {PASSED}" in text_of(after.outputs), f"{path.name} check cell {index} printed no pass line on real Redis"
        if before.source.lstrip().startswith(f"# {CHECK_MARK}"):
            # the learner's keys carry their namespace where the committed run printed the default one
            printed = text_of(after.outputs).replace(learner.namespace, DEFAULT_NAMESPACE)
            assert comparable(printed) == comparable(text_of(before.outputs)), (
                f"{path.name} cell {index} printed different numbers on real Redis"
            )
    admin = notebook_redis.client()
    try:
        foreign = [key for key in admin.scan_iter() if not key.startswith(learner.namespace)]
    finally:
        admin.close()
    assert not foreign, f"{path.name} wrote keys outside the learner's namespace {learner.namespace!r}: {foreign[:10]}"
