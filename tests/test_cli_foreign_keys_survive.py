"""No command of the course loses a key that is not its own (issue 12: "a real server with
foreign, sibling and nested keys loses none of them to any command").

A private redis-server is filled with other people's data: keys outside the course, keys of
namespaces that share the course's first letters, and keys that look nested inside it. Then every
CLI verb that talks to Redis runs against it, as a learner would, under the default namespace and
under a learner's own. Afterwards every one of those keys is still there with its value and TTL.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cacheaside_lab.stores.redis_server import RedisServer, find_redis_server

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "01_the_pattern_solution.ipynb"

OTHERS = {
    "product:42": "someone else's product",
    "other:cacheaside-lab:product:1": "contains our name, is not ours",
    "cacheaside-lab-alice2:product:42": "a sibling learner",
    "cacheaside-lab-alice:product:42": "alice's own (spared when bob runs)",
    "cacheaside-labX:1": "shares our first letters",
    "cacheaside-lab-other:1": "shares our first letters",
    "cacheaside-lab-bob:product:42": "learner bob",
}
# With the default namespace `cacheaside-lab:` these look nested inside it; a namespace is one
# segment now, so nobody can own them as a namespace, but learner bob's run must spare them.
NESTED_LOOKING = {"cacheaside-lab:bob:product:42": "written by an old version under a nested name"}

VERBS = [
    ["doctor"],
    ["clean"],
    ["clean", "--prefix", "product"],
    ["race", "--strategy", "delete", "--writers", "2"],
    ["race", "--strategy", "lease", "--readers", "1", "--writers", "1"],
    ["herd", "--clients", "8", "--db-latency-ms", "20", "--protection", "lock"],
    ["herd", "--clients", "8", "--db-latency-ms", "20", "--protection", "lease"],
    ["check", str(SOLUTION), "--timeout", "120"],
]


@pytest.fixture(scope="module")
def crowded_server():
    if find_redis_server() is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server to run this test)")
    with RedisServer() as server:
        yield server


def fill(client, keys: dict) -> None:
    for key, value in keys.items():
        client.set(key, value, ex=3600)


def survivors(client, keys: dict) -> dict:
    return {key: client.get(key) for key in keys if client.get(key) == keys[key] and client.ttl(key) > 0}


@pytest.mark.parametrize("namespace", [None, "cacheaside-lab-bob:"], ids=["default-namespace", "learner-bob"])
def test_every_command_spares_every_key_that_is_not_its_own(crowded_server, namespace):
    client = crowded_server.client()
    theirs = dict(OTHERS)
    if namespace is not None:  # bob's run must spare even what the default namespace owns
        theirs.pop("cacheaside-lab-bob:product:42")
        theirs.update(NESTED_LOOKING)
        theirs["cacheaside-lab:product:42"] = "the default namespace's own"
    fill(client, theirs)
    env = {k: v for k, v in os.environ.items() if k not in ("CACHEASIDE_REDIS_URL", "CACHEASIDE_NAMESPACE")}
    env["CACHEASIDE_REDIS_URL"] = crowded_server.url
    if namespace is not None:
        env["CACHEASIDE_NAMESPACE"] = namespace
    for verb in VERBS:
        argv = [*verb, "--redis-url", crowded_server.url] if verb[0] == "check" else verb
        process = subprocess.run(
            [sys.executable, "-m", "cacheaside_lab.cli", *argv],
            env=env, cwd=ROOT, capture_output=True, text=True, timeout=300,
        )
        assert process.returncode in (0, 1), f"{verb}: exit {process.returncode}\n{process.stderr[-2000:]}"
        lost = sorted(set(theirs) - set(survivors(client, theirs)))
        assert not lost, f"`cacheaside-lab {' '.join(verb)}` lost or changed keys that are not its own: {lost}"
    own = namespace or "cacheaside-lab:"
    wrote_elsewhere = sorted(
        key for key in client.scan_iter() if key not in theirs and not key.startswith(own)
    )
    assert not wrote_elsewhere, f"keys written outside {own!r}: {wrote_elsewhere[:10]}"
    for key in theirs:
        client.delete(key)
    client.close()
