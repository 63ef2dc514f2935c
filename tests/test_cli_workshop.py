"""`cacheaside-lab workshop`: provision, list and revoke learners; and every verb run *as* a learner.

Provisioning needs ACL users, which only a real redis-server enforces (fakeredis does not
implement them), so these tests use a private redis-server of this module's own and are skipped,
with that reason, where redis-server is not installed. Bad input needs no server.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from cacheaside_lab.cli import COMMANDS, main
from cacheaside_lab.stores.backend import connect_cache
from cacheaside_lab.workshop.acl import read_credentials
from test_cli_foreign_keys_survive import ROOT, VERBS
from acl_server import ACL_ONLY_ON_REAL_REDIS, admin, server  # noqa: F401  (fixtures used by name)


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_workshop_is_a_subcommand():
    assert "workshop" in COMMANDS


def test_provision_writes_a_private_credentials_file_and_prints_no_password(capsys, server, admin, tmp_path):
    out_file = tmp_path / "creds.json"
    code, out, err = run(capsys, "workshop", "provision", "--redis-url", server.url, "--learners", "alice,bob", "--out", str(out_file))
    assert code == 0, err
    assert stat.S_IMODE(out_file.stat().st_mode) == 0o600
    document = json.loads(out_file.read_text())
    assert document["server"] == server.url
    assert [entry["learner"] for entry in document["learners"]] == ["alice", "bob"]
    alice = document["learners"][0]
    assert alice["user"] == "cacheaside-lab-alice" and alice["CACHEASIDE_NAMESPACE"] == "cacheaside-lab-alice:"
    password = read_credentials(out_file)[0].password
    assert password and password not in out and "***" in out and "cacheaside-lab-bob:" in out
    assert connect_cache(alice["CACHEASIDE_REDIS_URL"]).ping()

    # again, with one more learner: the file keeps the passwords it holds, and gains carol
    code, _, err = run(capsys, "workshop", "provision", "--redis-url", server.url, "--learners", "alice,carol", "--out", str(out_file))
    assert code == 0, err
    again = {a.learner: a for a in read_credentials(out_file)}
    assert sorted(again) == ["alice", "bob", "carol"] and again["alice"].password == password

    code, out, _ = run(capsys, "workshop", "provision", "--redis-url", server.url, "--learners", "alice", "--out", str(out_file), "--rotate", "--json")
    assert code == 0 and json.loads(out)["learners"][0]["CACHEASIDE_REDIS_URL"].count("***") == 1
    assert {a.learner: a for a in read_credentials(out_file)}["alice"].password != password


def test_without_a_file_passwords_show_only_when_asked(capsys, server, admin):
    code, out, _ = run(capsys, "workshop", "provision", "--redis-url", server.url, "--learners", "dora", "--json")
    row = json.loads(out)["learners"][0]
    assert code == 0 and ":***@" in row["CACHEASIDE_REDIS_URL"] and "passwords masked" not in out
    code, out, err = run(capsys, "workshop", "provision", "--redis-url", server.url, "--learners", "dora")
    assert code == 2 and "--rotate" in err and out == ""
    code, out, _ = run(capsys, "workshop", "provision", "--redis-url", server.url, "--learners", "dora", "--rotate", "--show-passwords")
    url = next(word for word in out.split() if word.startswith("unix://cacheaside-lab-dora:"))
    assert code == 0 and "***" not in url and connect_cache(url).ping()


def test_list_and_revoke(capsys, server, admin, tmp_path):
    names = tmp_path / "names.txt"
    names.write_text("# the morning group\nerin\n\nfrank  # late\n")
    assert run(capsys, "workshop", "provision", "--redis-url", server.url, "--learners-file", str(names))[0] == 0
    code, out, _ = run(capsys, "workshop", "list", "--redis-url", server.url, "--json")
    assert code == 0 and [row["learner"] for row in json.loads(out)["learners"]] == ["erin", "frank"]
    code, out, _ = run(capsys, "workshop", "revoke", "--redis-url", server.url, "--learners", "erin,gina")
    assert code == 0 and "revoked 1 user(s): cacheaside-lab-erin" in out and "no user for: gina" in out
    code, out, _ = run(capsys, "workshop", "list", "--redis-url", server.url)
    assert code == 0 and "1 learner(s)" in out and "frank" in out and "erin" not in out


def test_revoke_refuses_a_user_it_did_not_make(capsys, server, admin):
    admin.acl_setuser("cacheaside-lab-ivan", enabled=True, passwords=["+pw"], keys=["*"], commands=["+@all"])
    code, out, err = run(capsys, "workshop", "revoke", "--redis-url", server.url, "--learners", "ivan")
    assert code == 2 and "not made by cacheaside-lab workshop" in err and len(err.strip().splitlines()) == 1
    assert "cacheaside-lab-ivan" in admin.acl_users()


@pytest.mark.parametrize("argv, message", [
    (["--learners", "Alice"], "lowercase letters"),
    (["--learners", "al:ice"], "lowercase letters"),
    (["--learners", "bob,bob"], "repeated: bob"),
    (["--learners", " , "], "no learner names given"),
    (["--learners-file", "/nonexistent/names.txt"], "is not a file"),
])
def test_bad_input_is_one_clear_line_with_exit_2(capsys, argv, message):
    code, out, err = run(capsys, "workshop", "provision", "--redis-url", "redis://127.0.0.1:1/0", *argv)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1 and out == ""


def test_an_admin_password_is_never_printed(capsys):
    code, out, err = run(capsys, "workshop", "list", "--redis-url", "redis://admin:hunter2@127.0.0.1:1/0")
    assert code == 2 and "hunter2" not in err + out


def test_every_course_verb_runs_as_a_learner(capsys, server, admin):
    """doctor, clean, race, herd and check under a provisioned learner's URL and namespace: none is
    refused a command, doctor says in one line what it skipped, and nothing lands outside."""
    code, out, _ = run(capsys, "workshop", "provision", "--redis-url", server.url, "--learners", "hana", "--show-passwords", "--json")
    hana = json.loads(out)["learners"][0]
    admin.set("cacheaside-lab-ivy:product:42", "ivy's")
    env = {k: v for k, v in os.environ.items() if k not in ("CACHEASIDE_REDIS_URL", "CACHEASIDE_NAMESPACE")}
    env.update(CACHEASIDE_REDIS_URL=hana["CACHEASIDE_REDIS_URL"], CACHEASIDE_NAMESPACE=hana["CACHEASIDE_NAMESPACE"])
    for verb in VERBS:
        argv = [*verb, "--redis-url", hana["CACHEASIDE_REDIS_URL"]] if verb[0] == "check" else verb
        process = subprocess.run(
            [sys.executable, "-m", "cacheaside_lab.cli", *argv], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300,
        )
        assert process.returncode == 0, f"{verb} as a learner: exit {process.returncode}\n{process.stdout[-1500:]}\n{process.stderr[-1500:]}"
        assert "NOPERM" not in process.stdout + process.stderr and "refused" not in process.stderr
        if verb == ["doctor"]:
            assert "INFO (only used to show the server version): denied by ACL, skipped" in process.stdout
            assert "All good" in process.stdout
    assert admin.get("cacheaside-lab-ivy:product:42") == "ivy's"
    outside = [k for k in admin.scan_iter() if not k.startswith(("cacheaside-lab-hana:", "cacheaside-lab-ivy:"))]
    assert not outside, f"a verb run as learner hana wrote outside her namespace: {outside[:10]}"


def test_clean_as_a_learner_outside_its_namespace_is_refused_plainly(capsys, server, admin, monkeypatch):
    code, out, _ = run(capsys, "workshop", "provision", "--redis-url", server.url, "--learners", "jo", "--show-passwords", "--json")
    jo = json.loads(out)["learners"][0]
    admin.set("cacheaside-lab-kim:product:1", "kim's")
    monkeypatch.setenv("CACHEASIDE_NAMESPACE", "cacheaside-lab-kim:")  # jo points at kim's namespace
    code, out, err = run(capsys, "clean", "--redis-url", jo["CACHEASIDE_REDIS_URL"])
    assert code == 2 and "refused user 'cacheaside-lab-jo' DEL on 'cacheaside-lab-kim:product:1'" in err
    assert "namespace 'cacheaside-lab-jo:'" in err and "CACHEASIDE_NAMESPACE=cacheaside-lab-jo:" in err
    assert len(err.strip().splitlines()) == 1 and jo["CACHEASIDE_REDIS_URL"].split("@")[0].split(":")[-1] not in err
    assert admin.get("cacheaside-lab-kim:product:1") == "kim's"


def test_doctor_tells_a_learner_with_the_wrong_namespace_which_one_to_set(capsys, server, admin, monkeypatch):
    code, out, _ = run(capsys, "workshop", "provision", "--redis-url", server.url, "--learners", "lee", "--show-passwords", "--json")
    lee = json.loads(out)["learners"][0]
    monkeypatch.delenv("CACHEASIDE_NAMESPACE", raising=False)  # forgot it: the default cacheaside-lab:
    code, out, _ = run(capsys, "doctor", "--redis-url", lee["CACHEASIDE_REDIS_URL"], "--json")
    info = json.loads(out)
    assert code == 1 and info["status"] == "denied by ACL" and info["redis_answers"]
    assert any("CACHEASIDE_NAMESPACE=cacheaside-lab-lee:" in step for step in info["denied"]), info["denied"]
    assert lee["CACHEASIDE_REDIS_URL"].split("@")[0].rsplit(":", 1)[1] not in out  # never the password
    monkeypatch.setenv("CACHEASIDE_NAMESPACE", lee["CACHEASIDE_NAMESPACE"])
    code, out, _ = run(capsys, "doctor", "--redis-url", lee["CACHEASIDE_REDIS_URL"], "--json")
    info = json.loads(out)
    assert info["status"] == "ok" and info["lua"] and any(item.startswith("INFO") for item in info["skipped"])
