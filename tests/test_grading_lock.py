"""The grading lock's release: compare-and-delete through the shared, registered Lua script."""

from __future__ import annotations

from cacheaside_lab import RecordingProxy
from cacheaside_lab.course.grading_lock import lock_key, namespace_lock


def test_the_lock_is_released_by_its_owner_only_with_one_evalsha(cache, backend):
    log: list = []
    client = RecordingProxy(cache, log, "cache")
    with namespace_lock(client, backend.namespace, hold_s=30, wait_s=0) as key:
        assert key == lock_key(backend.namespace) and cache.get(key)
    assert not cache.exists(key), "the owner's release deletes its lock"
    names = [name for _label, name, _args, _kwargs in log]
    # the registered script, sent by SHA (loaded first if the server lacks it), never EVAL
    assert "eval" not in names and "evalsha" in names and names.count("register_script") == 1

    with namespace_lock(cache, backend.namespace, hold_s=30, wait_s=0) as key:
        cache.set(key, "another grader's token")  # ours expired and someone else took the lock
    assert cache.get(key) == "another grader's token", "a stale owner must not delete the next lock"
    cache.delete(key)
