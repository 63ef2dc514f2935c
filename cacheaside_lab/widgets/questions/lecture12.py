"""Lecture 12's questions: how common the course's assumptions are in Twitter's fleet, and what a
cache that runs out of memory does under each eviction policy."""

QUESTIONS = {
    # before the count of clusters at 100:1 or more (the fleet section)
    "12.read_heavy": dict(
        prompt=("The course said cache-aside clearly pays at \"100:1 and up\". Of Twitter's 53 cache clusters "
                "with an operation mix, how many serve 100 reads or more per write?"),
        choices=[
            "almost all of them (about 50)",
            "about three quarters (about 40)",
            "about half (about 25)",
            "a small minority (fewer than 11)",
        ],
        answer="a small minority (fewer than 11)",
        explanation=("8 of 53 for certain (15%), and at most 10: the 8 list no writes at all (their writes are "
                     "below the table's 0.01 precision); two more list 1% writes (99:1 and 98:1), and the rounding "
                     "allows either side of 100:1 for them. About half the fleet (24 of 53) is at 10:1 or more, and "
                     "9 clusters are write-heavy. Twitter caches plenty of data that is written as often as it is "
                     "read: 100:1 is where the pattern is easy, not where caches are."),
    ),
    # before the alpha histogram
    "12.alpha": dict(
        prompt=("The course's workloads draw keys from a Zipf distribution with alpha = 1 (zipf=1). What is the "
                "median fitted Zipf alpha of Twitter's clusters?"),
        answer=1.21,
        tolerance=0.15,
        explanation=("1.21 over 51 clusters with a fitted alpha (three are N/A): real popularity is usually *more* "
                     "skewed than the course's default, which makes a small cache more useful, not less. But the "
                     "spread is wide, from 0 (six clusters, mostly of written-once keys, where no cache size gets a "
                     "good hit ratio) to 2.68, so no single default stands for the fleet."),
    ),
    # before the hit-ratio-against-memory run on the real redis-server
    "12.policy": dict(
        prompt=("A skewed workload (Zipf alpha 1.2 over 5,000 keys, every key with the same TTL) on a Redis "
                "whose maxmemory leaves 0.25 MB for entries, about a third of what every key the stream asks for "
                "would take. Which maxmemory-policy keeps the hit ratio highest?"),
        choices=["allkeys-lru", "allkeys-lfu", "volatile-ttl", "noeviction"],
        answer="allkeys-lfu",
        explanation=("LFU keeps the keys read most often, which under a steady Zipf popularity are exactly the ones "
                     "worth keeping; LRU keeps the ones read most recently, and a burst of one-off tail keys pushes "
                     "popular ones out. volatile-ttl evicts the key closest to expiry: with one TTL for all, that is "
                     "the oldest fill, popular or not. noeviction keeps whatever filled first and then refuses every "
                     "new SET, so it does surprisingly well while popularity stays still and nothing is deleted, and "
                     "collapses when writes delete keys (the cluster-shaped run below). In the run below: LFU highest, noeviction just under it, LRU and volatile-ttl a few points "
                     "lower."),
    ),
    # before the noeviction run through CacheAside
    "12.noeviction": dict(
        prompt=("The Redis is full and its policy is noeviction. A cache-aside read misses, loads the row from the "
                "database and SETs it. What does the reader get?"),
        choices=[
            "an error: the SET fails with OOM, so the read fails",
            "the row from the database; the refused SET is counted and nothing is cached",
            "the row, and Redis evicts an old key to make room anyway",
            "nothing: the layer returns None until memory frees up",
        ],
        answer="the row from the database; the refused SET is counted and nothing is cached",
        explanation=("With noeviction Redis refuses writes that need memory (\"OOM command not allowed\") but keeps "
                     "serving reads. Cache-aside treats a failed fill like any cache error: the answer already came "
                     "from the database, so it is returned, the refusal is counted, and the next read of that key "
                     "misses again. Correct, but every new key now costs a database read for ever: a full "
                     "noeviction cache is a database in disguise for everything outside it."),
    ),
}
