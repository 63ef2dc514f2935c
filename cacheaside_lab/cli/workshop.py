"""Give each learner of a workshop a confined Redis ACL user on one shared server (and take it back).

``cacheaside-lab workshop provision --redis-url ADMIN_URL --learners alice,bob --out creds.json``
creates one user per learner that may touch only the keys under its own namespace and run only
the commands the course needs, and writes each learner's ``CACHEASIDE_REDIS_URL`` and
``CACHEASIDE_NAMESPACE`` to ``creds.json`` (mode 0600: only the instructor reads it). Without
``--out`` it prints them, passwords masked unless ``--show-passwords``. Running it again keeps
every password found in the ``--out`` file; ``--rotate`` gives new ones. ``workshop revoke``
deletes the users (only users ``provision`` made); ``workshop list`` shows who is provisioned.
"""

from __future__ import annotations

from pathlib import Path

from ..stores.backend import connect_cache
from ..workshop.acl import (
    list_learners,
    provision,
    read_credentials,
    require_learners,
    revoke,
    server_url_without_credentials,
    write_credentials,
)
from .output import add_json_flag

HELP = "provision, list or revoke one confined Redis ACL user per workshop learner"
MAX_LEARNERS_FILE_BYTES = 1_000_000


def add_arguments(parser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    make = actions.add_parser("provision", help="create (or update) one ACL user per learner")
    _server(make)
    _learners(make)
    make.add_argument(
        "--server-url",
        help="the address learners connect to, if not the admin URL's (credentials in it are dropped)",
    )
    make.add_argument("--out", type=Path, help="write the learners' URLs and namespaces to this JSON file (mode 0600)")
    make.add_argument("--rotate", action="store_true", help="give every named learner a new password")
    make.add_argument("--show-passwords", action="store_true", help="print the learners' URLs with their passwords")
    add_json_flag(make)
    gone = actions.add_parser("revoke", help="delete the learners' ACL users (only users provision made)")
    _server(gone)
    _learners(gone)
    add_json_flag(gone)
    listing = actions.add_parser("list", help="show the learners provisioned on the server")
    _server(listing)
    add_json_flag(listing)


def _server(parser) -> None:
    parser.add_argument("--redis-url", required=True, help="an admin URL: a user allowed to run ACL")


def _learners(parser) -> None:
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--learners", help="learner names, comma-separated (alice,bob)")
    group.add_argument("--learners-file", type=Path, help="a text file with one learner name per line (# comments)")


def learner_names(args) -> list[str]:
    """The names from ``--learners`` or ``--learners-file``, validated (blank lines, # comments skipped)."""
    if args.learners is not None:
        names = [name.strip() for name in args.learners.split(",") if name.strip()]
    else:
        path = args.learners_file
        if not path.is_file():
            raise ValueError(f"--learners-file {str(path)!r} is not a file.")
        if path.stat().st_size > MAX_LEARNERS_FILE_BYTES:
            raise ValueError(f"--learners-file {str(path)!r} is larger than {MAX_LEARNERS_FILE_BYTES} bytes.")
        lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
        names = [line for line in lines if line]
    if not names:
        raise ValueError("no learner names given: --learners alice,bob or a --learners-file with one name per line.")
    return require_learners(names)


def run(args) -> int:
    return {"provision": _provision, "revoke": _revoke, "list": _list}[args.action](args)


def _provision(args) -> int:
    names = learner_names(args)
    server_url = server_url_without_credentials(args.server_url or args.redis_url)
    known = read_credentials(args.out) if args.out is not None and args.out.exists() else ()
    admin = connect_cache(args.redis_url)
    try:
        accesses = provision(admin, names, server_url=server_url, known=known, rotate=args.rotate)
    finally:
        admin.close()
    if args.out is not None:
        kept = [a for a in known if a.learner not in names]  # the file keeps the learners not named now
        write_credentials(args.out, kept + accesses, server_url=server_url)
    shown = lambda access: access.redis_url if args.show_passwords else access.redacted_url  # noqa: E731
    rows = [
        {"learner": a.learner, "user": a.user, **a.environment(), "CACHEASIDE_REDIS_URL": shown(a)} for a in accesses
    ]
    if args.json:
        import json

        print(json.dumps({"server": server_url, "learners": rows, "credentials_file": str(args.out) if args.out else None}, indent=2))
        return 0
    print(f"{len(accesses)} learner(s) provisioned on {server_url}")
    print(_table(rows))
    if args.out is not None:
        print(f"credentials written to {args.out} (mode 0600: only you can read it)")
    elif not args.show_passwords:
        print("passwords masked: use --out FILE (or --show-passwords) to hand them out")
    return 0


def _revoke(args) -> int:
    names = learner_names(args)
    admin = connect_cache(args.redis_url)
    try:
        users = revoke(admin, names)
    finally:
        admin.close()
    missing = [name for name in names if f"cacheaside-lab-{name}" not in users]
    _emit(args, {"revoked": users, "not_found": missing},
          f"revoked {len(users)} user(s): {', '.join(users) or '-'}"
          + (f"\nno user for: {', '.join(missing)}" if missing else ""))
    return 0


def _list(args) -> int:
    admin = connect_cache(args.redis_url)
    try:
        found = list_learners(admin)
    finally:
        admin.close()
    text = f"{len(found)} learner(s) on {server_url_without_credentials(args.redis_url)}"
    if found:
        text += "\n" + _table([{**row, "enabled": "yes" if row["enabled"] else "NO"} for row in found])
    _emit(args, {"learners": found}, text)
    return 0


def _emit(args, result: dict, text: str) -> None:
    from .output import emit

    emit(args, result, text)


def _table(rows: list[dict]) -> str:
    columns = list(rows[0]) if rows else []
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in columns}
    lines = ["  ".join(c.ljust(widths[c]) for c in columns)]
    lines += ["  ".join(str(r[c]).ljust(widths[c]) for c in columns) for r in rows]
    return "\n".join(line.rstrip() for line in lines)
