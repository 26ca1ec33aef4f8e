"""Pages that must open quickly on a large workspace: Compare reads no text while it opens when the KL would
need much of it (it offers a job, then shows the kept counts), and Export opens without reading any text or
making its download zip."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import compare as cmp
from core.export import export_selection
from core.select import save_selection
from core.store import Store
from tests.app.conftest import TEXT_QUERY as TEXT

ROOT = Path(__file__).resolve().parents[2]


def open_after_overview(ws, page: str, queries: list[str], monkeypatch) -> AppTest:
    """The app on `page` (as tests/app/conftest.open_page), with only the page's own queries in `queries`."""
    monkeypatch.setenv("WINNOW_WORKSPACE", str(ws.root))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()  # the Overview page first, as a browser opening the app
    queries.clear()
    at.switch_page(f"views/{page}.py")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


@pytest.fixture
def demo(demo_ws):
    save_selection(demo_ws, "rand", {"strategy": "random", "size": 120, "seed": 3})
    save_selection(demo_ws, "tech", {"strategy": "all", "filters": {"labels": ["tech"]}})
    return demo_ws


def test_compare_offers_the_kl_as_a_job_and_reads_no_text_while_opening(demo, monkeypatch, queries):
    monkeypatch.setattr(cmp, "KL_INLINE_WORDS", 0)  # as if the selections were large
    at = open_after_overview(demo, "7_compare", queries, monkeypatch)
    assert not at.error, [e.value for e in at.error]
    assert not [q for q in queries if TEXT.search(q)], "the page read text while opening"
    assert any("not counted yet" in i.value and "tech" in i.value for i in at.info)
    assert at.button(key="start_cmp_kl").label == "Count the n-grams and compute the KL"
    assert not [m for m in at.metric if m.value.startswith("KL")]
    # what the job does (`compare rand tech --kl`): count and keep; the page then shows the KL without reading text
    store = Store(demo)
    target = at.selectbox(key="cmp_target").value
    want = cmp.kl_to_target(demo, store, cmp.load_subsets(demo, store, ["rand", "tech"]), target)
    queries.clear()
    at.run()
    assert not at.exception and not [q for q in queries if TEXT.search(q)]
    shown = {m.label: m.value for m in at.metric if m.value.startswith("KL")}
    assert shown == {r["selection"]: f"KL {r['kl']:.3f}" for r in want.to_dict(orient="records")}


def test_export_opens_without_reading_text_or_zipping(demo, monkeypatch, queries):
    export_selection(demo, "tech", "jsonl", name="tech_jsonl")
    zips: list = []
    monkeypatch.setattr("core.export.zip_export", lambda folder: zips.append(folder) or b"")
    at = open_after_overview(demo, "6_export", queries, monkeypatch)
    assert not at.exception and not at.error
    assert at.selectbox(key="export_pick").value == "tech_jsonl"
    assert at.get("download_button"), "no download button for a small export"
    assert zips == [], "the zip was made while the page opened (it is made when the button is pressed)"
    assert not [q for q in queries if TEXT.search(q)], "the page read text while opening"


def test_a_restarted_app_draws_compare_from_the_kept_tables(demo, monkeypatch, queries):
    """Compare's sizes, overlap, coverage, score values and map points are kept in the workspace's .cache: a new server
    process (no Streamlit caches) shows the same numbers without computing them again."""
    from core import store as store_mod

    monkeypatch.setattr(store_mod, "CACHE_MIN_DOCS", 0)  # the demo counts as large: its figures are kept on disk
    first = open_after_overview(demo, "7_compare", queries, monkeypatch)
    sizes = [(m.label, m.value) for m in first.metric]
    assert list((demo.root / ".cache").glob("cmpsel_sizes_*.parquet"))
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()
    for name in ("sizes", "size_rows", "score_values", "map_points", "coverage", "coverage_counts", "member_rows",
                 "intersection_counts"):
        monkeypatch.setattr(cmp, name, lambda *a, _n=name, **k: pytest.fail(f"{_n} was computed again"))
    again = open_after_overview(demo, "7_compare", queries, monkeypatch)
    assert [(m.label, m.value) for m in again.metric] == sizes
