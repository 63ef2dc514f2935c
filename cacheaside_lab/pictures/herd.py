"""Lecture 06's pictures: the herd on one cold key, and what each protection does to it.

Each function draws a record the lecture has just made, so picture and printed numbers agree:

* :func:`draw_herd`: one lane per reader of a threaded burst (``experiments.herd.run_herd``):
  when it started, when it answered, and whether it went to the database itself;
* :func:`draw_protection_runs`: the same lanes for every run of ``compare_protections``;
* :func:`draw_herd_vs_rate`: logical-time herd sizes against ``1 + r·Δ``;
* :func:`draw_protection_timelines`: each request around one expiry, per protection, from
  ``models.herd.expiry_timeline`` (lock, lease, stale-while-revalidate, XFetch as timelines);
* :func:`draw_timeline`: the widget's stacked outcome counts around one expiry;
* :func:`protection_trace` and :func:`draw_fill_race`: the lock's and the lease's calls while a
  slow fill races a write, recorded by a ``pictures.paths.CallTrace`` and drawn as a sequence
  diagram (the lease protocol, and the stale fill the lock lets through);
* :func:`draw_refresh_probability` and :func:`draw_recomputes_vs_rate`: XFetch's rule and its
  simulated cost.
"""

from __future__ import annotations

import numpy as np

from .style import finish, new_figure

LOADED, ANSWERED, STALE_COPY = "tab:red", "tab:blue", "tab:orange"
OUTCOME_COLORS = ("tab:green", "tab:red", "tab:blue", "tab:orange")  # hit, load, wait, stale


def _bars(ax, lanes, left, width, colors, *, height: float = 0.8):
    """Horizontal bars, one per lane, as a single collection (hundreds of requests draw fast)."""
    from matplotlib.collections import PolyCollection

    lanes, left, width = (np.asarray(a, dtype=float) for a in (lanes, left, width))
    low, high = lanes - height / 2, lanes + height / 2
    verts = np.stack([np.stack([left, low], 1), np.stack([left + width, low], 1),
                      np.stack([left + width, high], 1), np.stack([left, high], 1)], 1)
    bars = PolyCollection(verts, facecolors=list(colors), edgecolors="none")
    ax.add_collection(bars)
    if lanes.size:
        ax.update_datalim(np.concatenate([verts[:, 0], verts[:, 2]]))
        ax.autoscale_view()
    return bars


def _lanes(ax, result, *, legend: bool) -> None:
    """One horizontal bar per reader, from its start to its answer, coloured by what it did."""
    started = result.started_ms
    answered = result.answered_ms
    order = np.argsort(started, kind="stable")
    colors = [LOADED if result.loaded[i] else STALE_COPY if result.answers[i] == "stale" else ANSWERED for i in order]
    ends = np.where(np.isfinite(answered[order]), answered[order], started[order])
    _bars(ax, np.arange(order.size), started[order], np.maximum(ends - started[order], 1.0), colors)
    ax.axvline(result.db_latency_ms, color="black", linestyle="--", linewidth=1)
    ax.set_ylim(len(order) - 0.5, -0.5)
    if legend:
        from matplotlib.patches import Patch

        kinds = [(LOADED, "loaded from the database", bool(result.loaded.any())),
                 (ANSWERED, "answered without loading", ANSWERED in colors),
                 (STALE_COPY, "answered a stale copy", STALE_COPY in colors)]
        handles = [Patch(color=color, label=label) for color, label, present in kinds if present]
        handles.append(ax.plot([], [], color="black", linestyle="--", linewidth=1,
                               label=f"one fill ({result.db_latency_ms:g} ms)")[0])
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)


def draw_herd(result, *, title: str | None = None):
    """Each reader of one threaded run as a bar from its start to its answer (``run_herd``'s record)."""
    _require_record(result)
    title = title or (f"{result.clients} readers on a {result.scenario} key, protection '{result.protection}': "
                      f"{int(result.loaded.sum())} loads")
    figure, ax = new_figure(title, xlabel="time since the readers were released (ms)",
                            ylabel="reader (in order of start)", size=(9, 4.2))
    _lanes(ax, result, legend=True)
    ax.set_xlim(0, _latest_answer_ms([result]) * 1.05)
    return finish(figure)


def draw_protection_runs(results, *, scenario: str = "expired"):
    """:func:`draw_herd`'s lanes for every protection's run of one scenario, side by side."""
    runs = [r for r in results if r.scenario == scenario]
    if not runs:
        raise ValueError(f"no run of scenario {scenario!r} among the results.")
    for run in runs:
        _require_record(run)
    columns = min(3, len(runs))
    rows = int(np.ceil(len(runs) / columns))
    figure, axes = new_figure(f"{runs[0].clients} readers on an {scenario} key, one run per protection",
                              xlabel="time since the readers were released (ms)", ylabel="reader",
                              size=(10, 2.6 * rows + 0.8), nrows=rows, ncols=columns, sharex=True, squeeze=False)
    flat = list(axes.flat)
    for ax, run in zip(flat, runs):
        _lanes(ax, run, legend=False)
        ax.set_title(f"{run.protection}: {int(run.loaded.sum())} loads, {run.stale_served} stale", fontsize=9)
        ax.set_yticks([])
    flat[0].set_xlim(0, _latest_answer_ms(runs) * 1.05)  # shared by every panel
    for ax in flat[len(runs):]:
        ax.set_visible(False)
    _lanes_legend(figure, runs[0].db_latency_ms)
    figure.tight_layout(rect=(0, 0, 1, 0.93))
    return figure


def _lanes_legend(figure, fill_ms: float) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [Patch(color=LOADED, label="loaded from the database"),
               Patch(color=ANSWERED, label="answered without loading"),
               Patch(color=STALE_COPY, label="answered a stale copy"),
               Line2D([], [], color="black", linestyle="--", linewidth=1, label=f"one fill ({fill_ms:g} ms)")]
    figure.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.955), ncol=4, fontsize=8, frameon=False)


def draw_herd_vs_rate(sizes: dict, db_latency_ms: float):
    """Logical-time herd sizes per arrival rate (``logical_herd_sizes``) against ``1 + r·Δ``."""
    from ..models.herd import unprotected_recomputes

    if not sizes:
        raise ValueError("sizes is empty: pass {read rate: loader calls of each run}.")
    rates = sorted(sizes)
    fill_s = db_latency_ms / 1000
    figure, ax = new_figure("Thundering herd on one cold key: loads vs arrival rate",
                            xlabel="arrival rate (requests per second)", ylabel="loader calls for one fill")
    grid = np.linspace(0, max(rates), 100)
    ax.plot(grid, [unprotected_recomputes(r, fill_s) for r in grid], color="black",
            label=f"1 + r·Δ (Δ = {db_latency_ms:g} ms)")
    rng = np.random.default_rng(0)  # spread the dots sideways a little so equal counts do not hide each other
    for rate in rates:
        counts = np.asarray(sizes[rate])
        ax.scatter(rate + rng.uniform(-0.02, 0.02, counts.size) * max(rates), counts, color="tab:red", alpha=0.15, s=12)
    ax.plot(rates, [np.mean(sizes[r]) for r in rates], "D", color="tab:red", markeredgecolor="black",
            label=f"mean of {len(sizes[rates[0]])} runs")
    ax.scatter([], [], color="tab:red", alpha=0.4, s=12, label="one run")
    return finish(figure, legend=True)


def draw_protection_timelines(timelines):
    """Each request around one expiry as a bar from arrival to answer, one panel per protection.

    ``timelines`` are ``models.herd.expiry_timeline`` records of the same rate and fill time. The
    picture starts three fills before the first request that did not simply hit (XFetch's early
    refresh can come well before the expiry) and ends three fills after the expiry.
    """
    from ..models.herd import HIT, LOAD, STALE, WAIT

    timelines = list(timelines)
    if not timelines:
        raise ValueError("timelines is empty: pass expiry_timeline records, one per protection.")
    fill_ms = timelines[0].db_latency_ms
    colors = {HIT: "tab:green", LOAD: LOADED, WAIT: ANSWERED, STALE: STALE_COPY}
    figure, axes = new_figure(f"One expiry at {timelines[0].read_rate:g} requests/s, {fill_ms:g} ms fill: every request",
                              xlabel="time relative to the expiry (ms)", ylabel="requests, in order of arrival",
                              size=(10, 1.9 * len(timelines) + 0.8), nrows=len(timelines), ncols=1, squeeze=False)
    for ax, timeline in zip(axes.flat, timelines):
        t_ms, end_ms = timeline.times_s * 1000, (timeline.times_s + timeline.latency_s) * 1000
        busy = timeline.outcomes != HIT
        start = min(-3 * fill_ms, (t_ms[busy].min() - 3 * fill_ms) if busy.any() else 0.0)
        shown = (t_ms >= start) & (t_ms <= 3 * fill_ms)
        index = np.flatnonzero(shown)
        _bars(ax, np.arange(index.size), t_ms[index], np.maximum(end_ms[index] - t_ms[index], fill_ms / 60),
              [colors[int(code)] for code in timeline.outcomes[index]], height=0.9)
        ax.axvline(0, color="black", linewidth=1)
        ax.set_xlim(start, 3 * fill_ms + fill_ms / 2)
        ax.set_ylim(shown.sum(), -1)
        ax.set_yticks([])
        summary = timeline.summary()
        ax.set_title(f"{timeline.protection}: {summary['loads']} loads, {summary['waited']} waited, "
                     f"{summary['stale']} stale", fontsize=9, loc="left")
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [Patch(color="tab:green", label="hit"), Patch(color=LOADED, label="load (bar: its fill)"),
               Patch(color=ANSWERED, label="wait (bar: until its answer)"), Patch(color=STALE_COPY, label="stale copy"),
               Line2D([], [], color="black", linewidth=1, label="the expiry")]
    figure.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 1 - 0.5 / figure.get_figheight()),
                  ncol=5, fontsize=8, frameon=False)
    figure.tight_layout(rect=(0, 0, 1, 1 - 0.75 / figure.get_figheight()))
    return figure


def draw_timeline(timeline, figure=None):
    """Stacked outcome counts per time slot around one expiry (the widget's picture), a marker at
    each load, the expiry as a black line. Pass ``figure`` to redraw into an existing one."""
    from ..models.herd import LOAD, describe_timeline, timeline_histogram

    if figure is None:
        figure, ax = new_figure(describe_timeline(timeline), xlabel="arrival time relative to the expiry (ms)",
                                ylabel="requests per time slot", size=(8, 3.4))
    else:
        figure.clear()
        ax = figure.subplots()
        ax.set_title(describe_timeline(timeline))
        ax.set_xlabel("arrival time relative to the expiry (ms)")
        ax.set_ylabel("requests per time slot")
    ax.title.set_fontsize(10)
    edges, counts = timeline_histogram(timeline)
    bottom = np.zeros(len(edges) - 1, dtype=int)
    for (name, slot_counts), color in zip(counts.items(), OUTCOME_COLORS):
        ax.stairs(bottom + slot_counts, edges, baseline=bottom, fill=True, color=color,
                  label=f"{name} ({slot_counts.sum()})")
        bottom = bottom + slot_counts
    loads = timeline.times_s[timeline.outcomes == LOAD] * 1000
    ax.plot(loads, np.full(loads.size, bottom.max() * 1.04), "v", color="tab:red", markersize=5, label="each load")
    ax.axvline(0, color="black", linewidth=1)
    ax.legend(loc="lower left", fontsize=8, ncol=5)
    figure.subplots_adjust(bottom=0.17)
    return figure


def draw_refresh_probability(betas=(0.5, 1.0, 2.0), *, spans: float = 5.0):
    """XFetch's chance that one read refreshes early, against the time left before the expiry."""
    from ..protections import refresh_probability

    time_left = np.linspace(0, spans, 200)  # in units of Δ
    figure, ax = new_figure("XFetch: chance that one read refreshes early",
                            xlabel="time left before the expiry (multiples of Δ, the recompute time)",
                            ylabel="probability of refreshing")
    for beta in betas:
        ax.plot(time_left, refresh_probability(time_left, 1.0, beta), label=f"β = {beta:g}")
    return finish(figure, legend=True)


def draw_recomputes_vs_rate(table: list[dict], recompute_s: float, betas=(1.0, 2.0)):
    """``models.herd.recomputes_vs_rate``'s table on log axes, with XFetch's limits e^(1/β)."""
    from ..models.herd import xfetch_limit

    rates = [row["read_rate"] for row in table]
    figure, ax = new_figure(f"Recomputations per expiry, Δ = {recompute_s * 1000:g} ms (simulated)",
                            xlabel="requests per second for the key", ylabel="mean recomputations per expiry")
    ax.loglog(rates, [row["none"] for row in table], "o-", label="no protection")
    ax.loglog(rates, [row["none_predicted"] for row in table], "k--", label="1 + rate·Δ")
    for beta in betas:
        ax.loglog(rates, [row[f"xfetch_beta_{beta:g}"] for row in table], "s-", label=f"XFetch β = {beta:g}")
        ax.axhline(xfetch_limit(beta), color="gray", linestyle=":", linewidth=1)
    return finish(figure, legend=True)


def _latest_answer_ms(results) -> float:
    ends = [max(float(np.nanmax(r.answered_ms)) if np.isfinite(r.answered_ms).any() else 0.0, r.db_latency_ms)
            for r in results]
    return max(ends) or 1.0


def _require_record(result) -> None:
    if getattr(result, "started_ms", None) is None or getattr(result, "loaded", None) is None:
        raise ValueError("this result has no per-reader record; draw a run made by experiments.herd.run_herd.")


# -- the lock and the lease against a write, as sequence diagrams of the run's own calls ---------


def _script_names() -> dict:
    """EVALSHA's sha → (what the script does, how to read its reply), for the protections' scripts."""
    import hashlib

    from ..consistency.leases import FILL_WITH_LEASE, GET_OR_LEASE
    from ..core.scripts import COMPARE_AND_DELETE

    def lease_reply(result):
        value, token = (list(result) + [None, None])[:2]
        if value:
            return "a hit"
        return "a miss + a lease token" if token else "a miss; another holds the lease"

    named = {
        GET_OR_LEASE: ("Lua: GET, or take a lease", lease_reply),
        FILL_WITH_LEASE: ("Lua: SET if my lease is alive", lambda r: "1: filled" if r else "0: refused, lease gone"),
        COMPARE_AND_DELETE: ("Lua: release my lock", lambda r: "1: released" if r else "0: not mine"),
    }
    return {hashlib.sha1(script.source.encode()).hexdigest(): entry for script, entry in named.items()}


def protection_trace():
    """A :class:`~cacheaside_lab.pictures.paths.CallTrace` that names what a herd protection sends:
    its Lua scripts by what they do, its lock's ``SET NX``, a delete of a key and its lease; script
    registration is left out. Wrap the cache and the database with it, run, and draw with
    :func:`draw_fill_race`."""
    from .paths import CallTrace, Message

    scripts = _script_names()

    class ProtectionTrace(CallTrace):
        def _record(self, caller, actor, name, args, kwargs, result):
            if not self.recording or name in ("register_script", "script_load"):
                return
            if name == "evalsha" and args:
                label, reply = scripts.get(args[0], ("Lua script", str))
                self.messages += [Message(caller, actor, label), Message(actor, caller, reply(result), reply=True)]
            elif name == "set" and kwargs.get("nx"):
                self.messages += [Message(caller, actor, f"SET {_short_key(args[0])} NX PX {kwargs.get('px')}"),
                                  Message(actor, caller, "OK: lock taken" if result else "nil: taken", reply=True)]
            elif name == "delete" and len(args) > 1:
                self.messages += [Message(caller, actor, f"DEL {_short_key(args[0])} + its lease"),
                                  Message(actor, caller, f"{result} key(s) deleted", reply=True)]
            else:
                super()._record(caller, actor, name, args, kwargs, result)

    return ProtectionTrace(show=("stock",))


def draw_fill_race(trace, *, title: str):
    """A protection's fill racing a write, drawn from ``trace`` (:func:`protection_trace`): lifelines
    for the filler, the cache, the database and the writer, one arrow per call, in the order sent."""
    from .paths import draw_sequence

    callers = [name for name in ("filler", "writer") if any(m.sender == name for m in trace.messages)]
    actors = callers[:1] + ["cache", "database"] + callers[1:]
    return draw_sequence(trace, title=title, actors=actors)


def _short_key(key) -> str:
    from ..core.keys import root_namespace

    text = key.decode() if isinstance(key, bytes) else str(key)
    namespace = root_namespace()
    return text[len(namespace):] if text.startswith(namespace) else text
