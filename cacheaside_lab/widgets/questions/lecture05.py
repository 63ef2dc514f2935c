"""Lecture 05's questions: the cut in database load at 100:1, the latency break-even, a flat catalogue."""

QUESTIONS = {
    # before the summary table: how much load the cache takes off the database at 100:1
    "05.cut_100": dict(
        prompt=("2,000 requests per second at 100 reads per write, 1,000 products (Zipf s = 1), a 300 s "
                "TTL, delete on write. By what factor does the cache cut the database's load (queries "
                "without the cache ÷ queries with it)?"),
        answer=48,
        relative_tolerance=0.2,
        unit="×",
        explanation=("Without the cache the database serves all 2,000 requests a second. With it, each of "
                     "the 19.8 writes a second is still a query, and each also deletes a key that is read "
                     "again soon, so it costs one miss later (19.6 a second); the TTL ends a few more entries "
                     "on rarely read products (1.2 a second), and a short run also pays each product's first "
                     "read. 2,000 / 41.7 = 48×. The tempting 1 + reads/writes = 101× counts the writes but "
                     "forgets the miss that each write causes: even with no expiries the cut is at most "
                     "(1 + ρ)² / (1 + 2ρ) = 51×, about half of 1 + ρ."),
    ),
    # before the break-even search: latency alone
    "05.break_even": dict(
        prompt=("A cache ten times faster than the database (0.5 ms against 5 ms), delete on write, one hot "
                "product. Above which read:write ratio does the cache lower the mean time per request?"),
        choices=[
            "About half a read per write.",
            "About 10 reads per write.",
            "About 100 reads per write.",
        ],
        answer="About half a read per write.",
        explanation=("A hit saves 4.5 ms; a miss costs 1 ms more than the database alone (the GET and the "
                     "SET) and a write 0.5 ms more (the DEL). With ρ reads per write a share ρ/(1 + ρ) of reads "
                     "hit, so even a third of reads hitting pays for the rest: the break-even is 0.54 reads "
                     "per write. 10:1 and 100:1 are where the *load* argument starts to pay, not the latency "
                     "one; with a cache only a little faster than the database (0.8 ms against 1 ms) the "
                     "latency break-even does rise to 12:1."),
    ),
    # before the popularity table
    "05.flat": dict(
        prompt=("The same 100:1 shop, but with 100,000 products, all equally popular, and a 60 s TTL. "
                "What hit ratio does it get?"),
        choices=[
            "About 0.99, like the 1,000-product shop: the ratio is still 100:1.",
            "About 0.9: a few more misses on the extra products.",
            "About 0.5: each product is read about once every 50 s, so many entries expire unread.",
        ],
        answer="About 0.5: each product is read about once every 50 s, so many entries expire unread.",
        explanation=("Each product gets 1,980 / 100,000 ≈ 0.02 reads a second, one every 50 s. An entry "
                     "lives 60 s, so a fill serves λT = 1.2 hits on average before it expires: a hit ratio of "
                     "1.2 / 2.2 ≈ 0.54 (the closed form says 0.542; the 500-second simulation 0.526, lower "
                     "because every product's first read misses). The read:write ratio caps the hit ratio; "
                     "popularity and the TTL decide whether the cap is reached."),
    ),
}
