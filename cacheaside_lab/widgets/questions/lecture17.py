"""Lecture 17's questions: the hot key's shard, a lost shard, and what a reshard moves."""

QUESTIONS = {
    # before the table of keys and reads per shard on a 3-primary cluster
    "17.hot_shard_reads": dict(
        prompt=("10,000 product keys on a Redis Cluster of 3 primaries, read with Zipf popularity 1.0 (product 1 "
                "takes 10.2% of all reads). Each primary holds about a third of the keys. What percentage of all "
                "reads does the primary that holds product 1 serve?"),
        answer=41.3,
        tolerance=4.0,
        unit="%",
        explanation=("Its keys are 33.3% of the catalogue, and its reads 41.3%: all of product 1's 10.2%, plus about "
                     "a third of the rest, which happens to include products 4, 5, 8 and 9 (the other two "
                     "primaries hold products 2 and 3 and serve 29.3% and 29.4%). Hashing spreads keys evenly; the "
                     "reads follow the hot keys, and a key is never split."),
    ),
    # before the lost-shard table
    "17.lost_shard": dict(
        prompt=("The same cluster runs warm, with a 99% hit ratio: the database sees 1% of the reads. The primary "
                "holding product 1 (41.3% of the reads) dies; the other two keep their 99%. By what factor does "
                "the database's load grow?"),
        answer=41.9,
        tolerance=6.0,
        unit="×",
        explanation=("Every read of the dead shard's keys now misses: 41.3% of all reads, plus 1% of the other 58.7%, "
                     "is 41.9% of the reads, against 1% before: ×41.9. Losing the whole cache would be ×100 "
                     "(1 / (1 − 0.99), lecture 07). A lost shard is a partial total miss, sized by that shard's "
                     "share of the *reads*, not of the keys: losing a cold shard (29.3%) would be ×30."),
    ),
    # before the reshard table
    "17.modulo_moves": dict(
        prompt=("A client-sharded cache puts each key on shard (hash mod N). It grows from 3 shards to 4. What "
                "share of the cached keys is now looked for on a shard that does not hold it?"),
        choices=[
            "about 25%: one new shard out of four",
            "about 33%: a third of the keys move to the new shard",
            "about 75%: a key stays only where hash mod 3 equals hash mod 4",
            "100%: every key is rehashed",
        ],
        answer="about 75%: a key stays only where hash mod 3 equals hash mod 4",
        explanation=("hash mod 3 and hash mod 4 agree for 3 of every 12 hash values (0, 1 and 2 in each run of "
                     "12), so a quarter of the keys stay put and three quarters are looked for on the wrong shard: "
                     "74.9% of the 10,000 product keys here. A slot map moves only the slots the new shard takes, "
                     "a quarter of them (25%), and a slot migration carries their keys along, so nothing is lost."),
    ),
}
