"""Start the embed job from Browse: its progress refreshes by itself while the page stays usable, and when it
finishes the page offers search by meaning, which finds the right documents."""

from __future__ import annotations

import pytest

from core.jobs import list_jobs
from tests.browser.conftest import AppServer, wait_for_app

pytestmark = pytest.mark.browser

TOPICS = {
    "bank": "The central bank raised interest rates by half a point to curb inflation and the pound rose.",
    "match": "The striker scored twice in the second half and the home side won the cup final.",
    "film": "The film won three awards at the festival, including best director and best actress.",
}
RECORDS = [{"id": f"{k}{i}", "text": f"{t} Report number {i}."} for k, t in TOPICS.items() for i in range(100)]


def test_embed_from_browse_then_search_by_meaning(make_ws, page):
    ws = make_ws(RECORDS, id_field="id")
    server = AppServer(ws.root)
    try:
        page.goto(f"{server.url}/browse")
        wait_for_app(page)
        assert page.get_by_text("Meaning", exact=True).count() == 0
        page.get_by_role("button", name="Compute embeddings").click()
        page.wait_for_selector("text=embed (static):", timeout=60_000)
        # the rest of the page still answers while the job runs
        box = page.get_by_role("textbox", name="Search")
        box.fill("festival")
        box.press("Enter")
        page.wait_for_selector("text=100 documents match")
        # no reload: the progress fragment reruns the page when the job is done
        page.get_by_text("Meaning", exact=True).wait_for(timeout=180_000)
        assert list_jobs(ws, kind="embed")[0]["status"] == "done"
        page.get_by_text("Meaning", exact=True).click()
        wait_for_app(page)
        box = page.get_by_role("textbox", name="Search")
        box.fill("movie prize at a festival")
        box.press("Enter")
        page.wait_for_selector("text=nearest documents", timeout=120_000)
        cells = page.locator("[data-testid='stDataFrame'] [role='gridcell']").all_inner_texts()
        ids = [c.strip() for c in cells if c.strip().startswith(tuple(TOPICS))]
        assert ids and all(i.startswith("film") for i in ids[:5]), ids[:10]
    finally:
        server.stop()
