"""Checks for lab 02: break update-on-write, count every interleaving, design the write path.

* Exercise 1 (break it) *replays* the learner's schedule on the real cache and database with
  update-on-write, and the same schedule with delete-on-write, which must not end stale.
* Exercise 2 compares the learner's own enumeration (schedules found by replaying prefixes) with
  the explorer's list, schedule by schedule.
* Exercise 4 (design) *enumerates* every interleaving of the learner's writer, call by call (each
  ``cache.…`` or ``db.…`` call is one step; see :mod:`cacheaside_lab.races.functions`), and
  requires that no interleaving of writers ends stale.
* Exercises 3 and 5 are graded understanding questions (:mod:`.understanding`).
"""

from __future__ import annotations

import json
from collections import Counter

from ...races import RaceWorld, all_executions, replay_schedule
from .framework import CheckFailed, attempt, exercise, expect, short
from .setups import describe_steps, explore_or_fail, fresh_race_world, key_function
from .understanding import choose, estimate

LAB = "lab02"
TTL_SECONDS = 300
WRITERS = ("W1", "W2")
HINT_WRITER = ("Ask what the cache's last state depends on. After two SETs it is whichever SET ran last, "
               "which need not be the last UPDATE; after two DELs it is empty whatever the order.")

product_key = key_function(LAB, doc="The key the lab stores a product under: ``cacheaside-lab:lab02:product:42``.")


def fresh_world(cache=None) -> RaceWorld:
    """Product 42 in a fresh catalogue and an empty lab namespace on the configured cache."""
    return fresh_race_world(cache, LAB, ttl_ms=TTL_SECONDS * 1000)


def reference_reader(cache, db, product_id):
    """The course's read path over the lab's keys: GET; on a miss SELECT, then SET with the TTL."""
    cached = cache.get(product_key(product_id))
    if cached is not None:
        return json.loads(cached)
    row = db.get_product(product_id)
    cache.set(product_key(product_id), json.dumps(row), ex=TTL_SECONDS)
    return row


# -- Exercise 1 (break it) ---------------------------------------------------------------------


@exercise("Exercise 1 · an interleaving that leaves update-on-write stale")
def check_stale_interleaving(find_interleaving, *, cache=None):
    tried = "find_interleaving(), then replaying its schedule with two update-on-write writers"
    hint_shape = "Return a list of actor names, one per step, e.g. ['W1', 'W1', 'W2', 'W2'] (that one ends fresh)."
    schedule = attempt(find_interleaving, tried=tried, hint=hint_shape)
    if isinstance(schedule, str) or not isinstance(schedule, (list, tuple)):
        raise CheckFailed(tried, f"it returned {short(schedule)}, not a list of actor names.", hint_shape)
    _four_steps_of_two_writers(schedule, tried, hint_shape)
    world = fresh_world(cache)
    stepper = replay_schedule("update", list(schedule), writers=2, world=world)
    state = stepper.state.describe()
    expect(
        stepper.stale,
        tried=tried,
        wrong=f"replayed on the real cache and database, {' '.join(schedule)} ends fresh: the database "
        f"holds {state['db']} and the cache {state['cache']}. {_orders(schedule)}",
        hint="The cache ends stale when the writers' SETs reach it in the opposite order to their "
        "UPDATEs: let one writer update first, and make it SET last.",
    )
    fixed = replay_schedule("delete", list(schedule), writers=2, world=world).state.describe()
    world.reset()
    return (f"{' '.join(schedule)} ends STALE: the database holds {state['db']}, the cache {state['cache']}. "
            f"The same order with delete-on-write leaves the cache {fixed['cache']}: the next read reloads "
            f"{fixed['db']}.")


def _orders(schedule) -> str:
    """Which writer updated last and which one SET last, read off the schedule (each moves twice)."""
    updates = [name for position, name in enumerate(schedule) if name not in schedule[:position]]
    sets = [name for position, name in enumerate(schedule) if name in schedule[:position]]
    return (f"{updates[-1]} both updated last and SET last, so the last SET stored the database's latest row."
            if updates[-1] == sets[-1] else "")


def _four_steps_of_two_writers(schedule, tried, hint_shape) -> None:
    unknown = sorted({str(name) for name in schedule if name not in WRITERS})
    expect(not unknown, tried=tried,
           wrong=f"the schedule names {', '.join(unknown)}, but the only actors are W1 and W2.", hint=hint_shape)
    counts = Counter(schedule)
    too_many = [name for name in WRITERS if counts[name] > 2]
    expect(
        not too_many,
        tried=tried,
        wrong=f"{too_many[0] if too_many else ''} appears {counts[too_many[0]] if too_many else 0} times, "
        "but each writer has only two steps (UPDATE the database, then SET the cache).",
        hint="Use each writer's name exactly twice: four steps in all.",
    )
    unfinished = [name for name in WRITERS if counts[name] < 2]
    expect(
        not unfinished,
        tried=tried,
        wrong=f"the schedule stops after {len(schedule)} steps, before {' and '.join(unfinished)} "
        "finished. An execution ends only when every writer has taken both of its steps.",
        hint="Use each writer's name exactly twice: four steps in all.",
    )


# -- Exercise 2 · every interleaving, by replaying prefixes ------------------------------------

SCENARIOS = (("update", 0, 2), ("delete", 1, 1), ("update", 1, 1))
HINT_ENUMERATE = ("Replay a prefix, then look at stepper.enabled: each actor still able to move is one "
                  "branch. A prefix after which nobody can move is a whole execution.")


@exercise("Exercise 2 · every interleaving, found by replaying")
def check_all_schedules(all_schedules, *, cache=None):
    world = fresh_world(cache)
    found = []
    for strategy, readers, writers in SCENARIOS:
        found.append(_same_executions(all_schedules, world, strategy, readers, writers))
    world.reset()
    return "; ".join(found) + ": the same executions as the explorer lists, and the same stale ones."


def _same_executions(all_schedules, world, strategy, readers, writers) -> str:
    scenario = f"{strategy!r}, {readers} reader(s), {writers} writer(s), cold cache"
    tried = f"all_schedules({strategy!r}, {readers}, {writers}, world) ({scenario})"
    hint_shape = "Return a list of pairs (schedule, stale): a list of actor names and a bool."
    returned = attempt(all_schedules, strategy, readers, writers, world, tried=tried,
                       hint="If replay_schedule said an actor 'has already finished', the schedule gave it "
                       "more steps than it had: a reader whose GET hits is done after one step. "
                       + HINT_ENUMERATE)
    listed = _as_pairs(returned, tried, hint_shape)
    truth = {tuple(run.schedule): run.ending == "stale" for run in all_executions(strategy, readers, writers, world=world)}
    counts = Counter(schedule for schedule, _ in listed)
    doubled = [schedule for schedule, seen in counts.items() if seen > 1]
    expect(not doubled, tried=tried,
           wrong=f"{' '.join(doubled[0]) if doubled else ''} is listed {counts[doubled[0]] if doubled else 0} times.",
           hint="Each execution once: branch only on the actors that can still move, and stop at each "
           "prefix where nobody can.")
    impossible = [schedule for schedule in counts if schedule not in truth]
    if impossible:
        raise CheckFailed(tried, f"{' '.join(impossible[0])} is not a whole execution of {scenario}: "
                          f"{_why_impossible(impossible[0], strategy, readers, writers, world)}",
                          "Do not build schedules as words of fixed length: a reader that hits is done "
                          "after one step. Let the stepper say who can still move (stepper.enabled) "
                          "and when the run is over (stepper.done).")
    missing = [schedule for schedule in truth if schedule not in counts]
    expect(not missing, tried=tried,
           wrong=f"{len(missing)} of the {len(truth)} executions are missing, e.g. {' '.join(missing[0]) if missing else ''}.",
           hint=HINT_ENUMERATE)
    wrong_verdicts = [schedule for schedule, stale in listed if bool(stale) != truth[schedule]]
    if wrong_verdicts:
        schedule = wrong_verdicts[0]
        raise CheckFailed(tried, f"{' '.join(schedule)} is marked {'stale' if not truth[schedule] else 'not stale'}, "
                          f"but replayed it ends {'STALE' if truth[schedule] else 'not stale'}.",
                          "Read the verdict off the stepper after replaying the whole schedule: stepper.stale.")
    stale = sum(truth.values())
    return f"{strategy} {readers}R+{writers}W: {stale} of {len(truth)} stale"


def _as_pairs(returned, tried, hint_shape) -> list:
    if isinstance(returned, (str, bytes)) or not isinstance(returned, (list, tuple)):
        raise CheckFailed(tried, f"it returned {short(returned)}, not a list.", hint_shape)
    pairs = []
    for item in returned:
        if not (isinstance(item, (list, tuple)) and len(item) == 2 and isinstance(item[0], (list, tuple))):
            raise CheckFailed(tried, f"one item is {short(item)}, not a pair (schedule, stale).", hint_shape)
        pairs.append((tuple(item[0]), item[1]))
    return pairs


def _why_impossible(schedule, strategy, readers, writers, world) -> str:
    try:
        stepper = replay_schedule(strategy, list(schedule), readers=readers, writers=writers, world=world)
    except ValueError as error:
        return f"replaying it fails ({error})"
    if not stepper.done:
        return f"after it {', '.join(stepper.enabled)} can still move."
    return "it is not one of the executions the explorer lists."


# -- Exercise 3 (question) · what a share of interleavings says --------------------------------

SHARE_QUESTION = "two update-on-write writers: 2 of the 6 interleavings end stale. What does that tell you?"
SHARE_CHOICES = {
    "a": "About a third of concurrent pairs of writes to a product will leave its cache entry stale.",
    "b": "A stale ending is possible with real commands; how often it happens depends on the timing of "
         "real traffic, which counting orders says nothing about.",
    "c": "Stale endings are rare: two in six is a minority, so a TTL can mop them up.",
    "d": "Nothing: six interleavings are too few to be a sample.",
}
SHARE_WRONG = {
    "a": "That reads the six orders as equally likely. They are not: a writer's UPDATE and its SET are "
         "one round trip apart, and two writes to one product rarely come that close together, so most "
         "real pairs run one after the other. The share counts orders; it is not a probability.",
    "c": "'Rare' is a statement about probability, and the share is not one (the orders are not equally "
         "likely). A stale entry is also not small: it is served on every hit until its TTL or the next "
         "write. Possible is what matters.",
    "d": "The explorer does not sample: the six are every order there is, each replayed for real. So it "
         "proves something: that a stale ending exists (2 of them), just not how often it happens.",
}
SHARE_WHY = ("The explorer lists every order and replays each: it proves a stale ending exists (and hands "
             "you one to replay), not how likely it is. The six orders are not equally likely in real "
             "traffic: how often W2 lands inside W1's UPDATE-to-SET gap depends on that gap and on how "
             "often the product is written.")


@exercise("Exercise 3 · what a share of stale interleavings tells you")
def check_share_question(answer, *, cache=None):
    return choose(answer, question=SHARE_QUESTION, choices=SHARE_CHOICES, answer="b", wrong=SHARE_WRONG, why=SHARE_WHY)


# -- Exercise 4 (design) · the write path two services share -----------------------------------


@exercise("Exercise 4 · a write path two services share")
def check_delete_writer(write_product, *, cache=None):
    world = fresh_world(cache)
    _one_write_deletes_the_key(write_product, world)
    writer_runs = _writers_never_end_stale(write_product, world)
    result = _a_reader_and_a_writer(write_product, world)
    world.reset()
    return (f"no stale ending in any of the {writer_runs} interleavings of 3 writers; with a reader, "
            f"only the fill race remains ({result.stale} of {result.executions}).")


def _one_write_deletes_the_key(write_product, world) -> None:
    """One write, product 42 cached beforehand: the database changes and the old row leaves the cache."""
    cache, db = world.cache, world.db
    world.reset(warm=True)
    tried = "write_product(cache, db, 42, stock=7) while product 42 (version 0) is cached"
    attempt(write_product, cache, db, 42, stock=7, tried=tried, hint=HINT_WRITER)
    row = db.current(42)
    expect(
        row["stock"] == 7,
        tried=tried,
        wrong=f"the database still says stock={row['stock']}.",
        hint="The database is the source of truth: call db.update_product(product_id, **fields).",
    )
    cached = cache.get(product_key(world.product_id))
    if cached is not None:
        cached_row = json.loads(cached)
        if cached_row.get("version") == row["version"]:
            raise CheckFailed(
                tried,
                "the new row was written into the cache (update-on-write) instead of the key being deleted.",
                "Exercise 1 showed two writers doing exactly this and leaving the older row cached. "
                "What cache command gives the same result in either order?",
            )
        raise CheckFailed(
            tried,
            f"the cache still holds the old row (version {cached_row.get('version')}) after the write.",
            f"After the write no reader may be served the old row: remove it from the key the readers use, "
            f"product_key(product_id) ({product_key(42)}).",
        )


def _writers_never_end_stale(write_product, world) -> int:
    """Every interleaving of two or three writers, call by call, from a cold and from a warm cache."""
    for writers, warm in ((2, False), (2, True), (3, True)):
        start = "a warm cache (version 0 cached)" if warm else "a cold cache"
        tried = f"every interleaving of {writers} copies of write_product (W{{i}} sets stock to i), starting from {start}"
        result = explore_or_fail(reference_reader, write_product, 0, writers, world=world, warm=warm,
                                 tried=tried, hint=HINT_WRITER)
        expect(
            result.stale == 0,
            tried=tried,
            wrong=f"{result.stale} of {result.executions} interleavings end stale, for example: "
            f"{describe_steps(result.example_stale)}.",
            hint="Do not write rows into the cache on the write path: two deletes in either order leave "
            "the same empty key, so the order of the writers no longer matters.",
        )
    return result.executions


def _a_reader_and_a_writer(write_product, world):
    """With one reader, only the fill race of notebook 03 may remain (1 of 10 interleavings)."""
    tried = "every interleaving of one reader (GET, on a miss SELECT then SET) and one write_product"
    result = explore_or_fail(reference_reader, write_product, 1, 1, world=world, warm=False,
                             tried=tried, hint=HINT_WRITER)
    expect(
        result.stale <= 1,
        tried=tried,
        wrong=f"{result.stale} of {result.executions} interleavings end stale, for example: "
        f"{describe_steps(result.example_stale)}. Delete-on-write done right leaves only 1 (the fill "
        "race of notebook 03).",
        hint="Delete the key *after* updating the database: a key deleted first can be refilled with "
        "the old row by a reader before the update lands, and nothing removes it afterwards.",
    )
    return result


# -- Exercise 5 (question) · how long a stale row lasts ----------------------------------------

LASTS_QUESTION = (f"update-on-write's late SET (ex={TTL_SECONDS}) leaves product 42 stale; nobody writes it "
                  "again and readers hit it 50 times a second. For how many seconds is it served stale?")
LASTS_WHY = (f"Every hit serves what the key holds and nobody compares it with the database, so the stale "
             f"row lives exactly as long as the TTL its own SET gave it: {TTL_SECONDS} s, about "
             f"{TTL_SECONDS * 50:,} stale reads at 50 reads/s. Without a TTL (RaceWorld(ttl_ms=None)) it "
             "would be served until the next write to product 42 or until Redis evicts it: for a product nobody "
             "edits, possibly for ever.")


@exercise("Exercise 5 · how long a stale row lasts")
def check_how_long_stale(seconds, *, cache=None):
    return estimate(
        seconds,
        question=LASTS_QUESTION,
        answer=TTL_SECONDS,
        unit="s",
        tolerance=5,
        too_low="Reads do not repair it: a hit never looks at the database, so 50 reads a second serve "
        "the stale row 50 times a second. What ends it is the key's expiry; when does the key expire?",
        too_high="The SET that made the entry stale also gave it a TTL (ex=TTL_SECONDS). When it expires "
        "the next read misses and reloads the current row.",
        why=LASTS_WHY,
    )
