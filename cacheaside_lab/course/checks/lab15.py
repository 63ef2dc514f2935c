"""Checks for lab 15: a write that must reach every copy, a fan-out that misses one, a change-log
consumer that never loses a change, and two questions on invalidation at scale.

The lab's cached state is lecture 15's fan-out with one twist that makes it a real
state-distribution problem: the listing pages are sorted by **price**, as a category page is, so
a price change can move a product from one page to another and change every page in between.

* each region (``REGIONS``) caches every product at ``region_key(region, id)``;
* ``listing_key(page)`` caches page ``page`` of the listing: ``PAGE_SIZE`` products' id, name and
  price, cheapest first (ties by id), so page 0 holds the 20 cheapest.

Values are plain JSON with a TTL, as in lab 01. Every check starts from a fresh 100-product
catalogue and an empty ``lab15:`` namespace, fills every copy (:func:`warm_everything`) and
counts what disagrees with the database afterwards (:func:`stale_copies`).
"""

from __future__ import annotations

import json
import sqlite3

from ...consistency.changelog import CHANGES_TABLE, install_change_log, run_bulk_job
from ...core.keys import make_key
from ...failure.proxies import FaultyCache
from .framework import NOT_ANSWERED, CheckFailed, attempt, exercise, expect, short
from .setups import CATALOGUE_PRODUCTS, fresh_catalogue
from .understanding import choose, estimate

LAB = "lab15"
REGIONS = ("eu", "us")
PAGE_SIZE = 20
PAGES = CATALOGUE_PRODUCTS // PAGE_SIZE
TTL_SECONDS = 3600
MAX_POLLS = 50  # a consumer that never catches up is stopped here, and told so


def region_key(region: str, product_id) -> str:
    """Where ``region`` caches a product: ``cacheaside-lab:lab15:eu:product:42``."""
    if region not in REGIONS:
        raise ValueError(f"unknown region {region!r}; the lab's regions are {', '.join(REGIONS)}.")
    return make_key(f"{LAB}:{region}:product", product_id)


def listing_key(page) -> str:
    """Where listing page ``page`` (0 to 4, cheapest products first) is cached: ``cacheaside-lab:lab15:listing:0``."""
    if isinstance(page, bool) or not isinstance(page, int) or not 0 <= page < PAGES:
        raise ValueError(f"page must be a whole number from 0 to {PAGES - 1} (got {page!r}).")
    return make_key(f"{LAB}:listing", page)


def listing(db) -> list[list[dict]]:
    """The listing as the database has it now: ``PAGES`` pages of ``PAGE_SIZE`` products by price."""
    rows = [db.current(product_id) for product_id in range(1, CATALOGUE_PRODUCTS + 1)]
    ordered = sorted((row for row in rows if row), key=lambda row: (row["price"], row["id"]))
    entries = [{"id": row["id"], "name": row["name"], "price": row["price"]} for row in ordered]
    return [entries[start:start + PAGE_SIZE] for start in range(0, len(entries), PAGE_SIZE)]


def page_of(db, product_id: int) -> int:
    """The listing page product ``product_id`` is on now."""
    for page, entries in enumerate(listing(db)):
        if any(entry["id"] == product_id for entry in entries):
            return page
    raise ValueError(f"product {product_id} is not in the catalogue.")


def warm_everything(cache, db) -> None:
    """Fill every copy: each product in each region, and every listing page."""
    pipe = cache.pipeline(transaction=False)
    for product_id in range(1, CATALOGUE_PRODUCTS + 1):
        row = json.dumps(db.current(product_id))
        for region in REGIONS:
            pipe.set(region_key(region, product_id), row, ex=TTL_SECONDS)
    for page, entries in enumerate(listing(db)):
        pipe.set(listing_key(page), json.dumps(entries), ex=TTL_SECONDS)
    pipe.execute()


def stale_copies(cache, db) -> list[str]:
    """Every cached copy that disagrees with the database, named (``eu product 7``, ``listing page 2``)."""
    stale = []
    for region in REGIONS:
        ids = list(range(1, CATALOGUE_PRODUCTS + 1))
        for product_id, raw in zip(ids, cache.mget([region_key(region, i) for i in ids])):
            if raw is not None and json.loads(raw) != db.current(product_id):
                stale.append(f"{region} product {product_id}")
    pages = listing(db)
    for page, raw in enumerate(cache.mget([listing_key(page) for page in range(PAGES)])):
        if raw is not None and json.loads(raw) != pages[page]:
            stale.append(f"listing page {page}")
    return stale


def fresh_setup(cache=None):
    cache, db = fresh_catalogue(cache, LAB)
    install_change_log(db)
    warm_everything(cache, db)
    return cache, db


def _listed(names: list[str], limit: int = 6) -> str:
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


# -- exercise 1 -------------------------------------------------------------------------------

# (product, new price): a small change that keeps its page, the cheapest becoming the dearest,
# the dearest becoming the cheapest, a move of one page up
PRICE_CHANGES = [(42, None), ("cheapest", 10_000.0), ("dearest", 0.01), ("one page up", None)]
HINT_EVERY_COPY = (
    "A product lives in each region's cache and on one listing page; a price change can move it to another "
    "page and shift every page in between. Delete each region's key and every listing page whose contents can "
    "change (all of them is correct; the pages between its old and new place are enough)."
)


def _resolve(db, product, price):
    pages = listing(db)
    if product == "cheapest":
        product = pages[0][0]["id"]
    elif product == "dearest":
        product = pages[-1][-1]["id"]
    elif product == "one page up":  # the middle of page 2, priced just above the middle of page 3
        product, price = pages[2][PAGE_SIZE // 2]["id"], round(pages[3][PAGE_SIZE // 2]["price"] + 0.01, 2)
    if price is None:
        price = round(db.current(product)["price"] + 0.01, 2)  # the smallest change: it stays on its page
    return product, price


@exercise("Exercise 1 · a write that reaches every copy")
def check_update_price(update_price, *, cache=None):
    cache, db = fresh_setup(cache)
    for product, price in PRICE_CHANGES:
        product_id, price = _resolve(db, product, price)
        before = page_of(db, product_id)
        tried = (f"update_price(cache, db, {product_id}, {price:g}) with every copy cached "
                 f"(product {product_id} is on listing page {before})")
        attempt(update_price, cache, db, product_id, price, tried=tried, hint=HINT_EVERY_COPY)
        expect(db.current(product_id)["price"] == price, tried=tried,
               wrong=f"the database still says price {db.current(product_id)['price']}.",
               hint="The database is the source of truth: db.update_product(product_id, price=price), first.")
        stale = stale_copies(cache, db)
        after = page_of(db, product_id)
        moved = f"; it moved from page {before} to page {after}" if after != before else ""
        expect(not stale, tried=tried, wrong=f"stale afterwards: {_listed(stale)}{moved}.", hint=HINT_EVERY_COPY)
        warm_everything(cache, db)
    return "four price changes, one moving the cheapest product to the last page: no copy left stale."


# -- exercise 2 (break it) --------------------------------------------------------------------


def update_price_v1(cache, db, product_id, price):
    """A first attempt, for exercise 2: the regions, and the listing page the product is on."""
    db.update_product(product_id, price=price)
    keys = [region_key(region, product_id) for region in REGIONS]
    keys.append(listing_key(page_of(db, product_id)))
    cache.delete(*keys)


def _valid_price_change(change) -> tuple[int, float]:
    tried = "your price_change for exercise 2"
    shape = "a pair (product_id, new_price): a product from 1 to 100 and a price above 0, e.g. (42, 19.99)"
    if change in (None, Ellipsis):
        raise CheckFailed(tried, f"{NOT_ANSWERED}: price_change is still `...`.", f"Set price_change to {shape}.")
    ok = isinstance(change, (tuple, list)) and len(change) == 2
    product_id, price = change if ok else (None, None)
    if (not ok or isinstance(product_id, bool) or not isinstance(product_id, int)
            or not 1 <= product_id <= CATALOGUE_PRODUCTS or isinstance(price, bool)
            or not isinstance(price, (int, float)) or not 0 < price <= 1_000_000):
        raise CheckFailed(tried, f"{short(change)} is not a price change.", f"Set price_change to {shape}.")
    return product_id, float(price)


@exercise("Exercise 2 (break it) · the price change the first attempt misses")
def check_breaks_update_v1(price_change, *, cache=None):
    product_id, price = _valid_price_change(price_change)
    cache, db = fresh_setup(cache)
    before = page_of(db, product_id)
    tried = f"update_price_v1(cache, db, {product_id}, {price:g}), product {product_id} on listing page {before}"
    update_price_v1(cache, db, product_id, price)
    after = page_of(db, product_id)
    stale = stale_copies(cache, db)
    if stale:
        return (f"product {product_id} moved from page {before} to page {after}; update_price_v1 deleted page {after} "
                f"and left {_listed(stale)} stale.")
    if after == before:
        raise CheckFailed(tried, f"product {product_id} stayed on page {before}, and that page was deleted: nothing stale.",
                          "update_price_v1 deletes the page the product is on after the write. Which pages change "
                          "when a price change moves a product to another page?")
    raise CheckFailed(tried, f"product {product_id} moved from page {before} to {after}, yet no copy is stale.",
                      "Move it further: the pages between its old and new place all shift.")


# -- exercise 3 (design) ----------------------------------------------------------------------


def read_changes(db, position: int, limit: int = 100) -> list[tuple[int, int]]:
    """The change log after ``position``: up to ``limit`` ``(seq, product_id)`` pairs, oldest first."""
    connection = sqlite3.connect(db.path, timeout=30)
    try:
        rows = connection.execute(
            f"select seq, product_id from {CHANGES_TABLE} where seq > ? order by seq limit ?", (position, limit)
        ).fetchall()
    finally:
        connection.close()
    return [(int(seq), int(product_id)) for seq, product_id in rows]


def last_position(db) -> int:
    """The newest ``seq`` in the change log (0 when it is empty): where a new consumer starts."""
    changes = read_changes(db, 0, limit=1_000_000)
    return changes[-1][0] if changes else 0


HINT_CONSUMER = (
    "Read the changes after position, delete every copy of each changed product, and return the seq of the "
    "last change handled; if a delete raises redis.RedisError, return the position you were given, so the "
    "same changes are read again on the next poll (deleting twice is harmless)."
)


def _drain(poll, cache, db, position, tried) -> tuple[int, int]:
    for polls in range(1, MAX_POLLS + 1):
        moved = attempt(poll, cache, db, position, tried=tried, hint=HINT_CONSUMER)
        expect(isinstance(moved, int) and not isinstance(moved, bool), tried=tried,
               wrong=f"poll returned {short(moved)}, not a position (the seq of the last change handled).",
               hint=HINT_CONSUMER)
        expect(moved >= position, tried=tried, wrong=f"the position went back, from {position} to {moved}.",
               hint="The position only moves forward: the seq of the last change you handled.")
        if moved == position:
            return position, polls
        position = moved
    raise CheckFailed(tried, f"after {MAX_POLLS} polls the position was still moving.",
                      "Each poll should handle a batch and return the last seq it handled; with nothing new, it "
                      "returns the position it was given.")


@exercise("Exercise 3 (design) · a change-log consumer that never loses a change")
def check_change_log_consumer(poll, *, cache=None):
    cache, db = fresh_setup(cache)
    start = last_position(db)
    changed = run_bulk_job(db, "update products set price = round(price * 1.1, 2), version = version + 1 where id % 3 = 0")
    tried = f"a bulk job raising {changed} prices with one SQL UPDATE, then poll until the position stops moving"
    position, polls = _drain(poll, cache, db, start, tried)
    stale = stale_copies(cache, db)
    expect(not stale, tried=tried, wrong=f"after {polls} polls, still stale: {_listed(stale)}.", hint=HINT_CONSUMER)
    expect(position == last_position(db), tried=tried,
           wrong=f"the consumer stopped at position {position}; the log ends at {last_position(db)}.",
           hint=HINT_CONSUMER)

    # an outage: the cache refuses every command for one poll
    warm_everything(cache, db)
    run_bulk_job(db, "update products set price = round(price + 1, 2), version = version + 1 where id <= 10")
    tried = "ten price changes, then a poll while the cache refuses every command, then polls once it is back"
    down = FaultyCache(cache, down=True)
    try:
        after_outage = attempt(poll, down, db, position, tried=tried, hint=HINT_CONSUMER)
    except CheckFailed as failure:
        if "RedisError" in failure.wrong or "ConnectionError" in failure.wrong:
            raise CheckFailed(tried, "poll let the cache's error escape: " + failure.wrong,
                              "Catch redis.RedisError around the deletes, and return the position you were given.") from None
        raise
    expect(after_outage == position, tried=tried,
           wrong=f"during the outage poll moved the position from {position} to {short(after_outage)}: the changes "
           "it could not invalidate will never be read again.",
           hint="Move the position only after every delete of the batch succeeded: at-least-once, not at-most-once.")
    final, _ = _drain(poll, cache, db, position, tried)
    stale = stale_copies(cache, db)
    expect(not stale, tried=tried, wrong=f"once the cache was back, still stale: {_listed(stale)}.", hint=HINT_CONSUMER)
    return (f"{changed} bulk changes invalidated in {polls} polls; an outage left the position at {position}, "
            f"and the retry cleaned every copy (position {final}).")


# -- exercises 4 and 5 (questions) --------------------------------------------------------------

BULK_CHOICES = {
    "a": "none: your update_price from exercise 1 deletes every copy",
    "b": "only the listing pages",
    "c": "every cached copy of the 30 products, and the listing pages they are on",
    "d": "only the copies in the other region",
}


@exercise("Exercise 4 (question) · the nightly job")
def check_bulk_job_question(answer, *, cache=None):
    return choose(
        answer,
        question="a nightly job raises 30 prices with one SQL UPDATE; with invalidation in application code "
                 "(exercise 1's update_price), what does it leave stale?",
        choices=BULK_CHOICES,
        answer="c",
        wrong={
            "a": "update_price only runs when the application calls it. The job talks to the database directly.",
            "b": "The region entries hold the old price too: nothing deleted them.",
            "d": "Neither region heard about the job: both still hold the old rows.",
        },
        why="Application-code invalidation happens only where application code writes; the change log sees every "
            "committed change, whoever made it, which is why exercise 3's consumer cleans up after the job.",
    )


@exercise("Exercise 5 (question) · how long a writer can see its old value")
def check_lag_question(answer, *, cache=None):
    return estimate(
        answer,
        question="the consumer polls every 2 s and a poll takes 0.1 s to delete; a user changes a price just "
                 "after a poll started reading. At most how many seconds later can they still read their old price "
                 "from the cache?",
        answer=2.1, unit="s", tolerance=0.05,
        too_low="The poll that was already running read the log before the change: it misses it. The change waits "
                "for the next poll, 2 s later, and that poll needs its 0.1 s to delete.",
        too_high="The next poll starts 2 s after the one that missed the change, and deletes within 0.1 s.",
        why="One poll interval plus one poll: the change-log lag. A read-your-writes marker (lecture 15) serves the "
            "writer from the database for that long, so the person who made the change never sees it undone.",
    )
