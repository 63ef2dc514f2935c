"""Lecture 11's questions: the cap one volatile field puts on a document, and what splitting buys."""

QUESTIONS = {
    # before the table of hit ratios against TTL for one page read 2/s and sold every 2 s
    "11.cap": dict(
        prompt=("A product page is read twice a second and sold every two seconds; every sale deletes the "
                "cached page. With a one-hour TTL, what hit ratio does the page reach?"),
        answer=0.8,
        tolerance=0.03,
        explanation=("Each fill serves, on average, the reads that arrive before the next sale: 2 reads a second "
                     "for the 2 seconds a sale takes to come, so 4 hits per miss, and 4/(4 + 1) = 0.8. That is "
                     "λ/(λ + w) = 2/(2 + 0.5). The TTL does not enter: an entry deleted every 2 seconds never lives "
                     "an hour, so no TTL can raise the ratio above 0.8."),
    ),
    # before compare_payloads' table of the four designs
    "11.db_time": dict(
        prompt=("The catalogue workload (50 page views and 5 sales a second; a page build costs 20 ms, a stock "
                "read 1 ms) through four designs. Which spends the least database time per second?"),
        choices=[
            "the whole page, deleted on every sale",
            "split, the stock key deleted on every sale",
            "split, the stock key with a 2-second TTL and no invalidation",
            "split, the stock read from the database on every view",
        ],
        answer="split, the stock key deleted on every sale",
        explanation=("Its stock key misses about as often as the whole page did (a sale deletes either), but each "
                     "miss costs a 1 ms stock read instead of a 20 ms page build: 6.1 ms of database time per "
                     "second against 78. The 2-second TTL misses more often than sales do (each entry dies every 2 s "
                     "even on a product that did not sell), and reading the stock live costs a query on every "
                     "one of the 50 views a second."),
    ),
    # before the same table: the short-TTL design's staleness
    "11.stale_age": dict(
        prompt=("In the design whose stock key has a 2-second TTL and is never deleted, how old (in seconds) can "
                "the stock figure a reader is shown be, at most?"),
        answer=2.0,
        tolerance=0.25,
        unit="s",
        explanation=("The entry is read from the database when it is filled and lives 2 seconds; a sale just "
                     "after the fill makes it wrong for the rest of those 2 seconds, never longer. The run's oldest "
                     "figure was 1.98 s out of date: the TTL is the bound, and it is measured, not assumed."),
    ),
}
