"""Lecture 01's questions: what the hits save, what a forgotten delete serves, what overlapping
write-through puts leave behind, and what a dead cache does to cache-aside and to read-through."""

QUESTIONS = {
    # before the loop of 10,000 reads of product 42 (it is cached, TTL 300 s)
    "01.queries": dict(
        prompt=("Product 42 was read once (a miss) and is now cached with a 300 s TTL. The next cell "
                "reads it 10,000 more times, which takes well under a second. How many database queries "
                "will all 10,001 reads have cost, the first one included?"),
        answer=1,
        tolerance=0,
        explanation=("Only the first read missed. Each of the next 10,000 finds the entry (its 300 s TTL is "
                     "nowhere near running out) and never calls the loader. Without the cache the same reads "
                     "would have cost 10,001 queries, 200 s of database time at 20 ms each."),
    ),
    # before the cell that updates product 42 to stock 0 and forgets the delete
    "01.forgot": dict(
        prompt=("Product 42 is cached with stock 3. A code path sets its stock to 0 in the database and "
                "forgets to delete the cached copy. What does the next read of product 42 return?"),
        choices=[
            "stock 0: the database is the source of truth",
            "stock 3, and it keeps returning 3 until the entry's TTL runs out",
            "an error: the cache sees that the row changed",
            "stock 3 once, then stock 0 from the next read on",
        ],
        answer="stock 3, and it keeps returning 3 until the entry's TTL runs out",
        explanation=("A hit never looks at the database, and nothing told the cache the row changed: it is a "
                     "plain store that holds whatever was last SET. Every read hits the old row until the "
                     "entry expires, up to the 300 s TTL. Nothing fails, which is why a forgotten delete goes "
                     "unnoticed and why every entry needs a TTL."),
    ),
    # before the cell that replays two overlapping write-through puts
    "01.write_through": dict(
        prompt=("Write-through: each put writes the database, then SETs the new row in the cache. Writer A "
                "puts price 10.00 and writer B puts price 12.00 on the same product. B's database write "
                "lands after A's, but B's SET lands before A's. What does the cache hold at the end?"),
        choices=[
            "12.00, the same as the database",
            "10.00, A's older price, while the database says 12.00",
            "nothing: the second SET for a key deletes it",
            "whichever price the next reader loads",
        ],
        answer="10.00, A's older price, while the database says 12.00",
        explanation=("The database applies the writes in one order (A then B, so 12.00) and the cache applies "
                     "the SETs in another (B then A, so 10.00); each put is two steps, and nothing ties the "
                     "order of the second steps to the order of the first. The cache is not empty, so no "
                     "reader loads the row again: the old price is served until the TTL runs out. It is "
                     "notebook 02's race, and a delete instead of the SET leaves nothing to be wrong."),
    ),
    # before the cell that reads through a cache that refuses every command
    "01.dead_cache": dict(
        prompt=("The cache refuses every command, as a crashed Redis would. Twenty reads go through "
                "cache-aside, then one read goes through a read-through layer that runs as its own service "
                "(it has no fallback). What happens?"),
        choices=[
            "both answer every read correctly, from the database",
            "cache-aside answers all 20 from the database; the read-through read fails",
            "both fail: with no cache there is nothing to answer from",
            "cache-aside answers from the copies it kept in memory; the read-through read fails",
        ],
        answer="cache-aside answers all 20 from the database; the read-through read fails",
        explanation=("Cache-aside's application has its own path to the database: a cache error is treated "
                     "as a miss, the row is loaded and the SET is skipped, so the answers are right and only "
                     "slower (20 ms each). An application behind a separate read-through layer has no path to "
                     "the data but through the layer, so the layer's outage is its outage. A read-through "
                     "library inside the application could fall back the same way; the notebook runs that too."),
    ),
}
