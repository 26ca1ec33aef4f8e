"""The map journey on the small demo: start the embed job and the map job from the Map page, watch their
progress finish, see the map and its clusters, pick a cluster and find Browse filtered to it."""

from __future__ import annotations

import re

import pyarrow.parquet as pq
import pytest

from core.mapping import map_paths
from tests.browser.conftest import wait_for_app

pytestmark = pytest.mark.browser


def test_build_the_map_from_the_ui_and_filter_browse_by_a_cluster(app_server, page):
    page.goto(app_server.url)
    wait_for_app(page)
    page.locator("[data-testid='stSidebarNav']").get_by_text("Map", exact=True).click()
    page.get_by_text("There is no map of this workspace yet").wait_for()
    wait_for_app(page)

    # step 1: embeddings, as a background job with a progress bar that finishes by itself
    page.get_by_role("button", name="Compute embeddings").click()
    page.get_by_text(re.compile(r"Embedding documents \(static\): (running|queued)")).first.wait_for(timeout=60_000)
    page.get_by_text(re.compile(r"Embedding documents \(static\): done")).first.wait_for(timeout=240_000)
    wait_for_app(page)

    # step 2: the map (PCA keeps the test quick; UMAP is the same job with another option)
    page.locator("[data-testid='stRadio']").get_by_text("PCA", exact=True).click()
    wait_for_app(page)
    build = page.get_by_role("button", name="Build the map")
    page.wait_for_function("() => [...document.querySelectorAll('button')].some(b => b.innerText.trim() === "
                           "'Build the map' && !b.disabled)", timeout=60_000)
    build.click()
    page.get_by_text(re.compile(r"Building the map \(PCA, static\)")).first.wait_for(timeout=60_000)

    # the job finishes, the page reruns and draws the map with its clusters
    page.get_by_text("Clusters", exact=True).wait_for(timeout=240_000)
    wait_for_app(page)
    chart = page.locator("[data-testid='stPlotlyChart']")
    chart.wait_for()
    assert chart.count() == 1
    chart.locator("canvas").first.wait_for(state="attached")  # Scattergl draws the points on a WebGL canvas
    assert chart.get_by_text("0 · ").count() >= 1  # the legend lists the clusters by name
    caption = page.get_by_text(re.compile(r"[\d,]+ documents · static embeddings · PCA")).inner_text()
    total = int(re.match(r"([\d,]+) documents", caption).group(1).replace(",", ""))
    assert total > 1000

    # a box dragged on the map becomes the filter (every document inside it), and Clear removes it
    area = chart.locator(".nsewdrag").first.bounding_box()
    x0, y0 = area["x"] + area["width"] * 0.3, area["y"] + area["height"] * 0.3
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x0 + area["width"] * 0.15, y0 + area["height"] * 0.2, steps=8)
    page.mouse.move(x0 + area["width"] * 0.3, y0 + area["height"] * 0.4, steps=8)
    page.mouse.up()
    chip = page.get_by_text(re.compile(r"Filtered by map selection: box on the map \([\d,]+ documents\)"))
    chip.wait_for()
    boxed = int(re.search(r"\(([\d,]+) documents\)", chip.inner_text()).group(1).replace(",", ""))
    assert 0 < boxed < total
    wait_for_app(page)
    page.get_by_role("button", name="Clear").click()
    chip.wait_for(state="detached")
    wait_for_app(page)

    # click the second row of the cluster table: that cluster becomes the filter and the one looked at
    clusters = pq.read_table(map_paths(app_server.workspace, "static")[1]).to_pandas().set_index("cluster")
    number, size = 1, int(clusters.loc[1, "size"])
    assert 0 < size < total
    table = page.locator("[data-testid='stDataFrame']").first
    table.scroll_into_view_if_needed()
    bb = table.bounding_box()
    page.mouse.click(bb["x"] + 12, bb["y"] + 35 + 35 * number + 17)  # the row's selection box (header, then rows)
    page.get_by_text(re.compile(rf"Filtered by map selection: cluster {number}: .* \({size:,} documents\)")).wait_for()
    wait_for_app(page)
    page.get_by_text("Top words: " + ", ".join(clusters.loc[number, "top_words"])).wait_for()
    page.get_by_role("button", name="Open it in Browse").click()

    page.get_by_text(re.compile(rf"Filtered by map selection: cluster {number}: .* \({size:,} documents\)")).wait_for()
    wait_for_app(page)
    page.get_by_text(re.compile(rf"^{size:,} documents match$")).wait_for()
    assert "/browse" in page.url
