"""Create a workspace from an uploaded file in the sidebar: the ingest runs as a job with a progress bar,
and the Overview of the new workspace counts what loaded and what went to quarantine."""

from __future__ import annotations

import json

import pytest

from tests.browser.conftest import AppServer, wait_for_app

pytestmark = pytest.mark.browser


def test_create_workspace_from_upload(make_ws, page, tmp_path):
    start = make_ws([{"text": "an existing document"}])
    upload = tmp_path / "reviews.jsonl"
    lines = [json.dumps({"body": f"Review number {i}: the product works.", "stars": i % 5}) for i in range(40)]
    lines.insert(7, '{"body": "broken')
    upload.write_text("\n".join(lines) + "\n")

    server = AppServer(start.root, env={"WINNOW_WORKSPACES_DIR": str(tmp_path / "spaces")})
    try:
        page.goto(server.url)
        wait_for_app(page)
        sidebar = page.locator("[data-testid='stSidebar']")
        sidebar.get_by_text("New workspace from a file").click()
        sidebar.locator("input[type='file']").set_input_files(str(upload))
        sidebar.get_by_text("Text field").wait_for()
        wait_for_app(page)
        name = sidebar.get_by_label("Workspace name")
        name.fill("reviews")
        name.press("Enter")
        wait_for_app(page)
        sidebar.get_by_role("button", name="Create and ingest").click()
        sidebar.get_by_text("Ingesting the uploaded file").wait_for()
        # the job finishes, the app reruns and the Overview shows the new workspace
        metric = page.locator("[data-testid='stMetric']", has_text="Documents").first
        page.wait_for_function(
            "() => [...document.querySelectorAll('[data-testid=stMetricValue]')].some(e => e.innerText.trim() === '40')",
            timeout=60_000,
        )
        assert metric.locator("[data-testid='stMetricValue']").inner_text().strip() == "40"
        quarantined = page.locator("[data-testid='stMetric']", has_text="Quarantined rows").first
        assert quarantined.locator("[data-testid='stMetricValue']").inner_text().strip() == "1"
        assert (tmp_path / "spaces" / "reviews" / "docs").is_dir()
    finally:
        server.stop()
