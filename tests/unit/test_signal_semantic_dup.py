"""SemDeDup: planted near duplicates are grouped and one of each is dropped; distinct documents are kept."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.embed import compute_embeddings
from core.errors import WinnowError
from core.signals.runner import run_signal
from core.signals.semantic_dup import dedup_cluster

PARAGRAPHS = [
    "The central bank raised interest rates by half a point on Thursday, its fourth rise this year, as inflation "
    "stayed well above target and wages kept climbing faster than prices in most of the economy.",
    "The striker scored twice in the second half as the home side came from behind to win the cup final, "
    "sending thousands of fans onto the pitch after the final whistle in the rain.",
    "The new phone has a faster processor, a brighter screen and a battery that lasts two days, but the "
    "camera is barely better than last year's model and the price has gone up again.",
    "Parliament voted on the budget late last night after a long debate about public spending, with several "
    "members of the governing party rebelling over cuts to local councils and schools.",
    "The film won three awards at the festival, including best director, and critics praised its quiet "
    "pacing, its long takes and the performance of its young lead actress.",
    "To read a file line by line in Python, open it with a with statement and iterate over the file object; "
    "each line keeps its newline character, so strip it if you do not need it.",
    "Heavy storms flooded the river valley overnight, cutting power to ten thousand homes and closing the "
    "main road while rescue teams used boats to reach stranded families.",
    "The museum opened a new wing devoted to ancient pottery, with pieces from three continents and a room "
    "where visitors can watch conservators repair broken vessels.",
]


def _edit(text: str) -> str:
    """A near duplicate: two words changed."""
    return text.replace("the", "a", 1).replace(" and ", " & ", 1)


@pytest.fixture
def ws(make_ws):
    records = [{"id": f"orig{i}", "text": t} for i, t in enumerate(PARAGRAPHS)]
    records += [{"id": f"copy{i}", "text": _edit(PARAGRAPHS[i])} for i in (0, 3, 5)]
    ws = make_ws(records, id_field="id")
    compute_embeddings(ws)
    return ws


def test_planted_near_duplicates_are_grouped_and_one_of_each_dropped(ws):
    result = run_signal(ws, "semantic_dup", {"n_clusters": 2})
    df = pd.read_parquet(result.path).set_index("id")
    assert len(df) == 11
    for i in (0, 3, 5):
        pair = df.loc[[f"orig{i}", f"copy{i}"]]
        assert pair["group"].notna().all() and pair["group"].nunique() == 1
        assert (pair["group_size"] == 2).all()
        assert pair["is_representative"].sum() == 1  # exactly one of the two is kept
        assert pair["max_similarity"].min() > 0.995
        assert df.loc[f"copy{i}", "nearest"] == f"orig{i}"
        assert pair["cluster"].nunique() == 1
    distinct = df.loc[[f"orig{i}" for i in (1, 2, 4, 6, 7)]]
    assert distinct["group"].isna().all() and distinct["is_representative"].all()
    assert (distinct["max_similarity"] < 0.995).all()
    assert df["group"].dropna().nunique() == 3
    assert result.summary["is_representative"] == {"true": 8, "false": 3}


def test_keep_by_score_keeps_the_better_document(ws):
    import pyarrow as pa

    from core.workspace import write_parquet

    # a made-up score where every copy is better than its original
    ids = [f"orig{i}" for i in range(8)] + ["copy0", "copy3", "copy5"]
    quality = [0.1] * 8 + [0.9] * 3
    write_parquet(pa.table({"id": ids, "quality": quality}), ws.dir("signals") / "made_up.parquet")
    result = run_signal(ws, "semantic_dup", {"keep": "score", "score_column": "made_up__quality"})
    df = pd.read_parquet(result.path).set_index("id")
    assert df.loc[["copy0", "copy3", "copy5"], "is_representative"].all()
    assert not df.loc[["orig0", "orig3", "orig5"], "is_representative"].any()
    with pytest.raises(WinnowError, match="no score column"):
        run_signal(ws, "semantic_dup", {"keep": "score", "score_column": "nope__x"})
    with pytest.raises(WinnowError, match="score_column"):
        run_signal(ws, "semantic_dup", {"keep": "score"})


def test_eps_widens_what_counts_as_a_duplicate(ws):
    strict = pd.read_parquet(run_signal(ws, "semantic_dup", {"eps": 1e-7}).path)
    assert strict["is_representative"].all()  # edited copies are not identical
    loose = pd.read_parquet(run_signal(ws, "semantic_dup", {"eps": 0.9, "n_clusters": 1}).path)
    assert (~loose["is_representative"]).sum() > 3


def test_missing_embeddings_say_what_to_run(make_ws):
    bare = make_ws([{"id": "a", "text": "hello there"}], id_field="id")
    with pytest.raises(WinnowError, match="python -m core embed"):
        run_signal(bare, "semantic_dup")


def test_reference_rule_on_hand_made_vectors():
    # rows already in keep order; 0 ~ 1 (cos 0.999), 1 ~ 2 but 0 !~ 2: SemDeDup drops 1 and 2
    # (each is too close to an earlier row), keeps 0 and the unrelated 3
    a = np.array([1.0, 0.0, 0.0])
    b = np.array([0.999, 0.0447, 0.0])
    c = np.array([0.996, 0.0894, 0.0])
    d = np.array([0.0, 0.0, 1.0])
    e = np.stack([v / np.linalg.norm(v) for v in (a, b, c, d)]).astype(np.float32)
    max_sim, nearest, earlier, left, right = dedup_cluster(e, threshold=0.998)
    keep = earlier <= 0.998
    assert keep.tolist() == [True, False, False, True]
    assert nearest.tolist()[:3] == [1, 0, 1] or nearest.tolist()[:3] == [1, 2, 1]
    assert set(zip(left.tolist(), right.tolist(), strict=True)) >= {(0, 1), (1, 2)}
    assert max_sim[3] == pytest.approx(0.0, abs=1e-6)


def test_a_cancelled_run_resumes_from_its_finished_clusters(ws, monkeypatch):
    from core.errors import Cancelled
    from core.signals import semantic_dup

    calls = {"n": 0}
    real = semantic_dup.dedup_cluster

    def counting(e, threshold):
        calls["n"] += 1
        return real(e, threshold)

    monkeypatch.setattr(semantic_dup, "dedup_cluster", counting)

    def cancel_after_first_cluster(done, total):
        if 0 < done < total:
            raise Cancelled()

    params = {"n_clusters": 3}
    with pytest.raises(Cancelled):
        run_signal(ws, "semantic_dup", params, progress=cancel_after_first_cluster)
    assert calls["n"] == 1
    resumed = pd.read_parquet(run_signal(ws, "semantic_dup", params).path)
    assert calls["n"] == 3  # the first cluster came from its checkpoint
    uninterrupted = pd.read_parquet(run_signal(ws, "semantic_dup", params, force=True).path)
    assert calls["n"] == 6
    pd.testing.assert_frame_equal(resumed, uninterrupted)
    assert (~resumed["is_representative"]).sum() == 3
