"""Where the course's keys live, and the only way it deletes them.

Every key the course writes starts with one root namespace (``cacheaside-lab:`` unless you set
``CACHEASIDE_NAMESPACE``). That is what makes it safe to point the notebooks at a Redis that
already holds real data: someone else's ``product:42`` is a different key from our
``cacheaside-lab:product:42``, and cleanup walks our namespace with SCAN and deletes only what it
finds there. Nothing in the course ever empties a whole database, so nothing else is lost.
"""

from __future__ import annotations

import os

from .validation import require_count, require_text

DEFAULT_NAMESPACE = "cacheaside-lab:"
NAMESPACE_ENV = "CACHEASIDE_NAMESPACE"

_GLOB_SPECIAL = "\\*?[]"


def root_namespace() -> str:
    """The configured root namespace: ``$CACHEASIDE_NAMESPACE`` or ``cacheaside-lab:``."""
    namespace = os.environ.get(NAMESPACE_ENV, DEFAULT_NAMESPACE)
    return require_text(NAMESPACE_ENV, namespace)


def make_key(prefix: str, item_id, *, namespace: str | None = None) -> str:
    """``make_key("product", 42)`` → ``"cacheaside-lab:product:42"``."""
    require_text("prefix", prefix)
    root = root_namespace() if namespace is None else require_text("namespace", namespace)
    return f"{root}{prefix}:{item_id}"


def glob_escape(text: str) -> str:
    """Escape Redis glob characters so a namespace matches only itself in SCAN MATCH."""
    return "".join("\\" + ch if ch in _GLOB_SPECIAL else ch for ch in text)


def course_keys(client, prefix: str = "", *, namespace: str | None = None, count: int = 500):
    """Iterate over the course's keys (optionally only those under ``prefix``) with SCAN."""
    root = root_namespace() if namespace is None else require_text("namespace", namespace)
    pattern = glob_escape(root + prefix) + "*"
    yield from client.scan_iter(match=pattern, count=count)


def clear_course_keys(
    client, prefix: str = "", *, namespace: str | None = None, batch: int = 500
) -> int:
    """Delete the course's keys (all of them, or those under ``prefix``); return how many.

    SCAN walks the keyspace in small steps without blocking the server, and every key it yields
    already matches our namespace, so this can never remove data that is not the course's.
    """
    require_count("batch", batch, minimum=1)
    deleted = 0
    pending: list = []
    for key in course_keys(client, prefix, namespace=namespace, count=batch):
        pending.append(key)
        if len(pending) >= batch:
            deleted += client.delete(*pending)
            pending.clear()
    if pending:
        deleted += client.delete(*pending)
    return deleted
