"""`cacheaside-lab fleet`: the summary, the table, one cluster, and a clear error for a bad name."""

from __future__ import annotations

import json

from cacheaside_lab.cli import COMMANDS, main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_fleet_is_a_subcommand():
    assert "fleet" in COMMANDS


def test_the_summary_names_its_source(capsys):
    code, out, _ = run(capsys, "fleet")
    assert code == 0 and out.startswith("54 clusters") and "OSDI 2020" in out and "CC BY 4.0" in out


def test_the_table_lists_every_cluster_and_marks_na(capsys):
    code, out, _ = run(capsys, "fleet", "--table")
    assert code == 0 and "cluster54" in out and "N/A" in out


def test_one_cluster_as_json(capsys):
    code, out, _ = run(capsys, "fleet", "--cluster", "4", "--json")
    info = json.loads(out)
    assert code == 0 and info["name"] == "cluster4" and info["operations"] == {"get": 0.93, "set": 0.07}
    assert info["ttl_mix"][0] == [60.0, 0.39] and info["missing"] == []


def test_a_row_the_authors_marked_na_says_so(capsys):
    code, out, _ = run(capsys, "fleet", "--cluster", "cluster5", "--json")
    assert code == 0 and "operations" in json.loads(out)["missing"]


def test_an_unknown_cluster_is_one_clear_line_and_exit_2(capsys):
    code, out, err = run(capsys, "fleet", "--cluster", "cluster99")
    assert code == 2 and out == "" and err.count("\n") == 1 and "cluster1 to cluster54" in err
