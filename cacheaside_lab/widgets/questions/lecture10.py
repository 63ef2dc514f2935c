"""Lecture 10's questions: how much lands on the hottest key and shard, what a near cache costs in
freshness, what a push changes, and what replicas cost a writer."""

QUESTIONS = {
    # before the cell that prints product 1's share of a Zipf workload
    "10.hottest": dict(
        prompt=("A catalogue of 10,000 products read with Zipf popularity, exponent 1.0 (product i is read "
                "in proportion to 1/i). What percentage of all reads ask for product 1, the hottest?"),
        answer=10.2,
        tolerance=1.5,
        unit="%",
        explanation=("Product 1's weight is 1 out of 1 + 1/2 + … + 1/10,000, the harmonic number H(10,000) ≈ "
                     "ln 10,000 + 0.58 ≈ 9.79, so 1/9.79 ≈ 10.2% of all reads: one key in ten thousand takes one "
                     "read in ten. The sum grows only like the logarithm of the catalogue, so even a million "
                     "products would leave product 1 about 7%."),
    ),
    # before the cell that spreads the keys over 8 shards
    "10.busiest_shard": dict(
        prompt=("Spread those 10,000 product keys over 8 shards the way Redis Cluster does (CRC16 of the key "
                "name mod 16,384 slots, each shard a range of 2,048 slots). An even spread would give every "
                "shard 12.5% of the reads. What percentage does the busiest shard get?"),
        answer=23.5,
        tolerance=4,
        unit="%",
        explanation=("The shard that holds product 1 gets all of product 1's 10.2%, whatever the other keys do, "
                     "plus its own slice of the rest: here 13.3% more (products 5, 9 and other hot ones hash "
                     "there too), 23.5% in all, 1.9 times an even share. Hashing spreads *keys* evenly, not "
                     "*reads*: a key is never split, so a shard can never carry less than its hottest key."),
    ),
    # before the near-cache sweep
    "10.stale_bound": dict(
        prompt=("Each process puts a near cache with a 1 s TTL (and no pushed invalidation) in front of Redis. "
                "Another process updates product 1 and deletes its key in Redis. For how long after that "
                "write can our process still serve the old row?"),
        choices=[
            "Not at all: the DEL in Redis removes every copy.",
            "Up to 1 s: the near cache's TTL, however quickly Redis was fixed.",
            "Up to Redis's own TTL (300 s here).",
            "Up to 2 s: the near TTL plus the time to refill it.",
        ],
        answer="Up to 1 s: the near cache's TTL, however quickly Redis was fixed.",
        explanation=("The DEL reaches Redis, not the copies in other processes' memory: nothing tells them. A "
                     "copy was stored at most 1 s before the write and lives exactly 1 s, so the old row is "
                     "served for at most 1 s after it (less when the copy was already old); the next read after "
                     "that goes to Redis, which has already dropped the key. Redis's own TTL does not come into "
                     "it, because Redis was invalidated; a near TTL is a staleness budget on top of Redis's."),
    ),
    # before the push timeline
    "10.push": dict(
        prompt=("Now the near cache turns on server-assisted invalidation: Redis pushes a message naming "
                "every key under the prefix that changes, and the near cache drops it. Same 1 s near TTL, "
                "same write. How long after the writer's DEL returns does the reader stop serving the old row?"),
        choices=[
            "About a millisecond or less: the push's trip from Redis to the listening connection.",
            "Still up to 1 s: the TTL decides when a copy goes.",
            "Never longer than 0: the DEL and the drop are one atomic step.",
            "Up to 5 ms: the listener thread polls every 5 ms.",
        ],
        answer="About a millisecond or less: the push's trip from Redis to the listening connection.",
        explanation=("Redis sends the invalidation as soon as it runs the DEL, on a second connection that a "
                     "thread in our process reads; the near cache drops the key when the message is read. "
                     "That takes a network trip and a thread switch, not a TTL: on one machine it is well under "
                     "a millisecond, so the reader sees the new row on its first read after the write or, at "
                     "worst, a read or two later. It is not atomic: a read between the DEL and the push's "
                     "arrival still gets the old row, and a lost connection loses pushes (the near cache then "
                     "empties itself, and the TTL stays the backstop). The listener waits for messages with a "
                     "timeout, it does not sleep between them, so its 5 ms is not added."),
    ),
    # before the replica cost table
    "10.replica_write": dict(
        prompt=("Product 42 is kept in Redis as its key plus 8 copies (HotKeyReplicas(copies=8)), each read "
                "picking a copy at random and filling it from the key on a miss. After one write (UPDATE, then "
                "DEL of the key and every copy), and plenty of reads, how many database loads and copy fills "
                "has that write caused?"),
        choices=[
            "1 database load and 8 copy fills.",
            "8 database loads and 8 copy fills.",
            "1 database load and 1 copy fill.",
            "9 database loads: one for the key, one per copy.",
        ],
        answer="1 database load and 8 copy fills.",
        explanation=("A copy's miss reads through the CacheAside: the first one loads the row from the database "
                     "and stores the key, and every later copy finds the key in Redis. So the database pays once, "
                     "but each of the 8 copies is filled again, 8 SETs, and the DEL names 9 keys. That is the "
                     "writer's price of replicas: N deletes, N fills, N times the memory, and an invalidation that "
                     "must know N."),
    ),
}
