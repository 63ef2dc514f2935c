"""Drive the course the way a learner does: a real JupyterLab server and headless Chromium.

Used by ``tests/test_browser_ui.py``. Two pieces:

* :class:`JupyterLabServer` starts ``jupyter lab`` from this environment on a free loopback port,
  with a random token, over a temporary root that holds a *copy* of the course (so nothing the
  tests do touches the repository), and with its own settings, workspaces, runtime and data
  folders (so a learner's own JupyterLab setup cannot change what the tests see). Windowing is
  off, so every cell of a notebook is in the page, not only the ones on screen.
* :class:`NotebookPage` wraps one Playwright page showing one notebook: run all, wait for the
  kernel, read every cell's outputs from the notebook model, find and move widget controls,
  type into a cell, take screenshots.

The page talks to JupyterLab through ``window.jupyterapp`` (``--LabApp.expose_app_in_browser``),
which is JupyterLab's own command registry and notebook model: the same commands the menus run.
Playwright never downloads a browser here: it drives the system's Chromium by path.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

# Chromium flags for a headless machine with no network but loopback and no GPU: without the
# background-networking ones Chromium keeps trying (and failing) to reach Google's services.
# (Playwright adds --headless itself.)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
]
CHROMIUM_ENV = "CACHEASIDE_CHROMIUM"
ENABLE_HINT = (
    "install Chromium to run them (sudo apt-get install chromium), "
    f"or point ${CHROMIUM_ENV} at a Chromium binary"
)

# The messages JupyterLab's widget manager shows instead of a widget it cannot draw. It first
# shows WIDGET_LOADING, and only replaces it with the error a few seconds later.
WIDGET_ERRORS = ("Error displaying widget", "model not found")
WIDGET_LOADING = "Loading widget..."

# User settings for the test server: no windowing (every cell in the DOM), no news pop-ups.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
        "doNotDisturbMode": True,
    },
}

# What a control is, by the classes ipywidgets 8 gives its views, and how a learner moves it.
CONTROL_SELECTOR = ", ".join(
    [
        ".widget-slider",  # IntSlider, FloatSlider, SelectionSlider, range sliders (noUiSlider)
        ".widget-dropdown",
        ".widget-toggle-buttons",
        ".widget-radio-box",
        ".widget-checkbox",
        ".widget-toggle-button",
        ".widget-button",
        ".widget-text",
        ".widget-select",
    ]
)


def find_chromium() -> str | None:
    """The Chromium binary to drive: ``$CACHEASIDE_CHROMIUM``, else ``chromium`` on the PATH."""
    configured = os.environ.get(CHROMIUM_ENV)
    if configured:
        return configured if Path(configured).exists() else None
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def copy_course(repo: Path, root: Path, folders=("notebooks", "labs", "solutions")) -> None:
    """Copy the course's notebook folders into ``root`` (what JupyterLab will serve)."""
    for folder in folders:
        if (repo / folder).is_dir():
            shutil.copytree(repo / folder, root / folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))


class JupyterLabServer:
    """``jupyter lab`` on 127.0.0.1, a free port and a random token, serving ``root``."""

    def __init__(self, root: Path, state: Path, *, python: str = sys.executable, startup_timeout: float = 90.0):
        self.root, self.state, self.python = Path(root), Path(state), python
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen | None = None
        self.log_path = self.state / "jupyterlab.log"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        # ?reset: start from an empty workspace, not with the previous test's notebooks open
        return f"{self.base_url}/lab/tree/{path}?reset&token={self.token}"

    def environment(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CACHEASIDE_")}
        for name in ("settings", "workspaces", "runtime", "data", "config"):
            (self.state / name).mkdir(parents=True, exist_ok=True)
        for relative, values in LAB_SETTINGS.items():
            target = self.state / "settings" / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(values))
        env.update(
            JUPYTERLAB_SETTINGS_DIR=str(self.state / "settings"),
            JUPYTERLAB_WORKSPACES_DIR=str(self.state / "workspaces"),
            JUPYTER_RUNTIME_DIR=str(self.state / "runtime"),
            JUPYTER_DATA_DIR=str(self.state / "data"),
            JUPYTER_CONFIG_DIR=str(self.state / "config"),
            JUPYTER_PLATFORM_DIRS="1",
            PYDEVD_DISABLE_FILE_VALIDATION="1",
        )
        return env

    def command(self) -> list[str]:
        command = [
            self.python,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            "--LabApp.expose_app_in_browser=True",
            "--LanguageServerManager.autodetect=False",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-root")
        return command

    def start(self) -> "JupyterLabServer":
        env = self.environment()
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(self.command(), cwd=self.root, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with status {self.process.returncode}:\n{self.log_tail()}")
            try:
                self.api("GET", "/api/status")
                return self
            except OSError:
                time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"JupyterLab did not answer within {self.startup_timeout:.0f} s:\n{self.log_tail()}")

    def api(self, method: str, path: str):
        request = urllib.request.Request(
            self.base_url + path, method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shut_down_kernels(self) -> None:
        """End every notebook session (and its kernel), so each test starts with a fresh kernel."""
        for session in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{session['id']}")

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


# --- in the page ---------------------------------------------------------------------------

# Resolves once the notebook at `path` is the current widget, its kernel is up and idle.
_JS_OPEN = """async (path) => {
  const app = window.jupyterapp;
  await app.restored;
  const deadline = Date.now() + 60000;
  for (;;) {
    const panel = app.shell.currentWidget;
    if (panel && panel.context && panel.context.path === path && panel.content) {
      await panel.context.ready;
      await panel.sessionContext.ready;
      const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
      if (kernel && kernel.status === 'idle') return kernel.name;
    }
    if (Date.now() > deadline) throw new Error('notebook ' + path + ' did not open with an idle kernel');
    await new Promise(r => setTimeout(r, 200));
  }
}"""

# The kernel's status and which cells are still queued or running ("[*]").
_JS_BUSY = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  const pending = panel.content.widgets.filter(c => c.model.type === 'code'
      && c.promptNode && c.promptNode.textContent.includes('*')).length;
  return {status: kernel ? kernel.status : 'dead', pending};
}"""

# Every cell's outputs from the notebook model (what would be saved), images left out.
_JS_CELLS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  return panel.content.widgets.map((cell, index) => {
    const model = cell.model;
    const result = {index, type: model.type, source: model.sharedModel.getSource(),
                    tags: model.getMetadata('tags') || [], executionCount: null, outputs: []};
    if (model.type !== 'code') return result;
    result.executionCount = model.executionCount;
    result.outputs = model.outputs.toJSON().map(o => ({
      output_type: o.output_type, name: o.name || null, ename: o.ename || null,
      evalue: o.evalue || null,
      text: Array.isArray(o.text) ? o.text.join('') : (o.text || null),
      mimetypes: o.data ? Object.keys(o.data) : [],
      plain: o.data && o.data['text/plain'] ? [].concat(o.data['text/plain']).join('') : null,
    }));
    result.renderedText = cell.outputArea ? cell.outputArea.node.innerText : '';
    return result;
  });
}"""

# A fingerprint of everything the notebook's outputs draw, leaving out one control (the one being
# moved): text, values of other inputs, images, SVG and canvases, in every cell (a control may
# redraw a plot in another cell). Two fingerprints differ when something else was redrawn.
_JS_DRAWN = """async ([cellIndex, skipIndex]) => {
  const cells = window.jupyterapp.shell.currentWidget.content.widgets;
  const skip = skipIndex === null ? null
    : cells[cellIndex].outputArea.node.querySelector('[data-cal-control="' + skipIndex + '"]');
  const parts = [];
  const walk = (node) => {
    if (node === skip) return;
    if (node.nodeType === Node.TEXT_NODE) { if (node.textContent.trim()) parts.push(node.textContent.trim()); return; }
    if (node.nodeType !== Node.ELEMENT_NODE) return;
    const tag = node.tagName.toLowerCase();
    if (tag === 'img') parts.push('img:' + node.getAttribute('src'));
    else if (tag === 'canvas') { try { parts.push('canvas:' + node.toDataURL()); } catch (e) {} }
    else if (tag === 'svg') { parts.push('svg:' + node.outerHTML); return; }
    else if (tag === 'input' || tag === 'select' || tag === 'textarea') parts.push('value:' + node.value + ':' + (node.checked || ''));
    for (const child of node.childNodes) walk(child);
  };
  cells.forEach((cell, i) => { if (cell.outputArea) { parts.push('cell ' + i); walk(cell.outputArea.node); } });
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(parts.join('\\n')));
  return Array.from(new Uint8Array(digest)).map(b => b.toString(16).padStart(2, '0')).join('');
}"""

# The controls in a cell's output area: kind, label, and whether a learner can use it.
_JS_CONTROLS = """(cellIndex) => {
  const panel = window.jupyterapp.shell.currentWidget;
  const area = panel.content.widgets[cellIndex].outputArea.node;
  // outermost controls only (ToggleButtons is one control, not one per button), numbered in the
  // page with data-cal-control so Playwright and the fingerprint can find each one again
  const all = Array.from(area.querySelectorAll(CONTROL_SELECTOR));
  const outer = all.filter(node => !all.some(other => other !== node && other.contains(node)));
  return outer.map((node, index) => {
    node.dataset.calControl = String(index);
    const kinds = ['widget-slider', 'widget-dropdown', 'widget-toggle-buttons', 'widget-radio-box',
                   'widget-checkbox', 'widget-toggle-button', 'widget-button', 'widget-text', 'widget-select'];
    const kind = kinds.find(k => node.classList.contains(k));
    const label = node.querySelector('.widget-label');
    const text = (label && label.textContent.trim()) || node.getAttribute('title') || node.textContent.trim();
    const input = node.matches('button') ? node : node.querySelector('input, select, button');
    const disabled = node.matches('[disabled], .mod-disabled') || !!(input && input.disabled)
                     || !!node.querySelector('.noUi-target[disabled]');
    const rect = node.getBoundingClientRect();
    return {index, kind, label: text.slice(0, 60), disabled, visible: rect.width > 0 && rect.height > 0};
  });
}""".replace("CONTROL_SELECTOR", json.dumps(CONTROL_SELECTOR))


class NotebookPage:
    """One notebook open in JupyterLab, in a Playwright page."""

    def __init__(self, page, server: JupyterLabServer, path: str, *, timeout_s: float = 180.0):
        self.page, self.server, self.path, self.timeout_s = page, server, path, timeout_s
        self.kernel_name: str | None = None
        self.panel = None  # CSS selector of this notebook's panel, once open

    def open(self) -> "NotebookPage":
        self.page.goto(self.server.url(self.path), wait_until="domcontentloaded")
        self.page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell", timeout=60_000)
        self.kernel_name = self.page.evaluate(_JS_OPEN, self.path)
        self.panel = "#" + self.page.evaluate("() => window.jupyterapp.shell.currentWidget.id")
        self.page.wait_for_selector(f"{self.panel} .jp-Cell", timeout=30_000)
        return self

    def command(self, name: str, args: dict | None = None) -> None:
        """Run a JupyterLab command (what a menu item or the command palette does)."""
        self.page.evaluate(
            "([name, args]) => { window.jupyterapp.commands.execute(name, args); }", [name, args or {}]
        )

    def wait_until_idle(self, timeout_s: float | None = None, settle_s: float = 0.6) -> None:
        """Wait until the kernel is idle and no cell is queued, twice in a row ``settle_s`` apart."""
        deadline = time.monotonic() + (timeout_s or self.timeout_s)
        quiet_since = None
        while time.monotonic() < deadline:
            state = self.page.evaluate(_JS_BUSY)
            if state["status"] == "dead":
                raise AssertionError(f"{self.path}: the kernel died")
            if state["status"] == "idle" and state["pending"] == 0:
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since >= settle_s:
                    return
            else:
                quiet_since = None
            time.sleep(0.2)
        raise AssertionError(f"{self.path}: still running after {timeout_s or self.timeout_s:.0f} s")

    def run_all(self) -> list[dict]:
        """Clear every output, run all cells (Run ▸ Run All Cells), wait, return the cells."""
        self.command("notebook:clear-all-cell-outputs")
        self.command("runmenu:run-all")
        time.sleep(0.5)
        self.wait_until_idle()
        self.wait_for_widgets()
        return self.cells()

    def wait_for_widgets(self, timeout_s: float = 30.0) -> None:
        """Wait until no output says "Loading widget...": each widget is drawn, or shows its error."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not any(WIDGET_LOADING in (cell.get("renderedText") or "") for cell in self.cells()):
                return
            time.sleep(0.25)

    def cells(self) -> list[dict]:
        return self.page.evaluate(_JS_CELLS)

    def page_text(self) -> str:
        return self.page.locator(self.panel).inner_text()

    # -- widgets --

    def widget_cells(self) -> list[int]:
        """Indexes of code cells whose outputs include a widget view."""
        return [
            cell["index"]
            for cell in self.cells()
            if any("application/vnd.jupyter.widget-view+json" in o["mimetypes"] for o in cell["outputs"])
        ]

    def rendered_widgets(self, cell_index: int) -> int:
        """How many widget views are drawn (visible, non-empty) in a cell's outputs."""
        return self.page.evaluate(
            """(i) => Array.from(window.jupyterapp.shell.currentWidget.content.widgets[i]
                   .outputArea.node.querySelectorAll('.jupyter-widgets'))
                   .filter(n => n.getBoundingClientRect().width > 0 && n.getBoundingClientRect().height > 0).length""",
            cell_index,
        )

    def controls(self, cell_index: int) -> list[dict]:
        return self.page.evaluate(_JS_CONTROLS, cell_index)

    def drawn(self, cell_index: int, skip: int | None = None) -> str:
        """A fingerprint of what every output draws, leaving out control ``skip`` of cell ``cell_index``."""
        return self.page.evaluate(_JS_DRAWN, [cell_index, skip])

    def control(self, cell_index: int, control_index: int):
        """A control numbered by :meth:`controls` (call that first)."""
        area = self.page.locator(f"{self.panel} .jp-Cell").nth(cell_index).locator(".jp-OutputArea").first
        return area.locator(f'[data-cal-control="{control_index}"]')

    def move_control(self, cell_index: int, control: dict) -> str:
        """Move one control the way a learner would; return what was done, for messages."""
        element = self.control(cell_index, control["index"])
        element.scroll_into_view_if_needed()
        kind = control["kind"]
        if kind == "widget-slider":
            handle = element.locator(".noUi-handle").first
            track = element.locator(".noUi-base, .noUi-target").first
            box, handle_box = track.bounding_box(), handle.bounding_box()
            x = handle_box["x"] + handle_box["width"] / 2
            y = handle_box["y"] + handle_box["height"] / 2
            # drag to the far side of where the handle is now: the biggest move a learner makes
            self.page.mouse.move(x, y)
            self.page.mouse.down()
            if box["height"] > box["width"]:  # a vertical slider
                upper_half = y < box["y"] + box["height"] / 2
                target_y = box["y"] + box["height"] * (0.9 if upper_half else 0.1)
                self.page.mouse.move(x, target_y, steps=8)
            else:
                left_half = x < box["x"] + box["width"] / 2
                target_x = box["x"] + box["width"] * (0.9 if left_half else 0.1)
                self.page.mouse.move(target_x, y, steps=8)
            self.page.mouse.up()
            return "dragged the slider to the other end of its track"
        if kind in ("widget-dropdown", "widget-select"):
            select = element.locator("select").first
            options = select.locator("option").all_inner_texts()
            current = select.evaluate("s => s.selectedIndex")
            choice = (current + 1) % len(options)
            select.select_option(index=choice)
            return f"chose {options[choice]!r}"
        if kind == "widget-toggle-buttons":
            buttons = element.locator("button")
            for i in range(buttons.count()):
                if "mod-active" not in (buttons.nth(i).get_attribute("class") or ""):
                    buttons.nth(i).click()
                    return f"clicked {buttons.nth(i).inner_text()!r}"
            raise AssertionError("toggle buttons with every option already active")
        if kind == "widget-radio-box":
            for radio in element.locator("input[type=radio]").all():
                if not radio.is_checked():
                    radio.check()
                    return "picked another option"
            raise AssertionError("radio buttons with no unchecked option")
        if kind == "widget-checkbox":
            element.locator("input[type=checkbox]").first.click()
            return "toggled the checkbox"
        if kind == "widget-text":
            field = element.locator("input").first
            if field.get_attribute("type") == "number":
                field.click()
                field.press("ArrowUp")
            else:
                field.fill((field.input_value() or "") + "1")
            field.press("Enter")
            return "changed the text and pressed Enter"
        # a button or toggle button: click it
        (element if kind == "widget-toggle-button" or element.evaluate("n => n.tagName") == "BUTTON" else element.locator("button").first).click()
        return "clicked it"

    # -- editing --

    def replace_cell_source(self, cell_index: int, source: str) -> str:
        """Click into a cell, select everything, type ``source`` (as a paste would); return the result."""
        editor = self.page.locator(f"{self.panel} .jp-Cell").nth(cell_index).locator(".cm-content").first
        editor.scroll_into_view_if_needed()
        editor.click()
        self.page.keyboard.press("ControlOrMeta+a")
        self.page.keyboard.insert_text(source)
        return self.page.evaluate(
            "(i) => window.jupyterapp.shell.currentWidget.content.widgets[i].model.sharedModel.getSource()",
            cell_index,
        )

    def run_cell(self, cell_index: int) -> dict:
        """Select a cell and run it (what Ctrl+Enter does), wait for the kernel, return the cell."""
        self.page.evaluate(
            "(i) => { const nb = window.jupyterapp.shell.currentWidget.content; nb.activeCellIndex = i; nb.mode = 'command'; }",
            cell_index,
        )
        self.command("notebook:run-cell")
        time.sleep(0.3)
        self.wait_until_idle()
        return self.cells()[cell_index]

    # -- screenshots --

    def screenshots(self, folder: Path, limit: int = 60) -> list[Path]:
        """Screenshots of the whole notebook, one screen at a time, top to bottom."""
        folder.mkdir(parents=True, exist_ok=True)
        scroller = f"{self.panel} .jp-WindowedPanel-outer"
        self.page.evaluate(f"() => document.querySelector({scroller!r}).scrollTop = 0")
        saved = []
        for number in range(1, limit + 1):
            time.sleep(0.15)
            path = folder / f"{number:02d}.png"
            self.page.screenshot(path=str(path))
            saved.append(path)
            at_end = self.page.evaluate(
                f"""() => {{ const s = document.querySelector({scroller!r});
                    if (s.scrollTop + s.clientHeight >= s.scrollHeight - 2) return true;
                    s.scrollTop += s.clientHeight - 60; return false; }}"""
            )
            if at_end:
                break
        return saved
