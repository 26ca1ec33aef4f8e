"""Semantic search: the documents nearest to a query by cosine similarity of embeddings.

The query is embedded with the same model as the stored document vectors; both are L2-normalised,
so cosine similarity is one matrix-vector product (about 10 ms per million 64-d documents).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.embed import embed_texts, load_embeddings, resolve_model
from core.errors import WinnowError
from core.workspace import Workspace


def top_k(matrix: np.ndarray, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(row indices, cosine scores) of the k rows of `matrix` nearest to `vector`, best first.

    Ties are broken by row order, so results are stable.
    """
    scores = matrix @ vector
    k = max(0, min(int(k), len(scores)))
    if k == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    part = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    order = part[np.lexsort((part, -scores[part]))]
    return order.astype(np.int64), scores[order].astype(np.float32)


def nearest(ws: Workspace, text: str, k: int = 200, model: str | None = None) -> pd.DataFrame:
    """DataFrame(id, score) of the k documents most similar in meaning to `text`, most similar first.

    `score` is the cosine similarity in [-1, 1]. Raises a WinnowError when the query is empty or the
    workspace has no embeddings yet (saying how to compute them).
    """
    if not text or not text.strip():
        raise WinnowError("type something to search for")
    if k < 1:
        raise WinnowError("k must be at least 1")
    model = resolve_model(ws, model)
    ids, matrix = load_embeddings(ws, model)
    query = embed_texts([text], model)[0]
    if not np.any(query):
        # every token unknown to the model: nothing to compare with, rather than arbitrary "hits"
        return pd.DataFrame({"id": pd.Series([], dtype="string"), "score": pd.Series([], dtype="float32")})
    rows, scores = top_k(matrix, query, k)
    return pd.DataFrame({"id": pd.array([ids[i] for i in rows], dtype="string"), "score": scores})
