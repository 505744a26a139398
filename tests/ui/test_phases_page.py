"""The "Renormalise & phases" view in a real browser: a sweep from the page, flows, the diagram."""

import re

from tests.conftest import wait_until
from tests.ui.test_recording_and_fit_pages import open_tab

TAB = "Renormalise & phases"
SWEEP_STATES = re.compile(r"Sweeping:|Sweep done|Sweep cancelled|The sweep stopped")

# The Bokeh models of the page as the browser holds them (legend labels, titles, colour bars).
BOKEH_TEXT = """() => {
  const out = {legend: [], titles: [], colorbars: [], xaxes: [], yaxes: []};
  for (const doc of Bokeh.documents) {
    for (const m of doc.all_models) {
      const kind = m.constructor.__name__;
      if (kind === "LegendItem") {
        const label = m.label;
        out.legend.push(typeof label === "string" ? label : (label && label.value) || "");
      } else if (kind === "Title") { out.titles.push(m.text); }
      else if (kind === "ColorBar") { out.colorbars.push(m.title); }
      else if (kind === "LinearAxis") {
        (m.axis_label && m.axis_label.includes("J/θ") ? out.xaxes : out.yaxes).push(m.axis_label);
      }
    }
  }
  return out;
}"""


def bokeh_text(page):
    return page.page.evaluate(BOKEH_TEXT)


def sweep_status_text(app_page, timeout_ms):
    """The sweep note once it leaves the idle state ("Sweeping: ...", "Sweep done: ...", ...)."""
    note = app_page.page.get_by_text(SWEEP_STATES).first
    note.wait_for(timeout=timeout_ms)
    return note.inner_text()


def test_sweep_from_the_page_fills_the_phase_diagram(app_page):
    open_tab(app_page, "Recording")
    app_page.page.get_by_text("sample:onken-movie1-exp2").first.wait_for(timeout=60_000)
    open_tab(app_page, TAB)
    # empty state: the note says where the sweep will run, the diagram shows the critical line
    app_page.page.get_by_text("No sweep yet. It will run on the local Dask cluster").first \
        .wait_for(timeout=30_000)
    assert wait_until(lambda: any(t.startswith("critical line (E2)")
                                  for t in bokeh_text(app_page)["legend"]), timeout=30)
    assert not any("⟨|m|⟩" in (t or "") for t in bokeh_text(app_page)["colorbars"])  # no data
    app_page.page.wait_for_timeout(1000)
    app_page.screenshot("phases-empty")

    app_page.page.get_by_role("button", name="Run sweep").click()
    status = sweep_status_text(app_page, 60_000)
    assert status.startswith(("Sweeping:", "Sweep done")), status
    app_page.page.get_by_text("Sweep done: 9 points.").first.wait_for(timeout=300_000)
    text = bokeh_text(app_page)
    assert any("⟨|m|⟩" in (title or "") for title in text["colorbars"]), text
    assert any(t.startswith("Phase diagram: ring x time, N = 8, T = 8") for t in text["titles"])
    assert any("J/θ" in label for label in text["xaxes"])
    assert any("K/θ" in (label or "") for label in text["yaxes"])

    app_page.page.get_by_role("button", name="Compute flows").click()
    app_page.page.get_by_text("Flows computed.").first.wait_for(timeout=300_000)
    app_page.page.get_by_text("Recording placed with").first.wait_for(timeout=30_000)
    assert wait_until(lambda: any(t.startswith("recording, flow's fit")
                                  for t in bokeh_text(app_page)["legend"]), timeout=30)
    text = bokeh_text(app_page)
    assert not any(t.startswith("chain") for t in text["legend"])   # exact for 'keep' only
    assert any(t.startswith("Flow over neurons") for t in text["titles"])
    app_page.page.wait_for_timeout(1500)
    app_page.screenshot("phases")
    assert app_page.errors == []


def test_a_sweep_can_be_cancelled_from_the_page(app_page, server):
    open_tab(app_page, TAB)
    app_page.page.get_by_text("No sweep yet.").first.wait_for(timeout=30_000)
    field = app_page.page.get_by_label("Sweeps", exact=True).first
    field.fill("1000000")  # minutes per point: the sweep cannot finish before the cancel
    field.press("Tab")
    app_page.page.get_by_role("button", name="Run sweep").click()
    status = sweep_status_text(app_page, 60_000)
    assert status.startswith("Sweeping:"), f"{status!r}; server log:\n{server.log()[-3000:]}"
    app_page.page.get_by_role("button", name="Cancel sweep").click()
    app_page.page.get_by_text("Sweep cancelled after").first.wait_for(timeout=120_000)
    assert app_page.errors == []
