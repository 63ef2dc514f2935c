"""Run every benchmark and write their output, with the command that produced it, to RESULTS.md.

    python benchmarks/run_all.py            (or: make bench)
"""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent


def scripts() -> list[Path]:
    return sorted(path for path in HERE.glob("*.py") if not path.name.startswith(("_", "run_all")))


def main() -> int:
    sections = [
        "# Benchmark results",
        "",
        f"Written by `make bench` (`python benchmarks/run_all.py`) on "
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC. Each section is one script's output; "
        "rerun a single one with the command shown above it.",
        "",
    ]
    failed = 0
    for script in scripts():
        command = f"python benchmarks/{script.name}"
        print(f"running {command} …", flush=True)
        started = time.perf_counter()
        result = subprocess.run([sys.executable, str(script)], cwd=HERE.parent, capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        failed += result.returncode != 0
        output = result.stdout.rstrip()
        if result.returncode:
            output += f"\n\n(exit status {result.returncode})\n{result.stderr[-2000:]}"
        sections += [f"<!-- {script.name} -->", f"`$ {command}`  ({elapsed:.0f} s)", "", "```", output, "```", ""]
    (HERE / "RESULTS.md").write_text("\n".join(sections))
    print(f"wrote {HERE / 'RESULTS.md'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
