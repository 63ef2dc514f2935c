"""Lecture 14's questions: what each of the four numbers shows, and what a lossy delete path measures."""

QUESTIONS = {
    # before the cell that runs a three-query fill and a herd of eight readers
    "14.amplification": dict(
        prompt=("A deploy makes every fill run three database queries instead of one (the product, "
                "its reviews, its stock). What happens to the hit rate and to DB amplification?"),
        choices=[
            "The hit rate drops, because each miss takes longer; amplification stays at 1.0.",
            "The hit rate stays where it was; amplification goes from 1.0 to 3.0.",
            "Both stay where they were: the cache answers the same share of reads.",
            "The hit rate falls to about a third; amplification stays at 1.0.",
        ],
        answer="The hit rate stays where it was; amplification goes from 1.0 to 3.0.",
        explanation=("The hit rate only says whether the cache held the key; it cannot see what a miss "
                     "cost. Amplification counts database queries per fill that was needed, so three "
                     "queries per fill read 3.0. The replayed dashboard below shows the same deploy: "
                     "amplification 3.00 at t = 30 s and 35 s while the hit rate reads 0.96 and 0.92: "
                     "nothing in it says the database now does three times the work."),
    ),
    # before the replayed dashboard's table
    "14.slow_database": dict(
        prompt=("At t = 45 s the database becomes eight times slower, for seven seconds, while the "
                "cache stays healthy. Which of the dashboard's numbers shows it?"),
        choices=[
            "The hit rate: slow queries mean fewer hits.",
            "DB queries per second: the database answers fewer of them.",
            "Fill latency (p50 and p99): each miss takes longer to load.",
            "DB amplification: each fill needs more queries.",
        ],
        answer="Fill latency (p50 and p99): each miss takes longer to load.",
        explanation=("A slower database changes neither whether the cache holds a key (hit rate), nor how "
                     "many misses reach the database (queries per second), nor how many queries a fill "
                     "runs (amplification). It changes how long each fill takes: in the table the median "
                     "fill goes from about 7 ms at t = 40 s to 20 ms at t = 45 s and 59 ms at t = 50 s, "
                     "while hit rate and amplification read as on any healthy second. Only fill latency "
                     "warns you that a herd on a cold key would now wait eight times longer."),
    ),
    # before the consistency measurement
    "14.lossy_nines": dict(
        prompt=("The delete-on-write path loses 3% of its deletes (a process that dies between the "
                "commit and the delete). Within 1 s of a write, how many nines of consistency will "
                "the probe measure? (One inconsistent write in 100 is 2 nines, 3 in 100 about 1.5.)"),
        answer=1.7,
        tolerance=0.3,
        unit="nines",
        explanation=("The measurement below finds 29 of 1,539 writes inconsistent within 1 s: 1.9%, or "
                     "1.7 nines, fewer than the 3% a lost delete would suggest (1.5 nines). 47 deletes "
                     "were lost, but a lost delete leaves something stale only if the key was cached at "
                     "that moment (about a third of reads miss in this workload), and the next write to "
                     "the product, about 2 s later here, deletes what the lost one left. Plain "
                     "delete-on-write, which loses nothing, shows 7 of 1,539 from the fill race alone."),
    ),
}
