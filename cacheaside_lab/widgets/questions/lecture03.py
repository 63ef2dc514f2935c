"""Lecture 03's questions: whether delete closes the fill race, how many orders end stale, what a
lease does to the late fill, what a tombstone protects once expired, and what double delete leaves."""

QUESTIONS = {
    # before the fill race is replayed
    "03.delete_closes": dict(
        prompt=("Delete-on-write, one reader and one writer. The reader does `GET`; on a miss it "
                "`SELECT`s the row and `SET`s it. The writer does `UPDATE`, then `DEL` of the key. "
                "Can any order of these five steps leave the cache stale?"),
        choices=[
            "No: the writer deletes after it updates, so any old row is removed",
            "Yes: a reader that SELECTs before the UPDATE and SETs after the DEL puts the old row back",
            "Only if the DEL is lost on the way to the cache",
            "Only with two or more writers, as in notebook 02",
        ],
        answer="Yes: a reader that SELECTs before the UPDATE and SETs after the DEL puts the old row back",
        explanation=("A delete removes only what is already in the cache. A reader that read version 0 "
                     "before the UPDATE and is still carrying it when the DEL runs stores it afterwards, "
                     "and nothing removes it until the next write or the end of its TTL. The writer did "
                     "everything right; its delete simply came before the old row arrived."),
    ),
    # before all_executions lists the ten orders
    "03.how_many": dict(
        prompt=("The reader's 3 steps and the writer's 2 can interleave in 10 orders. "
                "How many of the 10 end with the cache stale?"),
        answer=1,
        explanation=("Only R1 R1 W1 W1 R1: the SELECT before the UPDATE and the SET after the DEL. If the "
                     "SELECT comes after the UPDATE, the reader stores the new row (fresh); if the SET "
                     "comes before the DEL, the DEL removes the old row (empty, and the next reader "
                     "reloads). One order of ten is a count, not a probability."),
    ),
    # before the same order is replayed with leases
    "03.lease_late_fill": dict(
        prompt=("Leases, the same order: R1 misses and is granted the lease, reads version 0; W1 updates "
                "the row and deletes the key and its lease; then R1 tries to fill version 0. "
                "What happens to that fill?"),
        choices=[
            "It lands: R1 was granted the lease, so it may fill",
            "It is refused: the DEL removed the lease, so R1's token no longer matches",
            "It waits until the lease expires, then lands",
            "It lands, and the next GET notices the old version and deletes it",
        ],
        answer="It is refused: the DEL removed the lease, so R1's token no longer matches",
        explanation=("The fill is a compare-and-set on the lease: the value is stored only if the lease "
                     "key still holds R1's token. The writer's DEL removed the key and the lease in one "
                     "command, so the comparison fails and nothing is stored. The cache stays empty; the "
                     "next reader takes a new lease and loads version 1."),
    ),
    # before the tombstone's TTL runs out under a late fill
    "03.tombstone_expired": dict(
        prompt=("A writer leaves a tombstone saying \"version 1 exists\", stored with a 300 ms TTL. A late "
                "fill of version 0 arrives 400 ms later. Does it land?"),
        choices=[
            "No: the tombstone refuses any older version",
            "Yes: the tombstone has expired, so there is nothing to compare with",
            "No: the database refuses to hand out an old version",
        ],
        answer="Yes: the tombstone has expired, so there is nothing to compare with",
        explanation=("A tombstone is a cache entry with a TTL like any other. After 300 ms it is gone, the "
                     "key is empty, and fill-if-newer stores whatever it is given. The tombstone protects "
                     "only while it lives, so its TTL must outlast the slowest fill."),
    ),
    # before double delete is enumerated
    "03.double_delete": dict(
        prompt=("Delayed double delete: the writer does `UPDATE`, `DEL`, and a while later `DEL` again. "
                "Among every order of one reader and one writer, does any still end stale?"),
        choices=[
            "No: the second delete removes any late fill",
            "Yes: a fill that lands after the second delete still puts the old row back",
            "Yes, and more of the orders end stale than with a single delete",
        ],
        answer="Yes: a fill that lands after the second delete still puts the old row back",
        explanation=("The second DEL is one more step, and the reader's SET can still come after it: "
                     "R1 R1 W1 W1 W1 R1 ends stale. That is 1 of 20 orders, the same single bad order as "
                     "with one delete, now with one more step in it. Whether the delay helps in practice "
                     "depends on how long fills take compared with the delay: timing, which the order "
                     "count cannot see."),
    ),
}
