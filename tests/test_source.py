"""show_source: a lecture prints a package function with the file and line to open."""

from __future__ import annotations

import pytest

from cacheaside_lab.core.keys import make_key
from cacheaside_lab.course.source import show_source, source_of


def test_source_names_the_file_and_line_and_prints_the_code(capsys):
    where, code = source_of(make_key)
    assert where.startswith("cacheaside_lab/core/keys.py, line ")
    assert code.startswith("def make_key(")
    show_source(make_key)
    printed = capsys.readouterr().out
    assert printed.startswith("# cacheaside_lab/core/keys.py, line ") and "def make_key(" in printed


def test_show_source_refuses_what_has_no_source():
    with pytest.raises(TypeError, match="needs a function"):
        show_source(42)
