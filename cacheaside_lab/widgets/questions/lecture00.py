"""Lecture 00's questions: how a lab's checks answer two wrong read paths (no caching, no TTL)."""

QUESTIONS = {
    # notebook 00, before lab 01's check runs on a read path that never writes to the cache
    "00.check": dict(
        prompt=("A read path that returns the right product but never stores it in the cache: "
                "what does lab 01's first check say?"),
        choices=[
            "It passes: the product it returns is correct.",
            "It fails: nothing was stored in the cache after the miss.",
            "It fails with a Python error and a traceback.",
        ],
        answer="It fails: nothing was stored in the cache after the miss.",
        explanation=("A check judges what your code does, not only what it returns. It calls the read "
                     "path on an empty cache, then looks for product 42 in the cache; finding nothing, it "
                     "says every read would miss and the database would take every query. A failing check "
                     "is a message with a hint, never a traceback."),
    ),
}

QUESTIONS["00.ttl"] = dict(
    # notebook 00, before lab 01's check runs on a read path that caches the row with no expiry
    prompt=("Another read path caches the row correctly, as JSON, but with no expiry: "
            "cache.set(key, json.dumps(row)). It returns the right product, and every read after the "
            "first is a hit. What does lab 01's first check say?"),
    choices=[
        "It passes: one database query, then nothing but hits.",
        "It fails: the key has no TTL, so a missed invalidation would stay stale forever.",
        "It fails: the database was queried on every read.",
    ],
    answer="It fails: the key has no TTL, so a missed invalidation would stay stale forever.",
    explanation=("The hits are right, but the check also reads the key's time to live. An entry with no "
                 "TTL stays until something deletes it, so the one write path that forgets to delete "
                 "leaves the old row served for good; a TTL bounds that damage. The course treats a TTL "
                 "on every entry as part of a correct answer, and lecture 01 shows why."),
)
