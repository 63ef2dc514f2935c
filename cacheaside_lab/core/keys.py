"""Where the course's keys live, and the only way it deletes them.

Every key the course writes starts with one root namespace (``cacheaside-lab:`` unless you set
``CACHEASIDE_NAMESPACE``). That is what makes it safe to point the notebooks at a Redis that
already holds real data: someone else's ``product:42`` is a different key from our
``cacheaside-lab:product:42``, and cleanup walks our namespace with SCAN and deletes only what it
finds there. Nothing in the course ever empties a whole database, so nothing else is lost.

A key has three parts, each normalised here so the same item always gets the same key and no two
parts can be confused:

* the **namespace** is ONE segment (``cacheaside-lab-alice:``). Were ``cacheaside-lab:alice:``
  allowed, it would sit inside ``cacheaside-lab:`` and cleaning one would delete the other;
  without the trailing ``:``, ``cacheaside-lab-alice`` would also match ``cacheaside-lab-alice2``;
* the **prefix** is words joined by single ``:`` (``product``, ``listing:page``);
* the **id** never contains ``:``, so it is always the last segment: prefix ``a`` with id ``b:1``
  cannot collide with prefix ``a:b`` and id ``1``, and ``42``, ``42.0`` and ``" 42"`` are one item.
"""

from __future__ import annotations

import math
import os
import re
from functools import lru_cache
from numbers import Integral, Real

from .validation import require_count, require_text

DEFAULT_NAMESPACE = "cacheaside-lab:"
NAMESPACE_ENV = "CACHEASIDE_NAMESPACE"
MAX_NAMESPACE_CHARS = 64
MAX_PREFIX_CHARS = 200
MAX_ID_CHARS = 200

_GLOB_SPECIAL = "\\*?[]"
_SEGMENT = r"[A-Za-z0-9_.\-]"
_NAMESPACE_RE = re.compile(rf"{_SEGMENT}{{1,{MAX_NAMESPACE_CHARS}}}")
_PREFIX_RE = re.compile(rf"{_SEGMENT}+(?::{_SEGMENT}+)*")
_DECIMAL_RE = re.compile(r"[+-]?[0-9]+")
# refused anywhere in a text id: the separator, whitespace, control characters and glob characters
_BAD_ID_CHAR_RE = re.compile(r"[:\s\x00-\x1f\x7f*?\[\]\\]")


def normalize_namespace(text, *, name: str = "namespace") -> str:
    """``"cacheaside-lab-alice"`` → ``"cacheaside-lab-alice:"``; refuse anything but one segment.

    One segment of letters, digits, ``-``, ``_`` or ``.`` (1 to 64 characters), ending with ``:``
    (added when missing). Any other character, and any ``:`` before the end, is refused: that is
    what guarantees no namespace lies inside another or shares its first letters, so cleaning one
    learner's namespace never touches another's.
    """
    require_text(name, text)
    return _normalize_namespace(name, text)


@lru_cache(maxsize=256)
def _normalize_namespace(name: str, text: str) -> str:
    body = text[:-1] if text.endswith(":") else text
    if _NAMESPACE_RE.fullmatch(body):
        return body + ":"
    suggestion = re.sub(r"[^A-Za-z0-9_.\-]+", "-", body).strip("-")[:MAX_NAMESPACE_CHARS]
    suggestion = (suggestion or "cacheaside-lab-yourname") + ":"
    raise ValueError(
        f"{name} must be one segment of letters, digits, '-', '_' or '.' "
        f"(1 to {MAX_NAMESPACE_CHARS} characters) followed by one ':' (got {text!r}); a ':' inside "
        f"it would put one namespace inside another, so use e.g. {suggestion!r} instead."
    )


def root_namespace() -> str:
    """The configured root namespace, normalised: ``$CACHEASIDE_NAMESPACE`` or ``cacheaside-lab:``."""
    return normalize_namespace(os.environ.get(NAMESPACE_ENV, DEFAULT_NAMESPACE), name=NAMESPACE_ENV)


def _namespace_or_root(namespace) -> str:
    return root_namespace() if namespace is None else normalize_namespace(namespace)


def require_prefix(prefix, *, name: str = "prefix") -> str:
    """A key prefix: words of ``[A-Za-z0-9_.-]`` joined by single ``:`` (``"listing:page"``).

    No ``:`` at either end and no glob characters. Ids can never contain ``:``, so the id is
    always the key's last segment and a prefix cannot be mistaken for part of an id.
    """
    require_text(name, prefix)
    return _require_prefix(name, prefix)


@lru_cache(maxsize=1024)
def _require_prefix(name: str, prefix: str) -> str:
    if len(prefix) <= MAX_PREFIX_CHARS and _PREFIX_RE.fullmatch(prefix):
        return prefix
    raise ValueError(
        f"{name} must be words of letters, digits, '-', '_' or '.' joined by single ':' "
        f"(e.g. 'product' or 'listing:page'), at most {MAX_PREFIX_CHARS} characters, "
        f"with no ':' at either end (got {prefix!r})."
    )


def normalize_id(item_id):
    """One key per item: ``42``, ``42.0``, ``"42"`` and ``" 42 "`` all become ``42``.

    * an ``int`` (not a ``bool``) is itself; any other whole-number type (numpy's) becomes ``int``;
    * a float with no fractional part becomes ``int``; any other float is refused;
    * a string loses its surrounding whitespace (ids arrive from forms and CSV files with stray
      spaces, and they name the same item); a decimal-integer string becomes ``int``; any other
      string must be 1 to 200 characters with no ``:``, whitespace, control or glob character
      (``*?[]\\``), so the id is always the key's last segment;
    * anything else is refused.
    """
    if type(item_id) is int:  # the hit path: plain ints go straight through
        return item_id
    if isinstance(item_id, bool):
        raise TypeError(f"item id must be a whole number or a string, not a bool (got {item_id!r}).")
    if isinstance(item_id, Integral):
        return int(item_id)
    if isinstance(item_id, Real):
        number = float(item_id)
        if math.isfinite(number) and number.is_integer():
            return int(number)
        raise ValueError(
            f"item id must be a whole number (42 or 42.0) or a string (got {item_id!r})."
        )
    if isinstance(item_id, str):
        return _normalize_text_id(item_id)
    raise TypeError(
        f"item id must be a whole number or a string (got {type(item_id).__name__} {item_id!r})."
    )


def _normalize_text_id(item_id: str):
    text = item_id.strip()
    if not text or len(text) > MAX_ID_CHARS:
        raise ValueError(
            f"item id must be 1 to {MAX_ID_CHARS} characters once surrounding spaces are "
            f"removed (got {len(text)}: {item_id[:40]!r}{'…' if len(item_id) > 40 else ''})."
        )
    if _DECIMAL_RE.fullmatch(text):
        return int(text)
    bad = _BAD_ID_CHAR_RE.search(text)
    if bad:
        raise ValueError(
            f"item id {item_id!r} contains {bad.group()!r}: an id may not contain ':', "
            "whitespace, control characters or the glob characters * ? [ ] \\ "
            "(a ':' would make the id look like part of the prefix)."
        )
    return text


def make_key(prefix: str, item_id, *, namespace: str | None = None) -> str:
    """``make_key("product", 42)`` → ``"cacheaside-lab:product:42"``, every part normalised."""
    return f"{_namespace_or_root(namespace)}{require_prefix(prefix)}:{normalize_id(item_id)}"


def prefix_start(prefix: str) -> str:
    """``"product"`` (or ``"product:"``) → ``"product:"``: the keys of exactly that prefix.

    Used where a prefix selects keys to delete, so ``product`` never also selects ``products:…``.
    """
    text = prefix[:-1] if isinstance(prefix, str) and prefix.endswith(":") else prefix
    return require_prefix(text) + ":"


def glob_escape(text: str) -> str:
    """Escape Redis glob characters so a namespace matches only itself in SCAN MATCH."""
    return "".join("\\" + ch if ch in _GLOB_SPECIAL else ch for ch in text)


def course_pattern(prefix: str = "", *, namespace: str | None = None) -> str:
    """The SCAN MATCH pattern for the course's keys whose name (after the namespace) starts with
    ``prefix`` exactly as written: ``"product:"`` selects one prefix, ``"race"`` every key
    starting with ``race`` (``race:…``, ``race-…``), ``""`` the whole namespace."""
    if not isinstance(prefix, str):
        raise TypeError(f"prefix must be a string (got {prefix!r}).")
    return glob_escape(_namespace_or_root(namespace) + prefix) + "*"


def course_keys(client, prefix: str = "", *, namespace: str | None = None, count: int = 500):
    """Iterate over the course's keys (optionally only those starting with ``prefix``) with SCAN."""
    yield from client.scan_iter(match=course_pattern(prefix, namespace=namespace), count=count)


def clear_course_keys(
    client, prefix: str = "", *, namespace: str | None = None, batch: int = 500
) -> int:
    """Delete the course's keys (all of them, or those starting with ``prefix``); return how many.

    SCAN walks the keyspace in small steps without blocking the server, and every key it yields
    already matches our (one-segment, ``:``-terminated) namespace, so this can never remove data
    that is not the course's. Pass ``"product:"`` (with the ``:``) to select exactly one prefix.
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
