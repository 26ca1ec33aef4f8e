"""Select in the browser: build two selections with the widgets (random, then top-k by a score), save them,
and see both in the saved list; the files are what the CLI would write."""

from __future__ import annotations

import pytest

from core.select import load_selection, run_recipe
from tests.browser.conftest import AppServer, wait_for_app
from tests.unit.select_helpers import make_select_ws

pytestmark = pytest.mark.browser


def _pick(page, label: str, value: str) -> None:
    box = page.locator("[data-testid='stSelectbox']", has_text=label).locator("input").first
    box.click()
    box.fill(value)
    page.get_by_role("option", name=value, exact=True).first.click()  # the option as shown
    wait_for_app(page)


def _save(page, name: str) -> None:
    field = page.get_by_label("Save as", exact=True).and_(page.locator("input"))
    field.fill(name)
    field.press("Enter")
    wait_for_app(page)
    page.get_by_role("button", name="Save selection").click()
    page.get_by_text(f"Saved {name}:").wait_for()
    wait_for_app(page)


def save_random_then_pick_top_k(page, url: str) -> None:
    """On the Select page: save the default recipe (random, 20% of the pool) as random_ui, then switch the
    strategy to top k by toy__quality (not saved yet)."""
    page.goto(url)
    wait_for_app(page)
    page.locator("[data-testid='stSidebar']").get_by_text("Select", exact=True).click()
    wait_for_app(page)
    page.get_by_text("Preview").first.wait_for()
    _save(page, "random_ui")
    _pick(page, "Strategy", "top k")
    _pick(page, "Score", "toy__quality")


def test_build_two_selections_in_the_ui(make_ws, tmp_path, page):
    ws = make_select_ws(make_ws, tmp_path)
    server = AppServer(ws.root)
    try:
        save_random_then_pick_top_k(page, server.url)
        page.locator("[data-testid='stRadio']", has_text="Size").get_by_text("count", exact=True).click()
        wait_for_app(page)
        count = page.get_by_label("Documents", exact=True).and_(page.locator("input"))
        count.fill("5")
        count.press("Enter")
        wait_for_app(page)
        page.wait_for_function(  # the preview follows the widget
            "() => [...document.querySelectorAll('[data-testid=stMetricValue]')].some(e => e.innerText.trim() === '5')")
        docs = page.locator("[data-testid='stMetric']", has_text="Documents").first
        assert docs.locator("[data-testid='stMetricValue']").inner_text().strip() == "5"
        _save(page, "best_ui")
        table = page.locator("[data-testid='stDataFrame']").last
        table.wait_for()
        meta, rows = load_selection(ws, "best_ui")
        assert meta["recipe"] == {"strategy": "top_k", "score": "toy__quality", "size": 5}
        assert rows["id"].tolist() == run_recipe(ws, meta["recipe"]).rows["id"].tolist()
        assert load_selection(ws, "random_ui")[0]["count"] == 12  # 20% of 60
    finally:
        server.stop()
