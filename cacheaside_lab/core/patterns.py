"""The patterns cache-aside is usually compared with, small enough to read in a minute.

The difference between them is not the Redis commands (they all GET and SET) but *who owns
what*: in cache-aside the application talks to the database and to the cache and decides what
happens on a miss or an outage. In the patterns below a cache layer sits in front of the database
and the application only talks to that layer:

* read-through: the layer loads misses itself (it was configured with the loader);
* write-through: writes go to the layer, which writes the database and the cache synchronously;
* write-behind: writes go to the layer, which updates the cache now and the database later.

They are written so notebook 01 can run them side by side against the same catalogue. What a
cache outage does to a read-through layer is a property of the layer, not of the pattern: a
layer inside the application's process can catch the error and call its loader
(``fallback=True``), one that runs as a separate service between the application and the
database cannot, because it *is* the application's path to the data (``fallback=False``, the
default here). ``TRADE_OFFS`` compares the four on what a team actually chooses between.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from .entries import CACHE_ERRORS
from .keys import hash_tagged, make_key
from .validation import require_positive

OWNERSHIP = (
    # pattern,      who loads a miss, who writes the DB,        who updates the cache on write, DB sees a write
    ("cache-aside", "application", "application", "application (delete)", "immediately"),
    ("read-through", "cache layer", "application", "application (delete)", "immediately"),
    ("write-through", "cache layer", "cache layer, synchronously", "cache layer (set)", "immediately"),
    ("write-behind", "cache layer", "cache layer, later", "cache layer (set)", "when the queue is flushed"),
)
OWNERSHIP_HEADERS = ("pattern", "loads a miss", "writes the DB", "updates the cache", "DB sees a write")

TRADE_OFFS = (
    # pattern,      when the cache is down,                         a write costs,                   two overlapping writers
    ("cache-aside", "slower: the app reads the DB itself",          "DB write + one DEL",            "DELs leave no wrong row (02)"),
    ("read-through", "slower if the layer falls back, else fails",  "DB write + one DEL",            "DELs leave no wrong row (02)"),
    ("write-through", "as read-through; put fails after its DB write", "DB write + SET, synchronously", "the older row can stay cached"),
    ("write-behind", "as read-through; queued writes die with it",  "one SET now, the DB write later", "cache and DB can apply them in other orders"),
)
TRADE_OFFS_HEADERS = ("pattern", "when the cache is down", "a write costs", "two overlapping writers")


class ReadThroughCache:
    """A cache layer that loads its own misses; the application never sees the loader.

    ``fallback=False`` (the default) is a layer that runs as its own service: the application
    has no path to the database but through it, so when the cache is down a read fails and the
    cache has become a dependency. ``fallback=True`` is a layer in the application's process
    that catches the cache error, calls its loader and skips the SET, exactly as cache-aside
    does: then an outage costs latency, not answers.
    """

    def __init__(self, client, loader: Callable, *, prefix: str, ttl: float, fallback: bool = False):
        if not isinstance(fallback, bool):
            raise TypeError(f"fallback must be True or False (got {fallback!r}).")
        self.client = client
        self.loader = loader
        self.prefix = prefix
        self.ttl = require_positive("ttl", ttl, unit="seconds")
        self.fallback = fallback

    def key(self, item_id) -> str:
        return make_key(self.prefix, item_id, hash_tag=hash_tagged(self.client))

    def get(self, item_id):
        try:
            cached = self.client.get(self.key(item_id))
        except CACHE_ERRORS:
            if not self.fallback:
                raise  # a separate layer: its outage is the application's outage
            return self.loader(item_id)  # an in-process layer: answer from the loader, skip the SET
        if cached is not None:
            return json.loads(cached)
        value = self.loader(item_id)
        if value is not None:
            self.client.set(self.key(item_id), json.dumps(value), px=round(self.ttl * 1000))
        return value


class WriteThroughCache(ReadThroughCache):
    """Read-through, plus writes that go through the layer to the database and the cache.

    Every write pays for both stores before it returns, and the cache holds every written
    item whether anyone reads it or not. The two steps are not one: a second writer whose
    database write lands after this one's but whose SET lands before it leaves this one's older
    row in the cache, the race of notebook 02 (notebook 01 replays it with this class).
    """

    def __init__(self, client, loader: Callable, writer: Callable, *, prefix: str, ttl: float, fallback: bool = False):
        super().__init__(client, loader, prefix=prefix, ttl=ttl, fallback=fallback)
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

    def __init__(self, client, loader: Callable, writer: Callable, *, prefix: str, ttl: float, fallback: bool = False):
        super().__init__(client, loader, prefix=prefix, ttl=ttl, fallback=fallback)
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
