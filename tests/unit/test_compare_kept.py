"""Compare's figures kept per selection (core/compare_kept.py) equal the figures computed for the set,
are computed once per selection, survive a restart (the workspace's .cache) and are ready after a save."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core import compare as cmp
from core import compare_kept as ck
from core import store as store_mod
from core.store import Store


@pytest.fixture
def ws(make_ws, tmp_path, monkeypatch):
    from tests.unit.select_helpers import make_select_ws

    monkeypatch.setattr(store_mod, "CACHE_MIN_DOCS", 0)  # kept in .cache, as at scale
    return make_select_ws(make_ws, tmp_path)


def _subsets():
    rng = np.random.default_rng(1)
    pool = [f"d{i:02d}" for i in range(60)]
    return [cmp.Subset("a", list(dict.fromkeys(rng.choice(pool, 40).tolist())) + ["nope"]),
            cmp.Subset("b", pool[::-3]), cmp.Subset("r", pool[5:25], baseline=True), cmp.Subset("empty", [])]


def _same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(got, want, check_dtype=False, check_categorical=False, check_index_type=False)


def _figures(store, subsets, kept: bool):
    mod = ck if kept else cmp
    cov = mod.coverage(store, subsets)
    return [mod.sizes(store, subsets), *cov[:2], mod.score_values(store, subsets, "toy__quality"),
            mod.map_points(store, subsets, per_selection=5), mod.map_points(store, subsets, per_selection=100)]


def test_kept_figures_equal_the_figures_of_the_set(ws):
    store = Store(ws)
    subsets = _subsets()
    ck.prepare(store, subsets, "toy__quality", per_selection=5)
    for got, want in zip(_figures(store, subsets, True), _figures(store, subsets, False), strict=True):
        _same(got, want)
    # the same again from the .cache files alone (a restarted app), and in another order with other names
    fresh = Store(ws)
    again = [cmp.Subset(s.name.upper(), s.ids, s.baseline) for s in reversed(subsets)]
    for got, want in zip(_figures(fresh, again, True), _figures(fresh, again, False), strict=True):
        _same(got, want)
    assert list((ws.root / ".cache").glob("cmpsel_sizes_*.parquet"))


def test_prepare_joins_once_and_parts_are_computed_once(ws, monkeypatch):
    store = Store(ws)
    subsets = _subsets()
    calls = []
    real = cmp.member_rows
    monkeypatch.setattr(cmp, "member_rows", lambda *a, **k: calls.append(len(a[1])) or real(*a, **k))
    ck.prepare(store, subsets, "toy__quality", per_selection=5)
    assert calls == [len(subsets)]  # every selection in one join
    ck.prepare(store, subsets, "toy__quality", per_selection=5)
    ck.prepare(store, subsets[:2], "toy__quality", per_selection=5)
    assert calls == [len(subsets)]  # nothing missing: no join
    ck.map_points(store, subsets, per_selection=5)
    ck.score_values(store, subsets, "toy__quality")
    assert calls == [len(subsets)]
    ck.score_values(store, subsets, "dsir__t__log_weight")  # another score: its own join, once
    ck.score_values(store, subsets, "dsir__t__log_weight")
    assert calls == [len(subsets)] * 2


def test_saving_a_selection_prepares_its_figures_and_its_baseline(ws, monkeypatch):
    from core.select import save_selection

    save_selection(ws, "half", {"strategy": "random", "size": 30, "seed": 4})
    fresh = Store(ws)
    subsets = cmp.load_subsets(ws, fresh, ["half"])
    monkeypatch.setattr(cmp, "member_rows", lambda *a, **k: pytest.fail("joined again"))
    monkeypatch.setattr(cmp, "size_rows", lambda *a, **k: pytest.fail("sizes counted again"))
    first = cmp.numeric_score_columns(fresh)[0]
    sizes = ck.sizes(fresh, subsets)
    assert sizes["documents"].tolist() == [30, 30]
    ck.coverage(fresh, subsets)
    ck.score_values(fresh, subsets, first)
    ck.map_points(fresh, subsets)
