"""Delete the course's keys from the cache: only keys under the course's namespace, found with SCAN.

Safe on a Redis that holds other data: the course never empties a whole database. The namespace
is one ``:``-terminated segment (checked before anything is deleted), so cleaning
``cacheaside-lab-alice:`` can never touch ``cacheaside-lab-alice2:…``, and ``--prefix product``
selects ``product:…`` only, never ``products:…``.
"""

from ..stores.backend import connect_cache, describe_backend
from ..core.keys import clear_course_keys, prefix_start, root_namespace
from .output import add_json_flag, emit

HELP = "delete the course's own keys (never anything outside its namespace)"


def add_arguments(parser) -> None:
    parser.add_argument("--redis-url", help="clean this Redis instead of $CACHEASIDE_REDIS_URL / fakeredis")
    parser.add_argument(
        "--prefix", default="",
        help="only keys of this prefix inside the namespace (e.g. product or lab01:product)",
    )
    add_json_flag(parser)


def run(args) -> int:
    # Validate everything before connecting: a bad namespace or prefix deletes nothing.
    namespace = root_namespace()
    start = prefix_start(args.prefix) if args.prefix else ""
    client = connect_cache(args.redis_url)
    deleted = clear_course_keys(client, start, namespace=namespace)
    pattern = f"{namespace}{start}*"
    emit(
        args,
        {"deleted": deleted, "pattern": pattern, "namespace": namespace, "backend": describe_backend(client)},
        f"deleted {deleted} keys matching {pattern} on {describe_backend(client)}",
    )
    return 0
