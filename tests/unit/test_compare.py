"""Compare: figures on hand-built subsets with known answers (Jaccard, coverage, KL, proxy), and the CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from core import compare as cmp
from core import proxy as prx
from core.errors import WinnowError
from core.select import save_selection
from core.store import Store
from core.workspace import write_parquet
from tests.unit.select_helpers import N, make_select_ws


def ids(*nums: int) -> list[str]:
    return [f"d{i:02d}" for i in nums]


@pytest.fixture
def ws(make_ws, tmp_path):
    ws = make_select_ws(make_ws, tmp_path)
    save_selection(ws, "first", {"strategy": "all", "filters": {"ids": ids(*range(10))}})
    save_selection(ws, "second", {"strategy": "all", "filters": {"ids": ids(*range(5, 15))}})
    save_selection(ws, "spread", {"strategy": "all", "filters": {"ids": ids(0, 30, 45, 55)}})
    return ws


@pytest.fixture
def store(ws):
    return Store(ws)


# -- overlap, sizes, coverage ---------------------------------------------------------------------
def test_jaccard_of_known_sets():
    assert cmp.jaccard({1, 2, 3}, {2, 3, 4}) == 0.5
    assert cmp.jaccard(set(), set()) == 1.0
    subsets = [cmp.Subset("a", ids(*range(10))), cmp.Subset("b", ids(*range(5, 15))), cmp.Subset("c", ids(50))]
    m = cmp.jaccard_matrix(subsets)
    assert m.loc["a", "b"] == pytest.approx(5 / 15) and m.loc["b", "a"] == m.loc["a", "b"]
    assert m.loc["a", "a"] == 1.0 and m.loc["a", "c"] == 0.0


def test_entropy_bits():
    assert cmp.entropy_bits(np.array([5, 5, 5, 5])) == pytest.approx(2.0)
    assert cmp.entropy_bits(np.array([7, 0, 0])) == 0.0
    assert cmp.entropy_bits(np.array([1, 1, 2])) == pytest.approx(1.5)
    assert cmp.entropy_bits(np.array([])) == 0.0


def test_coverage_on_the_map_clusters(ws, store):
    subsets = cmp.load_subsets(ws, store, ["first", "spread"], baseline=False)
    per_cluster, summary, what = cmp.coverage(store, subsets)
    assert what == "map cluster"
    assert per_cluster["first"].tolist() == [10, 0, 0, 0]
    assert per_cluster["spread"].tolist() == [1, 1, 1, 1]
    s = summary.set_index("selection")
    assert s.loc["first", "share_covered"] == 0.25 and s.loc["first", "entropy_bits"] == 0.0
    assert s.loc["spread", "share_covered"] == 1.0 and s.loc["spread", "entropy_bits"] == pytest.approx(2.0)
    assert s.loc["spread", "normalised_entropy"] == pytest.approx(1.0)


def test_coverage_falls_back_to_labels_without_a_map(ws, store):
    (ws.dir("maps") / "static.parquet").unlink()
    store.refresh()
    assert cmp.group_kind(store) == "label"


def test_sizes_count_documents_and_words(ws, store):
    subsets = cmp.load_subsets(ws, store, ["first"], baseline=False)
    row = cmp.sizes(store, subsets).iloc[0]
    assert row["documents"] == 10 and row["tokens"] == sum(i + 3 for i in range(10))  # doc i has i + 3 words
    assert row["source: a"] == 10


def test_baseline_is_random_of_the_first_size_and_seeded(ws, store):
    subsets = cmp.load_subsets(ws, store, ["spread", "first"])
    base = subsets[-1]
    assert base.baseline and base.name == cmp.BASELINE and len(base.ids) == 4
    again = cmp.load_subsets(ws, store, ["spread", "first"])[-1]
    assert again.ids == base.ids
    assert cmp.load_subsets(ws, store, ["spread"], baseline_seed=1)[-1].ids != base.ids


def test_too_many_or_unknown_selections(ws, store):
    with pytest.raises(WinnowError, match="at most 4"):
        cmp.load_subsets(ws, store, ["a", "b", "c", "d", "e"])
    with pytest.raises(WinnowError, match="no selection named 'nope'"):
        cmp.load_subsets(ws, store, ["nope"])


def test_score_distributions_per_selection(ws, store):
    subsets = cmp.load_subsets(ws, store, ["first", "spread"], baseline=False)
    long = cmp.score_values(store, subsets, "toy__quality")
    assert sorted(long[long["selection"] == "spread"]["value"]) == sorted(float(i * 7 % N) for i in (0, 30, 45, 55))
    summary = cmp.score_summary(store, subsets, ["toy__quality"]).set_index("selection")
    assert summary.loc["first", "mean"] == pytest.approx(np.mean([i * 7 % N for i in range(10)]))
    assert "toy__quality" in cmp.numeric_score_columns(store) and "map__x" not in cmp.numeric_score_columns(store)


# -- closeness to a target ---------------------------------------------------------------------------
def test_dsir_check_values_of_the_hashed_ngrams():
    assert cmp.bucket_counts(["alice"]).nonzero()[0].tolist() == [6720]
    counts = cmp.bucket_counts(["Alice went to the store"])
    assert counts.sum() == 9 and counts[114] >= 1 and counts[6720] >= 1  # 5 unigrams + 4 bigrams
    from core.dsir import ngram_counts  # the reference's per-document primitive, kept literal

    texts = ["Alice went to the store", "a, b!", ""]
    assert np.array_equal(sum(ngram_counts(t) for t in texts), cmp.bucket_counts(texts))


def test_kl_divergence_known_values():
    assert cmp.kl_divergence(np.array([1, 1]), np.array([1, 1])) == pytest.approx(0.0, abs=1e-12)
    assert cmp.kl_divergence(np.array([1, 1]), np.array([3, 1])) == pytest.approx(0.5 * math.log(4 / 3), rel=1e-6)
    assert cmp.kl_divergence(np.array([2, 0]), np.array([1, 1])) == pytest.approx(math.log(2), rel=1e-6)


def test_kl_to_target_and_reduction_against_random(ws, store):
    texts = store.df("SELECT id, text FROM docs WHERE id >= 'd50' ORDER BY id")
    write_parquet(pa.Table.from_pandas(texts, preserve_index=False), ws.dir("targets") / "late.parquet")
    save_selection(ws, "same", {"strategy": "all", "filters": {"ids": ids(*range(50, 60))}})
    out = cmp.compare(ws, ["same", "first"], store, target="late")
    rows = {r["selection"]: r for r in out["kl"]["rows"]}
    assert rows["same"]["kl"] == pytest.approx(0.0, abs=1e-6)  # the selection is the target itself
    assert rows["first"]["kl"] > 0.01
    base = rows[cmp.BASELINE]
    assert rows["same"]["kl_reduction"] == pytest.approx(base["kl"] - rows["same"]["kl"])
    assert rows["same"]["kl_reduction"] > 0 and base["kl_reduction"] == 0.0


def test_compare_uses_the_recipes_target(ws, store):
    texts = store.df("SELECT id, text FROM docs WHERE id < 'd05'")
    write_parquet(pa.Table.from_pandas(texts, preserve_index=False), ws.dir("targets") / "t.parquet")
    save_selection(ws, "dsir", {"strategy": "dsir", "target": "t", "size": 10})
    out = cmp.compare(ws, ["dsir"], store)
    assert out["kl"]["target"] == "t"


# -- proxy evaluation ---------------------------------------------------------------------------------
def test_kneser_ney_bigram_is_a_distribution_and_prefers_seen_text():
    vocab = prx.Vocabulary()
    train = [vocab.encode("the cat sat on the mat"), vocab.encode("the dog sat")]
    seen, unseen = vocab.encode("the cat sat"), vocab.encode("mat on dog the")
    lm = prx.KneserNeyBigram(train, len(vocab))
    for prev in range(len(vocab)):
        p = np.exp(lm.log_prob(np.full(len(vocab), prev), np.arange(len(vocab))))
        assert p.sum() == pytest.approx(1.0) and (p > 0).all()
    assert lm.perplexity([seen]) < lm.perplexity([unseen])
    empty = prx.KneserNeyBigram([], len(vocab))
    assert empty.perplexity([seen]) == pytest.approx(len(vocab))  # uniform over the vocabulary


@pytest.fixture
def labelled(ws, store, monkeypatch):
    """Embeddings that separate the labels perfectly, and a held-out labelled target (12 x, 6 y, 6 z)."""
    import core.embed

    labels = store.df("SELECT id, label FROM docs")
    onehot = {"x": [1, 0, 0], "y": [0, 1, 0], "z": [0, 0, 1]}
    doc_ids = labels["id"].astype(str).tolist()
    mat = np.array([onehot[lab] for lab in labels["label"]], dtype=np.float32)
    monkeypatch.setattr(core.embed, "resolve_model", lambda ws, model=None: "static")
    monkeypatch.setattr(core.embed, "load_embeddings", lambda ws, model=None: (doc_ids, mat))
    monkeypatch.setattr(core.embed, "embed_texts", lambda texts, model="static", batch_size=None: np.array(
        [onehot.get(t.split()[0], [1, 1, 1]) for t in texts], dtype=np.float32))
    held = pd.DataFrame({"id": [f"h{i}" for i in range(24)], "label": ["x"] * 12 + ["y"] * 6 + ["z"] * 6})
    held["text"] = held["label"] + " held out example " + held["id"]
    write_parquet(pa.Table.from_pandas(held, preserve_index=False), ws.dir("targets") / "held.parquet")
    return ws


def test_labelled_proxy_known_answers(labelled, store):
    save_selection(labelled, "only_x", {"strategy": "all", "filters": {"labels": ["x"]}})
    save_selection(labelled, "every", {"strategy": "all"})
    res = prx.proxy_evaluate(labelled, ["only_x", "every"], store, baseline=False, fractions=[0.5, 1.0],
                             seeds=[0, 1])
    assert res["labelled"]["heldout"] == "held"  # found as the target with labels
    final = prx.final_table(res).set_index("selection")
    # trained on one class, the model predicts x everywhere: accuracy 12/24; F1(x) = 2·0.5·1/1.5, others 0
    assert final.loc["only_x", "accuracy"] == pytest.approx(0.5)
    assert final.loc["only_x", "macro_f1"] == pytest.approx((2 * 0.5 / 1.5) / 3)
    assert final.loc["every", "accuracy"] == 1.0 and final.loc["every", "macro_f1"] == 1.0
    curves = pd.DataFrame(res["labelled"]["curves"])
    assert sorted(curves["fraction"].unique()) == [0.5, 1.0]
    assert len(res["runs"]) == 2 * 2 * 2 * 2  # selections × fractions × seeds × (classifier, language model)
    assert res["text"]["target"] == "held" and "Kneser-Ney" in res["text"]["model"]
    assert res["labelled"]["heldout_in_recipe_targets"] == {}


def test_proxy_reports_when_a_recipe_target_is_the_heldout_set(labelled, store):
    save_selection(labelled, "aimed", {"strategy": "top_k", "score": "toy__quality", "target": "held", "size": 30})
    res = prx.proxy_evaluate(labelled, ["aimed"], store, fractions=[1.0], seeds=[0])
    assert res["labelled"]["heldout_in_recipe_targets"] == {"held": 24}


def test_proxy_leaves_out_documents_that_are_in_the_heldout_set(labelled, store):
    held = pd.DataFrame({"id": ["h0", "h1"], "label": ["x", "y"],
                         "text": store.df("SELECT text FROM docs WHERE id IN ('d00', 'd01') ORDER BY id")["text"]})
    write_parquet(pa.Table.from_pandas(held, preserve_index=False), labelled.dir("targets") / "held.parquet")
    task = prx.labelled_task(labelled, store, "held")
    assert task.excluded == 2 and "d00" not in task.features


def test_proxy_without_labels_says_so(ws, store):
    write_parquet(pa.table({"id": ["t0"], "text": ["word word"]}), ws.dir("targets") / "plain.parquet")
    with pytest.raises(WinnowError, match="no `label` column"):
        prx.proxy_evaluate(ws, ["first"], store, heldout="plain")
    res = prx.proxy_evaluate(ws, ["first"], store, target="plain", fractions=[1.0], seeds=[0])
    assert "labelled" not in res and res["text"]["curves"][0]["perplexity_mean"] > 1


def test_cli_compare_json_and_proxy_job(labelled, capsys):
    from core.cli import main

    save_selection(labelled, "only_x", {"strategy": "all", "filters": {"labels": ["x"]}})
    assert main(["compare", "--workspace", str(labelled.root), "first", "spread", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["selections"] == ["first", "spread", cmp.BASELINE]
    assert out["jaccard"]["first"]["spread"] == pytest.approx(1 / 13)
    assert main(["compare", "--workspace", str(labelled.root), "only_x", "--proxy", "--seeds", "0",
                 "--fractions", "1", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "proxy evaluation" in text and "acc 0.500" in text
    key = prx.proxy_key(labelled, ["only_x"], True, None, None, [1.0], [0], 0)
    assert prx.load_proxy_result(labelled, key)["labelled"]["heldout"] == "held"
    with pytest.raises(SystemExit):
        main(["compare", "--workspace", str(labelled.root), "first", "--fractions", "2"])
    assert "fractions must be in (0, 1]" in capsys.readouterr().err


def test_cluster_names_come_from_the_maps_clusters_file(ws, store):
    assert cmp.cluster_names(ws, store) == {}
    write_parquet(pa.table({"cluster": [0, 1, 2, 3], "name": ["tax, budget", "match, goal", "code", "spam"],
                            "size": [30, 15, 10, 5]}), ws.dir("maps") / "static__clusters.parquet")
    store.refresh()
    assert cmp.cluster_names(ws, store)["1"] == "match, goal"
    out = cmp.compare(ws, ["spread"], store)
    assert out["coverage"]["names"]["3"] == "spam"
    assert [r["spread"] for r in out["coverage"]["per_cluster"]] == [1, 1, 1, 1]


def test_map_points_per_selection(ws, store):
    subsets = cmp.load_subsets(ws, store, ["first", "spread"], baseline=False)
    pts = cmp.map_points(store, subsets)
    assert pts.groupby("selection").size().to_dict() == {"first": 10, "spread": 4}
    spread = pts[pts["selection"] == "spread"].set_index("id")
    assert spread.loc["d45", "x"] == 45.0 and spread.loc["d45", "cluster"] == 2
