"""Payload splitting (lecture 11): the cap one volatile field puts on a document, and the split page.

* :func:`draw_hit_ratio_cap`: hit ratio against TTL for the whole document and for its stable
  slice, closed form as lines and simulation as dots, with the cap reads/(reads + writes);
* :func:`draw_split_page`: which keys a product page lives under, whole and split, with the TTLs
  and the writes that delete each, read from the two caches the lecture built;
* :func:`draw_command_sequence`: a sequence diagram of the calls a split page made, from a
  :class:`~cacheaside_lab.failure.proxies.RecordingProxy` log (one MGET, one pipeline).
"""

from __future__ import annotations

import numpy as np

from ..experiments.splitting import STABLE_FIELDS, SplitProductCache, WholeProductCache
from ..core.validation import require_fraction
from .style import finish, new_figure


def draw_hit_ratio_cap(ttls, whole_model, stable_model, dots, whole_sim, stable_sim, cap: float, *,
                       title: str = "A volatile field caps the whole document's hit ratio"):
    """Lines: the closed form at each of ``ttls``; dots: the simulation at each of ``dots``."""
    require_fraction("cap", cap)
    series = [np.asarray(values, dtype=float) for values in (ttls, whole_model, stable_model, dots, whole_sim, stable_sim)]
    ttls, whole_model, stable_model, dots, whole_sim, stable_sim = series
    if not (len(ttls) == len(whole_model) == len(stable_model) and len(dots) == len(whole_sim) == len(stable_sim)):
        raise ValueError("each model curve needs one value per TTL, and each simulation one per dot.")
    figure, ax = new_figure(title, xlabel="TTL (seconds, log scale)", ylabel="hit ratio", size=(7.5, 4.5))
    ax.plot(ttls, whole_model, color="tab:blue", label="whole page (stock changes delete it): closed form")
    ax.plot(dots, whole_sim, "o", color="tab:blue", label="whole page: simulation")
    ax.plot(ttls, stable_model, color="tab:orange", label="stable slice (only price changes delete it): closed form")
    ax.plot(dots, stable_sim, "s", color="tab:orange", label="stable slice: simulation")
    ax.axhline(cap, color="tab:blue", linestyle=":", label=f"cap reads/(reads + writes) = {cap:.3f}")
    ax.set_xscale("log")
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    return finish(figure)


def _whole_card(whole: WholeProductCache, product_id: int) -> list[str]:
    return [whole.aside.key(product_id), "id, name, description, price, stock", f"TTL {whole.aside.ttl:g} s",
            "deleted by every sale and every price change"]


def _split_cards(split: SplitProductCache, product_id: int) -> list[list[str]]:
    info = [split.info_key(product_id), ", ".join(STABLE_FIELDS), f"TTL {split.stable_ttl:g} s",
            "deleted only by a price (or name) change"]
    if split.stock == "database":
        return [info, ["(no key)", "stock", "read from the database on every page view", "always exact"]]
    deleted = "deleted by every sale" if split.invalidate_stock else "never deleted: the TTL bounds its age"
    return [info, [split.stock_key(product_id), "stock", f"TTL {split.stock_ttl:g} s", deleted]]


def draw_split_page(whole: WholeProductCache, split: SplitProductCache, *, product_id: int = 42,
                    title: str = "One product page: one key, or two"):
    """Left: the page cached whole. Right: the split, read with one MGET and filled in one pipeline."""
    from matplotlib.patches import FancyBboxPatch

    if not isinstance(whole, WholeProductCache) or not isinstance(split, SplitProductCache):
        raise TypeError("draw_split_page needs a WholeProductCache and a SplitProductCache.")
    figure, ax = new_figure(title, xlabel="", ylabel="", size=(8.5, 4.4))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 6)
    ax.axis("off")

    def card(x, y, lines, colour):
        ax.add_patch(FancyBboxPatch((x, y), 4.2, 1.55, boxstyle="round,pad=0.08", facecolor=colour, alpha=0.15,
                                    edgecolor=colour, linewidth=1.5))
        ax.text(x + 0.15, y + 1.3, lines[0], fontsize=8, family="monospace", va="center")
        for row, text in enumerate(lines[1:]):
            ax.text(x + 0.15, y + 0.92 - row * 0.36, text, fontsize=8, va="center")

    ax.text(2.4, 5.6, "whole document", ha="center", weight="bold")
    ax.text(7.6, 5.6, "split", ha="center", weight="bold")
    card(0.3, 3.5, _whole_card(whole, product_id), "tab:blue")
    ax.text(2.4, 2.9, "one GET per view;\nany change rebuilds the whole page\n(the expensive query)",
            ha="center", va="top", fontsize=8)
    info, stock = _split_cards(split, product_id)
    card(5.5, 3.5, info, "tab:green")
    card(5.5, 1.4, stock, "tab:orange")
    ax.text(7.6, 0.85, "one MGET per view for both keys;\nany fills go back in one pipeline",
            ha="center", va="top", fontsize=8)
    ax.plot([5.0, 5.0], [0.4, 5.8], color="0.7", linewidth=1)
    return finish(figure)


ACTORS = ("application", "cache", "database")


def _short_key(args) -> str:
    """The last two parts of the first key in a recorded call (``info:42``), or ``""``."""
    first = args[0] if args else ""
    if isinstance(first, (list, tuple)):
        return ", ".join(_short_key([key]) for key in first)
    return ":".join(str(first).split(":")[-2:]) if isinstance(first, str) and ":" in first else str(first)


def draw_command_sequence(phases, *, title: str = "What the split page sends, call by call"):
    """A sequence diagram from recorded calls: ``phases`` is a list of ``(name, entries)``, each
    entry a :class:`~cacheaside_lab.failure.proxies.RecordingProxy` log line ``(label, method,
    args, kwargs)`` whose label starts with ``"cache"`` or ``"database"``."""
    if isinstance(phases, (str, bytes)) or not hasattr(phases, "__iter__"):
        raise TypeError("phases must be a list of (name, recorded calls) pairs.")
    # opening a pipeline sends nothing: only its queued commands and the execute are drawn
    phases = [(str(name), [entry for entry in entries if entry[1] != "pipeline"]) for name, entries in phases]
    rows = sum(max(1, len(entries)) for _name, entries in phases) + len(phases)
    figure, ax = new_figure(title, xlabel="", ylabel="", size=(8.0, 0.32 * rows + 1.2))
    x = dict(zip(ACTORS, (1.0, 3.2, 5.4)))
    ax.set_xlim(-1.4, 6.4)
    ax.set_ylim(rows + 0.5, -0.8)
    ax.axis("off")
    for actor, at in x.items():
        ax.text(at, -0.45, actor, ha="center", weight="bold")
        ax.plot([at, at], [0, rows], color="0.75", linewidth=1, zorder=0)
    row = 0
    for name, entries in phases:
        ax.axhline(row + 0.1, color="0.85", linewidth=0.8, zorder=0)
        ax.text(-1.3, row + 0.55, name, fontsize=8, style="italic", va="center")
        row += 1
        if not entries:
            ax.text(x["application"] + 0.2, row, "(nothing sent)", fontsize=7, va="center")
            row += 1
        for label, method, args, _kwargs in entries:
            actor = "cache" if str(label).startswith("cache") else "database"
            colour = "tab:blue" if actor == "cache" else "tab:red"
            piped = str(label).endswith(".pipeline")
            queued = piped and method != "execute"
            ax.annotate("", xy=(x[actor], row), xytext=(x["application"], row),
                        arrowprops=dict(arrowstyle="-|>", color=colour, linewidth=0.8 if queued else 1.4,
                                        linestyle=":" if queued else "-"))
            if queued:
                text = f"queued: {method} {_short_key(args)}"
            elif piped:
                text = "pipeline execute: one round trip"
            else:
                text = f"{method} {_short_key(args)}"
            ax.text((x["application"] + x[actor]) / 2, row - 0.12, text, ha="center", fontsize=7, color=colour)
            row += 1
    return finish(figure)
