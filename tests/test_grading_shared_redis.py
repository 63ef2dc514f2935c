"""Grading on one shared real Redis (issue 12, defect 3): namespaces, concurrency, ACL users.

Each grading here is a real ``cacheaside-lab check`` process with its own kernel, three at once,
against the session's private redis-server (skipped without the binary, like every real-Redis
test). Before the fix every kernel lost the learner's namespace, so concurrent gradings cleared
each other's keys and an ACL user limited to its namespace scored 0.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import pytest

from cacheaside_lab.course.execute import kernel_env
from cacheaside_lab.course.grading import PRIVATE_NAMESPACE_STEM, grading_namespace
from cacheaside_lab.course.grading_lock import lock_key, namespace_lock
from cacheaside_lab.core.keys import NAMESPACE_ENV, clear_course_keys
from notebook_files import SOLUTIONS, code_cells, read, tags

SOLUTION = SOLUTIONS[0]
GRADE_TIMEOUT_S = 240  # generous: only a bound so a broken grader fails instead of hanging the suite


def checks_in(path) -> int:
    return sum("check" in tags(cell) for cell in code_cells(read(path)))


def start_check(*argv, env_namespace: str | None = None):
    env = kernel_env()  # this process's environment without any Redis URL or namespace
    if env_namespace:
        env[NAMESPACE_ENV] = env_namespace
    return subprocess.Popen(
        [sys.executable, "-m", "cacheaside_lab.cli", "check", str(SOLUTION), "--json", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def finish(process) -> tuple[int, dict | None, str]:
    out, err = process.communicate(timeout=GRADE_TIMEOUT_S)
    return process.returncode, (json.loads(out) if out.strip() else None), err


def names(count: int) -> list[str]:
    tag = uuid.uuid4().hex[:6]
    return [f"cacheaside-lab-{who}{tag}:" for who in ("alice", "bob", "carol")[:count]]


def test_kernel_env_passes_exactly_the_given_url_and_namespace(monkeypatch):
    monkeypatch.setenv(NAMESPACE_ENV, "someone-else:")
    monkeypatch.setenv("CACHEASIDE_REDIS_URL", "redis://elsewhere:6379/0")
    assert NAMESPACE_ENV not in kernel_env() and "CACHEASIDE_REDIS_URL" not in kernel_env()
    env = kernel_env("unix://alice:pw@/tmp/r.sock", "cacheaside-lab-alice:")
    assert env[NAMESPACE_ENV] == "cacheaside-lab-alice:"
    assert env["CACHEASIDE_REDIS_URL"] == "unix://alice:pw@/tmp/r.sock"  # credentials included


def test_grading_namespace_choice():
    assert grading_namespace(None, None, environ={}) == (None, False)
    assert grading_namespace("redis://x", "alice", environ={NAMESPACE_ENV: "bob:"}) == ("alice:", False)
    assert grading_namespace("redis://x", None, environ={NAMESPACE_ENV: "bob"}) == ("bob:", False)
    private, is_private = grading_namespace("redis://x", None, environ={})
    assert is_private and private.startswith(PRIVATE_NAMESPACE_STEM) and private.endswith(":")
    assert private != grading_namespace("redis://x", None, environ={})[0]
    with pytest.raises(ValueError, match="--namespace must be one segment"):
        grading_namespace("redis://x", "cacheaside-lab:alice", environ={})


def test_the_namespace_reaches_the_kernel(redis_server):
    (namespace,) = names(1)
    client = redis_server.client()
    try:
        code, result, err = finish(start_check("--redis-url", redis_server.url, env_namespace=namespace))
        assert code == 0 and result["failed"] == 0, err
        written = list(client.scan_iter(match=namespace + "*"))
        assert written, "the checks wrote nothing under the learner's namespace"
        assert not client.exists(lock_key(namespace)), "the grading lock was released"
    finally:
        clear_course_keys(client, namespace=namespace)


def test_three_learners_grading_at_once_all_pass(redis_server):
    client = redis_server.client()
    namespaces = names(3)
    try:
        processes = [start_check("--redis-url", redis_server.url, "--namespace", ns) for ns in namespaces]
        results = [finish(process) for process in processes]
        for (code, result, err), namespace in zip(results, namespaces):
            assert code == 0 and result["passed"] == checks_in(SOLUTION), (namespace, err, result)
    finally:
        for namespace in namespaces:
            clear_course_keys(client, namespace=namespace)


def test_three_learners_under_their_own_acl_users_all_pass(redis_server):
    admin = redis_server.client()
    namespaces = names(3)
    users = [f"learner-{ns[:-1]}" for ns in namespaces]
    try:
        for user, namespace in zip(users, namespaces):
            # what the instructor guide tells instructors to create for each learner
            admin.acl_setuser(
                user, enabled=True, passwords=["+pw-" + user], keys=[f"~{namespace}*"],
                commands=["+@all", "-@dangerous", "+info"],
            )
        urls = [f"unix://{user}:pw-{user}@{redis_server.socket_path}" for user in users]
        processes = [start_check("--redis-url", url, "--namespace", ns) for url, ns in zip(urls, namespaces)]
        for (code, result, err), namespace in zip([finish(p) for p in processes], namespaces):
            assert code == 0 and result["passed"] == checks_in(SOLUTION), (namespace, err, result)
        # alice's user grading in bob's namespace is refused before any kernel starts
        process = start_check("--redis-url", urls[0], "--namespace", namespaces[1])
        code, result, err = finish(process)
        assert code == 2 and result is None
        assert "may not write keys in namespace" in err and namespaces[1] in err and "pw-" not in err
    finally:
        for user in users:
            admin.acl_deluser(user)
        for namespace in namespaces:
            clear_course_keys(admin, namespace=namespace)


def test_no_namespace_on_a_real_server_uses_a_private_one_and_removes_it(redis_server):
    client = redis_server.client()
    before = set(client.scan_iter())
    code, result, err = finish(start_check("--redis-url", redis_server.url))
    assert code == 0 and result["failed"] == 0, err
    assert set(client.scan_iter()) == before  # nothing left behind, nothing of anyone else touched


def test_two_gradings_in_one_namespace_take_turns(redis_server):
    (namespace,) = names(1)
    client = redis_server.client()
    try:
        processes = [start_check("--redis-url", redis_server.url, "--namespace", namespace) for _ in range(2)]
        results = [finish(process) for process in processes]
        assert all(code == 0 and result["failed"] == 0 for code, result, _ in results), results
    finally:
        clear_course_keys(client, namespace=namespace)


def test_the_lock_waits_a_bounded_time_then_says_why(redis_server):
    (namespace,) = names(1)
    client = redis_server.client()
    waited = []
    try:
        with namespace_lock(client, namespace, hold_s=30, wait_s=0):
            with pytest.raises(ValueError, match="another grading has been using namespace"):
                with namespace_lock(client, namespace, hold_s=30, wait_s=0.5, on_wait=lambda: waited.append(1)):
                    pass
        assert waited == [1]
        with namespace_lock(client, namespace, hold_s=30, wait_s=0):  # released: free again
            pass
    finally:
        clear_course_keys(client, namespace=namespace)
