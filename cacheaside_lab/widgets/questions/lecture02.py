"""Lecture 02's questions: which order leaves update-on-write stale, how many orders do, how often
timing lets one happen, and what delete-on-write costs."""

QUESTIONS = {
    # before the replay of the bad interleaving
    "02.which_order": dict(
        prompt=("Update-on-write, two writers: each runs `UPDATE` on the database, then `SET`s its new "
                "row in the cache. Which order of their four steps leaves the cache stale?"),
        choices=[
            "W1 W1 W2 W2: W1 finishes both steps, then W2 does both",
            "W1 W2 W1 W2: both UPDATE, then both SET, in the same order",
            "W1 W2 W2 W1: W1 updates first, but its SET arrives last",
            "None: the cache always ends with the row of the last writer to update",
        ],
        answer="W1 W2 W2 W1: W1 updates first, but its SET arrives last",
        explanation=("The database applies the UPDATEs in the order W1, W2, so it ends with W2's row; the "
                     "cache applies the SETs in the order W2, W1, so it ends with W1's. The cache keeps "
                     "the loser whenever the SETs arrive in the opposite order to the UPDATEs. In the "
                     "other two orders the SETs come in the same order as the UPDATEs, so the last SET "
                     "carries the database's row."),
    ),
    # before all_executions lists the six orders
    "02.stale_count": dict(
        prompt=("Two writers with two steps each can interleave in 6 different orders. "
                "How many of the 6 end with the cache stale?"),
        answer=2,
        unit="orders",
        explanation=("Exactly the two where the SETs arrive in the opposite order to the UPDATEs: "
                     "W1 W2 W2 W1 and its mirror image W2 W1 W1 W2. The other four end fresh. This counts "
                     "orders, each listed once; it does not yet say how often any of them happens."),
    ),
    # before the timed trials
    "02.timing": dict(
        prompt=("Now timing instead of orders. W2's UPDATE runs 10 ms after W1's, and each writer "
                "pauses a random time averaging 1 ms between its UPDATE and its SET. Of 1,000 such "
                "trials, how many end stale?"),
        choices=[
            "About 333: a third, as 2 of the 6 orders are",
            "About 500: half, since either SET may come last",
            "About 100: one in ten",
            "None, or nearly none",
        ],
        answer="None, or nearly none",
        explanation=("For W1's SET to land after W2's, W1's pause must outlast the 10 ms gap plus W2's "
                     "pause. With pauses averaging 1 ms (exponentially distributed) that happens about "
                     "once in 44,000 trials (½·e^−10). Counting orders treats every order as equally "
                     "likely; timing does not. When the two writes overlap (0 ms apart) about half the "
                     "trials end stale, and the share falls quickly as the gap grows."),
    ),
    # before the workload that measures the price of deleting
    "02.delete_cost": dict(
        prompt=("2,000 reads of product 42, one at a time, with a write in the middle of every 100 "
                "reads (20 writes in all), TTL 300 s, cold cache at the start, delete-on-write. "
                "How many database reads does it take?"),
        answer=21,
        tolerance=1,
        unit="database reads",
        explanation=("One for the very first read (the cache starts cold) and one after each of the 20 "
                     "writes: each write deletes the key, so the next read misses and loads the row "
                     "again. Update-on-write would need only the first: its writer leaves the new row "
                     "in the cache. 20 or 22 counts too (forgetting the cold start, or counting it twice)."),
    ),
}
