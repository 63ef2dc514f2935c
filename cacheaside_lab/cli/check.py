"""Grade a lab notebook: run it in a fresh kernel and report each exercise as passed or failed.

Prints one line per exercise (with the check's feedback under a failed one) and a summary
``N passed, M failed``. Exit status: 0 when every exercise passed, 1 when any failed (also when
the lab was refused for redefining a check, or its kernel died or was stopped), 2 when the
notebook cannot be graded (missing, not a notebook, no check cells, a bad namespace, a Redis
user that may not write in the namespace). ``--json`` prints one object for instructors who
collect results, complete even when the learner's code killed its kernel:

    for lab in submissions/*.ipynb; do cacheaside-lab check "$lab" --json > "$lab.json"; done
"""

from ..course.grading import DEFAULT_NOTEBOOK_TIMEOUT_S, DEFAULT_TIMEOUT_S, grade
from ..core.validation import require_non_negative, require_positive
from .output import add_json_flag, emit

HELP = "grade a lab notebook: run it in a fresh kernel, report each exercise passed/failed"


def add_arguments(parser) -> None:
    parser.add_argument("notebook", help="the lab to grade, e.g. labs/01_the_pattern_lab.ipynb")
    parser.add_argument(
        "--timeout",
        type=int,
        default=DEFAULT_TIMEOUT_S,
        help=f"seconds a cell may run before it is interrupted (default {DEFAULT_TIMEOUT_S}); "
        "a cell that ignores the interrupt has its kernel stopped",
    )
    parser.add_argument(
        "--notebook-timeout",
        type=float,
        default=DEFAULT_NOTEBOOK_TIMEOUT_S,
        help=f"seconds the whole notebook may run, kernel start included (default {DEFAULT_NOTEBOOK_TIMEOUT_S:g})",
    )
    parser.add_argument("--redis-url", help="run the checks against this Redis instead of the in-process fakeredis")
    parser.add_argument(
        "--namespace",
        help="the learner's key namespace on that Redis (default: $CACHEASIDE_NAMESPACE; "
        "without either, a private one that is removed afterwards)",
    )
    parser.add_argument(
        "--lock-wait",
        type=float,
        help="seconds to wait for another grading in the same namespace (default: --notebook-timeout)",
    )
    parser.add_argument(
        "--course-dir",
        help="the course folder (holding labs/ and solutions/) whose lab this is a copy of, so an edited "
        "check cell is caught (default: the folder above the notebook's, when it holds solutions/)",
    )
    add_json_flag(parser)


def run(args) -> int:
    require_positive("--timeout", args.timeout)
    require_positive("--notebook-timeout", args.notebook_timeout, unit="s")
    if args.lock_wait is not None:
        require_non_negative("--lock-wait", args.lock_wait, unit="s")
    result = grade(
        args.notebook,
        timeout=args.timeout,
        redis_url=args.redis_url,
        namespace=args.namespace,
        notebook_timeout=args.notebook_timeout,
        lock_wait=args.lock_wait,
        course_dir=args.course_dir,
    )
    emit(args, result.to_dict(), result.to_text())
    return 1 if result.failed or not result.exercises else 0
