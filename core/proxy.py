"""Proxy evaluation: train the same small model on each selection and score it on a held-out set
(METHODS.md, "Comparing subsets"), at several sizes (10/25/50/100%) and seeds: learning curves.

- Labelled data: logistic regression on the document embeddings (the documents of the selection that
  have a label); accuracy and macro-F1 on a held-out labelled set (a target with a `label` column; by
  default the first such target).
- Text: an interpolated Kneser-Ney bigram language model (discount 0.75, lowercased WordPunct tokens,
  one vocabulary shared by every model of a run so perplexities compare), perplexity on the target.

Training documents whose text also occurs in the evaluation set are left out (no leak), and the report
says how many held-out texts a recipe's target contains (a target-aware selection saw those texts).
It runs as a job (`python -m core compare SEL... --proxy`); the result is kept under
`selections/.compare/proxy-<key>.json`, the key made from the request (`proxy_key`).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from core.compare import load_subsets, recipe_target, records, texts_for
from core.errors import WinnowError
from core.progress import Progress, no_progress
from core.workspace import Workspace, read_json, write_json

if TYPE_CHECKING:
    from core.store import Store

PROXY_FRACTIONS = (0.1, 0.25, 0.5, 1.0)
PROXY_SEEDS = (0, 1, 2)
KN_DISCOUNT = 0.75


# -- the held-out set --------------------------------------------------------------------------------
def labelled_target(ws: Workspace) -> str | None:
    """The first target with a `label` column: the held-out set of the labelled proxy by default."""
    import pyarrow.parquet as pq

    from core.targets import list_references, reference_path

    for name in list_references(ws, "targets"):
        if "label" in pq.read_schema(reference_path(ws, name, "targets")).names:
            return name
    return None


# -- labelled: logistic regression on embeddings ----------------------------------------------------
def _subsample(ids: Sequence[str], fraction: float, seed: int) -> list[str]:
    """The first round(fraction·n) of a seeded shuffle (at least one document)."""
    n = len(ids)
    if fraction >= 1:
        return list(ids)
    k = max(1, int(round(fraction * n)))
    idx = np.random.default_rng(seed).permutation(n)[:k]
    return [ids[i] for i in np.sort(idx)]


def _macro_f1(y_true: np.ndarray, y_pred: np.ndarray, labels: Sequence[str]) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y_true, y_pred, labels=list(labels), average="macro", zero_division=0))


@dataclass
class LabelledTask:
    """Training features for every labelled workspace document and the held-out set's features."""

    features: dict[str, np.ndarray]  # doc id -> embedding row (labelled docs only)
    labels: dict[str, str]
    x_eval: np.ndarray
    y_eval: np.ndarray
    classes: list[str]
    excluded: int  # workspace docs left out because their text is in the held-out set
    model: str | None


def labelled_task(ws: Workspace, store: Store, heldout: str, model: str | None = None) -> LabelledTask:
    from core.embed import embed_texts, load_embeddings, resolve_model
    from core.targets import load_reference

    ref = load_reference(ws, heldout, "targets")
    if "label" not in ref.columns or ref["label"].isna().all():
        raise WinnowError(f"the held-out set {heldout!r} has no `label` column: the labelled proxy needs labels")
    ref = ref[ref["label"].notna()]
    docs = store.df("SELECT id, label, text FROM docs WHERE label IS NOT NULL")
    docs["id"] = docs["id"].astype(str)
    leaked = docs["text"].isin(set(ref["text"]))
    docs = docs[~leaked]
    embed_model = resolve_model(ws, model)
    ids, mat = load_embeddings(ws, embed_model)
    row = {str(i): r for r, i in enumerate(ids)}
    feats = {i: mat[row[i]] for i in docs["id"] if i in row}
    x_eval = np.asarray(embed_texts(ref["text"].fillna("").tolist(), model=embed_model), dtype=np.float32)
    norms = np.linalg.norm(x_eval, axis=1, keepdims=True)
    x_eval = x_eval / np.where(norms > 0, norms, 1.0)
    return LabelledTask(feats, dict(zip(docs["id"], docs["label"].astype(str), strict=True)), x_eval,
                        ref["label"].astype(str).to_numpy(), sorted(ref["label"].astype(str).unique()),
                        int(leaked.sum()), embed_model)


def train_eval_labelled(task: LabelledTask, ids: Sequence[str], seed: int) -> dict[str, Any]:
    """Logistic regression on the labelled documents among `ids`; accuracy and macro-F1 on the held-out set."""
    from sklearn.linear_model import LogisticRegression

    train = [i for i in ids if i in task.features]
    n = len(train)
    if n == 0:
        return {"n_train": 0, "accuracy": float("nan"), "macro_f1": float("nan")}
    y = np.array([task.labels[i] for i in train])
    if len(set(y)) == 1:  # one class: the only possible model predicts it everywhere
        pred = np.full(len(task.y_eval), y[0])
    else:
        x = np.stack([task.features[i] for i in train]).astype(np.float32)
        clf = LogisticRegression(max_iter=1000, C=1.0, random_state=seed)
        clf.fit(x, y)
        pred = clf.predict(task.x_eval)
    return {"n_train": n, "accuracy": float(np.mean(pred == task.y_eval)),
            "macro_f1": _macro_f1(task.y_eval, pred, task.classes)}


# -- text: interpolated Kneser-Ney bigram LM --------------------------------------------------------
class Vocabulary:
    """Token -> id (0: <s>, 1: </s>), shared by every model in one comparison so perplexities compare."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {"<s>": 0, "</s>": 1}

    def encode(self, text: str) -> np.ndarray:
        import re

        toks = re.findall(r"\w+|[^\w\s]+", (text or "").lower())
        get = self.index.setdefault
        return np.array([0, *[get(t, len(self.index)) for t in toks], 1], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.index)


def _bigrams(docs: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    if not docs:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    prev = np.concatenate([d[:-1] for d in docs])
    nxt = np.concatenate([d[1:] for d in docs])
    return prev, nxt


class KneserNeyBigram:
    """Interpolated Kneser-Ney bigram LM (Chen & Goodman 1998) with discount D, over a fixed vocabulary V.

    P(w|v) = max(c(v,w) − D, 0)/c(v) + D·N1+(v•)/c(v) · P_cont(w)   (P_cont(w) when c(v) = 0)
    P_cont(w) = max(N1+(•w) − D, 0)/N1+(••) + D·|{w: N1+(•w) > 0}|/N1+(••) · 1/|V|
    so every token of V has non-zero probability and the model sums to one over V.
    """

    def __init__(self, docs: Sequence[np.ndarray], vocab_size: int, discount: float = KN_DISCOUNT) -> None:
        self.V = int(vocab_size)
        self.D = discount
        prev, nxt = _bigrams(docs)
        keys = prev * self.V + nxt
        self.keys, self.counts = np.unique(keys, return_counts=True)
        kv, kw = np.divmod(self.keys, self.V)
        self.c_hist = np.bincount(kv, weights=self.counts, minlength=self.V)
        self.n_follow = np.bincount(kv, minlength=self.V).astype(float)
        n_precede = np.bincount(kw, minlength=self.V).astype(float)
        types = float(len(self.keys))
        if types == 0:
            self.p_cont = np.full(self.V, 1.0 / self.V)
        else:
            seen = float((n_precede > 0).sum())
            self.p_cont = np.maximum(n_precede - self.D, 0) / types + self.D * seen / types / self.V

    def log_prob(self, prev: np.ndarray, nxt: np.ndarray) -> np.ndarray:
        """log P(next | prev) for each bigram (natural log)."""
        keys = prev * self.V + nxt
        c_vw = np.zeros(len(keys))
        if len(self.keys):
            pos = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
            hit = self.keys[pos] == keys
            c_vw[hit] = self.counts[pos[hit]]
        c_v = self.c_hist[prev]
        seen = c_v > 0  # histories never seen back off to the continuation distribution
        p = self.p_cont[nxt].copy()
        p[seen] = (np.maximum(c_vw[seen] - self.D, 0)
                   + self.D * self.n_follow[prev[seen]] * self.p_cont[nxt[seen]]) / c_v[seen]
        return np.log(p)

    def perplexity(self, docs: Sequence[np.ndarray]) -> float:
        prev, nxt = _bigrams(docs)
        if len(prev) == 0:
            return float("nan")
        return float(np.exp(-self.log_prob(prev, nxt).mean()))


# -- the proxy job ----------------------------------------------------------------------------
def proxy_evaluate(ws: Workspace, names: Sequence[str], store: Store | None = None, *, baseline: bool = True,
                   heldout: str | None = None, target: str | None = None,
                   fractions: Sequence[float] = PROXY_FRACTIONS, seeds: Sequence[int] = PROXY_SEEDS,
                   model: str | None = None, baseline_seed: int = 0,
                   progress: Progress = no_progress) -> dict[str, Any]:
    """Train the same small models on each selection at several sizes and seeds; score them.

    Returns {"labelled": {...}, "text": {...}, "runs": [...]}: one run per (selection, fraction, seed)
    and task, plus mean/std per point (the learning curves) and the final (100%) table.
    """
    if store is None:
        from core.store import Store

        store = Store(ws)
    fractions = sorted({float(f) for f in fractions})
    if not fractions or min(fractions) <= 0 or max(fractions) > 1:
        raise WinnowError("proxy fractions must be in (0, 1]")
    subsets = load_subsets(ws, store, names, baseline, baseline_seed)
    heldout = heldout or labelled_target(ws)
    text_target = target or recipe_target(ws, names) or heldout
    if not heldout and not text_target:
        raise WinnowError("the proxy needs a held-out labelled set or a target to score on: add a target "
                          "(`python -m core target add`) and pass --heldout or --target")
    tasks = []
    task_l = None
    if heldout:
        task_l = labelled_task(ws, store, heldout, model)
        tasks.append("labelled")
    if text_target:
        tasks.append("text")
    total = len(subsets) * len(fractions) * len(seeds) * len(tasks) + 1
    done = 0
    progress(done, total)
    runs: list[dict[str, Any]] = []
    text_info: dict[str, Any] = {}
    if "text" in tasks:
        from core.targets import load_reference

        vocab = Vocabulary()
        tgt_texts = load_reference(ws, text_target, "targets")["text"].fillna("").tolist()
        tgt_set = set(tgt_texts)
        eval_docs = [vocab.encode(t) for t in tgt_texts]
        encoded: dict[str, np.ndarray] = {}
        leaked = 0
        for s in subsets:
            want = [i for i in s.ids if i not in encoded]
            for i, text in zip(want, texts_for(store, want), strict=False):
                if text in tgt_set:
                    leaked += 1
                    continue
                encoded[i] = vocab.encode(text)
        text_info = {"target": text_target, "model": "interpolated Kneser-Ney bigram, D=0.75, WordPunct lowercased",
                     "vocabulary": len(vocab), "eval_tokens": int(sum(len(d) - 1 for d in eval_docs)),
                     "excluded_leaks": leaked}
    done += 1
    progress(done, total)
    for s in subsets:
        for frac in fractions:
            for seed in seeds:
                sample = _subsample(s.ids, frac, seed)
                if task_l is not None:
                    r = train_eval_labelled(task_l, sample, seed)
                    runs.append({"task": "labelled", "selection": s.name, "fraction": frac, "seed": seed,
                                 "documents": len(sample), **r})
                    done += 1
                    progress(done, total)
                if "text" in tasks:
                    train_docs = [encoded[i] for i in sample if i in encoded]
                    lm = KneserNeyBigram(train_docs, len(vocab))
                    runs.append({"task": "text", "selection": s.name, "fraction": frac, "seed": seed,
                                 "documents": len(sample), "n_train": len(train_docs),
                                 "perplexity": lm.perplexity(eval_docs)})
                    done += 1
                    progress(done, total)
    runs_df = pd.DataFrame(runs)
    out: dict[str, Any] = {"selections": [s.name for s in subsets],
                           "baseline": next((s.name for s in subsets if s.baseline), None),
                           "fractions": fractions, "seeds": list(seeds), "runs": records(runs_df)}
    if task_l is not None:
        out["labelled"] = {"heldout": heldout, "eval_examples": len(task_l.y_eval), "classes": task_l.classes,
                           "model": "logistic regression (C=1, lbfgs) on L2-normalised embeddings",
                           "embeddings": task_l.model, "excluded_leaks": task_l.excluded,
                           "heldout_in_recipe_targets": heldout_in_targets(ws, names, heldout),
                           "curves": _curves(runs_df, "labelled", ["accuracy", "macro_f1"])}
    if "text" in tasks:
        out["text"] = {**text_info, "curves": _curves(runs_df, "text", ["perplexity"])}
    return out


def heldout_in_targets(ws: Workspace, names: Sequence[str], heldout: str) -> dict[str, int]:
    """{target: held-out examples whose text is also in that target} for the targets the recipes used.

    A target-aware selection (DSIR, quality classifier, RDS) has seen those texts (not their labels)
    when it chose its documents; the report says so rather than hide it.
    """
    from core.select import selection_paths
    from core.targets import load_reference

    held = set(load_reference(ws, heldout, "targets")["text"])
    out: dict[str, int] = {}
    for name in names:
        recipe = (read_json(selection_paths(ws, name)[0]) or {}).get("recipe", {})
        for t in [recipe.get("target"), *(recipe.get("targets") or [])]:
            if t and t not in out:
                try:
                    out[t] = int(load_reference(ws, t, "targets")["text"].isin(held).sum())
                except WinnowError:
                    continue
    return out


def _curves(runs: pd.DataFrame, task: str, metrics: list[str]) -> list[dict[str, Any]]:
    """mean and std over seeds of each metric per (selection, fraction)."""
    df = runs[runs["task"] == task]
    if df.empty:
        return []
    agg = df.groupby(["selection", "fraction"], sort=False).agg(
        documents=("documents", "mean"), n_train=("n_train", "mean"),
        **{f"{m}_mean": (m, "mean") for m in metrics}, **{f"{m}_std": (m, "std") for m in metrics},
    ).reset_index()
    for m in metrics:
        agg[f"{m}_std"] = agg[f"{m}_std"].fillna(0.0)
    return records(agg)


def final_table(result: dict[str, Any]) -> pd.DataFrame:
    """One row per selection: the proxy's scores at the largest size (mean ± std over seeds)."""
    rows: dict[str, dict[str, Any]] = {}
    for task, metrics in (("labelled", ["accuracy", "macro_f1"]), ("text", ["perplexity"])):
        curves = pd.DataFrame((result.get(task) or {}).get("curves") or [])
        if curves.empty:
            continue
        last = curves[curves["fraction"] == curves["fraction"].max()]
        for r in last.itertuples():
            row = rows.setdefault(r.selection, {"selection": r.selection, "documents": int(r.documents)})
            for m in metrics:
                row[m] = getattr(r, f"{m}_mean")
                row[f"{m}_std"] = getattr(r, f"{m}_std")
            if task == "labelled":
                row["labelled_train"] = float(r.n_train)
    return pd.DataFrame(list(rows.values()))


# -- where the proxy job keeps its result --------------------------------------------------------
def proxy_key(ws: Workspace, names: Sequence[str], baseline: bool = True, heldout: str | None = None,
              target: str | None = None, fractions: Sequence[float] = PROXY_FRACTIONS,
              seeds: Sequence[int] = PROXY_SEEDS, baseline_seed: int = 0) -> str:
    """A key of what a proxy result depends on, from the request as given (so the page can find a job's
    result): the selections (and when they were made), the sets, sizes, seeds and the documents."""
    from core.select import selection_paths

    stamps = []
    for name in names:
        meta = read_json(selection_paths(ws, name)[0]) or {}
        stamps.append([name, meta.get("created"), meta.get("count")])
    blob = json.dumps([stamps, baseline, heldout, target, sorted(map(float, fractions)), list(seeds), baseline_seed,
                       ws.fingerprint()], sort_keys=True)
    return hashlib.sha1(blob.encode()).hexdigest()[:16]


def proxy_result_path(ws: Workspace, key: str):
    return ws.dir("selections") / ".compare" / f"proxy-{key}.json"


def save_proxy_result(ws: Workspace, key: str, result: dict[str, Any]) -> None:
    write_json({**result, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}, proxy_result_path(ws, key))


def load_proxy_result(ws: Workspace, key: str) -> dict[str, Any] | None:
    return read_json(proxy_result_path(ws, key))
