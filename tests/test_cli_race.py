"""`cacheaside-lab race`: the issue's contract, on both backends."""

from __future__ import annotations

import json

import pytest

from cacheaside_lab.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("strategy, readers, writers, executions, stale", [
    ("update", 0, 2, 6, 2),
    ("delete", 1, 1, 10, 1),
    ("lease", 1, 1, 10, 0),
])
def test_race_json_has_the_contracted_fields(capsys, backend, strategy, readers, writers, executions, stale):
    code, out, _ = run(capsys, "race", "--strategy", strategy, "--readers", str(readers),
                       "--writers", str(writers), "--json")
    result = json.loads(out)
    assert code == 0
    assert {k: result[k] for k in ("strategy", "readers", "writers", "executions", "stale")} == {
        "strategy": strategy, "readers": readers, "writers": writers, "executions": executions, "stale": stale}


def test_race_prints_a_table_and_an_example(capsys, backend, cache):
    code, out, _ = run(capsys, "race", "--strategy", "delete", "--readers", "1", "--writers", "1")
    lines = out.splitlines()
    assert code == 0
    assert lines[0].split() == ["strategy", "readers", "writers", "executions", "stale", "stale", "share"]
    assert lines[2].split() == ["delete", "1", "1", "10", "1", "10.0%"]
    assert "one stale execution: R1:GET R1:SELECT W1:UPDATE W1:DEL R1:SET" in out
    assert not list(cache.scan_iter(match=f"{backend.namespace}race-cli:*"))  # cleaned up after itself


@pytest.mark.parametrize("argv, message", [
    (["--strategy", "delete", "--readers", "-1"], "readers must be 0 or more (got -1)"),
    (["--strategy", "delete", "--writers", "-2"], "writers must be 0 or more (got -2)"),
    (["--strategy", "delete", "--readers", "3", "--writers", "3"], "the limit is 4 actors"),
    # issue 12, defect 9: 9 or more actors met the stepper's limit first and were told "at most 8"
    (["--strategy", "delete", "--readers", "5", "--writers", "5"], "the limit is 4 actors"),
    (["--strategy", "lease", "--readers", "0", "--writers", str(10**6)], "the limit is 4 actors"),
    (["--strategy", "delete", "--readers", "0", "--writers", "0"], "at least one actor"),
])
def test_race_bad_numbers_are_one_clear_line_and_exit_2(capsys, argv, message):
    code, out, err = run(capsys, "race", *argv)
    assert code == 2 and out == ""
    assert err.startswith("cacheaside-lab race: error: ") and message in err and "Traceback" not in err
    assert "at most 8" not in err


def test_race_help_and_errors_state_the_one_real_limit(capsys):
    from cacheaside_lab.races import MAX_ACTORS, explore_interleavings

    with pytest.raises(SystemExit):
        main(["race", "--help"])
    assert f"At most {MAX_ACTORS} actors" in capsys.readouterr().out
    for readers, writers in ((MAX_ACTORS, 1), (5, 5), (20, 0)):
        with pytest.raises(ValueError, match=f"the limit is {MAX_ACTORS} actors"):
            explore_interleavings("delete", readers, writers)


def test_race_unknown_strategy_is_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["race", "--strategy", "upsert"])
    assert exit_.value.code == 2
    assert "invalid choice: 'upsert'" in capsys.readouterr().err
