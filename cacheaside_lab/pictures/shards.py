"""Pictures of a sharded cache (lecture 17): keys against reads per shard, a lost shard, a reshard.

* :func:`draw_keys_and_reads` draws a :class:`~cacheaside_lab.models.shards.ShardSpread`: per
  shard, its share of the keys and its share of the reads side by side, the hottest key's shard marked;
* :func:`draw_lost_shard` draws a :class:`~cacheaside_lab.experiments.shards.ShardTraffic` (a live
  run's phase or the model's): per shard, the reads the cache answered and those that went to the
  database, the dead shard marked;
* :func:`draw_reshard` draws :class:`~cacheaside_lab.models.shards.ReshardRun` records: the hit
  ratio per bucket of time, one line per way of adding a shard, the moment of the reshard dashed.
"""

from __future__ import annotations

import numpy as np

from .style import finish, new_figure

KEYS_COLOR = "#9e9e9e"
READS_COLOR = "#1f77b4"
HOT_COLOR = "#c0392b"
HIT_COLOR = "#2ca02c"
DB_COLOR = "#c0392b"
METHOD_STYLES = {
    "modulo": dict(color="#c0392b", linestyle="-"),
    "slots, keys left behind": dict(color="#e67e22", linestyle="--"),
    "slot migration": dict(color="#2ca02c", linestyle=":"),
}


def draw_keys_and_reads(spread, *, title: str | None = None):
    """Per shard: share of the keys (grey) and share of the reads (blue); the hot key's shard's
    read bar is outlined in red and labelled."""
    shards = np.arange(spread.shards)
    keys = 100 * spread.keys_per_shard / spread.keys_per_shard.sum()
    reads = 100 * spread.shares
    title = title or f"Keys and reads per shard: {spread.weights.size:,} keys, {spread.shards} shards"
    figure, ax = new_figure(title, xlabel="shard", ylabel="share (%)")
    width = 0.38
    ax.bar(shards - width / 2, keys, width, color=KEYS_COLOR, label="share of the keys")
    bars = ax.bar(shards + width / 2, reads, width, color=READS_COLOR, label="share of the reads")
    hot = spread.hot_shard
    bars[hot].set_edgecolor(HOT_COLOR)
    bars[hot].set_linewidth(2.5)
    ax.annotate(f"hottest key here: {reads[hot]:.1f}%", (hot + width / 2, reads[hot]), xytext=(0, 4),
                textcoords="offset points", ha="center", fontsize=9, color=HOT_COLOR)
    ax.axhline(100 / spread.shards, color="black", linestyle="--", linewidth=1,
               label=f"even share ({100 / spread.shards:.1f}%)")
    ax.set_xticks(shards, [spread.slot_map.label(shard) for shard in shards], fontsize=8)
    ax.set_ylim(0, max(reads.max(), keys.max()) * 1.3)
    return finish(figure, legend=True)


def draw_lost_shard(traffic, *, title: str | None = None):
    """Per shard: the reads the cache answered (green) and those the database served (red); the
    dead shard's bar is labelled."""
    shards = np.arange(len(traffic.labels))
    hits = traffic.reads - traffic.db_loads
    title = title or f"One shard lost ({traffic.source}): where {traffic.total_reads:,} reads were answered"
    figure, ax = new_figure(title, xlabel="shard", ylabel="reads")
    ax.bar(shards, hits, color=HIT_COLOR, label="answered by the cache")
    ax.bar(shards, traffic.db_loads, bottom=hits, color=DB_COLOR, label="sent to the database")
    if traffic.dead is not None:
        ax.annotate("dead: every read misses", (traffic.dead, traffic.reads[traffic.dead]), xytext=(0, 4),
                    textcoords="offset points", ha="center", fontsize=9, color=DB_COLOR)
    ax.set_xticks(shards, traffic.labels, fontsize=8)
    ax.set_ylim(0, max(1, traffic.reads.max()) * 1.25)
    return finish(figure, legend=True)


def draw_reshard(runs, *, title: str = "Adding a shard: hit ratio per bucket, a warm cache"):
    """One line per :class:`ReshardRun`: the hit ratio of each bucket of time; the reshard dashed."""
    figure, ax = new_figure(title, xlabel="time (s)", ylabel="hit ratio (%)")
    for run in runs:
        style = METHOD_STYLES.get(run.method, {})
        ax.step(run.bucket_starts_s, 100 * run.hit_ratio_by_bucket, where="post", linewidth=2,
                label=f"{run.method} ({run.lost_keys:,} keys lost)", **style)
    if runs:
        ax.axvline(runs[0].reshard_at_s, color="black", linestyle="--", linewidth=1, label="one shard added")
        lowest = min(float(np.nanmin(run.hit_ratio_by_bucket)) for run in runs)
        ax.set_ylim(max(0.0, 100 * lowest - 10), 101)
    return finish(figure, legend=True)
