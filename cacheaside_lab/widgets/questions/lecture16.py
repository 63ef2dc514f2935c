"""Lecture 16's questions: single-flight over several event loops, a loader that blocks the loop,
and what an open-loop load does to an overloaded service."""

QUESTIONS = {
    # before the table of flights_across_loops runs
    "16.loads_per_loop": dict(
        prompt=("20 requests for one cold key arrive together, spread over 4 event loops (5 requests each, as "
                "in a service run with 4 worker processes). Each loop's AsyncCacheAside uses single-flight. How "
                "many times is the database queried for the key?"),
        answer=4,
        unit="loads",
        explanation=("One per loop. Single-flight shares an asyncio task between the coroutines of one loop: "
                     "the 5 requests of a loop wait on one load, but a task cannot be awaited from another loop "
                     "(or another process), so each of the 4 loops starts its own. Only something all the loops "
                     "can see, a key in Redis (the lock or the lease), brings it down to 1."),
    ),
    # before the blocking-loader runs
    "16.stall": dict(
        prompt=("One event loop. A miss starts a 200 ms load through `async def loader(id): return "
                "db.get_product(id)` (a plain, blocking database call inside a coroutine). During those 200 ms, "
                "20 reads arrive for keys that are already in the cache. When are those hits answered?"),
        choices=[
            "at once: a hit needs only one GET, and the cache is fast",
            "at once, because an async def never blocks",
            "only after the load has finished: the loop cannot run them while the call holds it",
            "never: they time out",
        ],
        answer="only after the load has finished: the loop cannot run them while the call holds it",
        explanation=("The loop has one thread, and `db.get_product` keeps it for the whole query: no other "
                     "coroutine runs, not even the ones that would only send a GET. `async def` only makes a "
                     "function a coroutine; it is the `await` of something that gives the loop back (an async "
                     "driver, `asyncio.to_thread`) that lets the others run meanwhile."),
    ),
    # before the uncached service's open-loop run
    "16.open_loop": dict(
        prompt=("The service without a cache can serve about 50 reads a second (2 database threads, 40 ms a "
                "query). The load generator sends 80 a second for one second, each request at its scheduled time "
                "whether or not earlier ones have been answered. How does latency change over the second?"),
        choices=[
            "it stays near 40 ms: each request costs one query",
            "it grows steadily: every arrival waits behind the growing backlog of those before it",
            "it stays flat: the generator slows down to the 50 a second the server manages",
            "the extra 30 a second are refused at once, and the rest take 40 ms",
        ],
        answer="it grows steadily: every arrival waits behind the growing backlog of those before it",
        explanation=("Arrivals outpace service by about 30 a second, so the queue of requests waiting for a "
                     "database thread grows for as long as the overload lasts, and each arrival waits for the "
                     "whole queue ahead of it. An open-loop generator keeps sending on schedule, so the wait "
                     "shows; a closed-loop one (slowing down to the server's pace) would hide it, which is what "
                     "the run after this one shows."),
    ),
}
