"""`label_issues`: documents whose label is probably wrong, by confident learning (Northcutt et al. 2021).

Out-of-sample predicted probabilities come from k-fold cross-validation of a logistic regression (each
document is predicted by a model that never saw it) on TF-IDF word features (default), the stored
embeddings, or both. TF-IDF is the default because confident learning is only as good as the classifier:
on the demo's BBC topics the 64-d static embeddings reach 0.83 CV accuracy and find 63-80% of planted
label flips, TF-IDF 0.93 and 95%. cleanlab's `find_label_issues` then applies confident learning:
per-class thresholds are the mean self-confidence of each class, and the confident joint estimates how
many documents of each given label truly belong to each class; `prune_by_noise_rate` (cleanlab's
default) flags that many per off-diagonal cell, the least confident first; `confident_learning`
(METHODS.md's plain rule) flags exactly the off-diagonal documents and finds fewer.
`self_confidence` is the predicted probability of the given label (lower = more suspect; the ranking
cleanlab uses), `suggested_label` the most probable class. The sidecar holds the estimated noise rate
(1 - trace of the estimated joint of given and true labels), per class too, and the CV accuracy.

Unlabelled documents, and those of a class with fewer members than folds, get nulls.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from core.errors import WinnowError
from core.progress import Progress
from core.signals.base import Column, CorpusSignal, Params, register
from core.signals.context import SignalContext


class LabelIssuesParams(Params):
    features: Literal["tfidf", "embeddings", "both"] = Field(
        "tfidf", description="classifier input: TF-IDF of words, the stored embeddings, or both side by side")
    model: str | None = Field(None, description="embedding model for features=embeddings/both "
                              "(default: the workspace's default embeddings)")
    folds: int = Field(5, ge=2, le=20, description="cross-validation folds for the out-of-sample probabilities")
    C: float = Field(10.0, gt=0, description="inverse regularisation strength of the logistic regression")
    filter_by: Literal["prune_by_noise_rate", "confident_learning", "prune_by_class", "both"] = Field(
        "prune_by_noise_rate", description="cleanlab's rule for which documents are issues")
    seed: int = Field(0, description="seed of the folds")


@register
class LabelIssues(CorpusSignal):
    name = "label_issues"
    version = "1"
    description = "Confident learning on cross-validated probabilities: is the document's label probably wrong?"
    reference = "Northcutt et al. 2021, Confident Learning; cleanlab.filter.find_label_issues"
    columns = (
        Column("is_issue", "bool", "the label is probably wrong (off-diagonal in the confident joint)", kind="flag"),
        Column("self_confidence", "float", "out-of-sample probability of the given label", better="higher"),
        Column("suggested_label", "str", "the class the classifier finds most probable", kind="label"),
    )
    needs = frozenset({"text", "labels"})  # embeddings too when features uses them (checked when it runs)
    Params = LabelIssuesParams
    requires = ("cleanlab",)
    cost = "moderate"

    def compute_corpus(self, ctx: SignalContext, progress: Progress) -> pd.DataFrame:
        from cleanlab.count import estimate_joint
        from cleanlab.filter import find_label_issues
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold

        p = self.params
        labelled = ctx.labels()
        ids = labelled["id"].astype(str).tolist()
        given = pd.Series(labelled["label"].to_numpy(), index=ids)
        counts = given.dropna().astype(str).value_counts()
        classes = sorted(counts[counts >= p.folds].index)
        too_small = sorted(counts[counts < p.folds].index)
        if len(classes) < 2:
            raise WinnowError(f"label_issues needs at least two labels with {p.folds} or more documents each "
                              f"(found: {', '.join(f'{k}: {v}' for k, v in counts.items()) or 'none'})")
        code = {c: i for i, c in enumerate(classes)}
        rows = np.flatnonzero(given.isin(classes).to_numpy())
        y = np.array([code[str(v)] for v in given.iloc[rows]], dtype=np.int64)
        X = self._features(ctx, ids, rows)
        probs = np.zeros((len(rows), len(classes)))
        splits = list(StratifiedKFold(p.folds, shuffle=True, random_state=p.seed).split(X, y))
        progress(0, len(splits) + 1)
        for k, (train, test) in enumerate(splits):
            clf = LogisticRegression(C=p.C, max_iter=3_000).fit(X[train], y[train])
            probs[np.ix_(test, clf.classes_)] = clf.predict_proba(X[test])
            progress(k + 1, len(splits) + 1)
        issues = find_label_issues(labels=y, pred_probs=probs, filter_by=p.filter_by)
        joint = estimate_joint(labels=y, pred_probs=probs)
        self_conf = probs[np.arange(len(y)), y]
        suggested = probs.argmax(axis=1)
        progress(len(splits) + 1, len(splits) + 1)

        n = len(ids)
        out = pd.DataFrame({
            "id": ids,
            "is_issue": pd.array([None] * n, dtype="boolean"),
            "self_confidence": np.full(n, np.nan),
            "suggested_label": pd.array([None] * n, dtype="string"),
        })
        out.loc[rows, "is_issue"] = issues
        out.loc[rows, "self_confidence"] = self_conf
        out.loc[rows, "suggested_label"] = [classes[i] for i in suggested]
        per_class_noise = 1 - np.diag(joint) / np.maximum(joint.sum(axis=1), 1e-12)
        self.sidecar_extra = {
            "features": p.features,
            "model": self._model,
            "classes": classes,
            "documents_judged": int(len(rows)),
            "issues": int(issues.sum()),
            "estimated_noise_rate": round(float(1 - np.trace(joint)), 4),
            "estimated_noise_rate_per_class": {c: round(float(r), 4) for c, r in zip(classes, per_class_noise, strict=True)},
            "cv_accuracy": round(float((suggested == y).mean()), 4),
            "labels_too_rare_to_judge": {c: int(counts[c]) for c in too_small},
            "filter_by": p.filter_by,
            "folds": p.folds,
        }
        return out

    _model: str | None = None

    def _features(self, ctx: SignalContext, ids: list[str], rows: np.ndarray):
        """The classifier's input for the judged documents: TF-IDF, embeddings, or both (sparse)."""
        from scipy import sparse

        p = self.params
        parts = []
        if p.features in ("tfidf", "both"):
            from sklearn.feature_extraction.text import TfidfVectorizer

            text = ctx.all_docs(("id", "text")).set_index("id")["text"]
            text.index = text.index.astype(str)
            docs = text.reindex([ids[i] for i in rows]).fillna("").tolist()
            parts.append(TfidfVectorizer(sublinear_tf=True, min_df=2, max_features=200_000).fit_transform(docs))
        if p.features in ("embeddings", "both"):
            from core.embed import resolve_model

            self._model = resolve_model(ctx.ws, p.model)
            has, vectors = ctx.embeddings_for([ids[i] for i in rows], p.model)
            if not has.all():
                raise WinnowError(f"{int((~has).sum()):,} of the {len(has):,} labelled documents have no "
                                  f"{self._model} embedding yet (ingested after the last embed?): run "
                                  f"`python -m core embed --model {self._model}` first, or use features=tfidf")
            parts.append(sparse.csr_matrix(vectors))
        return parts[0] if len(parts) == 1 else sparse.hstack(parts).tocsr()
