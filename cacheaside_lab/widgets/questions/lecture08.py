"""Lecture 08's questions: what missing ids cost the database, how long a cached "not found" lies
after an insert, and the herd on a missing id before and after the protections hand it over."""

QUESTIONS = {
    # before the first replay of the flood (warm cache, no negative caching)
    "08.flood_off": dict(
        prompt=("Every one of the 1,000 products is already cached. The stream's 1,000 lookups include 192 for "
                "ids the database does not have (63 different ids, some looked up many times). With plain "
                "cache-aside, how many database queries do the 1,000 lookups cost?"),
        choices=[
            "0: the cache is warm.",
            "63: the first lookup of each missing id; the later ones are answered by the cache.",
            "192: every lookup of a missing id.",
            "1,000: a stream with missing ids bypasses the cache.",
        ],
        answer="192: every lookup of a missing id.",
        explanation=("The 808 lookups of real products are hits. A missing id's lookup misses, asks the "
                     "database, gets nothing, and stores nothing: there is no value to cache, so the next "
                     "lookup of the same id misses again. Each of the 192 reaches the database, however "
                     "often the id repeats."),
    ),
    # before the replay of random ids with negative caching
    "08.flood_random": dict(
        prompt=("Now negative caching is on (a 30 s TTL for \"not found\"), and the 192 missing lookups are for "
                "random ids below 10⁹ instead of 63 repeated ones (a scraper walking the id space). How many "
                "database queries do the 1,000 lookups cost?"),
        choices=[
            "About 1: the first \"not found\" is cached and answers the rest.",
            "63: one per distinct missing id, as with the repeated ones.",
            "192: every random id is new, so each one's first lookup reaches the database.",
            "0: random ids are rejected before the database.",
        ],
        answer="192: every random id is new, so each one's first lookup reaches the database.",
        explanation=("A cached \"not found\" is per id: it answers the *next* lookup of that id. 192 random "
                     "ids out of a billion are 192 different ids, so each lookup is a first lookup and "
                     "reaches the database, exactly as without negative caching; what changes is that the "
                     "cache now also holds 192 entries nobody will read again. Negative caching helps when "
                     "missing ids repeat; against a walk of the id space the defence is elsewhere (reject "
                     "ids that cannot exist, rate-limit the client)."),
    ),
    # before the stale-window replay without invalidate
    "08.stale": dict(
        prompt=("Product 1001 does not exist. At t = 0 s a read caches \"not found\" for 5 s (the negative TTL). "
                "At t = 1 s the product is inserted, and nobody invalidates its key. Readers look it up every "
                "0.5 s. For how many seconds after the insert are they still told \"not found\"?"),
        answer=4.0,
        tolerance=0.5,
        unit="s",
        explanation=("The \"not found\" was cached at 0 s for 5 s, so it answers until 5 s whatever the "
                     "database holds: 4 s after the insert. The insert does not touch the cache; only a DEL "
                     "(invalidate) or the expiry removes the entry. So the negative TTL is the bound on a "
                     "missed invalidation, and what remains of it at the insert is the stale window."),
    ),
    # before the herd with the lock as it was
    "08.herd_before": dict(
        prompt=("The lock as it used to be: the filler that finds nothing stores nothing. 16 threads read a "
                "missing id at once through protection=\"lock\"; the database takes 20 ms. How many database "
                "queries?"),
        choices=[
            "1: the lock lets one reader load and the others wait for it.",
            "2: the filler and one reader that arrives after its release.",
            "16: each waiter finds no value, takes the lock in turn, and loads again.",
            "32: each waiter loads twice, once before and once after the lock.",
        ],
        answer="16: each waiter finds no value, takes the lock in turn, and loads again.",
        explanation=("The waiters wait for a *value* to appear. For a missing id none ever does: the filler "
                     "loads, finds nothing, stores nothing and releases the lock. The next waiter to poll "
                     "takes it, finds the key still empty, and loads: 16 loads one after another, each "
                     "behind the previous one and a poll interval, so the last reader waits about 16 loads. "
                     "With no protection at all the 16 loads would at least run side by side."),
    ),
    # before the herd with today's lock
    "08.herd_after": dict(
        prompt=("Today's lock: a filler that finds nothing leaves a brief \"not found\" entry (handoff_ms, a few "
                "poll intervals) even with negative caching off. The same 16 threads, the same 20 ms database. "
                "How many queries, and how long does the slowest reader wait?"),
        choices=[
            "16 queries, about one load each: they now run side by side.",
            "1 query (2 at most), the slowest reader about one load and a poll.",
            "0 queries: the handoff entry is there before anyone reads.",
            "1 query, but the slowest reader still waits about 16 loads.",
        ],
        answer="1 query (2 at most), the slowest reader about one load and a poll.",
        explanation=("The waiters poll for anything of the layer's own under the key, and the \"not found\" "
                     "entry is one: their next poll after the filler's load reads it and answers None. One "
                     "load for the herd, and each waiter waits the load plus at most one poll interval. "
                     "A second query is possible only for a reader that arrives after the brief entry "
                     "expired."),
    ),
}
