"""Lecture 04's questions: a lost delete without a TTL, the write rate's ceiling, and what jitter does."""

QUESTIONS = {
    # before the one-key replay: a lost DEL, no later write, no TTL
    "04.lost_delete": dict(
        prompt=("One product's last write (at 480 s) loses its DEL, and no write follows. With no TTL, "
                "how long does the cache keep serving the old value?"),
        choices=[
            "A second or two: the next read sees that the database changed and refills.",
            "Until something deletes or evicts the key: here, to the end of the run, about 400 s.",
            "At most one TTL.",
        ],
        answer="Until something deletes or evicts the key: here, to the end of the run, about 400 s.",
        explanation=("A hit returns what is stored without asking the database, so only a delete or an "
                     "expiry ends an entry. The DEL that should have ended this one was lost and no write "
                     "follows, so nothing ends it: the replay serves 74 stale reads, the last one 409 s out "
                     "of date, and in production it lasts until the key is evicted or the cache restarts. "
                     "With a 120 s TTL the same entry expires at most 120 s after its fill: 17 stale reads, "
                     "at worst 91 s out of date. There is no TTL here, so 'at most one TTL' bounds nothing."),
    ),
    # before the table of one product's hit ratio against TTL
    "04.ceiling": dict(
        prompt=("One product is read 5 times and written 0.05 times per second, and every write deletes "
                "its key. What hit ratio does a TTL of 1,000 s give?"),
        choices=[
            "About 0.9998: each fill lives 1,000 s and serves about 5,000 reads.",
            "About 0.990: a write deletes the entry about every 20 s, so a fill serves about 100 reads.",
            "About 0.5: half the fills are ended by a write.",
        ],
        answer="About 0.990: a write deletes the entry about every 20 s, so a fill serves about 100 reads.",
        explanation=("With delete on write a fill ends at its TTL or at the next write, whichever comes "
                     "first. Writes come every 1/w = 20 s on average, long before 1,000 s, so a fill serves "
                     "about λ/w = 100 reads and then one read misses: a hit ratio of λ/(λ + w) = 100/101 = "
                     "0.990, however long the TTL. The table measures 0.9898 (formula 0.9901); 0.9998 is "
                     "what TTL-only caching gets, where no write ends an entry (and most reads are stale)."),
    ),
    # before the warm-start run: how big the first expiry wave is
    "04.jitter_peak": dict(
        prompt=("5,000 equally popular products, each read about once a second, are all loaded at time 0 "
                "with a 60 s TTL and no jitter. How many database reads land in the busiest second?"),
        answer=3193,
        relative_tolerance=0.15,
        unit="reads",
        explanation=("All 5,000 entries expire together, 60 s after the load. In the next second each key "
                     "is read with probability 1 − e^(−1) ≈ 0.63 (Poisson reads, one per second), and every "
                     "one of those reads misses: about 5,000 × 0.63 ≈ 3,160 database reads in one second, "
                     "where the steady state needs about 82 per second. The run counts 3,193 in second 60."),
    ),
    # before the long run that measures what jitter costs
    "04.jitter_cost": dict(
        prompt=("Over a long run, how many more database reads does 20% jitter cost than no jitter, on the "
                "same keys and the same reads?"),
        choices=[
            "None: jitter only moves the expiries around.",
            "About 10%: the mean TTL is 10% shorter, so entries are refilled about 10% more often.",
            "About 20%: every TTL is 20% shorter.",
            "About twice as many: the peaks are lower but there are more of them.",
        ],
        answer="About 10%: the mean TTL is 10% shorter, so entries are refilled about 10% more often.",
        explanation=("Jitter shortens each TTL by a uniform share between 0 and 20%, 10% on average: a mean "
                     "TTL of 54 s instead of 60. A key misses once per cycle, the TTL plus about a second "
                     "until its next read, so the misses go from 1/61 to 1/55 per key and second: 11% more "
                     "(the formula), 10.5% in the 50-minute simulation. Jitter does not add waves, it "
                     "spreads each one; and 'every TTL 20% shorter' is the worst draw, not the average."),
    ),
}
