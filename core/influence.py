"""MATES-style data influence (Yu et al. 2024) with a small proxy language model on the CPU.

Proxy model: a neural bigram language model over hashed word tokens (token t -> embedding ->
logits over the next token's bucket), i.e. a real next-token LM, small enough that one optimiser
step and a reference evaluation take milliseconds. It is first warmed up on a random sample of the
pool (MATES probes a model part-way through pre-training, not a random one).

Oracle influence of a document x = L_ref(θ - lr·∇L_x(θ)) - L_ref(θ): the change in the mean
next-token loss on the reference (target) tokens after one plain SGD step on x alone (lower = more
helpful). It is computed exactly for a probe sample. An influence model (a regression from the
document's embedding and log-length to the z-scored oracle influence; ridge, k-NN or a small MLP,
chosen by cross-validated Spearman on the training probes) predicts it for every document; its
Spearman on held-out probes is reported.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field

import numpy as np

from core.errors import WinnowError
from core.progress import Progress, no_progress

_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class InfluenceConfig:
    probes: int = 400
    vocab: int = 2048
    dim: int = 64
    oracle_lr: float = 0.5
    warmup_docs: int = 2000
    warmup_pairs: int = 100_000
    warmup_epochs: int = 1
    reference_tokens: int = 4000
    max_tokens: int = 256
    holdout: float = 0.25
    seed: int = 0


@dataclass
class InfluenceResult:
    predicted: np.ndarray  # z-scored predicted loss change, one per pool document
    probe_index: np.ndarray  # positions of the probe documents in the pool
    oracle: np.ndarray  # measured loss change of each probe (raw, not z-scored)
    heldout_spearman: float
    chosen_model: str
    cv_spearman: dict[str, float] = field(default_factory=dict)
    reference_loss: float = 0.0


class TokenHasher:
    """Lower-cased word tokens hashed (crc32) into `vocab` buckets; a cache keeps it fast."""

    def __init__(self, vocab: int, max_tokens: int) -> None:
        self.vocab, self.max_tokens = vocab, max_tokens
        self._cache: dict[str, int] = {}

    def __call__(self, text: str) -> np.ndarray:
        cache, vocab = self._cache, self.vocab
        out = []
        for w in _WORD.findall(text.lower())[: self.max_tokens]:
            b = cache.get(w)
            if b is None:
                b = cache[w] = zlib.crc32(w.encode()) % vocab
            out.append(b)
        return np.asarray(out, dtype=np.int64)


def _pairs(token_lists: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    prev = [t[:-1] for t in token_lists if len(t) > 1]
    nxt = [t[1:] for t in token_lists if len(t) > 1]
    if not prev:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(prev), np.concatenate(nxt)


class BigramLM:
    """Parameters E (vocab×dim), W (vocab×dim), b (vocab); loss = mean CE of next-token buckets."""

    def __init__(self, vocab: int, dim: int, seed: int) -> None:
        import torch

        g = torch.Generator().manual_seed(seed)
        self.params = [
            (torch.randn(vocab, dim, generator=g) * 0.1).requires_grad_(True),
            (torch.randn(vocab, dim, generator=g) * 0.1).requires_grad_(True),
            torch.zeros(vocab).requires_grad_(True),
        ]

    @staticmethod
    def loss(params, prev, nxt):
        import torch

        E, W, b = params
        return torch.nn.functional.cross_entropy(E[prev] @ W.T + b, nxt)

    def train(self, prev: np.ndarray, nxt: np.ndarray, epochs: int, seed: int, batch: int = 1024) -> None:
        import torch

        opt = torch.optim.Adam(self.params, lr=0.01)
        p, n = torch.from_numpy(prev), torch.from_numpy(nxt)
        g = torch.Generator().manual_seed(seed)
        for _ in range(epochs):
            order = torch.randperm(len(p), generator=g)
            for s in range(0, len(p), batch):
                idx = order[s:s + batch]
                opt.zero_grad()
                self.loss(self.params, p[idx], n[idx]).backward()
                opt.step()


def oracle_influence(lm: BigramLM, probe_tokens: list[np.ndarray], ref_prev: np.ndarray, ref_next: np.ndarray,
                     lr: float, progress: Progress = no_progress) -> tuple[np.ndarray, float]:
    """Reference-loss change after one SGD step on each probe document alone; and the loss before."""
    import torch

    rp, rn = torch.from_numpy(ref_prev), torch.from_numpy(ref_next)
    with torch.no_grad():
        before = float(BigramLM.loss(lm.params, rp, rn))
    out = np.zeros(len(probe_tokens))
    for i, toks in enumerate(probe_tokens):
        if len(toks) < 2:
            out[i] = 0.0  # no next-token pair: a step on it changes nothing
        else:
            t = torch.from_numpy(toks)
            grads = torch.autograd.grad(BigramLM.loss(lm.params, t[:-1], t[1:]), lm.params)
            with torch.no_grad():
                stepped = [p - lr * g for p, g in zip(lm.params, grads, strict=True)]
                out[i] = float(BigramLM.loss(stepped, rp, rn)) - before
        progress(i + 1, len(probe_tokens))
    return out, before


def _candidates(seed: int) -> dict:
    from sklearn.linear_model import RidgeCV
    from sklearn.neighbors import KNeighborsRegressor
    from sklearn.neural_network import MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return {
        "ridge": make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-2, 4, 13))),
        "knn": make_pipeline(StandardScaler(), KNeighborsRegressor(n_neighbors=15, weights="distance")),
        "mlp": make_pipeline(StandardScaler(), MLPRegressor(hidden_layer_sizes=(64,), alpha=1e-2, max_iter=500, early_stopping=True,
                                                            random_state=seed)),
    }


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    r = spearmanr(a, b).statistic
    return float(r) if r == r else 0.0


def fit_influence_model(features: np.ndarray, target: np.ndarray, seed: int, holdout: float) -> tuple[object, str, dict, float]:
    """Choose a regressor by 4-fold CV Spearman on the training probes; report Spearman on held-out probes."""
    from sklearn.base import clone
    from sklearn.model_selection import KFold, train_test_split

    train_idx, test_idx = train_test_split(np.arange(len(target)), test_size=holdout, random_state=seed)
    cv = {}
    for name, model in _candidates(seed).items():
        scores = []
        for tr, va in KFold(4, shuffle=True, random_state=seed).split(train_idx):
            m = clone(model).fit(features[train_idx[tr]], target[train_idx[tr]])
            scores.append(_spearman(m.predict(features[train_idx[va]]), target[train_idx[va]]))
        cv[name] = float(np.mean(scores))
    chosen = max(cv, key=cv.get)
    model = clone(_candidates(seed)[chosen]).fit(features[train_idx], target[train_idx])
    heldout = _spearman(model.predict(features[test_idx]), target[test_idx])
    final = clone(_candidates(seed)[chosen]).fit(features, target)  # predictions use every probe
    return final, chosen, cv, heldout


def mates_influence(pool_texts: list[str], pool_features: np.ndarray, reference_texts: list[str],
                    cfg: InfluenceConfig = InfluenceConfig(), progress: Progress = no_progress) -> InfluenceResult:
    """Predicted (z-scored) influence of every pool document on the reference loss; see the module doc."""
    import torch

    n = len(pool_texts)
    if n < 40:
        raise WinnowError(f"influence needs at least 40 documents to probe and fit a model (got {n})")
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    hasher = TokenHasher(cfg.vocab, cfg.max_tokens)

    ref_prev, ref_next = _pairs([hasher(t) for t in reference_texts])
    if len(ref_prev) < 50:
        raise WinnowError("the target is too small for influence: it needs at least 50 word pairs of text")
    keep = rng.permutation(len(ref_prev))[: cfg.reference_tokens]
    ref_prev, ref_next = ref_prev[keep], ref_next[keep]

    # warm the proxy up on a random pool sample
    warm = rng.choice(n, min(cfg.warmup_docs, n), replace=False)
    lm = BigramLM(cfg.vocab, cfg.dim, cfg.seed)
    warm_prev, warm_next = _pairs([hasher(pool_texts[i]) for i in warm])
    keep = rng.permutation(len(warm_prev))[: cfg.warmup_pairs]
    lm.train(warm_prev[keep], warm_next[keep], epochs=cfg.warmup_epochs, seed=cfg.seed)

    probe_index = np.sort(rng.choice(n, min(cfg.probes, n), replace=False))
    probe_tokens = [hasher(pool_texts[i]) for i in probe_index]
    oracle, before = oracle_influence(lm, probe_tokens, ref_prev, ref_next, cfg.oracle_lr,
                                      lambda d, t: progress(d, t + 1))
    z = (oracle - oracle.mean()) / (oracle.std() or 1.0)

    lengths = np.log1p([len(_WORD.findall(t.lower())) for t in pool_texts])[:, None]
    features = np.hstack([np.asarray(pool_features, dtype=np.float32), lengths]).astype(np.float32)
    model, chosen, cv, heldout = fit_influence_model(features[probe_index], z, cfg.seed, cfg.holdout)
    predicted = model.predict(features)
    progress(len(probe_tokens) + 1, len(probe_tokens) + 1)
    return InfluenceResult(predicted, probe_index, oracle, heldout, chosen, cv, before)
