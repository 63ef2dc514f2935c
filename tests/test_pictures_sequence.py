"""Sequence diagrams drawn from a replay's own record: the arrows, the state boxes and the ending.

The pure part (:func:`messages`) is checked against the replay's table, step by step, on both
backends; the drawing is checked for what a reader must see (one arrow per step, the STALE mark
where the table has one, the ending note), not for pixels.
"""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from cacheaside_lab.pictures.sequence import CACHE, DATABASE, draw_sequence, messages  # noqa: E402
from cacheaside_lab.races import RaceWorld, explore_interleavings, replay_schedule  # noqa: E402
from cacheaside_lab.races.functions import replay_functions  # noqa: E402

UPDATE_RACE = ["W1", "W2", "W2", "W1"]
FILL_RACE = ["R1", "R1", "W1", "W1", "R1"]


@pytest.fixture
def world(cache):
    return RaceWorld(cache, prefix="seq")


def texts(figure) -> list[str]:
    return [text.get_text() for text in figure.axes[0].texts]


def arrows(figure) -> int:
    return sum(1 for child in figure.axes[0].get_children() if type(child).__name__ == "Annotation")


def test_the_update_race_becomes_four_arrows_in_the_schedulers_order(world):
    run = replay_schedule("update", UPDATE_RACE, writers=2, world=world)
    diagram = messages(run)
    assert diagram.actors == ("W1", "W2")
    assert [(m.number, m.actor, m.target) for m in diagram.messages] == [
        (1, "W1", DATABASE), (2, "W2", DATABASE), (3, "W2", CACHE), (4, "W1", CACHE)]
    assert [m.label for m in diagram.messages] == ["UPDATE SET stock = 1", "UPDATE SET stock = 2",
                                                    "SET v2 by W2", "SET v1 by W1"]
    # the state after each step is the table's, read back from the stores
    assert [(m.cache, m.database, m.stale) for m in diagram.messages] == [
        ("empty", "v1 by W1", False), ("empty", "v2 by W2", False),
        ("v2 by W2", "v2 by W2", False), ("v1 by W1", "v2 by W2", True)]
    assert [row[5] for row in run.rows()[1:]] == [m.cache for m in diagram.messages]
    assert diagram.start.cache == "empty" and diagram.start.database == "v0"
    assert diagram.ending == "stale" and not diagram.leases


def test_the_drawn_update_race_marks_the_stale_step_and_the_ending(world):
    run = replay_schedule("update", UPDATE_RACE, writers=2, world=world)
    figure = draw_sequence(run)
    assert figure.axes[0].get_title() == "update: W1 W2 W2 W1"
    assert arrows(figure) == 4
    shown = texts(figure)
    assert shown.count("STALE") == 1  # only after step 4, as in the table's stale column
    assert any(text.startswith("ends STALE: the cache holds v1 by W1, the database v2 by W2") for text in shown)
    for header in ("Writer W1", "Writer W2", "Cache (Redis)", "Database (SQLite)"):
        assert header in shown
    plt.close(figure)


def test_the_lease_run_shows_the_token_granted_voided_and_the_fill_refused(world):
    run = replay_schedule("lease", FILL_RACE, readers=1, writers=1, world=world)
    diagram = messages(run)
    assert diagram.leases
    assert [m.lease for m in diagram.messages] == ["R1", "R1", "R1", "-", "-"]
    assert diagram.messages[3].label == "DEL key + lease"
    assert diagram.messages[4].result == "refused: its lease was voided by a delete"
    assert diagram.ending == "empty"
    figure = draw_sequence(run, title="The lease protocol")
    shown = texts(figure)
    assert "empty · lease R1" in shown and "STALE" not in shown
    assert any(text.startswith("ends empty") for text in shown)
    plt.close(figure)


def test_the_fill_race_and_the_tombstone(world):
    fill = messages(replay_schedule("delete", FILL_RACE, readers=1, writers=1, world=world))
    assert [m.target for m in fill.messages] == [CACHE, DATABASE, DATABASE, CACHE, CACHE]
    assert [m.stale for m in fill.messages] == [False, False, False, False, True] and fill.ending == "stale"
    versioned = messages(replay_schedule("versioned", FILL_RACE, readers=1, writers=1, world=world))
    assert versioned.messages[3].cache == "tombstone v1" and versioned.ending == "empty"


def test_steps_without_state_draw_arrows_only(world):
    example = explore_interleavings("delete", readers=1, writers=1, world=world).example_stale
    diagram = messages(example)
    assert diagram.ending is None and diagram.start is None
    assert [m.target for m in diagram.messages] == [CACHE, DATABASE, DATABASE, CACHE, CACHE]
    figure = draw_sequence(example)
    assert arrows(figure) == 5 and "STALE" not in texts(figure)
    plt.close(figure)


def test_a_race_between_functions_draws_from_replay_functions(world):
    def reader(cache, db, product_id):
        cached = cache.get(world.key)
        if cached is None:
            cache.set(world.key, json.dumps(db.get_product(product_id)), px=60_000)

    def writer(cache, db, product_id, stock):
        db.update_product(product_id, stock=stock)
        cache.delete(world.key)

    replayed = replay_functions(reader, writer, FILL_RACE, readers=1, writers=1, world=world)
    diagram = messages(replayed)
    assert [m.label for m in diagram.messages] == ["GET", "get_product()", "update_product()", "DEL", "SET"]
    assert diagram.ending == "stale"
    figure = draw_sequence(replayed)
    assert any(text.startswith("ends STALE") for text in texts(figure))
    plt.close(figure)


@pytest.mark.parametrize("record, error, message", [
    ("W1 W2", TypeError, "needs a Stepper"),
    ([("W1",)], TypeError, r"each step must be an \(actor, step\) pair"),
    ([], ValueError, "no steps to draw"),
])
def test_a_record_that_is_not_one_is_refused_with_a_reason(record, error, message):
    with pytest.raises(error, match=message):
        draw_sequence(record)


def test_final_must_be_a_snapshot():
    with pytest.raises(TypeError, match="final must be the run's final WorldSnapshot"):
        messages([("W1", "UPDATE")], final="stale")


def test_every_step_the_table_marks_stale_is_marked_in_the_diagram(world):
    # warm: the cache holds v0, so each UPDATE leaves it briefly stale before the SETs arrive
    run = replay_schedule("update", UPDATE_RACE, writers=2, world=world, warm=True)
    marked = [row[0] for row in run.rows()[1:] if row[-1] == "STALE"]
    diagram = messages(run)
    assert diagram.start.cache == "v0" and not diagram.start.stale
    assert [m.number for m in diagram.messages if m.stale] == marked == [1, 2, 4]
    figure = draw_sequence(run)
    assert texts(figure).count("STALE") == len(marked)
    plt.close(figure)
