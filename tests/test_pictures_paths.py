"""Lecture 01's pictures: the trace records what was sent and returned, and the diagrams draw it."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from cacheaside_lab import CacheAside, ProductDB  # noqa: E402
from cacheaside_lab.core.keys import make_key  # noqa: E402
from cacheaside_lab.stores.backend import is_cluster  # noqa: E402
from cacheaside_lab.pictures.paths import (  # noqa: E402
    PATTERN_ARROWS,
    CallTrace,
    Message,
    draw_patterns,
    draw_reads,
    draw_sequence,
)


@pytest.fixture
def db():
    return ProductDB(products=20)


def traced_reads(cache, db):
    trace = CallTrace(show=("version", "stock"))
    products = CacheAside(trace.wrap(cache, "cache"), trace.wrap(db, "database").get_product,
                          prefix="pictures:product", ttl=300)
    products.get(7)
    products.get(7)
    return trace, products


def test_the_trace_records_a_miss_its_fill_and_a_hit(cache, db):
    trace, products = traced_reads(cache, db)
    labels = [message.label for message in trace.messages]
    key = "pictures:product:{7}" if is_cluster(cache) else "pictures:product:7"  # a hash tag on a cluster
    assert labels[0] == f"GET {key}" and labels[1] == "nil: a miss"
    assert labels[2] == "SELECT … WHERE id = 7" and labels[3] == f"row v0, stock {db.current(7)['stock']}"
    assert labels[4] == f"SET {key} {{json}} PX 300000" and labels[5] == "OK"
    assert labels[7].endswith(": a hit")
    assert trace.actors() == ["application", "cache", "database"]
    assert [message.label.split()[0] for message in trace.calls()] == ["GET", "SELECT", "SET", "GET"]
    assert products.stats.misses == 1 and products.stats.hits == 1  # tracing changed nothing


def test_delete_and_update_are_named_as_the_commands_sent(cache, db):
    trace = CallTrace()
    traced_db, traced_cache = trace.wrap(db, "database"), trace.wrap(cache, "cache")
    traced_db.update_product(3, stock=1)
    traced_cache.delete(make_key("pictures:product", 3))
    trace.note("the next reader misses")
    assert [message.label for message in trace.messages] == [
        "UPDATE … SET stock = 1 WHERE id = 3", "row v1", "DEL pictures:product:{3}" if is_cluster(cache) else "DEL pictures:product:3", "0 keys deleted",
        "the next reader misses",
    ]
    assert trace.messages[-1].note


def test_a_sequence_diagram_has_a_lifeline_per_actor_and_a_label_per_message(cache, db):
    trace, _ = traced_reads(cache, db)
    figure = draw_sequence(trace, title="The read path")
    texts = {text.get_text() for text in figure.axes[0].texts}
    assert {"application", "cache", "database"} <= texts
    assert {message.label for message in trace.messages} <= texts
    assert figure.axes[0].get_title() == "The read path"
    plt.close(figure)


def test_writers_can_be_their_own_lifelines(cache, db):
    trace = CallTrace(show=("price",))
    trace.wrap(db, "database", caller="writer A").update_product(2, price=10.0)
    trace.wrap(db, "database", caller="writer B").update_product(2, price=12.0)
    assert trace.actors() == ["writer A", "database", "writer B"]
    figure = draw_sequence(trace, title="Two writers", actors=["writer A", "writer B", "database"])
    plt.close(figure)
    with pytest.raises(ValueError, match=r"missing \['writer B'\]"):
        draw_sequence(trace, title="Two writers", actors=["writer A", "database"])


@pytest.mark.parametrize("messages, message", [
    ([], "at least one call"),
    (["GET"], "at least one call"),
    ([Message("a", "b", "x")] * 41, "too many"),
])
def test_draw_sequence_refuses_what_it_cannot_draw(messages, message):
    with pytest.raises(ValueError, match=message):
        draw_sequence(messages, title="t")


def test_draw_reads_counts_one_query_per_miss():
    outcomes = ["miss", "hit", "hit", "miss", "hit"]
    figure = draw_reads(outcomes, title="Reads", events={4: "write + DEL"})
    ax = figure.axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert list(lines["cache-aside (one query per miss)"].get_ydata()) == [1, 1, 1, 2, 2]
    assert list(lines["without a cache (one query per read)"].get_ydata()) == [1, 2, 3, 4, 5]
    assert ax.get_xlabel() == "read number" and ax.get_ylabel() == "database queries so far"
    plt.close(figure)


@pytest.mark.parametrize("outcomes, events, message", [
    ([], None, "non-empty list"),
    (["hit", "maybe"], None, "'hit' and 'miss'"),
    (["hit"], {2: "write"}, "keyed by read number, 1 to 1"),
])
def test_draw_reads_validates(outcomes, events, message):
    with pytest.raises(ValueError, match=message):
        draw_reads(outcomes, title="t", events=events)


def test_draw_patterns_draws_one_panel_per_pattern():
    figure = draw_patterns()
    titles = [ax.get_title() for ax in figure.axes]
    assert titles == list(PATTERN_ARROWS)
    assert figure.get_suptitle() == "Who talks to the database"
    plt.close(figure)
    with pytest.raises(ValueError, match="is not"):
        draw_patterns({"odd": [("app", "moon", "x", "read")]})


def test_trace_show_must_name_fields():
    with pytest.raises(TypeError, match="show must be a tuple"):
        CallTrace(show="price")


def test_calls_made_while_paused_run_but_are_not_recorded(cache, db):
    trace, products = traced_reads(cache, db)
    recorded = len(trace.messages)
    with trace.paused():
        for _ in range(5):
            products.get(7)
    assert len(trace.messages) == recorded and products.stats.hits == 6
    products.get(7)
    assert len(trace.messages) == recorded + 2
