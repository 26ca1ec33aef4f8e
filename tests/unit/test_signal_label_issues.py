"""`label_issues`: confident learning on cross-validated probabilities finds the demo's planted label flips."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from core.errors import WinnowError
from core.signals.runner import read_sidecar, run_signal


def test_planted_label_flips_in_the_demo_are_found(demo_embedded):
    res = run_signal(demo_embedded, "label_issues")
    df = pq.read_table(res.path).to_pandas()
    planted = pq.read_table(demo_embedded.root / "planted.parquet").to_pandas()
    flips = planted[planted["kind"] == "label_flip"].set_index("id")["true_label"]
    issues = set(df.loc[df["is_issue"].fillna(False).astype(bool), "id"])
    found = issues & set(flips.index)
    recall, precision = len(found) / len(flips), len(found) / max(len(issues), 1)
    side = read_sidecar(demo_embedded, res.key)["details"]
    print(f"label_issues on the demo: {len(flips)} flips, {len(issues)} issues, recall {recall:.3f}, "
          f"precision {precision:.3f}, estimated noise {side['estimated_noise_rate']}, cv accuracy {side['cv_accuracy']}")
    assert recall >= 0.8
    by_id = df.set_index("id")
    # the suggested label of a found flip is mostly its true topic
    assert (by_id.loc[sorted(found), "suggested_label"] == flips.loc[sorted(found)]).mean() >= 0.8
    # flipped labels get low self-confidence; unlabelled documents are not judged
    labelled = by_id["self_confidence"].notna()
    assert by_id.loc[flips.index, "self_confidence"].median() < by_id.loc[labelled, "self_confidence"].median()
    assert by_id.loc[~labelled, "is_issue"].isna().all() and side["documents_judged"] == int(labelled.sum())
    assert 0 < side["estimated_noise_rate"] < 0.3 and "tech" in side["classes"] and side["features"] == "tfidf"


def test_refuses_without_labels_or_embeddings(make_ws):
    rng = np.random.default_rng(0)
    words = ["alpha", "beta", "gamma", "delta", "omega"]
    ws = make_ws([{"id": str(i), "text": " ".join(rng.choice(words, 6))} for i in range(20)], id_field="id")
    with pytest.raises(WinnowError, match="needs labelled documents.*--label-field"):
        run_signal(ws, "label_issues")
    ws2 = make_ws([{"id": str(i), "text": f"doc {i}", "label": "a" if i % 2 else "b"} for i in range(20)],
                  id_field="id", label_field="label")
    with pytest.raises(WinnowError, match="python -m core embed"):
        run_signal(ws2, "label_issues", params={"features": "embeddings"})
    ws3 = make_ws([{"id": str(i), "text": f"doc {i}", "label": "a" if i < 18 else "b"} for i in range(20)],
                  id_field="id", label_field="label")
    with pytest.raises(WinnowError, match="at least two labels with 5 or more documents"):
        run_signal(ws3, "label_issues")


def test_documents_ingested_after_the_embeddings_are_named_not_a_key_error(make_ws, tmp_path):
    import json

    from core.embed import compute_embeddings
    from core.ingest import ingest_paths

    ws = make_ws([{"id": str(i), "text": f"doc {i} about {'tea' if i % 2 else 'coffee'}", "label": "ab"[i % 2]}
                  for i in range(30)], id_field="id", label_field="label")
    compute_embeddings(ws, model="static")
    late = tmp_path / "late.jsonl"
    late.write_text("".join(json.dumps({"id": f"late{i}", "text": f"late doc {i}", "label": "a"}) + "\n"
                            for i in range(3)))
    ingest_paths(ws, [late], id_field="id", label_field="label")
    with pytest.raises(WinnowError, match="embeddings are older than the documents.*python -m core embed"):
        run_signal(ws, "label_issues", params={"features": "embeddings"})
