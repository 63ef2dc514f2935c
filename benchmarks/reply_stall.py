"""How late a cell's ``execute_reply`` is read after the kernel went idle, plain nbclient against SteadyClient.

The full suite once sat ~10 minutes on lecture 06 (both kernel and client idle): the widget
cell's reply had reached the client's shell socket within a second, but nbclient's one poll for
it, as long as the cell timeout, missed the socket's wake-up and only looked again when the
timeout ran out. This runs a notebook several times on a private redis-server with each client
and, for every code cell, measures the gap between the kernel's ``status: idle`` and the reply
being read. With nbclient's own client a stranded reply costs the whole cell timeout (set low
here, ``--cell-timeout``); with ``course.execute.SteadyClient`` at most one poll slice (1 s).
It is a race, so it shows up under load and not on every run: run it beside a busy machine.

    python benchmarks/reply_stall.py [--runs 6] [--cell-timeout 30] [--notebook notebooks/06_thundering_herd.ipynb]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from cacheaside_lab.course.execute import SteadyClient, kernel_env
from cacheaside_lab.course.tables import format_table
from cacheaside_lab.stores.redis_server import RedisServer

from _common import print_header

ROOT = Path(__file__).resolve().parent.parent
LATE_S = 0.3  # a reply read later than this after the kernel's idle counts as stranded


def probe(base):
    """A client class that records, per cell, when the kernel went idle and when the reply was read."""

    class Probe(base):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.idle_at, self.gaps = None, []

        def process_message(self, msg, cell, cell_index):
            if msg["msg_type"] == "status" and msg["content"].get("execution_state") == "idle":
                self.idle_at = time.monotonic()
            return super().process_message(msg, cell, cell_index)

        async def async_execute_cell(self, cell, cell_index, **kwargs):
            self.idle_at = None
            result = await super().async_execute_cell(cell, cell_index, **kwargs)
            if cell.cell_type == "code" and cell.source.strip() and self.idle_at is not None:
                self.gaps.append((cell_index, time.monotonic() - self.idle_at))
            return result

    return Probe


def run_once(base, path: Path, redis_url: str, cell_timeout: int) -> list[tuple[int, float]]:
    client = probe(base)(
        nbformat.read(path, as_version=4), timeout=cell_timeout, kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    asyncio.run(client.async_execute(env=kernel_env(redis_url)))
    return client.gaps


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=6, help="runs of the notebook per client (default 6)")
    parser.add_argument("--cell-timeout", type=int, default=30, help="nbclient's per-cell timeout, s (default 30)")
    parser.add_argument("--notebook", type=Path, default=ROOT / "notebooks" / "06_thundering_herd.ipynb")
    args = parser.parse_args(argv)
    print_header("execute_reply read after the kernel's idle: plain nbclient vs SteadyClient")
    rows = []
    with RedisServer() as server:
        for name, base in (("nbclient NotebookClient", NotebookClient), ("execute.SteadyClient", SteadyClient)):
            stranded, worst, cells = [], 0.0, 0
            for _ in range(args.runs):  # bounded: --runs notebooks, each bounded by --cell-timeout per cell
                gaps = run_once(base, args.notebook, server.url, args.cell_timeout)
                cells += len(gaps)
                stranded += [(index, gap) for index, gap in gaps if gap > LATE_S]
                worst = max([worst] + [gap for _, gap in gaps])
            where = ", ".join(sorted({f"cell {i}" for i, _ in stranded})) or "-"
            rows.append([name, args.runs, cells, len(stranded), where, f"{worst * 1000:.0f} ms"])
    print(format_table(rows, ["client", "runs", "cells", f"replies read > {LATE_S:g} s late", "where", "worst gap"]))
    print(f"\n(nbclient's per-cell timeout: {args.cell_timeout} s; SteadyClient polls in 1 s slices)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
