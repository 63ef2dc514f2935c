"""Grade labs: one notebook, or a whole class's folder, each lab in a fresh kernel.

One notebook (``cacheaside-lab check labs/01_the_pattern_lab.ipynb``): one line per exercise
(with the check's feedback under a failed one) and a summary ``N passed, M failed``. Exit
status: 0 when every exercise passed, 1 when any failed (also when the lab was refused for
redefining a check, or its kernel died or was stopped), 2 when the notebook cannot be graded
(missing, not a notebook, no check cells, a bad namespace, a Redis user that may not write in the
namespace).

A class (``cacheaside-lab check submissions/``, or several folders and notebooks): every lab
found as ``submissions/<learner>/NN_topic_lab.ipynb`` or ``submissions/<learner>-NN_topic_lab.ipynb``
is graded in a grader process and kernel of its own, ``--jobs`` at a time, each within
``--timeout`` per cell and ``--notebook-timeout`` per notebook, so one learner's endless loop,
dead kernel or broken file costs only that learner's grade. It prints a table (learner x lab:
passed, failed, time-limit, crashed, refused or invalid, with exercises passed of total), what
went wrong for each lab that did not pass, and a summary. Exit status: 0 when every submission
passed, 1 when any did not, 2 when nothing could be graded (no submissions found, bad options,
a Redis that does not answer).

``--json`` prints one object instead (for a class: per learner, per lab, per exercise, with the
status and the feedback), complete even when a learner's code hangs or kills its kernel:

    cacheaside-lab check submissions/ --json > grades.json
"""

from pathlib import Path

from ..course.grading import DEFAULT_NOTEBOOK_TIMEOUT_S, DEFAULT_TIMEOUT_S, grade
from ..course.grading_class import DEFAULT_JOBS, MAX_JOBS, grade_class
from ..core.validation import require_count, require_non_negative, require_positive
from .output import add_json_flag, emit

HELP = "grade labs in fresh kernels: one notebook, or a class's folder of submissions (table or --json)"


def add_arguments(parser) -> None:
    parser.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="the lab to grade (labs/01_the_pattern_lab.ipynb), or folders of submissions "
        "(<learner>/NN_topic_lab.ipynb or <learner>-NN_topic_lab.ipynb) and notebooks to grade as a class",
    )
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
    parser.add_argument(
        "--jobs",
        type=int,
        default=DEFAULT_JOBS,
        help=f"for a class: labs graded at once, each in its own kernel (default {DEFAULT_JOBS}, at most {MAX_JOBS})",
    )
    parser.add_argument("--redis-url", help="run the checks against this Redis instead of the in-process fakeredis")
    parser.add_argument(
        "--namespace",
        help="the learner's key namespace on that Redis (default: $CACHEASIDE_NAMESPACE; without either, a "
        "private one that is removed afterwards); for a class, a template such as 'course-{learner}:'",
    )
    parser.add_argument(
        "--lock-wait",
        type=float,
        help="seconds to wait for another grading in the same namespace (default: --notebook-timeout)",
    )
    parser.add_argument(
        "--course-dir",
        help="the course folder (holding labs/ and solutions/) whose labs these are copies of, so an edited "
        "check cell is caught (default: the folder above the notebook's, when it holds solutions/; for a "
        "class, the current folder when it is the course)",
    )
    add_json_flag(parser)


def is_class(paths) -> bool:
    """More than one path, or a folder: grade as a class."""
    return len(paths) > 1 or Path(paths[0]).is_dir()


def run(args) -> int:
    require_positive("--timeout", args.timeout)
    require_positive("--notebook-timeout", args.notebook_timeout, unit="s")
    if args.lock_wait is not None:
        require_non_negative("--lock-wait", args.lock_wait, unit="s")
    if is_class(args.paths):
        require_count("--jobs", args.jobs, minimum=1, maximum=MAX_JOBS)
        result = grade_class(
            args.paths,
            timeout=args.timeout,
            notebook_timeout=args.notebook_timeout,
            jobs=args.jobs,
            redis_url=args.redis_url,
            namespace=args.namespace,
            course_dir=args.course_dir,
            lock_wait=args.lock_wait,
        )
        emit(args, result.to_dict(), result.to_text())
        return result.exit_status()
    result = grade(
        args.paths[0],
        timeout=args.timeout,
        redis_url=args.redis_url,
        namespace=args.namespace,
        notebook_timeout=args.notebook_timeout,
        lock_wait=args.lock_wait,
        course_dir=args.course_dir,
    )
    emit(args, result.to_dict(), result.to_text())
    return 1 if result.failed or not result.exercises else 0
