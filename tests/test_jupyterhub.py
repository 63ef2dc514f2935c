"""The workshop hub (deploy/jupyterhub/): each learner's JupyterLab gets their own Redis user, unasked.

Two halves. The first loads the configuration and calls its spawn hook directly (no hub, no
Redis): settings it must refuse, the environment it gives a learner, the course it copies, the
learner it refuses a server. The second starts the real thing on loopback: a private
redis-server with three provisioned learners (``cacheaside_lab.workshop.acl``), JupyterHub with
``deploy/jupyterhub/jupyterhub_config.py`` in rehearsal mode and its configurable-http-proxy.
Two learners log in over HTTP, start their servers and run lecture 01's cells in a kernel of
their own (the single-user server's REST and kernel websocket API, with the learner's own
token); then the admin client sees every key in one of the two namespaces, and each learner's
kernel is refused the other's key for a read, a write and a delete. The third learner, taken
out of the credentials file after the hub started, is refused a server with the hub's message.

The proxy is a Node program. Without it the second half is skipped with one line saying how to
install it, except under CI (``CI=true``), where it must run.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pytest

jupyterhub = pytest.importorskip(
    "jupyterhub", reason="jupyterhub is not installed: pip install -c requirements.lock -e '.[workshop]'"
)

import httpx  # noqa: E402
from traitlets.config import Config, PyFileConfigLoader  # noqa: E402

from cacheaside_lab.workshop.acl import LearnerAccess, provision, write_credentials  # noqa: E402
from cacheaside_lab.stores.redis_server import RedisServer, find_redis_server, free_loopback_port  # noqa: E402
from notebook_files import CHECK_MARK, code_cells, load_sanitizers, read, sanitize  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy" / "jupyterhub"
CONFIG = DEPLOY / "jupyterhub_config.py"
sys.path.insert(0, str(DEPLOY))
import cacheaside_hub  # noqa: E402

CHP_VERSION = "4.6.3"  # the same pin as .ci/run
NO_PROXY_MESSAGE = (
    "configurable-http-proxy is not installed, so the JupyterHub test is skipped; enable it with "
    f"apt-get install nodejs npm && npm install -g configurable-http-proxy@{CHP_VERSION}"
)
NO_REDIS_MESSAGE = (
    "redis-server is not installed, so the JupyterHub test is skipped; install it (apt-get install redis-server)"
)
LECTURE = "notebooks/01_the_pattern.ipynb"
PASSWORD = "rehearsal-" + uuid.uuid4().hex[:12]
HUB_START_S = 60  # bounded waits: the hub and its proxy, a learner's server, one cell
SERVER_START_S = 90
CELL_S = 60
SANITIZERS = load_sanitizers()
BACKEND_WORDS = ("fakeredis", "redis-server", "unix://", "redis://")


# ---------------------------------------------------------------------------------------------
# The configuration and its hook, without a hub


def access(learner: str, port: int = 6379) -> LearnerAccess:
    user = f"cacheaside-lab-{learner}"
    return LearnerAccess(learner, user, f"{user}:", f"redis://{user}:pw-{learner}@127.0.0.1:{port}/0")


@pytest.fixture
def course(tmp_path):
    """A tiny course checkout (the hook copies folders; the real one is large)."""
    root = tmp_path / "course"
    for name in ("notebooks", "labs", "docs", "solutions"):
        (root / name).mkdir(parents=True)
        (root / name / f"{name}.txt").write_text(f"the course's {name}\n")
    (root / "labs" / "fresh").mkdir()  # labgen's scratch folder: never copied
    return root


@pytest.fixture
def rehearsal_env(tmp_path, course):
    credentials = tmp_path / "creds.json"
    write_credentials(credentials, [access("alice"), access("bob")], server_url="redis://127.0.0.1:6379/0")
    state = tmp_path / "state"
    state.mkdir()
    return {
        "CACHEASIDE_HUB_MODE": "rehearsal",
        "CACHEASIDE_WORKSHOP_CREDENTIALS": str(credentials),
        "CACHEASIDE_HUB_PASSWORD": PASSWORD,
        "CACHEASIDE_HUB_STATE": str(state),
        "CACHEASIDE_HUB_COURSE": str(course),
    }


class FakeLog:
    def __init__(self):
        self.lines = []

    def info(self, message, *args):
        self.lines.append(message % args)


def fake_spawner(name: str, home: Path):
    """What the hook reads of a SimpleLocalProcessSpawner: the user's name, its home, its environment."""
    return SimpleNamespace(
        user=SimpleNamespace(name=name), environment={"KEPT": "yes"}, home_dir_template=str(home.parent / "{username}"),
        home_dir=str(home), log=FakeLog(),
    )


def test_rehearsal_config_binds_loopback_and_admits_the_learners_in_the_file(rehearsal_env, tmp_path):
    c = Config()
    chosen = cacheaside_hub.configure(c, rehearsal_env)
    assert chosen["mode"] == "rehearsal" and chosen["learners"] == ["alice", "bob"]
    assert c.JupyterHub.bind_url == "http://127.0.0.1:8000"
    assert c.JupyterHub.hub_ip == "127.0.0.1" and c.ConfigurableHTTPProxy.api_url == "http://127.0.0.1:8001"
    assert c.Authenticator.allowed_users == {"alice", "bob"}
    assert c.JupyterHub.authenticator_class == "shared-password" and c.JupyterHub.spawner_class == "simple"
    assert c.JupyterHub.db_url == f"sqlite:///{tmp_path / 'state' / 'jupyterhub.sqlite'}"
    assert Path(c.Spawner.cmd[0]).parent == Path(sys.executable).parent  # the course's own environment
    assert c.JupyterHub.cleanup_servers is True  # stopping a rehearsal stops every learner's server


def test_class_mode_uses_jupyterhubs_production_pieces(rehearsal_env):
    c = Config()
    env = {**rehearsal_env, "CACHEASIDE_HUB_MODE": "class", "CACHEASIDE_HUB_IP": "0.0.0.0",
           "CACHEASIDE_HUB_ADMINS": "teacher, ta"}
    env.pop("CACHEASIDE_HUB_PASSWORD")
    cacheaside_hub.configure(c, env)
    assert c.JupyterHub.authenticator_class == "pam" and c.JupyterHub.spawner_class == "localprocess"
    assert c.JupyterHub.bind_url == "http://0.0.0.0:8000" and c.JupyterHub.hub_ip == "127.0.0.1"
    assert c.Authenticator.admin_users == {"teacher", "ta"}
    assert c.JupyterHub.cleanup_servers is False  # a restart (to admit a late learner) keeps every server


@pytest.mark.parametrize(
    "change, words",
    [
        ({"CACHEASIDE_WORKSHOP_CREDENTIALS": ""}, ["CACHEASIDE_WORKSHOP_CREDENTIALS is not set", "workshop provision"]),
        ({"CACHEASIDE_WORKSHOP_CREDENTIALS": "/nonexistent/creds.json"}, ["no credentials file"]),
        ({"CACHEASIDE_HUB_MODE": "open"}, ["CACHEASIDE_HUB_MODE must be one of class, rehearsal", "'open'"]),
        ({"CACHEASIDE_HUB_IP": "0.0.0.0"}, ["loopback only", "CACHEASIDE_HUB_MODE=class"]),
        ({"CACHEASIDE_HUB_IP": "localhost"}, ["must be an IP address", "'localhost'"]),
        ({"CACHEASIDE_HUB_PASSWORD": "short"}, ["at least 8 characters"]),
        ({"CACHEASIDE_HUB_PORT": "80000"}, ["CACHEASIDE_HUB_PORT must be a TCP port", "'80000'"]),
        ({"CACHEASIDE_HUB_API_PORT": "8000"}, ["three different ports", "8000, 8000 and 8001"]),
        ({"CACHEASIDE_HUB_COURSE": "/"}, ["has no notebooks/ folder"]),
        ({"CACHEASIDE_HUB_COURSE_FOLDERS": "notebooks,../etc"}, ["no paths", "'notebooks,../etc'"]),
    ],
)
def test_settings_the_hub_cannot_use_stop_it_with_one_clear_line(rehearsal_env, change, words):
    with pytest.raises(cacheaside_hub.HubConfigError) as refused:
        cacheaside_hub.configure(Config(), {**rehearsal_env, **change})
    for word in words:
        assert word in str(refused.value)


def test_a_world_readable_credentials_file_stops_the_hub(rehearsal_env):
    os.chmod(rehearsal_env["CACHEASIDE_WORKSHOP_CREDENTIALS"], 0o644)
    with pytest.raises(cacheaside_hub.HubConfigError, match="chmod 600"):
        cacheaside_hub.configure(Config(), rehearsal_env)


def test_the_config_file_itself_loads_and_refuses_a_hub_without_credentials(rehearsal_env, monkeypatch):
    for name, value in rehearsal_env.items():
        monkeypatch.setenv(name, value)
    loader = PyFileConfigLoader(CONFIG.name, path=str(DEPLOY))
    config = loader.load_config()
    assert config.JupyterHub.spawner_class == "simple"
    assert callable(config.Spawner.pre_spawn_hook)
    monkeypatch.delenv("CACHEASIDE_WORKSHOP_CREDENTIALS")
    with pytest.raises(SystemExit, match="CACHEASIDE_WORKSHOP_CREDENTIALS is not set"):
        PyFileConfigLoader(CONFIG.name, path=str(DEPLOY)).load_config()


def test_the_hook_gives_the_learner_their_own_redis_settings_and_the_course(rehearsal_env, tmp_path):
    c = Config()
    cacheaside_hub.configure(c, rehearsal_env)
    home = tmp_path / "homes" / "alice"
    spawner = fake_spawner("alice", home)
    configured = spawner.environment
    c.Spawner.pre_spawn_hook(spawner)
    assert spawner.environment == {"KEPT": "yes", **access("alice").environment()}
    assert configured == {"KEPT": "yes"}, "the hook changed the dict every learner's spawner shares"
    assert sorted(p.name for p in home.iterdir()) == ["docs", "labs", "notebooks", "solutions"]
    assert not (home / "labs" / "fresh").exists()
    assert "cacheaside-lab-alice:" in spawner.log.lines[0]


def test_the_hook_never_copies_over_the_learners_own_work(rehearsal_env, tmp_path):
    c = Config()
    cacheaside_hub.configure(c, rehearsal_env)
    home = tmp_path / "homes" / "bob"
    c.Spawner.pre_spawn_hook(fake_spawner("bob", home))
    (home / "labs" / "labs.txt").write_text("bob's answers\n")
    c.Spawner.pre_spawn_hook(fake_spawner("bob", home))
    assert (home / "labs" / "labs.txt").read_text() == "bob's answers\n"
    # a link the learner made where a course folder goes is left alone, never written through
    shutil.rmtree(home / "docs")
    (home / "docs").symlink_to(tmp_path / "elsewhere")
    c.Spawner.pre_spawn_hook(fake_spawner("bob", home))
    assert not (tmp_path / "elsewhere").exists()


def test_a_learner_missing_from_the_file_is_refused_a_server_with_the_reason(rehearsal_env, tmp_path):
    c = Config()
    cacheaside_hub.configure(c, rehearsal_env)
    # the file is read again at every start: carol was never in it, bob is revoked after the hub started
    write_credentials(rehearsal_env["CACHEASIDE_WORKSHOP_CREDENTIALS"], [access("alice")], server_url="redis://127.0.0.1:6379/0")
    for name in ("carol", "bob"):
        spawner = fake_spawner(name, tmp_path / "homes" / name)
        with pytest.raises(cacheaside_hub.NoServerForLearner) as refused:
            c.Spawner.pre_spawn_hook(spawner)
        message = refused.value.jupyterhub_message
        assert refused.value.status_code == 403
        assert f"No server for {name!r}" in message and f"--learners {name}" in message and "alice" in message
        assert "CACHEASIDE" not in str(spawner.environment) and not (tmp_path / "homes" / name).exists()


class ContainerSpawner:
    """Stands for DockerSpawner or KubeSpawner: the server starts elsewhere, the image has the course."""

    def __init__(self, name: str):
        self.user, self.environment, self.log = SimpleNamespace(name=name), {}, FakeLog()


def test_class_mode_gives_a_container_spawner_the_settings_and_copies_nothing(rehearsal_env):
    c = Config()
    cacheaside_hub.configure(c, {**rehearsal_env, "CACHEASIDE_HUB_MODE": "class"})
    spawner = ContainerSpawner("alice")
    c.Spawner.pre_spawn_hook(spawner)
    assert spawner.environment == access("alice").environment()
    assert "not copied" in spawner.log.lines[0]


def test_class_mode_refuses_a_learner_without_a_unix_user():
    from jupyterhub.spawner import LocalProcessSpawner

    name = f"nobody-{uuid.uuid4().hex[:8]}"
    spawner = LocalProcessSpawner(user=SimpleNamespace(name=name, url=f"/user/{name}/"))
    with pytest.raises(cacheaside_hub.NoServerForLearner, match=f"no Unix user '{name}'.*useradd -m {name}"):
        cacheaside_hub.learner_home(spawner)


# ---------------------------------------------------------------------------------------------
# The real hub, on loopback


@dataclass
class Hub:
    url: str
    process: subprocess.Popen
    log_path: Path
    state: Path
    homes: Path
    credentials: Path
    accesses: dict
    admin: object
    sessions: dict = field(default_factory=dict)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no hub log)"


def running_in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"  # as tests/conftest.py decides it


def proxy_or_skip() -> str:
    found = shutil.which("configurable-http-proxy")
    if found is None:
        if running_in_ci():
            pytest.fail(f"CI=true but {NO_PROXY_MESSAGE.split(', so')[0]}: .ci/run installs it (npm install -g configurable-http-proxy@{CHP_VERSION}).")
        pytest.skip(NO_PROXY_MESSAGE)
    return found


def server_pids(state: Path) -> list[int]:
    """The learners' server PIDs as the hub recorded them (LocalProcessSpawner's state)."""
    database = state / "jupyterhub.sqlite"
    if not database.exists():
        return []
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT state FROM spawners WHERE state IS NOT NULL").fetchall()
    return [json.loads(row[0]).get("pid") for row in rows if row[0] and json.loads(row[0]).get("pid")]


def stop_pid(pid: int, timeout_s: float = 15.0) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def stop_hub(hub: Hub, pids: list[int]) -> None:
    """SIGTERM the hub (it stops the learners' servers and the proxy), then anything left, by PID."""
    if hub.process.poll() is None:
        hub.process.terminate()
        try:
            hub.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            hub.process.kill()
            hub.process.wait(timeout=10)
    leftovers = list(pids)
    proxy_pid = hub.state / "jupyterhub-proxy.pid"
    if proxy_pid.exists() and proxy_pid.read_text().strip().isdigit():
        leftovers.append(int(proxy_pid.read_text().strip()))
    for pid in leftovers:
        stop_pid(pid)


def wait_for(what: str, check, timeout_s: float, hub: Hub | None = None, interval_s: float = 0.25):
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result:
            return result
        if hub is not None and hub.process.poll() is not None:
            pytest.fail(f"the hub exited (status {hub.process.returncode}) while waiting for {what}:\n{hub.log_tail()}")
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout_s:g} s" + (f"\n{hub.log_tail()}" if hub else ""))
        time.sleep(interval_s)


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    proxy = proxy_or_skip()
    if find_redis_server() is None:
        pytest.skip(NO_REDIS_MESSAGE)
    root = tmp_path_factory.mktemp("hub")
    state, homes = root / "state", root / "homes"
    state.mkdir()
    port, api_port, proxy_api_port = free_loopback_port(), free_loopback_port(), free_loopback_port()
    with RedisServer(tcp=True) as redis_server:
        admin = redis_server.client()
        accesses = {a.learner: a for a in provision(admin, ["alice", "bob", "carol"], server_url=redis_server.url)}
        credentials = root / "creds.json"
        write_credentials(credentials, accesses.values(), server_url=redis_server.url)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CACHEASIDE_")}
        env.update(
            CACHEASIDE_HUB_MODE="rehearsal", CACHEASIDE_WORKSHOP_CREDENTIALS=str(credentials),
            CACHEASIDE_HUB_PASSWORD=PASSWORD, CACHEASIDE_HUB_STATE=str(state), CACHEASIDE_HUB_HOMES=str(homes),
            CACHEASIDE_HUB_PORT=str(port), CACHEASIDE_HUB_API_PORT=str(api_port),
            CACHEASIDE_HUB_PROXY_API_PORT=str(proxy_api_port), CACHEASIDE_HUB_COURSE=str(ROOT),
            CACHEASIDE_HUB_COURSE_FOLDERS="notebooks,docs",  # what the lecture needs; the whole course is slower to copy
            PATH=f"{Path(proxy).parent}{os.pathsep}{env.get('PATH', '')}",
        )
        log_path = root / "hub.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "jupyterhub", "-f", str(CONFIG)], cwd=state, env=env,
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        started = Hub(f"http://127.0.0.1:{port}", process, log_path, state, homes, credentials, accesses, admin)
        pids: list[int] = []
        try:
            def hub_answers():
                try:
                    return httpx.get(f"{started.url}/hub/api/", timeout=5).status_code == 200
                except httpx.HTTPError:
                    return False

            wait_for("the hub to answer at /hub/api/", hub_answers, HUB_START_S, started)
            started.pids = pids
            yield started
        finally:
            pids.extend(server_pids(state))
            stop_hub(started, pids)
            admin.close()


def log_in(hub: Hub, name: str) -> tuple[httpx.Client, str]:
    """Log in through the hub's form, as a browser does; return the session and the learner's own API token."""
    client = httpx.Client(base_url=hub.url, timeout=30, follow_redirects=False)
    client.get("/hub/login")
    xsrf = client.cookies.get("_xsrf")
    answer = client.post("/hub/login", data={"username": name, "password": PASSWORD, "_xsrf": xsrf})
    assert answer.status_code == 302, f"{name} could not log in ({answer.status_code}):\n{hub.log_tail()}"
    client.get("/hub/home")  # after login the hub binds a new XSRF token to the session
    xsrf = [cookie.value for cookie in client.cookies.jar if cookie.name == "_xsrf"][-1]
    made = client.post(f"/hub/api/users/{name}/tokens", json={"note": "test_jupyterhub", "expires_in": 900},
                       headers={"X-XSRFToken": xsrf})
    assert made.status_code == 201, f"no token for {name} ({made.status_code}: {made.text})"
    token = made.json()["token"]
    client.headers["Authorization"] = f"token {token}"
    return client, token


def start_server(hub: Hub, client: httpx.Client, name: str) -> None:
    answer = client.post(f"/hub/api/users/{name}/server")
    assert answer.status_code in (201, 202), f"{name}'s server did not start ({answer.status_code}: {answer.text})\n{hub.log_tail()}"

    def ready():
        server = client.get(f"/hub/api/users/{name}").json().get("servers", {}).get("")
        return bool(server and server.get("ready"))

    wait_for(f"{name}'s server to be ready", ready, SERVER_START_S, hub, interval_s=0.5)


class Kernel:
    """One kernel in a learner's server, driven over its websocket with the learner's token."""

    def __init__(self, hub: Hub, client: httpx.Client, token: str, name: str, path: str = "notebooks"):
        import websocket

        answer = client.post(f"/user/{name}/api/kernels", json={"name": "python3", "path": path})
        assert answer.status_code == 201, f"no kernel for {name} ({answer.status_code}: {answer.text})"
        self.id, self.name, self.session = answer.json()["id"], name, uuid.uuid4().hex
        self.socket = websocket.create_connection(
            f"{hub.url.replace('http', 'ws', 1)}/user/{name}/api/kernels/{self.id}/channels",
            header=[f"Authorization: token {token}"], timeout=CELL_S,
        )

    def run(self, code: str) -> tuple[str, list[str]]:
        """Execute ``code``; return what it printed or returned (text) and its errors."""
        msg_id = uuid.uuid4().hex
        self.socket.send(json.dumps({
            "header": {"msg_id": msg_id, "username": self.name, "session": self.session,
                       "msg_type": "execute_request", "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True},
        }))
        text, errors, replied, idle = [], [], False, False
        deadline = time.monotonic() + CELL_S
        while not (replied and idle):
            assert time.monotonic() < deadline, f"{self.name}'s kernel did not finish a cell within {CELL_S} s"
            message = json.loads(self.socket.recv())
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "stream":
                text.append(content["text"])
            elif kind in ("execute_result", "display_data"):
                text.append(content.get("data", {}).get("text/plain", ""))
            elif kind == "error":
                errors.append(f"{content['ename']}: {content['evalue']}")
            elif kind == "status" and content["execution_state"] == "idle":
                idle = True
            elif kind == "execute_reply":
                replied = True
        return "".join(text), errors

    def close(self):
        self.socket.close()


def comparable(text: str) -> list[str]:
    lines = sanitize(text, SANITIZERS).splitlines()
    return [line for line in lines if not any(word in line for word in BACKEND_WORDS)]


def learner_session(hub: Hub, name: str) -> SimpleNamespace:
    """Log in, start the server, open a kernel and run lecture 01's code cells in it, in order."""
    client, token = log_in(hub, name)
    start_server(hub, client, name)
    kernel = Kernel(hub, client, token, name)
    lecture = read(hub.homes / name / LECTURE)  # the learner's own copy, which the hub made
    outputs = []
    for cell in code_cells(lecture):
        printed, errors = kernel.run(cell.source)
        assert not errors, f"{name}'s kernel failed lecture 01's cell {cell.source[:60]!r}: {errors}"
        outputs.append((cell, printed))
    return SimpleNamespace(client=client, token=token, kernel=kernel, outputs=outputs)


@pytest.fixture(scope="module")
def learners(hub):
    """alice and bob at the same time: logged in, their servers started, lecture 01 run in a kernel of each."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(learner_session, hub, name) for name in ("alice", "bob")}
        for name, future in futures.items():
            hub.sessions[name] = future.result(timeout=SERVER_START_S + 30 * CELL_S)
    yield hub.sessions
    for session in hub.sessions.values():
        session.kernel.close()
        session.client.close()


def test_each_learners_kernel_has_their_own_redis_settings_and_nothing_of_the_hubs(hub, learners):
    probe = ("import json, os; print(json.dumps({k: v for k, v in os.environ.items() "
             "if k.startswith(('CACHEASIDE_', 'JUPYTERHUB_USER'))}))")
    for name, session in learners.items():
        printed, errors = session.kernel.run(probe)
        assert not errors
        seen = json.loads(printed)
        assert seen == {**hub.accesses[name].environment(), "JUPYTERHUB_USER": name}, (
            f"{name}'s kernel sees {sorted(seen)}: the hub's own settings (credentials path, password) must not reach it"
        )


def test_lecture_01_prints_the_committed_numbers_in_each_learners_kernel(learners):
    committed = {cell.source: cell for cell in code_cells(read(ROOT / LECTURE))}
    for name, session in learners.items():
        checked = 0
        for cell, printed in session.outputs:
            if cell.source.lstrip().startswith(f"# {CHECK_MARK}"):
                before = "".join(
                    o.get("text", "") if o.output_type == "stream" else o.get("data", {}).get("text/plain", "")
                    for o in committed[cell.source].outputs
                )
                assert comparable(printed) == comparable(before), f"{name}: lecture 01 printed other numbers in {cell.source[:60]!r}"
                checked += 1
        assert checked >= 5, f"{name}: only {checked} checked cells compared"


def test_every_key_the_learners_wrote_is_in_their_own_namespace(hub, learners):
    keys = [key if isinstance(key, str) else key.decode() for key in hub.admin.scan_iter(count=1000)]
    alice, bob = (hub.accesses[n].namespace for n in ("alice", "bob"))
    by_namespace = {alice: 0, bob: 0}
    foreign = []
    for key in keys:
        owner = next((ns for ns in by_namespace if key.startswith(ns)), None)
        if owner is None:
            foreign.append(key)
        else:
            by_namespace[owner] += 1
    assert not foreign, f"keys outside both learners' namespaces: {foreign[:10]}"
    assert by_namespace[alice] > 0 and by_namespace[bob] > 0, f"keys per namespace: {by_namespace}"


REACH_FOR = """
import json
from cacheaside_lab import connect_cache

client, target, results = connect_cache(), {target!r}, {{}}
for what, act in (("read", lambda: client.get(target)), ("write", lambda: client.set(target, "overwritten")),
                  ("delete", lambda: client.delete(target))):
    try:
        results[what] = ["allowed", repr(act())]
    except Exception as error:
        results[what] = ["refused", type(error).__name__, str(error)]
print(json.dumps(results))
"""


def test_each_learners_kernel_is_refused_the_others_keys(hub, learners):
    for name, other in (("alice", "bob"), ("bob", "alice")):
        namespace = hub.accesses[other].namespace
        target = next(
            key for key in hub.admin.scan_iter(match=f"{namespace}*", count=1000) if hub.admin.type(key) == "string"
        )
        value = hub.admin.get(target)
        printed, errors = learners[name].kernel.run(REACH_FOR.format(target=target))
        assert not errors, errors
        results = json.loads(printed)
        for what in ("read", "write", "delete"):
            verdict = results[what]
            assert verdict[0] == "refused", f"{name}'s kernel was allowed to {what} {other}'s key {target!r}: {verdict}"
            assert "noperm" in verdict[2].lower() or "permission" in verdict[2].lower(), verdict
        assert value not in printed, f"{other}'s value reached {name}'s kernel"
        assert hub.admin.get(target) == value, f"{other}'s key changed"


def test_a_learner_taken_out_of_the_file_is_refused_a_server_with_the_reason(hub, learners):
    # carol was provisioned when the hub started; the instructor then revoked her and wrote the file again
    remaining = [hub.accesses[name] for name in ("alice", "bob")]
    write_credentials(hub.credentials, remaining, server_url="redis://127.0.0.1/0")
    client, _ = log_in(hub, "carol")
    try:
        answer = client.post("/hub/api/users/carol/server")
        assert answer.status_code == 403, f"carol's server: {answer.status_code} {answer.text}"
        message = answer.json()["message"]
        assert "No server for 'carol'" in message and "workshop provision --learners carol" in message
        assert not (hub.homes / "carol").exists()
        servers = client.get("/hub/api/users/carol").json().get("servers", {})
        assert not servers, f"carol has a server: {servers}"
    finally:
        client.close()


def test_the_hub_recognised_every_setting_of_the_config(hub, learners):
    log = hub.log_path.read_text(errors="replace")
    assert "cacheaside-lab hub: rehearsal mode at http://127.0.0.1:" in log
    unknown = [line for line in log.splitlines() if "not recognized" in line]
    assert not unknown, f"the hub ignored settings of the config: {unknown}"
