"""`rds`: max cosine similarity to a target's examples, on stored embeddings."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import roc_auc_score

from core.embed import compute_embeddings, embed_texts
from core.errors import WinnowError
from core.signals.runner import read_sidecar, run_signal
from core.targets import add_reference_text, reference_from_filter

DOCS = [
    {"id": "cat1", "text": "The cat slept on the warm windowsill all afternoon.", "label": "pets"},
    {"id": "cat2", "text": "My kitten chases a ball of yarn around the living room.", "label": "pets"},
    {"id": "dog1", "text": "The puppy barked at the mailman and wagged its tail.", "label": "pets"},
    {"id": "fin1", "text": "Shares fell sharply after the central bank raised interest rates.", "label": "money"},
    {"id": "fin2", "text": "Quarterly earnings beat analyst forecasts, lifting the stock price.", "label": "money"},
]



def test_similarity_is_the_max_cosine_to_a_target_example(make_ws):
    ws = make_ws(DOCS, id_field="id", label_field="label")
    compute_embeddings(ws, "static")
    add_reference_text(ws, "pets", "A cat purring on my lap.\nA dog fetching a stick in the park.")
    res = run_signal(ws, "rds", target="pets")
    df = pq.read_table(res.path).to_pandas().set_index("id")
    vec = embed_texts([d["text"] for d in DOCS], "static")
    tgt = embed_texts(["A cat purring on my lap.", "A dog fetching a stick in the park."], "static")
    expected = (vec @ tgt.T).max(axis=1)
    np.testing.assert_allclose(df.loc[[d["id"] for d in DOCS], "similarity"], expected, rtol=1e-5)
    assert df.loc["dog1", "nearest_example"] == "2"
    assert min(df.loc[["cat1", "cat2", "dog1"], "similarity"]) > max(df.loc[["fin1", "fin2"], "similarity"])
    assert read_sidecar(ws, res.key)["details"]["target_examples"] == 2


def test_a_document_in_the_target_is_scored_against_the_other_examples(make_ws):
    ws = make_ws(DOCS, id_field="id", label_field="label")
    compute_embeddings(ws, "static")
    reference_from_filter(ws, "money", labels=["money"])
    df = pq.read_table(run_signal(ws, "rds", target="money").path).to_pandas().set_index("id")
    assert df.loc["fin1", "nearest_example"] == "fin2" and df.loc["fin1", "similarity"] < 0.999
    kept = pq.read_table(run_signal(ws, "rds", target="money", params={"exclude_self": False}).path)
    assert kept.to_pandas().set_index("id").loc["fin1", "similarity"] == pytest.approx(1.0, abs=1e-5)


def test_refuses_without_embeddings_or_target(make_ws):
    ws = make_ws(DOCS, id_field="id")
    add_reference_text(ws, "pets", "a cat")
    with pytest.raises(WinnowError, match="python -m core embed"):
        run_signal(ws, "rds", target="pets")
    compute_embeddings(ws, "static")
    with pytest.raises(WinnowError, match="needs a target: pass --target NAME .targets: pets"):
        run_signal(ws, "rds")


def test_bbc_tech_target_ranks_tech_articles_first_on_the_demo(demo_embedded):
    res = run_signal(demo_embedded, "rds", target="bbc_tech")
    scores = pq.read_table(res.path).to_pandas()
    docs = pq.read_table(demo_embedded.doc_files()[0].parent, columns=["id", "label"]).to_pandas()
    df = scores.merge(docs, on="id")
    auc = roc_auc_score(df["label"] == "tech", df["similarity"])
    print(f"rds bbc_tech on the demo: AUC tech vs rest {auc:.3f}")
    assert auc >= 0.85


def test_blocks_and_self_exclusion_give_the_plain_max(monkeypatch):
    from core.signals import rds

    monkeypatch.setattr(rds, "CHUNK", 3)  # several blocks, a self-match inside the second one
    rng = np.random.default_rng(0)
    docs, examples = rng.normal(size=(10, 4)).astype(np.float32), rng.normal(size=(3, 4)).astype(np.float32)
    best, arg = rds.max_similarity(docs, examples, [str(i) for i in range(10)], ["x", "4", "y"], True,
                                   lambda done, total: None)
    sims = docs @ examples.T
    sims[4, 1] = -np.inf
    np.testing.assert_allclose(best, sims.max(axis=1), rtol=1e-6)
    assert (arg == sims.argmax(axis=1)).all()
