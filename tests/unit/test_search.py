"""Semantic search: a document's own text finds it first; ranking, ties, empty queries, missing embeddings."""

from __future__ import annotations

import numpy as np
import pytest

from core.embed import compute_embeddings
from core.errors import WinnowError
from core.search import nearest, top_k

RECORDS = [
    {"id": "bank", "text": "The central bank raised interest rates by half a point to curb inflation."},
    {"id": "match", "text": "The striker scored twice in the second half and the home side won the cup final."},
    {"id": "phone", "text": "The new phone has a faster processor, a brighter screen and a bigger battery."},
    {"id": "vote", "text": "Parliament voted on the budget after a long debate about public spending."},
    {"id": "film", "text": "The film won three awards at the festival, including best director."},
    {"id": "code", "text": "def read_lines(path):\n    with open(path) as fh:\n        return fh.read().splitlines()"},
]


@pytest.fixture
def ws(make_ws):
    ws = make_ws(RECORDS, id_field="id")
    compute_embeddings(ws)
    return ws


def test_a_documents_own_text_finds_it_first(ws):
    for rec in RECORDS:
        hits = nearest(ws, rec["text"], k=3)
        assert hits["id"].iloc[0] == rec["id"]
        assert hits["score"].iloc[0] == pytest.approx(1.0, abs=1e-5)
        assert list(hits.columns) == ["id", "score"] and len(hits) == 3
        assert hits["score"].is_monotonic_decreasing


def test_a_query_in_other_words_finds_the_right_topic(ws):
    # paraphrases sharing few or no words with the document (the 64-d static model is no MiniLM:
    # these are queries it gets right, not a benchmark)
    assert nearest(ws, "mortgage costs go up as the bank tightens policy", k=1)["id"].iloc[0] == "bank"
    assert nearest(ws, "movie prize at a festival", k=1)["id"].iloc[0] == "film"
    assert nearest(ws, "how to open a text file in python", k=1)["id"].iloc[0] == "code"
    hits = nearest(ws, "interest rates and inflation", k=10)
    assert len(hits) == len(RECORDS)  # k larger than the corpus: every document, ranked
    assert hits["id"].iloc[0] == "bank"


def test_empty_query_and_missing_embeddings_are_clear_errors(make_ws, ws):
    with pytest.raises(WinnowError, match="type something"):
        nearest(ws, "   ")
    bare = make_ws(RECORDS[:2], id_field="id")
    with pytest.raises(WinnowError, match="python -m core embed"):
        nearest(bare, "bank")


def test_top_k_orders_by_score_and_breaks_ties_by_row():
    m = np.array([[1, 0], [0, 1], [1, 0], [0.6, 0.8]], dtype=np.float32)
    rows, scores = top_k(m, np.array([1, 0], dtype=np.float32), 3)
    assert rows.tolist() == [0, 2, 3] and scores.tolist() == pytest.approx([1, 1, 0.6])
    assert top_k(m, np.array([1, 0], dtype=np.float32), 0)[0].size == 0
