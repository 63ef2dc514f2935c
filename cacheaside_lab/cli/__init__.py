"""The ``cacheaside-lab`` command line: one small module per subcommand.

Each module in :data:`COMMANDS` provides ``HELP`` (one line), ``add_arguments(parser)`` and
``run(args) -> int``. Bad arguments are reported as one clear line on stderr with exit status 2,
never as a traceback, and never with the password of a Redis URL in it.
"""

from __future__ import annotations

import argparse
import importlib
import sys

import redis

from ..stores.redact import redact_secrets
from ..stores.redis_server import RedisServerUnavailable

COMMANDS = ("doctor", "redis", "clean", "race", "simulate", "herd", "fleet", "check", "workshop")

# Bad arguments, and a cache that does not answer: one line each, no traceback.
USER_ERRORS = (ValueError, TypeError, LookupError, RedisServerUnavailable, redis.RedisError)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cacheaside-lab",
        description="Cache-Aside Lab: experiments, simulations and checks for the cache-aside course.",
    )
    subcommands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"{__name__}.{name.replace('-', '_')}")
        command = subcommands.add_parser(name, help=module.HELP, description=module.__doc__)
        module.add_arguments(command)
        command.set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except USER_ERRORS as error:
        # an error may quote the Redis URL it was given: never print that URL's password
        print(f"cacheaside-lab {args.command}: error: {redact_secrets(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
