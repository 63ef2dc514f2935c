"""Delete the course's keys from the cache: only keys under the course's namespace, found with SCAN.

Safe on a Redis that holds other data: the course never empties a whole database.
"""

from ..backend import connect_cache, describe_backend
from ..keys import clear_course_keys, root_namespace
from .output import add_json_flag, emit

HELP = "delete the course's own keys (never anything outside its namespace)"


def add_arguments(parser) -> None:
    parser.add_argument("--redis-url", help="clean this Redis instead of $CACHEASIDE_REDIS_URL / fakeredis")
    parser.add_argument("--prefix", default="", help="only keys under this prefix inside the namespace")
    add_json_flag(parser)


def run(args) -> int:
    client = connect_cache(args.redis_url)
    deleted = clear_course_keys(client, args.prefix)
    pattern = f"{root_namespace()}{args.prefix}*"
    emit(
        args,
        {"deleted": deleted, "pattern": pattern, "backend": describe_backend(client)},
        f"deleted {deleted} keys matching {pattern} on {describe_backend(client)}",
    )
    return 0
