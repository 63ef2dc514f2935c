"""A production cache fleet in numbers: Twitter's 54 clusters, March 2020 (CC BY 4.0).

    cacheaside-lab fleet                  the fleet's summary: how read-heavy, which TTLs, how skewed
    cacheaside-lab fleet --table          one line per cluster as well
    cacheaside-lab fleet --cluster 4      one cluster's row, parsed (operation mix, TTL mix, N/A fields)
    cacheaside-lab fleet --json           the same as JSON

From Yang, Yue and Rashmi, "A large scale analysis of hundreds of in-memory cache clusters at
Twitter", OSDI 2020 (github.com/twitter/cache-trace, stat/2020Mar.md). Rows the authors marked
N/A stay marked.
"""

from __future__ import annotations

import dataclasses
import math

from ..course.tables import format_table
from ..data.fleet import SOURCE, cluster, duration_text, load_fleet, summary, summary_lines
from .output import add_json_flag, emit

HELP = "a production cache fleet's statistics (Twitter, 54 clusters): the summary, the table or one cluster"
TABLE_HEADERS = ["cluster", "miss ratio", "reads/write", "Zipf alpha", "most common TTL", "value B", "kqps"]


def add_arguments(parser) -> None:
    shown = parser.add_mutually_exclusive_group()
    shown.add_argument("--table", action="store_true", help="also print one line per cluster")
    shown.add_argument("--cluster", help="one cluster's row: cluster4, or just 4")
    add_json_flag(parser)


def run(args) -> int:
    if args.cluster is not None:
        found = cluster(args.cluster)
        info = _as_dict(found)
        text = "\n".join(f"{key:28} {_show(value)}" for key, value in info.items()) + f"\nsource: {SOURCE}"
        emit(args, info, text)
        return 0
    clusters = load_fleet()
    info = summary(clusters)
    text = "\n".join(summary_lines(clusters))
    if args.table:
        info["table"] = [_as_dict(item) for item in clusters]
        text += "\n\n" + format_table([_row(item) for item in clusters], TABLE_HEADERS)
    emit(args, info, text)
    return 0


def _as_dict(item) -> dict:
    info = dataclasses.asdict(item)
    info["ttl_mix"] = None if item.ttl_mix is None else [list(pair) for pair in item.ttl_mix]
    ratio = item.reads_per_write
    info["reads_per_write"] = None if ratio is None else ("inf" if math.isinf(ratio) else round(ratio, 2))
    info["missing"] = item.missing
    return info


def _row(item) -> list:
    ratio = item.reads_per_write
    shown_ratio = "N/A" if ratio is None else ("no writes" if math.isinf(ratio) else f"{ratio:,.1f}")
    ttl = item.dominant_ttl
    return [item.name, _show(item.miss_ratio), shown_ratio, _show(item.zipf_alpha),
            "N/A" if ttl is None else duration_text(ttl), _show(item.value_size), _show(item.request_rate_kqps)]


def _show(value) -> str:
    return "N/A" if value is None else str(value)
