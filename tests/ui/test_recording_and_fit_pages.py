"""The Recording and Fit views in a real browser."""

import re

import numpy as np

from tests.conftest import wait_until
from tests.ui.test_simulate_page import choose, sweeps


def open_tab(page, name):
    page.page.get_by_text(name, exact=True).first.click()


def test_default_sample_loads_and_its_raster_appears(app_page):
    open_tab(app_page, "Recording")
    app_page.page.get_by_text("sample:onken-movie1-exp2").first.wait_for(timeout=60_000)
    summary = app_page.page.locator(".nl-table").first.inner_text()
    assert "49" in summary and "30" in summary and "20 ms" in summary
    app_page.page.get_by_text("Proposed exclusions").first.wait_for()
    assert app_page.page.get_by_text("near-duplicate of unit 46").count() >= 1
    app_page.page.wait_for_timeout(1500)
    app_page.screenshot("recording")
    assert app_page.errors == []


def test_another_sample_loads(app_page):
    open_tab(app_page, "Recording")
    choose(app_page, "Sample to load", "onken-movie1-exp1")
    app_page.page.get_by_role("button", name="Load sample").click()
    app_page.page.get_by_text("sample:onken-movie1-exp1").first.wait_for(timeout=60_000)
    assert "38" in app_page.page.locator(".nl-table").first.inner_text()


def test_corrupt_upload_shows_an_error_and_nothing_is_lost(app_page, tmp_path):
    open_tab(app_page, "Recording")
    app_page.page.get_by_text("sample:onken-movie1-exp2").first.wait_for(timeout=60_000)
    corrupt = tmp_path / "broken.mat"
    corrupt.write_bytes(b"MATLAB 5.0 MAT-file" + b"\x00\xff" * 300)
    app_page.page.locator("input[type=file]").first.set_input_files(str(corrupt))
    app_page.page.get_by_text("Could not load or bin the recording").first.wait_for(
        timeout=60_000)
    # the message names the file and says what is wrong with it
    app_page.page.get_by_text(re.compile(r"broken\.mat: .*not a supported")).first.wait_for(
        timeout=10_000)
    # the previous recording is still there, and the engine still runs
    assert "onken-movie1-exp2" in app_page.page.locator(".nl-table").first.inner_text()
    # the drop area no longer shows the refused file as "Upload complete", and takes another
    def drop_area():
        return app_page.page.locator(".filepond--root").first.inner_text()
    assert wait_until(lambda: "broken.mat" not in drop_area() and "Drag & Drop" in drop_area(),
                      timeout=10)
    app_page.screenshot("recording-corrupt-upload")
    spikes = tmp_path / "spikes.csv"
    times = np.random.default_rng(0).uniform(0.0, 20.0, size=(3, 200))
    spikes.write_text("unit,time_s\n" + "".join(f"{unit},{t:.4f}\n" for unit in range(3)
                                                 for t in np.sort(times[unit])))
    app_page.page.locator("input[type=file]").first.set_input_files(str(spikes))
    app_page.page.get_by_text("spikes.csv").first.wait_for(timeout=60_000)
    assert wait_until(lambda: "spikes.csv" in app_page.page.locator(".nl-table").first
                      .inner_text(), timeout=60)
    assert wait_until(lambda: "Upload complete" in drop_area(), timeout=10)
    open_tab(app_page, "Simulate")
    before = sweeps(app_page)
    app_page.page.get_by_role("button", name="Step").click()
    assert wait_until(lambda: sweeps(app_page) > before, timeout=20)
    assert app_page.errors == []


def test_fit_runs_and_the_comparison_appears(app_page):
    open_tab(app_page, "Recording")
    app_page.page.get_by_text("sample:onken-movie1-exp2").first.wait_for(timeout=60_000)
    open_tab(app_page, "Fit")
    choose(app_page, "Model", "maxent")
    canvases_before = app_page.page.locator("canvas").count()
    app_page.page.get_by_role("button", name="Fit", exact=True).click()
    app_page.page.get_by_text("Done in").first.wait_for(timeout=240_000)
    app_page.page.get_by_text("held-out statistic").first.wait_for(timeout=30_000)
    assert wait_until(lambda: app_page.page.locator("canvas").count() > canvases_before + 5,
                      timeout=30)
    app_page.page.get_by_role("button", name="Simulate this fit").click()
    app_page.page.get_by_text("now runs in the engine").first.wait_for(timeout=120_000)
    app_page.page.wait_for_timeout(2000)
    app_page.screenshot("fit")
    assert app_page.errors == []
