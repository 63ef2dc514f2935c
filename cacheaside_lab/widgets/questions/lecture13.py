"""Lecture 13's questions: what a sick cache costs, what the breaker does, and what the database sees."""

QUESTIONS = {
    # before compare_faults' table of six ways a cache can be sick
    "13.costliest_fault": dict(
        prompt=("Reads go through cache-aside to a warm cache that is sick in one of these ways; the database "
                "costs 10 ms a query. Which makes the average read slowest?"),
        choices=[
            "the cache refuses every connection",
            "one cache command in five fails with an error",
            "the cache does not answer: every command waits 250 ms, then times out",
            "one command in twenty takes 800 ms longer, then succeeds",
        ],
        answer="the cache does not answer: every command waits 250 ms, then times out",
        explanation=("A refusal comes back at once, so the read costs about the database's 10 ms; errors cost that "
                     "on one read in five. Silence costs the whole 250 ms timeout before the database is even asked: "
                     "260 ms on every read. The spikes come second (48.5 ms on average: 800 ms on one read in twenty), "
                     "with no error at all."),
    ),
    # before the 60-second run with a 15-second outage
    "13.db_load": dict(
        prompt=("100 reads a second, a warm cache with a hit ratio of about 0.98, so the database sees about 2 "
                "reads a second. The cache stops answering. How many reads per second reach the database?"),
        answer=100,
        relative_tolerance=0.15,
        unit="reads/s",
        explanation=("Every read now misses, so the database gets all 100 a second: 2 × 1/(1 − 0.98) = 100, "
                     "50 times its usual load. The run measured 103 a second (1,545 reads happened to arrive in those "
                     "15 s: Poisson arrivals vary). Nothing in "
                     "cache-aside limits this: the fallback that keeps answers correct is the database taking the "
                     "whole read load."),
    ),
    # before the step-by-step breaker demo: what the breaker does while the cache is dead
    "13.breaker": dict(
        prompt=("A dead cache (it refuses everything), a breaker that opens after 3 failures in a row and waits "
                "5 s, one read every second from t = 0. How many commands reach the cache in the 11 reads from "
                "t = 0 to t = 10 s?"),
        answer=4,
        unit="commands",
        explanation=("The GETs at t = 0, 1 and 2 s fail and open the breaker at t = 2 s. From then on reads go "
                     "straight to the database without touching the network, until 5 s have passed: at t = 7 s one "
                     "read is let through as a trial, fails, and opens the breaker for another 5 s. 3 + 1 = 4 "
                     "commands instead of 11, and only 4 reads paid for a failure."),
    ),
    # same demo: what the breaker does when the cache comes back
    "13.breaker_closes": dict(
        prompt="Same breaker, same reads; the cache recovers at t = 11 s. When is the cache used again?",
        choices=[
            "at t = 11 s: the breaker sees the cache is back",
            "at t = 12 s: the next trial, 5 s after the failed one at t = 7 s",
            "at t = 16 s: 5 s after the cache recovered",
            "never, until someone resets the breaker",
        ],
        answer="at t = 12 s: the next trial, 5 s after the failed one at t = 7 s",
        explanation=("An open breaker sends nothing, so it cannot see the recovery: only a trial can. The trial at "
                     "t = 7 s failed and reopened it; the next is due at t = 12 s. Its GET (a miss) and SET both "
                     "succeed, and the breaker closes. The price of a long reset_timeout is this delay: up to a whole "
                     "reset_timeout of reads sent to the database after the cache is healthy again."),
    ),
    # before the run against a database that can serve 50 queries a second
    "13.backlog": dict(
        prompt=("During the 15-second outage the database is asked for about 103 reads a second but can serve "
                "only 50; queries beyond that wait in line. How long (in seconds) does the slowest read wait, at "
                "the end of the outage?"),
        answer=16,
        relative_tolerance=0.25,
        unit="s",
        explanation=("The line grows by 103 − 50 = 53 queries every second: about 800 queries after 15 s, which "
                     "take 800/50 = 16 s to serve. The last read of the outage waits behind all of them (15.9 s in "
                     "the run), and the line is still there when the empty cache comes back and adds its own "
                     "misses."),
    ),
}
