"""Grading a class (issue 18): a folder of submissions, each lab in a grader and kernel of its own.

One end-to-end run grades a class built from the real labs (``class_folders.whole_class``: a
passing learner, a failing one, an endless loop that swallows interrupts, a kernel that dies, a
broken file, a lab that does not exist, a faked check) and every test below reads that run; the
rest needs no kernel (finding submissions, statuses, namespaces, the queue per namespace).
"""

from __future__ import annotations

import threading
import time

import nbformat
import pytest

from cacheaside_lab.course import grading_class
from cacheaside_lab.course.grading_class import (
    STATUSES,
    ClassGrade,
    Submission,
    SubmissionGrade,
    find_submissions,
    grade_class,
    learner_namespace,
    status_of,
)
from class_folders import LAB_01, LAB_01_NAME, LAB_02_NAME, passing_learner, whole_class, write
from notebook_files import ROOT, code_cells, read, tags

CHECKS_IN_LAB_01 = sum("check" in tags(c) for c in code_cells(read(LAB_01)))
EXPECTED = {  # (learner, lab) -> status
    ("alice", "01"): "passed",
    ("alice", "02"): "passed",
    ("bob", "01"): "failed",
    ("carol", "01"): "time-limit",
    ("dave", "01"): "crashed",
    ("erin", "01"): "invalid",
    ("frank", "99"): "invalid",
    ("mallory", "01"): "refused",
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> ClassGrade:
    root = whole_class(tmp_path_factory.mktemp("class") / "submissions")
    # small limits: the loop is interrupted at 3 s and killed 5 s later; jobs=3 keeps it short
    return grade_class([root], timeout=3, notebook_timeout=90, jobs=3, course_dir=ROOT)


def by_key(result: ClassGrade) -> dict:
    return {(g.learner, g.lab): g for g in result.grades}


# --- one run of the whole class ------------------------------------------------------------------


def test_every_submission_gets_the_status_of_what_happened_to_it(graded):
    assert {key: g.status for key, g in by_key(graded).items()} == EXPECTED
    assert graded.exit_status() == 1 and not graded.all_passed


def test_the_passing_learner_loses_nothing_to_the_others(graded):
    alice = by_key(graded)[("alice", "01")]
    assert alice.passed == alice.total == CHECKS_IN_LAB_01
    assert all(e["passed"] for e in alice.grade["exercises"])
    assert alice.grade["notes"] == []  # the course folder was given: edited checks would be caught


def test_the_failing_learner_gets_each_exercises_feedback(graded):
    bob = by_key(graded)[("bob", "01")]
    assert bob.passed == 0 and bob.total == CHECKS_IN_LAB_01 and bob.reason is None
    assert all("What we tried" in e["message"] and "Hint" in e["message"] for e in bob.grade["exercises"])


def test_an_endless_loop_costs_only_its_own_grade(graded):
    carol = by_key(graded)[("carol", "01")]
    assert "ignored the interrupt at 3 s" in carol.reason and "kernel was stopped" in carol.reason
    assert carol.total == CHECKS_IN_LAB_01 and carol.passed == 0
    assert all("never ran" in e["message"] for e in carol.grade["exercises"][1:])


def test_a_kernel_that_dies_is_reported_as_crashed(graded):
    dave = by_key(graded)[("dave", "01")]
    assert "the kernel died" in dave.reason and dave.total == CHECKS_IN_LAB_01


def test_files_that_cannot_be_graded_are_reported_for_their_learner(graded):
    grades = by_key(graded)
    assert "is not a valid Jupyter notebook" in grades[("erin", "01")].reason
    assert "the course has no lab 99" in grades[("frank", "99")].reason and "01" in grades[("frank", "99")].reason
    assert "redefines the check check_read_path" in grades[("mallory", "01")].reason
    assert any("Untitled.ipynb: not a lab submission" in note for note in graded.skipped)
    assert not any(".ipynb_checkpoints" in g.notebook for g in graded.grades)


def test_the_table_has_a_row_per_learner_and_a_column_per_lab(graded):
    text = graded.to_text()
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("learner"))
    assert header.split() == ["learner", "lab", "01", "lab", "02", "lab", "99"]
    start = lines.index(header) + 1
    table = lines[start : lines.index("", start)]  # the table ends at the first blank line
    rows = {line.split()[0]: line for line in table}
    assert len(rows) == 7
    assert rows["alice"].split()[1:] == ["passed", f"{CHECKS_IN_LAB_01}/{CHECKS_IN_LAB_01}", "passed",
                                         f"{by_key(graded)[('alice', '02')].total}/{by_key(graded)[('alice', '02')].total}", "-"]
    assert rows["bob"].split()[1:] == ["failed", f"0/{CHECKS_IN_LAB_01}", "-", "-"]
    assert rows["carol"].split()[1:3] == ["time-limit", f"0/{CHECKS_IN_LAB_01}"]
    assert rows["dave"].split()[1:3] == ["crashed", f"0/{CHECKS_IN_LAB_01}"]
    assert rows["erin"].split()[1:] == ["invalid", "-", "-"]
    assert rows["frank"].split()[1:] == ["-", "-", "invalid"]
    assert rows["mallory"].split()[1:3] == ["refused", f"0/{CHECKS_IN_LAB_01}"]
    assert "What went wrong:" in text and "carol · lab 01" in text and "alice · lab" not in text
    assert lines[-1] == "8 submissions from 7 learners: 2 passed, 1 failed, 1 time-limit, 1 crashed, 1 refused, 2 invalid"


def test_the_json_has_every_learner_lab_and_exercise(graded):
    data = graded.to_dict()
    assert sorted(data["learners"]) == sorted({learner for learner, _ in EXPECTED})
    assert data["summary"] == {"submissions": 8, "learners": 7, "passed": 2, "failed": 1, "time-limit": 1,
                               "crashed": 1, "refused": 1, "invalid": 2}
    assert data["learners"]["alice"]["all_passed"] and not data["learners"]["bob"]["all_passed"]
    for learner, entry in data["learners"].items():
        for lab in entry["labs"]:
            assert lab["status"] == EXPECTED[(learner, lab["lab"])] and lab["status"] in STATUSES
            assert len(lab["exercises"]) == lab["total"]
            assert all(set(e) >= {"title", "passed", "message"} for e in lab["exercises"])
    assert data["exit_status"] == 1


# --- finding the submissions ---------------------------------------------------------------------


def nb(path):
    return write(nbformat.v4.new_notebook(), path)


def test_both_layouts_and_a_learners_own_folder(tmp_path):
    root = tmp_path / "submissions"
    nb(root / "alice" / "01_the_pattern_lab.ipynb")
    nb(root / "alice" / "notes.ipynb")
    nb(root / "bob-02_delete_vs_update_lab.ipynb")
    nb(root / "bob_smith_01_the_pattern_lab.ipynb")
    nb(root / ".hidden-01_x_lab.ipynb")
    (root / "grades.json").write_text("{}")
    found, skipped = find_submissions([root])
    assert sorted((s.learner, s.lab, s.path.name) for s in found) == [
        ("alice", "01", "01_the_pattern_lab.ipynb"),
        ("bob", "02", "bob-02_delete_vs_update_lab.ipynb"),
        ("bob_smith", "01", "bob_smith_01_the_pattern_lab.ipynb"),
    ]
    assert len(skipped) == 1 and "alice/notes.ipynb: not a lab submission" in skipped[0]
    own, _ = find_submissions([root / "alice"])  # one learner's folder, given directly
    assert [(s.learner, s.lab) for s in own] == [("alice", "01")]
    named, _ = find_submissions([root / "alice" / "01_the_pattern_lab.ipynb", root / "bob-02_delete_vs_update_lab.ipynb"])
    assert [(s.learner, s.lab) for s in named] == [("alice", "01"), ("bob", "02")]


def test_a_lab_at_the_top_has_no_learner_and_is_skipped(tmp_path):
    root = tmp_path / "submissions"
    nb(root / "01_the_pattern_lab.ipynb")
    nb(root / "carol" / "01_the_pattern_lab.ipynb")
    found, skipped = find_submissions([root])
    assert [(s.learner, s.lab) for s in found] == [("carol", "01")]
    assert len(skipped) == 1 and "01_the_pattern_lab.ipynb: cannot tell whose lab this is" in skipped[0]
    found, _ = find_submissions([root / "01_the_pattern_lab.ipynb"])
    assert [(s.learner, s.lab) for s in found] == [("submissions", "01")]


def test_nothing_to_grade_is_an_error_that_names_the_layout(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no lab submissions found in .*<learner>/NN_topic_lab.ipynb"):
        grade_class([tmp_path / "empty"])
    with pytest.raises(ValueError, match="no such file or folder"):
        grade_class([tmp_path / "missing"])
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="is not a notebook"):
        find_submissions([tmp_path / "notes.txt"])


@pytest.mark.parametrize("jobs", [0, 9, 1.5])
def test_jobs_are_bounded(tmp_path, jobs):
    passing_learner(tmp_path)
    with pytest.raises((ValueError, TypeError), match="--jobs"):
        grade_class([tmp_path], jobs=jobs)


# --- statuses, read from a grading's record ------------------------------------------------------


def exercise(passed=False, message="What we tried: …"):
    return {"title": "Exercise 1 · x", "passed": passed, "message": message, "cell": 3}


@pytest.mark.parametrize(
    "grade, status",
    [
        ({"exercises": [exercise(True), exercise(True)]}, "passed"),
        ({"exercises": [exercise(True), exercise(False)]}, "failed"),
        ({"exercises": [exercise()], "stopped": "the kernel died (…)", "stop_kind": "crashed"}, "crashed"),
        ({"exercises": [exercise()], "stopped": "the notebook ran past its limit", "stop_kind": "time-limit"}, "time-limit"),
        ({"exercises": [exercise(message="the check did not finish within 3 s and was interrupted: …")]}, "time-limit"),
        ({"exercises": [exercise()], "refused": ["cell 4, line 1: redefines the check check_x"]}, "refused"),
        ({"exercises": [exercise(message="not graded: check_x is not the course's check")]}, "refused"),
        ({"exercises": []}, "invalid"),
    ],
)
def test_status_of_a_grading(grade, status):
    assert status_of(grade)[0] == status


def test_a_lab_the_course_does_not_have_is_not_run(tmp_path):
    path = nb(tmp_path / "alice" / "42_answers_lab.ipynb")
    result = grading_class.grade_submission(Submission("alice", "42", path), grading_class.Settings(), None, {"01", "02"})
    assert result.status == "invalid" and result.reason == "the course has no lab 42 (its labs are 01, 02)"
    assert grading_class.available_labs() >= {"01", "02", "15"}


def test_a_grader_that_outlives_its_bound_is_killed_and_reported(tmp_path, monkeypatch):
    passing_learner(tmp_path)
    # a bound of one second: the worker cannot even have started its kernel by then
    monkeypatch.setattr(grading_class, "WORKER_GRACE_S", 1 - 60)
    (submission,) = find_submissions([tmp_path])[0]
    result = grading_class.grade_submission(submission, grading_class.Settings(notebook_timeout=60), None, {"01"})
    assert result.status == "time-limit" and "did not finish within 1 s, so it was stopped" in result.reason


# --- namespaces on a real Redis ------------------------------------------------------------------


def test_a_namespace_template_gives_each_learner_one(tmp_path):
    assert learner_namespace("course-{learner}:", "alice") == "course-alice:"
    assert learner_namespace("course-{learner}", "Bob Smith") == "course-Bob-Smith:"
    passing_learner(tmp_path, "alice")
    passing_learner(tmp_path, "bob")
    with pytest.raises(ValueError, match="every learner's keys in one namespace"):
        grade_class([tmp_path], namespace="course:")
    with pytest.raises(ValueError, match="must be one segment"):
        grade_class([tmp_path], namespace="course:{learner}:")


def test_two_labs_in_one_namespace_never_run_at_once(tmp_path, monkeypatch):
    # alice has two labs, bob one: with a per-learner namespace alice's run one after the other,
    # while bob's runs beside them (no kernels here: the grading itself is replaced)
    passing_learner(tmp_path, "alice", labs=[p for p in sorted((ROOT / "solutions").glob("0[12]_*_solution.ipynb"))])
    passing_learner(tmp_path, "bob")
    active, most, overlap, lock = {}, {}, [], threading.Lock()

    def fake_grade(submission, settings, namespace, labs):
        with lock:
            active[namespace] = active.get(namespace, 0) + 1
            most[namespace] = max(most.get(namespace, 0), active[namespace])
            overlap.append(len([n for n, count in active.items() if count]))
        time.sleep(0.2)
        with lock:
            active[namespace] -= 1
        return SubmissionGrade(submission.learner, submission.lab, str(submission.path), "passed")

    monkeypatch.setattr(grading_class, "grade_submission", fake_grade)
    result = grade_class([tmp_path], jobs=3, namespace="class-{learner}:")
    assert sorted((g.learner, g.lab) for g in result.grades) == [("alice", "01"), ("alice", "02"), ("bob", "01")]
    assert most == {"class-alice:": 1, "class-bob:": 1}
    assert result.exit_status() == 0


def test_lab_names_used_by_the_class_fixture_exist():
    assert LAB_01_NAME.startswith("01_") and LAB_02_NAME.startswith("02_") and (ROOT / "labs" / LAB_02_NAME).exists()
