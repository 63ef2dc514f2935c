"""The same notebooks, unchanged, against a real Redis: one environment variable apart.

nbval runs every notebook on the default in-process fakeredis. Here each lecture and solution
runs again in a fresh kernel with ``CACHEASIDE_REDIS_URL`` pointing at a private redis-server;
it must finish without errors and print the same checked numbers (the cells marked
``NBVAL_CHECK_OUTPUT``) as the committed fakeredis run, once timings are sanitized away.
"""

from __future__ import annotations

import pytest

from cacheaside_lab.course.checks.framework import PASSED
from cacheaside_lab.core.keys import DEFAULT_NAMESPACE
from cacheaside_lab.course.execute import execute_notebook
from cacheaside_lab.stores.redis_server import RedisServer
from notebook_files import CHECK_MARK, NOTEBOOKS, SOLUTIONS, code_cells, load_sanitizers, read, sanitize, tags, text_of

SANITIZERS = load_sanitizers()
# Lines that name the backend are expected to differ between the two runs.
BACKEND_WORDS = ("fakeredis", "redis-server", "unix://")


@pytest.fixture(scope="module")
def notebook_redis(redis_server):
    """A server of its own: notebooks write under the default namespace, which the
    namespace-guarded unit tests sharing ``redis_server`` would rightly call foreign."""
    with RedisServer() as server:
        yield server


def comparable(text: str) -> list[str]:
    lines = sanitize(text, SANITIZERS).splitlines()
    return [line for line in lines if not any(word in line for word in BACKEND_WORDS)]


@pytest.mark.parametrize("path", NOTEBOOKS + SOLUTIONS, ids=[p.name for p in NOTEBOOKS + SOLUTIONS])
def test_notebook_runs_unchanged_on_real_redis(path, notebook_redis):
    committed = code_cells(read(path))
    executed = code_cells(execute_notebook(path, redis_url=notebook_redis.url))
    for index, (before, after) in enumerate(zip(committed, executed)):
        errors = [o for o in after.outputs if o.output_type == "error"]
        assert not errors, f"{path.name} cell {index} failed on real Redis: {errors[0].ename}: {errors[0].evalue}"
        if "check" in tags(after):  # a solution's check passes, and says so
            assert f": {PASSED}" in text_of(after.outputs), f"{path.name} check cell {index} printed no pass line on real Redis"
        if before.source.lstrip().startswith(f"# {CHECK_MARK}"):
            assert comparable(text_of(after.outputs)) == comparable(text_of(before.outputs)), (
                f"{path.name} cell {index} printed different numbers on real Redis"
            )
    foreign = [key for key in notebook_redis.client().scan_iter() if not key.startswith(DEFAULT_NAMESPACE)]
    assert not foreign, f"{path.name} wrote keys outside the course namespace {DEFAULT_NAMESPACE!r}: {foreign[:10]}"
