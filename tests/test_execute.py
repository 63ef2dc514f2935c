"""``course/execute.py``: bounded waits on a kernel, and a hang that fails fast naming its cell.

The full suite once sat ~10 minutes in ``test_notebooks_real_redis.py`` on lecture 06's widget
cell: the kernel had replied within a second, but the client's one long poll for the reply
missed the socket's wake-up and looked again only when the 600 s timeout ran out. Waits are now
sliced (a missed wake-up costs one slice), and a cell that really hangs fails at the timeout
with the notebook and the cell in the message.
"""

from __future__ import annotations

import asyncio
from queue import Empty

import nbformat
import pytest

from cacheaside_lab.course.execute import TIMEOUT_S, NotebookRunError, SteadyClient, execute_notebook, sliced_get_msg


def fake_channel(replies):
    """A channel's get_msg: each call takes the next item (Empty: nothing within that timeout)."""
    asked = []

    async def get_msg(timeout=None):
        asked.append(timeout)
        item = replies.pop(0) if replies else Empty
        if item is Empty:
            await asyncio.sleep(timeout or 0)
            raise Empty
        return item

    return get_msg, asked


def test_a_long_wait_is_cut_into_slices_and_returns_the_message():
    get_msg, asked = fake_channel([Empty, Empty, {"msg_type": "execute_reply"}])
    message = asyncio.run(sliced_get_msg(get_msg, slice_s=0.01)(timeout=600))
    assert message == {"msg_type": "execute_reply"}
    assert len(asked) == 3 and all(0 <= t <= 0.01 for t in asked)  # never one 600 s poll


def test_waiting_for_ever_is_sliced_too():
    get_msg, asked = fake_channel([Empty, {"msg_type": "status"}])
    assert asyncio.run(sliced_get_msg(get_msg, slice_s=0.01)(timeout=None)) == {"msg_type": "status"}
    assert asked == [0.01, 0.01]


def test_the_timeout_still_ends_the_wait():
    get_msg, asked = fake_channel([])
    with pytest.raises(Empty):
        asyncio.run(sliced_get_msg(get_msg, slice_s=0.01)(timeout=0.05))
    assert 1 <= len(asked) <= 10 and all(t <= 0.01 for t in asked)


def notebook(tmp_path, *sources):
    path = tmp_path / "probe.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources]), path)
    return path


def test_a_hung_cell_fails_fast_naming_the_notebook_and_the_cell(tmp_path):
    path = notebook(tmp_path, "x = 1", "import time\ntime.sleep(600)", "print('never')")
    with pytest.raises(NotebookRunError) as caught:
        execute_notebook(path, timeout=3)
    message = str(caught.value)
    assert str(path) in message and "cell 1 (it starts: 'import time')" in message
    assert "did not finish within 3 s" in message and caught.value.cell == 1


def test_a_kernel_that_dies_names_its_cell(tmp_path):
    path = notebook(tmp_path, "import os\nos._exit(1)")
    with pytest.raises(NotebookRunError, match=r"cell 0 .* killed its kernel"):
        execute_notebook(path)


def test_notebooks_run_with_sliced_waits_and_a_bounded_timeout(tmp_path):
    executed = execute_notebook(notebook(tmp_path, "print(6 * 7)"))
    assert executed.cells[0].outputs[0]["text"] == "42\n"
    assert 0 < TIMEOUT_S <= 300  # a hang fails the suite in minutes, not ten
    assert issubclass(SteadyClient, __import__("nbclient").NotebookClient)
