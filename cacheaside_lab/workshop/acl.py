"""One Redis ACL user per learner: provision, list and revoke them, and hand out their URLs.

A workshop gives a room one real Redis. Without ACLs every learner can read, overwrite and delete
every other learner's keys (and empty the whole server). With them, each learner ``alice`` gets:

* a user ``cacheaside-lab-alice`` with a random password (``secrets.token_urlsafe``);
* the key pattern ``~cacheaside-lab-alice:*`` only: their namespace, which is also what the course
  writes under once ``CACHEASIDE_NAMESPACE=cacheaside-lab-alice:`` is set. Namespaces are one
  segment ending in ``:`` (:func:`~cacheaside_lab.core.keys.normalize_namespace`), so alice's
  pattern can never match ``cacheaside-lab-alice2:…``;
* the channel ``__redis__:invalidate`` only (a near cache's CLIENT TRACKING pushes arrive there,
  lecture 15; Redis sends each connection only the pushes meant for it, and ``PUBLISH`` is not
  allowed, so the channel carries nothing of anyone else's);
* ``-@all`` and then :data:`COURSE_COMMANDS`, an explicit allow-list of the commands the course
  sends (found by running every lecture, lab solution and CLI verb as such a user and reading the
  ``NOPERM`` errors). Never ``+@all``, no command that empties a database, and none of KEYS,
  CONFIG, INFO, SCRIPT FLUSH, DEBUG, SHUTDOWN, ACL, MONITOR or CLIENT LIST/KILL
  (``tests/test_workshop_acl.py`` checks the server refuses each of them).

Provisioning is idempotent: running it again re-applies the rules and keeps every password
(give it the credentials it wrote last time, ``known=``), unless ``rotate=True``. Users are marked
as the course's by their name prefix *and* their key pattern; :func:`revoke` deletes only users
with both, and refuses any other user, so an instructor's own users are never touched.

What an ACL does **not** hide on Redis 7: ``SCAN`` is not filtered by key patterns, so a learner
who runs ``cache.scan_iter()`` sees the *names* of other learners' keys (never their values: every
GET, SET, DEL, MGET or script on them is refused). The course itself always scans with
``MATCH <own namespace>*``. Key names here are course names (``product:42``), nothing private.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import redis

from ..core.keys import NAMESPACE_ENV, glob_escape, normalize_namespace
from ..core.validation import require_count, require_text
from ..stores.backend import REDIS_URL_ENV
from ..stores.redact import redact_url
from ..stores.refusals import WORKSHOP_USER_PREFIX

# Every user this module creates starts with this; the learner's namespace is the same word + ":"
# (stores/refusals.py reads it from a refused user's name to say which namespace it may use).
USER_PREFIX = WORKSHOP_USER_PREFIX
MAX_LEARNERS = 1000
MAX_LEARNER_CHARS = 48  # "cacheaside-lab-" + 48 characters + ":" fits a 64-character namespace
PASSWORD_BYTES = 24  # secrets.token_urlsafe(24): 32 URL-safe characters, 192 random bits

# The one channel a learner may subscribe to: where CLIENT TRACKING ... REDIRECT delivers a near
# cache's invalidations (stores/tracking.py). Redis delivers each connection only its own pushes.
TRACKING_CHANNEL = "__redis__:invalidate"

# The commands the course sends, and nothing else. Each line says who needs it.
COURSE_COMMANDS = (
    # connecting: redis-py's handshake and health checks
    "ping", "hello", "auth", "client|setname", "client|setinfo", "client|getname", "client|id",
    # (redis-py sends CLIENT SETINFO on connect and ignores a refusal; Redis 7.0 has no such command)
    # the cache-aside read and write paths, TTLs, batches (get_many), the doctor's probe
    "get", "set", "mget", "del", "unlink", "exists", "ttl", "pttl", "expire", "pexpire",
    # pipelines with transactions (redis-py's default pipeline), optimistic locking
    "multi", "exec", "discard", "watch", "unwatch",
    # Lua scripts (leases, locks, fenced fills): EVALSHA, loading the script on a NOSCRIPT reply
    "eval", "evalsha", "script|load", "script|exists",
    # clean / clear_course_keys / checkers: SCAN MATCH <namespace>* and the key's type
    "scan", "type",
    # lecture 11 (missing ids) and lab 12 measure what an entry costs
    "memory|usage",
    # lecture 15's near cache: server-assisted invalidation, delivered on one subscribed connection
    "client|tracking", "subscribe", "unsubscribe",
)
# Granted where the server has them (Redis 7.2+), left out on older servers.
OPTIONAL_COMMANDS = ("client|setinfo",)

_LEARNER_RE = re.compile(rf"[a-z0-9][a-z0-9_.\-]{{0,{MAX_LEARNER_CHARS - 1}}}")


@dataclass(frozen=True)
class LearnerAccess:
    """What one learner needs to reach their part of the server (the URL carries the password)."""

    learner: str
    user: str
    namespace: str
    redis_url: str = field(repr=False)

    def environment(self) -> dict:
        """``{"CACHEASIDE_REDIS_URL": ..., "CACHEASIDE_NAMESPACE": ...}`` for the learner's session."""
        return {REDIS_URL_ENV: self.redis_url, NAMESPACE_ENV: self.namespace}

    @property
    def password(self) -> str:
        return urlsplit(self.redis_url).password or ""

    @property
    def redacted_url(self) -> str:
        return redact_url(self.redis_url)


def require_learner(name) -> str:
    """A learner's name: 1 to 48 lowercase letters, digits, '-', '_' or '.', starting with a
    letter or digit (it becomes the Redis user ``cacheaside-lab-<name>`` and the namespace
    ``cacheaside-lab-<name>:``, so it may hold neither ':' nor spaces nor glob characters)."""
    require_text("learner name", name)
    text = name.strip()
    if not _LEARNER_RE.fullmatch(text):
        raise ValueError(
            f"learner name {name!r} is not allowed: use 1 to {MAX_LEARNER_CHARS} lowercase letters, "
            "digits, '-', '_' or '.', starting with a letter or digit (e.g. 'alice' or 'bob-2'); it "
            f"becomes the Redis user '{USER_PREFIX}<name>' and the namespace '{USER_PREFIX}<name>:'."
        )
    return text


def require_learners(learners) -> list[str]:
    """A list of distinct, valid learner names (a single string is one name)."""
    if isinstance(learners, str):
        learners = [learners]
    try:
        names = [require_learner(name) for name in learners]
    except TypeError as error:
        if "learner name" in str(error):
            raise
        raise TypeError(f"learners must be a list of names (got {type(learners).__name__}).") from None
    if not names:
        raise ValueError("learners must name at least one learner (e.g. ['alice', 'bob']).")
    require_count("number of learners", len(names), minimum=1, maximum=MAX_LEARNERS)
    seen, repeated = set(), []
    for name in names:
        (repeated.append if name in seen else seen.add)(name)
    if repeated:
        raise ValueError(f"each learner must be named once; repeated: {', '.join(sorted(set(repeated)))}.")
    return names


def user_for(learner: str) -> str:
    """``"alice"`` → ``"cacheaside-lab-alice"``, the learner's Redis user."""
    return USER_PREFIX + require_learner(learner)


def namespace_for(learner: str) -> str:
    """``"alice"`` → ``"cacheaside-lab-alice:"``, the learner's one-segment namespace."""
    return normalize_namespace(user_for(learner) + ":")


def learner_of(user: str) -> str | None:
    """``"cacheaside-lab-alice"`` → ``"alice"``; ``None`` for a name this module would not create."""
    if not isinstance(user, str) or not user.startswith(USER_PREFIX):
        return None
    learner = user[len(USER_PREFIX):]
    return learner if _LEARNER_RE.fullmatch(learner) else None


def acl_rules(learner: str) -> list[str]:
    """The ACL SETUSER rules (without the password) that confine ``learner``."""
    namespace = namespace_for(learner)
    rules = ["on", "resetkeys", f"~{glob_escape(namespace)}*", "resetchannels", f"&{TRACKING_CHANNEL}", "-@all"]
    return rules + [f"+{command}" for command in COURSE_COMMANDS]


def server_url_without_credentials(server_url) -> str:
    """``server_url`` with any username, password (user part or ``?password=``) removed."""
    require_text("server_url", server_url)
    if not server_url.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError(
            f"server_url must start with redis://, rediss:// or unix:// (got {redact_url(server_url)!r}): "
            "it is the address learners' notebooks connect to, e.g. redis://redis.example.org:6379/0."
        )
    parts = urlsplit(server_url)
    netloc = parts.netloc.rpartition("@")[2]
    query = urlencode(
        [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k.lower() not in ("password", "username")]
    )
    return _join(parts.scheme, netloc, parts.path, query)


def _join(scheme: str, netloc: str, path: str, query: str) -> str:
    # by hand: urlunsplit drops the "//" of "unix:///path", which redis-py then cannot read
    return f"{scheme}://{netloc}{path}" + (f"?{query}" if query else "")


def learner_url(server_url: str, user: str, password: str) -> str:
    """The learner's ``CACHEASIDE_REDIS_URL``: ``server_url`` with ``user:password@`` in it
    (for ``unix:///path`` that is ``unix://user:password@/path``, which redis-py reads)."""
    parts = urlsplit(server_url_without_credentials(server_url))
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{parts.netloc}"
    return _join(parts.scheme, netloc, parts.path, parts.query)


def _password_hash(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


def _getuser(admin_client, user: str):
    """The server's view of ``user`` as a dict (``None`` if there is no such user)."""
    reply = admin_client.execute_command("ACL", "GETUSER", user)
    if reply is None:
        return None
    if isinstance(reply, dict):
        return {_text(k): v for k, v in reply.items()}
    items = list(reply)
    return {_text(items[i]): items[i + 1] for i in range(0, len(items) - 1, 2)}


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _key_patterns(details: dict) -> list[str]:
    keys = details.get("keys")
    if isinstance(keys, (list, tuple)):
        return [_text(k) for k in keys]
    return _text(keys or "").split()


def _is_ours(user: str, details: dict) -> bool:
    """Made by this module: our name prefix, and exactly our learner's key pattern, no selectors."""
    learner = learner_of(user)
    if learner is None:
        return False
    expected = [f"~{glob_escape(namespace_for(learner))}*"]
    return _key_patterns(details) == expected and not details.get("selectors")


def _not_ours_error(user: str, details: dict) -> ValueError:
    return ValueError(
        f"the Redis user {user!r} exists but was not made by cacheaside-lab workshop (its key patterns "
        f"are {' '.join(_key_patterns(details)) or 'none'}, not '~{user}:*'): it is left untouched. "
        "Remove or rename it yourself, or choose another learner name."
    )


def provision(
    admin_client,
    learners,
    *,
    server_url: str,
    known=(),
    rotate: bool = False,
) -> list[LearnerAccess]:
    """Create (or bring up to date) one confined ACL user per learner; return their accesses.

    ``admin_client`` is a redis-py client allowed to run ``ACL``. ``server_url`` is the address
    *learners* connect to (often not the one the admin uses); any credentials in it are dropped.
    ``known`` are accesses from an earlier run (``read_credentials``): an existing user keeps its
    password when ``known`` holds it (checked against the server's hash). An existing user whose
    password is unknown is an error unless ``rotate=True``, which gives every named learner a new
    password (their running sessions then need the new URL). Users that exist under our name but
    were not made here are refused, never changed. All names are checked before anything changes.
    """
    names = require_learners(learners)
    if not isinstance(rotate, bool):
        raise TypeError(f"rotate must be True or False (got {rotate!r}).")
    base = server_url_without_credentials(server_url)
    passwords = {}
    for access in known or ():
        if not isinstance(access, LearnerAccess):
            raise TypeError(f"known must hold LearnerAccess objects (from read_credentials), not {access!r}.")
        passwords[access.learner] = access.password
    plans = []
    for learner in names:  # decide everything first: a refusal changes nothing on the server
        user = user_for(learner)
        details = _getuser(admin_client, user)
        if details is not None and not _is_ours(user, details):
            raise _not_ours_error(user, details)
        password = None
        if details is not None and not rotate:
            hashes = {_text(h) for h in details.get("passwords") or ()}
            password = passwords.get(learner)
            if password is None or _password_hash(password) not in hashes:
                raise ValueError(
                    f"learner {learner!r} already has the Redis user {user!r}, and its password is not in the "
                    "credentials given (known=/the --out file): pass rotate=True (--rotate) to give them a "
                    "new password (their open sessions then need the new URL), or give the credentials file "
                    "written when they were provisioned."
                )
        plans.append((learner, user, details is None or rotate, password))
    accesses = []
    for learner, user, new_password, password in plans:
        rules = acl_rules(learner)
        if new_password:
            password = secrets.token_urlsafe(PASSWORD_BYTES)
            rules = ["reset", *rules, f">{password}"]
        else:
            rules = [*rules, "clearselectors"]
        _setuser(admin_client, user, rules)
        accesses.append(LearnerAccess(learner, user, namespace_for(learner), learner_url(base, user, password)))
    return accesses


def _setuser(admin_client, user: str, rules: list[str]) -> None:
    """ACL SETUSER, leaving out an :data:`OPTIONAL_COMMANDS` entry an older server does not know."""
    while True:
        try:
            admin_client.execute_command("ACL", "SETUSER", user, *rules)
            return
        except redis.ResponseError as error:
            unknown = next((f"+{c}" for c in OPTIONAL_COMMANDS if f"'+{c}'" in str(error) and f"+{c}" in rules), None)
            if unknown is None:
                raise
            rules = [rule for rule in rules if rule != unknown]


def revoke(admin_client, learners) -> list[str]:
    """Delete the learners' ACL users (and disconnect their sessions); return the users deleted.

    Learners without a user are skipped. A user under our name that this module did not make is
    refused (``ValueError``) before anything is deleted. Their keys are left where they are: the
    learner (or ``cacheaside-lab clean`` with their namespace) removes them.
    """
    names = require_learners(learners)
    users = []
    for learner in names:
        user = user_for(learner)
        details = _getuser(admin_client, user)
        if details is None:
            continue
        if not _is_ours(user, details):
            raise _not_ours_error(user, details)
        users.append(user)
    if users:
        admin_client.execute_command("ACL", "DELUSER", *users)
    return users


def list_learners(admin_client) -> list[dict]:
    """The learners provisioned on this server: ``{"learner", "user", "namespace", "enabled"}`` each."""
    found = []
    for user in sorted(_text(u) for u in admin_client.execute_command("ACL", "USERS")):
        if learner_of(user) is None:
            continue
        details = _getuser(admin_client, user)
        if details is None or not _is_ours(user, details):
            continue
        flags = [_text(f) for f in details.get("flags") or ()]
        found.append({
            "learner": learner_of(user), "user": user, "namespace": namespace_for(learner_of(user)),
            "enabled": "on" in flags,
        })
    return found


# -- the instructor's credentials file -------------------------------------------------------------

def write_credentials(path, accesses, *, server_url: str) -> Path:
    """Write the accesses as JSON, readable only by its owner (mode 0600), atomically.

    ``{"server": <server_url without credentials>, "learners": [{"learner", "user",
    "CACHEASIDE_REDIS_URL", "CACHEASIDE_NAMESPACE"}, ...]}``. The file is created 0600 before any
    password is written to it (never written world-readable and chmod-ed afterwards).
    """
    path = Path(path)
    accesses = list(accesses)
    for access in accesses:
        if not isinstance(access, LearnerAccess):
            raise TypeError(f"accesses must be LearnerAccess objects (from provision), not {access!r}.")
    document = {
        "server": server_url_without_credentials(server_url),
        "learners": [
            {"learner": a.learner, "user": a.user, **a.environment()} for a in accesses
        ],
    }
    if path.is_dir():
        raise ValueError(f"credentials path {str(path)!r} is a folder; give a file name such as creds.json.")
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise ValueError(f"the folder {str(directory)!r} for the credentials file does not exist.")
    descriptor, temporary = tempfile.mkstemp(prefix=".creds-", suffix=".json", dir=directory)  # 0600
    try:
        with os.fdopen(descriptor, "w") as handle:
            json.dump(document, handle, indent=2)
            handle.write("\n")
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def read_credentials(path) -> list[LearnerAccess]:
    """The accesses in a file :func:`write_credentials` wrote (refused if others may read it)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no credentials file at {str(path)!r}.")
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise ValueError(
            f"the credentials file {str(path)!r} has mode {mode:04o}: others may read the learners' "
            f"passwords. Run chmod 600 {path} (and consider rotating them: --rotate)."
        )
    try:
        document = json.loads(path.read_text())
        accesses = [
            LearnerAccess(
                learner=require_learner(entry["learner"]), user=entry["user"],
                namespace=entry[NAMESPACE_ENV], redis_url=entry[REDIS_URL_ENV],
            )
            for entry in document["learners"]
        ]
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise ValueError(
            f"{str(path)!r} is not a cacheaside-lab credentials file ({type(error).__name__}: {error}); expected "
            '{"server": ..., "learners": [{"learner", "user", "CACHEASIDE_REDIS_URL", "CACHEASIDE_NAMESPACE"}]}.'
        ) from None
    for access in accesses:
        if access.user != user_for(access.learner) or access.namespace != namespace_for(access.learner):
            raise ValueError(f"{str(path)!r}: the entry for {access.learner!r} names the wrong user or namespace.")
    return accesses
