"""Lua scripts are defined once, registered once per client, sent by SHA, and seen by wrappers."""

from __future__ import annotations

import inspect
import pathlib

import pytest
import redis

import cacheaside_lab
from cacheaside_lab import FaultyCache
from cacheaside_lab.consistency import leases as leases_module
from cacheaside_lab.consistency import versions as versions_module
from cacheaside_lab.consistency.leases import Leases, lease_key
from cacheaside_lab.core.keys import make_key
from cacheaside_lab.core.scripts import COMPARE_AND_DELETE, LuaScript
from cacheaside_lab.failure.proxies import RecordingProxy
from cacheaside_lab.protections.lock import acquire, lock_key, release


def test_compare_and_delete_deletes_only_our_token(cache):
    key = make_key("scripts", "lock")
    cache.set(key, "ours", px=60_000)
    assert COMPARE_AND_DELETE(cache, keys=[key], args=["theirs"]) == 0 and cache.get(key) == "ours"
    assert COMPARE_AND_DELETE(cache, keys=[key], args=["ours"]) == 1 and cache.get(key) is None
    assert COMPARE_AND_DELETE(cache, keys=[key], args=["ours"]) == 0  # gone: nothing to delete


def test_lock_and_lease_release_share_the_script_registered_once_per_client_and_never_eval(cache):
    log: list = []
    spy = RecordingProxy(cache, log, "cache")
    key = make_key("scripts", "item")
    for _ in range(3):
        token = acquire(spy, key, 5_000)
        assert release(spy, key, token) and spy.get(lock_key(key)) is None
    leases = Leases(spy)
    for _ in range(3):
        _, token = leases.get_or_lease(key)
        assert leases.release(key, token) and spy.get(lease_key(key)) is None
    names = [entry[1] for entry in log]
    assert "eval" not in names
    # one register_script per script for this client: compare-and-delete and get-or-lease
    assert names.count("register_script") == 2
    # every call is one EVALSHA (3 lock releases, 3 leases, 3 lease releases); a server that did not
    # know a script yet answered NOSCRIPT once, and the script was loaded and the call sent again
    assert names.count("script_load") <= 2
    assert names.count("evalsha") - names.count("script_load") == 9
    assert COMPARE_AND_DELETE.registered(spy) is COMPARE_AND_DELETE.registered(spy)


def test_a_script_call_goes_through_the_wrapper_so_an_outage_reaches_it(cache):
    key = make_key("scripts", "down")
    cache.set(key, "ours", px=60_000)
    down = FaultyCache(cache)
    COMPARE_AND_DELETE.registered(down)  # registered while the cache was up
    down.go_down()
    with pytest.raises(redis.ConnectionError):
        COMPARE_AND_DELETE(down, keys=[key], args=["ours"])
    assert cache.get(key) == "ours"  # the "dead" cache was not reached behind the wrapper's back


def test_a_script_the_server_does_not_know_yet_is_loaded_on_first_use(cache):
    key = make_key("scripts", "fresh")
    script = LuaScript("return redis.call('SET', KEYS[1], ARGV[1], 'PX', 60000)")
    assert script(cache, keys=[key], args=["1"]) in ("OK", b"OK", True)
    assert cache.get(key) == "1"


def test_every_lua_script_in_the_package_is_a_luascript_with_keys_argv_and_returns_comment():
    found = {f"{module.__name__}.{name}" for module in (leases_module, versions_module)
             for name, value in vars(module).items() if isinstance(value, LuaScript) and value is not COMPARE_AND_DELETE}
    assert found == {
        "cacheaside_lab.consistency.leases.GET_OR_LEASE",
        "cacheaside_lab.consistency.leases.FILL_WITH_LEASE",
        "cacheaside_lab.consistency.versions.FILL_IF_NEWER",
        "cacheaside_lab.consistency.versions.TOMBSTONE",
    }
    # course/ is the course tooling (grading lock, environment probe), outside this contract
    root = pathlib.Path(inspect.getfile(cacheaside_lab)).parent
    for path in root.rglob("*.py"):
        lines = path.read_text().splitlines()
        if "course" not in path.relative_to(root).parts:  # checks may quote a learner's cache.eval(...) in a hint
            assert not any(".eval(" in line for line in lines), f"{path} sends a script with EVAL; make it a LuaScript"
        for index, line in enumerate(lines):
            if 'LuaScript("""' in line:
                comment = "\n".join(lines[max(0, index - 5):index])
                assert "KEYS[1]" in comment and "ARGV[1]" in comment and "Returns" in comment, f"{path}:{index + 1}"
