"""`quality_classifier`: P(target-like) from a logistic regression on embeddings, with an honest held-out AUC."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import roc_auc_score

from core.embed import compute_embeddings
from core.errors import WinnowError
from core.signals.runner import read_sidecar, run_signal
from core.targets import add_reference_text, reference_from_filter


def _labels(ws):
    return pq.read_table(ws.doc_files()[0].parent, columns=["id", "label"]).to_pandas()


def test_tech_target_is_learned_and_ranks_tech_articles_first(demo_embedded):
    res = run_signal(demo_embedded, "quality_classifier", target="bbc_tech")
    side = read_sidecar(demo_embedded, res.key)["details"]
    df = pq.read_table(res.path).to_pandas().merge(_labels(demo_embedded), on="id")
    assert df["p_target"].between(0, 1).all() and df["p_target"].notna().all()
    auc = roc_auc_score(df["label"] == "tech", df["p_target"])
    print(f"quality_classifier bbc_tech on the demo: held-out AUC {side['auc']}, tech-vs-rest AUC {auc:.3f}")
    assert side["auc"] >= 0.9 and len(side["auc_folds"]) == 5
    assert side["negatives"] == 1_000 and side["positives"] > 10
    assert auc >= 0.85


def test_a_target_of_random_pool_documents_cannot_be_told_apart(demo_embedded):
    ids = pq.read_table(demo_embedded.doc_files()[0].parent, columns=["id"]).column("id").to_pylist()
    rng = np.random.default_rng(3)
    reference_from_filter(demo_embedded, "random", ids=list(rng.choice(ids, 150, replace=False)))
    res = run_signal(demo_embedded, "quality_classifier", target="random", params={"negatives": 600})
    side = read_sidecar(demo_embedded, res.key)["details"]
    assert side["positives_in_pool"] == 150
    assert 0.35 <= side["auc"] <= 0.65  # chance: the held-out AUC is measured, not assumed


def test_refuses_small_targets_and_missing_embeddings(make_ws):
    ws = make_ws([{"id": str(i), "text": f"document number {i}"} for i in range(30)], id_field="id")
    add_reference_text(ws, "few", "one example\nanother")
    with pytest.raises(WinnowError, match="python -m core embed"):
        run_signal(ws, "quality_classifier", target="few")
    compute_embeddings(ws, "static")
    with pytest.raises(WinnowError, match="has 2 examples; the classifier needs at least 10"):
        run_signal(ws, "quality_classifier", target="few")
    with pytest.raises(WinnowError, match="needs a target"):
        run_signal(ws, "quality_classifier")
    with pytest.raises(WinnowError, match="bad parameters"):
        run_signal(ws, "quality_classifier", target="few", params={"C": 0})
