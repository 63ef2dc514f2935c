"""Lecture 18's pictures of a capstone run: which target each scenario threatened, and how.

:func:`draw_target_grid` lays a :class:`~cacheaside_lab.service.scenarios.CapstoneRun`'s targets
out as the checker reads them: one row per scenario, one column per target of the requirements
card, each cell green (held) or red (missed) with the number measured against its limit, and
blank where the scenario does not measure that target (the measured number and the limit are
followed by the target's unit when it has one). A learner sees at a glance which scenario
broke which promise, and so which decision of the card to revisit.

:func:`draw_scenario_timelines` shows what each scenario *did* to the layer, second by second
(or in shorter windows): one column per scenario, database queries per second for the uncached
baseline and for the layer on top, the layer's hit ratio below, and the scenario's events (a
restart, a burst of writes) as dotted red lines. It takes the two load runs of each scenario, as
``{scenario: {"no cache": run, "your layer": run}}`` or the run's ``results``.

Both take the run's own record; neither measures anything.
"""

from __future__ import annotations

import numpy as np

from .style import finish, new_figure

HELD_COLOR, MISSED_COLOR, BLANK_COLOR = "#b7e4c7", "#f4a6a6", "#f2f2f2"
BASELINE_COLOR, LAYER_COLOR, EVENT_COLOR = "#7f7f7f", "#1f77b4", "#d62728"
MAX_SCENARIOS = 12  # columns (timelines) or rows (grid) a notebook column can still read

__all__ = ["draw_scenario_timelines", "draw_target_grid", "scenario_pairs", "target_grid"]


def _number(value) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    value = float(value)
    if not np.isfinite(value):
        return str(value)
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _targets_of(run_or_targets) -> list:
    targets = getattr(run_or_targets, "targets", run_or_targets)
    try:
        targets = list(targets)
    except TypeError:
        raise TypeError(
            f"pass a CapstoneRun (run_scenarios(...)) or its list of TargetResults (got {type(run_or_targets).__name__})."
        ) from None
    if not targets:
        raise ValueError("nothing to draw: the run has no targets (was scenarios=[] passed to run_scenarios?).")
    for target in targets:
        for name in ("scenario", "target", "held", "measured", "limit"):
            if not hasattr(target, name):
                raise TypeError(f"each target needs .{name} (a TargetResult of run_scenarios); got {target!r}.")
    return targets


def target_grid(run_or_targets) -> tuple[list, list, dict]:
    """``(scenarios, targets, cells)``: the scenarios and targets in the order the run met them,
    and ``cells[(scenario, target)] = TargetResult``. A pair met twice keeps the first result."""
    scenarios: list = []
    names: list = []
    cells: dict = {}
    for target in _targets_of(run_or_targets):
        if target.scenario not in scenarios:
            scenarios.append(target.scenario)
        if target.target not in names:
            names.append(target.target)
        cells.setdefault((target.scenario, target.target), target)
    if len(scenarios) > MAX_SCENARIOS:
        raise ValueError(f"at most {MAX_SCENARIOS} scenarios fit one grid (got {len(scenarios)}).")
    return scenarios, names, cells


def draw_target_grid(run_or_targets, *, title: str = "The requirements card, scenario by scenario"):
    """One row per scenario, one column per target: held (green) or missed (red), measured / limit."""
    from matplotlib.patches import Patch, Rectangle

    scenarios, names, cells = target_grid(run_or_targets)
    width = max(6.5, 1.6 * len(names) + 1.6)
    figure, ax = new_figure(title, xlabel="target of the requirements card", ylabel="scenario",
                            size=(width, 0.6 * len(scenarios) + 1.8))
    for row, scenario in enumerate(scenarios):
        for column, name in enumerate(names):
            result = cells.get((scenario, name))
            color = BLANK_COLOR if result is None else HELD_COLOR if result.held else MISSED_COLOR
            ax.add_patch(Rectangle((column, row), 1, 1, facecolor=color, edgecolor="white", linewidth=2))
            if result is None:
                ax.text(column + 0.5, row + 0.5, "not measured", ha="center", va="center", fontsize=7, color="#7f7f7f")
                continue
            verdict = "held" if result.held else "MISSED"
            unit = str(getattr(result, "unit", "") or "").strip()
            shown = f"{_number(result.measured)} / {_number(result.limit)}{' ' + unit if unit else ''}"
            ax.text(column + 0.5, row + 0.5, f"{verdict}\n{shown}",
                    ha="center", va="center", fontsize=8, fontweight="normal" if result.held else "bold")
    ax.set_xlim(0, len(names))
    ax.set_ylim(len(scenarios), 0)
    ax.set_xticks(np.arange(len(names)) + 0.5)
    ax.set_xticklabels([str(name) for name in names], fontsize=8)
    ax.set_yticks(np.arange(len(scenarios)) + 0.5)
    ax.set_yticklabels([str(scenario) for scenario in scenarios], fontsize=8)
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.legend(handles=[Patch(facecolor=HELD_COLOR, label="held: measured within the limit"),
                       Patch(facecolor=MISSED_COLOR, label="missed")],
              loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, frameon=False, fontsize=8)
    return finish(figure)


def scenario_pairs(run_or_pairs) -> dict:
    """``{scenario: {"no cache": LoadRun, "your layer": LoadRun}}`` from a CapstoneRun (its
    ``results``, each with its ``name`` and its ``baseline`` and ``candidate`` load runs) or from
    such a dict itself."""
    if isinstance(run_or_pairs, dict):
        pairs = run_or_pairs
    else:
        results = getattr(run_or_pairs, "results", None)
        if results is None:
            raise TypeError(
                "pass a CapstoneRun (run_scenarios(...)) or {scenario: {'no cache': run, 'your layer': run}} "
                f"(got {type(run_or_pairs).__name__})."
            )
        pairs = {}
        for result in results:
            baseline, candidate = getattr(result, "baseline", None), getattr(result, "candidate", None)
            if baseline is None or candidate is None:
                raise TypeError(f"each scenario result needs .baseline and .candidate load runs (got {result!r}).")
            name = getattr(result, "name", None) or getattr(result, "scenario", None)
            pairs[name] = {"no cache": baseline, "your layer": candidate}
    if not pairs:
        raise ValueError("nothing to draw: no scenarios.")
    if len(pairs) > MAX_SCENARIOS:
        raise ValueError(f"at most {MAX_SCENARIOS} scenarios fit side by side (got {len(pairs)}).")
    for scenario, runs in pairs.items():
        if not isinstance(runs, dict) or len(runs) != 2:
            raise ValueError(f"scenario {scenario!r} needs exactly two runs, {{'no cache': run, 'your layer': run}}; got {runs!r}.")
    return pairs


def _frames(run, window_s: float) -> list[dict]:
    if hasattr(run, "plan"):
        from ..service.report import per_second

        return per_second(run, window_s)
    return list(run)


def _series(frames, name) -> np.ndarray:
    return np.array([np.nan if frame.get(name) is None else float(frame[name]) for frame in frames])


def _times(frames) -> np.ndarray:
    return np.array([float(frame["t"]) + float(frame.get("seconds", 1.0)) / 2 for frame in frames])


def draw_scenario_timelines(run_or_pairs, *, window_s: float = 0.25,
                            title: str = "What each scenario did to the database and the hit ratio"):
    """Per scenario (a column): database queries/s without a cache and with the layer (top), the
    layer's hit ratio (bottom), events as dotted red lines. Windows of ``window_s`` seconds by
    arrival time; a window with no lookups is a gap in the hit ratio, not a zero."""
    from ..core.validation import require_positive

    require_positive("window_s", window_s, unit="s")
    pairs = scenario_pairs(run_or_pairs)
    columns = len(pairs)
    figure, axes = new_figure(title, xlabel="arrival time (s)", ylabel="", size=(max(6.5, 2.3 * columns), 4.6),
                              nrows=2, ncols=columns, sharex="col", squeeze=False)
    for column, (scenario, runs) in enumerate(pairs.items()):
        database, ratio = axes[0][column], axes[1][column]
        (baseline_label, baseline), (layer_label, layer) = runs.items()
        for label, run, color in ((baseline_label, baseline, BASELINE_COLOR), (layer_label, layer, LAYER_COLOR)):
            frames = _frames(run, window_s)
            database.plot(_times(frames), _series(frames, "db_queries_per_s"), marker=".", color=color, label=str(label))
        frames = _frames(layer, window_s)
        ratio.plot(_times(frames), _series(frames, "hit_ratio"), marker=".", color=LAYER_COLOR, label=str(layer_label))
        for event in getattr(layer, "events", None) or []:
            for ax in (database, ratio):
                ax.axvline(float(event["t"]), color=EVENT_COLOR, linestyle=":", linewidth=1.2)
            database.annotate(str(event["name"]), xy=(float(event["t"]), 1.01), xycoords=("data", "axes fraction"),
                              fontsize=7, color=EVENT_COLOR, va="bottom")
        database.set_title(str(scenario), fontsize=9, pad=12)
        database.set_ylim(bottom=0)
        ratio.set_ylim(0, 1.05)
        if column == 0:
            database.set_ylabel("DB queries/s", fontsize=8)
            ratio.set_ylabel("hit ratio", fontsize=8)
            database.legend(frameon=False, fontsize=7)
    return finish(figure)
