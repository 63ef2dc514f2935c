"""What the workshop hub does for each learner; ``jupyterhub_config.py`` beside it calls :func:`configure`.

One Redis, one hub, a room of learners. The instructor provisions one Redis ACL user per learner
(``cacheaside-lab workshop provision ... --out creds.json``, :mod:`cacheaside_lab.workshop.acl`)
and starts the hub with ``CACHEASIDE_WORKSHOP_CREDENTIALS=creds.json``. Then, every time a
learner's JupyterLab is started, the hub

* reads the credentials file again (so a learner revoked, or a password rotated, since the hub
  started is seen at the next start) and refuses a server, with a message saying why and what the
  instructor runs, to anyone who is not in it;
* sets that learner's ``CACHEASIDE_REDIS_URL`` and ``CACHEASIDE_NAMESPACE`` in the server's
  environment, so every kernel the learner opens talks to Redis as their own confined user,
  under their own namespace, without anybody typing a password;
* copies the course (``notebooks/``, ``labs/``, ``docs/``, ``solutions/``) into the learner's
  home the first time, and never over the learner's own work afterwards.

Two modes, chosen by ``CACHEASIDE_HUB_MODE`` (``docs/workshop.md`` explains both):

* ``class`` (the default): JupyterHub's own production pieces, ``PAMAuthenticator`` (each learner
  a Unix user with a password of their own) and ``LocalProcessSpawner`` (each server runs *as*
  that Unix user, so nobody can read another learner's files or the instructor's 0600
  credentials file). The hub runs as root.
* ``rehearsal``: ``SharedPasswordAuthenticator`` and ``SimpleLocalProcessSpawner``, every server a
  process of the hub's own user with its home under one folder; loopback only. For trying the
  hub on a laptop and for ``tests/test_jupyterhub.py``; never for a class (anyone with the shared
  password can log in as any learner and so reach that learner's Redis user).
"""

from __future__ import annotations

import ipaddress
import os
import pwd
import shutil
import sys
from pathlib import Path

from jupyterhub.spawner import LocalProcessSpawner
from tornado import web

from cacheaside_lab.workshop.acl import LearnerAccess, read_credentials

CREDENTIALS_ENV = "CACHEASIDE_WORKSHOP_CREDENTIALS"
MODE_ENV = "CACHEASIDE_HUB_MODE"
MODES = ("class", "rehearsal")

# the settings configure() reads, with their defaults (docs/workshop.md has the same table)
SETTINGS = {
    MODE_ENV: "class",
    CREDENTIALS_ENV: None,  # required
    "CACHEASIDE_HUB_IP": "127.0.0.1",  # where learners' browsers connect (the proxy)
    "CACHEASIDE_HUB_PORT": "8000",
    "CACHEASIDE_HUB_API_PORT": "8081",  # the hub itself, on 127.0.0.1 only
    "CACHEASIDE_HUB_PROXY_API_PORT": "8001",  # the proxy's REST API, on 127.0.0.1 only
    "CACHEASIDE_HUB_STATE": None,  # folder for the hub's database, cookie secret, proxy pid (default: cwd)
    "CACHEASIDE_HUB_COURSE": None,  # the course checkout to copy from (default: this repository)
    "CACHEASIDE_HUB_COURSE_FOLDERS": "notebooks,labs,docs,solutions",
    "CACHEASIDE_HUB_HOMES": None,  # rehearsal: the folder holding each learner's home (default: STATE/homes)
    "CACHEASIDE_HUB_PASSWORD": None,  # rehearsal: the shared password (8 characters or more)
    "CACHEASIDE_HUB_ADMINS": "",  # class: comma-separated hub admins (the instructor's own login)
}

REPOSITORY = Path(__file__).resolve().parents[2]
START_PAGE = "/lab/tree/notebooks/00_start_here.ipynb"
MIN_PASSWORD_CHARS = 8  # SharedPasswordAuthenticator's own minimum


class HubConfigError(ValueError):
    """A setting the hub cannot start with: says which one, what was wrong, what is allowed."""


class NoServerForLearner(web.HTTPError):
    """A refused server start; JupyterHub shows ``jupyterhub_message`` to the learner as it is."""

    def __init__(self, message: str):
        super().__init__(403, message)
        self.jupyterhub_message = message


def setting(environ, name: str) -> str | None:
    value = environ.get(name, "").strip()
    return value or SETTINGS[name]


def port_setting(environ, name: str) -> int:
    text = setting(environ, name)
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise HubConfigError(f"{name} must be a TCP port, a whole number from 1 to 65535; got {text!r}.")
    return int(text)


def credentials_path(environ) -> Path:
    text = setting(environ, CREDENTIALS_ENV)
    if text is None:
        raise HubConfigError(
            f"{CREDENTIALS_ENV} is not set. Provision the class first and point the hub at the file: "
            "cacheaside-lab workshop provision --redis-url ADMIN_URL --learners-file names.txt "
            f"--out creds.json, then {CREDENTIALS_ENV}=$PWD/creds.json jupyterhub -f "
            "deploy/jupyterhub/jupyterhub_config.py"
        )
    return Path(text).expanduser().resolve()


def load_learners(path) -> dict[str, LearnerAccess]:
    """``{learner name: LearnerAccess}`` from the instructor's credentials file (checked by ``read_credentials``)."""
    try:
        accesses = read_credentials(path)
    except ValueError as error:
        raise HubConfigError(f"{CREDENTIALS_ENV}: {error}") from None
    return {access.learner: access for access in accesses}


def learner_environment(path, name: str) -> dict:
    """The learner's ``CACHEASIDE_REDIS_URL`` and ``CACHEASIDE_NAMESPACE``, read from the file now.

    Refuses (:class:`NoServerForLearner`) a name the file does not hold, or a file that cannot be
    read, with one message the learner sees and can pass to the instructor.
    """
    try:
        learners = load_learners(path)
    except HubConfigError as error:
        raise NoServerForLearner(
            f"No server for {name!r}: the workshop's credentials file cannot be read ({error}). "
            "Ask the instructor to check it."
        ) from None
    if name not in learners:
        raise NoServerForLearner(
            f"No server for {name!r}: this workshop has no Redis user for you, so your notebooks could "
            f"not reach the course's Redis. Ask the instructor to add you (cacheaside-lab workshop "
            f"provision --learners {name} ... --out {path}); the learners it has are: "
            f"{', '.join(sorted(learners)) or 'none'}."
        )
    return learners[name].environment()


def course_folders(environ) -> list[str]:
    names = [part.strip() for part in setting(environ, "CACHEASIDE_HUB_COURSE_FOLDERS").split(",") if part.strip()]
    bad = [n for n in names if n in (".", "..") or "/" in n or "\\" in n]
    if not names or bad:
        raise HubConfigError(
            "CACHEASIDE_HUB_COURSE_FOLDERS must be a comma-separated list of folder names at the top of "
            f"the course (e.g. 'notebooks,labs,docs'), no paths; got {setting(environ, 'CACHEASIDE_HUB_COURSE_FOLDERS')!r}."
        )
    return names


def copy_course(course: Path, home: Path, folders, *, owner: tuple[int, int] | None = None) -> list[str]:
    """Copy each course folder into ``home`` unless the learner already has it; the names copied.

    A folder the learner already has is never touched, so a restart (or a second login) keeps
    their work. ``owner`` (uid, gid) chowns what was copied, for a spawner that runs the server
    as the learner's own Unix user.
    """
    home.mkdir(parents=True, exist_ok=True)
    copied = []
    for name in folders:
        source, target = course / name, home / name
        if target.exists() or target.is_symlink() or not source.is_dir():  # never write through a learner's link
            continue
        shutil.copytree(source, target, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "fresh", "backup", "__pycache__"))
        if owner is not None:
            for path in [target, *target.rglob("*")]:
                os.chown(path, *owner, follow_symlinks=False)
        copied.append(name)
    return copied


def learner_home(spawner) -> tuple[Path | None, tuple[int, int] | None]:
    """Where the learner's server starts, and the (uid, gid) to own the course copied there.

    ``SimpleLocalProcessSpawner`` (rehearsal): its ``home_dir``, owned by the hub's user.
    ``LocalProcessSpawner`` and ``SystemdSpawner`` run the server as the learner's Unix user: that
    user's home, owned by them (no such user: refused, with what the instructor runs). Any other
    spawner (DockerSpawner, KubeSpawner) starts the server elsewhere: ``(None, None)``.
    """
    name = spawner.user.name
    if hasattr(spawner, "home_dir_template"):
        return Path(spawner.home_dir), None
    if isinstance(spawner, LocalProcessSpawner) or type(spawner).__name__ == "SystemdSpawner":
        try:
            account = pwd.getpwnam(name)
        except KeyError:
            raise NoServerForLearner(
                f"No server for {name!r}: there is no Unix user {name!r} on the hub's machine, and "
                f"{type(spawner).__name__} runs each learner's server as their own Unix user. Ask the "
                f"instructor to create it (useradd -m {name}) and set its password."
            ) from None
        return Path(account.pw_dir), (account.pw_uid, account.pw_gid)
    return None, None


def make_pre_spawn_hook(path: Path, course: Path, folders):
    """The ``Spawner.pre_spawn_hook``: the learner's Redis settings and their copy of the course."""

    def pre_spawn_hook(spawner):
        name = spawner.user.name
        environment = learner_environment(path, name)
        # a new dict for this spawner: the configured one is shared by every learner's spawner
        spawner.environment = {**spawner.environment, **environment}
        home, owner = learner_home(spawner)
        if home is None:
            spawner.log.info(
                "cacheaside-lab: %s gets namespace %s; %s runs the server elsewhere, so the course is not "
                "copied (its image or volume must hold it)", name, environment["CACHEASIDE_NAMESPACE"],
                type(spawner).__name__,
            )
            return
        copied = copy_course(course, home, folders, owner=owner)
        spawner.log.info(
            "cacheaside-lab: %s gets namespace %s; course folders copied into %s: %s",
            name, environment["CACHEASIDE_NAMESPACE"], home, ", ".join(copied) or "none (already there)",
        )

    return pre_spawn_hook


def singleuser_command() -> list[str]:
    """The single-user server of the hub's own environment (the course's venv), by absolute path."""
    script = Path(sys.executable).with_name("jupyterhub-singleuser")
    return [str(script)] if script.exists() else [sys.executable, "-m", "jupyterhub.singleuser"]


def configure(c, environ=None) -> dict:
    """Set the hub's configuration ``c`` from the environment; returns what it chose (for the log and tests).

    Raises :class:`HubConfigError` with one clear line for any setting it cannot use.
    """
    environ = os.environ if environ is None else environ
    mode = setting(environ, MODE_ENV)
    if mode not in MODES:
        raise HubConfigError(f"{MODE_ENV} must be one of {', '.join(MODES)}; got {mode!r}.")
    path = credentials_path(environ)
    learners = load_learners(path)  # refuse to start on a missing or unreadable file
    if not learners:
        raise HubConfigError(f"{CREDENTIALS_ENV}: {str(path)!r} holds no learners; provision some first.")
    ip = setting(environ, "CACHEASIDE_HUB_IP")
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        raise HubConfigError(f"CACHEASIDE_HUB_IP must be an IP address such as 127.0.0.1 or 0.0.0.0; got {ip!r}.") from None
    if mode == "rehearsal" and not address.is_loopback:
        raise HubConfigError(
            f"CACHEASIDE_HUB_IP={ip} in rehearsal mode: a rehearsal hub (one shared password, every "
            "server under one Unix user) listens on loopback only (e.g. 127.0.0.1). Use "
            f"{MODE_ENV}=class for a hub learners reach over the network."
        )
    port = port_setting(environ, "CACHEASIDE_HUB_PORT")
    api_port = port_setting(environ, "CACHEASIDE_HUB_API_PORT")
    proxy_api_port = port_setting(environ, "CACHEASIDE_HUB_PROXY_API_PORT")
    if len({port, api_port, proxy_api_port}) < 3:
        raise HubConfigError(
            "CACHEASIDE_HUB_PORT, CACHEASIDE_HUB_API_PORT and CACHEASIDE_HUB_PROXY_API_PORT must be three "
            f"different ports; got {port}, {api_port} and {proxy_api_port}."
        )
    state = Path(setting(environ, "CACHEASIDE_HUB_STATE") or Path.cwd()).expanduser().resolve()
    if not state.is_dir():
        raise HubConfigError(f"CACHEASIDE_HUB_STATE: {str(state)!r} is not a folder; create it first.")
    course = Path(setting(environ, "CACHEASIDE_HUB_COURSE") or REPOSITORY).expanduser().resolve()
    if not (course / "notebooks").is_dir():
        raise HubConfigError(
            f"CACHEASIDE_HUB_COURSE: {str(course)!r} has no notebooks/ folder; point it at a checkout of the course."
        )
    folders = course_folders(environ)

    # where everything listens: learners reach the proxy; the hub and the proxy's API stay on loopback
    c.JupyterHub.bind_url = f"http://{ip if address.version == 4 else f'[{ip}]'}:{port}"
    c.JupyterHub.hub_ip = "127.0.0.1"
    c.JupyterHub.hub_port = api_port
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{proxy_api_port}"
    c.ConfigurableHTTPProxy.pid_file = str(state / "jupyterhub-proxy.pid")
    c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
    # class: restarting the hub (to admit a learner provisioned late, say) keeps every learner's
    # server running, and the new hub finds them again; rehearsal: stopping the hub stops them all
    c.JupyterHub.cleanup_servers = mode == "rehearsal"
    c.JupyterHub.cleanup_proxy = True

    # who may log in: the learners in the file (read again at every server start)
    c.Authenticator.allowed_users = set(learners)

    # each learner's server: the course's own environment, their Redis settings, their copy of the course
    c.Spawner.cmd = singleuser_command()
    c.Spawner.ip = "127.0.0.1"
    c.Spawner.default_url = START_PAGE
    c.Spawner.pre_spawn_hook = make_pre_spawn_hook(path, course, folders)

    if mode == "rehearsal":
        password = setting(environ, "CACHEASIDE_HUB_PASSWORD")
        if password is None or len(password) < MIN_PASSWORD_CHARS:
            raise HubConfigError(
                f"CACHEASIDE_HUB_PASSWORD must be set, at least {MIN_PASSWORD_CHARS} characters, in rehearsal "
                "mode: it is the one password every learner logs in with."
            )
        homes = Path(setting(environ, "CACHEASIDE_HUB_HOMES") or state / "homes").expanduser().resolve()
        homes.mkdir(parents=True, exist_ok=True)
        c.JupyterHub.authenticator_class = "shared-password"
        c.SharedPasswordAuthenticator.user_password = password
        c.JupyterHub.spawner_class = "simple"
        c.SimpleLocalProcessSpawner.home_dir_template = str(homes / "{username}")
        if os.geteuid() == 0:  # a rehearsal as root (a container): Jupyter Server refuses root without it
            c.Spawner.args = ["--allow-root"]
    else:
        homes = None
        admins = {name.strip() for name in setting(environ, "CACHEASIDE_HUB_ADMINS").split(",") if name.strip()}
        c.Authenticator.admin_users = admins  # may stop servers at /hub/admin; a learner only if in the file too
        c.JupyterHub.authenticator_class = "pam"
        c.JupyterHub.spawner_class = "localprocess"
    return {
        "mode": mode, "credentials": path, "learners": sorted(learners), "bind_url": c.JupyterHub.bind_url,
        "state": state, "course": course, "folders": folders, "homes": homes,
        "admins": sorted(c.Authenticator.admin_users) if mode == "class" else [],
    }
