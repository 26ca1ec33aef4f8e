"""Pick a target on the Targets page, run dsir against it as a job, and see its histogram on Scores."""

from __future__ import annotations

import pytest

from tests.browser.conftest import wait_for_app

pytestmark = pytest.mark.browser


def test_pick_target_run_dsir_see_histogram(app_server, page):
    page.goto(f"{app_server.url}/targets")
    wait_for_app(page)
    page.get_by_text("Look and score").wait_for()
    page.locator(".st-key-targets_pick input").first.click()
    page.get_by_role("option", name="target: bbc_tech", exact=True).first.click()
    wait_for_app(page)
    wait_for_app(page)
    page.locator(".st-key-start_targets_score button").first.click()
    # the job runs in the background; when it is done the page reruns and shows the run's figures
    page.get_by_text("Last dsir run against bbc_tech").wait_for(timeout=180_000)
    assert (app_server.workspace.dir("signals") / "dsir__bbc_tech.parquet").exists()

    page.goto(f"{app_server.url}/scores")
    wait_for_app(page)
    page.locator(".st-key-scores_view").get_by_text("dsir__bbc_tech", exact=True).click()
    wait_for_app(page)
    chart = page.locator(".st-key-hist_dsir__bbc_tech__log_weight")
    chart.wait_for(timeout=60_000)
    assert chart.locator(".js-plotly-plot").count() == 1
