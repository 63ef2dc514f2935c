"""Hot-key replicas: N copies of one very hot key, so its reads spread over N keys.

A near cache (:mod:`.near_cache`) takes a hot key's reads off Redis for a moment; replicas keep
them in Redis but spread them. On a cluster each copy's name hashes to its own slot, so the copies
land on different shards and the hottest product no longer pins one of them. The copies are
``<key>:copy:0`` … ``<key>:copy:N-1`` (ids never contain ``:``, so no id can name a copy), each a
plain entry with the same TTL as the key. On a Redis Cluster, where the id is a hash tag
(``…:product:{42}``, see :mod:`.keys`), the copy number goes inside the tag
(``…:product:{42:copy:3}``): a suffix after the tag would keep every copy in the key's own slot.

* a read picks one copy at random; on a miss it reads through the ``CacheAside`` (its hit, or its
  protected fill) and stores that copy;
* a write deletes the key *and every copy* in one ``DEL``: miss one and that copy serves the old
  value until its TTL.

The price: N times the memory for that key, N fills after each write instead of one, and an
invalidation that must know how many copies exist.
"""

from __future__ import annotations

import random
import threading

from .entries import CACHE_ERRORS, MISS, decode_plain
from .validation import require_count

COPY_MARK = ":copy:"
MAX_COPIES = 64


class HotKeyReplicas:
    """``HotKeyReplicas(products, copies=8)``: ``get`` reads one of 8 copies, ``invalidate`` all."""

    def __init__(self, aside, *, copies: int = 4, seed: int | None = None):
        for hook in ("get", "invalidate", "key", "encode", "ttl_ms"):
            if not callable(getattr(aside, hook, None)):
                raise TypeError(f"HotKeyReplicas goes in front of a CacheAside (got {type(aside).__name__}).")
        self.aside = aside
        self.copies = require_count("copies", copies, minimum=1, maximum=MAX_COPIES)
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.reads = [0] * self.copies  # reads that went to each copy
        self.copy_hits = 0
        self.copy_fills = 0

    def copy_key(self, item_id, copy: int) -> str:
        """Where copy ``copy`` of an item lives: ``cacheaside-lab:product:42:copy:3``
        (on a cluster ``cacheaside-lab:product:{42:copy:3}``, so each copy has a slot of its own)."""
        if isinstance(copy, bool) or not isinstance(copy, int) or not 0 <= copy < self.copies:
            raise ValueError(f"copy must be a whole number from 0 to {self.copies - 1} (got {copy!r}).")
        key = self.aside.key(item_id)
        if key.endswith("}"):  # a hash-tagged key: the copy must change the tag to change the slot
            return f"{key[:-1]}{COPY_MARK}{copy}}}"
        return f"{key}{COPY_MARK}{copy}"

    def get(self, item_id):
        with self._lock:
            copy = self._rng.randrange(self.copies)
            self.reads[copy] += 1
        key = self.copy_key(item_id, copy)
        client = self.aside.client
        try:
            raw = client.get(key)
        except CACHE_ERRORS:
            return self.aside.get(item_id)  # the CacheAside counts the error and answers
        value = MISS if raw is None else decode_plain(raw)
        if value is not MISS:
            with self._lock:
                self.copy_hits += 1
            return value
        value = self.aside.get(item_id)
        if value is not None:
            try:
                client.set(key, self.aside.encode(value), px=self.aside.ttl_ms())
            except CACHE_ERRORS:
                pass  # the copy stays empty; the next reader of it fills it again
            else:
                with self._lock:
                    self.copy_fills += 1
        return value

    def invalidate(self, item_id) -> bool:
        """Delete the key and all its copies (after a write to the database)."""
        removed = self.aside.invalidate(item_id)
        copies = [self.copy_key(item_id, copy) for copy in range(self.copies)]
        try:
            removed = bool(self.aside.client.delete(*copies)) or removed
        except CACHE_ERRORS as error:
            self.aside.cache_error(error, copies[0])
        return removed

    def spread(self) -> list[float]:
        """Each copy's share of the reads so far."""
        with self._lock:
            total = sum(self.reads)
            return [count / total if total else 0.0 for count in self.reads]
