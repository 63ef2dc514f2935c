"""The command line: clear output, --json for machines, clear errors and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

from cacheaside_lab.cli import main
from cacheaside_lab.keys import make_key


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


def test_redis_command_without_the_binary_is_a_clear_error(capsys, monkeypatch):
    from cacheaside_lab import redis_server

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
