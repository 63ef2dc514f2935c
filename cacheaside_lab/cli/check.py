"""Grade a lab notebook: run it in a fresh kernel and report each exercise as passed or failed.

Prints one line per exercise (with the check's feedback under a failed one) and a summary
``N passed, M failed``. Exit status: 0 when every exercise passed, 1 when any failed, 2 when the
notebook cannot be graded (missing, not a notebook, no check cells). ``--json`` prints one
object for instructors who collect results:

    for lab in submissions/*.ipynb; do cacheaside-lab check "$lab" --json > "$lab.json"; done
"""

from ..grading import DEFAULT_TIMEOUT_S, grade
from ..validation import require_positive
from .output import add_json_flag, emit

HELP = "grade a lab notebook: run it in a fresh kernel, report each exercise passed/failed"


def add_arguments(parser) -> None:
    parser.add_argument("notebook", help="the lab to grade, e.g. labs/01_the_pattern_lab.ipynb")
    parser.add_argument(
        "--timeout",
        type=int,
        default=DEFAULT_TIMEOUT_S,
        help=f"seconds a cell may run before it is interrupted (default {DEFAULT_TIMEOUT_S})",
    )
    parser.add_argument("--redis-url", help="run the checks against this Redis instead of the in-process fakeredis")
    add_json_flag(parser)


def run(args) -> int:
    require_positive("--timeout", args.timeout)
    result = grade(args.notebook, timeout=args.timeout, redis_url=args.redis_url)
    emit(args, result.to_dict(), result.to_text())
    return 1 if result.failed else 0
