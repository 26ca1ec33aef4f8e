"""Selection strategies: size, no repeated ids, same seed same subset, quotas, RS2 epochs, curriculum order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.errors import WinnowError
from core.recipe import Filters
from core.select import build_pool, run_recipe
from core.store import Store
from core.strategies import (
    balanced_quotas,
    gumbel_top_k,
    k_center_greedy,
    largest_remainder,
    resolve_size,
    rs2_epochs,
    top_k,
)
from tests.unit.select_helpers import N, make_select_ws


@pytest.fixture
def ws(make_ws, tmp_path):
    return make_select_ws(make_ws, tmp_path)


@pytest.fixture
def store(ws):
    return Store(ws)


def ids_of(ws, store, recipe) -> list[str]:
    return run_recipe(ws, recipe, store).rows["id"].tolist()


def num(i: str) -> int:
    return int(i[1:])


# -- primitives ---------------------------------------------------------------------------------
def test_resolve_size_counts_and_fractions():
    assert resolve_size(None, 50) == 50
    assert resolve_size(10, 50) == 10
    assert resolve_size(0.25, 50) == 12  # round(12.5) -> 12 (banker's), still a count
    assert resolve_size(0.5, 50) == 25
    assert resolve_size(500, 50) == 50
    assert resolve_size(None, 50, default=0.2) == 10


def test_top_k_skips_nan_and_breaks_ties_by_position():
    v = np.array([1.0, np.nan, 3.0, 3.0, 2.0])
    assert top_k(v, 3).tolist() == [2, 3, 4]
    assert top_k(v, 10, ascending=True).tolist() == [0, 4, 2, 3]


def test_gumbel_top_k_samples_in_proportion_to_exp_logits():
    rng = np.random.default_rng(0)
    logits = np.log(np.array([3.0, 1.0]))
    first = [gumbel_top_k(logits, 1, rng)[0] for _ in range(4000)]
    share = np.mean(np.array(first) == 0)
    assert 0.72 < share < 0.78  # P = 3 / (3 + 1)
    picks = gumbel_top_k(np.array([0.0, np.nan, 1.0]), 5, rng)
    assert sorted(picks.tolist()) == [0, 2]  # NaN never drawn, no repeats


def test_largest_remainder_respects_caps_and_total():
    q = largest_remainder(np.ones(4), 20, np.array([30, 15, 10, 2]))
    assert q.sum() == 20 and (q <= [30, 15, 10, 2]).all()
    assert q[3] == 2 and max(q[:3]) - min(q[:3]) <= 1  # the small group is full; the rest share equally
    q = largest_remainder(np.array([30, 15, 10, 5.0]), 12, np.array([30, 15, 10, 5]))
    assert q.tolist() == [6, 3, 2, 1]
    assert largest_remainder(np.ones(3), 100, np.array([1, 2, 3])).tolist() == [1, 2, 3]


def test_balanced_quotas_equal_and_proportional():
    groups = pd.Series(["a"] * 30 + ["b"] * 15 + ["c"] * 10 + ["d"] * 5)
    assert balanced_quotas(groups, 20, "equal") == {"a": 5, "b": 5, "c": 5, "d": 5}
    assert balanced_quotas(groups, 30, "equal") == {"a": 9, "b": 8, "c": 8, "d": 5}
    assert balanced_quotas(groups, 12, "proportional") == {"a": 6, "b": 3, "c": 2, "d": 1}
    # fewer documents than groups: which groups get one is seeded, not always the first names
    many = pd.Series([f"g{i:02d}" for i in range(30) for _ in range(3)])
    firsts = set()
    for seed in range(5):
        q = balanced_quotas(many, 10, "equal", np.random.default_rng(seed))
        assert sum(q.values()) == 10 and max(q.values()) == 1
        firsts.add(frozenset(g for g, n in q.items() if n))
    assert len(firsts) > 1


def test_k_center_greedy_picks_one_point_per_far_cluster():
    rng = np.random.default_rng(1)
    centers = np.array([[0, 0], [10, 0], [0, 10], [10, 10]], dtype=float)
    x = np.concatenate([c + rng.normal(0, 0.1, size=(25, 2)) for c in centers])
    chosen = k_center_greedy(x, 4, first=0)
    assert len(set(chosen.tolist())) == 4
    assert sorted(chosen // 25) == [0, 1, 2, 3]


def test_rs2_epochs_disjoint_until_pool_used():
    blocks = rs2_epochs(10, 3, 7, np.random.default_rng(3))
    assert all(len(b) == 3 and len(set(b.tolist())) == 3 for b in blocks)  # no repeat inside an epoch
    stream = np.concatenate(blocks).tolist()
    # read in order, the epochs use every id once (pass 1), then every id once again (pass 2)
    assert sorted(stream[:10]) == list(range(10))
    assert sorted(stream[10:20]) == list(range(10))
    assert len(set(stream[:9])) == 9  # epochs 0-2 are disjoint


def test_rs2_epoch_partition_when_ratio_divides_pool():
    blocks = rs2_epochs(12, 4, 6, np.random.default_rng(0))
    assert sorted(np.concatenate(blocks[:3]).tolist()) == list(range(12))
    assert sorted(np.concatenate(blocks[3:]).tolist()) == list(range(12))


# -- strategies on a workspace --------------------------------------------------------------------
ALL_RECIPES = [
    {"strategy": "random", "size": 20},
    {"strategy": "top_k", "score": "toy__quality", "size": 20},
    {"strategy": "gumbel_top_k", "score": "toy__quality", "temperature": 5, "size": 20},
    {"strategy": "dsir", "target": "t", "size": 20},
    {"strategy": "mates", "size": 20},
    {"strategy": "rds", "targets": ["t1", "t2"], "size": 20},
    {"strategy": "cluster_balanced", "size": 20},
    {"strategy": "cluster_balanced", "by": "label", "quota": "proportional", "size": 20},
    {"strategy": "dedup", "group": "toy__dup_group", "size": 20},
    {"strategy": "rs2", "size": 20, "epochs": 1},
    {"strategy": "curriculum", "base": "random", "size": 20, "order": {"by": "toy__quality"}},
]


@pytest.mark.parametrize("recipe", ALL_RECIPES, ids=lambda r: r["strategy"] + "-" + str(r.get("by", "")))
def test_size_no_repeats_and_same_seed_same_subset(ws, store, recipe):
    a = ids_of(ws, store, {**recipe, "seed": 7})
    b = ids_of(ws, store, {**recipe, "seed": 7})
    assert len(a) == 20
    assert len(set(a)) == 20
    assert a == b


@pytest.mark.parametrize("strategy", ["random", "gumbel_top_k", "dsir", "mates", "cluster_balanced"])
def test_another_seed_gives_another_subset(ws, store, strategy):
    recipe = next(r for r in ALL_RECIPES if r["strategy"] == strategy)
    assert ids_of(ws, store, {**recipe, "seed": 1}) != ids_of(ws, store, {**recipe, "seed": 2})


def test_all_keeps_every_filtered_document_in_workspace_order(ws, store):
    got = ids_of(ws, store, {"strategy": "all", "filters": {"sources": "b"}})
    assert got == [f"d{i:02d}" for i in range(40, 60)]
    sample = ids_of(ws, store, {"strategy": "all", "filters": {"sources": "b"}, "size": 0.5})
    assert len(sample) == 10 and sample == sorted(sample)


def test_top_k_takes_the_highest_or_lowest(ws, store):
    quality = {f"d{i:02d}": i * 7 % N for i in range(N)}
    hi = ids_of(ws, store, {"strategy": "top_k", "score": "toy__quality", "size": 5})
    assert [quality[i] for i in hi] == [59, 58, 57, 56, 55]
    lo = ids_of(ws, store, {"strategy": "top_k", "score": "toy__quality", "ascending": True, "size": 0.05})
    assert [quality[i] for i in lo] == [0, 1, 2]


def test_dsir_prefers_high_weights_and_drops_short_documents(ws, store):
    got = ids_of(ws, store, {"strategy": "dsir", "target": "t", "size": 20, "seed": 0})
    assert all(num(i) % 5 != 0 for i in got)  # n_tokens 10 < 100: dropped, as the reference does
    assert np.mean([num(i) for i in got]) > 35  # weights grow with the index (e^(i/6)): mostly the top third
    with_short = ids_of(ws, store, {"strategy": "dsir", "target": "t", "size": 48, "min_tokens": 0})
    assert any(num(i) % 5 == 0 for i in with_short)
    assert len(ids_of(ws, store, {"strategy": "dsir", "target": "t", "size": 59})) == 48  # only 48 long enough


def test_dsir_without_the_target_says_what_to_compute(ws, store):
    with pytest.raises(WinnowError, match="target"):
        run_recipe(ws, {"strategy": "dsir", "target": "nope", "size": 5}, store)


def test_mates_keeps_a_fifth_and_prefers_low_predicted_influence(ws, store):
    got = ids_of(ws, store, {"strategy": "mates", "seed": 3})
    assert len(got) == 12  # 20% of 60
    assert np.mean([num(i) for i in got]) > 40  # influence = -index: high indices help most


def test_rds_alternates_between_targets(ws, store):
    got = ids_of(ws, store, {"strategy": "rds", "targets": ["t1", "t2"], "size": 6})
    assert got == ["d59", "d00", "d58", "d01", "d57", "d02"]


def test_cluster_balanced_equal_quota_per_cluster(ws, store):
    rows = run_recipe(ws, {"strategy": "cluster_balanced", "size": 20}, store).rows
    cluster = pd.Series(np.repeat([0, 1, 2, 3], [30, 15, 10, 5]), index=[f"d{i:02d}" for i in range(N)])
    counts = cluster.reindex(rows["id"]).value_counts().sort_index()
    assert counts.tolist() == [5, 5, 5, 5]
    rows = run_recipe(ws, {"strategy": "cluster_balanced", "size": 30}, store).rows
    counts = cluster.reindex(rows["id"]).value_counts().sort_index()
    assert counts[3] == 5 and sorted(counts[:3]) == [8, 8, 9]  # cluster 3 has only 5: the rest is shared out


def test_cluster_balanced_by_label_proportional_with_best_by_score(ws, store):
    rows = run_recipe(ws, {"strategy": "cluster_balanced", "by": "label", "quota": "proportional", "size": 12,
                           "score": "toy__quality"}, store).rows
    labels = store.df("SELECT id, label FROM docs").set_index("id")["label"]
    counts = labels.reindex(rows["id"]).value_counts()
    # labels: x 22, y 23, z 15 -> shares 4.4, 4.6, 3.0 of 12 -> 4, 5, 3 (largest remainder)
    assert counts.to_dict() == {"x": 4, "y": 5, "z": 3}
    quality = {f"d{i:02d}": i * 7 % N for i in range(N)}
    for lab in "xyz":
        members = [i for i in labels.index if labels[i] == lab]
        best = sorted((quality[i] for i in members), reverse=True)[: counts[lab]]
        assert sorted((quality[i] for i in rows["id"] if labels[i] == lab), reverse=True) == best


def test_cluster_balanced_without_a_map_says_so(ws, store):
    (ws.dir("maps") / "static.parquet").unlink()
    store.refresh()
    with pytest.raises(WinnowError, match="needs a map"):
        run_recipe(ws, {"strategy": "cluster_balanced", "size": 10}, store)


def test_dedup_keeps_one_per_group(ws, store):
    got = ids_of(ws, store, {"strategy": "dedup", "group": "toy__dup_group"})
    assert len(got) == 10 + 30  # groups g0..g9 of 3 documents each, then 30 without a group
    assert got[:10] == [f"d{i:02d}" for i in range(0, 30, 3)]  # the first of each group
    best = ids_of(ws, store, {"strategy": "dedup", "group": "toy__dup_group", "score": "toy__quality"})
    quality = {f"d{i:02d}": i * 7 % N for i in range(N)}
    for g in range(10):
        members = [f"d{i:02d}" for i in range(3 * g, 3 * g + 3)]
        kept = [m for m in members if m in best]
        assert kept == [max(members, key=quality.get)]


def test_k_center_uses_embeddings(ws, store, monkeypatch):
    import core.embed

    rng = np.random.default_rng(0)
    corners = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=np.float32)
    mat = corners[np.arange(N) % 3] + rng.normal(0, 0.01, size=(N, 3)).astype(np.float32)
    ids = [f"d{i:02d}" for i in range(N)]
    monkeypatch.setattr(core.embed, "load_embeddings", lambda ws, model=None: (ids, mat))
    got = ids_of(ws, store, {"strategy": "k_center", "size": 3, "seed": 4})
    assert sorted(num(i) % 3 for i in got) == [0, 1, 2]
    assert got == ids_of(ws, store, {"strategy": "k_center", "size": 3, "seed": 4})


def test_rs2_epochs_are_disjoint_until_the_pool_is_used(ws, store):
    rows = run_recipe(ws, {"strategy": "rs2", "size": 0.25, "epochs": 6, "seed": 2}, store).rows
    assert rows.groupby("epoch").size().tolist() == [15] * 6
    by_epoch = [set(g["id"]) for _, g in rows.groupby("epoch")]
    assert set().union(*by_epoch[:4]) == {f"d{i:02d}" for i in range(N)}  # 4 × 15 = the whole pool, once
    assert sum(map(len, by_epoch[:4])) == N
    assert by_epoch[4].isdisjoint(by_epoch[5])
    assert rows["rank"].tolist() == list(range(90))


def test_curriculum_order_is_monotone_in_its_score(ws, store):
    quality = {f"d{i:02d}": i * 7 % N for i in range(N)}
    asc = ids_of(ws, store, {"strategy": "curriculum", "base": "random", "size": 30, "seed": 1,
                             "order": {"by": "toy__quality", "ascending": True}})
    vals = [quality[i] for i in asc]
    assert vals == sorted(vals) and len(vals) == 30
    assert set(asc) == set(ids_of(ws, store, {"strategy": "random", "size": 30, "seed": 1}))
    desc = ids_of(ws, store, {"strategy": "curriculum", "order": {"by": "toy__quality", "ascending": False}})
    vals = [quality[i] for i in desc]
    assert vals == sorted(vals, reverse=True) and len(vals) == N


def test_rs2_with_an_order_keeps_each_epoch_together(ws, store):
    rows = run_recipe(ws, {"strategy": "rs2", "size": 20, "epochs": 3, "order": {"by": "toy__quality"}}, store).rows
    assert rows["epoch"].is_monotonic_increasing
    quality = {f"d{i:02d}": i * 7 % N for i in range(N)}
    for _, g in rows.groupby("epoch"):
        vals = [quality[i] for i in g["id"]]
        assert vals == sorted(vals)


def test_filters_are_anded(ws, store):
    pool = build_pool(ws, store, Filters(sources=["a"], labels=["x", "y"], scores={"toy__quality": {"min": 10}}))
    quality = {f"d{i:02d}": i * 7 % N for i in range(N)}
    expect = [f"d{i:02d}" for i in range(40) if i % 3 in (0, 1) and quality[f"d{i:02d}"] >= 10]
    assert pool["id"].tolist() == expect
    assert build_pool(ws, store, Filters(ids=["d03", "d50", "zzz"]))["id"].tolist() == ["d03", "d50"]
    assert build_pool(ws, store, Filters(clusters=[3]))["id"].tolist() == [f"d{i:02d}" for i in range(55, 60)]
    assert len(build_pool(ws, store, Filters(scores={"dsir": {"min": 9.0}}))) == 6  # the signal's main column


def test_unknown_source_and_score_are_clear_errors(ws, store):
    with pytest.raises(WinnowError, match="no source 'nope'.*sources: a, b"):
        build_pool(ws, store, Filters(sources=["nope"]))
    with pytest.raises(WinnowError, match="no score 'nope'"):
        run_recipe(ws, {"strategy": "top_k", "score": "nope", "size": 3}, store)


def test_saved_filter_from_scores_is_applied(ws, store):
    from core.filters import parse_spec, save_filter

    save_filter(ws, "clean", parse_spec({"thresholds": {"toy__quality": {"min": 30}}, "sources": ["a"]}))
    got = ids_of(ws, store, {"strategy": "all", "filters": {"saved": "clean", "labels": ["x"]}})
    quality = {f"d{i:02d}": i * 7 % N for i in range(N)}
    assert got == [f"d{i:02d}" for i in range(40) if quality[f"d{i:02d}"] >= 30 and i % 3 == 0]
    with pytest.raises(WinnowError, match="no saved filter named 'nope'"):
        run_recipe(ws, {"strategy": "all", "filters": {"saved": "nope"}}, store)


def test_empty_pool_gives_an_empty_selection(ws, store):
    sel = run_recipe(ws, {"strategy": "top_k", "score": "toy__quality", "filters": {"ids": []}}, store)
    assert len(sel.rows) == 0 and sel.pool_size == 0
