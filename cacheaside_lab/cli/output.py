"""Helpers every subcommand shares: the ``--json`` flag and printing a result either way
(with any Redis password masked)."""

from __future__ import annotations

import json

from ..stores.redact import redact_secrets


def add_json_flag(parser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")


def emit(args, result: dict, text: str) -> None:
    """Print ``result`` as JSON when ``--json`` was given, otherwise the human-readable ``text``.

    Either way a Redis URL's password is masked: a last line of defence for every subcommand,
    whatever a result happens to quote.
    """
    print(redact_secrets(json.dumps(result, indent=2, sort_keys=True) if args.json else text))
