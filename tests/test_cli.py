"""The command line: clear output, --json for machines, clear errors and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from cacheaside_lab.cli import main
from cacheaside_lab.core.keys import make_key


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_doctor_json_on_the_default_backend(capsys, backend):
    code, out, _ = run(capsys, "doctor", "--json")
    info = json.loads(out)
    assert info["redis_answers"] and info["lua"]
    assert info["namespace"] == backend.namespace
    assert info["packages"]["fakeredis"]
    assert code == (0 if info["ok"] else 1)


def test_doctor_reports_a_dead_redis(capsys, tmp_path):
    code, out, _ = run(capsys, "doctor", "--redis-url", f"unix://{tmp_path}/nothing.sock")
    assert code == 1
    assert "Redis answers     NO" in out and "the cache does not answer" in out


def test_doctor_rejects_a_malformed_url(capsys):
    code, out, _ = run(capsys, "doctor", "--redis-url", "localhost:6379", "--json")
    assert code == 1
    assert "must start with redis://" in json.loads(out)["error"]


def test_clean_deletes_only_course_keys(capsys, cache, backend):
    cache.set("someone-else:1", "keep me")
    cache.set(make_key("lab01:product", 1), "x")
    cache.set(make_key("product", 1), "x")
    try:
        code, out, _ = run(capsys, "clean", "--prefix", "lab01:", "--json")
        assert code == 0 and json.loads(out)["deleted"] == 1
        code, out, _ = run(capsys, "clean")
        assert code == 0 and out.startswith("deleted 1 keys matching")
        assert cache.get("someone-else:1") == "keep me"
    finally:
        cache.delete("someone-else:1")


# Keys another user, another learner or a nested-looking name hold on the same server (issue 12,
# defect 2): none of them may be deleted by `clean` run under a learner's namespace.
FOREIGN = ["product:1", "other:cacheaside-lab:product:1"]
SIBLINGS = ["cacheaside-lab-alice2:product:1", "cacheaside-labX:1", "cacheaside-lab-other:1", "cacheaside-lab-alice"]


@pytest.mark.parametrize("namespace", ["cacheaside-lab-alice", "cacheaside-lab-alice:"])
def test_clean_deletes_exactly_its_namespace_on_a_crowded_server(capsys, cache, backend, monkeypatch, namespace):
    """Before: 'cacheaside-lab-alice' (no ':') was a raw prefix and deleted alice2's keys."""
    survivors = FOREIGN + SIBLINGS + ["cacheaside-lab:bob:product:1", "cacheaside-lab:alice:product:1"]
    ours = ["cacheaside-lab-alice:product:1", "cacheaside-lab-alice:products:1", "cacheaside-lab-alice:bob:product:1"]
    cache.mset({key: "x" for key in survivors + ours})
    monkeypatch.setenv("CACHEASIDE_NAMESPACE", namespace)
    try:
        code, out, err = run(capsys, "clean", "--json")
        assert code == 0, err
        report = json.loads(out)
        assert report["deleted"] == 3 and report["pattern"] == "cacheaside-lab-alice:*"
        assert all(cache.get(key) == "x" for key in survivors)
        assert not any(cache.exists(key) for key in ours)
    finally:
        cache.delete(*survivors, *ours)


def test_clean_under_the_default_namespace_spares_names_that_share_its_first_letters(capsys, cache, backend, monkeypatch):
    """Before: 'cacheaside-lab' matched cacheaside-labX:1 and cacheaside-lab-other:1.

    ``cacheaside-lab:bob:`` can no longer be anybody's namespace (see the next test), so a key
    under it is simply the default namespace's own key with prefix ``bob:product``.
    """
    survivors = FOREIGN + SIBLINGS
    ours = ["cacheaside-lab:product:1", "cacheaside-lab:bob:product:1"]
    cache.mset({key: "x" for key in survivors + ours})
    monkeypatch.setenv("CACHEASIDE_NAMESPACE", "cacheaside-lab")
    try:
        code, out, err = run(capsys, "clean")
        assert code == 0, err
        assert out.startswith("deleted 2 keys matching cacheaside-lab:* on")
        assert all(cache.get(key) == "x" for key in survivors)
        assert not any(cache.exists(key) for key in ours)
    finally:
        cache.delete(*survivors, *ours)


@pytest.mark.parametrize("namespace", ["cacheaside-lab:bob:", "cacheaside-lab:alice", "a b", "ns*"])
def test_clean_refuses_a_nested_or_malformed_namespace_and_deletes_nothing(capsys, cache, backend, monkeypatch, namespace):
    keys = FOREIGN + SIBLINGS + ["cacheaside-lab:bob:product:1", "cacheaside-lab:alice:product:1", "cacheaside-lab:product:1"]
    cache.mset({key: "x" for key in keys})
    monkeypatch.setenv("CACHEASIDE_NAMESPACE", namespace)
    try:
        code, out, err = run(capsys, "clean")
        assert code == 2 and out == ""
        assert err.startswith("cacheaside-lab clean: error: CACHEASIDE_NAMESPACE must be one segment")
        assert "use e.g." in err and "Traceback" not in err
        assert all(cache.get(key) == "x" for key in keys)
    finally:
        cache.delete(*keys)


def test_clean_prefix_selects_exactly_that_prefix(capsys, cache, backend):
    """Before: --prefix product also deleted products:* and product-old:*."""
    kept = [make_key("products", 1), make_key("product-old", 1), make_key("productx:a", 1)]
    gone = [make_key("product", 1), make_key("product:detail", 2)]
    cache.mset({key: "x" for key in kept + gone})
    for spelling in ("product", "product:"):
        code, out, err = run(capsys, "clean", "--prefix", spelling, "--json")
        assert code == 0, err
        assert json.loads(out)["pattern"] == f"{backend.namespace}product:*"
    assert all(cache.get(key) == "x" for key in kept)
    assert not any(cache.exists(key) for key in gone)


@pytest.mark.parametrize("prefix", ["prod*", ":product", "a::b", "a b"])
def test_clean_refuses_a_bad_prefix(capsys, cache, backend, prefix):
    cache.set(make_key("product", 1), "x")
    code, _, err = run(capsys, "clean", "--prefix", prefix)
    assert code == 2 and "prefix must be words of letters, digits" in err and "Traceback" not in err
    assert cache.get(make_key("product", 1)) == "x"


def test_redis_command_without_the_binary_is_a_clear_error(capsys, monkeypatch):
    from cacheaside_lab.stores import redis_server

    monkeypatch.setattr(redis_server, "find_redis_server", lambda: None)
    code, _, err = run(capsys, "redis")
    assert code == 2 and "redis-server is not installed" in err and "Traceback" not in err


def test_console_script_and_module_entry_point():
    result = subprocess.run([sys.executable, "-m", "cacheaside_lab.cli", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "doctor" in result.stdout and "clean" in result.stdout


def test_unknown_subcommand_exits_2():
    result = subprocess.run([sys.executable, "-m", "cacheaside_lab.cli", "frobnicate"], capture_output=True, text=True)
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_a_cache_that_does_not_answer_is_one_line_not_a_traceback(capsys, tmp_path):
    code, _, err = run(capsys, "clean", "--redis-url", f"unix://{tmp_path}/nothing.sock")
    assert code == 2 and err.startswith("cacheaside-lab clean: error:") and "Traceback" not in err
