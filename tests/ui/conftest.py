"""Real-browser fixtures: the real server in a subprocess, Chromium driven by Playwright."""

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# Panel occasionally sends a component's stylesheet URL before patching it to this server's copy;
# offline, the first (CDN) fetch fails and the local copy is used. Only that is tolerated.
BENIGN_CONSOLE = re.compile(r"Failed to load resource: net::ERR_NAME_NOT_RESOLVED|GPU stall")


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """The `neurolattice serve` process and its log."""

    def __init__(self, *args):
        self.port = _free_port()
        self.log_path = ARTIFACTS / f"server-{self.port}.log"
        ARTIFACTS.mkdir(exist_ok=True)
        self._log = open(self.log_path, "w")
        env = os.environ | {"PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "neurolattice_core.cli", "serve", "--port", str(self.port),
             "--log-level", "info", *args],
            stdout=self._log, stderr=subprocess.STDOUT, cwd=REPO, env=env)
        self.url = f"http://localhost:{self.port}/neurolattice"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log()}")
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return   # the server loaded (on a fresh checkout compiled) the engine first
            time.sleep(0.2)
        raise RuntimeError(f"server did not start: {self.log()}")

    def log(self):
        self._log.flush()
        return Path(self.log_path).read_text()

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._log.close()


@pytest.fixture(scope="session")
def server():
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make test` installs it (apt-get install chromium).")
    srv = Server()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Page:
    """A page of the app with its console errors collected."""

    def __init__(self, browser, url, ready="flips/ns"):
        self.context = browser.new_context(viewport={"width": 1500, "height": 1200},
                                           accept_downloads=True)
        self.page = self.context.new_page()
        self.errors = []
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        self.page.goto(url, timeout=180_000)
        self.page.get_by_text(ready).first.wait_for(timeout=60_000)

    def _on_console(self, message):
        if message.type == "error" and not BENIGN_CONSOLE.search(message.text):
            self.errors.append(message.text)

    def readout(self):
        return self.page.get_by_text("flips/ns").first.inner_text()

    def screenshot(self, name):
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    def close(self):
        self.context.close()


@pytest.fixture
def app_page(browser, server):
    page = Page(browser, server.url)
    yield page
    page.close()
