"""Per-learner ACL users (``cacheaside_lab.workshop.acl``) on a private redis-server.

ACL users are a real-Redis feature (fakeredis does not enforce them), so the tests that provision
run against a private redis-server of this module's own; on fakeredis they are skipped with that
reason. Name validation, URLs and the credentials file need no server.
"""

from __future__ import annotations

import json
import os
import stat

import pytest
import redis

from cacheaside_lab import CacheAside, ProductDB
from cacheaside_lab.core.entries import CachePermissionError
from cacheaside_lab.core.keys import make_key
from cacheaside_lab.stores.backend import connect_cache
from cacheaside_lab.stores.refusals import AccessRefused
from cacheaside_lab.workshop import acl
from cacheaside_lab.workshop.acl import (
    COURSE_COMMANDS,
    LearnerAccess,
    learner_url,
    list_learners,
    provision,
    read_credentials,
    revoke,
    write_credentials,
)
from acl_server import ACL_ONLY_ON_REAL_REDIS, admin, server  # noqa: F401  (fixtures used by name)

# Never granted to a learner (the package may not even name the flushing ones: test_project.py).
FORBIDDEN_COMMANDS = (
    "flushall", "flushdb", "keys", "config", "info", "debug", "shutdown", "acl", "monitor",
    "script|flush", "client|list", "client|kill", "publish", "select", "swapdb", "move", "migrate",
)


@pytest.fixture
def two(admin, server, monkeypatch):
    """alice and bob, provisioned; alice's client runs with alice's namespace configured."""
    alice, bob = provision(admin, ["alice", "bob"], server_url=server.url)
    monkeypatch.setenv("CACHEASIDE_NAMESPACE", alice.namespace)
    return alice, bob


def test_acl_provisioning_is_skipped_on_fakeredis_with_a_reason(backend):
    if backend.name == "fakeredis":
        pytest.skip(ACL_ONLY_ON_REAL_REDIS)
    if backend.name == "redis-cluster":
        pytest.skip("`workshop provision` sets up users on one Redis server; a cluster keeps ACLs per node")
    admin = backend.client()
    [access] = provision(admin, ["carla"], server_url=backend.url)
    try:
        learner = connect_cache(access.redis_url)
        assert learner.set(f"{access.namespace}probe", "1") and learner.delete(f"{access.namespace}probe") == 1
        learner.close()
    finally:
        assert revoke(admin, ["carla"]) == ["cacheaside-lab-carla"]
        admin.close()


def test_each_learner_gets_a_confined_user_with_only_the_course_commands(admin, two):
    alice, bob = two
    assert (alice.user, alice.namespace) == ("cacheaside-lab-alice", "cacheaside-lab-alice:")
    assert alice.environment() == {"CACHEASIDE_REDIS_URL": alice.redis_url, "CACHEASIDE_NAMESPACE": "cacheaside-lab-alice:"}
    assert alice.password and bob.password and alice.password != bob.password
    assert alice.password not in repr(alice)
    details = admin.acl_getuser(alice.user)
    assert details["enabled"] and details["keys"] == ["~cacheaside-lab-alice:*"]
    assert details["channels"] == ["&__redis__:invalidate"]
    assert "-@all" in details["categories"] and "+@all" not in details["categories"]
    granted = {c.lstrip("+") for c in details["commands"]} | {"multi", "exec", "discard", "watch", "unwatch"}
    assert set(COURSE_COMMANDS) - set(acl.OPTIONAL_COMMANDS) <= granted
    assert not granted & set(FORBIDDEN_COMMANDS)


@pytest.mark.parametrize("command", [
    ("FLUSHALL",), ("FLUSHDB",), ("KEYS", "*"), ("CONFIG", "GET", "maxmemory"), ("INFO",), ("SCRIPT", "FLUSH"),
    ("SWAPDB", "0", "1"), ("SHUTDOWN", "NOSAVE"), ("ACL", "LIST"), ("CLIENT", "LIST"), ("CLIENT", "KILL", "ID", "1"),
    ("PUBLISH", "__redis__:invalidate", "x"), ("SELECT", "1"), ("DBSIZE",),
])
def test_a_learner_may_not_run_server_wide_commands(two, server, command):
    alice, _ = two
    client = connect_cache(alice.redis_url)
    with pytest.raises(AccessRefused) as refused:
        client.execute_command(*command)
    assert f"the command {' '.join(command[:2]) if command[0] in ('CONFIG', 'SCRIPT', 'ACL', 'CLIENT') else command[0]}" in str(refused.value)
    assert "cacheaside-lab-alice" in str(refused.value)
    assert server.client().ping()  # the server is still there
    client.close()


def test_another_learners_key_is_refused_for_read_write_delete_and_scripts(admin, two):
    alice, bob = two
    theirs = make_key("product", 1, namespace=bob.namespace)
    admin.set(theirs, '{"v":1,"value":"bob\'s"}')
    client = connect_cache(alice.redis_url)
    attempts = {
        "GET": lambda: client.get(theirs),
        "SET": lambda: client.set(theirs, "mine now"),
        "DEL": lambda: client.delete(theirs),
        "MGET": lambda: client.mget(make_key("product", 1), theirs),
        "EVAL": lambda: client.eval("return redis.call('GET', KEYS[1])", 1, theirs),
    }
    for command, attempt in attempts.items():
        with pytest.raises(AccessRefused) as refused:
            attempt()
        message = str(refused.value)
        assert f"{command} on {theirs!r}" in message and "namespace 'cacheaside-lab-alice:'" in message, message
        assert "bob's" not in message
    # a script that names the key only in its body is refused inside Lua, never answered
    with pytest.raises(AccessRefused, match="inside a Lua script"):
        client.eval(f"return redis.call('GET', '{theirs}')", 0)
    assert admin.get(theirs) == '{"v":1,"value":"bob\'s"}'
    client.close()


def test_scan_shows_other_learners_key_names_but_never_their_values(admin, two):
    """Redis 7 does not filter SCAN by key patterns: the names are visible, the values are not."""
    alice, bob = two
    theirs = make_key("product", 7, namespace=bob.namespace)
    admin.set(theirs, "secret-value")
    client = connect_cache(alice.redis_url)
    assert theirs in set(client.scan_iter())  # documented exposure: key names only
    assert list(client.scan_iter(match=f"{alice.namespace}*")) == []  # the course scans its own namespace
    with pytest.raises(AccessRefused):
        client.get(theirs)
    client.close()


def test_cache_aside_reports_a_refusal_as_an_error_not_a_miss(two):
    alice, bob = two
    client = connect_cache(alice.redis_url)
    wrong = CacheAside(client, ProductDB(products=5).get_product, prefix="product", ttl=60, namespace=bob.namespace)  # a mistake
    with pytest.raises(CachePermissionError, match="refused"):
        wrong.get(1)
    assert wrong.stats.denied == 1 and wrong.stats.errors == 0 and wrong.stats.misses == 0
    right = CacheAside(client, ProductDB(products=5).get_product, prefix="product", ttl=60)
    assert right.get(1)["id"] == 1 and right.get(1)["id"] == 1 and right.stats.hits == 1
    client.close()


def test_provisioning_again_keeps_passwords_unless_asked_to_rotate(admin, server, two):
    alice, bob = two
    with pytest.raises(ValueError, match="rotate=True"):
        provision(admin, ["alice"], server_url=server.url)
    [again] = provision(admin, ["alice"], server_url=server.url, known=[alice, bob])
    assert again == alice
    old = connect_cache(alice.redis_url)
    assert old.ping()
    [rotated] = provision(admin, ["alice"], server_url=server.url, rotate=True)
    assert rotated.password != alice.password
    with pytest.raises(redis.AuthenticationError):
        connect_cache(alice.redis_url).ping()
    assert connect_cache(rotated.redis_url).ping()
    old.close()


def test_users_not_made_by_provision_are_never_changed_or_revoked(admin, server):
    admin.acl_setuser("cacheaside-lab-eve", enabled=True, passwords=["+pw"], keys=["*"], commands=["+@all"])
    for action in (lambda: provision(admin, ["eve"], server_url=server.url, rotate=True), lambda: revoke(admin, ["eve"])):
        with pytest.raises(ValueError, match="not made by cacheaside-lab workshop"):
            action()
    assert admin.acl_getuser("cacheaside-lab-eve")["keys"] == ["~*"]
    assert [row["learner"] for row in list_learners(admin)] == []
    assert "default" in admin.acl_users()


def test_revoke_deletes_only_the_named_learners_and_locks_them_out(admin, two):
    alice, bob = two
    assert [row["learner"] for row in list_learners(admin)] == ["alice", "bob"]
    assert revoke(admin, ["alice", "zoe"]) == ["cacheaside-lab-alice"]
    with pytest.raises(redis.AuthenticationError):
        connect_cache(alice.redis_url).ping()
    assert connect_cache(bob.redis_url).ping()
    assert [row["learner"] for row in list_learners(admin)] == ["bob"]


@pytest.mark.parametrize("bad, message", [
    ("Alice", "lowercase"), ("al:ice", "lowercase"), ("", "at least one character|lowercase|empty|text"),
    ("a" * 49, "1 to 48"), ("-alice", "starting with a letter"), ("al ice", "lowercase"),
])
def test_learner_names_are_validated_with_what_is_allowed(bad, message):
    with pytest.raises(ValueError, match=message):
        acl.require_learners([bad])


def test_learner_lists_are_validated():
    with pytest.raises(ValueError, match="repeated: alice"):
        acl.require_learners(["alice", "bob", "alice"])
    with pytest.raises(ValueError, match="at least one learner"):
        acl.require_learners([])
    with pytest.raises(TypeError, match="list of names"):
        acl.require_learners(42)


def test_learner_urls_carry_only_the_learners_credentials():
    url = learner_url("redis://admin:topsecret@cache.example.org:6379/0?password=topsecret", "cacheaside-lab-a", "pw")
    assert url == "redis://cacheaside-lab-a:pw@cache.example.org:6379/0"
    assert learner_url("unix:///tmp/r.sock", "u", "p") == "unix://u:p@/tmp/r.sock"
    with pytest.raises(ValueError, match="redis://, rediss:// or unix://"):
        learner_url("http://x", "u", "p")


def test_credentials_file_is_private_and_round_trips(tmp_path):
    accesses = [LearnerAccess("alice", "cacheaside-lab-alice", "cacheaside-lab-alice:", "redis://cacheaside-lab-alice:pw@h:6379/0")]
    path = write_credentials(tmp_path / "creds.json", accesses, server_url="redis://admin:root@h:6379/0")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    document = json.loads(path.read_text())
    assert document == {"server": "redis://h:6379/0", "learners": [{
        "learner": "alice", "user": "cacheaside-lab-alice",
        "CACHEASIDE_REDIS_URL": "redis://cacheaside-lab-alice:pw@h:6379/0", "CACHEASIDE_NAMESPACE": "cacheaside-lab-alice:",
    }]}
    assert read_credentials(path) == accesses
    os.chmod(path, 0o644)
    with pytest.raises(ValueError, match="chmod 600"):
        read_credentials(path)
    (tmp_path / "other.json").write_text('{"learners": [{"learner": "x"}]}')
    os.chmod(tmp_path / "other.json", 0o600)
    with pytest.raises(ValueError, match="not a cacheaside-lab credentials file"):
        read_credentials(tmp_path / "other.json")


def test_a_learners_near_cache_gets_its_invalidations_and_only_key_names_leak(admin, two):
    """Lecture 15's listener runs under a learner (CLIENT ID, not CLIENT LIST). Redis 7.0 does not
    check BCAST prefixes against key patterns: a learner tracking another's prefix is told which
    key *names* changed (as SCAN shows names); the values stay refused."""
    import time

    from cacheaside_lab.stores.tracking import InvalidationListener

    alice, bob = two
    client = connect_cache(alice.redis_url)
    seen = []
    with InvalidationListener(client, [f"{alice.namespace}near:", f"{bob.namespace}"], seen.append):
        client.set(f"{alice.namespace}near:1", "x")
        admin.set(f"{bob.namespace}product:3", "bob's value")
        deadline = time.monotonic() + 5
        while len(seen) < 2 and time.monotonic() < deadline:  # bounded wait for two pushes
            time.sleep(0.01)
    pushed = [key for keys in seen for key in keys]
    assert f"{alice.namespace}near:1" in pushed and f"{bob.namespace}product:3" in pushed
    assert "bob's value" not in repr(seen)
    with pytest.raises(AccessRefused):
        client.get(f"{bob.namespace}product:3")
    client.close()


def test_every_lua_script_of_the_package_names_its_keys_in_KEYS():
    """An ACL checks the keys a script *declares* before it runs (and every key it touches while it
    runs): a script that builds a key inside Lua would be refused mid-way, or could be pointed at
    another learner's key. So every redis.call's key is KEYS[n], never a string made in Lua."""
    import importlib
    import pkgutil
    import re

    import cacheaside_lab
    from cacheaside_lab.core.scripts import LuaScript

    scripts = {}
    for info in pkgutil.walk_packages(cacheaside_lab.__path__, "cacheaside_lab."):
        module = importlib.import_module(info.name)
        scripts.update({f"{info.name}.{name}": value for name, value in vars(module).items() if isinstance(value, LuaScript)})
    assert len(scripts) >= 3, sorted(scripts)
    for name, script in scripts.items():
        calls = re.findall(r"redis\.call\(\s*'[A-Za-z]+'\s*,\s*([^,)]+)", script.source)
        assert calls, f"{name} calls no command?"
        assert all(re.fullmatch(r"KEYS\[\d+\]", key.strip()) for key in calls), f"{name} touches a key not in KEYS: {calls}"
