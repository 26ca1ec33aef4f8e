"""The first journey in Chromium: land on Overview of the demo, read the document count, search in Browse,
open a document and read its text."""

from __future__ import annotations

import re

import pytest

from core.browse import DocQuery, page_docs
from core.store import Store
from tests.browser.conftest import wait_for_app

pytestmark = pytest.mark.browser


def test_overview_count_then_search_and_open_a_document(app_server, page):
    store = Store(app_server.workspace)
    expected = store.count()
    word = "football"
    matches = int(store.scalar("SELECT count(*) FROM docs WHERE contains(lower(text), ?)", [word]))
    assert matches > 0
    first_id = page_docs(store, DocQuery(keywords=word), 0, 50)["id"].iloc[0]  # on the first page of results

    page.goto(app_server.url)
    wait_for_app(page)
    metric = page.locator("[data-testid='stMetric']", has_text="Documents").first
    assert metric.locator("[data-testid='stMetricValue']").inner_text().strip() == f"{expected:,}"

    page.get_by_role("link", name="Browse").click()
    wait_for_app(page)
    page.get_by_text(f"{expected:,} documents match").wait_for()
    box = page.get_by_role("textbox", name="Search", exact=True)
    box.fill(word)
    box.press("Enter")
    page.get_by_text(f"{matches:,} documents match").wait_for()

    pick = page.get_by_role("combobox", name=re.compile("Read document"))
    pick.click()
    page.keyboard.type(first_id)
    page.get_by_role("option", name=first_id, exact=True).click()
    wait_for_app(page)
    page.get_by_role("heading", name=re.compile(f"Document {re.escape(first_id)}")).wait_for()
    body = store.scalar("SELECT text FROM docs WHERE id = ?", [first_id])
    shown = page.locator("[data-testid='stText']").first.inner_text()
    assert body.split("\n")[0].strip()[:40] in shown
