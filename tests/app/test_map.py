"""Map page: a clear start when there is no map, the map and its clusters when there is one, and a cluster
chosen on the Map filtering Browse."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from core.embed import compute_embeddings
from core.ingest import ingest_paths
from core.mapping import build_map
from core.signals.runner import run_signal
from core.workspace import Workspace
from tests.conftest import write_jsonl

TOPICS = {
    "finance": "the bank raised interest rates and the market for stocks and bonds fell while investors sold shares",
    "football": "the striker scored a late goal and the team won the match after the referee gave a penalty",
    "cooking": "stir the onions in butter then add garlic tomatoes and basil and simmer the sauce for pasta",
}


def records() -> list[dict]:
    rng = np.random.default_rng(0)
    out = []
    for topic, text in TOPICS.items():
        words = text.split()
        for i in range(20):
            out.append({"id": f"{topic}{i}", "text": " ".join(rng.choice(words, size=12)), "topic": topic})
    out.append({"id": "evil", "text": "<script>alert('x')</script> the bank & <b>rates</b>", "topic": "finance"})
    return out


@pytest.fixture(scope="module")
def mapped_ws(tmp_path_factory) -> Workspace:
    root = tmp_path_factory.mktemp("mapws")
    ws = Workspace.create(root / "ws")
    ingest_paths(ws, [write_jsonl(root / "in" / "news.jsonl", records())], id_field="id", label_field="topic")
    compute_embeddings(ws)
    build_map(ws, method="pca", clusters=3, seed=0)
    run_signal(ws, "length")
    return ws


def _n(values) -> int:
    """Points in a Plotly array (a list, or numpy data sent as {"dtype", "bdata"})."""
    if isinstance(values, dict):
        return len(np.frombuffer(base64.b64decode(values["bdata"]), dtype=np.dtype(values["dtype"])))
    return len(values)


def _chart_spec(at) -> dict:
    charts = at.get("plotly_chart")
    assert charts, "no map chart drawn"
    return json.loads(charts[0].proto.spec)


def test_no_map_says_so_and_offers_the_jobs(make_ws, open_page):
    ws = make_ws(records()[:10])
    at = open_page(ws, "3_map")
    assert any("no map of this workspace yet" in i.value for i in at.info)
    assert at.button(key="start_map_embed").label == "Compute embeddings"
    assert at.button(key="start_map_build").disabled  # no embeddings yet
    assert not at.get("plotly_chart")


def test_map_shows_points_and_the_cluster_table(mapped_ws, open_page):
    at = open_page(mapped_ws, "3_map")
    spec = _chart_spec(at)
    scatter = [t for t in spec["data"] if t["type"] == "scattergl"]
    assert sum(_n(t["x"]) for t in scatter) == 61  # every document is a point
    assert len(scatter) == 3  # coloured by cluster: one legend entry per cluster
    assert any("61 documents" in c.value and "3 clusters" in c.value for c in at.caption)
    table = at.dataframe(key="map_cluster_table").value
    assert len(table) == 3 and table["size"].sum() == 61
    assert table["name"].str.len().min() > 0 and table["name"].is_unique
    # hover text is escaped: corpus HTML never reaches Plotly's hover labels as markup
    hover = json.dumps([t.get("hovertext") for t in scatter])
    assert "<script>" not in hover and "&lt;script&gt;" in hover


def test_colour_by_source_label_and_a_score(mapped_ws, open_page):
    at = open_page(mapped_ws, "3_map")
    options = at.selectbox(key="map_colour").options
    assert options[:3] == ["cluster", "source", "label"] and "map__x" not in options
    at.selectbox(key="map_colour").select("label").run()
    assert not at.exception
    names = {t["name"] for t in _chart_spec(at)["data"]}
    assert names == set(TOPICS)
    assert "length__n_words" in options
    at.selectbox(key="map_colour").select("length__n_words").run()
    assert not at.exception
    (trace,) = _chart_spec(at)["data"]  # one trace on a colour scale, every document on it
    assert _n(trace["x"]) == 61 and trace["marker"]["colorbar"]["title"]["text"] == "n_words"
    assert "length__n_words = " in trace["hovertext"][0]


def test_a_cluster_becomes_the_filter_that_browse_applies(mapped_ws, open_page):
    at = open_page(mapped_ws, "3_map")
    table = at.dataframe(key="map_cluster_table").value
    cluster = int(table.iloc[1]["cluster"])
    size = int(table.iloc[1]["size"])
    at.selectbox(key="map_cluster").select(cluster).run()
    at.button(key="map_filter_cluster").click().run()
    assert not at.exception
    f = at.session_state["map_filter"]
    assert len(f["ids"]) == size and f["label"].startswith(f"cluster {cluster}:")
    assert any("Filtered by map selection" in i.value and f"({size:,} documents)" in i.value for i in at.info)
    # points outside the filter are dimmed on the map
    assert any(t["name"] == "outside the filter" for t in _chart_spec(at)["data"])
    at.switch_page("views/2_browse.py").run()
    assert not at.exception
    assert any(m.value == f"**{size}** documents match" for m in at.markdown)
    assert any("Filtered by map selection" in i.value for i in at.info)
    assert set(at.dataframe[0].value["id"]) == set(f["ids"])
    at.button(key="clear_map_filter_browse").click().run()
    assert any(m.value == "**61** documents match" for m in at.markdown)


def test_above_the_point_limit_a_density_image_carries_a_sample(mapped_ws, open_page, monkeypatch):
    monkeypatch.setenv("WINNOW_MAP_POINTS", "20")  # the 61 documents count as a large map
    at = open_page(mapped_ws, "3_map")
    spec = _chart_spec(at)
    heat = [t for t in spec["data"] if t["type"] == "heatmap"]
    assert len(heat) == 1 and heat[0]["hoverinfo"] == "skip"
    scatter = [t for t in spec["data"] if t["type"] == "scattergl"]
    assert sum(_n(t["x"]) for t in scatter) == 10  # a sample of points over the image
    assert any("61 documents: the grey image shows where all of them lie" in c.value for c in at.caption)
    # with a filter, its own documents are drawn in colour (not only those in the sample), the rest dimmed
    at.button(key="map_filter_cluster").click().run()
    ids = set(at.session_state["map_filter"]["ids"])
    coloured = [t for t in _chart_spec(at)["data"] if t["type"] == "scattergl" and t["name"] != "outside the filter"]
    shown = [i for t in coloured for i in t["customdata"]]
    assert len(shown) == min(len(ids), 10) and set(shown) <= ids


def test_a_restarted_app_draws_the_map_from_the_workspace_cache_without_reading_texts(mapped_ws, open_page,
                                                                                       monkeypatch, tmp_path):
    import shutil

    import streamlit as st

    from core import store as store_mod

    monkeypatch.setattr(store_mod, "CACHE_MIN_DOCS", 0)  # the 61 documents count as a large corpus
    monkeypatch.setenv("WINNOW_MAP_POINTS", "20")
    shutil.copytree(mapped_ws.root, tmp_path / "ws")
    ws = Workspace.open(tmp_path / "ws")
    st.cache_resource.clear()
    first = _chart_spec(open_page(ws, "3_map"))
    cached = sorted(p.name.split("-")[0] for p in (ws.root / ".cache").iterdir())
    assert any(n.startswith("map_texts") for n in cached) and any(n.startswith("map_layout") for n in cached), cached

    # a restart: a new Store, whose queries must not read a text again
    st.cache_resource.clear()
    real_df = store_mod.Store.df

    def no_texts(self, query, params=None):
        assert "text" not in query.replace("text AS", ""), f"read texts on a cached open: {query}"
        return real_df(self, query, params)

    monkeypatch.setattr(store_mod.Store, "df", no_texts)
    at = open_page(ws, "3_map")
    again = _chart_spec(at)
    assert [t.get("customdata") for t in again["data"]] == [t.get("customdata") for t in first["data"]]
    assert at.dataframe[-1].value["text"].notna().all()  # the cluster's sample documents, from the cache
    st.cache_resource.clear()
