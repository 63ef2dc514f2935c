"""A production cache fleet as data: Twitter's 54 clusters (March 2020), one row each.

The course's rules of thumb ("reads dominate, 100:1 and up", "TTL ≤ 10× the staleness window",
Zipf popularity) come from reasoning and simulation. This table lets a lecture ask how common
they are in a real fleet. It is ``twitter-cache-2020Mar-stats.md`` (in this folder, copied
unchanged; CC BY 4.0, see ``LICENSE-twitter-cache-2020Mar-stats.md``) from Yang, Yue and Rashmi,
"A large scale analysis of hundreds of in-memory cache clusters at Twitter", OSDI 2020.

:func:`load_fleet` parses it into :class:`Cluster` records:

* numbers stay numbers; a cell the authors marked N/A (``N/A``, ``NA``) becomes ``None`` and the
  cluster says what it lacks (:attr:`Cluster.missing`), never a guess;
* the operation mix ``get:0.93 set:0.07`` becomes ``{"get": 0.93, "set": 0.07}``, from which
  :attr:`Cluster.read_share` (get, gets) and :attr:`Cluster.write_share` (set, add, cas, incr,
  decr, …; deletes apart) follow;
* the TTL mix ``60s:0.39, 300s:0.24, 1h:0.13, …`` becomes ``((60, 0.39), (300, 0.24), …)`` in
  seconds. The table lists each cluster's most common TTLs, so the shares can add up to less than 1.

What the table cannot give: the order of requests, how popularity changes over the week, the
correlation between a key's popularity and its TTL or size. A stream built from a row
(:mod:`cacheaside_lab.models.cluster_workload`) reproduces the row's mix, skew and TTLs, not
its bursts.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources


TABLE_FILE = "twitter-cache-2020Mar-stats.md"
SOURCE = ("Juncheng Yang, Yao Yue, K. V. Rashmi, \"A large scale analysis of hundreds of in-memory cache "
          "clusters at Twitter\", OSDI 2020; table stat/2020Mar.md of github.com/twitter/cache-trace, CC BY 4.0")

READS = ("get", "gets")
WRITES = ("set", "add", "cas", "replace", "append", "prepend", "incr", "decr")
DELETES = ("delete",)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}
_NOT_AVAILABLE = {"N/A", "NA", ""}

# the table's columns, in order, and the name each has here
COLUMNS = (
    ("cluster", "name"),
    ("production miss ratio", "miss_ratio"),
    ("category", "category"),
    ("key size", "key_size"),
    ("value size", "value_size"),
    ("request rate (kqps)", "request_rate_kqps"),
    ("mean freq", "mean_frequency"),
    ("one-hit-wonder ratio (%)", "one_hit_wonder_pct"),
    ("compulsory miss ratio (%)", "compulsory_miss_pct"),
    ("common TTL", "ttl_mix"),
    ("WSS in MB (not considering ttl)", "working_set_mb_without_ttl"),
    ("WSS in MB (working set size)", "working_set_mb"),
    ("operation", "operations"),
    ("Zipf alpha", "zipf_alpha"),
)


@dataclass(frozen=True)
class Cluster:
    """One cluster's week, as the authors measured it (``None``: marked N/A in the table)."""

    name: str
    miss_ratio: float | None
    category: int | None
    key_size: float | None  # bytes
    value_size: float | None  # bytes
    request_rate_kqps: float | None  # thousands of requests per second
    mean_frequency: float | None  # requests per object over the week
    one_hit_wonder_pct: float | None
    compulsory_miss_pct: float | None
    ttl_mix: tuple[tuple[float, float], ...] | None  # (TTL in seconds, share), most common first
    working_set_mb_without_ttl: float | None
    working_set_mb: float | None
    operations: dict[str, float] | None = field(default=None, hash=False)
    zipf_alpha: float | None = None

    @property
    def missing(self) -> list[str]:
        """The fields the authors marked N/A for this cluster."""
        return [attribute for _column, attribute in COLUMNS if getattr(self, attribute) is None]

    @property
    def has_workload(self) -> bool:
        """Whether the row has what a workload needs: an operation mix, a Zipf alpha and TTLs."""
        return self.operations is not None and self.zipf_alpha is not None and self.ttl_mix is not None

    def _share(self, names) -> float | None:
        if self.operations is None:
            return None
        return sum(self.operations.get(name, 0.0) for name in names)

    @property
    def read_share(self) -> float | None:
        return self._share(READS)

    @property
    def write_share(self) -> float | None:
        return self._share(WRITES)

    @property
    def delete_share(self) -> float | None:
        return self._share(DELETES)

    @property
    def reads_per_write(self) -> float | None:
        """Reads per write (``inf`` for a cluster with no writes at the table's precision)."""
        if self.operations is None:
            return None
        writes = self.write_share
        return math.inf if writes == 0 else self.read_share / writes

    @property
    def dominant_ttl(self) -> float | None:
        """The TTL that most of the cluster's writes carry, in seconds."""
        return None if self.ttl_mix is None else max(self.ttl_mix, key=lambda pair: pair[1])[0]

    @property
    def request_rate(self) -> float | None:
        """Requests per second (the table gives thousands per second)."""
        return None if self.request_rate_kqps is None else self.request_rate_kqps * 1000


def parse_ttl(text: str) -> float:
    """``"240s"`` → 240, ``"1.8h"`` → 6480, ``"92.6d"`` → 8,000,640 (seconds)."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([smhd])\s*", text)
    if not match:
        raise ValueError(f"a TTL looks like 240s, 30m, 1.8h or 4d (got {text!r}).")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_ttl_mix(text: str) -> tuple[tuple[float, float], ...] | None:
    """``"60s:0.39, 300s:0.24,"`` → ``((60.0, 0.39), (300.0, 0.24))``; N/A → None."""
    if text.strip() in _NOT_AVAILABLE:
        return None
    pairs = []
    for part in text.split(","):
        if not part.strip():
            continue
        ttl, _, share = part.partition(":")
        pairs.append((parse_ttl(ttl), float(share)))
    return tuple(pairs)


def parse_operations(text: str) -> dict[str, float] | None:
    """``"get:0.93 set:0.07"`` → ``{"get": 0.93, "set": 0.07}``; N/A → None."""
    if text.strip() in _NOT_AVAILABLE:
        return None
    operations = {}
    for part in text.split():
        name, _, share = part.partition(":")
        operations[name] = float(share)
    return operations


def _number(text: str) -> float | None:
    text = text.strip()
    return None if text in _NOT_AVAILABLE else float(text)


def parse_table(text: str) -> list[Cluster]:
    """Every data row of the markdown table ``text``, as Clusters (header and ruler skipped)."""
    rows = [line for line in text.splitlines() if line.strip().startswith("|")]
    header = [cell.strip() for cell in rows[0].strip().strip("|").split("|")]
    expected = [column for column, _attribute in COLUMNS]
    if header != expected:
        raise ValueError(f"the fleet table's columns changed: expected {expected}, found {header}.")
    clusters = []
    for line in rows[2:]:
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        values = dict(zip((attribute for _column, attribute in COLUMNS), cells))
        category = _number(values["category"])
        clusters.append(Cluster(
            name=values["name"],
            miss_ratio=_number(values["miss_ratio"]),
            category=None if category is None else int(category),
            key_size=_number(values["key_size"]),
            value_size=_number(values["value_size"]),
            request_rate_kqps=_number(values["request_rate_kqps"]),
            mean_frequency=_number(values["mean_frequency"]),
            one_hit_wonder_pct=_number(values["one_hit_wonder_pct"]),
            compulsory_miss_pct=_number(values["compulsory_miss_pct"]),
            ttl_mix=parse_ttl_mix(values["ttl_mix"]),
            working_set_mb_without_ttl=_number(values["working_set_mb_without_ttl"]),
            working_set_mb=_number(values["working_set_mb"]),
            operations=parse_operations(values["operations"]),
            zipf_alpha=_number(values["zipf_alpha"]),
        ))
    return clusters


@lru_cache(maxsize=1)
def _fleet() -> tuple[Cluster, ...]:
    text = resources.files(__package__).joinpath(TABLE_FILE).read_text(encoding="utf-8")
    return tuple(parse_table(text))


def load_fleet() -> list[Cluster]:
    """The 54 clusters of the table, in its order."""
    return list(_fleet())


def cluster(name: str) -> Cluster:
    """One cluster by name (``"cluster4"``, or just ``"4"``)."""
    names = {item.name: item for item in _fleet()}
    asked = name
    if isinstance(name, int) and not isinstance(name, bool) or (isinstance(name, str) and name.strip().isdigit()):
        name = f"cluster{int(name)}"
    if name not in names:
        raise ValueError(
            f"unknown cluster {asked!r}: the table has {len(names)} clusters, cluster1 to cluster{len(names)} "
            f"(a number alone, such as 4, works too)."
        )
    return names[name]


def workload_cluster(name: str) -> Cluster:
    """:func:`cluster`, refusing a row that lacks what a workload needs (and saying what)."""
    found = cluster(name)
    if not found.has_workload:
        lacking = [attribute for attribute in ("operations", "zipf_alpha", "ttl_mix") if getattr(found, attribute) is None]
        usable = ", ".join(item.name for item in _fleet() if item.has_workload)
        raise ValueError(
            f"{found.name} has no {', no '.join(lacking)} in the table (the authors marked it N/A), so no "
            f"workload can be built from it; clusters with a full row: {usable}."
        )
    return found


def summary(clusters: list[Cluster] | None = None) -> dict:
    """The fleet in a few numbers: how read-heavy, which TTLs, how skewed (over rows with data)."""
    clusters = load_fleet() if clusters is None else list(clusters)
    with_ops = [item for item in clusters if item.operations is not None]
    ratios = [item.reads_per_write for item in with_ops]
    ttls = [item.dominant_ttl for item in clusters if item.ttl_mix is not None]
    alphas = sorted(item.zipf_alpha for item in clusters if item.zipf_alpha is not None)
    return {
        "clusters": len(clusters),
        "with_operation_mix": len(with_ops),
        # a mix that lists no writes has them below the table's precision (0.01), not at zero
        "no_writes_listed": sum(ratio == math.inf for ratio in ratios),
        "read_heavy_100_to_1": sum(ratio >= 100 for ratio in ratios),
        "read_heavy_10_to_1": sum(ratio >= 10 for ratio in ratios),
        "write_heavy": sum(item.write_share > item.read_share for item in with_ops),
        "with_deletes": sum((item.delete_share or 0) > 0 for item in with_ops),
        "dominant_ttl_s": sorted(ttls),
        "zipf_alpha": alphas,
        "source": SOURCE,
    }


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


def summary_lines(clusters: list[Cluster] | None = None) -> list[str]:
    """:func:`summary` in words, one line each (what ``cacheaside-lab fleet`` prints)."""
    facts = summary(clusters)
    known = facts["with_operation_mix"]
    ttls, alphas = facts["dominant_ttl_s"], facts["zipf_alpha"]

    def share(count: int) -> str:
        return f"{count} of {known} ({count / known:.0%})" if known else "none"

    return [
        f"{facts['clusters']} clusters, {known} with an operation mix (the rest marked N/A)",
        f"read-heavy at 100:1 or more: {share(facts['read_heavy_100_to_1'])} (of which {facts['no_writes_listed']} "
        f"list no writes: below the table's 1% precision); at 10:1 or more: {share(facts['read_heavy_10_to_1'])}",
        f"write-heavy (more writes than reads): {share(facts['write_heavy'])}; with deletes: {share(facts['with_deletes'])}",
        f"most common TTL per cluster: median {duration_text(_median(ttls))}, from {duration_text(ttls[0])} to "
        f"{duration_text(ttls[-1])} ({len(ttls)} clusters)" if ttls else "no TTLs",
        f"Zipf alpha: median {_median(alphas):.2f}, from {alphas[0]:.2f} to {alphas[-1]:.2f} ({len(alphas)} clusters)"
        if alphas else "no Zipf alphas",
        f"source: {facts['source']}",
    ]


def duration_text(seconds: float | None) -> str:
    """``28800`` → ``8 h``: a TTL as people write it."""
    if seconds is None:
        return "-"
    for unit, size in (("d", 86_400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} s"
