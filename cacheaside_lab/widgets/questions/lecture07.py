"""Lecture 07's questions: the total miss's multiplier, how long it lasts, what warming and jitter buy."""

QUESTIONS = {
    # before the cleared-cache replay
    "07.multiplier": dict(
        prompt=("A cache serves 99% of the reads (hit ratio h = 0.99) and restarts empty. In the first "
                "moments, by what factor does the database's read load grow?"),
        answer=100,
        relative_tolerance=0.1,
        unit="times",
        explanation=("With the cache working the database sees the 1% of reads that miss; with it empty it "
                     "sees all of them: 1 / (1 − h) = 1 / 0.01 = 100 times as many. The better the cache, "
                     "the bigger the fall."),
    ),
    # before the plot of the database's load after the clear
    "07.recovery": dict(
        prompt=("After the clear, how long does the database stay above three times its steady load? "
                "(1,000 reads a second, 1,000 products with Zipf popularity, a fill takes 50 ms.)"),
        choices=[
            "About one fill (50 ms): then the hot keys are back.",
            "A few hundred milliseconds.",
            "Seconds: the hot keys are back at once, but the long tail refills slowly.",
            "It never goes back under: the cache cannot refill while it is overloaded.",
        ],
        answer="Seconds: the hot keys are back at once, but the long tail refills slowly.",
        explanation=("The hottest products are read many times a second and refill within one fill "
                     "time. Most of the 1,000 products are read less than once a second, and each stays "
                     "missing until its next read. Together those cold products keep the misses far above "
                     "the steady state's for seconds: the spike is short, the tail is long."),
    ),
    # before warming the top 100 products right after the clear
    "07.warming": dict(
        prompt=("Right after the clear, the 100 most popular of the 1,000 products (Zipf, s = 1) are warmed "
                "in one batched query. What share of the reads in the next quarter of a second still reach the database?"),
        answer=31,
        tolerance=8,
        unit="%",
        explanation=("With Zipf popularity product k gets a share 1/k of the weight, so the top 100 carry "
                     "H(100)/H(1000) = 5.19/7.49 = 69% of the reads. Warming them leaves the other 31% "
                     "missing (a little less in practice: a tail product read twice in that quarter second "
                     "misses only the first time), so the peak drops by about two thirds. Warming ten times as many keys would cut "
                     "the tail further, at the price of a longer warm-up."),
    ),
    # before the jittered TTLs of 500 warmed keys
    "07.jitter": dict(
        prompt=("500 keys are warmed together with a 300 s TTL and ttl_jitter=0.1, which shortens each TTL "
                "by a random share of up to 10%. Over about how many seconds do their expiries spread?"),
        answer=30,
        tolerance=5,
        unit="s",
        explanation=("Each TTL lands somewhere between 270 and 300 s (up to 10% of 300 s shorter), so the "
                     "500 expiries spread over about 30 s: some 17 a second instead of 500 in the same "
                     "second. Jitter only shortens TTLs, so the TTL stays the bound on staleness."),
    ),
}
