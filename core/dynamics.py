"""Training dynamics of a small proxy classifier: EL2N, forgetting events, AUM and VoG per example.

The proxy is a one-hidden-layer MLP on the document embeddings, trained with Adam on every labelled
document for a few epochs and several seeds. After each epoch we evaluate every example and record:
- EL2N (Paul et al. 2021): ||softmax(f(x)) - onehot(y)||_2, averaged over the first `early_epochs`
  epochs and over seeds (the paper scores early in training).
- forgetting events (Toneva et al. 2019): times an example goes from correctly to incorrectly
  classified between consecutive epochs, averaged over seeds; `never_learned` when it is never
  classified correctly (Toneva ranks those as most forgettable).
- AUM (Pleiss et al. 2020): mean over all epochs (and seeds) of the assigned-label logit minus the
  largest other logit; negative for examples the model keeps calling something else.
- VoG (Agarwal et al. 2022): the gradient of the assigned-label logit with respect to the input
  (here the embedding) at every epoch's checkpoint; per-dimension variance across checkpoints,
  averaged over dimensions, then normalised within each class ((v - mean) / std), as in the paper.
A hidden layer is needed for VoG: a linear model's input-gradient is the same for every example.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.progress import Progress, no_progress


@dataclass(frozen=True)
class DynamicsConfig:
    epochs: int = 8
    early_epochs: int = 3
    seeds: int = 3
    hidden: int = 64
    lr: float = 0.01
    batch_size: int = 64
    weight_decay: float = 0.0


def training_dynamics(X: np.ndarray, y: np.ndarray, cfg: DynamicsConfig = DynamicsConfig(),
                      progress: Progress = no_progress) -> pd.DataFrame:
    """X: (n, d) features, y: (n,) integer labels 0..C-1. Returns one row per example with
    el2n, forgetting, never_learned, aum, vog (all floats except never_learned)."""
    import torch

    X = np.array(X, dtype=np.float32)  # a writable copy (embeddings may be a read-only memory map)
    y = np.array(y, dtype=np.int64)
    n, d = X.shape
    n_classes = int(y.max()) + 1 if n else 0
    xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    onehot = torch.nn.functional.one_hot(yt, n_classes).float()

    el2n = np.zeros(n)
    forgetting = np.zeros(n)
    ever_correct = np.zeros(n, dtype=bool)
    aum = np.zeros(n)
    vog = np.zeros(n)
    total = cfg.seeds * cfg.epochs
    for seed in range(cfg.seeds):
        gen = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed)
        model = torch.nn.Sequential(torch.nn.Linear(d, cfg.hidden), torch.nn.ReLU(), torch.nn.Linear(cfg.hidden, n_classes))
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        prev_correct = np.zeros(n, dtype=bool)
        grads = []
        for epoch in range(cfg.epochs):
            model.train()
            order = torch.randperm(n, generator=gen)
            for start in range(0, n, cfg.batch_size):
                idx = order[start:start + cfg.batch_size]
                opt.zero_grad()
                loss = torch.nn.functional.cross_entropy(model(xt[idx]), yt[idx])
                loss.backward()
                opt.step()
            # evaluate every example at this checkpoint
            model.eval()
            inp = xt.clone().requires_grad_(True)
            logits = model(inp)
            assigned = logits.gather(1, yt[:, None]).squeeze(1)
            (grad,) = torch.autograd.grad(assigned.sum(), inp)  # examples are independent: per-example grads
            grads.append(grad.numpy())
            with torch.no_grad():
                probs = torch.softmax(logits, 1)
                if epoch < cfg.early_epochs:
                    el2n += torch.linalg.vector_norm(probs - onehot, dim=1).numpy() / (cfg.early_epochs * cfg.seeds)
                other = logits.masked_fill(onehot.bool(), float("-inf")).max(1).values
                aum += (assigned - other).numpy() / (cfg.epochs * cfg.seeds)
                correct = (logits.argmax(1) == yt).numpy()
            if epoch > 0:
                forgetting += (prev_correct & ~correct) / cfg.seeds
            ever_correct |= correct
            prev_correct = correct
            progress(seed * cfg.epochs + epoch + 1, total)
        vog += np.stack(grads).var(axis=0).mean(axis=1) / cfg.seeds
    return pd.DataFrame({
        "el2n": el2n, "forgetting": forgetting, "never_learned": ~ever_correct,
        "aum": aum, "vog": _normalise_per_class(vog, y),
    })


def _normalise_per_class(values: np.ndarray, y: np.ndarray) -> np.ndarray:
    out = np.zeros_like(values)
    for c in np.unique(y):
        mask = y == c
        sd = values[mask].std()
        out[mask] = (values[mask] - values[mask].mean()) / (sd if sd > 0 else 1.0)
    return out


def auroc(scores: np.ndarray, positives: np.ndarray) -> float:
    """Area under the ROC curve of `scores` for telling `positives` from the rest (ties count half)."""
    from scipy.stats import rankdata

    positives = np.asarray(positives, dtype=bool)
    n_pos, n_neg = positives.sum(), (~positives).sum()
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
