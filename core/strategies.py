"""Selection strategies (METHODS.md, "Selection strategies"): each picks positions from the pool.

A strategy is a function `(Pick) -> (positions into the pool in output order, epoch per row or None)`.
It reads scores, clusters or embeddings through `Pick`, never changes shared state, and raises a
WinnowError naming what is missing. The sampling primitives below (`gumbel_top_k`, `top_k`,
`balanced_quotas`, `k_center_greedy`, `rs2_epochs`) are plain numpy and tested on their own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from core.errors import WinnowError
from core.progress import Progress, no_progress
from core.recipe import DSIR_MIN_TOKENS, GUMBEL_TEMPERATURE, MATES_FRACTION, MATES_TEMPERATURE, Recipe
from core.scorecols import column_values, group_column, resolve_score, score_values

if TYPE_CHECKING:
    from core.store import Store
    from core.workspace import Workspace

Picked = tuple[np.ndarray, np.ndarray | None]


# -- sizes and sampling primitives -----------------------------------------------------------------
def resolve_size(size: float | None, pool_size: int, default: float | None = None) -> int:
    """A count from a recipe size: a fraction of the pool when below 1; capped at the pool size."""
    size = default if size is None else size
    if size is None:
        return pool_size
    k = int(round(size * pool_size)) if size < 1 else int(size)
    return max(0, min(k, pool_size))


def gumbel_top_k(logits: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k indices sampled without replacement with P ∝ exp(logits), in sampling order (Gumbel-top-k:
    the top k of logits + Gumbel(0, 1) noise; Kool et al. 2019). NaN logits are never drawn."""
    noisy = np.asarray(logits, dtype=float) + rng.gumbel(size=len(logits))
    noisy = np.where(np.isnan(noisy), -np.inf, noisy)
    k = min(k, int(np.isfinite(noisy).sum()))
    return np.argsort(-noisy, kind="stable")[:k]


def top_k(values: np.ndarray, k: int, ascending: bool = False) -> np.ndarray:
    """Indices of the k highest (or lowest) values, best first; NaN is never taken; ties by position."""
    valid = np.flatnonzero(~np.isnan(values))
    key = values[valid] if ascending else -values[valid]
    return valid[np.argsort(key, kind="stable")[:k]]


def largest_remainder(weights: np.ndarray, k: int, caps: np.ndarray) -> np.ndarray:
    """Whole quotas summing to min(k, sum(caps)), proportional to `weights`, never above `caps`.

    Water-filling: a group that cannot fill its share hands what is left to the others.
    """
    caps = np.asarray(caps, dtype=np.int64)
    weights = np.asarray(weights, dtype=float)
    quotas = np.zeros(len(caps), dtype=np.int64)
    remaining = min(int(k), int(caps.sum()))
    while remaining > 0:
        active = quotas < caps
        w = np.where(active, weights, 0.0)
        if w.sum() <= 0:
            w = active.astype(float)
        share = w / w.sum() * remaining
        add = np.minimum(np.floor(share).astype(np.int64), caps - quotas)
        left = remaining - int(add.sum())
        frac = np.where(active & (quotas + add < caps), share - np.floor(share), -1.0)
        for i in np.argsort(-frac, kind="stable")[:left]:
            if frac[i] >= 0:
                add[i] += 1
        if add.sum() == 0:
            break
        quotas += add
        remaining -= int(add.sum())
    return quotas


def balanced_quotas(groups: pd.Series, k: int, quota: str, rng: np.random.Generator | None = None) -> dict[str, int]:
    """{group: how many to take}: equal shares, or shares proportional to group size; capped by size.

    Units left after the whole shares go to the largest remainders; ties (e.g. 10 documents over 30
    equal groups) go to groups in a seeded random order when `rng` is given, else in name order.
    """
    sizes = groups.value_counts(sort=False).sort_index()
    if rng is not None:
        sizes = sizes.iloc[rng.permutation(len(sizes))]
    weights = np.ones(len(sizes)) if quota == "equal" else sizes.to_numpy(dtype=float)
    q = largest_remainder(weights, k, sizes.to_numpy())
    return dict(zip(sizes.index.astype(str), q.tolist(), strict=True))


def k_center_greedy(x: np.ndarray, k: int, first: int = 0, progress: Progress = no_progress) -> np.ndarray:
    """Greedy k-center (Gonzalez 1985; the coreset of Sener & Savarese 2018): each next center is the
    point farthest (Euclidean) from the centers chosen so far. Indices in the order chosen."""
    k = min(k, len(x))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    x = np.ascontiguousarray(x, dtype=np.float32)
    sq = np.einsum("ij,ij->i", x, x)
    chosen = np.empty(k, dtype=np.int64)
    chosen[0] = first
    dist = np.maximum(sq + sq[first] - 2.0 * (x @ x[first]), 0.0)
    for i in range(1, k):
        nxt = int(np.argmax(dist))
        chosen[i] = nxt
        dist = np.minimum(dist, np.maximum(sq + sq[nxt] - 2.0 * (x @ x[nxt]), 0.0))
        if i % 256 == 0:
            progress(i, k)
    progress(k, k)
    return chosen


def rs2_epochs(n: int, per_epoch: int, epochs: int, rng: np.random.Generator) -> list[np.ndarray]:
    """RS2 without replacement (Okanovic et al. 2023): shuffle the pool and hand out contiguous blocks.

    When a pass has fewer than `per_epoch` left, the epoch takes them and fills up from a fresh shuffle
    (ids not already in the epoch); that fresh shuffle, less the ids just used, is the next pass. So no
    epoch repeats an id, and within a pass every id is used exactly once.
    """
    per_epoch = min(per_epoch, n)
    queue = rng.permutation(n)
    out = []
    for _ in range(epochs):
        take, queue = queue[:per_epoch], queue[per_epoch:]
        if len(take) < per_epoch:
            fresh = rng.permutation(n)
            fill = fresh[~np.isin(fresh, take)][: per_epoch - len(take)]
            queue = fresh[~np.isin(fresh, fill)]
            take = np.concatenate([take, fill])
        out.append(take)
    return out


# -- what a strategy may read ----------------------------------------------------------------------
@dataclass
class Pick:
    """The pool (id, n_words, source, label in workspace order) and everything a strategy may read."""

    ws: Workspace
    store: Store
    recipe: Recipe
    pool: pd.DataFrame
    rng: np.random.Generator
    progress: Progress = no_progress

    @property
    def n(self) -> int:
        return len(self.pool)

    @property
    def ids(self) -> np.ndarray:
        return self.pool["id"].to_numpy(dtype=object)

    def k(self, default: float | None = None) -> int:
        return resolve_size(self.recipe.size, self.n, default)

    def score(self, ref: str | None = None, target: str | None = None) -> np.ndarray:
        """A score over the pool (NaN where a document has none); an error if no pool document has it."""
        ref = ref or self.recipe.score
        col = resolve_score(self.store, ref, target or self.recipe.target)
        vals = score_values(self.store, col, self.ids)
        if self.n and np.isnan(vals).all():
            raise WinnowError(f"no document in the pool has a value of {col!r}: compute it again for these documents")
        return vals

    def embeddings(self) -> np.ndarray:
        from core.embed import load_embeddings

        ids, mat = load_embeddings(self.ws, self.recipe.model)
        pos = pd.Series(np.arange(len(ids)), index=pd.Index(ids, dtype=object)).reindex(self.ids)
        missing = int(pos.isna().sum())
        if missing:
            raise WinnowError(f"{missing:,} documents in the pool have no embeddings: run `python -m core embed` again")
        return np.asarray(mat)[pos.to_numpy(dtype=np.int64)]


# -- the strategies ----------------------------------------------------------------------------------
def pick_all(p: Pick) -> Picked:
    if p.recipe.size is None:
        return np.arange(p.n), None
    return np.sort(p.rng.choice(p.n, size=p.k(), replace=False)), None


def pick_random(p: Pick) -> Picked:
    return p.rng.permutation(p.n)[: p.k()], None


def pick_top_k(p: Pick) -> Picked:
    return top_k(p.score(), p.k(), ascending=p.recipe.ascending), None


def pick_gumbel_top_k(p: Pick) -> Picked:
    r = p.recipe
    sign = -1.0 if r.ascending else 1.0
    return gumbel_top_k(sign * p.score() / (r.temperature or GUMBEL_TEMPERATURE), p.k(), p.rng), None


def pick_dsir(p: Pick) -> Picked:
    """DSIR: Gumbel-top-k on the log importance weights (resampling without replacement ∝ the weights),
    after dropping documents shorter than `min_tokens` WordPunct tokens, as the reference does."""
    r = p.recipe
    log_w = p.score(r.score or f"dsir__{r.target}__log_weight", r.target)
    min_tokens = DSIR_MIN_TOKENS if r.min_tokens is None else r.min_tokens
    if min_tokens > 0:
        col = f"dsir__{r.target}__n_tokens"
        if col not in p.store.score_columns:
            raise WinnowError(f"no {col!r} to drop documents shorter than {min_tokens} tokens: compute the dsir "
                              "signal for this target, or set min_tokens: 0")
        n_tokens = score_values(p.store, col, p.ids)
        log_w = np.where(n_tokens >= min_tokens, log_w, np.nan)
    return gumbel_top_k(log_w / (r.temperature or GUMBEL_TEMPERATURE), p.k(), p.rng), None


def pick_mates(p: Pick) -> Picked:
    """MATES: the lowest predicted influence (target loss change; lower helps more), z-scored, sampled with
    Gumbel noise at temperature 0.5, keeping 20% of the pool unless `size` says otherwise."""
    r = p.recipe
    pred = p.score(r.score or "influence", r.target)
    ok = ~np.isnan(pred)
    sd = pred[ok].std() if ok.sum() > 1 else 0.0
    z = (pred - pred[ok].mean()) / (sd if sd > 0 else 1.0)
    return gumbel_top_k(-z / (r.temperature or MATES_TEMPERATURE), p.k(MATES_FRACTION), p.rng), None


def pick_rds(p: Pick) -> Picked:
    """RDS+ with several targets: each ranks the pool by its similarity score; take each one's next best in turn."""
    rankings = [top_k(p.score(p.recipe.score or "rds", t), p.n) for t in p.recipe.targets]
    k = p.k()
    taken = np.zeros(p.n, dtype=bool)
    chosen: list[int] = []
    cursors = [0] * len(rankings)
    while len(chosen) < k:
        moved = False
        for i, ranking in enumerate(rankings):
            while cursors[i] < len(ranking) and taken[ranking[cursors[i]]]:
                cursors[i] += 1
            if cursors[i] < len(ranking) and len(chosen) < k:
                taken[ranking[cursors[i]]] = True
                chosen.append(int(ranking[cursors[i]]))
                moved = True
        if not moved:
            break
    return np.asarray(chosen, dtype=np.int64), None


def balance_groups(p: Pick) -> pd.Series:
    """cluster_balanced: the group of each pool document (map cluster, label, or a column); '(none)' if missing."""
    by = p.recipe.by
    if by == "label":
        groups = p.pool["label"].astype("string")
        if groups.isna().all():
            raise WinnowError("cluster_balanced by label: no document in the pool has a label")
    elif by == "cluster":
        if "map__cluster" not in p.store.score_columns:
            raise WinnowError("cluster_balanced by cluster needs a map: build one on the Map page or with "
                              "`python -m core map --workspace W` (or balance by label)")
        groups = column_values(p.store, "map__cluster", p.ids).astype("string")
    else:
        col = by if by in p.store.score_columns else resolve_score(p.store, by, p.recipe.target)
        groups = column_values(p.store, col, p.ids).astype("string")
    return groups.fillna("(none)").reset_index(drop=True)


def pick_cluster_balanced(p: Pick) -> Picked:
    groups = balance_groups(p)
    quotas = balanced_quotas(groups, p.k(), p.recipe.quota, p.rng)
    score = p.score() if p.recipe.score else None
    values = groups.to_numpy()
    chosen = []
    for g, q in quotas.items():
        members = np.flatnonzero(values == g)
        if score is None:
            chosen.append(p.rng.permutation(members)[:q])
            continue
        best = top_k(score[members], q, ascending=p.recipe.ascending)
        if len(best) < q:  # members without the score come after, at random
            rest = p.rng.permutation(np.setdiff1d(np.arange(len(members)), best))
            best = np.concatenate([best, rest[: q - len(best)]])
        chosen.append(members[best])
    picked = np.concatenate(chosen) if chosen else np.zeros(0, dtype=np.int64)
    return p.rng.permutation(picked), None  # groups interleaved in the output order


def pick_k_center(p: Pick) -> Picked:
    return k_center_greedy(p.embeddings(), p.k(), first=int(p.rng.integers(p.n)), progress=p.progress), None


def pick_dedup(p: Pick) -> Picked:
    """One representative per duplicate group (documents without a group are their own): the first in
    workspace order, or the best by `score`. With a size, a random sample of them, in workspace order."""
    r = p.recipe
    groups = column_values(p.store, group_column(p.store, r.group), p.ids).astype("string").reset_index(drop=True)
    frame = pd.DataFrame({"pos": np.arange(p.n), "group": groups})
    if r.score:
        sc = p.score()
        frame["key"] = np.where(np.isnan(sc), np.inf, sc if r.ascending else -sc)
        frame = frame.sort_values(["key", "pos"], kind="stable")
    singles = frame.loc[frame["group"].isna(), "pos"].to_numpy()
    reps = frame[frame["group"].notna()].drop_duplicates("group", keep="first")["pos"].to_numpy()
    keep = np.sort(np.concatenate([singles, reps]).astype(np.int64))
    if r.size is None:
        return keep, None
    return np.sort(p.rng.choice(keep, size=resolve_size(r.size, len(keep)), replace=False)), None


def pick_rs2(p: Pick) -> Picked:
    blocks = rs2_epochs(p.n, p.k(), p.recipe.epochs, p.rng)
    epochs = np.concatenate([np.full(len(b), e, dtype=np.int64) for e, b in enumerate(blocks)])
    return np.concatenate(blocks), epochs


def pick_curriculum(p: Pick) -> Picked:
    """The base strategy's documents; `order` (applied to every recipe) makes the curriculum."""
    return STRATEGY_FUNCS[p.recipe.base or "all"](p)


STRATEGY_FUNCS: dict[str, Callable[[Pick], Picked]] = {
    "all": pick_all, "random": pick_random, "top_k": pick_top_k, "gumbel_top_k": pick_gumbel_top_k,
    "dsir": pick_dsir, "mates": pick_mates, "rds": pick_rds, "cluster_balanced": pick_cluster_balanced,
    "k_center": pick_k_center, "dedup": pick_dedup, "rs2": pick_rs2, "curriculum": pick_curriculum,
}


def apply_order(p: Pick, positions: np.ndarray, epochs: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    """Reorder by `order` (stable; documents without the score go last); RS2 keeps each epoch together."""
    order = p.recipe.order
    if order is None or len(positions) == 0:
        return positions, epochs
    vals = p.score(order.by, p.recipe.target)[positions]
    key = np.where(np.isnan(vals), np.inf, vals if order.ascending else -vals)
    ep = np.zeros(len(positions)) if epochs is None else epochs
    idx = np.lexsort((np.arange(len(positions)), key, ep))
    return positions[idx], None if epochs is None else epochs[idx]
