"""Small figures the Compare page needs on top of core/compare.py and core/proxy.py.

- `selection_stamps`: what a cached comparison depends on (a selection saved again under the same name
  changes its stamp, so the page never shows the old figures).
- `restrict`: each selection's documents inside the map selection (the map filter applies everywhere).
- `overlap_counts`: |A ∩ B| for the heatmap's hover text beside the Jaccard index.
- `coverage_shares`: documents per cluster as a share of each selection, so selections of different
  sizes can be read on one axis.
- `proxy_request`: the CLI arguments of a proxy job and the key its result is saved under, made from
  the same values so the page finds what the job wrote (core/commands/compare.py computes the key
  from the arguments as given).
- `proxy_final_vs_baseline`: the final (100%) proxy numbers with the difference to the random baseline.
- `sample_per_group`: at most n points per selection for a chart (a million points do not draw quickly).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from core.compare import Subset
from core.workspace import Workspace


def selection_stamps(ws: Workspace, names: Sequence[str]) -> tuple:
    """(name, json mtime_ns, parquet mtime_ns, sizes) of each selection: changes when one is saved again."""
    from core.select import selection_paths

    out = []
    for name in names:
        stamp: list[Any] = [name]
        for path in selection_paths(ws, name):
            st = path.stat() if path.exists() else None
            stamp += [st.st_mtime_ns, st.st_size] if st else [None, None]
        out.append(tuple(stamp))
    return tuple(out)


def subsets_key(subsets: Sequence[Subset]) -> str:
    """A short digest of the subsets' names and ids (a cache key that does not hash long id lists twice)."""
    h = hashlib.sha1()
    for s in subsets:
        h.update(f"{s.name}\x00{int(s.baseline)}\x00{len(s)}\x00{s.digest()}\x1e".encode())
    return h.hexdigest()[:16]


def restrict(subsets: Sequence[Subset], ids: Sequence[str] | None) -> list[Subset]:
    """Each subset's ids that are also in `ids` (order kept); the subsets unchanged when `ids` is None."""
    if ids is None:
        return list(subsets)
    keep = pa.array([str(i) for i in ids], pa.string())
    return [Subset(s.name, s.arrow_ids().filter(pc.is_in(s.arrow_ids(), value_set=keep)), s.baseline)
            for s in subsets]


def overlap_counts(subsets: Sequence[Subset]) -> pd.DataFrame:
    """Documents shared by each pair of subsets (the diagonal is each subset's size)."""
    from core.compare import intersection_counts

    names = [s.name for s in subsets]
    return pd.DataFrame(intersection_counts(subsets), index=names, columns=names)


def coverage_shares(per_cluster: pd.DataFrame) -> pd.DataFrame:
    """Documents per cluster (rows) as a share of each selection's documents (columns sum to 1; 0 if empty)."""
    totals = per_cluster.sum(axis=0)
    return per_cluster.div(totals.where(totals > 0, 1), axis=1).astype(float)


def proxy_request(names: Sequence[str], *, baseline: bool, baseline_seed: int, heldout: str | None,
                  target: str | None, fractions: Sequence[float], seeds: Sequence[int]) -> list[str]:
    """argv of `python -m core compare ... --proxy` for these settings (workspace and job id are added by the job).

    Written in the order and number format the compare command records in its job (core/commands/compare.py),
    so the page can tell that the running job is the one for these settings.
    """
    argv = ["compare", *names, "--proxy", "--baseline-seed", str(int(baseline_seed)),
            "--fractions", ",".join(str(float(f)) for f in sorted(fractions)),
            "--seeds", ",".join(str(int(s)) for s in seeds)]
    if target:
        argv += ["--target", target]
    if heldout:
        argv += ["--heldout", heldout]
    if not baseline:
        argv.append("--no-baseline")
    return argv


def proxy_result_key(ws: Workspace, names: Sequence[str], *, baseline: bool, baseline_seed: int,
                     heldout: str | None, target: str | None, fractions: Sequence[float],
                     seeds: Sequence[int]) -> str:
    """The key the job started with `proxy_request(...)` saves its result under."""
    from core.proxy import proxy_key

    return proxy_key(ws, list(names), baseline, heldout, target, [float(f) for f in fractions],
                     [int(s) for s in seeds], int(baseline_seed))


def proxy_final_vs_baseline(final: pd.DataFrame, baseline: str | None) -> pd.DataFrame:
    """The final proxy table plus `<metric> vs random` (selection − baseline) for each metric present."""
    out = final.copy()
    if baseline is None or out.empty or baseline not in set(out["selection"]):
        return out
    base = out.set_index("selection").loc[baseline]
    for metric in ("accuracy", "macro_f1", "perplexity"):
        if metric in out.columns:
            out[f"{metric} vs random"] = out[metric] - float(base[metric])
    return out


def curve_frame(result: dict[str, Any], task: str) -> pd.DataFrame:
    """The learning-curve points of one proxy task (selection, fraction, documents, <metric>_mean/_std)."""
    return pd.DataFrame((result.get(task) or {}).get("curves") or [])


def view_range(values: np.ndarray, fence: float = 3.0) -> list[float] | None:
    """The first view of one map axis: quartiles ± `fence` IQR (a wide Tukey fence, as on the Map page), or None
    when every point is inside it. UMAP puts small far-away groups that would squeeze the map into a corner."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if len(v) < 50:
        return None
    q1, q3 = np.quantile(v, [0.25, 0.75])
    lo, hi = max(v.min(), q1 - fence * (q3 - q1)), min(v.max(), q3 + fence * (q3 - q1))
    if lo <= v.min() and hi >= v.max():
        return None
    pad = 0.04 * (hi - lo or 1.0)
    return [float(lo - pad), float(hi + pad)]


def shared_bins(values: np.ndarray, nbins: int = 40) -> dict[str, float] | None:
    """One set of histogram bins (start, end, size) for every selection, so overlaid bars line up."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return None
    lo, hi = float(v.min()), float(v.max())
    if hi == lo:
        return {"start": lo - 0.5, "end": hi + 0.5, "size": 1.0 / max(1, nbins)}
    size = (hi - lo) / nbins
    return {"start": lo, "end": hi + size * 1e-6, "size": size}


def sample_per_group(df: pd.DataFrame, by: str, n: int, seed: int = 0) -> pd.DataFrame:
    """At most `n` rows of each group (a seeded uniform sample, rows kept in their order): what a chart draws
    when a selection has more points than a browser draws quickly. Unchanged when no group is larger."""
    if df.empty or int(df.groupby(by, sort=False).size().max()) <= n:
        return df
    rng = np.random.default_rng(seed)
    keep = np.zeros(len(df), dtype=bool)
    for rows in df.groupby(by, sort=False).indices.values():
        keep[rows if len(rows) <= n else np.sort(rng.choice(rows, n, replace=False))] = True
    return df[keep]


def labelled_targets(ws: Workspace) -> list[str]:
    """Targets with a `label` column: the sets the classifier proxy can be scored on."""
    import pyarrow.parquet as pq

    from core.targets import list_references, reference_path

    return [name for name in list_references(ws, "targets")
            if "label" in pq.read_schema(reference_path(ws, name, "targets")).names]
