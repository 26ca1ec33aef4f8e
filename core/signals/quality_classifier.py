"""`quality_classifier`: P(target-like) from a classifier on embeddings (as DCLM's and FineWeb-Edu's annotators).

Positives: the target's examples (embedded with the workspace's embedding model). Negatives: a seeded
random sample of the pool, without the documents that are target examples. A logistic regression
(class-balanced) is trained on them; its held-out ROC AUC (stratified k-fold) goes to the sidecar,
so a curator can see whether the classifier tells the target from the pool at all. Every document
gets P(positive) from the model fitted on all the training data, except the documents that were
training examples themselves: they get their out-of-fold probability, so they are not scored by a
model that has seen them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field

from core.errors import WinnowError
from core.progress import Progress
from core.signals.base import Column, CorpusSignal, Params, register
from core.signals.context import SignalContext
from core.signals.rds import target_vectors

MIN_POSITIVES = 10


class QualityClassifierParams(Params):
    model: str | None = Field(None, description="embedding model (default: the workspace's default embeddings)")
    negatives: int = Field(0, ge=0, description="pool documents sampled as negatives (0: 5 x the target's size, "
                           "at least 1,000, at most the pool)")
    C: float = Field(1.0, gt=0, description="inverse regularisation strength of the logistic regression")
    folds: int = Field(5, ge=2, le=20, description="folds for the held-out AUC and the training examples' scores")
    seed: int = Field(0, description="seed of the negative sample and the folds")


@register
class QualityClassifier(CorpusSignal):
    name = "quality_classifier"
    version = "1"
    description = "P(looks like the target) from a logistic regression on embeddings: target examples vs a pool sample"
    reference = "DCLM (Li et al. 2024) fastText filter; FineWeb-Edu classifier (Penedo et al. 2024); Arctic-SnowCoder"
    columns = (
        Column("p_target", "float", "probability that the document is like the target's examples", better="higher"),
    )
    needs = frozenset({"text", "embeddings", "target"})
    Params = QualityClassifierParams
    cost = "moderate"

    def compute_corpus(self, ctx: SignalContext, progress: Progress) -> pd.DataFrame:
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import roc_auc_score
        from sklearn.model_selection import StratifiedKFold

        p = self.params
        target = ctx.target_docs()
        ids, matrix = ctx.embeddings(p.model)
        n = len(ids)
        progress(0, 4)
        if len(target) < MIN_POSITIVES:
            raise WinnowError(f"the target {ctx.target!r} has {len(target)} examples; the classifier needs at least "
                              f"{MIN_POSITIVES} to learn from and to measure its AUC")
        model, pos = target_vectors(ctx, target, p.model)
        row_of = {d: i for i, d in enumerate(ids)}
        in_pool = np.array([row_of.get(t, -1) for t in target["id"]], dtype=np.int64)
        candidates = np.setdiff1d(np.arange(n), in_pool[in_pool >= 0])
        if len(candidates) < MIN_POSITIVES:
            raise WinnowError("too few pool documents outside the target to sample negatives from")
        want = p.negatives or max(5 * len(target), 1_000)
        rng = np.random.default_rng(p.seed)
        neg_rows = np.sort(rng.choice(candidates, size=min(want, len(candidates)), replace=False))
        X = np.vstack([pos, matrix[neg_rows]]).astype(np.float32)
        y = np.concatenate([np.ones(len(pos), dtype=np.int8), np.zeros(len(neg_rows), dtype=np.int8)])
        folds = min(p.folds, len(pos), len(neg_rows))
        progress(1, 4)

        def make():
            return LogisticRegression(C=p.C, class_weight="balanced", max_iter=2_000)

        oof = np.zeros(len(y))
        aucs = []
        for train, test in StratifiedKFold(folds, shuffle=True, random_state=p.seed).split(X, y):
            clf = make().fit(X[train], y[train])
            oof[test] = clf.predict_proba(X[test])[:, 1]
            aucs.append(roc_auc_score(y[test], oof[test]))
        progress(2, 4)
        final = make().fit(X, y)
        scores = np.empty(n)
        for start in range(0, n, 65_536):
            scores[start:start + 65_536] = final.predict_proba(matrix[start:start + 65_536])[:, 1]
        # documents that were training examples keep their out-of-fold probability
        scores[neg_rows] = oof[len(pos):]
        pos_in_pool = in_pool >= 0
        scores[in_pool[pos_in_pool]] = oof[:len(pos)][pos_in_pool]
        progress(4, 4)
        self.sidecar_extra = {
            "model": model,
            "auc": round(float(roc_auc_score(y, oof)), 4),
            "auc_folds": [round(float(a), 4) for a in aucs],
            "folds": folds,
            "positives": int(len(pos)),
            "negatives": int(len(neg_rows)),
            "positives_in_pool": int(pos_in_pool.sum()),
            "C": p.C,
            "seed": p.seed,
        }
        return pd.DataFrame({"id": ids, "p_target": scores})
