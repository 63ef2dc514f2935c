"""Run every benchmark and write their output, with the command that produced it, to RESULTS.md.

    python benchmarks/run_all.py            (or: make bench)
    python benchmarks/run_all.py hit_path   re-run one script (or several) and replace only its section
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent


def scripts() -> list[Path]:
    return sorted(path for path in HERE.glob("*.py") if not path.name.startswith(("_", "run_all")))


def run(script: Path) -> tuple[str, bool]:
    """One script's section of RESULTS.md, and whether it succeeded."""
    command = f"python benchmarks/{script.name}"
    print(f"running {command} …", flush=True)
    started = time.perf_counter()
    result = subprocess.run([sys.executable, str(script)], cwd=HERE.parent, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    output = result.stdout.rstrip()
    if result.returncode:
        output += f"\n\n(exit status {result.returncode})\n{result.stderr[-2000:]}"
    section = "\n".join([f"<!-- {script.name} -->", f"`$ {command}`  ({elapsed:.0f} s)", "", "```", output, "```", ""])
    return section, result.returncode == 0


MANUAL = "<!-- measured by hand, kept by make bench -->"


def existing_sections(text: str) -> dict[str, str]:
    """The sections of an earlier RESULTS.md, by script name."""
    parts = re.split(r"(?m)^(?=<!-- \S+\.py -->$)", text)
    return {re.match(r"<!-- (\S+\.py) -->", part).group(1): part.rstrip() + "\n"
            for part in parts if part.startswith("<!-- ")}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("only", nargs="*", help="script names to re-run (default: all of them)")
    args = parser.parse_args(argv)
    chosen = scripts()
    known = {script.stem for script in chosen}
    unknown = sorted(set(args.only) - known)
    if unknown:
        parser.error(f"no benchmark named {', '.join(unknown)}; the benchmarks are: {', '.join(sorted(known))}")
    results = HERE / "RESULTS.md"
    earlier, _, manual = (results.read_text() if results.exists() else "").partition(MANUAL)
    sections = existing_sections(earlier) if args.only else {}
    failed = 0
    for script in chosen:
        if args.only and script.stem not in args.only:
            continue
        sections[script.name], ok = run(script)
        failed += not ok
    header = [
        "# Benchmark results",
        "",
        f"Written by `make bench` (`python benchmarks/run_all.py`); last updated "
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC. Each section is one script's output; "
        "rerun a single one with the command shown above it, or refresh its section with "
        "`python benchmarks/run_all.py NAME`.",
        "",
    ]
    ordered = [sections[script.name] for script in chosen if script.name in sections]
    # the sections measured by hand (the test suite's wall time) are kept as they are
    kept = f"{MANUAL}{manual}" if manual else ""
    results.write_text("\n".join(header) + "\n" + "\n".join(ordered) + ("\n" + kept if kept else ""))
    print(f"wrote {results}")
    return 1 if failed else 0

if __name__ == "__main__":
    sys.exit(main())
