"""Scores in Chromium: move a threshold slider with the keyboard and see the kept count change."""

from __future__ import annotations

import pytest

from tests.browser.conftest import AppServer, wait_for_app
from tests.unit.test_filters import make_scored

pytestmark = pytest.mark.browser

KEPT_VALUE = """(want) => [...document.querySelectorAll('[data-testid=stMetric]')].some(m => {
    const label = m.querySelector('[data-testid=stMetricLabel]');
    const value = m.querySelector('[data-testid=stMetricValue]');
    return label && value && label.innerText.trim() === 'Kept' && value.innerText.trim() === want;
})"""


def test_moving_a_slider_changes_the_kept_count(make_ws, tmp_path, page):
    # The app runs in its own process, where the test signal is not registered: its file is read by
    # column types (numbers get range sliders, open at first), which is also what a user with an
    # unregistered signal file sees.
    ws = make_scored(make_ws, tmp_path)
    server = AppServer(ws.root)
    try:
        page.goto(f"{server.url}/scores")
        wait_for_app(page)
        page.wait_for_function(KEPT_VALUE, arg="10", timeout=60_000)
        # the first slider is `words` (1 to 5 words); its lower thumb one step right keeps >= 2 words
        thumb = page.get_by_role("slider").first
        thumb.focus()
        thumb.press("ArrowRight")
        page.wait_for_function(KEPT_VALUE, arg="9", timeout=60_000)
        wait_for_app(page)
        thumb = page.get_by_role("slider").first
        thumb.focus()
        thumb.press("ArrowRight")
        thumb.press("ArrowRight")
        # >= 4 words: d1 (2), d3 (1) and d9 (3 words) are dropped
        page.wait_for_function(KEPT_VALUE, arg="7", timeout=60_000)
        wait_for_app(page)
        assert page.get_by_text("fails 3 documents", exact=False).first.is_visible()
    finally:
        server.stop()
