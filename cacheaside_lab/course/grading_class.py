"""Grade a class: every submitted lab in a folder, each in a grader process and kernel of its own.

``cacheaside-lab check submissions/`` (issue 18). One learner's notebook must never cost another
learner anything, so each lab is graded by a separate worker process (``python -m
cacheaside_lab.course.grading_class --worker``) that runs :func:`grading.grade` on it: a fresh
kernel, the per-cell ``--timeout`` and the per-notebook ``--notebook-timeout``. The class process
only starts workers (at most ``--jobs`` at once), waits for each within a hard bound, and reads
the result file the worker writes. A worker that outlives its bound is killed (its kernel, which
polls its parent, exits with it) and that one lab is reported as ``time-limit``; a worker that
dies without a result is reported as ``crashed``. Whatever happens, every submission gets a row.

Where the submissions are (one level of folders; hidden files and ``.ipynb_checkpoints`` skipped):

* ``submissions/<learner>/NN_topic_lab.ipynb``: the folder names the learner;
* ``submissions/<learner>-NN_topic_lab.ipynb`` (or ``<learner>_NN_…``): the file name does;
* a learner's own folder given directly (``check submissions/alice``): ``NN_…`` notebooks and no
  learner folders in it (beside learner folders, an ``NN_…`` notebook is nobody's and is skipped);
* notebook files given by name: the file name's ``<learner>-`` prefix, else the folder they are in.

``NN`` is the lab's number; a number the course has no lab for is reported as ``invalid`` for
that learner without running anything. A notebook whose name has no ``NN_`` is listed as skipped.

The status of one submission, from best to worst: ``passed`` (every exercise), ``failed``,
``time-limit`` (a cell was interrupted at ``--timeout``, ignored the interrupt, or the notebook
ran past ``--notebook-timeout``), ``crashed`` (the kernel died: ``os._exit``, a segfault, out of
memory), ``refused`` (the lab redefines or patches the checks) and ``invalid`` (not gradable at
all: not a notebook, no check cells, no such lab).

Keys: on the default fakeredis every kernel has an in-process server of its own. On a real Redis
(``--redis-url``) each grading gets a private namespace, removed afterwards, unless
``--namespace`` is a template with ``{learner}`` in it (``'course-{learner}:'``, for Redis users
whose ACL allows only their own namespace); then one learner's labs run one after another, since
two gradings in one namespace would clear each other's keys.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..core.keys import NAMESPACE_ENV, normalize_namespace
from ..core.validation import require_count, require_positive
from ..stores.backend import REDIS_URL_ENV
from . import checks
from .execute import KILL_WAIT_S, STOP_CRASHED, STOP_TIME_LIMIT
from .grading import DEFAULT_NOTEBOOK_TIMEOUT_S, DEFAULT_TIMEOUT_S, INTERRUPTED
from .labgen import LABS_DIR, SOLUTIONS_DIR

DEFAULT_JOBS = 2
MAX_JOBS = 8
# the order statuses are listed in, best first
STATUSES = ("passed", "failed", "time-limit", "crashed", "refused", "invalid")
LEARNER_PLACEHOLDER = "{learner}"
# beyond the notebook's own limit, how long a worker may take (start-up, killing a kernel) before it is killed
WORKER_GRACE_S = 2 * KILL_WAIT_S + 30
_LAB_FILE = re.compile(r"^(?P<lab>\d{2})_.*\.ipynb$")
_LEARNER_FILE = re.compile(r"^(?P<learner>.+?)[-_](?P<lab>\d{2})_.*\.ipynb$")
_SKIP_DIRS = {".ipynb_checkpoints", "__pycache__"}
_STDERR_TAIL_CHARS = 600


@dataclass(frozen=True)
class Submission:
    """One learner's notebook for one lab."""

    learner: str
    lab: str  # the lab's two-digit number, "01"
    path: Path


@dataclass
class SubmissionGrade:
    """How one submission fared, whatever happened to its grader."""

    learner: str
    lab: str
    notebook: str
    status: str  # one of STATUSES
    passed: int = 0
    total: int = 0
    reason: str | None = None  # why the status is not simply passed/failed, in words
    grade: dict | None = None  # grading.LabGrade.to_dict() of the run, when there was one
    seconds: float = 0.0

    def to_dict(self) -> dict:
        grade = self.grade or {}
        return {
            "learner": self.learner,
            "lab": self.lab,
            "notebook": self.notebook,
            "status": self.status,
            "passed": self.passed,
            "total": self.total,
            "reason": self.reason,
            "exercises": grade.get("exercises", []),
            "other_errors": grade.get("other_errors", []),
            "refused": grade.get("refused", []),
            "notes": grade.get("notes", []),
            "seconds": round(self.seconds, 1),
        }


@dataclass
class ClassGrade:
    """Every submission of a class, and the files that could not be attributed to a learner."""

    sources: list[str]
    grades: list[SubmissionGrade]
    skipped: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {status: sum(g.status == status for g in self.grades) for status in STATUSES}

    @property
    def all_passed(self) -> bool:
        return bool(self.grades) and all(g.status == "passed" for g in self.grades)

    def exit_status(self) -> int:
        return 0 if self.all_passed else 1

    def learners(self) -> list[str]:
        return sorted({g.learner for g in self.grades}, key=str.lower)

    def labs(self) -> list[str]:
        return sorted({g.lab for g in self.grades})

    def summary(self) -> str:
        counts = self.counts()
        parts = ", ".join(f"{counts[s]} {s}" for s in STATUSES)
        return f"{len(self.grades)} submissions from {len(self.learners())} learners: {parts}"

    def to_dict(self) -> dict:
        learners = {}
        for name in self.learners():
            own = [g for g in self.grades if g.learner == name]
            learners[name] = {
                "labs": [g.to_dict() for g in sorted(own, key=lambda g: (g.lab, g.notebook))],
                "all_passed": all(g.status == "passed" for g in own),
            }
        return {
            "sources": self.sources,
            "learners": learners,
            "summary": {"submissions": len(self.grades), "learners": len(learners), **self.counts()},
            "skipped": self.skipped,
            "exit_status": self.exit_status(),
        }

    def to_text(self) -> str:
        labs, learners = self.labs(), self.learners()
        cells = {}
        for g in self.grades:
            shown = g.status if g.status == "invalid" else f"{g.status} {g.passed}/{g.total}"
            key = (g.learner, g.lab)
            cells[key] = f"{cells[key]}; {shown}" if key in cells else shown
        header = ["learner"] + [f"lab {lab}" for lab in labs]
        rows = [[name] + [cells.get((name, lab), "-") for lab in labs] for name in learners]
        widths = [max(len(row[i]) for row in [header] + rows) for i in range(len(header))]
        lines = [f"Class grades ({', '.join(self.sources)}):", ""]
        for row in [header] + rows:
            lines.append("  ".join(text.ljust(width) for text, width in zip(row, widths)).rstrip())
        trouble = [g for g in self.grades if g.status != "passed"]
        if trouble:
            lines += ["", "What went wrong:"]
        for g in sorted(trouble, key=lambda g: (g.learner.lower(), g.lab)):
            lines.append(f"{g.learner} · lab {g.lab} ({g.notebook}): {g.status}, {g.passed} of {g.total} exercises passed")
            if g.reason:
                lines.append(f"    {g.reason}")
            for exercise in (g.grade or {}).get("exercises", []):
                if not exercise["passed"]:
                    first = (exercise["message"].strip().splitlines() or [""])[0]
                    lines.append(f"    ✘ {exercise['title']}: {first}".rstrip(": "))
        if self.skipped:
            lines += ["", "Skipped (not graded):"] + [f"    {note}" for note in self.skipped]
        lines += ["", self.summary()]
        return "\n".join(lines)


def available_labs() -> set[str]:
    """The lab numbers the course has checks for ("01" … "15")."""
    import pkgutil

    return {m.name[3:] for m in pkgutil.iter_modules(checks.__path__) if re.fullmatch(r"lab\d{2}", m.name)}


def _visible(path: Path) -> bool:
    return not path.name.startswith(".") and path.name not in _SKIP_DIRS


def _from_file(path: Path, folder_learner: str | None) -> Submission | str:
    """The submission ``path`` is, or a note saying why it is skipped."""
    named = _LEARNER_FILE.match(path.name)
    plain = _LAB_FILE.match(path.name)
    if folder_learner is not None and (plain or named):
        return Submission(folder_learner, (plain or named)["lab"], path)
    if named:
        return Submission(named["learner"], named["lab"], path)
    if plain:
        return f"{path}: cannot tell whose lab this is; put it in a folder named after the learner"
    return f"{path}: not a lab submission (the name should be <learner>-NN_topic_lab.ipynb or <learner>/NN_topic_lab.ipynb)"


def find_submissions(paths) -> tuple[list[Submission], list[str]]:
    """Every lab submission under ``paths`` (folders or notebooks), and notes on skipped files."""
    submissions, skipped = [], []

    def add(found):
        (submissions if isinstance(found, Submission) else skipped).append(found)

    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise ValueError(f"{path}: no such file or folder")
        if path.is_file():
            if path.suffix != ".ipynb":
                raise ValueError(f"{path} is not a notebook (.ipynb) nor a folder of submissions")
            folder = path.parent.name if _LAB_FILE.match(path.name) and not _LEARNER_FILE.match(path.name) else None
            add(_from_file(path, folder or None))
            continue
        children = sorted(filter(_visible, path.iterdir()))
        # NN_x.ipynb directly in the folder given, and no learner folders beside them: the learner's own folder
        learner_dirs = [c for c in children if c.is_dir() and any(filter(_visible, c.glob("*.ipynb")))]
        own = not learner_dirs and any(c.is_file() and _LAB_FILE.match(c.name) for c in children)
        for child in children:
            if child.is_file() and child.suffix == ".ipynb":
                add(_from_file(child, path.resolve().name if own else None))
            elif child.is_dir():
                for notebook in sorted(filter(_visible, child.glob("*.ipynb"))):
                    add(_from_file(notebook, child.name))
    return submissions, skipped


def learner_namespace(template: str, learner: str) -> str:
    """``'course-{learner}:'`` for ``alice`` -> ``'course-alice:'`` (a name Redis keys allow)."""
    slug = re.sub(r"[^A-Za-z0-9_.\-]+", "-", learner).strip("-") or "learner"
    return normalize_namespace(template.replace(LEARNER_PLACEHOLDER, slug), name="--namespace")


def default_course_dir() -> Path | None:
    """The current folder when it is the course (holds labs/ and solutions/), so edited checks are caught."""
    here = Path.cwd()
    return here if (here / LABS_DIR).is_dir() and (here / SOLUTIONS_DIR).is_dir() else None


def status_of(grade: dict) -> tuple[str, str | None]:
    """(status, reason) of one finished grading, from its LabGrade dict."""
    exercises = grade.get("exercises", [])
    if grade.get("refused") or any(e["message"].startswith("not graded:") for e in exercises):
        findings = grade.get("refused") or [next(e["message"] for e in exercises if e["message"].startswith("not graded:"))]
        return "refused", f"not graded: the lab redefines or patches the course's checks ({findings[0]})"
    kind = grade.get("stop_kind")
    if kind == STOP_CRASHED:
        return "crashed", grade.get("stopped")
    if kind == STOP_TIME_LIMIT:
        return "time-limit", grade.get("stopped")
    if grade.get("stopped"):
        return "crashed", grade.get("stopped")
    interrupted = [e for e in exercises if INTERRUPTED in e["message"]]
    if interrupted:
        return "time-limit", f"{interrupted[0]['title']}: {interrupted[0]['message'].splitlines()[0]}"
    if not exercises:
        return "invalid", "the notebook has no exercises to grade"
    return ("passed", None) if all(e["passed"] for e in exercises) else ("failed", None)


@dataclass(frozen=True)
class Settings:
    timeout: int = DEFAULT_TIMEOUT_S
    notebook_timeout: float = DEFAULT_NOTEBOOK_TIMEOUT_S
    redis_url: str | None = None
    course_dir: str | None = None
    lock_wait: float | None = None


def grade_submission(submission: Submission, settings: Settings, namespace: str | None, labs: set[str]) -> SubmissionGrade:
    """Grade one submission in a worker process of its own; never raises, always returns a grade."""
    base = dict(learner=submission.learner, lab=submission.lab, notebook=str(submission.path))
    if submission.lab not in labs:
        known = ", ".join(sorted(labs))
        return SubmissionGrade(**base, status="invalid", reason=f"the course has no lab {submission.lab} (its labs are {known})")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="cacheaside-grade-") as scratch:
        job = {
            "path": str(submission.path), "timeout": settings.timeout, "notebook_timeout": settings.notebook_timeout,
            "redis_url": settings.redis_url, "namespace": namespace, "course_dir": settings.course_dir,
            "lock_wait": settings.lock_wait, "result": os.path.join(scratch, "result.json"),
        }
        job_file = os.path.join(scratch, "job.json")
        with open(job_file, "w") as f:  # the Redis URL's password goes in a private file, never on a command line
            json.dump(job, f)
        os.chmod(job_file, 0o600)
        stderr_path = os.path.join(scratch, "stderr.txt")
        env = {k: v for k, v in os.environ.items() if k not in (REDIS_URL_ENV, NAMESPACE_ENV)}
        bound = settings.notebook_timeout + WORKER_GRACE_S
        with open(stderr_path, "w") as stderr:
            worker = subprocess.Popen(
                [sys.executable, "-m", __name__, "--worker", job_file],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr, env=env, start_new_session=True,
            )
            try:
                code = worker.wait(timeout=bound)
            except subprocess.TimeoutExpired:
                _kill_group(worker)
                return SubmissionGrade(
                    **base, status="time-limit", seconds=time.monotonic() - started,
                    reason=f"its grader did not finish within {bound:g} s, so it was stopped",
                )
        seconds = time.monotonic() - started
        try:
            with open(job["result"]) as f:
                result = json.load(f)
        except (OSError, ValueError):
            with open(stderr_path, errors="replace") as f:
                tail = f.read()[-_STDERR_TAIL_CHARS:].strip()
            last = tail.splitlines()[-1] if tail else "no message"
            return SubmissionGrade(**base, status="crashed", seconds=seconds,
                                   reason=f"its grader ended (exit status {code}) without a grade: {last}")
    if "error" in result:
        return SubmissionGrade(**base, status="invalid", reason=result["error"], seconds=seconds)
    grade = result["grade"]
    status, reason = status_of(grade)
    return SubmissionGrade(**base, status=status, passed=grade["passed"], total=len(grade["exercises"]),
                           reason=reason, grade=grade, seconds=seconds)


def _kill_group(worker: subprocess.Popen) -> None:
    try:
        os.killpg(worker.pid, signal.SIGKILL)  # the worker has a session of its own: never ours
    except ProcessLookupError:
        pass
    worker.wait()


def grade_class(
    paths,
    *,
    timeout: int = DEFAULT_TIMEOUT_S,
    notebook_timeout: float = DEFAULT_NOTEBOOK_TIMEOUT_S,
    jobs: int = DEFAULT_JOBS,
    redis_url: str | None = None,
    namespace: str | None = None,
    course_dir: Path | None = None,
    lock_wait: float | None = None,
) -> ClassGrade:
    """Grade every submission under ``paths``, ``jobs`` at a time; see the module docstring.

    Raises ValueError only when nothing can be graded (no submissions, bad settings).
    """
    require_positive("--timeout", timeout)
    require_positive("--notebook-timeout", notebook_timeout, unit="s")
    jobs = require_count("--jobs", jobs, minimum=1, maximum=MAX_JOBS)
    submissions, skipped = find_submissions(paths)
    if not submissions:
        where = ", ".join(str(p) for p in paths)
        detail = f" ({len(skipped)} notebooks skipped: {skipped[0]})" if skipped else ""
        raise ValueError(
            f"no lab submissions found in {where}{detail}; lay them out as <learner>/NN_topic_lab.ipynb "
            "or <learner>-NN_topic_lab.ipynb"
        )
    learners = {s.learner for s in submissions}
    if namespace is not None and LEARNER_PLACEHOLDER not in namespace and len(learners) > 1:
        raise ValueError(
            f"--namespace {namespace!r} would put every learner's keys in one namespace; for a class give a "
            f"template with {LEARNER_PLACEHOLDER} in it, e.g. 'course-{LEARNER_PLACEHOLDER}:'"
        )
    spaces = {s: (learner_namespace(namespace, s.learner) if namespace is not None else None) for s in submissions}
    if namespace is not None and len(set(spaces.values())) < len(learners):
        raise ValueError(f"two learners' names give the same namespace from {namespace!r}; rename one folder")
    if redis_url:
        _require_answering(redis_url)
    if course_dir is None:
        course_dir = default_course_dir()
    settings = Settings(timeout, notebook_timeout, redis_url, str(course_dir) if course_dir else None, lock_wait)
    labs = available_labs()
    # one queue per namespace: two gradings in one namespace would clear each other's keys
    queues: dict = {}
    for submission in submissions:
        queues.setdefault(spaces[submission] or id(submission), []).append(submission)

    def run_queue(queue):
        return [grade_submission(s, settings, spaces[s], labs) for s in queue]

    with ThreadPoolExecutor(max_workers=min(jobs, len(queues)), thread_name_prefix="grade") as pool:
        grades = [g for done in pool.map(run_queue, queues.values()) for g in done]
    return ClassGrade([str(p) for p in paths], grades, skipped)


def _require_answering(redis_url: str) -> None:
    """Fail the whole run (not every learner's lab) when the Redis given does not answer."""
    import redis

    from ..stores.backend import connect_cache

    try:
        client = connect_cache(redis_url)
        client.ping()
        client.close()
    except redis.RedisError as error:
        raise ValueError(f"the Redis given with --redis-url did not answer ({type(error).__name__}); nothing was graded") from None


def _worker(job_file: str) -> int:
    """Grade one lab as the job file says and write {"grade": …} or {"error": …} to its result file."""
    import redis

    from ..stores.redact import redact_secrets
    from .grading import grade

    with open(job_file) as f:
        job = json.load(f)
    try:
        result = {"grade": grade(
            Path(job["path"]), timeout=job["timeout"], redis_url=job["redis_url"], namespace=job["namespace"],
            notebook_timeout=job["notebook_timeout"], lock_wait=job["lock_wait"], course_dir=job["course_dir"],
        ).to_dict()}
    except (ValueError, TypeError, LookupError, redis.RedisError) as error:
        result = {"error": redact_secrets(f"{error}" if not isinstance(error, redis.RedisError) else f"Redis: {error}")}
    with open(job["result"], "w") as f:
        json.dump(result, f)
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        sys.exit(_worker(sys.argv[2]))
    sys.exit("usage: python -m cacheaside_lab.course.grading_class --worker JOB_FILE (cacheaside-lab check FOLDER starts it)")
