"""Checks for lab 11: split a product page, keep its write paths apart, plan which fields to cache,
break a split reader that leaks an old stock figure, and two questions on what splitting buys and costs.

Exercise 1 is run on a virtual clock (:mod:`cacheaside_lab.failure.clock`): a minute of page views and
sales takes a fraction of a second, the 2-second stock TTL expires on that clock, and every stock
figure the learner's reader shows is compared with the database's history, so "never older than
its bound" is checked exactly, on both backends.
"""

from __future__ import annotations

import json

import numpy as np

from ...failure.clock import ClockedCache, VirtualClock
from ...failure.proxies import RecordingProxy
from ...models.closed_forms import ttl_only_hit_ratio
from ...experiments.splitting import PAGE_FIELDS, PLANS, STABLE_FIELDS, InventoryDB, stable_slice
from ...experiments.splitting import plan_field as reference_plan
from .framework import NOT_ANSWERED, CheckFailed, attempt, exercise, expect, short
from .understanding import choose, estimate
from .setups import fresh_catalogue, key_function

LAB = "lab11"
INFO_TTL = 3600  # seconds: the stable slice
STOCK_TTL_MS = 2000  # milliseconds: the stock figure, never invalidated by sales
TARGET = 0.9
CACHE_DELETE_ON_WRITE, CACHE_SHORT_TTL, READ_LIVE = PLANS
WRITE_COMMANDS = {"set", "setex", "psetex", "mset", "delete", "unlink", "getset"}
HINT_SPLIT_READ = (
    "One cache.mget([info_key(id), stock_key(id)]). On a stable-slice miss, db.get_product(id) gives the "
    "whole page: cache its id, name, description and price (ex=INFO_TTL) and its stock "
    "(px=STOCK_TTL_MS). If only the stock is missing, db.get_stock(id) and cache that. Return the page."
)


info_key = key_function(LAB, "info", doc="Where the stable slice lives: ``cacheaside-lab:lab11:info:42``.")
stock_key = key_function(LAB, "stock", doc="Where the stock figure lives: ``cacheaside-lab:lab11:stock:42``.")


def fresh_setup(cache=None, clock=None):
    cache, catalogue = fresh_catalogue(cache, LAB)
    return cache, InventoryDB(catalogue, document_ms=20, stock_ms=1, clock=clock)


def round_trips(log: list) -> int:
    """Commands that went to the server: each direct command, and each pipeline execute that had
    something queued (redis-py sends nothing for an empty pipeline)."""
    trips = queued = 0
    for label, name, _args, _kwargs in log:
        if label == "cache" and name != "pipeline":
            trips += 1
        elif label == "cache.pipeline" and name == "execute":
            trips += queued > 0
            queued = 0
        elif label == "cache.pipeline" and name != "reset":
            queued += 1
    return trips


def _decode_stock(raw):
    try:
        value = json.loads(raw)
    except (TypeError, ValueError):
        return raw
    return value


def reference_get(cache, db, product_id):
    """The exercise 1 read path, so exercise 2 does not depend on the learner's exercise 1."""
    info_raw, stock_raw = cache.mget([info_key(product_id), stock_key(product_id)])
    info = json.loads(info_raw) if info_raw is not None else None
    stock = int(_decode_stock(stock_raw)) if stock_raw is not None else None
    pipe = cache.pipeline(transaction=False)
    if info is None:
        page = db.get_product(product_id)
        if page is None:
            return None
        info = stable_slice(page)
        pipe.set(info_key(product_id), json.dumps(info), ex=INFO_TTL)
        if stock is None:
            stock = page["stock"]
            pipe.set(stock_key(product_id), stock, px=STOCK_TTL_MS)
    elif stock is None:
        stock = db.get_stock(product_id)
        pipe.set(stock_key(product_id), stock, px=STOCK_TTL_MS)
    pipe.execute()
    return {**info, "stock": stock}


# -- exercise 1 -------------------------------------------------------------------------------


@exercise("Exercise 1 · the split read path")
def check_split_read(get_product, *, cache=None):
    clock = VirtualClock()
    real, db = fresh_setup(cache, clock)
    log: list = []
    watched = RecordingProxy(ClockedCache(real, clock), log, "cache")
    _cold_read(get_product, watched, real, db)
    _warm_read_is_one_round_trip(get_product, watched, db, log)
    documents, stocks, stale, worst = _a_minute_of_page_views_and_sales(get_product, watched, db, log, clock)
    _unknown_product(get_product, watched, db)
    return (f"one MGET per read; 600 reads cost {documents} page and {stocks} stock queries; "
            f"{stale} showed a stock figure at most {worst:.2f} s out of date (bound {STOCK_TTL_MS / 1000:g} s).")


def _cold_read(get_product, watched, real, db) -> None:
    tried = "get_product(cache, db, 42) on an empty cache"
    page = attempt(get_product, watched, db, 42, tried=tried, hint=HINT_SPLIT_READ)
    truth = db.current(42)
    expect(page == truth, tried=tried, wrong=f"it returned {short(page)}, not product 42's page {short(truth)}.",
           hint=f"Return a dict with exactly the page's fields: {', '.join(PAGE_FIELDS)}.")
    _stable_slice_cached(watched, real, truth, tried)
    _stock_cached(watched, real, tried)
    expect(db.document_queries == 1 and db.stock_queries == 0, tried=tried,
           wrong=f"a cold read cost {db.document_queries} page queries and {db.stock_queries} stock queries.",
           hint="On a cold read one db.get_product(id) gives everything, stock included.")


def _stable_slice_cached(watched, real, truth, tried) -> None:
    stored = real.get(info_key(42))
    expect(stored is not None, tried=tried, wrong="nothing was stored under info_key(42).", hint=HINT_SPLIT_READ)
    try:
        slice_ = json.loads(stored)
    except ValueError:
        raise CheckFailed(tried, f"the stable slice is not JSON: {short(stored)}.",
                          "Store json.dumps(slice) and read it back with json.loads.") from None
    if isinstance(slice_, dict) and "stock" in slice_:
        raise CheckFailed(tried, "the stable slice under info_key(42) contains 'stock'.",
                          "Keep the stock out of the stable slice: it changes with every sale and would be as old "
                          "as the slice's TTL. Cache it separately under stock_key(id) with px=STOCK_TTL_MS.")
    expect(slice_ == stable_slice(truth), tried=tried,
           wrong=f"info_key(42) holds {short(slice_)}; the stable slice is {', '.join(STABLE_FIELDS)}.",
           hint=HINT_SPLIT_READ)
    info_ttl = watched.pttl(info_key(42))
    expect(info_ttl is not None and info_ttl > 0, tried=tried, wrong="the stable slice has no TTL.",
           hint="Every entry gets a TTL: ex=INFO_TTL for the stable slice.")
    expect(info_ttl > STOCK_TTL_MS * 10, tried=tried,
           wrong=f"the stable slice lives only {info_ttl} ms: it changes a few times a year, so a short TTL just "
           "throws hits away.", hint="Give the stable slice the long TTL: ex=INFO_TTL.")


def _stock_cached(watched, real, tried) -> None:
    expect(real.exists(stock_key(42)), tried=tried, wrong="nothing was stored under stock_key(42).",
           hint="Cache the stock too, under stock_key(id), with px=STOCK_TTL_MS (the page query already brought it).")
    stock_ttl = watched.pttl(stock_key(42))
    expect(0 < stock_ttl <= STOCK_TTL_MS, tried=tried,
           wrong=f"the stock key lives {stock_ttl} ms; its bound is {STOCK_TTL_MS} ms."
           if stock_ttl > 0 else "the stock key has no TTL, so a sale would never reach the page.",
           hint="px=STOCK_TTL_MS: the TTL is what bounds how old the stock shown can be, since sales never touch "
           "the cache.")


def _warm_read_is_one_round_trip(get_product, watched, db, log) -> None:
    log.clear()
    tried = "get_product(cache, db, 42) again, straight after"
    attempt(get_product, watched, db, 42, tried=tried, hint=HINT_SPLIT_READ)
    trips = round_trips(log)
    expect(trips == 1, tried=tried,
           wrong=f"a warm read took {trips} round trips to the cache ({', '.join(name for _l, name, *_ in log)}).",
           hint="Ask for both keys at once: cache.mget([info_key(id), stock_key(id)]) is one round trip.")


def _page_views_and_sales(ids) -> list:
    """600 page views and 120 sales of ``ids`` over a minute, seeded, in time order."""
    rng = np.random.default_rng(7)
    return sorted([(float(t), "read", int(p)) for t, p in zip(rng.uniform(0, 60, 600), rng.choice(ids, 600))]
                  + [(float(t), "sale", int(p)) for t, p in zip(rng.uniform(0, 60, 120), rng.choice(ids, 120))])


def _a_minute_of_page_views_and_sales(get_product, watched, db, log, clock) -> tuple:
    """A minute of page views while the sales path updates stock without touching the cache.

    Returns the page and stock queries it cost, how many pages showed an old stock figure, and
    the oldest figure shown (seconds)."""
    ids = list(range(1, 11))
    events = _page_views_and_sales(ids)
    levels = {product_id: 10_000 + product_id * 1_000 for product_id in ids}
    clock.advance(1)
    for product_id in ids:
        db.update_stock(product_id, levels[product_id])
    db.document_queries = db.stock_queries = 0
    log.clear()
    worst, stale = 0.0, 0
    tried = ("a minute of page views (600 reads of products 1–10) while 120 sales change their stock through "
             "db.update_stock, without touching the cache")
    for when, kind, product_id in events:
        clock.set(1 + when)
        if kind == "sale":
            levels[product_id] -= 1
            db.update_stock(product_id, levels[product_id])
            continue
        page = attempt(get_product, watched, db, product_id, tried=tried, hint=HINT_SPLIT_READ)
        truth = db.current(product_id)
        expect(isinstance(page, dict) and stable_slice(page) == stable_slice(truth), tried=tried,
               wrong=f"product {product_id}'s page came back as {short(page)}.", hint=HINT_SPLIT_READ)
        if page["stock"] != truth["stock"]:
            stale += 1
            worst = max(worst, db.stock_age(product_id, page["stock"], clock(), truth["stock"]))
    _bounded_and_cheap(db, round_trips(log), worst, len(ids), tried)
    return db.document_queries, db.stock_queries, stale, worst


def _bounded_and_cheap(db, trips, worst, products, tried, reads=600) -> None:
    expect(worst <= STOCK_TTL_MS / 1000 + 1e-9, tried=tried,
           wrong=f"a reader was shown a stock figure that had been out of date for {worst:.2f} s; the bound is "
           f"{STOCK_TTL_MS / 1000:g} s.",
           hint="The stock must come from stock_key(id) with px=STOCK_TTL_MS (or from the database), never from a "
           "longer-lived entry.")
    expect(db.document_queries <= products, tried=tried,
           wrong=f"{db.document_queries} page queries for {products} products whose name, description and price "
           "never changed (one each would do).",
           hint="When only the stock is missing, fetch it with db.get_stock(id): the cheap query.")
    expect(db.stock_queries < reads / 2, tried=tried,
           wrong=f"{db.stock_queries} stock queries for {reads} reads: the stock key is hardly being used.",
           hint="Cache the stock you fetch under stock_key(id) with px=STOCK_TTL_MS, and use it while it lives.")
    expect(trips <= reads + db.stock_queries + 2 * db.document_queries, tried=tried,
           wrong=f"{trips} round trips for {reads} reads.",
           hint="One MGET per read, plus the fills only when something was missing (one pipeline carries them all).")


def _unknown_product(get_product, watched, db) -> None:
    tried = "get_product(cache, db, 4242) for a product that does not exist"
    missing = attempt(get_product, watched, db, 4242, tried=tried,
                      hint="db.get_product returns None for an unknown id; return that None.")
    expect(missing is None, tried=tried, wrong=f"it returned {short(missing)}.",
           hint="db.get_product returns None for an unknown id; return that None (and cache nothing).")


# -- exercise 2 -------------------------------------------------------------------------------


def _order_check(log, tried, db_method):
    calls = [(label, name) for label, name, _a, _k in log]
    written = calls.index(("db", db_method)) if ("db", db_method) in calls else -1
    deletes = [i for i, (label, name) in enumerate(calls) if label == "cache" and name in ("delete", "unlink")]
    expect(not deletes or deletes[0] > written, tried=tried,
           wrong="a key was deleted before the database was written; a reader in between would cache the old value "
           "again.", hint="Write the database first, then delete the key.")


@exercise("Exercise 2 · write paths that keep the slices apart")
def check_write_paths(update_stock, update_price, *, cache=None):
    real, db = fresh_setup(cache)
    reference_get(real, db, 42)
    # a sale: only the stock key may go
    new_stock = db.current(42)["stock"] + 7
    log: list = []
    tried = f"update_stock(cache, db, 42, {new_stock}) while product 42's page is cached"
    attempt(update_stock, RecordingProxy(real, log, "cache"), RecordingProxy(db, log, "db"), 42, new_stock,
            tried=tried, hint="db.update_stock(product_id, stock), then delete stock_key(product_id).")
    expect(db.current(42)["stock"] == new_stock, tried=tried,
           wrong=f"the database still says stock={db.current(42)['stock']}.",
           hint="The database is the source of truth: db.update_stock(product_id, stock).")
    _order_check(log, tried, "update_stock")
    expect(real.exists(info_key(42)), tried=tried,
           wrong="the stable slice was deleted by a stock change, so the next read rebuilds the whole page.",
           hint="A sale changes only the stock: delete stock_key(product_id) and leave info_key(product_id) alone.")
    if real.exists(stock_key(42)):
        sets = [name for label, name, _a, _k in log if label == "cache" and name in WRITE_COMMANDS - {"delete", "unlink"}]
        raise CheckFailed(
            tried,
            "the new stock was written into the cache (update-in-place)." if sets
            else "the old stock figure is still cached under stock_key(42).",
            "Delete stock_key(product_id) after the database write: two sales writing their own figures can land "
            "in the wrong order (notebook 02); a delete cannot." if sets
            else "After the database write, delete stock_key(product_id) so the next read fetches the new figure.",
        )
    document, stock = db.document_queries, db.stock_queries
    page = reference_get(real, db, 42)
    expect(page["stock"] == new_stock and db.document_queries == document and db.stock_queries == stock + 1,
           tried=tried + ", then a read",
           wrong=f"the next read showed stock {page['stock']} after {db.document_queries - document} page and "
           f"{db.stock_queries - stock} stock queries.",
           hint="Only the stock key should be gone: the next read fetches the stock (cheap) and keeps the page.")

    # a price change: only the stable slice may go
    new_price = round(db.current(42)["price"] + 2.5, 2)
    log = []
    tried = f"update_price(cache, db, 42, {new_price}) while product 42's page is cached"
    attempt(update_price, RecordingProxy(real, log, "cache"), RecordingProxy(db, log, "db"), 42, new_price,
            tried=tried, hint="db.update_price(product_id, price), then delete info_key(product_id).")
    expect(db.current(42)["price"] == new_price, tried=tried,
           wrong=f"the database still says price={db.current(42)['price']}.",
           hint="Write the database first: db.update_price(product_id, price).")
    _order_check(log, tried, "update_price")
    expect(not real.exists(info_key(42)), tried=tried,
           wrong="the stable slice still holds the old price.",
           hint="A price is part of the stable slice: delete info_key(product_id) after the database write.")
    expect(real.exists(stock_key(42)), tried=tried,
           wrong="the stock key was deleted too, although the stock did not change.",
           hint="Delete only the slice whose field changed: info_key(product_id) for a price.")
    page = reference_get(real, db, 42)
    expect(page["price"] == new_price, tried=tried + ", then a read",
           wrong=f"the next read showed price {page['price']}.", hint="Delete info_key(product_id) after the write.")
    return "a sale deletes only the stock key, a price change only the stable slice; both after the database write."


# -- exercise 3 -------------------------------------------------------------------------------

PLAN_CASES = [
    # (read rate, write rate, staleness budget): chosen away from the boundaries
    (2.0, 1 / 86_400, 60),  # price of a popular product
    (2.0, 0.5, 5),  # stock of a popular product, page budget 5 s
    (2.0, 0.5, 0),  # the same stock at the checkout
    (1 / 600, 1 / 3_600, 5),  # stock of a tail product
    (1 / 600, 1 / (90 * 86_400), 3_600),  # name of a tail product
    (50.0, 20.0, 1),  # a hot counter with a 1 s budget
    (0.5, 0.2, 10),  # cap 0.71; 10 s budget → 0.83: not enough
    (100.0, 5.0, 0),  # cap 0.95: delete on write even with a zero budget
    (0.01, 0.0, 0),  # never written: cap 1
]


@exercise("Exercise 3 · which fields justify caching")
def check_plan_field(plan_field, *, cache=None):
    hint = (f"First λ/(λ + w): if it reaches {TARGET}, {CACHE_DELETE_ON_WRITE!r}. Otherwise, with a budget S > 0, "
            f"λS/(1 + λS): if that reaches {TARGET}, {CACHE_SHORT_TTL!r}. Otherwise {READ_LIVE!r}.")
    for read_rate, write_rate, budget in PLAN_CASES:
        tried = f"plan_field(read_rate={read_rate:.4g}, write_rate={write_rate:.4g}, staleness_budget={budget:g})"
        got = attempt(plan_field, read_rate, write_rate, budget, tried=tried, hint=hint)
        want = reference_plan(read_rate, write_rate, budget, target=TARGET)
        cap = read_rate / (read_rate + write_rate)
        ttl_ratio = float(ttl_only_hit_ratio(read_rate, budget))
        if got != want:
            if got == CACHE_SHORT_TTL and want == CACHE_DELETE_ON_WRITE:
                why = (f"delete-on-write reaches {cap:.3f} here, and it is never stale: prefer it when it reaches the "
                       "target, before trading freshness for hits.")
            elif want == READ_LIVE and budget == 0:
                why = "a staleness budget of 0 means no cached copy may be served unless delete-on-write reaches the target."
            elif got == CACHE_DELETE_ON_WRITE:
                why = f"deleted on write the field reaches at most λ/(λ + w) = {cap:.3f}, below {TARGET}."
            else:
                why = f"a TTL of the budget gives λS/(1 + λS) = {ttl_ratio:.3f} here."
            raise CheckFailed(tried, f"it returned {short(got)}; it should be {want!r}: {why}", hint)
    return "every field planned by the hit ratio it could reach, its staleness budget and the target."


# -- exercise 4 (break it) ----------------------------------------------------------------------

MAX_EVENTS = 20
REPLAY_SECONDS = 60
PRODUCT = 42


def leaky_split_read(cache, db, product_id):
    """A split read path with one flaw, for exercise 4: find the page views and sales that expose it.

    It reads both keys with one MGET and fills what is missing, like exercise 1, except that a
    cold read stores the stock it got from the whole page under the *stable slice's* TTL.
    """
    info_raw, stock_raw = cache.mget([info_key(product_id), stock_key(product_id)])
    if info_raw is not None and stock_raw is not None:
        return {**json.loads(info_raw), "stock": int(_decode_stock(stock_raw))}
    if info_raw is None:
        page = db.get_product(product_id)
        if page is None:
            return None
        pipe = cache.pipeline(transaction=False)
        pipe.set(info_key(product_id), json.dumps(stable_slice(page)), ex=INFO_TTL)
        pipe.set(stock_key(product_id), page["stock"], ex=INFO_TTL)  # the flaw: the slice's TTL
        pipe.execute()
        return page
    stock = db.get_stock(product_id)
    cache.set(stock_key(product_id), stock, px=STOCK_TTL_MS)
    return {**json.loads(info_raw), "stock": stock}


def _valid_events(events) -> list[tuple[float, str]]:
    tried = "your events for exercise 4"
    shape = (f"a list of at most {MAX_EVENTS} (seconds, 'read' or 'sale') pairs, times from 0 to "
             f"{REPLAY_SECONDS}, e.g. [(0, 'read'), (10, 'read')]")
    if events in (None, Ellipsis):
        raise CheckFailed(tried, f"{NOT_ANSWERED}: events is still `...`.", f"Set events to {shape}.")
    if isinstance(events, (str, bytes)) or not hasattr(events, "__iter__"):
        raise CheckFailed(tried, f"{short(events)} is not a list of events.", f"Set events to {shape}.")
    events = list(events)
    if not 1 <= len(events) <= MAX_EVENTS:
        raise CheckFailed(tried, f"{len(events)} events.", f"Give from 1 to {MAX_EVENTS}: {shape}.")
    checked = []
    for event in events:
        ok = isinstance(event, (tuple, list)) and len(event) == 2 and event[1] in ("read", "sale")
        when = event[0] if ok else None
        if not ok or isinstance(when, bool) or not isinstance(when, (int, float)) or not 0 <= when <= REPLAY_SECONDS:
            raise CheckFailed(tried, f"{short(event)} is not an event.", f"Each event is (seconds, kind): {shape}.")
        checked.append((float(when), event[1]))
    return sorted(checked, key=lambda event: event[0])  # sorted() is stable: a tie keeps your order


def replay_events(get_product, events, *, cache=None) -> dict:
    """Replay ``events`` on product 42 on a virtual clock; what the page showed and how old its stock was."""
    clock = VirtualClock()
    real, db = fresh_setup(cache, clock)
    watched = ClockedCache(real, clock)
    stock = db.current(PRODUCT)["stock"]
    worst, shown = 0.0, []
    tried = "replaying your events against the reader"
    for when, kind in events:
        clock.set(when)
        if kind == "sale":
            stock -= 1
            db.update_stock(PRODUCT, stock)  # a sale never touches the cache
            continue
        page = attempt(get_product, watched, db, PRODUCT, tried=tried, hint=HINT_SPLIT_READ)
        age = db.stock_age(PRODUCT, page["stock"], clock(), stock)
        shown.append((when, page["stock"], stock, age))
        worst = max(worst, age)
    return {"worst_s": worst, "shown": shown}


@exercise("Exercise 4 (break it) · the page that shows an old stock figure")
def check_breaks_leaky_read(events, *, cache=None):
    events = _valid_events(events)
    tried = f"replaying {len(events)} events on product 42 against leaky_split_read"
    leaky = replay_events(leaky_split_read, events, cache=cache)
    bound = STOCK_TTL_MS / 1000
    kinds = [kind for _when, kind in events]
    if leaky["worst_s"] > bound + 1e-9:
        fixed = replay_events(reference_get, events, cache=cache)
        return (f"the leaky reader showed a stock figure {leaky['worst_s']:.1f} s out of date (bound {bound:g} s); "
                f"exercise 1's reader, on the same events, at most {fixed['worst_s']:.1f} s.")
    if "sale" not in kinds:
        wrong, hint = ("with no sale, every stock figure shown is the current one.",
                       "Staleness needs a change the cache does not hear about: put a sale between two reads.")
    elif "read" not in kinds or max(i for i, kind in enumerate(kinds) if kind == "read") < kinds.index("sale"):
        wrong, hint = ("no page was read after a sale, so no old figure could be shown.",
                       "Read the page (to fill the cache), then a sale, then read again.")
    elif kinds.index("read") > max(i for i, kind in enumerate(kinds) if kind == "sale"):
        wrong, hint = ("every read came after the last sale, so the first one filled the cache with the current stock.",
                       "Read first (that fills the cache), then a sale, then read again.")
    elif leaky["worst_s"] > 0:
        wrong, hint = (f"the oldest figure shown was {leaky['worst_s']:.1f} s out of date, inside the {bound:g} s bound.",
                       f"Wait longer after the sale before reading again: the bound is {bound:g} s.")
    else:
        wrong, hint = ("every figure shown was current: the reads after the sale fetched the new stock.",
                       "Which read fills the stock key, and with which TTL? Look at the cold-read branch of "
                       "leaky_split_read, then read again well after a sale.")
    raise CheckFailed(tried, wrong, hint)


# -- exercises 5 and 6 (questions) --------------------------------------------------------------

@exercise("Exercise 5 (question) · the cap on the whole page")
def check_page_cap(answer, *, cache=None):
    return estimate(
        answer,
        question="the highest hit ratio any TTL gives a page read 2 times a second and sold every 2 seconds, "
                 "cached whole with delete-on-write",
        answer=0.8, tolerance=0.01,
        too_low="Every sale deletes the page, and the reads between two sales are all hits but the first: "
                "how many reads fall, on average, between two sales?",
        too_high="However long the TTL, each sale deletes the page and the next read misses. With reads at λ = 2/s "
                 "and sales at w = 0.5/s, what share of events are reads that follow another read?",
        why="Between two sales there are on average λ/w = 4 reads, the first a miss: λ/(λ + w) = 2/2.5 = 0.8.",
    )


SPLIT_COST_CHOICES = {
    "a": "more database queries per second",
    "b": "more cache round trips per page view",
    "c": "a second key (and its memory) per product, and a reader that must recombine two pieces",
    "d": "a price that can now be up to 2 s out of date",
}


@exercise("Exercise 6 (question) · what the split costs")
def check_split_cost(answer, *, cache=None):
    return choose(
        answer,
        question="what does splitting the page into a stable slice and a stock key cost?",
        choices=SPLIT_COST_CHOICES,
        answer="c",
        wrong={
            "a": "Your exercise 1 counted the queries: one page query per product for the whole minute, plus cheap "
                 "stock queries. The whole page, deleted by every sale, cost a page query after every sale.",
            "b": "One MGET reads both keys: still one round trip per page view (exercise 1 checked it).",
            "d": "The price lives in the stable slice, deleted by update_price: the 2 s bound is the stock's TTL, "
                 "not the price's.",
        },
        why="Two entries per product instead of one, each with its key and overhead, and code that reads, fills "
            "and invalidates two pieces; that is the price of hits that a sale no longer destroys.",
    )
