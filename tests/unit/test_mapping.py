"""The map: projection (PCA, UMAP), k-means clusters, c-TF-IDF names, the files and the Store's map__ columns,
the density image for large maps, and box/lasso selection geometry."""

from __future__ import annotations

import time

import numpy as np
import pyarrow.parquet as pq
import pytest

from core.errors import WinnowError
from core.mapping import (
    auto_k,
    build_map,
    cluster,
    cluster_words,
    density_grid,
    hover_text,
    in_polygon,
    map_paths,
    name_clusters,
    parse_clusters,
    project,
    select_region,
)
from core.store import Store

TOPICS = {
    "finance": "the bank raised interest rates and the market for stocks and bonds fell while investors sold shares",
    "football": "the striker scored a late goal and the team won the match after the referee gave a penalty",
    "cooking": "stir the onions in butter then add garlic tomatoes and basil and simmer the sauce for pasta",
    "space": "the rocket launched the satellite into orbit and astronauts docked with the station near the moon",
}


def blobs(n_per: int = 60, k: int = 4, dim: int = 16, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, dim)) * 4
    labels = np.repeat(np.arange(k), n_per)
    x = centres[labels] + rng.normal(size=(len(labels), dim))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32), labels


def topic_records(n_per: int = 25) -> list[dict]:
    rng = np.random.default_rng(0)
    records = []
    for topic, text in TOPICS.items():
        words = text.split()
        for i in range(n_per):
            picked = rng.choice(words, size=12, replace=True)
            records.append({"id": f"{topic}{i}", "text": " ".join(picked), "topic": topic})
    return records


def test_pca_projection_is_deterministic_and_separates_groups():
    x, labels = blobs()
    a, info = project(x, "pca", seed=3)
    b, _ = project(x, "pca", seed=3)
    assert a.shape == (len(x), 2) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert info["method"] == "pca" and info["fit_sample"] == len(x)
    # groups far apart in embedding space are far apart on the map: centres differ by more than spreads
    centres = np.array([a[labels == c].mean(axis=0) for c in range(4)])
    spread = max(a[labels == c].std(axis=0).max() for c in range(4))
    gaps = [np.linalg.norm(centres[i] - centres[j]) for i in range(4) for j in range(i + 1, 4)]
    assert sorted(gaps)[-1] > spread


def test_projection_on_a_sample_places_every_document():
    x, _ = blobs(n_per=100)
    progress = []
    xy, info = project(x, "pca", seed=0, sample_size=50, progress=lambda d, t: progress.append((d, t)))
    assert info["fit_sample"] == 50
    assert np.isfinite(xy).all() and len(np.unique(xy, axis=0)) == len(x)
    assert progress[-1] == (len(x), len(x))
    again, _ = project(x, "pca", seed=0, sample_size=50)
    np.testing.assert_array_equal(xy, again)
    other, _ = project(x, "pca", seed=1, sample_size=50)
    assert not np.array_equal(xy, other)  # the seed picks the sample


def test_umap_is_deterministic_with_a_seed():
    x, labels = blobs(n_per=40, k=3)
    a, info = project(x, "umap", seed=7)
    b, _ = project(x, "umap", seed=7)
    np.testing.assert_array_equal(a, b)
    assert info["method"] == "umap" and info["n_neighbors"] == 15
    # every point's nearest neighbour on the map is from its own group
    d = np.linalg.norm(a[:, None, :] - a[None, :, :], axis=2)
    np.fill_diagonal(d, np.inf)
    assert (labels[d.argmin(axis=1)] == labels).mean() > 0.95


def test_too_few_documents_and_bad_options_are_clear_errors():
    with pytest.raises(WinnowError, match="at least 3"):
        project(np.zeros((2, 4), np.float32), "pca")
    with pytest.raises(WinnowError, match="umap or pca"):
        project(np.zeros((5, 4), np.float32), "tsne")
    assert parse_clusters("auto") is None and parse_clusters("12") == 12
    with pytest.raises(WinnowError, match="auto"):
        parse_clusters("many")
    with pytest.raises(WinnowError, match="at least 2"):
        parse_clusters("1")


def test_kmeans_finds_the_groups_numbered_by_size():
    x, truth = blobs(n_per=50, k=4)
    x = np.concatenate([x, x[:30]])  # group 0 becomes the largest
    truth = np.concatenate([truth, truth[:30]])
    labels, info = cluster(x, 4, seed=0)
    assert info["k"] == 4 and info["k_chosen"] == "given"
    sizes = np.bincount(labels)
    assert list(sizes) == sorted(sizes, reverse=True)
    assert sizes[0] == 80
    for c in range(4):  # each found cluster is exactly one true group
        assert len(set(truth[labels == c])) == 1
    again, _ = cluster(x, 4, seed=0)
    np.testing.assert_array_equal(labels, again)


def test_auto_k_grows_with_the_corpus_and_is_capped():
    assert auto_k(100) == 5
    assert auto_k(3000) == 27
    assert auto_k(1_000_000) == 40
    assert auto_k(3) == 2
    labels, info = cluster(blobs(n_per=25)[0], None)
    assert info["k_chosen"] == "auto" and info["k"] == auto_k(100) == len(np.unique(labels))


def test_cluster_words_are_the_distinctive_ones():
    records = topic_records()
    texts = [r["text"] for r in records]
    labels = [list(TOPICS).index(r["topic"]) for r in records]
    words = cluster_words(texts, labels)
    assert set(words) == {0, 1, 2, 3}
    for c, topic in enumerate(TOPICS):
        assert words[c], topic
        assert set(words[c][:3]) <= set(TOPICS[topic].split())  # its own words, none of another topic's
        assert "the" not in words[c] and "and" not in words[c]  # stop words never name a cluster


def test_cluster_names_are_non_empty_and_distinct():
    names = name_clusters({0: ["tax", "budget", "rates", "bank"], 1: ["tax", "budget", "rates", "vote"],
                           2: ["tax", "budget", "rates"], 3: [], 4: ["goal"]})
    assert all(n.strip() for n in names.values())
    assert len(set(names.values())) == len(names)
    assert names[0] == "tax, budget, rates"
    assert names[1] == "tax, budget, vote"  # the clash takes the next distinctive word
    assert names[2].startswith("tax, budget, rates") and names[2] != names[0]
    assert names[3] == "cluster 3" and names[4] == "goal"


def test_build_map_writes_files_and_the_store_exposes_map_columns(make_ws):
    from core.embed import compute_embeddings

    ws = make_ws(topic_records(), id_field="id", label_field="topic")
    with pytest.raises(WinnowError, match="python -m core embed"):
        build_map(ws, method="pca")
    compute_embeddings(ws)
    stages, progress = [], []
    result = build_map(ws, method="pca", clusters=4, seed=0, progress=lambda d, t: progress.append((d, t)),
                       stage=stages.append)
    assert result.count == 100 and result.clusters == 4
    assert progress[-1] == (100, 100) and progress == sorted(progress)
    assert any("projecting" in s for s in stages) and any("naming" in s for s in stages)
    points, clusters, sidecar = map_paths(ws, "static")
    pts = pq.read_table(points).to_pandas()
    assert list(pts.columns) == ["id", "x", "y", "cluster"] and len(pts) == 100
    table = pq.read_table(clusters).to_pandas()
    assert table["size"].sum() == 100 and table["name"].str.len().min() > 0 and table["name"].is_unique
    # the static model separates these four topics: each cluster is (nearly) one topic
    topic = pts["id"].str.replace(r"\d+$", "", regex=True)
    purity = topic.groupby(pts["cluster"]).agg(lambda s: s.value_counts().iloc[0] / len(s))
    assert purity.min() > 0.9
    store = Store(ws)
    assert {"map__x", "map__y", "map__cluster"} <= set(store.score_columns)
    assert store.scalar("SELECT count(*) FROM scores WHERE map__cluster IS NOT NULL") == 100
    again = build_map(ws, method="pca", clusters=4, seed=0)
    assert pq.read_table(again.path).equals(pq.read_table(points))


def test_cli_map_runs_as_a_job(make_ws, capsys):
    from core.cli import main
    from core.jobs import list_jobs

    ws = make_ws(topic_records(5))
    assert main(["embed", "--workspace", str(ws.root), "--quiet"]) == 0
    assert main(["map", "--workspace", str(ws.root), "--method", "pca", "--clusters", "3", "--quiet"]) == 0
    assert "into 3 clusters" in capsys.readouterr().out
    job = list_jobs(ws, kind="map")[0]
    assert job["status"] == "done" and job["result"]["clusters"] == 3
    assert main(["map", "--workspace", str(ws.root), "--clusters", "lots", "--quiet"]) == 2


def test_large_map_density_image_and_sample_are_fast():
    """A 250k-point map is drawn as a density image of all points (no UMAP involved)."""
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, 200_000), rng.normal(8, 0.25, 50_000)])
    y = np.concatenate([rng.normal(0, 1, 200_000), rng.normal(8, 0.25, 50_000)])
    started = time.perf_counter()
    counts, xc, yc = density_grid(x, y, bins=200)
    assert time.perf_counter() - started < 2.0
    assert counts.shape == (200, 200) and counts.sum() == 250_000
    # the dense small blob at (8, 8) shows up as the densest cells
    iy, ix = np.unravel_index(counts.argmax(), counts.shape)
    assert abs(xc[ix] - 8) < 1 and abs(yc[iy] - 8) < 1
    mask = select_region(x, y, [{"x": [7, 9], "y": [7, 9]}], [])
    assert 49_000 < mask.sum() <= 50_500


def test_lasso_and_box_selection_geometry():
    x = np.array([0.5, 1.5, 0.2, 3.0, 0.6])
    y = np.array([0.6, 0.5, 0.9, 3.0, 0.1])
    triangle = {"x": [0, 1, 0], "y": [0, 0, 1]}  # below the line x + y = 1
    assert in_polygon(x, y, triangle["x"], triangle["y"]).tolist() == [False, False, False, False, True]
    both = select_region(x, y, [{"x": [2.5, 3.5], "y": [3.5, 2.5]}], [triangle])
    assert both.tolist() == [False, False, False, True, True]
    assert not select_region(x, y, [], []).any()


def test_hover_text_is_escaped_and_wrapped():
    out = hover_text("<script>alert(1)</script> & <b>bold</b> " + "word " * 100, width=40, lines=2)
    assert "<script>" not in out and "<b>" not in out
    assert "&lt;script&gt;" in out and "&amp;" in out
    assert out.count("<br>") == 1 and out.endswith("…")
    assert hover_text("") == "(empty)"
