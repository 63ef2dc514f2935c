"""Lecture 18's questions: the capstone card's TTL bound, what a plain layer misses, and what a
"not found" costs when it is not cached.

The prompts quote the course's requirements card (:data:`cacheaside_lab.service.requirements.REQUIREMENTS`),
so a question cannot drift from the card the lecture prints and the lab grades against.
"""

from ...service.requirements import REQUIREMENTS as _CARD

_BYPASS = f"{_CARD.bypass_staleness_s:g} s"

QUESTIONS = {
    # after the card: the one staleness nothing but the TTL can bound
    "18.longest_ttl": dict(
        prompt=(f"The card says a row changed directly in the database (a nightly import, which never tells the "
                f"service) must be visible within {_BYPASS}. The layer deletes entries on every write *through* "
                "the service. What is the longest TTL that can still promise the import's budget?"),
        answer=_CARD.bypass_staleness_s,
        unit="s",
        explanation=("Nobody deletes the entry after an import, so the entry's expiry is the only thing "
                     "that ends it: an entry filled a moment before the import is served, old, for its whole TTL. "
                     f"A TTL of {_BYPASS} holds the budget exactly; with jitter, the TTL plus its jitter must stay "
                     "within it, and so must the negative TTL (an id the import inserts reads 'not found' until its "
                     "negative entry expires). The steady scenario checks this by reading the longest remaining TTL of "
                     "the layer's keys."),
    ),
    # before the plain layer's run
    "18.plain_misses": dict(
        prompt=("A plain AsyncCacheAside with the course's usual 300 s TTL, delete on write, no herd protection and "
                "no negative caching goes through the steady scenario (a warm cache) and the flood of missing ids. "
                "Which targets does it miss whatever the machine's load?"),
        choices=[
            "none: a warm cache with a TTL holds the whole card",
            f"the database share in steady traffic: {_CARD.db_share:g} × the uncached service's queries is too tight",
            (f"the import's staleness budget (a 300 s TTL outlives {_BYPASS}) and the missing-id queries (a "
             "'not found' is never cached)"),
            f"the memory budget: {_CARD.keys} cached products do not fit",
        ],
        answer=(f"the import's staleness budget (a 300 s TTL outlives {_BYPASS}) and the missing-id queries (a "
                "'not found' is never cached)"),
        explanation=("Both misses are counts, not timings, so no machine load changes them. The longest remaining TTL "
                     f"just after the cache is warmed is nearly 300 s, five times the {_BYPASS} budget; and every read of an id "
                     "that does not exist loads None, which the layer does not store, so the next read of the same id "
                     "queries again. A warm cache does take steady reads off the database (almost no queries), and the "
                     "products fit the memory budget with room to spare. The p99 targets are timings: the run prints "
                     "them, but no answer here counts on them."),
    ),
    # before the run: the missing-ids scenario's number
    "18.missing_share": dict(
        prompt=(f"In the missing-ids scenario {_CARD.missing_share:.0%} of the requests ask for {_CARD.missing_pool} ids "
                "that do not exist, again and again. Without a cache each one is a database query. With the plain "
                "layer (no negative caching), how many missing-id queries does the database get, as a share of the "
                f"uncached service's? (The card allows {_CARD.db_share:g}.)"),
        answer=1.0,
        tolerance=0.2,
        unit="×",
        explanation=("About 1: the same queries as with no cache at all. The scenario sends the same schedule to both "
                     "services (same seed), and the plain layer turns every read of a missing id into a miss, a query "
                     "and no fill. Negative caching would store the 'not found' for its own short TTL, and each of the "
                     f"{_CARD.missing_pool} ids would cost about one query per negative TTL instead of one per request. "
                     "Under a busy machine the two counts can differ a little (a request still queued when a run stops "
                     "is never asked of the database), so read the ratio, not the counts."),
    ),
}
