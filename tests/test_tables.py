"""tables.py: the plain-text tables notebooks print (and nbval compares)."""

from __future__ import annotations

import pytest

from cacheaside_lab.course.tables import format_table


def test_format_table_aligns_numbers_right_and_text_left():
    text = format_table([("delete", 10, 0.5), ("update", 1234, 0.25)], ["strategy", "runs", "share"], digits=2)
    assert text.splitlines() == [
        "strategy   runs  share",
        "--------  -----  -----",
        "delete       10   0.50",
        "update    1,234   0.25",
    ]


def test_format_table_rejects_ragged_rows():
    with pytest.raises(ValueError, match="every row needs 2 values"):
        format_table([(1,)], ["a", "b"])


def test_format_table_shows_booleans_and_missing_values():
    assert format_table([(True, None)], ["ok", "value"]).splitlines()[-1] == "yes  -"
