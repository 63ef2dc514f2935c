"""Where a product change has to go, and who takes it there (lecture 15).

:func:`draw_fanout` draws the two designs of lecture 15 one above the other, from the run's own
record (the stale counts :meth:`~cacheaside_lab.consistency.changelog.FanOut.stale_entries`
returned after each, the rows each writer changed, the invalidator's counts):

* **invalidation in application code**: each writer changes the database, and only the
  application, knowing only its own region's key, deletes anything; every cached copy is labelled
  with how many entries were left stale;
* **invalidation from the change log**: every writer's change reaches the database, the database's
  trigger appends it to the change log in the same transaction, and one invalidator tails the log
  and deletes every copy (each region's cache and each listing page); the copies are labelled with
  the stale count after it drained the log.
"""

from __future__ import annotations

from .style import finish, new_figure

BOX = dict(boxstyle="round,pad=0.35", facecolor="#f2f2f2", edgecolor="#555555")
STALE = dict(boxstyle="round,pad=0.35", facecolor="#fde0dd", edgecolor="#d62728")
CLEAN = dict(boxstyle="round,pad=0.35", facecolor="#e5f5e0", edgecolor="#2ca02c")


def _box(ax, x, y, text, style=BOX):
    ax.text(x, y, text, ha="center", va="center", fontsize=7.5, bbox=style, zorder=3)


def _arrow(ax, start, end, *, color="#555555", label=None, style="-|>", dashed=False, shrink=24):
    ax.annotate("", xy=end, xytext=start, zorder=2,
                arrowprops=dict(arrowstyle=style, color=color, linewidth=1.2, linestyle="--" if dashed else "-",
                                shrinkA=shrink, shrinkB=shrink))
    if label:
        ax.text((start[0] + end[0]) / 2, (start[1] + end[1]) / 2 + 0.07, label, ha="center", va="bottom",
                fontsize=6.5, color=color, zorder=4)


def _copies(ax, x, stale: dict[str, int], *, after: str):
    """The cached copies in a column at ``x``, each with its stale count; returns their y positions."""
    names = list(stale)
    ys = [0.85 - index * (0.7 / max(len(names) - 1, 1)) for index in range(len(names))]
    for name, y in zip(names, ys):
        count = stale[name]
        _box(ax, x, y, f"{name}\n{count} stale {after}", STALE if count else CLEAN)
    ax.text(x, 1.0, "cached copies", ha="center", fontsize=7.5, style="italic")
    return dict(zip(names, ys))


def draw_fanout(writers: dict[str, int], app_code: dict[str, int], change_log: dict[str, int], *,
                app_region: str, changes: int, deleted: int, pending: int | None = None):
    """Both designs, from one run: ``writers`` maps each writer to the rows it changed,
    ``app_code`` and ``change_log`` are the stale entries per copy after each design,
    ``app_region`` is the copy the application deletes itself, ``changes`` and ``deleted`` the
    invalidator's counts (and ``pending`` the log's length before it ran)."""
    for name, record in (("app_code", app_code), ("change_log", change_log)):
        if not record:
            raise ValueError(f"{name} needs the stale count of at least one copy (FanOut.stale_entries).")
    if app_region not in app_code:
        raise ValueError(f"app_region must be one of the copies {sorted(app_code)} (got {app_region!r}).")
    figure, (top, bottom) = new_figure("Who deletes each cached copy after a change", xlabel="", ylabel="",
                                       size=(7.5, 6.4), nrows=2)
    for ax in (top, bottom):
        ax.set_xlim(-0.1, 4.1)
        ax.set_ylim(-0.05, 1.05)
        ax.axis("off")
    writer_ys = [0.75 - index * 0.5 / max(len(writers) - 1, 1) for index in range(len(writers))]

    top.set_title("Invalidation in application code", fontsize=9, loc="left")
    db_at = (1.3, 0.5)
    _box(top, *db_at, "database\n(products)")
    copies = _copies(top, 3.6, app_code, after="afterwards")
    for (writer, rows), y in zip(writers.items(), writer_ys):
        _box(top, 0.2, y, f"{writer}\n{rows} rows changed")
        _arrow(top, (0.2, y), db_at, label="UPDATE")
    app_y = writer_ys[0]
    _arrow(top, (0.2, app_y), (3.6, copies[app_region]), color="#1f77b4", dashed=True,
           label=f"DEL, its own {app_region} keys only", shrink=40)
    top.text(2.3, 0.02, "no one deletes the other copies: they stay stale until their TTL", ha="center",
             fontsize=7, color="#d62728")

    bottom.set_title("Invalidation from the database's change log", fontsize=9, loc="left")
    db_at, log_at, inv_at = (0.95, 0.5), (1.95, 0.5), (2.9, 0.5)
    _box(bottom, *db_at, "database\n(products)")
    queued = "" if pending is None else f"\n{pending} changes queued"
    _box(bottom, *log_at, f"change log\n(trigger, same\ntransaction){queued}")
    _box(bottom, *inv_at, f"invalidator\n{changes} changes,\n{deleted} keys deleted")
    copies = _copies(bottom, 3.75, change_log, after="after it ran")
    for (writer, rows), y in zip(writers.items(), writer_ys):
        _box(bottom, 0.1, y, f"{writer}\n{rows} rows changed")
        _arrow(bottom, (0.1, y), db_at)
    _arrow(bottom, db_at, log_at, shrink=42)
    _arrow(bottom, log_at, inv_at, label="poll", shrink=36)
    for y in copies.values():
        _arrow(bottom, inv_at, (3.75, y), color="#2ca02c", label="DEL", shrink=34)
    bottom.text(2.3, 0.02, "every write reaches the log, whoever made it; one component knows every copy",
                ha="center", fontsize=7, color="#2ca02c")
    return finish(figure)
