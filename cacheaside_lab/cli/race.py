"""Enumerate every interleaving of a small race on the real cache and database, and count the stale endings.

Readers run cache-aside's read path (GET, on a miss SELECT then SET); writers update product 42
and then do what the strategy says (SET the new row, DEL the key, DEL it twice, void the lease,
or leave a tombstone). Every step is one real command against the cache (fakeredis, or the Redis
in $CACHEASIDE_REDIS_URL) or the SQLite database. An execution ends stale when the cache is left
holding a row the database no longer has.
"""

from __future__ import annotations

from ..stores.backend import connect_cache, describe_backend
from ..core.keys import clear_course_keys
from ..races import STRATEGY_NAMES, RaceWorld, explore_interleavings
from ..races.explorer import MAX_ACTORS, check_enumerable
from ..course.tables import format_table
from .output import add_json_flag, emit

HELP = "count how many interleavings of readers and writers leave the cache stale"
PREFIX = "race-cli"


def add_arguments(parser) -> None:
    parser.add_argument("--strategy", required=True, choices=STRATEGY_NAMES,
                        help="how writers keep the cache in step")
    parser.add_argument("--readers", type=int, default=0, help="number of readers (default 0)")
    parser.add_argument("--writers", type=int, default=2, help="number of writers (default 2)")
    parser.add_argument("--redis-url", help="use this Redis instead of $CACHEASIDE_REDIS_URL / fakeredis")
    add_json_flag(parser)
    parser.epilog = f"At most {MAX_ACTORS} actors (readers + writers): every step is a real command."


def run(args) -> int:
    check_enumerable(args.readers, args.writers)  # a clear error before touching anything
    client = connect_cache(args.redis_url)
    try:
        result = explore_interleavings(args.strategy, args.readers, args.writers, world=RaceWorld(client, prefix=PREFIX))
    finally:
        clear_course_keys(client, f"{PREFIX}:")
    data = result.as_dict()
    data["backend"] = describe_backend(client)
    example = " ".join(f"{actor}:{step}" for actor, step in result.example_stale or ()) or "none"
    text = "\n".join([
        format_table(
            [[result.strategy, result.readers, result.writers, result.executions, result.stale,
              f"{100 * result.stale_share:.1f}%"]],
            ["strategy", "readers", "writers", "executions", "stale", "stale share"],
        ),
        f"one stale execution: {example}",
        f"({result.states:,} distinct states, {result.steps_run:,} real steps on {describe_backend(client)})",
    ])
    emit(args, data, text)
    return 0
