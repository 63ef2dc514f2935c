"""Lecture 15's questions: what application-code invalidation misses, retries, and read-your-writes' cost."""

QUESTIONS = {
    # before the cell that runs ten app writes and a bulk job with invalidation in application code
    "15.bulk_job": dict(
        prompt=("Products 1–100 are cached in two regions (eu, us) and on five listing pages of 20. The "
                "EU application changes the price of products 41–50, deleting its own EU keys as the "
                "pattern says; then a bulk job discounts products 1–40 with one SQL statement. How many "
                "cached entries (product entries and listing pages) are stale afterwards?"),
        answer=93,
        tolerance=2,
        unit="entries",
        explanation=("40 in the EU (the bulk job's rows: no application code ran for them), 50 in the US "
                     "(the EU app never deletes another region's keys), and 3 listing pages (the pages "
                     "showing products 1–20, 21–40 and 41–60; nobody deletes a page when a product on it "
                     "changes). Only the 10 EU entries the application knew about were deleted."),
    ),
    # before the cell that polls the change log while the cache is down
    "15.retry": dict(
        prompt=("Product 7 changes while the cache is down, and the invalidator polls the change log. "
                "What happens to that change?"),
        choices=[
            "It is lost: the DEL failed, so the entries stay stale until their TTL.",
            "The invalidator keeps its position in the log and deletes the keys at a later poll.",
            "The invalidator skips it; the next write to product 7 cleans up.",
            "The database rolls the change back, because it could not be invalidated.",
        ],
        answer="The invalidator keeps its position in the log and deletes the keys at a later poll.",
        explanation=("The invalidator moves its position only after every DEL succeeded, so a failed poll "
                     "handles 0 changes and the change stays pending; the first poll after the cache is "
                     "back handles it. A change may be handled twice that way, which is harmless for a "
                     "delete: at-least-once delivery is what invalidation needs. The database never waits "
                     "for the cache."),
    ),
    # before the read-your-writes cell
    "15.marker_cost": dict(
        prompt=("50 users each change a product and read it back 0.2 s later, while the change-log "
                "invalidator runs once a second. A marker makes each writer's reads of the product they "
                "changed go to the database for 2 s. What does the marker cost?"),
        choices=[
            "Every user's reads skip the cache for 2 s after any write: the hit rate collapses.",
            "Only the writers' read-backs go to the database: about one extra database read per write.",
            "Nothing: the marker makes the invalidator delete the key at once.",
            "The writer's cache entry is rewritten with the new row, so no extra database reads.",
        ],
        answer="Only the writers' read-backs go to the database: about one extra database read per write.",
        explanation=("The marker is per user and per product, so everybody else keeps reading the cache. "
                     "Below, the read-backs cost 50 database reads with the marker against 8 without: 42 "
                     "extra, one for each writer who would otherwise have seen their old value (42 of 50 "
                     "did). The price is paid by writers only, for the 2 s the marker lives."),
    ),
}
