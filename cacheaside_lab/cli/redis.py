"""Start a throwaway redis-server on a Unix socket and keep it until Ctrl-C, SIGTERM or SIGHUP.

It listens on no TCP port, keeps nothing on disk and lives in its own temporary directory, so
it cannot disturb any other Redis on the machine. However it is stopped, the server goes with it
and its temporary directory is removed. Point the course at it with the
``CACHEASIDE_REDIS_URL`` line it prints.
"""

from ..stores.redis_server import EVICTION_POLICIES, serve_forever

HELP = "run a private redis-server for the course (needs the redis-server binary)"


def add_arguments(parser) -> None:
    parser.add_argument(
        "--maxmemory",
        help="memory limit such as 2mb, 512kb or 1048576 (bytes), to watch eviction happen; "
        "at most 2**64 - 1 bytes, Redis's limit",
    )
    parser.add_argument("--policy", default="allkeys-lru", choices=EVICTION_POLICIES, help="eviction policy")


def run(args) -> int:
    return serve_forever(maxmemory=args.maxmemory, policy=args.policy)
