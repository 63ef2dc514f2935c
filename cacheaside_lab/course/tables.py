"""Plain-text tables, so results read the same in a notebook, a terminal and on GitHub.

Numbers are right-aligned and text left-aligned. A printed table is also what nbval compares,
so the figures a lesson's prose quotes are checked against the table printed above them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from numbers import Integral, Real


def format_table(rows: Iterable[Sequence], headers: Sequence[str], *, digits: int = 3) -> str:
    """Render ``rows`` under ``headers``; floats get ``digits`` decimals, ints thousands separators."""
    rows = [list(row) for row in rows]
    for row in rows:
        if len(row) != len(headers):
            raise ValueError(f"every row needs {len(headers)} values to match the headers (got {row!r}).")
    numeric = [bool(rows) and all(_is_number(row[c]) for row in rows) for c in range(len(headers))]
    text = [[_format(value, digits) for value in row] for row in rows]
    widths = [max([len(h), *(len(row[c]) for row in text)]) for c, h in enumerate(headers)]

    def line(values):
        return "  ".join(
            value.rjust(width) if right else value.ljust(width)
            for value, width, right in zip(values, widths, numeric)
        ).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in text)])


def print_table(rows: Iterable[Sequence], headers: Sequence[str], *, digits: int = 3) -> None:
    print(format_table(rows, headers, digits=digits))


def _is_number(value) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def _format(value, digits: int) -> str:
    if isinstance(value, bool) or value is None:
        return {True: "yes", False: "no", None: "-"}[value]
    if isinstance(value, Integral):
        return f"{value:,}"
    if isinstance(value, Real):
        return f"{value:,.{digits}f}"
    return str(value)
