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

On a **Redis Cluster** the id is wrapped in a hash tag: ``cacheaside-lab:product:{42}``. A
cluster hashes only the part between ``{`` and ``}`` to choose the key's slot, so the keys the
course derives from a key by a suffix (its lease ``…:{42}:lease``, its lock ``…:{42}:lock``) land
in the same slot as the value, and the Lua scripts that read or change both in one step are
allowed (a script whose keys lie in two slots is refused with ``CROSSSLOT``). The other pieces of
one item (``…:info:{42}`` and ``…:stock:{42}``) share its slot too. On one server nothing needs a
tag, so keys keep the plain layout there (``cacheaside-lab:product:42``); :func:`hash_tagged`
says which layout a client (or the configured backend) uses. Either way keys start with the
namespace and the prefix, so prefix patterns and :func:`clear_course_keys` find them.
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
# Read here rather than imported from stores.backend, which imports this module.
REDIS_URL_ENV = "CACHEASIDE_REDIS_URL"
CLUSTER_URL_SCHEME = "redis+cluster://"
# How many wrappers (fault injection, clocks, breakers, checkers' counters) to look through.
_MAX_WRAPPERS = 16
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


def cluster_client(client):
    """The ``redis.RedisCluster`` (sync or asyncio) under ``client``, looking through the course's
    wrappers (each keeps the client it wraps in ``_client``, a picture's call trace in ``_target``),
    or ``None`` for any other client."""
    import redis
    import redis.asyncio

    for _ in range(_MAX_WRAPPERS):
        if isinstance(client, (redis.RedisCluster, redis.asyncio.RedisCluster)):
            return client
        inner = getattr(client, "_client", None)
        client = inner if inner is not None else getattr(client, "_target", None)  # pictures' call traces
        if client is None:
            return None
    return None


def hash_tagged(client=None) -> bool:
    """Do keys for ``client`` carry a hash tag (``…:product:{42}``)? True on a Redis Cluster.

    Without a client: whether the configured backend (``$CACHEASIDE_REDIS_URL``) is a cluster.
    """
    if client is not None:
        return cluster_client(client) is not None
    return os.environ.get(REDIS_URL_ENV, "").strip().startswith(CLUSTER_URL_SCHEME)


def make_key(prefix: str, item_id, *, namespace: str | None = None, hash_tag: bool | None = None) -> str:
    """``make_key("product", 42)`` → ``"cacheaside-lab:product:42"``, every part normalised.

    ``hash_tag=True`` wraps the id in a hash tag, ``"cacheaside-lab:product:{42}"``, the layout
    a Redis Cluster needs (see the module docstring); the default, ``None``, tags exactly when the
    configured backend is a cluster (:func:`hash_tagged`). Code that holds a client passes
    ``hash_tag=hash_tagged(client)``.
    """
    item = normalize_id(item_id)
    if hash_tag is None:
        hash_tag = hash_tagged()
    return f"{_namespace_or_root(namespace)}{require_prefix(prefix)}:{{{item}}}" if hash_tag else (
        f"{_namespace_or_root(namespace)}{require_prefix(prefix)}:{item}"
    )


def key_slot(key) -> int:
    """The Redis Cluster hash slot (0 to 16383) of ``key``: CRC16 of its hash tag, or of the whole key."""
    from redis.crc import key_slot as crc_slot

    return crc_slot(key.encode() if isinstance(key, str) else key)


def group_by_slot(keys) -> dict:
    """``{slot: [keys…]}`` in first-seen order: what a cluster accepts in one multi-key command."""
    groups: dict = {}
    for key in keys:
        groups.setdefault(key_slot(key), []).append(key)
    return groups


def mget_by_slot(client, keys: list) -> list:
    """``client.mget(keys)``, also on a Redis Cluster: there, one MGET per hash slot (a cluster
    refuses an MGET across slots), answers put back in the order of ``keys``. A client from
    ``connect_cache("redis+cluster://…")`` does that split itself in its ``mget`` (one call, the
    per-slot MGETs pipelined); a plain ``redis.RedisCluster`` gets it done here."""
    keys = list(keys)
    cluster = cluster_client(client)
    if not keys or cluster is None or getattr(cluster, "mget_across_slots", False):
        return client.mget(keys)  # one server, or connect_cache's cluster client (it splits by slot itself)
    groups = group_by_slot(keys)
    if len(groups) == 1:
        return client.mget(keys)
    found = {}
    for group in groups.values():
        found.update(zip(group, client.mget(group)))
    return [found[key] for key in keys]


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
    """Iterate over the course's keys (optionally only those starting with ``prefix``) with SCAN.

    On a Redis Cluster a SCAN sees one node's keys, so every primary is scanned in turn.
    """
    pattern = course_pattern(prefix, namespace=namespace)
    cluster = cluster_client(client)
    if cluster is None:
        yield from client.scan_iter(match=pattern, count=count)
        return
    for node in cluster.get_primaries():
        yield from cluster.scan_iter(match=pattern, count=count, target_nodes=node)


def clear_course_keys(
    client, prefix: str = "", *, namespace: str | None = None, batch: int = 500
) -> int:
    """Delete the course's keys (all of them, or those starting with ``prefix``); return how many.

    SCAN walks the keyspace in small steps without blocking the server, and every key it yields
    already matches our (one-segment, ``:``-terminated) namespace, so this can never remove data
    that is not the course's. Pass ``"product:"`` (with the ``:``) to select exactly one prefix.
    On a Redis Cluster every primary is scanned and each DEL names keys of one slot only.
    """
    require_count("batch", batch, minimum=1)
    per_slot = cluster_client(client) is not None
    deleted = 0
    pending: list = []

    def delete(keys) -> int:
        if not per_slot:
            return client.delete(*keys)
        return sum(client.delete(*group) for group in group_by_slot(keys).values())

    for key in course_keys(client, prefix, namespace=namespace, count=batch):
        pending.append(key)
        if len(pending) >= batch:
            deleted += delete(pending)
            pending.clear()
    if pending:
        deleted += delete(pending)
    return deleted
