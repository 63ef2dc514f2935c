"""Pictures of hot keys (lecture 10): load per shard, a near cache's load against its staleness,
and the push timeline.

* :func:`draw_shard_load` draws a :class:`~cacheaside_lab.models.skew.HotKeyLoad`: each shard's
  share of the reads, the hottest product's part of it in red, and the even share as a line;
* :func:`draw_near_cache_tradeoff` draws the runs of
  :func:`~cacheaside_lab.experiments.hot_keys.near_cache_sweep`: per near TTL, Redis's reads per
  second against the worst staleness and the mean age of a stale read;
* :func:`draw_push_timeline` draws :func:`~cacheaside_lab.experiments.hot_keys.push_probe`
  records: one lane per probe, every read coloured by what it returned, the reads that went to
  Redis, the write and each pushed invalidation. :func:`push_marks` is the pure part.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .style import finish, new_figure

HOT_COLOR = "#c0392b"
REST_COLOR = "#9e9e9e"
FRESH_COLOR = "#2ca02c"
OLD_COLOR = "#bdbdbd"
STALE_COLOR = "#c0392b"
PUSH_COLOR = "#1f77b4"


def draw_shard_load(load, *, title: str | None = None):
    """Each shard's share of the reads (bars), product 1's part in red, the even share dashed."""
    shards = np.arange(load.shards)
    rest = 100 * (load.shares - load.hot_shares)
    hot = 100 * load.hot_shares
    copies = "product 1" if load.copies == 1 else f"product 1's {load.copies} copies"
    title = title or (f"Reads per shard: {load.keys:,} keys, Zipf {load.zipf:g}, {load.shards} shards"
                      + (f", product 1 in {load.copies} copies" if load.copies > 1 else ""))
    figure, ax = new_figure(title, xlabel="shard (slot range, CRC16 mod 16384)", ylabel="share of all reads (%)")
    ax.bar(shards, rest, color=REST_COLOR, label="every other key")
    ax.bar(shards, hot, bottom=rest, color=HOT_COLOR, label=copies)
    ax.axhline(100 / load.shards, color="black", linestyle="--", linewidth=1, label=f"even share ({100 / load.shards:.1f}%)")
    busiest = load.busiest_shard
    ax.annotate(f"busiest: {100 * load.busiest_share:.1f}%", (busiest, 100 * load.busiest_share),
                xytext=(0, 4), textcoords="offset points", ha="center", fontsize=9)
    ax.set_xticks(shards)
    ax.set_ylim(0, max(100 * load.busiest_share * 1.2, 100 / load.shards * 1.5))
    return finish(figure, legend=True)


def draw_near_cache_tradeoff(runs, *, title: str = "A near cache: Redis load against staleness"):
    """Per near TTL: Redis reads per second (x) against the worst staleness and the mean age of a
    stale read (y). The run without a near cache sits at 0 staleness."""
    figure, ax = new_figure(title, xlabel="reads reaching Redis (per second)", ylabel="age of a stale read (s)")
    load = [run.redis_reads_per_s for run in runs]
    worst = [run.worst_staleness_s for run in runs]
    mean = [run.mean_stale_age_s for run in runs]
    ax.plot(load, worst, "o-", color=HOT_COLOR, label="worst read")
    ax.plot(load, mean, "o--", color=PUSH_COLOR, markerfacecolor="white", label="mean stale read")
    for run, x, y in zip(runs, load, worst):
        name = "no near cache" if run.ttl is None else f"TTL {run.ttl:g} s"
        ax.annotate(name, (x, y), xytext=(6, 6), textcoords="offset points", fontsize=9)
    ax.set_xlim(0, max(load) * 1.15)
    ax.set_ylim(0, max(max(worst) * 1.25, 0.1))
    return finish(figure, legend=True)


@dataclass(frozen=True)
class PushMarks:
    """What one probe's lane shows, in ms since the probe started."""

    name: str
    before_ms: np.ndarray  # reads of the old row before the write (right then)
    stale_ms: np.ndarray  # reads of the old row after the write
    fresh_ms: np.ndarray  # reads of the new row
    redis_ms: np.ndarray  # reads the near cache did not answer (they went to Redis)
    write_ms: float
    pushes_ms: np.ndarray


def push_marks(probe) -> PushMarks:
    """The pure part of :func:`draw_push_timeline`: the probe's reads sorted into what they show."""
    at = 1000 * probe.read_at_s
    after = probe.read_at_s >= probe.write_at_s
    old = probe.version == 0
    return PushMarks(
        name=probe.name,
        before_ms=at[old & ~after], stale_ms=at[old & after], fresh_ms=at[~old],
        redis_ms=at[~probe.near_hit], write_ms=1000 * probe.write_at_s,
        pushes_ms=1000 * np.asarray(probe.pushes_s, dtype=float),
    )


def draw_push_timeline(probes, *, title: str = "A write, and when each near cache lets go of the old row"):
    """One lane per probe: a tick per read (grey: the old row while it was right; red: the old row
    after the write; green: the new row), a black dot per read that went to Redis, the write as a
    dashed line, each pushed invalidation as a blue triangle."""
    figure, ax = new_figure(title, xlabel="time since the probe started (ms)", ylabel="",
                            size=(6.5, 1.6 + 1.0 * len(probes)))
    end = max(1000 * float(probe.read_at_s.max()) for probe in probes if probe.read_at_s.size)
    for lane, probe in enumerate(probes):
        marks = push_marks(probe)
        y = len(probes) - 1 - lane
        ax.text(0, y + 0.42, marks.name, fontsize=9, va="bottom")
        for times, color, label in ((marks.before_ms, OLD_COLOR, "old row, before the write"),
                                    (marks.stale_ms, STALE_COLOR, "old row after the write (stale)"),
                                    (marks.fresh_ms, FRESH_COLOR, "new row")):
            ax.scatter(times, np.full(times.size, y), marker="|", s=120, color=color,
                       label=label if lane == 0 else None)
        ax.scatter(marks.redis_ms, np.full(marks.redis_ms.size, y + 0.25), marker="o", s=14, color="black",
                   label="read from Redis (near miss)" if lane == 0 else None)
        if marks.pushes_ms.size:
            ax.scatter(marks.pushes_ms, np.full(marks.pushes_ms.size, y - 0.25), marker="^", s=40, color=PUSH_COLOR,
                       label="pushed invalidation arrives")
        ax.axvline(marks.write_ms, color="black", linestyle="--", linewidth=1)
    ax.annotate("write: UPDATE + DEL", (1000 * probes[0].write_at_s, -0.6), xytext=(4, 0),
                textcoords="offset points", fontsize=9)
    ax.set_yticks([])
    ax.set_xlim(-0.02 * end, 1.02 * end)
    ax.set_ylim(-0.7, len(probes) - 0.1)
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    ax.legend(unique.values(), unique.keys(), frameon=False, fontsize=8, loc="upper center",
              bbox_to_anchor=(0.5, -0.3), ncol=2)
    return finish(figure)
