"""Presentation mode, exports and shared links in a real browser."""

import csv
import io
import json
import re
import struct
from urllib.parse import parse_qs, urlparse

import numpy as np

from tests.conftest import wait_until
from tests.ui.conftest import Page
from tests.ui.test_simulate_page import choose, sweeps


def query(page):
    """The page's query as the browser has it (page.url can miss a history.pushState)."""
    url = page.page.evaluate("window.location.href")
    return {k: v[-1] for k, v in parse_qs(urlparse(url).query).items()}


def present_readout(page):
    return page.page.locator(".nl-present-readout div").first.inner_text()


def download(page, trigger):
    with page.page.expect_download(timeout=30_000) as info:
        trigger()
    path = info.value.path()
    return info.value.suggested_filename, open(path, "rb").read()


ENERGY_AXIS = """() => {
  for (const doc of Bokeh.documents) for (const m of doc._all_models.values())
    if (m.type == 'Figure' && m.title && (m.title.text || '').startsWith('Energy per site')) {
      const xs = m.renderers.map(r => r.data_source.data.x).filter(x => x && x.length > 1);
      if (!xs.length) return null;
      return [m.x_range.start, m.x_range.end, Math.min(...xs[0]), Math.max(...xs[0])];
    }
  return null; }"""


def energy_axis_fits_its_trace(page):
    """The energy trace's automatic sweep axis spans the points drawn (range padding 10 %)."""
    axis = page.page.evaluate(ENERGY_AXIS)
    if axis is None:
        return False
    start, end, first, last = axis
    slack = 0.2 * (last - first) + 1
    return first - slack <= start <= first and last <= end <= last + slack


def test_presentation_mode_runs_a_guided_experiment(app_page):
    page = app_page.page
    page.get_by_role("button", name="Present").click()
    page.get_by_role("button", name="Next ▶").wait_for(timeout=30_000)
    page.locator("select").filter(has_text="Heat through").first.select_option(
        "Heat through θc")
    page.get_by_text("Press Next ▶ to start").first.wait_for(timeout=10_000)
    page.get_by_role("button", name="Next ▶").click()
    page.get_by_text("step 1 of 4").first.wait_for(timeout=20_000)
    assert wait_until(lambda: "θ = 1.600" in present_readout(app_page), timeout=20)
    page.get_by_role("button", name="Next ▶").click()
    page.get_by_text("step 2 of 4").first.wait_for(timeout=20_000)
    # the engine itself runs at the step's temperature and keeps sweeping
    assert wait_until(lambda: "θ = 2.100" in present_readout(app_page), timeout=20)

    def sweep():
        return int(re.search(r"sweep ([0-9,]+)", present_readout(app_page))[1].replace(",", ""))
    first = sweep()
    assert wait_until(lambda: sweep() > first + 5, timeout=30)
    assert wait_until(lambda: query(app_page).get("step") == "2", timeout=10)
    assert query(app_page)["present"] == "1" and query(app_page)["temperature"] == "2.1"
    page.wait_for_timeout(1500)
    app_page.screenshot("present")
    page.get_by_role("button", name="Exit presentation").click()
    page.get_by_text("flips/ns").first.wait_for(timeout=20_000)
    assert "θ/θc = 0.925" in app_page.readout()
    # the traces' axes follow the points drawn since (they kept stale bounds after a swap)
    assert wait_until(lambda: energy_axis_fits_its_trace(app_page), timeout=20)
    page.wait_for_timeout(3000)
    # still following 3 s later: stale bounds would never fit the moving trace again (one
    # reading may fall between a redraw of the data and of its axis, so poll)
    assert wait_until(lambda: energy_axis_fits_its_trace(app_page), timeout=10)
    assert app_page.errors == []


def test_export_buttons_deliver_the_data_behind_the_plots(app_page):
    page = app_page.page
    page.get_by_role("button", name="Step").click()
    assert wait_until(lambda: sweeps(app_page) >= 2, timeout=20)
    name, data = download(app_page, lambda: page.get_by_role(
        "button", name="Parameters (JSON)").click())
    parameters = json.loads(data)
    assert name == "neurolattice-parameters.json"
    assert parameters["preset"] == "Critical 2-D Ising"
    assert parameters["model"]["neurons"] == 128 and parameters["model"]["ticks"] == 512
    assert parameters["sweeps_done"] == sweeps(app_page)

    name, data = download(app_page, lambda: page.get_by_role(
        "button", name="Snapshot (NPZ)").click())
    with np.load(io.BytesIO(data)) as npz:
        assert npz["spins"].shape == (1, 128, 512)
        assert set(np.unique(npz["spins"])) <= {-1, 1}
        assert int(npz["sweep"]) == sweeps(app_page)

    name, data = download(app_page, lambda: page.get_by_role(
        "button", name="Traces (CSV)").click())
    rows = list(csv.reader(io.StringIO(data.decode())))
    assert rows[0] == ["sweep", "energy_per_site_r0", "magnetization_r0"]
    assert [int(float(r[0])) for r in rows[1:]] == list(range(1, sweeps(app_page) + 1))

    # PNG: the snapshot plot's own save tool
    tool = page.locator(".bk-tool-icon-save").first
    name, data = download(app_page, tool.click)
    assert name == "neurolattice-snapshot.png" and data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert width > 500 and height > 300
    assert app_page.errors == []


def test_a_shared_link_reopens_the_same_state(browser, server, app_page):
    page = app_page.page
    choose(app_page, "Preset", "Ordered phase")
    handle = page.locator('.noUi-handle[aria-valuenow^="1.6"]').first
    handle.focus()
    handle.press("End")  # the slider's maximum, 6.0
    assert wait_until(lambda: "temperature" in query(app_page), timeout=20)
    page.get_by_text("Recording", exact=True).first.click()
    assert wait_until(lambda: query(app_page).get("tab") == "recording", timeout=20)
    shared = page.evaluate("window.location.href")
    state = query(app_page)
    assert state["preset"] == "Ordered phase" and state["seed"] == "0"
    theta = float(state["temperature"])
    assert theta != 1.6

    other = Page(browser, shared, ready="Units left out")
    try:
        other.page.get_by_text("sample:onken-movie1-exp2").first.wait_for(timeout=60_000)
        other.page.get_by_text("Simulate", exact=True).first.click()   # built on opening
        assert wait_until(lambda: f"θ/θc = {theta / 2.269185314213022:.3f}" in other.readout(),
                          timeout=20)
        assert other.page.get_by_label("Preset", exact=True).first.input_value() == \
            "Ordered phase"
        assert wait_until(lambda: query(other) == {k: v for k, v in state.items()
                                                   if k != "tab"}, timeout=10)
        assert other.errors == []
    finally:
        other.close()


def test_a_malformed_link_shows_a_message_and_the_page_still_works(browser, server):
    page = Page(browser, server.url + "?preset=Paramagnet&temperature=hot&neurons=-3&foo=1")
    try:
        message = page.page.get_by_text("Some values in the link were ignored").first
        message.wait_for(timeout=30_000)
        text = page.page.locator(".nl-link div").first.inner_text()
        assert "temperature='hot': must be a number" in text and "neurons='-3'" in text
        assert "foo='1'" in text
        # the valid part of the link is used, the rest keeps the preset's values
        assert "θ/θc = 1.763" in page.readout() and "128 x 512" not in text
        page.page.get_by_role("button", name="Step").click()
        assert wait_until(lambda: sweeps(page) >= 2, timeout=20)
        assert wait_until(lambda: "temperature" not in query(page), timeout=10)
        page.screenshot("link-malformed")
        page.page.get_by_role("button", name="Dismiss").click()
        message.wait_for(state="hidden", timeout=10_000)
        assert page.errors == []
    finally:
        page.close()
