"""Compare selections side by side: size, tokens, overlap, cluster coverage, score distributions and
closeness to a target (METHODS.md, "Comparing subsets"); the proxy models are in core/proxy.py.

- Overlap: Jaccard |A ∩ B| / |A ∪ B| of the selections' unique ids.
- Cluster coverage: documents per map cluster (or per label when there is no map), the share of the
  corpus's clusters with at least one document, and the Shannon entropy (bits) of the cluster mix.
- Closeness to a target (as in DSIR, Xie et al. 2023): the selection's hashed n-gram distribution
  (DSIR's features: lowercased WordPunct unigrams + bigrams, sha256 into 10,000 buckets) and
  KL(p_target ‖ p_selection) with DSIR's 1e-8 smoothing; KL reduction = KL(target ‖ random) −
  KL(target ‖ selection), where random is a random subset of the same size.
The random baseline is a uniform random sample of the whole workspace, the size of the first selection
(`BASELINE`), seeded, so the CLI, the page and the job all see the same one.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from core.errors import WinnowError
from core.workspace import Workspace, read_json

if TYPE_CHECKING:
    from core.store import Store

BASELINE = "random (baseline)"
NUM_BUCKETS = 10_000
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
    # a stream of its own: a saved `random` selection with the same seed must not be the baseline itself
    rng = np.random.default_rng([seed, 0xBA5E])
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


def map_points(store: Store, subsets: Sequence[Subset]) -> pd.DataFrame:
    """Long table (id, x, y, cluster, selection) of each selection's documents on the map; empty without a map."""
    if "map__x" not in store.score_columns:
        return pd.DataFrame(columns=["id", "x", "y", "cluster", "selection"])
    pts = store.df('SELECT id, "map__x" AS x, "map__y" AS y, "map__cluster" AS cluster FROM scores '
                   'WHERE "map__x" IS NOT NULL')
    pts["id"] = pts["id"].astype(str)
    pts = pts.set_index("id")
    frames = [pts.reindex(s.ids).dropna(subset=["x"]).assign(selection=s.name) for s in subsets]
    return pd.concat(frames).rename_axis("id").reset_index()


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


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-safe records (NaN -> None)."""
    if df.empty:
        return []
    return json.loads(df.to_json(orient="records"))
