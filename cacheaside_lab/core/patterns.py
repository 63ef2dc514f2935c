"""The patterns cache-aside is usually compared with, small enough to read in a minute.

The difference between them is not the Redis commands (they all GET and SET) but *who owns
what*: in cache-aside the application talks to the database and to the cache and decides what
happens on a miss or an outage. In the patterns below a cache layer sits in front of the database
and the application only talks to that layer:

* read-through: the layer loads misses itself (it was configured with the loader);
* write-through: writes go to the layer, which writes the database and the cache synchronously;
* write-behind: writes go to the layer, which updates the cache now and the database later.

They are written so notebook 01 can run them side by side against the same catalogue.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from .keys import make_key
from .validation import require_positive

OWNERSHIP = (
    # pattern,      who loads a miss, who writes the DB,        who updates the cache on write, DB sees a write
    ("cache-aside", "application", "application", "application (delete)", "immediately"),
    ("read-through", "cache layer", "application", "application (delete)", "immediately"),
    ("write-through", "cache layer", "cache layer, synchronously", "cache layer (set)", "immediately"),
    ("write-behind", "cache layer", "cache layer, later", "cache layer (set)", "when the queue is flushed"),
)
OWNERSHIP_HEADERS = ("pattern", "loads a miss", "writes the DB", "updates the cache", "DB sees a write")


class ReadThroughCache:
    """A cache layer that loads its own misses; the application never sees the loader.

    Note what is missing: the application has no path to the database of its own, so if the
    cache layer is down, a read fails. The cache has become a dependency, not an optimisation.
    """

    def __init__(self, client, loader: Callable, *, prefix: str, ttl: float):
        self.client = client
        self.loader = loader
        self.prefix = prefix
        self.ttl = require_positive("ttl", ttl, unit="seconds")

    def key(self, item_id) -> str:
        return make_key(self.prefix, item_id)

    def get(self, item_id):
        cached = self.client.get(self.key(item_id))  # no fallback: errors reach the application
        if cached is not None:
            return json.loads(cached)
        value = self.loader(item_id)
        if value is not None:
            self.client.set(self.key(item_id), json.dumps(value), px=round(self.ttl * 1000))
        return value


class WriteThroughCache(ReadThroughCache):
    """Read-through, plus writes that go through the layer to the database and the cache.

    Every write pays for both stores before it returns, and the cache holds every written
    item whether anyone reads it or not.
    """

    def __init__(self, client, loader: Callable, writer: Callable, *, prefix: str, ttl: float):
        super().__init__(client, loader, prefix=prefix, ttl=ttl)
        self.writer = writer

    def put(self, item_id, **fields):
        value = self.writer(item_id, **fields)  # the database first, synchronously...
        self.client.set(self.key(item_id), json.dumps(value), px=round(self.ttl * 1000))  # ...then the cache
        return value


class WriteBehindCache(ReadThroughCache):
    """Writes land in the cache at once and reach the database only when the queue is flushed.

    Fast writes, at two prices: the database is behind until :meth:`flush`, and queued writes
    are lost if the layer dies first (:meth:`crash`).
    """

    def __init__(self, client, loader: Callable, writer: Callable, *, prefix: str, ttl: float):
        super().__init__(client, loader, prefix=prefix, ttl=ttl)
        self.writer = writer
        self.queue: list[tuple] = []

    def put(self, item_id, **fields):
        value = {**(self.get(item_id) or {}), **fields}
        self.client.set(self.key(item_id), json.dumps(value), px=round(self.ttl * 1000))
        self.queue.append((item_id, fields))
        return value

    def flush(self) -> int:
        """Apply the queued writes to the database; returns how many."""
        flushed = 0
        while self.queue:
            item_id, fields = self.queue.pop(0)
            self.writer(item_id, **fields)
            flushed += 1
        return flushed

    def crash(self) -> int:
        """The layer dies before flushing: the queued writes are gone. Returns how many were lost."""
        lost = len(self.queue)
        self.queue.clear()
        return lost
