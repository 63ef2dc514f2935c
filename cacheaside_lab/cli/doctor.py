"""Check that this machine is ready for the course: Python, packages, cache backend, widgets."""

from ..course.environment import format_report, report
from .output import add_json_flag, emit

HELP = "check Python, packages, the cache backend and the widgets extension"


def add_arguments(parser) -> None:
    parser.add_argument("--redis-url", help="check this Redis instead of $CACHEASIDE_REDIS_URL / fakeredis")
    add_json_flag(parser)


def run(args) -> int:
    info = report(args.redis_url)
    emit(args, info, format_report(info))
    return 0 if info["ok"] else 1
