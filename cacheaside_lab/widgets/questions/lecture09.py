"""Lecture 09's questions: a lock that expires under a slow loader, and what each fix closes."""

QUESTIONS = {
    # before the replay of the slow loader's bad order
    "09.overwrite": dict(
        prompt=("R1 takes the lock and reads v0, but its load outlives the lock, so Redis expires it. "
                "Meanwhile W1 updates the row to v1 and deletes the key, and R2 takes the free lock, "
                "reads v1 and stores it. Now R1's SET of v0 arrives (a plain SET), and then R1 releases "
                "with compare-and-delete. What does the cache hold at the end?"),
        choices=[
            "v1: the compare-and-delete release sees the lock is not R1's and undoes R1's SET.",
            "v0 over v1: the SET does not look at the lock; only the release checks the token.",
            "Nothing: R2's release deletes the key along with its lock.",
            "v1: Redis refuses a SET from a client whose lock has expired.",
        ],
        answer="v0 over v1: the SET does not look at the lock; only the release checks the token.",
        explanation=("The token check in the release protects the *lock*: R1 cannot delete R2's lock. "
                     "Nothing protects the *value*: R1's SET is an ordinary SET, and Redis has no idea "
                     "that a lock exists, so it lands over R2's newer row and the cache holds v0 while the "
                     "database holds v1, until the next write or the TTL. The release then finds the lock "
                     "gone and can only count it (stats.lost_lock); it cannot take the SET back."),
    ),
    # before the fenced variant's replay and the table of every variant
    "09.fenced_closes": dict(
        prompt=("Fence the fill: R1's SET lands only if the lock still holds R1's token, checked and set "
                "in one Lua step. Enumerate every order of R1 (slow loader), R2 and W1 again. Which "
                "count drops to zero?"),
        choices=[
            "Only the late SET over a newer row.",
            "The late SET and the second filler.",
            "The late SET, the second filler and every stale ending.",
            "None: by the time R1 sets, its lock has expired anyway.",
        ],
        answer="Only the late SET over a newer row.",
        explanation=("The fence refuses R1's SET because its lock is gone, so R1 never overwrites R2's row: "
                     "0 late SETs. But the lock still expired during R1's load, so R2 still takes it and "
                     "loads too (the second filler stays), and a filler that holds its lock the whole time "
                     "can still store a row a writer has just replaced: notebook 03's fill race, which the "
                     "writer's DEL does not reach because the writer never touches the lock. Those orders "
                     "still end stale."),
    ),
    # before the fill-time sample's table
    "09.lock_ms_for": dict(
        prompt=("lock_ms_for takes a high quantile of measured fill times (99.9%) and doubles it: 240 ms "
                "for a sample whose median fill is 20 ms. Then comes a day on which every fill is 3× "
                "slower (median 60 ms). What percentage of that day's fills outlive the 240 ms lock?"),
        answer=1.0,
        tolerance=0.7,
        unit="%",
        explanation=("About 1%. On the measured day almost no fill comes near 240 ms, but a tripled fill "
                     "time moves the whole distribution right, and its slow tail crosses the lock: about "
                     "one fill in a hundred lets a second filler in. A lock chosen from the fill-time "
                     "distribution makes losing it rare; nothing makes it impossible, because the "
                     "distribution is a measurement of the past."),
    ),
    # before the PTTL probe of extension and of a crashed filler
    "09.extend_crash": dict(
        prompt=("With extend=True a helper thread pushes the lock's expiry back to lock_ms (60 ms) every "
                "20 ms while the loader runs. If the filler's process is killed 100 ms into its load, "
                "when can the next reader take the lock?"),
        choices=[
            "Never, until somebody deletes the lock by hand.",
            "At once: a killed process releases its locks.",
            "About 60 ms after the last extension: the extender died with the process.",
            "After wait_ms, when the waiters give up.",
        ],
        answer="About 60 ms after the last extension: the extender died with the process.",
        explanation=("The extender is a thread of the filler's own process, so it dies with it. Nobody "
                     "extends the lock any more, its PX counts down, and Redis expires it at most lock_ms "
                     "after the last extension; the next reader's SET NX then succeeds. Redis knows "
                     "nothing about processes and never releases a lock on a client's behalf. A filler "
                     "that *hangs* instead (alive, loader stuck) keeps extending for as long as it hangs: "
                     "that is the waiters' wait_ms, not the lock, to bound."),
    ),
    # before the threaded runs
    "09.fenced_threads": dict(
        prompt=("Real threads now: 8 readers miss at once, every load takes 200 ms, the lock expires after "
                "60 ms, and the fill is fenced (fenced=True). How many database loads?"),
        choices=[
            "1: the fence keeps the other readers out.",
            "About 3, one per lock expiry before the first fill lands, as without the fence.",
            "8: every fill is refused, the key never fills, and each waiter in turn takes the lock over and loads.",
        ],
        answer="8: every fill is refused, the key never fills, and each waiter in turn takes the lock over and loads.",
        explanation=("Every load outlives its 60 ms lock, so every fenced SET finds somebody else's token "
                     "and is refused (fenced_off). Nothing is ever cached, so no waiter ever finds a value: "
                     "each one takes the lock over when it expires and loads too. Without the fence the "
                     "first late SET lands (the rows are the same here: no writer) and the remaining "
                     "waiters read it. A fence is a safety net for the rare slow load, not a cure for a "
                     "lock that is shorter than the fills."),
    ),
}
