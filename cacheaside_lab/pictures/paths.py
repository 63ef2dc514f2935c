"""Lecture 01's pictures: the read path, the write path and who owns what, drawn from the run.

A sequence diagram of cache-aside is usually drawn by hand, and then it can say anything. Here
the notebook wraps its cache and database in a :class:`CallTrace`, runs the real code, and
:func:`draw_sequence` draws the calls the trace recorded, with what each one returned; so the
arrows are the commands that were sent, and the picture cannot disagree with the counters
printed next to it.

* :class:`CallTrace`: the record: ``trace.wrap(cache, "cache")`` forwards every call and notes
  ``(caller, callee, command, reply)``; :meth:`CallTrace.note` adds a line such as "10,000 hits",
  and ``with trace.paused():`` runs calls without recording them.
* :func:`draw_sequence`: lifelines for the application (or writers A and B), the cache and the
  database, one arrow per recorded call, dashed for the reply.
* :func:`draw_reads`: a run of reads, hit or miss each, against the database queries they cost,
  with and without the cache.
* :func:`draw_patterns`: cache-aside, read-through, write-through and write-behind as boxes and
  arrows: who talks to the database on a read and on a write.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass

from ..core.keys import root_namespace
from ..core.validation import require_text
from .style import finish, new_figure

READ, WRITE, LATER = "#1f77b4", "#d62728", "#7f7f7f"  # arrow colours: reads, writes, a deferred write
HIT, MISS = "#2ca02c", "#ff7f0e"
MAX_MESSAGES = 40  # a sequence diagram longer than this is no longer readable


@dataclass(frozen=True)
class Message:
    """One arrow of a sequence diagram: ``sender`` asked ``receiver`` (or answered it, ``reply``)."""

    sender: str
    receiver: str
    label: str
    reply: bool = False
    note: bool = False


class CallTrace:
    """The calls an application made to its cache and database, with what came back.

    >>> trace = CallTrace()
    >>> products = CacheAside(trace.wrap(cache, "cache"), trace.wrap(db, "database").get_product, ...)
    >>> products.get(42); draw_sequence(trace, title="The read path")

    ``show`` names the row fields a reply prints (``("version",)`` gives ``row v1``; add
    ``"price"`` or ``"stock"`` when the lesson is about that field).
    """

    def __init__(self, show: tuple[str, ...] = ("version",)):
        if isinstance(show, str) or not all(isinstance(name, str) for name in show):
            raise TypeError(f"show must be a tuple of row field names such as ('version', 'stock') (got {show!r}).")
        self.show = tuple(show)
        self.messages: list[Message] = []
        self.recording = True

    @contextmanager
    def paused(self):
        """Calls made inside ``with trace.paused():`` still run but are not recorded (a loop of 10,000 hits)."""
        was, self.recording = self.recording, False
        try:
            yield self
        finally:
            self.recording = was

    def wrap(self, target, actor: str, *, caller: str = "application"):
        """``target`` (a redis client or a ProductDB), recording every call ``caller`` makes to it."""
        require_text("actor", actor)
        require_text("caller", caller)
        return _Traced(target, self, actor, caller)

    def note(self, text: str, *, over: tuple[str, ...] = ()) -> None:
        """A line across the diagram (``over`` the named lifelines, or all of them)."""
        require_text("text", text)
        self.messages.append(Message(over[0] if over else "", over[-1] if over else "", text, note=True))

    def actors(self) -> list[str]:
        """The lifelines in order of first appearance, callers first."""
        seen: dict[str, None] = {}
        for message in self.messages:
            if not message.note:
                seen.setdefault(message.sender)
                seen.setdefault(message.receiver)
        return list(seen)

    def calls(self) -> list[Message]:
        """The requests only (no replies, no notes): what was sent, in order."""
        return [message for message in self.messages if not (message.reply or message.note)]

    # -- what a call and its reply look like on an arrow ----------------------------------------

    def _record(self, caller, actor, name, args, kwargs, result):
        if not self.recording:
            return
        self.messages.append(Message(caller, actor, _describe_call(name, args, kwargs)))
        self.messages.append(Message(actor, caller, self._describe_reply(name, result), reply=True))

    def _describe_reply(self, name: str, result) -> str:
        if name in ("get", "mget"):
            if name == "mget":
                found = sum(value is not None for value in result)
                return f"{found} hit(s), {len(result) - found} miss(es)"
            return "nil: a miss" if result is None else f"{self._row(_cached_row(result))}: a hit"
        if name in ("delete", "unlink"):
            return f"{result} key deleted" if result == 1 else f"{result} keys deleted"
        if name == "set":
            return "OK" if result else "not set"
        if isinstance(result, dict):
            return self._row(result)
        return "nothing" if result is None else _short(result)

    def _row(self, row) -> str:
        if not isinstance(row, dict):
            return "a value"
        parts = [f"v{row['version']}" if name == "version" else f"{name} {row[name]}" for name in self.show if name in row]
        return "row " + ", ".join(parts) if parts else "the row"


class _Traced:
    """Forwards to ``target``; every method call is recorded on the trace with its result."""

    def __init__(self, target, trace: CallTrace, actor: str, caller: str):
        self._target, self._trace, self._actor, self._caller = target, trace, actor, caller

    def __getattr__(self, name):
        attribute = getattr(self._target, name)
        if not callable(attribute):
            return attribute

        def traced(*args, **kwargs):
            result = attribute(*args, **kwargs)
            self._trace._record(self._caller, self._actor, name, args, kwargs, result)
            return result

        return traced


def _short(value, limit: int = 24) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _key(key) -> str:
    """``product:42`` for ``cacheaside-lab:product:42``: the namespace is the same on every arrow."""
    text = key.decode() if isinstance(key, bytes) else str(key)
    namespace = root_namespace()
    return text[len(namespace):] if text.startswith(namespace) else text


def _cached_row(raw):
    try:
        value = json.loads(raw)
    except (TypeError, ValueError):
        return None
    if isinstance(value, dict) and set(value) == {"v", "value"}:  # the layer's own entry
        return value["value"]
    return value


def _describe_call(name: str, args: tuple, kwargs: dict) -> str:
    if name == "get_product":
        return f"SELECT … WHERE id = {args[0]}"
    if name == "get_products":
        return f"SELECT … WHERE id IN ({len(list(args[0]))} ids)"
    if name == "update_product":
        fields = ", ".join(f"{field} = {value}" for field, value in kwargs.items())
        return f"UPDATE … SET {fields} WHERE id = {args[0]}"
    if name == "set":
        expiry = "".join(f" {unit.upper()} {kwargs[unit]}" for unit in ("ex", "px") if kwargs.get(unit))
        return f"SET {_key(args[0])} {{json}}{expiry}"
    if name == "mget":
        keys = args[0] if len(args) == 1 and not isinstance(args[0], (str, bytes)) else args
        return f"MGET {len(list(keys))} keys"
    command = {"delete": "DEL"}.get(name, name.upper())
    if args:
        return f"{command} {_key(args[0])}"
    return command


# -- the pictures ---------------------------------------------------------------------------------


def draw_sequence(trace, *, title: str, actors: list[str] | None = None):
    """A sequence diagram of ``trace`` (a :class:`CallTrace` or a list of :class:`Message`).

    One lifeline per actor (``actors`` gives their order; by default the order they first
    appear), one arrow per call, its reply dashed; writes (SET, DEL, UPDATE) are red, reads blue.
    """
    messages = trace.messages if isinstance(trace, CallTrace) else list(trace)
    if not messages or not all(isinstance(message, Message) for message in messages):
        raise ValueError("draw_sequence needs a CallTrace (or a list of Message) with at least one call recorded.")
    if len(messages) > MAX_MESSAGES:
        raise ValueError(f"{len(messages)} messages is too many for one diagram (at most {MAX_MESSAGES}): trace fewer calls.")
    order = list(actors) if actors is not None else CallTrace.actors(_AsTrace(messages))
    missing = {m.sender for m in messages if not m.note} | {m.receiver for m in messages if not m.note}
    missing -= set(order)
    if missing:
        raise ValueError(f"actors must list every lifeline; missing {sorted(missing)}.")
    column = {actor: index * 3.0 for index, actor in enumerate(order)}
    height = 1.2 + 0.42 * len(messages)
    figure, ax = new_figure(title, xlabel="", ylabel="", size=(1.6 + 2.3 * len(order), height))
    bottom = -len(messages) - 0.5
    for actor, x in column.items():
        ax.plot([x, x], [0.3, bottom], color="#999999", linewidth=1, zorder=0)
        ax.text(x, 0.6, actor, ha="center", va="center", fontsize=10, fontweight="bold",
                bbox=dict(boxstyle="round,pad=0.35", facecolor="#eeeeee", edgecolor="#555555"))
    for row, message in enumerate(messages, start=1):
        y = -row
        if message.note:
            left = column.get(message.sender, min(column.values()))
            right = column.get(message.receiver, max(column.values()))
            ax.text((left + right) / 2, y, message.label, ha="center", va="center", fontsize=9, style="italic",
                    bbox=dict(boxstyle="round,pad=0.3", facecolor="#fff8dc", edgecolor="#c8b560"))
            continue
        start, end = column[message.sender], column[message.receiver]
        writes = message.label.split(" ", 1)[0] in ("SET", "DEL", "DELETE", "UPDATE", "UNLINK")
        colour = WRITE if writes else READ
        if message.reply:
            colour = "#444444"
        ax.annotate("", xy=(end, y), xytext=(start, y),
                    arrowprops=dict(arrowstyle="->", color=colour, linewidth=1.3,
                                    linestyle="--" if message.reply else "-"))
        ax.text((start + end) / 2, y + 0.12, message.label, ha="center", va="bottom", fontsize=8.5, color=colour,
                bbox=dict(boxstyle="square,pad=0.1", facecolor="white", edgecolor="none"))
    ax.set_xlim(min(column.values()) - 1.6, max(column.values()) + 1.6)
    ax.set_ylim(bottom, 1.1)
    ax.axis("off")
    return finish(figure)


class _AsTrace:
    def __init__(self, messages):
        self.messages = messages


def draw_reads(outcomes, *, title: str, events: dict[int, str] | None = None):
    """Reads in order (``"hit"`` or ``"miss"`` each) against the database queries they cost.

    The solid line counts the queries this run made (one per miss), the dashed one the queries the
    same reads would have cost with no cache (one per read). ``events`` marks what happened just
    before a read, by its 1-based number, e.g. ``{6: "write + DEL"}``.
    """
    outcomes = list(outcomes)
    if not outcomes or any(outcome not in ("hit", "miss") for outcome in outcomes):
        raise ValueError(f"outcomes must be a non-empty list of 'hit' and 'miss' (got {outcomes!r}).")
    events = dict(events or {})
    for position in events:
        if not (isinstance(position, int) and 1 <= position <= len(outcomes)):
            raise ValueError(f"events are keyed by read number, 1 to {len(outcomes)} (got {position!r}).")
    numbers = list(range(1, len(outcomes) + 1))
    queries, total = [], 0
    for outcome in outcomes:
        total += outcome == "miss"
        queries.append(total)
    figure, ax = new_figure(title, xlabel="read number", ylabel="database queries so far")
    ax.plot(numbers, numbers, linestyle="--", color=LATER, label="without a cache (one query per read)")
    ax.step(numbers, queries, where="post", color=READ, label="cache-aside (one query per miss)")
    for colour, kind in ((MISS, "miss"), (HIT, "hit")):
        chosen = [(n, q) for n, q, outcome in zip(numbers, queries, outcomes) if outcome == kind]
        if chosen:
            ax.scatter(*zip(*chosen), color=colour, zorder=3, s=36, label=f"a {kind}")
    for position, label in events.items():
        ax.axvline(position - 0.5, color=WRITE, linewidth=1, linestyle=":")
        ax.text(position - 0.4, len(outcomes) * 0.92, label, color=WRITE, fontsize=9, va="top")
    ax.set_xticks(numbers if len(numbers) <= 20 else numbers[:: max(1, len(numbers) // 10)])
    return finish(figure, legend=True)


# who talks to whom in each pattern: (from, to, label, kind), kind "read", "write" or "later"
PATTERN_ARROWS = {
    "cache-aside": [("app", "cache", "GET / SET / DEL", "read"), ("app", "db", "read on a miss", "read"),
                    ("app", "db", "write", "write")],
    "read-through": [("app", "cache", "GET, DEL", "read"), ("cache", "db", "load on a miss", "read"),
                     ("app", "db", "write", "write")],
    "write-through": [("app", "cache", "GET, put", "read"), ("cache", "db", "load on a miss", "read"),
                      ("cache", "db", "write, then SET", "write")],
    "write-behind": [("app", "cache", "GET, put", "read"), ("cache", "db", "load on a miss", "read"),
                     ("cache", "db", "queued writes, later", "later")],
}
_PLACES = {"app": (0.5, 0.85), "cache": (0.18, 0.22), "db": (0.82, 0.22)}
_NAMES = {"app": "application", "cache": "cache", "db": "database"}


def draw_patterns(patterns: dict | None = None):
    """Four panels, one per pattern: the application, the cache (or cache layer) and the database,
    with an arrow for each conversation (blue reads, red writes, grey a write that waits in a queue)."""
    patterns = PATTERN_ARROWS if patterns is None else patterns
    if not isinstance(patterns, dict) or not 1 <= len(patterns) <= 4:
        raise ValueError("patterns must map from one to four pattern names to their arrows (see PATTERN_ARROWS).")
    figure, axes = new_figure("Who talks to the database", xlabel="", ylabel="", size=(9.0, 6.2),
                              nrows=2, ncols=2)
    colours = {"read": READ, "write": WRITE, "later": LATER}
    for ax, (name, arrows) in zip(axes.flat, patterns.items()):
        ax.set_title(name, fontsize=11)
        layer = name != "cache-aside"
        for place, (x, y) in _PLACES.items():
            label = "cache layer" if place == "cache" and layer else _NAMES[place]
            ax.text(x, y, label, ha="center", va="center", fontsize=10,
                    bbox=dict(boxstyle="round,pad=0.45", facecolor="#eeeeee", edgecolor="#555555"))
        offsets: dict[tuple, int] = {}
        for source, target, label, kind in arrows:
            if kind not in colours or source not in _PLACES or target not in _PLACES:
                raise ValueError(f"{name}: arrow {(source, target, label, kind)!r} is not (place, place, label, kind).")
            (x0, y0), (x1, y1) = _PLACES[source], _PLACES[target]
            if y0 == y1:  # side by side: start and end clear of the two boxes
                x0, x1 = x0 + 0.12, x1 - 0.12
            nth = offsets.get((source, target), 0)
            offsets[(source, target)] = nth + 1
            bend = 0.25 * nth - 0.0
            ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                        arrowprops=dict(arrowstyle="->", color=colours[kind], linewidth=1.6, shrinkA=18, shrinkB=18,
                                        linestyle="--" if kind == "later" else "-",
                                        connectionstyle=f"arc3,rad={bend}"))
            mx, my = (x0 + x1) / 2, (y0 + y1) / 2
            shift = -0.09 * nth if source != "cache" else -0.1 - 0.1 * nth
            ax.text(mx + (0.03 if x1 >= x0 else -0.03), my + shift + 0.04, label, fontsize=8.5,
                    color=colours[kind], ha="center")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.05)
        ax.axis("off")
    for ax in list(axes.flat)[len(patterns):]:
        ax.axis("off")
    return finish(figure)
