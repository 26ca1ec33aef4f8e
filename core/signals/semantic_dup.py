"""Semantic duplicates: SemDeDup (Abbas et al. 2023, "SemDeDup: Data-efficient learning at web-scale
through semantic deduplication").

1. k-means on the L2-normalised document embeddings (`python -m core embed` first).
2. Inside each cluster, order the members by the keep rule: SemDeDup's own is the member least
   similar to the cluster centroid first ("least_central"); "score" puts the best value of a
   chosen score column first.
3. Pairwise cosine similarity inside the cluster; a document is dropped (`is_representative`
   false) when it is more similar than 1 - eps to any member ordered before it. This is the
   reference implementation's rule (max over the upper triangle of the ordered similarity matrix),
   so the first member of every group of near-identical documents is kept.

Only pairs inside one k-means cluster are compared (that is what makes it scale: the cost is the
sum of squared cluster sizes); near-identical documents nearly always land in the same cluster.
`group` is a connected component of the pairs above 1 - eps inside a cluster (null when a document
has no such pair); `max_similarity` is the highest cosine to another member of its cluster, and
`nearest` that member's id, so a curator can look at the pair and move the threshold later.

The k-means result and every finished cluster are checkpoints in the run's scratch folder, so a
killed or cancelled run resumes after its last finished cluster.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from core.embed import resolve_model
from core.errors import WinnowError
from core.progress import Progress
from core.signals._groups import group_column, groups_from_pairs
from core.signals.base import Column, CorpusSignal, Params, register
from core.signals.context import SignalContext
from core.workspace import atomic_path

# SemDeDup's published eps (0.05 to 0.1) fits embeddings like MiniLM's. The 64-d static model packs
# documents much closer: on the demo corpus the median cosine to a document's nearest neighbour is
# 0.94 (0.97 for code), so 0.05 would drop a third of the corpus, while planted near duplicates (a few
# word edits) sit above 0.998. Its default is therefore 0.005.
DEFAULT_EPS = {"static": 0.005, "minilm": 0.05}
DOCS_PER_CLUSTER = 1000  # the automatic number of clusters: one per this many documents
BLOCK_CELLS = 1 << 24  # similarity cells computed at a time (64 MB of float32)


class SemDeDupParams(Params):
    eps: float | None = Field(None, gt=0.0, lt=1.0,
                              description="a pair with cosine similarity above 1 - eps is a semantic duplicate; "
                                          "larger eps drops more (empty: the default for the model, "
                                          + ", ".join(f"{m} {e}" for m, e in DEFAULT_EPS.items()) + ")")
    n_clusters: int | None = Field(None, ge=1,
                                   description=f"k-means clusters (empty: one per {DOCS_PER_CLUSTER:,} documents)")
    keep: Literal["least_central", "score"] = Field(
        "least_central", description="which member of a duplicate group to keep: the one least similar to its "
                                     "cluster centroid (SemDeDup), or the best by a score column")
    score_column: str | None = Field(None, description="with keep=score: a column of the scores table, "
                                                       "e.g. gopher_quality__stop_words")
    higher_is_better: bool = Field(True, description="with keep=score: keep the highest value (else the lowest)")
    model: str | None = Field(None, description="embedding model (empty: the default one that has been computed)")
    seed: int = Field(0, description="k-means seed")

    @model_validator(mode="after")
    def _score_named(self) -> SemDeDupParams:
        if self.keep == "score" and not self.score_column:
            raise ValueError("keep=score needs score_column")
        return self


def kmeans_labels(x: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(label per row, L2-normalised centroids): k-means on unit vectors (spherical k-means, as in SemDeDup)."""
    from sklearn.cluster import KMeans, MiniBatchKMeans

    k = max(1, min(k, len(x)))
    if k == 1:
        labels = np.zeros(len(x), dtype=np.int64)
        centroids = x.mean(axis=0, keepdims=True)
    else:
        km = (MiniBatchKMeans(n_clusters=k, random_state=seed, batch_size=4096, n_init=3)
              if len(x) > 50_000 else KMeans(n_clusters=k, random_state=seed, n_init=3))
        labels = km.fit_predict(x).astype(np.int64)
        centroids = km.cluster_centers_.astype(np.float32)
    norms = np.linalg.norm(centroids, axis=1, keepdims=True)
    centroids = np.divide(centroids, norms, out=np.zeros_like(centroids), where=norms > 0)
    return labels, centroids


def dedup_cluster(e: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """SemDeDup inside one cluster whose rows `e` are already in keep order (first = kept first).

    Returns (max similarity to any other row, index of that row (-1 alone), max similarity to an
    earlier row (-inf for the first), and the pairs (i, j), i < j, above the threshold).
    """
    s = len(e)
    max_sim = np.full(s, -np.inf, dtype=np.float32)
    nearest = np.full(s, -1, dtype=np.int64)
    max_earlier = np.full(s, -np.inf, dtype=np.float32)
    left: list[np.ndarray] = []
    right: list[np.ndarray] = []
    block = max(1, min(s, BLOCK_CELLS // max(s, 1)))
    rows = np.arange(s)
    for a in range(0, s, block):
        b = min(a + block, s)
        cols = np.arange(a, b)
        sim = e @ e[a:b].T  # sim[i, j - a] = cosine(i, j)
        sim[cols, cols - a] = -np.inf  # not with itself
        if s > 1:
            best = sim.argmax(axis=0)
            nearest[a:b] = best
            max_sim[a:b] = sim[best, cols - a]
        earlier = rows[:, None] < cols[None, :]
        sim = np.where(earlier, sim, -np.inf)
        max_earlier[a:b] = sim.max(axis=0)
        i, j = np.nonzero(sim > threshold)
        if len(i):
            left.append(i)
            right.append(j + a)
    return max_sim, nearest, max_earlier, _cat(left), _cat(right)


def _cat(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)


@register
class SemanticDup(CorpusSignal):
    name = "semantic_dup"
    version = "1"
    description = ("semantic duplicates (SemDeDup): k-means on embeddings, then inside each cluster drop documents "
                   "more similar than 1 - eps to one kept before them")
    reference = "Abbas et al. 2023, SemDeDup (facebookresearch/SemDeDup)"
    Params = SemDeDupParams
    needs = frozenset({"embeddings"})
    cost = "moderate"
    requires = ("sklearn", "scipy")
    columns = (
        Column("cluster", "int", "k-means cluster of the document's embedding", kind="group"),
        Column("group", "int", "semantic-duplicate group (pairs above 1 - eps inside a cluster; null: none)",
               kind="group"),
        Column("group_size", "int", "documents in the group (1: no semantic duplicate)"),
        Column("is_representative", "bool",
               "kept by SemDeDup: no document ordered before it in its cluster is more similar than 1 - eps",
               kind="flag"),
        Column("max_similarity", "float", "highest cosine similarity to another document of its cluster",
               better="lower"),
        Column("nearest", "str", "id of that most similar document (null: alone in its cluster)"),
    )

    def compute_corpus(self, ctx: SignalContext, progress: Progress) -> pd.DataFrame:
        p = self.params
        ids, matrix = ctx.embeddings(p.model)
        n = len(ids)
        progress(0, n)
        if n == 0:
            return self.empty_result([])
        x = np.ascontiguousarray(matrix, dtype=np.float32)
        k = p.n_clusters or max(1, math.ceil(n / DOCS_PER_CLUSTER))
        labels, centroids = self._kmeans(ctx, x, k)
        if p.keep == "score":
            score = self._score_values(ctx, ids)
            rank_key = -score if p.higher_is_better else score  # best first; missing values last
        else:
            rank_key = np.einsum("ij,ij->i", x, centroids[labels])  # least similar to the centroid first
        eps = p.eps if p.eps is not None else DEFAULT_EPS.get(resolve_model(ctx.ws, p.model), 0.05)
        threshold = 1.0 - eps
        max_sim = np.full(n, np.nan, dtype=np.float64)
        nearest = np.full(n, -1, dtype=np.int64)
        keep = np.ones(n, dtype=bool)
        lefts: list[np.ndarray] = []
        rights: list[np.ndarray] = []
        # every cluster's members in keep order (ties: workspace order), one sort for all clusters
        order = np.lexsort((np.arange(n), rank_key, labels))
        clusters, starts = np.unique(labels[order], return_index=True)
        done = 0
        for c, members in zip(clusters, np.split(order, starts[1:]), strict=True):
            # each finished cluster is a checkpoint file: a killed or cancelled run resumes after it
            ckpt = ctx.scratch / f"cluster-{int(c):06d}.npz" if ctx.scratch else None
            if ckpt is not None and ckpt.exists():
                with np.load(ckpt) as z:
                    ms, near, earlier, left, right = (z[a] for a in ("ms", "near", "earlier", "left", "right"))
            else:
                ms, near, earlier, left, right = dedup_cluster(x[members], threshold)
                if ckpt is not None:
                    with atomic_path(ckpt) as tmp, open(tmp, "wb") as fh:
                        np.savez(fh, ms=ms, near=near, earlier=earlier, left=left, right=right)
            alone = near < 0
            max_sim[members] = np.where(alone, np.nan, ms)
            nearest[members] = np.where(alone, -1, members[np.maximum(near, 0)])
            keep[members] = earlier <= threshold
            lefts.append(members[left])
            rights.append(members[right])
            done += len(members)
            progress(done, n)
        group, size, _ = groups_from_pairs(n, np.concatenate(lefts), np.concatenate(rights))
        self.sidecar_extra = {
            "clusters": int(len(np.unique(labels))), "eps": eps, "threshold": threshold,
            "groups": int(group.max() + 1) if (group >= 0).any() else 0,
            "dropped": int((~keep).sum()), "pairs": int(sum(len(v) for v in lefts)),
        }
        id_arr = np.asarray(ids, dtype=object)
        return pd.DataFrame({
            "id": ids,
            "cluster": labels,
            "group": group_column(group),
            "group_size": size,
            "is_representative": keep,
            "max_similarity": max_sim,
            "nearest": pd.array([id_arr[j] if j >= 0 else None for j in nearest], dtype="string"),
        })

    def _kmeans(self, ctx: SignalContext, x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """k-means labels and centroids, kept in the run's scratch folder so a resumed run reuses them."""
        ckpt = ctx.scratch / "kmeans.npz" if ctx.scratch else None
        if ckpt is not None and ckpt.exists():
            with np.load(ckpt) as z:
                if len(z["labels"]) == len(x):
                    return z["labels"], z["centroids"]
        labels, centroids = kmeans_labels(x, k, self.params.seed)
        if ckpt is not None:
            with atomic_path(ckpt) as tmp, open(tmp, "wb") as fh:
                np.savez(fh, labels=labels, centroids=centroids)
        return labels, centroids

    def _score_values(self, ctx: SignalContext, ids: list[str]) -> np.ndarray:
        """The chosen score column per document (nan where missing, sorted last)."""
        from core.store import Store, ident

        store = Store(ctx.ws)
        try:
            column = self.params.score_column
            if column not in store.score_columns:
                known = ", ".join(store.score_columns[:20]) or "none yet (run a signal first)"
                raise WinnowError(f"semantic_dup: no score column {column!r}; score columns: {known}")
            df = store.df(f"SELECT id, {ident(column)} AS v FROM scores")
        finally:
            store.close()
        values = pd.to_numeric(df.set_index("id")["v"], errors="coerce").reindex(ids)
        out = values.to_numpy(dtype=np.float64, na_value=np.nan)
        worst = np.nanmax(np.abs(out)) + 1 if np.isfinite(out).any() else 1.0
        # missing values rank after every real one, whichever direction is better
        return np.where(np.isnan(out), -worst if self.params.higher_is_better else worst, out)
