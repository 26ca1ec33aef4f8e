"""core.map_view: the Map page's figures (what is drawn, which sample documents, the layout) from a Store."""

from __future__ import annotations

import numpy as np
import pytest

from core import map_view as mv
from core.embed import compute_embeddings
from core.mapping import build_map
from core.store import Store

WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda", "mu", "nu", "xi", "omicron", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi", "omega"]


@pytest.fixture(scope="module")
def mapped(tmp_path_factory):
    from core.ingest import ingest_paths
    from core.workspace import Workspace
    from tests.conftest import write_jsonl

    rng = np.random.default_rng(1)
    records = []
    for i in range(90):
        words = rng.choice(WORDS[(i % 3) * 8:(i % 3) * 8 + 8], size=30)
        text = "<b>bold</b> & more\t\ttabs\n\n" + "  ".join(words) if i % 10 == 0 else " ".join(words)
        rec = {"id": f"d{i:03d}", "text": text}
        if i % 4:
            rec["topic"] = f"t{i % 3}"
        records.append(rec)
    root = tmp_path_factory.mktemp("mapview")
    ws = Workspace.create(root / "ws")
    ingest_paths(ws, [write_jsonl(root / "in.jsonl", records)], id_field="id", label_field="topic")
    compute_embeddings(ws)
    build_map(ws, method="pca", clusters=3, seed=0)
    store = Store(ws)
    yield store
    store.close()


def test_texts_picks_the_drawn_points_and_each_clusters_first_documents_by_id_hash(mapped):
    df = mv.texts(mapped, limit=20, lines=2, per_cluster=4)
    order = mapped.df("SELECT id, map__cluster AS cluster FROM scores ORDER BY hash(id)")
    assert df["id"].tolist() == [i for i in order["id"] if i in set(df["id"])]  # in id-hash order
    assert df.loc[df["drawn"], "id"].tolist() == order["id"].head(20).tolist()
    for c, group in order.groupby("cluster"):
        assert df.loc[df["cluster_sample"] & (df["cluster"] == c), "id"].tolist() == group["id"].head(4).tolist()
    assert len(df) == len(set(order["id"].head(20)) | set(order.groupby("cluster").head(4)["id"]))
    # coordinates and documents belong to the same id
    xs = mapped.df("SELECT id, map__x FROM scores").set_index("id")["map__x"]
    assert np.allclose(df["x"].to_numpy(), xs.reindex(df["id"]).to_numpy())


def test_snippets_are_one_line_labels_named_and_hover_text_escaped(mapped):
    df = mv.texts(mapped, limit=90, lines=3).set_index("id")
    assert df.loc["d000", "snippet"].startswith("<b>bold</b> & more tabs ")  # white space runs made one space
    assert "\n" not in "".join(df["snippet"]) and df["snippet"].str.len().max() <= mv.SNIPPET_CHARS
    assert df.loc["d000", "label"] == "(none)" and df.loc["d001", "label"] == "t1"
    hover = df.loc["d000", "hover_snippet"]
    assert "<b>" not in hover and "&lt;b&gt;" in hover and hover.count("<br>") <= 2
    assert (df["source"] == "in").all()


def test_layout_counts_every_point_and_draws_a_density_image_above_the_limit(mapped):
    small = mv.layout(mapped, limit=1000)
    assert small["n"] == 90 and "density" not in small
    big = mv.layout(mapped, limit=50)
    assert big["n"] == 90 and np.asarray(big["density"]["counts"]).sum() == 90
    assert len(big["density"]["x"]) == mv.DENSITY_BINS


def test_the_page_defaults(monkeypatch):
    monkeypatch.setenv("WINNOW_MAP_POINTS", "100")
    assert mv.drawn_settings(90) == (90, 3)  # every point drawn
    assert mv.drawn_settings(5_000) == (50, 3)  # a sample of half the limit over the density image
    monkeypatch.delenv("WINNOW_MAP_POINTS")
    assert mv.drawn_settings(1_000_000) == (mv.OVERLAY_MAX, 1)


def test_filter_points_reads_only_the_filters_documents(mapped):
    ids = [f"d{i:03d}" for i in range(0, 90, 2)]
    df = mv.filter_points(mapped, ids, limit=10, lines=1)
    want = mapped.df("SELECT id FROM scores WHERE id IN (SELECT unnest(?::VARCHAR[])) ORDER BY hash(id) LIMIT 10",
                     [ids])["id"].tolist()
    assert df["id"].tolist() == want and df["snippet"].str.len().gt(0).all()


def test_colour_values_by_sample_or_by_ids(mapped):
    first = mv.colour_values(mapped, "map__cluster", limit=5)
    assert len(first) == 5
    some = mv.colour_values(mapped, "map__cluster", ids=["d001", "d002"])
    assert sorted(some.index) == ["d001", "d002"]


def test_prepare_computes_what_the_page_opens_with(mapped, monkeypatch):
    monkeypatch.setenv("WINNOW_MAP_POINTS", "40")
    got = mv.prepare(mapped)
    assert got == {"n": 90, "drawn": 20, "hover_lines": 3, "texts": len(mv.texts(mapped, 20, 3))}


def test_first_view_fences_far_groups_and_counts_what_it_leaves_out():
    rng = np.random.default_rng(0)
    xs, ys = rng.normal(size=200), rng.normal(size=200)
    assert mv.first_view(xs, ys) == ({}, 0)  # nothing beyond 3 IQR: every point in view
    xs[:3] = 500.0  # a small far-away group on x
    view, outside = mv.first_view(xs, ys)
    assert set(view) == {"x"} and outside == 3
    q1, q3 = np.quantile(xs, [0.25, 0.75])
    lo, hi = max(xs.min(), q1 - 3 * (q3 - q1)), q3 + 3 * (q3 - q1)
    pad = 0.04 * (hi - lo)
    assert view["x"] == pytest.approx([lo - pad, hi + pad])
    assert mv.first_view(xs[:40], ys[:40]) == ({}, 0)  # too few points to fence
