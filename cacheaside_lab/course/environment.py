"""Is this machine ready for the course? One function answers, for notebook 00 and the CLI.

It checks the things that go wrong in workshops: the wrong Python or kernel, a Redis URL that
does not answer (or answers but whose ACL denies this learner), Lua missing from fakeredis, and the ipywidgets JupyterLab extension not
installed (the symptom is "Error displaying widget" in every interactive cell). It shows the
Redis URL with its password masked, because doctor output is what learners paste into chats.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import sys
from pathlib import Path

import redis
from redis.exceptions import NoPermissionError

from ..stores.backend import REDIS_URL_ENV, connect_cache, describe_backend, is_fake, redis_url_from_env
from ..core.keys import course_pattern, root_namespace
from ..stores.redact import redact_secrets, redact_url
from ..stores.redis_server import find_redis_server

PACKAGES = (
    "cacheaside-lab", "jupyterlab", "ipywidgets", "jupyterlab_widgets", "redis", "fakeredis",
    "lupa", "sqlite-utils", "numpy", "matplotlib",
)
WIDGETS_EXTENSION = Path("share/jupyter/labextensions/@jupyter-widgets/jupyterlab-manager/package.json")


def package_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


# The only commands the doctor sends. None of them is INFO-only, KEYS, CONFIG or FLUSH*: a learner
# on a shared server usually may not run those, and the doctor must still give a true answer.
PROBE_COMMANDS = ("PING", "SET", "GET", "DEL", "EVAL", "EVALSHA", "SCRIPT LOAD", "SCAN")


def _failure(error: Exception) -> str:
    return redact_secrets(f"{type(error).__name__}: {error}")


def check_cache(url: str | None = None) -> dict:
    """Connect as the course would and try PING, a JSON round trip, a Lua script and INFO.

    Three outcomes are kept apart because they need different fixes: the server does not
    answer (address, TLS, server down), it rejects the credentials, or it answers but its ACL
    denies this user a command or the course's keys. INFO only gives the server's version, so
    when the ACL denies it the doctor says it skipped that and carries on.
    """
    result = {
        "backend": None, "redis_answers": False, "lua": False, "json_round_trip": False,
        "server_version": None, "error": None, "status": "does not answer",
        "denied": [], "skipped": [],
    }
    try:
        client = connect_cache(url)
        result["backend"] = describe_backend(client)
    except Exception as error:  # a malformed URL: report, never crash
        result["error"], result["status"] = _failure(error), "misconfigured"
        return result
    probe = f"{root_namespace()}doctor:probe"
    steps = (
        ("PING", lambda: client.ping()),
        ("SET/GET/DEL of a JSON value under the namespace", lambda: _json_round_trip(client, probe)),
        ("EVAL (Lua scripts)", lambda: _lua_round_trip(client, probe)),
        ("EVALSHA/SCRIPT LOAD (the course's registered scripts)", lambda: _registered_script(client, probe)),
        (f"SCAN MATCH {root_namespace()}* (clean and the lab checks)", lambda: _scan_namespace(client)),
    )
    try:
        for name, step in steps:
            try:
                outcome = step()
            except NoPermissionError as error:
                # The server answered: NOPERM is its reply. This is configuration, not an outage.
                result["redis_answers"] = True
                result["denied"].append(f"{name}: {redact_secrets(error)}")
                continue
            result["redis_answers"] = True
            if name.startswith("SET"):
                result["json_round_trip"] = bool(outcome)
            elif name.startswith("EVAL ("):
                result["lua"] = bool(outcome)
        result["server_version"] = _server_version(client, result["skipped"])
        result["status"] = "denied by ACL" if result["denied"] else "ok"
    except redis.AuthenticationError as error:
        result["error"], result["status"] = _failure(error), "credentials rejected"
    except (redis.ConnectionError, redis.TimeoutError, OSError) as error:
        result["error"] = _failure(error)
    except Exception as error:  # report, never crash: this is a diagnostic
        result["error"], result["status"] = _failure(error), "error"
    finally:
        client.close()
    return result


def _json_round_trip(client, key: str) -> bool:
    value = json.dumps({"doctor": "probe"})
    client.set(key, value, px=5000)
    try:
        return client.get(key) == value
    finally:
        client.delete(key)


def _lua_round_trip(client, key: str) -> bool:
    try:
        return client.eval("return redis.call('SET', KEYS[1], ARGV[1], 'PX', 5000)", 1, key, "1") in ("OK", b"OK")
    finally:
        client.delete(key)


def _registered_script(client, key: str) -> bool:
    # how LuaScript runs every script: EVALSHA, and SCRIPT LOAD when the server does not know it
    script = client.register_script("return redis.call('EXISTS', KEYS[1])")
    return script(keys=[key]) in (0, 1)


def _scan_namespace(client) -> bool:
    # only our namespace: SCAN walks the whole keyspace, but MATCH keeps other keys' names out
    for _key in client.scan_iter(match=course_pattern(), count=100):
        break
    return True


def _server_version(client, skipped: list) -> str:
    if is_fake(client):
        return f"fakeredis {package_version('fakeredis')}"
    try:
        return f"redis {client.info('server').get('redis_version')}"
    except NoPermissionError:
        skipped.append("INFO (only used to show the server version): denied by ACL, skipped")
        return "redis (version unknown: INFO denied by ACL)"


def _cache_problem(cache: dict, url: str | None) -> str | None:
    status = cache["status"]
    if status == "ok":
        if not cache["lua"]:
            return "Lua scripts do not run; install fakeredis with its lua extra (lupa)"
        return None
    if status == "denied by ACL":
        return (
            f"the cache answers, but its ACL denies this user what the course needs: "
            f"{'; '.join(cache['denied'])}. The course runs GET, SET, DEL, MGET, EVAL, EVALSHA, SCRIPT LOAD and SCAN on "
            f"keys under its namespace {root_namespace()!r}: ask for those commands on "
            f"'~{root_namespace()}*', or set CACHEASIDE_NAMESPACE to the namespace you were given"
        )
    if status == "credentials rejected":
        return (
            f"the cache answers but rejects the username/password ({cache['error']}); "
            f"check the credentials in {REDIS_URL_ENV}"
        )
    hint = f"check {REDIS_URL_ENV} or unset it to use the in-process fakeredis"
    if status in ("misconfigured", "error"):
        return f"the cache could not be checked ({cache['error']}); {hint}"
    # A TLS mismatch does not look like a refused connection: the TLS handshake waits for an
    # answer a plain server never sends (timeout), or a TLS server hangs up on plain text.
    error = cache["error"] or ""
    if "TLS" in error:
        pass  # the connection's own error already carries the TLS hint
    elif url and url.startswith("rediss://") and ("Timeout" in error or "SSL" in error):
        hint += "; the URL asks for TLS (rediss://): if the server does not use TLS, use redis://"
    elif url and url.startswith("redis://") and ("Timeout" in error or "closed by server" in error):
        hint += "; if the server only accepts TLS, use rediss://"
    return f"the cache does not answer ({cache['error']}); {hint}"


def widgets_extension_installed() -> bool:
    """The JupyterLab side of ipywidgets, installed as a prebuilt extension by jupyterlab_widgets."""
    prefixes = {sys.prefix, sys.base_prefix, os.path.expanduser("~/.local")}
    return package_version("jupyterlab_widgets") is not None and any(
        (Path(prefix) / WIDGETS_EXTENSION).exists() for prefix in prefixes
    )


def report(url: str | None = None) -> dict:
    """Everything the doctor knows, as a dict (``cacheaside-lab doctor --json`` prints it)."""
    url = url or redis_url_from_env()
    cache = check_cache(url)
    problems = [problem] if (problem := _cache_problem(cache, url)) else []
    if not widgets_extension_installed():
        problems.append("the ipywidgets JupyterLab extension is missing; run `make lab` to reinstall")
    if sys.version_info < (3, 11):
        problems.append(f"Python {platform.python_version()} is too old; the course needs 3.11+")
    return {
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "packages": {name: package_version(name) for name in PACKAGES},
        "redis_url": redact_url(url),  # never the password: this output gets pasted around
        "namespace": root_namespace(),
        "redis_server_binary": find_redis_server(),
        "widgets_extension": widgets_extension_installed(),
        **cache,
        "ok": not problems,
        "problems": problems,
    }


def format_report(info: dict) -> str:
    def yes(flag):
        return "yes" if flag else "NO"

    lines = [
        f"Python            {info['python']} ({info['python_executable']})",
        f"Redis URL         {info['redis_url'] or '- (in-process fakeredis)'}",
        f"cache backend     {info['backend'] or 'unavailable'}",
        f"server            {info['server_version'] or '-'}",
        f"Redis answers     {yes(info['redis_answers'])}",
        f"cache status      {info['status']}",
        f"JSON round trip   {yes(info['json_round_trip'])}",
        f"Lua scripts       {yes(info['lua'])}",
        f"key namespace     {info['namespace']}",
        f"widgets extension {yes(info['widgets_extension'])}",
        f"redis-server      {info['redis_server_binary'] or 'not installed (optional: real-Redis demos)'}",
        "packages          " + ", ".join(f"{name} {version or 'MISSING'}" for name, version in info["packages"].items()),
    ]
    if info["skipped"]:
        lines += ["", "Skipped:", *(f"  - {item}" for item in info["skipped"])]
    if info["problems"]:
        lines += ["", "Problems:", *(f"  - {problem}" for problem in info["problems"])]
    else:
        lines += ["", "All good: the course is ready to run."]
    return "\n".join(lines)
