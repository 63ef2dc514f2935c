"""Is this machine ready for the course? One function answers, for notebook 00 and the CLI.

It checks the things that go wrong in workshops: the wrong Python or kernel, a Redis URL that
does not answer, Lua missing from fakeredis, and the ipywidgets JupyterLab extension not
installed (the symptom is "Error displaying widget" in every interactive cell).
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sys
from pathlib import Path

from .backend import REDIS_URL_ENV, connect_cache, describe_backend, is_fake, redis_url_from_env
from .keys import root_namespace
from .redis_server import find_redis_server

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


def check_cache(url: str | None = None) -> dict:
    """Connect as the course would and try PING, a JSON round trip and a Lua script."""
    result = {"backend": None, "redis_answers": False, "lua": False, "server_version": None, "error": None}
    try:
        client = connect_cache(url)
        result["backend"] = describe_backend(client)
        result["redis_answers"] = bool(client.ping())
        probe = f"{root_namespace()}doctor:probe"
        result["lua"] = client.eval("return redis.call('SET', KEYS[1], ARGV[1], 'PX', 5000)", 1, probe, "1") in ("OK", b"OK")
        client.delete(probe)
        if is_fake(client):
            result["server_version"] = f"fakeredis {package_version('fakeredis')}"
        else:
            result["server_version"] = f"redis {client.info('server').get('redis_version')}"
    except Exception as error:  # report, never crash: this is a diagnostic
        result["error"] = f"{type(error).__name__}: {error}"
    return result


def widgets_extension_installed() -> bool:
    """The JupyterLab side of ipywidgets, installed as a prebuilt extension by jupyterlab_widgets."""
    prefixes = {sys.prefix, sys.base_prefix, os.path.expanduser("~/.local")}
    return package_version("jupyterlab_widgets") is not None and any(
        (Path(prefix) / WIDGETS_EXTENSION).exists() for prefix in prefixes
    )


def report(url: str | None = None) -> dict:
    """Everything the doctor knows, as a dict (``cacheaside-lab doctor --json`` prints it)."""
    cache = check_cache(url)
    problems = []
    if cache["error"] or not cache["redis_answers"]:
        problems.append(
            f"the cache does not answer ({cache['error']}); check {REDIS_URL_ENV} "
            "or unset it to use the in-process fakeredis"
        )
    elif not cache["lua"]:
        problems.append("Lua scripts do not run; install fakeredis with its lua extra (lupa)")
    if not widgets_extension_installed():
        problems.append("the ipywidgets JupyterLab extension is missing; run `make lab` to reinstall")
    if sys.version_info < (3, 11):
        problems.append(f"Python {platform.python_version()} is too old; the course needs 3.11+")
    return {
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "packages": {name: package_version(name) for name in PACKAGES},
        "redis_url": url or redis_url_from_env(),
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
        f"cache backend     {info['backend'] or 'unavailable'}",
        f"server            {info['server_version'] or '-'}",
        f"Redis answers     {yes(info['redis_answers'])}",
        f"Lua scripts       {yes(info['lua'])}",
        f"key namespace     {info['namespace']}",
        f"widgets extension {yes(info['widgets_extension'])}",
        f"redis-server      {info['redis_server_binary'] or 'not installed (optional: real-Redis demos)'}",
        "packages          " + ", ".join(f"{name} {version or 'MISSING'}" for name, version in info["packages"].items()),
    ]
    if info["problems"]:
        lines += ["", "Problems:", *(f"  - {problem}" for problem in info["problems"])]
    else:
        lines += ["", "All good: the course is ready to run."]
    return "\n".join(lines)
