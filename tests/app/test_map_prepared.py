"""A map job prepares the Map page's figures before it says done: the first open after it reads them from the
workspace's .cache and runs no query over the texts (at a million documents that query was most of a 3.4 s
first open). The page and the job share core.map_view, so they agree on names, keys and defaults."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from core import map_view
from core import store as store_mod
from core.cli import main as cli
from core.embed import compute_embeddings
from core.jobs import list_jobs
from core.store import Store
from tests.app.conftest import TEXT_QUERY as TEXT

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def embedded(demo_ws, monkeypatch):
    """The small demo with static embeddings, counted as a large workspace (its figures are kept in .cache)."""
    monkeypatch.setattr(store_mod, "CACHE_MIN_DOCS", 0)
    compute_embeddings(demo_ws, "static")
    st.cache_data.clear()
    st.cache_resource.clear()
    yield demo_ws
    st.cache_data.clear()
    st.cache_resource.clear()


def _map_job(ws) -> dict:
    assert cli(["map", "--workspace", str(ws.root), "--method", "pca", "--clusters", "8", "--quiet"]) == 0
    (job,) = list_jobs(ws, kind="map")
    return job


def _open_map(ws, queries: list[str], monkeypatch) -> AppTest:
    """A new server (no Streamlit caches), the Overview first as a browser does, then the Map page; only the
    Map page's own queries are left in `queries`."""
    st.cache_data.clear()
    st.cache_resource.clear()
    monkeypatch.setenv("WINNOW_WORKSPACE", str(ws.root))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.run()
    queries.clear()
    at.switch_page("views/3_map.py")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _drawn_ids(at) -> list[str]:
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    return sorted(i for t in spec["data"] if t["type"] == "scattergl" for i in t["customdata"])


@pytest.mark.parametrize("points", ["50000", "500"])  # every point drawn; a density image with a sample over it
def test_after_a_map_job_the_map_opens_from_the_cache_without_reading_texts(embedded, queries, monkeypatch,
                                                                             points):
    monkeypatch.setenv("WINNOW_MAP_POINTS", points)
    job = _map_job(embedded)
    assert job["status"] == "done" and job["stage"] == "preparing the map's figures"

    store = Store(embedded)
    key = store.source_keys["map"]
    n = store.scalar("SELECT count(*) FROM scores WHERE map__x IS NOT NULL")
    limit, lines = map_view.drawn_settings(n)
    store.close()
    cache = embedded.root / ".cache"
    layout_file = cache / f"map_layout_{points}-{key}.json"
    texts_file = cache / f"map_texts_{limit}_{lines}_{map_view.CLUSTER_SAMPLE}-{key}.parquet"
    assert layout_file.is_file() and texts_file.is_file(), sorted(p.name for p in cache.iterdir())
    shape = json.loads(layout_file.read_text())
    assert shape["n"] == n and ("density" in shape) == (n > int(points))
    kept = pd.read_parquet(texts_file)

    at = _open_map(embedded, queries, monkeypatch)
    assert not [q for q in queries if TEXT.search(q)], "the Map page read texts on its first open after the job"
    assert any(f"{n:,} documents" in c.value for c in at.caption)
    # what it drew is what the job kept: the drawn points and every cluster's sample documents
    assert _drawn_ids(at) == sorted(kept.loc[kept["drawn"], "id"])
    assert len(_drawn_ids(at)) == (n if n <= int(points) else map_view.overlay_sample())
    sample = at.dataframe[-1].value  # "Look at a cluster": its sample documents
    assert len(sample) and set(sample["id"]) <= set(kept.loc[kept["cluster_sample"], "id"])
    assert sample["text"].str.len().gt(0).all()


def test_without_the_prepared_figures_the_page_computes_the_same(embedded, queries, monkeypatch):
    """The control: with the job's figures deleted, the first open reads the texts itself (so the test above
    can tell), and draws the same points."""
    _map_job(embedded)
    at = _open_map(embedded, queries, monkeypatch)
    prepared = _drawn_ids(at)
    for f in (embedded.root / ".cache").glob("map_*"):
        f.unlink()
    at = _open_map(embedded, queries, monkeypatch)
    assert [q for q in queries if TEXT.search(q)], "no text query: the figures came from somewhere else"
    assert _drawn_ids(at) == prepared


def test_a_score_job_finds_the_figures_still_valid_and_an_ingest_job_prepares_new_ones(embedded, monkeypatch,
                                                                                      tmp_path):
    """The figures depend on the documents and the map only: after a score job they are found in .cache (not
    computed again); new documents make new ones (with the new documents off the map), prepared by the ingest."""
    from core.mapping import hover_text

    _map_job(embedded)
    (kept,) = (embedded.root / ".cache").glob("map_texts_*")
    stamp = kept.stat().st_mtime_ns
    calls: list = []
    monkeypatch.setattr(map_view, "hover_text", lambda *a: calls.append(a) or hover_text(*a))
    assert cli(["score", "length", "--workspace", str(embedded.root), "--quiet"]) == 0
    (job,) = list_jobs(embedded, kind="score")
    assert job["status"] == "done" and job["stage"] == "preparing the map's figures"
    assert kept.stat().st_mtime_ns == stamp and calls == []  # read, not rebuilt

    extra = tmp_path / "more.jsonl"
    extra.write_text("\n".join(json.dumps({"id": f"new{i}", "text": f"a new document number {i}"}) for i in range(5)))
    assert cli(["ingest", str(extra), "--workspace", str(embedded.root), "--id-field", "id", "--quiet"]) == 0
    (job,) = list_jobs(embedded, kind="ingest")
    assert job["status"] == "done" and job["stage"] == "preparing the map's figures"
    store = Store(embedded)
    try:
        key = store.source_keys["map"]
        assert list((embedded.root / ".cache").glob(f"map_texts_*-{key}.parquet"))
        assert list((embedded.root / ".cache").glob(f"map_layout_*-{key}.json"))
        assert not kept.exists()  # the figures of the old documents are gone
    finally:
        store.close()


def test_a_failure_while_preparing_the_map_does_not_fail_the_job(embedded, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(map_view, "prepare", broken)
    job = _map_job(embedded)
    assert job["status"] == "done" and job["error"] is None
    assert not list((embedded.root / ".cache").glob("map_*"))


def test_a_small_workspace_keeps_nothing_so_nothing_is_prepared(demo_ws, monkeypatch):
    """Below CACHE_MIN_DOCS the figures would live only in the job's memory: the job skips them (the page
    computes them in a fraction of a second)."""
    compute_embeddings(demo_ws, "static")
    calls: list = []
    monkeypatch.setattr(map_view, "prepare", lambda *a, **k: calls.append(a))
    job = _map_job(demo_ws)
    assert job["status"] == "done" and calls == []
    assert job["stage"] == "preparing the app's tables"


def test_prepare_without_a_map_is_none(demo_ws):
    store = Store(demo_ws)
    try:
        assert map_view.prepare(store) is None
    finally:
        store.close()
