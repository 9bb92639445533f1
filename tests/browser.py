"""Shared helpers of the browser tests: a throwaway Jupyter server, chromium driven by Playwright, screenshots.

    from browser import chromium_page, jupyter_server, require_browser, screenshot
    from browser import open_formgrader, stub_mathjax  # formgrader's pages, offline

    require_browser()                      # skip (or fail in CI) without Debian's chromium or playwright
    with jupyter_server(root) as server, chromium_page() as page:
        page.goto(server.at("lab/tree/notebook.ipynb"))
        screenshot(page, "student-01-opened")

The server runs ``.venv/bin/jupyter <app>`` on 127.0.0.1 with a random port and token, in a temporary
HOME and Jupyter config/data/runtime folders, so nothing of the user's Jupyter setup is read or changed;
it is stopped (with its kernels) when the block ends, even on failure. Chromium is Debian's package,
never a browser downloaded by Playwright, and every request that is not to 127.0.0.1 is refused.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from conftest import require_component

try:
    from playwright.sync_api import Page, sync_playwright
except ImportError:  # the dev extra is not installed: require_browser() says how to get it
    Page = None
    sync_playwright = None

REPO = Path(__file__).resolve().parents[1]
JUPYTER = Path(sys.executable).parent / "jupyter"
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "tests" / "artifacts" / "browser"

# Headless, as root (no sandbox), and silent: without the background-networking flags chromium calls
# Google's services, whose connections this machine's closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--no-proxy-server",  # 127.0.0.1 directly, whatever proxy the environment names
]

# JupyterLab settings of the throwaway server: no news or update checks (requests to jupyter.org and
# a toast over the page).
LAB_USER_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false", "checkForUpdates": False},
}


def require_browser() -> None:
    """Skip, naming the install command, without the playwright package or Debian's chromium; fail in CI."""
    require_component(sync_playwright is not None, "the playwright Python package",
                      f'{Path(sys.executable).parent / "pip"} install -e ".[dev]" (or `make setup`)')
    require_component(CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK), f"chromium ({CHROMIUM})",
                      "apt-get install chromium")


# -- Jupyter server --------------------------------------------------------------------------------
@dataclass
class JupyterServer:
    """A running Jupyter server: ``url`` is its base URL (ending in /), ``token`` its secret."""

    url: str
    token: str
    root_dir: Path
    log_path: Path
    process: subprocess.Popen = field(repr=False)

    def at(self, path: str = "lab") -> str:
        """The URL of ``path`` (e.g. ``lab/tree/x.ipynb``, ``formgrader``) with the token to log in."""
        separator = "&" if "?" in path else "?"
        return f"{self.url}{path.lstrip('/')}{separator}token={self.token}"

    def log(self) -> str:
        """What the server has written so far, for the message of a failing test."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def jupyter_server(root_dir: Path, *, app: str = "lab", args: Sequence[str] = (),
                   env: Mapping[str, str | None] | None = None, timeout: float = 60) -> Iterator[JupyterServer]:
    """Run ``jupyter <app>`` serving ``root_dir`` on 127.0.0.1 until the block ends; yield a :class:`JupyterServer`.

    ``args`` are added to the command line (e.g. ``--ServerApp.jpserver_extensions=...``); ``env`` adds
    variables to the server's (and so its kernels') environment, a value of None removing one. The
    server gets a temporary HOME, JUPYTER_CONFIG_DIR, JUPYTER_DATA_DIR and JUPYTER_RUNTIME_DIR; the
    Python environment's own Jupyter configuration (e.g. the nbgrader server extension) still applies.
    """
    scratch = Path(tempfile.mkdtemp(prefix="course-jupyter-"))
    home, config = scratch / "home", scratch / "config"
    for folder in (home, config, scratch / "data", scratch / "runtime"):
        folder.mkdir()
    for name, settings in LAB_USER_SETTINGS.items():
        path = config / "lab" / "user-settings" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings))

    server_env = {key: value for key, value in os.environ.items()
                  if not key.startswith(("JUPYTER", "JUPYTERLAB", "IPYTHON"))}
    server_env.update(HOME=str(home), JUPYTER_CONFIG_DIR=str(config), JUPYTER_DATA_DIR=str(scratch / "data"),
                      JUPYTER_RUNTIME_DIR=str(scratch / "runtime"), JUPYTER_PLATFORM_DIRS="1",
                      XDG_CONFIG_HOME=str(home / ".config"), XDG_CACHE_HOME=str(home / ".cache"),
                      XDG_DATA_HOME=str(home / ".local" / "share"), PYTHONUNBUFFERED="1")
    for key, value in (env or {}).items():
        if value is None:
            server_env.pop(key, None)
        else:
            server_env[key] = value

    port, token = free_port(), secrets.token_hex(24)
    command = [str(JUPYTER), app, "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
               "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root_dir}",
               "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
               *(["--allow-root"] if os.geteuid() == 0 else []), *args]
    log_path = scratch / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=root_dir, env=server_env, stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=subprocess.STDOUT)
    server = JupyterServer(f"http://127.0.0.1:{port}/", token, Path(root_dir), log_path, process)
    try:
        _wait_until_answering(server, timeout)
        yield server
    finally:
        _stop(process)
        shutil.rmtree(scratch, ignore_errors=True)


def _wait_until_answering(server: JupyterServer, timeout: float) -> None:
    # no proxy: 127.0.0.1 directly, whatever the environment says
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(f"{server.url}api/status", headers={"Authorization": f"token {server.token}"})
    deadline = time.monotonic() + timeout
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(f"the Jupyter server exited with code {server.process.returncode}:\n{server.log()}")
        try:
            with opener.open(request, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"the Jupyter server did not answer within {timeout:.0f} s:\n{server.log()}")
        time.sleep(0.2)


def _descendants(pid: int) -> list:
    try:
        import psutil
    except ImportError:  # ipykernel depends on psutil; without it the kernels stop with the server anyway
        return []
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def _stop(process: subprocess.Popen, grace: float = 15) -> None:
    """Stop the server: SIGTERM (it shuts its kernels down), then SIGKILL; then any process it left behind."""
    children = _descendants(process.pid)  # kernels run in sessions of their own: remember them now
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
    for child in children:
        try:
            child.wait(5)
        except Exception:  # still running (psutil.TimeoutExpired) or already gone
            try:
                child.kill()
                child.wait(5)
            except Exception:
                pass


# -- chromium --------------------------------------------------------------------------------------
@contextmanager
def chromium_page(*, width: int = 1400, height: int = 1000, timeout_ms: float = 30_000) -> Iterator[Page]:
    """Launch Debian's chromium (headless) through Playwright and yield a new page; close it all at the end.

    Requests to anything but 127.0.0.1 are aborted and listed in ``page.refused_requests``.
    """
    require_browser()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": width, "height": height})
            context.set_default_timeout(timeout_ms)
            refused: list[str] = []

            def refuse(route):
                refused.append(route.request.url)
                route.abort()

            context.route(lambda url: not url.startswith(("http://127.0.0.1:", "ws://127.0.0.1:")), refuse)
            page = context.new_page()
            page.refused_requests = refused
            yield page
        finally:
            browser.close()


# nbconvert's HTML pages (formgrader's submission view, nbgrader's feedback) load MathJax 2 from a CDN,
# which this closed network refuses. The stub lets their scripts run; formulas stay as TeX.
MATHJAX_STUB = ("window.MathJax = {Hub: {Config() {}, Queue() {}, Typeset() {}, "
                "Startup: {signal: {Interest() {}}}}};")


def stub_mathjax(page: Page) -> None:
    """Answer ``page``'s requests for MathJax with :data:`MATHJAX_STUB` (before the refusal of outside requests)."""
    page.route("**/mathjax/**", lambda route: route.fulfill(status=200, content_type="application/javascript",
                                                            body=MATHJAX_STUB))


def open_formgrader(page: Page, server: JupyterServer, path: str = "") -> None:
    """Open formgrader's page ``path`` (e.g. ``manage_submissions/ps1``), logged in for all of the server.

    The token's cookie is set for the folder of the first URL opened with it, and formgrader's pages
    sit two folders down from its API: so the first URL is formgrader's top page.
    """
    page.goto(server.at("formgrader"))
    if path:
        page.goto(f"{server.url}formgrader/{path.lstrip('/')}")


def screenshot(page: Page, name: str) -> Path:
    """Save the visible page as ``tests/artifacts/browser/<name>.png`` (git-ignored) and return its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
