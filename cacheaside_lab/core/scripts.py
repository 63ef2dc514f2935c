"""Lua scripts: each defined once, registered once per client, called through that client.

A script sent with ``EVAL`` travels with every call; one registered with
``client.register_script`` is sent by its SHA1 (``EVALSHA``) and loaded only if the server does
not know it yet. :class:`LuaScript` keeps the registered script per client (so a wrapper such as
``FaultyCache`` or the race world's gated proxy registers its own), and calls it *through* that
client, so a wrapper that injects faults or counts steps sees the call.

The scripts here are shared by more than one module; a script used by one module only is
defined in that module, as a :class:`LuaScript` with the same KEYS/ARGV/returns comment.
"""

from __future__ import annotations

import threading
import weakref


class LuaScript:
    """One Lua source, registered with ``client.register_script`` the first time a client runs it."""

    def __init__(self, source: str):
        self.source = source
        self._registered: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._by_id: dict[int, tuple[object, object]] = {}  # clients that cannot be weakly referenced
        self._lock = threading.Lock()

    def registered(self, client):
        """The script object ``client.register_script`` gave for this source (made once per client)."""
        with self._lock:
            try:
                script = self._registered.get(client)
            except TypeError:  # not weak-referenceable or not hashable
                held = self._by_id.get(id(client))
                script = held[1] if held is not None and held[0] is client else None
        if script is None:
            script = client.register_script(self.source)
            with self._lock:
                try:
                    self._registered[client] = script
                except TypeError:
                    self._by_id[id(client)] = (client, script)
        return script

    def __call__(self, client, keys=(), args=()):
        """Run the script on ``client``: EVALSHA, loading the script first if the server lacks it."""
        return self.registered(client)(keys=list(keys), args=list(args), client=client)


# Compare-and-delete: release a lock or a lease only if it still holds our token, GET and DEL in
# one atomic step (a holder slower than its expiry must not delete a newer holder's token).
# KEYS[1]: the lock or lease key. ARGV[1]: our token.
# Returns 1 if the key held our token and was deleted, 0 otherwise (expired, or someone else's).
COMPARE_AND_DELETE = LuaScript("""
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
""")


# Fenced fill: SET the value only while the filler still holds the fill lock, in one atomic step,
# so a filler slower than its lock cannot put its (possibly older) row over a newer filler's.
# KEYS[1]: the value key. KEYS[2]: its lock key. ARGV[1]: our token. ARGV[2]: the stored string.
# ARGV[3]: the value's expiry in ms. Returns 1 if the value was set, 0 if the lock was not ours.
FENCED_SET = LuaScript("""
if redis.call('GET', KEYS[2]) == ARGV[1] then
    redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
    return 1
end
return 0
""")

# Compare-and-extend: push a lock's expiry out only if it still holds our token (a slow loader
# keeps its lock alive; a lock that already passed to someone else is left alone).
# KEYS[1]: the lock key. ARGV[1]: our token. ARGV[2]: the new expiry in ms.
# Returns 1 if extended, 0 otherwise.
COMPARE_AND_PEXPIRE = LuaScript("""
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
""")
