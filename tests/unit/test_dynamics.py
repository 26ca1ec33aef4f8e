"""Training dynamics rank mislabelled examples as hard: EL2N high, AUM low, forgetting/never-learned more often."""

from __future__ import annotations

import numpy as np
import pytest

from core.dynamics import DynamicsConfig, auroc, training_dynamics


@pytest.fixture(scope="module")
def noisy_blobs():
    rng = np.random.default_rng(0)
    n_classes, per_class, d = 4, 150, 16
    centres = rng.normal(0, 3, size=(n_classes, d))
    y_true = np.repeat(np.arange(n_classes), per_class)
    X = (centres[y_true] + rng.normal(0, 1.0, size=(len(y_true), d))).astype(np.float32)
    flipped = np.zeros(len(y_true), dtype=bool)
    flipped[rng.choice(len(y_true), 30, replace=False)] = True
    y = y_true.copy()
    y[flipped] = (y_true[flipped] + rng.integers(1, n_classes, flipped.sum())) % n_classes
    cfg = DynamicsConfig(epochs=6, early_epochs=3, seeds=2, hidden=32, lr=0.01)
    return X, y, flipped, training_dynamics(X, y, cfg)


def test_flipped_labels_have_high_el2n_and_low_aum(noisy_blobs):
    X, y, flipped, scores = noisy_blobs
    assert len(scores) == len(y)
    assert auroc(scores["el2n"].to_numpy(), flipped) > 0.95
    assert auroc(-scores["aum"].to_numpy(), flipped) > 0.95
    assert scores.loc[flipped, "aum"].mean() < 0 < scores.loc[~flipped, "aum"].mean()


def test_flipped_labels_are_forgotten_or_never_learned_more_often(noisy_blobs):
    _, _, flipped, scores = noisy_blobs
    hard = scores["never_learned"] | (scores["forgetting"] > 0)
    assert hard[flipped].mean() > hard[~flipped].mean() + 0.5


def test_vog_is_normalised_within_each_class(noisy_blobs):
    _, y, _, scores = noisy_blobs
    for c in np.unique(y):
        v = scores.loc[y == c, "vog"]
        assert abs(v.mean()) < 1e-6 and abs(v.std(ddof=0) - 1) < 1e-6


def test_same_seeds_give_the_same_scores(noisy_blobs):
    X, y, _, scores = noisy_blobs
    again = training_dynamics(X, y, DynamicsConfig(epochs=6, early_epochs=3, seeds=2, hidden=32, lr=0.01))
    np.testing.assert_allclose(again["el2n"], scores["el2n"], rtol=1e-5)


def test_auroc_known_values():
    assert auroc(np.array([1, 2, 3, 4]), np.array([0, 0, 1, 1])) == 1.0
    assert auroc(np.array([4, 3, 2, 1]), np.array([0, 0, 1, 1])) == 0.0
    assert auroc(np.array([1, 1, 1, 1]), np.array([0, 1, 0, 1])) == 0.5


def test_planted_label_flips_in_the_demo_rank_high(demo_embedded):
    import pandas as pd

    from core.signals.runner import read_sidecar, run_signal

    res = run_signal(demo_embedded, "dynamics", {"seeds": 1, "epochs": 6})
    scores = pd.read_parquet(res.path)
    planted = pd.read_parquet(demo_embedded.root / "planted.parquet")
    labelled = scores[scores["el2n"].notna()]
    flipped = labelled["id"].isin(planted.loc[planted["kind"] == "label_flip", "id"]).to_numpy()
    assert flipped.sum() >= 10
    assert auroc(labelled["el2n"].to_numpy(float), flipped) > 0.8
    assert auroc(-labelled["aum"].to_numpy(float), flipped) > 0.8
    assert scores["el2n"].isna().sum() == len(scores) - len(labelled)  # unlabelled documents get no score
    assert read_sidecar(demo_embedded, "dynamics")["details"]["labelled_documents"] == len(labelled)
