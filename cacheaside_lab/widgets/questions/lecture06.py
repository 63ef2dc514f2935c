"""Lecture 06's questions: how big a herd is, what the lock does to it, what XFetch costs."""

QUESTIONS = {
    # before the 32-thread burst on a cold key (run_herd, no protection)
    "06.burst": dict(
        prompt=("32 readers ask for product 42 at the same moment. It is not cached, and one database "
                "read takes 300 ms. With plain cache-aside (no protection), how many of them query the database?"),
        answer=32,
        tolerance=2,
        unit="loads",
        explanation=("Every reader's GET happens long before the first fill's SET lands, 300 ms later, and "
                     "nothing tells a reader that somebody is already loading the row. So all 32 miss and "
                     "all 32 load the same row: the herd is the whole burst."),
    ),
    # before the logical-time herds at rates from 20 to 400 per second
    "06.rate": dict(
        prompt=("Requests for one cold key arrive at 200 per second, at random (a Poisson process), and a "
                "fill takes 100 ms. On average, how many of them load the row before the first fill lands?"),
        answer=21,
        relative_tolerance=0.15,
        unit="loads",
        explanation=("The first request misses and starts the fill; every request that arrives during the "
                     "next 100 ms misses too. At 200 per second that is 200 × 0.1 = 20 more on average: "
                     "1 + r·Δ = 21. Single runs scatter around it because the arrivals are random."),
    ),
    # before compare_protections: the same burst with protection="lock"
    "06.lock": dict(
        prompt=("The same burst of 32 readers on a cold key, now through CacheAside(protection=\"lock\") "
                "(SET key:lock NX PX on a miss). What happens?"),
        choices=[
            "32 loads: a Redis lock only helps readers in different processes.",
            "1 load; the other 31 wait about one fill, then read the value from the cache.",
            "1 load; the other 31 get an error until the fill lands.",
            "1 load; the other 31 answer at once, without waiting.",
        ],
        answer="1 load; the other 31 wait about one fill, then read the value from the cache.",
        explanation=("Only one SET NX succeeds, so one reader fills. The others lost the lock: they sleep a "
                     "few milliseconds, re-read the cache and try again, until the value is there. They never "
                     "see an error and never touch the database, but they do wait: about one fill plus up to "
                     "one poll interval. Answering at once would need an old copy to serve "
                     "(stale-while-revalidate), and a cold key has none."),
    ),
    # before the two application servers with single-flight each
    "06.servers": dict(
        prompt=("Two application servers, each a CacheAside with protection=\"single-flight\", get 16 "
                "readers each for the same cold key at the same moment. How many loads in total?"),
        answer=2,
        tolerance=0,
        unit="loads",
        explanation=("Single-flight's table of loads in progress lives in one process's memory. Each server's "
                     "first reader loads and its other 15 wait for that load, but the two servers know "
                     "nothing of each other: one load per server, 2 in all (and 200 with 200 servers)."),
    ),
    # before the XFetch simulation at rates from 10 to 10,000 per second
    "06.xfetch": dict(
        prompt=("One key is read 1,000 times a second and recomputing it takes 100 ms. Without protection "
                "each expiry costs about 1 + r·Δ = 101 recomputations. With XFetch (β = 1), about how many?"),
        answer=2.72,
        tolerance=0.5,
        unit="recomputations",
        explanation=("Each reader refreshes early with probability e^(−t/(Δβ)), t the time left. At 1,000 "
                     "reads a second somebody fires a little before the expiry; the only duplicates are the "
                     "readers who also fire during that one refresh's 100 ms. Vattani et al. show the mean "
                     "tends to e^(1/β) = 2.72 at β = 1 however high the rate: a flat cost of under two "
                     "extra recomputations, spent a little early."),
    ),
}
