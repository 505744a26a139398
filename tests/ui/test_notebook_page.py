"""The dashboard inside a live notebook: JupyterLab, a real IPython kernel, Chromium."""

import json
import os
import socket
import subprocess
import sys
import time

import nbformat
import pytest

from tests.conftest import wait_until
from tests.ui.conftest import ARTIFACTS, BENIGN_CONSOLE, _free_port

CELLS = ["from app.main import create_app\napp = create_app()\napp",
         "app.store.sampler.model.temperature"]


@pytest.fixture(scope="module")
def notebook_url(tmp_path_factory):
    """JupyterLab serving a notebook that shows the dashboard; yields the notebook's URL."""
    root = tmp_path_factory.mktemp("notebook")
    notebook = nbformat.v4.new_notebook(metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    nbformat.write(notebook, root / "dashboard.ipynb")
    # no "Jupyter news?" prompt over the page
    settings = root / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
    port = _free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / f"jupyterlab-{port}.log", "w")
    lab = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", f"--port={port}",
         "--ServerApp.token=", "--ServerApp.password=", f"--ServerApp.root_dir={root}"],
        stdout=log, stderr=subprocess.STDOUT, cwd=root,
        env=os.environ | {"JUPYTERLAB_SETTINGS_DIR": str(root / "settings")})
    try:
        deadline = time.monotonic() + 120
        while True:
            assert lab.poll() is None, f"JupyterLab exited; see {log.name}"
            assert time.monotonic() < deadline, f"JupyterLab did not start; see {log.name}"
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        yield f"http://localhost:{port}/lab/tree/dashboard.ipynb"
    finally:
        lab.terminate()
        try:
            lab.wait(20)
        except subprocess.TimeoutExpired:
            lab.kill()
        log.close()


#: The titles of every Bokeh plot in the page, read from BokehJS's documents.
PLOT_TITLES = """() => { const titles = [];
  for (const document of (window.Bokeh && Bokeh.documents) || [])
    for (const model of document.all_models)
      if (model.constructor.__name__ === "Title") titles.push(model.text);
  return titles; }"""


def test_the_dashboard_runs_live_in_a_jupyterlab_notebook(browser, notebook_url):
    context = browser.new_context(viewport={"width": 1500, "height": 1200})
    page = context.new_page()
    errors = []
    page.on("console", lambda message: errors.append(message.text) if (
        message.type == "error" and not BENIGN_CONSOLE.search(message.text)
        or "Panel: ERROR" in message.text) else None)
    page.on("pageerror", lambda error: errors.append(f"pageerror: {error}"))
    try:
        page.goto(notebook_url, timeout=120_000)
        page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=120_000)
        page.get_by_role("menuitem", name="Run").click()
        page.get_by_text("Run All Cells", exact=True).click()
        # the output is the dashboard itself: its JavaScript is embedded (works offline)
        play = page.get_by_role("button", name="▶ Play")
        play.wait_for(timeout=180_000)
        readout = page.get_by_text("flips/ns").first

        def sweeps():
            words = readout.inner_text().replace(",", "").split()
            return int(words[words.index("sweeps") + 1]) if "sweeps" in words else 0

        readout.wait_for(timeout=60_000)
        before = sweeps()
        play.click()
        # the kernel's engine thread runs and the periodic frame callbacks reach the page
        assert wait_until(lambda: sweeps() > before + 20, timeout=60), readout.inner_text()
        assert wait_until(lambda: "running" in readout.inner_text(), timeout=20)
        # every plot title leaves its placeholder, even if an update was lost in the comm: the
        # titles are sent again with each full resend of the traces
        assert wait_until(lambda: not any("waiting for the first frame" in text
                                          for text in page.evaluate(PLOT_TITLES)), timeout=60), \
            page.evaluate(PLOT_TITLES)
        page.wait_for_timeout(1500)
        page.screenshot(path=str(ARTIFACTS / "notebook-live.png"))
        assert errors == []
    finally:
        context.close()
