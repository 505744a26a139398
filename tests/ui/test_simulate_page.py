"""The Simulate view in a real browser."""

import re

from tests.conftest import wait_until


def abs_magnetization(page):
    match = re.search(r"\|m\| ([0-9.]+)", page.readout())
    return float(match.group(1)) if match else None


def sweeps(page):
    match = re.search(r"sweeps ([0-9,]+)", page.readout())
    return int(match.group(1).replace(",", "")) if match else 0


def choose(page, label, option):
    page.page.get_by_label(label, exact=True).first.select_option(option)


def set_number(page, label, value):
    field = page.page.get_by_label(label, exact=True).first
    field.click()
    field.fill(str(value))
    field.press("Enter")
    field.press("Tab")  # commit on blur as well


def test_page_loads_without_console_errors_and_play_changes_the_snapshot(app_page):
    app_page.page.wait_for_timeout(1000)
    image_before = app_page.page.locator("canvas").first.screenshot()
    assert sweeps(app_page) <= 1
    app_page.page.get_by_role("button", name="▶ Play").click()
    assert wait_until(lambda: sweeps(app_page) > 20, timeout=30)
    image_after = app_page.page.locator("canvas").first.screenshot()
    assert image_before != image_after
    app_page.page.get_by_role("button", name="Pause").click()
    app_page.screenshot("simulate-critical")
    assert app_page.errors == []


def test_temperature_change_moves_the_magnetisation(app_page):
    choose(app_page, "Preset", "Ordered phase")
    app_page.page.get_by_role("button", name="▶ Play").click()
    assert wait_until(lambda: (abs_magnetization(app_page) or 0) > 0.9, timeout=30)
    # drag-free: focus the temperature slider's handle (at 1.6) and jump to its maximum (6.0)
    handle = app_page.page.locator('.noUi-handle[aria-valuenow^="1.6"]').first
    handle.focus()
    handle.press("End")
    assert wait_until(lambda: "θ/θc = 2.644" in app_page.readout(), timeout=20)
    assert wait_until(lambda: (abs_magnetization(app_page) or 1) < 0.2, timeout=30)
    app_page.screenshot("simulate-heated")
    assert app_page.errors == []


def test_two_sessions_do_not_share_state(browser, server):
    from tests.ui.conftest import Page
    first, second = Page(browser, server.url), Page(browser, server.url)
    try:
        choose(first, "Preset", "Paramagnet")
        assert wait_until(lambda: "θ/θc = 1.763" in first.readout(), timeout=20)
        second.page.wait_for_timeout(1500)
        assert "θ/θc = 1.000" in second.readout()
    finally:
        first.close()
        second.close()


def test_closing_a_page_stops_its_engine_thread(browser, server):
    from tests.ui.conftest import Page
    page = Page(browser, server.url)
    page.page.get_by_role("button", name="▶ Play").click()
    assert wait_until(lambda: sweeps(page) > 5, timeout=30)
    session_id = page.page.locator("[data-session]").first.get_attribute("data-session")
    assert session_id
    page.close()

    def closed():
        return f"session {session_id} closed: engine thread stopped" in server.log()
    # Bokeh notices a closed connection within 0.5 s and drops the session 1 s later.
    assert wait_until(closed, timeout=10)
    assert "STILL RUNNING" not in server.log()


def test_absurd_lattice_size_shows_a_message_and_the_page_keeps_working(app_page):
    app_page.page.wait_for_timeout(1000)
    set_number(app_page, "Neurons", 100000)
    app_page.page.get_by_text("more than this page handles").first.wait_for(timeout=30_000)
    app_page.page.get_by_role("button", name="Step").click()
    assert wait_until(lambda: sweeps(app_page) >= 2, timeout=20)
    assert app_page.errors == []


def test_a_refused_temperature_is_said_and_the_box_set_back(app_page):
    """0 and -2 typed in the temperature box: a message, the box shows θ in use, engine kept."""
    inputs = app_page.page.locator("input")
    box = next(inputs.nth(i) for i in range(inputs.count())
               if inputs.nth(i).input_value().startswith("2.269"))
    for typed in ("0", "-2"):
        box.fill(typed)
        box.press("Enter")
        said = f"Not applied: Temperature θ must be greater than 0.0, not {typed}"
        assert wait_until(lambda said=said: app_page.page.get_by_text(said).count() > 0,
                          timeout=20)
        assert wait_until(lambda: box.input_value().startswith("2.269"), timeout=10)
    assert "θ/θc = 1.000" in app_page.readout()
    assert app_page.errors == []
