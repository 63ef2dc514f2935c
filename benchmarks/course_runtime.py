"""The course's own run time: seconds per notebook in a fresh kernel, and the whole nbval suite.

A notebook that takes a minute to run top to bottom loses a workshop; this prints where the
time goes so the slow cells can be moved into vectorized package code.

    python benchmarks/course_runtime.py [--skip-suite]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from cacheaside_lab.course.execute import execute_notebook
from cacheaside_lab.course.tables import format_table

from _common import print_header

ROOT = Path(__file__).resolve().parent.parent


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-suite", action="store_true", help="only time the notebooks one by one")
    args = parser.parse_args(argv)
    print_header("The course's run time")
    rows = []
    for folder in ("notebooks", "solutions", "labs"):
        for path in sorted((ROOT / folder).glob("*.ipynb")):
            started = time.perf_counter()
            execute_notebook(path, allow_errors=folder == "labs")
            rows.append((f"{folder}/{path.name}", time.perf_counter() - started))
    print("Each notebook executed top to bottom in a fresh kernel (kernel start included):\n")
    print(format_table(rows, ["notebook", "seconds"], digits=1))
    print(f"\ntotal: {sum(seconds for _, seconds in rows):.1f} s over {len(rows)} notebooks; "
          f"slowest: {max(rows, key=lambda row: row[1])[0]}")
    if not args.skip_suite:
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "notebooks", "solutions", "labs"]
        started = time.perf_counter()
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr[-300:]
        print(f"\nnbval over notebooks/, solutions/ and labs/: {elapsed:.1f} s ({summary})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
