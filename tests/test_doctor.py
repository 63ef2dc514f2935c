"""The doctor tells the truth on a shared, ACL'd Redis, and never prints a password."""

from __future__ import annotations

import json
import uuid

import pytest

from cacheaside_lab.cli import main
from cacheaside_lab.core.keys import NAMESPACE_ENV
from cacheaside_lab.stores.redact import redact_secrets, redact_url

PASSWORD = "s3cret-Pa55"  # distinctive, so a leak anywhere in the output is found by a plain `in`


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def acl_user(redis_server, monkeypatch):
    """Make throwaway ACL users on the session server; ``{ns}`` in a rule is the test's namespace."""
    admin = redis_server.client()
    names = []
    namespace = f"cacheaside-lab-test-{uuid.uuid4().hex[:8]}:"
    monkeypatch.setenv(NAMESPACE_ENV, namespace)

    def make(*rules, password=PASSWORD):
        name = f"learner-{uuid.uuid4().hex[:8]}"
        rules = [rule.replace("{ns}", namespace) for rule in rules]
        admin.execute_command("ACL", "SETUSER", name, "reset", "on", f">{password}", *rules)
        names.append(name)
        return f"unix://{name}:{password}@{redis_server.socket_path}", namespace

    yield make
    for name in names:
        admin.execute_command("ACL", "DELUSER", name)
    admin.close()


def test_doctor_works_without_info_keys_config_or_flush_and_says_what_it_skipped(capsys, acl_user):
    url, namespace = acl_user(
        "~{ns}*", "+@all", "-info", "-keys", "-config", "-flushall", "-flushdb"
    )
    code, out, _ = run(capsys, "doctor", "--redis-url", url, "--json")
    info = json.loads(out)
    assert info["status"] == "ok" and info["redis_answers"] and info["json_round_trip"] and info["lua"]
    assert info["server_version"] == "redis (version unknown: INFO denied by ACL)"
    assert any(item.startswith("INFO") and "denied by ACL, skipped" in item for item in info["skipped"])
    assert not any("does not answer" in problem for problem in info["problems"])
    code, out, _ = run(capsys, "doctor", "--redis-url", url)
    assert "Skipped:\n  - INFO" in out and "cache status      ok" in out and "Redis answers     yes" in out


def test_doctor_says_denied_by_acl_not_down_when_the_namespace_is_not_allowed(capsys, acl_user):
    url, namespace = acl_user("~someone-else:*", "+@all")  # the learner's own namespace is not allowed
    code, out, _ = run(capsys, "doctor", "--redis-url", url, "--json")
    info = json.loads(out)
    assert code == 1 and info["redis_answers"] and info["status"] == "denied by ACL"
    assert any(step.startswith("SET/GET/DEL") and "permission" in step.lower() for step in info["denied"]), info["denied"]
    (problem,) = [p for p in info["problems"] if "cache" in p]
    assert "denies this user" in problem and namespace in problem and "does not answer" not in problem


def test_doctor_names_a_denied_eval(capsys, acl_user):
    url, namespace = acl_user("~{ns}*", "+@all", "-eval")
    info = json.loads(run(capsys, "doctor", "--redis-url", url, "--json")[1])
    assert info["status"] == "denied by ACL" and info["json_round_trip"] and not info["lua"]
    assert [step.split(":")[0] for step in info["denied"]] == ["EVAL (Lua scripts)"]


def test_doctor_says_the_credentials_are_rejected(capsys, acl_user, redis_server):
    acl_user("~{ns}*", "+@all")
    url = f"unix://nobody-{uuid.uuid4().hex[:6]}:{PASSWORD}@{redis_server.socket_path}"
    code, out, _ = run(capsys, "doctor", "--redis-url", url, "--json")
    info = json.loads(out)
    assert code == 1 and info["status"] == "credentials rejected"
    assert any("rejects the username/password" in problem for problem in info["problems"])
    assert PASSWORD not in out


@pytest.mark.parametrize("as_json", [False, True])
def test_doctor_never_prints_the_password_of_a_working_url(capsys, acl_user, as_json):
    url, _ = acl_user("~{ns}*", "+@all")
    code, out, err = run(capsys, "doctor", "--redis-url", url, *(["--json"] if as_json else []))
    assert code in (0, 1)  # 1 only for a machine problem such as a missing widgets extension
    assert PASSWORD not in out + err
    assert redact_url(url) in out and ":***@" in out


@pytest.mark.parametrize(
    "url",
    [
        f"redis://alice:{PASSWORD}@127.0.0.1:1/0",  # nothing listens there
        f"redis://127.0.0.1:1/0?password={PASSWORD}",
        f"alice:{PASSWORD}@localhost:6379",  # malformed: the error message quotes it
        f"localhost:6379?password={PASSWORD}",
    ],
)
@pytest.mark.parametrize("as_json", [False, True])
def test_doctor_redacts_the_url_in_text_and_json_even_when_it_fails(capsys, url, as_json):
    code, out, err = run(capsys, "doctor", "--redis-url", url, *(["--json"] if as_json else []))
    assert code == 1 and PASSWORD not in out + err and "***" in out


@pytest.mark.parametrize("verb", ["clean", "race", "herd", "doctor"])
def test_no_verb_prints_the_password_of_a_malformed_url(capsys, verb):
    url = f"alice:{PASSWORD}@localhost:6379"
    extra = {
        "herd": ["--clients", "2", "--fill-ms", "1", "--protection", "none"],
        "race": ["--strategy", "delete"],
    }
    code, out, err = run(capsys, verb, "--redis-url", url, *extra.get(verb, []))
    assert code != 0 and PASSWORD not in out + err


@pytest.mark.parametrize(
    "text, expected",
    [
        ("redis://alice:pw@h:1/0", "redis://alice:***@h:1/0"),
        ("rediss://:pw@h/0", "rediss://:***@h/0"),
        ("unix://u:pw@/tmp/r.sock?db=0", "unix://u:***@/tmp/r.sock?db=0"),
        ("x redis://h/0?db=1&password=pw y", "x redis://h/0?db=1&password=*** y"),
        ("got 'u:pw@localhost:6379'", "got 'u:***@localhost:6379'"),
        ("redis://h:6379/0 and unix:///tmp/r.sock", "redis://h:6379/0 and unix:///tmp/r.sock"),
    ],
)
def test_redact_secrets(text, expected):
    assert redact_secrets(text) == expected


def test_doctor_hints_at_a_tls_mismatch_once(capsys, redis_server):
    from cacheaside_lab.stores.redis_server import RedisServer

    with RedisServer(tcp=True) as plain:
        url = plain.url.replace("redis://", "rediss://")
        info = json.loads(run(capsys, "doctor", "--redis-url", url, "--json")[1])
    assert info["status"] == "does not answer"
    (problem,) = [p for p in info["problems"] if "cache" in p]
    # one hint, from the connection's error or from the doctor, never both
    assert ("instead of rediss://" in problem) != ("if the server does not use TLS, use redis://" in problem), problem
