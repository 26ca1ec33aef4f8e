"""Compare in the browser: build two selections with the Select page's widgets, open Compare, see the overlap
heatmap, run the proxy evaluation as a job and see its learning curves and final table."""

from __future__ import annotations

import pyarrow as pa
import pytest

from core.embed import compute_embeddings
from core.jobs import list_jobs
from core.workspace import write_parquet
from tests.browser.conftest import AppServer, wait_for_app
from tests.browser.test_select import _save, save_random_then_pick_top_k
from tests.unit.select_helpers import make_select_ws

pytestmark = pytest.mark.browser


def _chart(page, text: str):
    """The Plotly chart whose drawing contains this text (a title or a legend entry)."""
    return page.locator("[data-testid='stPlotlyChart']", has_text=text).first


def test_compare_two_selections_built_in_the_ui(make_ws, tmp_path, page):
    ws = make_select_ws(make_ws, tmp_path)
    compute_embeddings(ws, "static")  # the classifier proxy trains on embeddings
    held = [{"id": f"h{i}", "text": f"{lab} example number {i} " + " ".join(["word"] * (5 + i)), "label": lab}
            for i, lab in enumerate(["x", "y", "z"] * 3)]
    write_parquet(pa.Table.from_pylist(held), ws.dir("targets") / "held.parquet")
    server = AppServer(ws.root)
    try:
        save_random_then_pick_top_k(page, server.url)
        _save(page, "best_ui")

        page.locator("[data-testid='stSidebar']").get_by_text("Compare", exact=True).click()
        wait_for_app(page)
        page.get_by_role("heading", name="Size and overlap").wait_for()
        heat = _chart(page, "Overlap (Jaccard)")
        heat.locator(".main-svg").first.wait_for()
        for name in ("best_ui", "random_ui", "random (baseline)"):
            assert name in heat.inner_text()
        assert page.locator("[data-testid='stMetricValue']", has_text="12 docs").count() >= 2  # 20% of 60, twice

        page.get_by_role("button", name="Run the proxy evaluation").click()
        curves = _chart(page, "perplexity (lower is better)")
        curves.wait_for(timeout=120_000)  # the job finishes, the page reruns and draws the curves
        wait_for_app(page)
        text = curves.inner_text()
        assert "accuracy (held-out)" in text and "macro-F1 (held-out)" in text
        for name in ("best_ui", "random_ui", "random (baseline)"):
            assert name in text  # one curve per selection, with the baseline
        assert curves.locator("g.errorbar").count() > 0  # error bars over seeds
        page.get_by_text("At 100% of each selection").wait_for()  # the table of final numbers follows
        assert page.locator("[data-testid='stDataFrame']").count() >= 3  # sizes, coverage, final numbers
        assert list_jobs(ws, kind="compare")[0]["status"] == "done"
    finally:
        server.stop()
