"""Compare selections side by side: size, tokens, overlap, cluster coverage, score distributions,
closeness to a target, and a proxy model trained on each (METHODS.md, "Comparing subsets").

- Overlap: Jaccard |A ∩ B| / |A ∪ B| of the selections' unique ids.
- Cluster coverage: documents per map cluster (or per label when there is no map), the share of the
  corpus's clusters with at least one document, and the Shannon entropy (bits) of the cluster mix.
- Closeness to a target (as in DSIR, Xie et al. 2023): the selection's hashed n-gram distribution
  (DSIR's features: lowercased WordPunct unigrams + bigrams, sha256 into 10,000 buckets) and
  KL(p_target ‖ p_selection) with DSIR's 1e-8 smoothing; KL reduction = KL(target ‖ random) −
  KL(target ‖ selection), where random is a random subset of the same size.
- Proxy evaluation (`proxy_evaluate`, run as a job): the same small model trained on each selection
  at several sizes (10/25/50/100%) and seeds:
  * labelled data: logistic regression on the document embeddings; accuracy and macro-F1 on a
    held-out labelled set (a target with a `label` column; by default the first such target);
  * text: an interpolated Kneser-Ney bigram language model (discount 0.75, lowercased WordPunct
    tokens, one fixed vocabulary shared by every model so perplexities compare), perplexity on the target.
  Training documents whose text also occurs in the evaluation set are left out (no leak).

The random baseline is a uniform random sample of the whole workspace, the size of the first selection
(`BASELINE`), seeded, so the CLI, the page and the job all see the same one.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from core.errors import WinnowError
from core.progress import Progress, no_progress
from core.workspace import Workspace, read_json, write_json

if TYPE_CHECKING:
    from core.store import Store

BASELINE = "random (baseline)"
NUM_BUCKETS = 10_000
PROXY_FRACTIONS = (0.1, 0.25, 0.5, 1.0)
PROXY_SEEDS = (0, 1, 2)
KN_DISCOUNT = 0.75
MAX_SELECTIONS = 4


# -- which ids ----------------------------------------------------------------------------------
@dataclass
class Subset:
    name: str
    ids: list[str]  # unique ids, in selection order
    baseline: bool = False


def baseline_ids(store: Store, size: int, seed: int = 0) -> list[str]:
    """A uniform random sample of the whole workspace (no filters), `size` documents, seeded."""
    ids = store.df("SELECT id FROM docs")["id"].astype(str).to_numpy()
    rng = np.random.default_rng(seed)
    k = min(size, len(ids))
    return ids[rng.permutation(len(ids))[:k]].tolist()


def load_subsets(ws: Workspace, store: Store, names: Sequence[str], baseline: bool = True,
                 baseline_seed: int = 0) -> list[Subset]:
    """The named selections (unique ids, in order), plus the random baseline unless turned off."""
    from core.select import load_selection

    names = list(dict.fromkeys(names))
    if not names:
        raise WinnowError("pick at least one selection to compare")
    if len(names) > MAX_SELECTIONS:
        raise WinnowError(f"compare at most {MAX_SELECTIONS} selections at once (got {len(names)})")
    subsets = []
    for name in names:
        _, df = load_selection(ws, name)
        subsets.append(Subset(name, df["id"].drop_duplicates().tolist()))
    if baseline:
        bname = BASELINE if BASELINE not in names else f"{BASELINE} #{baseline_seed}"
        subsets.append(Subset(bname, baseline_ids(store, len(subsets[0].ids), baseline_seed), baseline=True))
    return subsets


# -- overlap, sizes ---------------------------------------------------------------------------
def jaccard(a: set, b: set) -> float:
    union = len(a | b)
    return len(a & b) / union if union else 1.0


def jaccard_matrix(subsets: Sequence[Subset]) -> pd.DataFrame:
    sets = [set(s.ids) for s in subsets]
    names = [s.name for s in subsets]
    m = np.array([[jaccard(a, b) for b in sets] for a in sets], dtype=float)
    return pd.DataFrame(m, index=names, columns=names)


def _doc_table(store: Store) -> pd.DataFrame:
    df = store.df("SELECT id, n_words, source, label FROM docs")
    df["id"] = df["id"].astype(str)
    return df.set_index("id")


def sizes(store: Store, subsets: Sequence[Subset]) -> pd.DataFrame:
    """documents, tokens (whitespace words) and documents per source, per selection."""
    docs = _doc_table(store)
    rows = []
    for s in subsets:
        sub = docs.reindex(s.ids)
        row = {"selection": s.name, "documents": len(s.ids),
               "tokens": int(pd.to_numeric(sub["n_words"], errors="coerce").fillna(0).sum())}
        for src, n in sub["source"].value_counts().items():
            row[f"source: {src}"] = int(n)
        rows.append(row)
    return pd.DataFrame(rows).fillna(0)


# -- cluster coverage -------------------------------------------------------------------------
def entropy_bits(counts: np.ndarray) -> float:
    """Shannon entropy (bits) of a count vector; 0 for an empty one."""
    c = np.asarray(counts, dtype=float)
    c = c[c > 0]
    if c.sum() == 0:
        return 0.0
    p = c / c.sum()
    return float(-(p * np.log2(p)).sum())


def coverage_from_groups(groups: pd.Series, subsets: Sequence[Subset]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(documents per cluster × selection, summary per selection) from `groups`: id -> cluster of every doc.

    Summary: clusters covered (≥ 1 document), share of the corpus's clusters covered, entropy (bits)
    of the selection's cluster distribution, and that entropy over log2(number of clusters).
    """
    groups = groups.dropna().astype(str)
    all_clusters = sorted(groups.unique(), key=_natural_key)
    table = pd.DataFrame(index=pd.Index(all_clusters, name="cluster"))
    summary = []
    for s in subsets:
        counts = groups.reindex(s.ids).dropna().value_counts()
        col = counts.reindex(all_clusters).fillna(0).astype(int)
        table[s.name] = col.to_numpy()
        covered = int((col > 0).sum())
        h = entropy_bits(col.to_numpy())
        summary.append({
            "selection": s.name, "clusters_covered": covered, "clusters_total": len(all_clusters),
            "share_covered": covered / len(all_clusters) if all_clusters else 0.0,
            "entropy_bits": h,
            "normalised_entropy": h / math.log2(len(all_clusters)) if len(all_clusters) > 1 else 0.0,
        })
    return table, pd.DataFrame(summary)


def _natural_key(v: str) -> tuple:
    try:
        return (0, float(v), "")
    except ValueError:
        return (1, 0.0, v)


def cluster_groups(store: Store) -> tuple[pd.Series, str]:
    """(id -> group, what the groups are): the map's clusters, else the labels, else the sources."""
    if "map__cluster" in store.score_columns:
        df = store.df('SELECT id, "map__cluster" AS g FROM scores')
        what = "map cluster"
    elif store.scalar("SELECT count(label) FROM docs"):
        df = store.df("SELECT id, label AS g FROM docs")
        what = "label"
    else:
        df = store.df("SELECT id, source AS g FROM docs")
        what = "source"
    return pd.Series(df["g"].to_numpy(), index=df["id"].astype(str)), what


def cluster_names(ws: Workspace, store: Store) -> dict[str, str]:
    """cluster -> its name (key words) from the active map's clusters file, when there is one."""
    import pyarrow.parquet as pq

    map_file = store.active_map_file()
    if map_file is None:
        return {}
    path = map_file.with_name(f"{map_file.stem}__clusters.parquet")
    if not path.exists():
        return {}
    df = pq.read_table(path).to_pandas()
    col = "name" if "name" in df.columns else "label" if "label" in df.columns else None
    if "cluster" not in df.columns or col is None:
        return {}
    return {str(c): str(n) for c, n in zip(df["cluster"], df[col], strict=True)}


# -- score distributions ----------------------------------------------------------------------
def numeric_score_columns(store: Store) -> list[str]:
    if not store.score_columns:
        return []
    types = store.df("DESCRIBE scores")
    numeric = ("DOUBLE", "FLOAT", "BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "DECIMAL", "UBIGINT")
    return [r.column_name for r in types.itertuples()
            if r.column_name != "id" and not r.column_name.startswith("map__")
            and str(r.column_type).upper().startswith(numeric)]


def score_values(store: Store, subsets: Sequence[Subset], column: str) -> pd.DataFrame:
    """Long table (selection, value) of one score column over each selection (missing values dropped)."""
    from core.store import ident

    if column not in store.score_columns:
        raise WinnowError(f"no score column {column!r}")
    vals = store.df(f"SELECT id, {ident(column)} AS v FROM scores")
    s = pd.Series(pd.to_numeric(vals["v"], errors="coerce").to_numpy(dtype=float), index=vals["id"].astype(str))
    frames = [pd.DataFrame({"selection": sub.name, "value": s.reindex(sub.ids).dropna().to_numpy()}) for sub in subsets]
    return pd.concat(frames, ignore_index=True)


def score_summary(store: Store, subsets: Sequence[Subset], columns: Sequence[str]) -> pd.DataFrame:
    rows = []
    for col in columns:
        long = score_values(store, subsets, col)
        for name, g in long.groupby("selection", sort=False):
            v = g["value"]
            rows.append({"score": col, "selection": name, "n": len(v), "mean": v.mean(), "std": v.std(),
                         "p10": v.quantile(0.1), "median": v.median(), "p90": v.quantile(0.9)})
    return pd.DataFrame(rows)


# -- closeness to a target: hashed n-grams and KL -------------------------------------------------
def texts_for(store: Store, ids: Sequence[str]) -> list[str]:
    """Texts of these ids, in the given order (ids not in the workspace are skipped)."""
    if not len(ids):
        return []
    cur = store.cursor()
    try:
        cur.register("_want", pd.DataFrame({"id": list(ids), "pos": np.arange(len(ids))}))
        df = cur.execute("SELECT d.text FROM docs d JOIN _want w ON d.id = w.id ORDER BY w.pos").df()
    finally:
        cur.close()
    return df["text"].fillna("").tolist()


def bucket_counts(texts: Sequence[str], num_buckets: int = NUM_BUCKETS) -> np.ndarray:
    """Total hashed unigram+bigram bucket counts of some texts (DSIR's features, core/dsir.py)."""
    from core.dsir import bucket_totals, featurize

    if not texts:
        return np.zeros(num_buckets, dtype=np.int64)
    return bucket_totals(featurize(list(texts), 2, num_buckets))


def kl_divergence(p_counts: np.ndarray, q_counts: np.ndarray) -> float:
    """KL(p ‖ q) in nats of two count vectors, each normalised, with DSIR's 1e-8 added to both."""
    from core.dsir import kl_divergence as dsir_kl

    return dsir_kl(p_counts, q_counts)


def kl_to_target(ws: Workspace, store: Store, subsets: Sequence[Subset], target: str) -> pd.DataFrame:
    """KL(target ‖ selection) of hashed n-gram distributions and the reduction against the baseline."""
    from core.targets import load_reference

    tgt = bucket_counts(load_reference(ws, target, "targets")["text"].fillna("").tolist())
    rows = [{"selection": s.name, "kl": kl_divergence(tgt, bucket_counts(texts_for(store, s.ids)))} for s in subsets]
    df = pd.DataFrame(rows)
    base = [s.name for s in subsets if s.baseline]
    if base:
        ref = float(df.loc[df["selection"] == base[0], "kl"].iloc[0])
        df["kl_reduction"] = ref - df["kl"]
    else:
        df["kl_reduction"] = np.nan
    return df


# -- everything but the proxy ------------------------------------------------------------------
def recipe_target(ws: Workspace, names: Sequence[str]) -> str | None:
    """The first target named by the selections' recipes (`target`, or the first of `targets`), if any."""
    from core.select import selection_paths

    for name in names:
        recipe = (read_json(selection_paths(ws, name)[0]) or {}).get("recipe", {})
        if recipe.get("target"):
            return recipe["target"]
        if recipe.get("targets"):
            return recipe["targets"][0]
    return None


def labelled_target(ws: Workspace) -> str | None:
    """The first target with a `label` column: the held-out set of the labelled proxy by default."""
    import pyarrow.parquet as pq

    from core.targets import list_references, reference_path

    for name in list_references(ws, "targets"):
        if "label" in pq.read_schema(reference_path(ws, name, "targets")).names:
            return name
    return None


def compare(ws: Workspace, names: Sequence[str], store: Store | None = None, *, baseline: bool = True,
            target: str | None = None, baseline_seed: int = 0) -> dict[str, Any]:
    """Every comparison figure (JSON-ready): sizes, Jaccard, coverage, score summaries, KL to a target.

    Without `target`, the KL figures use the target a selection's recipe names, if any.
    """
    if store is None:
        from core.store import Store

        store = Store(ws)
    subsets = load_subsets(ws, store, names, baseline, baseline_seed)
    target = target or recipe_target(ws, names)
    groups, what = cluster_groups(store)
    per_cluster, coverage = coverage_from_groups(groups, subsets)
    out: dict[str, Any] = {
        "selections": [s.name for s in subsets],
        "baseline": next((s.name for s in subsets if s.baseline), None),
        "sizes": sizes(store, subsets).to_dict(orient="records"),
        "jaccard": jaccard_matrix(subsets).round(6).to_dict(orient="index"),
        "coverage": {"by": what, "summary": coverage.to_dict(orient="records"),
                     "names": cluster_names(ws, store) if what == "map cluster" else {},
                     "per_cluster": per_cluster.reset_index().to_dict(orient="records")},
        "scores": records(score_summary(store, subsets, numeric_score_columns(store))),
    }
    if target:
        out["kl"] = {"target": target, "features": "hashed unigram+bigram, 10,000 buckets (DSIR)",
                     "rows": kl_to_target(ws, store, subsets, target).to_dict(orient="records")}
    return out


# -- proxy evaluation: labelled (logistic regression on embeddings) ------------------------------
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


# -- proxy evaluation: text (interpolated Kneser-Ney bigram LM) ---------------------------------
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
        keys = prev * self.V + nxt
        pos = np.searchsorted(self.keys, keys)
        pos_c = np.minimum(pos, max(len(self.keys) - 1, 0))
        found = (len(self.keys) > 0) & (self.keys[pos_c] == keys) if len(self.keys) else np.zeros(len(keys), bool)
        c_vw = np.where(found, self.counts[pos_c] if len(self.keys) else 0, 0).astype(float)
        c_v = self.c_hist[prev]
        safe = np.where(c_v > 0, c_v, 1.0)
        p = np.where(c_v > 0, np.maximum(c_vw - self.D, 0) / safe + self.D * self.n_follow[prev] / safe * self.p_cont[nxt],
                     self.p_cont[nxt])
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


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-safe records (NaN -> None)."""
    if df.empty:
        return []
    return json.loads(df.to_json(orient="records"))


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


# -- a plain-text report for the CLI ---------------------------------------------------------------
def _fmt(v: Any, spec: str = ".3f") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return format(v, spec) if isinstance(v, int | float) else str(v)


def format_text(out: dict[str, Any]) -> str:
    """The figures of `compare` (and `proxy_evaluate` under "proxy") as aligned plain text."""
    names = out["selections"]
    width = max(12, *(len(n) for n in names)) + 2
    lines = ["sizes"]
    for row in out["sizes"]:
        lines.append(f"  {row['selection']:<{width}} {row['documents']:>8,} docs {row['tokens']:>12,} words")
    lines.append("overlap (Jaccard)")
    lines.append("  " + " " * width + "".join(f"{i:>8}" for i in range(len(names))))
    for i, a in enumerate(names):
        lines.append(f"  {i} {a:<{width - 2}}" + "".join(f"{out['jaccard'][a][b]:>8.3f}" for b in names))
    cov = out["coverage"]
    lines.append(f"coverage by {cov['by']}")
    for row in cov["summary"]:
        lines.append(f"  {row['selection']:<{width}} {row['clusters_covered']}/{row['clusters_total']} covered "
                     f"({row['share_covered']:.0%}), entropy {row['entropy_bits']:.3f} bits")
    if out.get("kl"):
        lines.append(f"KL(target || selection), target {out['kl']['target']} ({out['kl']['features']})")
        for row in out["kl"]["rows"]:
            lines.append(f"  {row['selection']:<{width}} KL {row['kl']:.4f}  reduction vs random "
                         f"{_fmt(row['kl_reduction'], '+.4f')}")
    proxy = out.get("proxy")
    if proxy:
        final = final_table(proxy)
        lines.append("proxy evaluation at 100% (mean ± std over seeds " + ",".join(map(str, proxy["seeds"])) + ")")
        if proxy.get("labelled"):
            lines.append(f"  classifier: {proxy['labelled']['model']}, held-out {proxy['labelled']['heldout']} "
                         f"({proxy['labelled']['eval_examples']} examples)")
            for t, n in (proxy["labelled"].get("heldout_in_recipe_targets") or {}).items():
                if n:
                    lines.append(f"  note: {n} held-out texts are also in the target {t} that a recipe selected "
                                 "with (texts, not labels)")
        if proxy.get("text"):
            lines.append(f"  language model: {proxy['text']['model']}, perplexity on {proxy['text']['target']}")
        for row in final.to_dict(orient="records"):
            parts = [f"  {row['selection']:<{width}}"]
            if "accuracy" in row:
                parts.append(f"acc {_fmt(row['accuracy'])}±{_fmt(row['accuracy_std'])}  "
                             f"macro-F1 {_fmt(row['macro_f1'])}±{_fmt(row['macro_f1_std'])}")
            if "perplexity" in row:
                parts.append(f"ppl {_fmt(row['perplexity'], '.1f')}±{_fmt(row['perplexity_std'], '.1f')}")
            lines.append("  ".join(parts))
    return "\n".join(lines)
