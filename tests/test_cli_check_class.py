"""``cacheaside-lab check FOLDER``: a class's table, its ``--json`` and the exit status.

The outcomes of every kind of bad submission are covered by ``test_grading_class.py`` (one run
of a whole class); here the command line around it: 0 when all passed, 1 when any did not, 2
(one line on stderr) when nothing could be graded, and a real Redis with one namespace per learner.
"""

from __future__ import annotations

import json

import pytest

from cacheaside_lab.cli import main
from cacheaside_lab.stores.redis_server import RedisServer, find_redis_server
from class_folders import LAB_01, LAB_01_NAME, passing_learner, write
from notebook_files import ROOT, code_cells, read, tags

CHECKS = sum("check" in tags(c) for c in code_cells(read(LAB_01)))


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def broken_learners(root):
    """erin's file is not JSON, frank's lab does not exist: both graded without a kernel."""
    (root / "erin").mkdir(parents=True)
    (root / "erin" / LAB_01_NAME).write_text("not json at all")
    write(read(LAB_01), root / "frank-42_the_answer_lab.ipynb")


def test_a_class_that_all_passed_exits_0_with_its_table(capsys, tmp_path):
    passing_learner(tmp_path / "submissions")
    code, out, err = run_cli(capsys, "check", str(tmp_path / "submissions"), "--course-dir", str(ROOT))
    assert code == 0, out + err
    lines = out.splitlines()
    assert lines[0] == f"Class grades ({tmp_path / 'submissions'}):"
    assert lines[2].split() == ["learner", "lab", "01"]
    assert lines[3].split() == ["alice", "passed", f"{CHECKS}/{CHECKS}"]
    assert "What went wrong" not in out
    assert lines[-1] == "1 submissions from 1 learners: 1 passed, 0 failed, 0 time-limit, 0 crashed, 0 refused, 0 invalid"


def test_json_for_the_whole_class_and_exit_1_when_any_did_not_pass(capsys, tmp_path):
    root = tmp_path / "submissions"
    passing_learner(root)
    broken_learners(root)
    code, out, _ = run_cli(capsys, "check", str(root), "--json", "--jobs", "2", "--course-dir", str(ROOT))
    assert code == 1
    data = json.loads(out)
    assert data["exit_status"] == 1 and data["summary"]["passed"] == 1 and data["summary"]["invalid"] == 2
    (alice,) = data["learners"]["alice"]["labs"]
    assert alice["status"] == "passed" and alice["passed"] == alice["total"] == CHECKS == len(alice["exercises"])
    (erin,) = data["learners"]["erin"]["labs"]
    assert erin["status"] == "invalid" and "is not a valid Jupyter notebook" in erin["reason"] and erin["exercises"] == []
    (frank,) = data["learners"]["frank"]["labs"]
    assert frank["lab"] == "42" and "the course has no lab 42" in frank["reason"]


def test_several_paths_are_one_class(capsys, tmp_path):
    broken_learners(tmp_path)
    code, out, _ = run_cli(capsys, "check", str(tmp_path / "erin"), str(tmp_path / "frank-42_the_answer_lab.ipynb"))
    assert code == 1
    assert [line.split()[0] for line in out.splitlines()[3:5]] == ["erin", "frank"]
    assert "erin · lab 01" in out and "frank · lab 42" in out
    assert out.splitlines()[-1].endswith("0 passed, 0 failed, 0 time-limit, 0 crashed, 0 refused, 2 invalid")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["EMPTY"], "no lab submissions found"),
        (["MISSING"], "no such file"),
        (["CLASS", "--jobs", "0"], "--jobs must be from 1 to 8"),
        (["CLASS", "--jobs", "50"], "--jobs must be from 1 to 8"),
        (["CLASS", "--namespace", "course:"], "every learner's keys in one namespace"),
        (["CLASS", "--redis-url", "unix:///nonexistent/redis.sock"], "did not answer"),
        (["CLASS", "--timeout", "0"], "--timeout"),
    ],
)
def test_nothing_graded_exits_2_with_one_line(capsys, tmp_path, argv, message):
    (tmp_path / "empty").mkdir()
    passing_learner(tmp_path / "class", "alice")
    passing_learner(tmp_path / "class", "bob")
    places = {"EMPTY": tmp_path / "empty", "MISSING": tmp_path / "missing", "CLASS": tmp_path / "class"}
    code, out, err = run_cli(capsys, "check", *[str(places.get(a, a)) for a in argv])
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err and "Traceback" not in err


@pytest.mark.skipif(find_redis_server() is None, reason="redis-server is not installed")
def test_on_a_real_redis_each_learner_keeps_to_their_namespace(capsys, tmp_path):
    passing_learner(tmp_path / "submissions", "alice")
    with RedisServer() as server:
        code, out, err = run_cli(
            capsys, "check", str(tmp_path / "submissions"), "--json", "--redis-url", server.url,
            "--namespace", "class-{learner}:", "--course-dir", str(ROOT),
        )
        keys = list(server.client().scan_iter())
    assert code == 0, out + err
    assert json.loads(out)["learners"]["alice"]["labs"][0]["status"] == "passed"
    assert all(key.startswith("class-alice:") for key in keys), keys[:10]
    assert "class-alice:grading:lock" not in keys  # the grading lock was released
