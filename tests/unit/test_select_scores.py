"""Which `scores` column a recipe means: a column, a score signal's main column, per target; clear errors."""

from __future__ import annotations

import pyarrow as pa
import pytest

from core.errors import WinnowError
from core.scorecols import group_column, group_signals, resolve_score, target_keys
from core.store import Store
from core.workspace import write_parquet


@pytest.fixture
def store(make_ws):
    ws = make_ws([{"id": f"d{i}", "text": f"doc {i}"} for i in range(4)], id_field="id")
    ids = [f"d{i}" for i in range(4)]
    write_parquet(pa.table({"id": ids, "log_weight": [1.0, 2, 3, 4], "log_weight_per_ngram": [0.1] * 4,
                            "n_tokens": [100] * 4}), ws.dir("signals") / "dsir__tech.parquet")
    write_parquet(pa.table({"id": ids, "log_weight": [4.0, 3, 2, 1], "log_weight_per_ngram": [0.1] * 4,
                            "n_tokens": [100] * 4}), ws.dir("signals") / "dsir__sport.parquet")
    write_parquet(pa.table({"id": ids, "n_words": [1, 2, 3, 4], "hash_ratio": [0.0] * 4}),
                  ws.dir("signals") / "gopher_quality.parquet")
    write_parquet(pa.table({"id": ids, "group": [1, 1, None, None], "group_size": [2, 2, 1, 1],
                            "is_representative": [True, False, True, True]}), ws.dir("signals") / "exact_dup.parquet")
    return Store(ws)


def test_a_column_name_is_itself(store):
    assert resolve_score(store, "gopher_quality__hash_ratio") == "gopher_quality__hash_ratio"


def test_a_score_signal_means_its_declared_score_for_the_target(store):
    assert resolve_score(store, "dsir", "tech") == "dsir__tech__log_weight"
    assert resolve_score(store, "dsir", "sport") == "dsir__sport__log_weight"
    assert target_keys(store, "dsir") == ["sport", "tech"]


def test_several_targets_without_one_named_is_an_error(store):
    with pytest.raises(WinnowError, match="several targets \\(sport, tech\\).*set `target`"):
        resolve_score(store, "dsir")
    with pytest.raises(WinnowError, match="not against 'golf'"):
        resolve_score(store, "dsir", "golf")


def test_a_rule_signal_needs_its_column_named(store):
    with pytest.raises(WinnowError, match="several score columns.*gopher_quality__n_words"):
        resolve_score(store, "gopher_quality")


def test_a_missing_score_says_how_to_compute_it(store):
    with pytest.raises(WinnowError, match="no score 'quality_classifier'.*dsir__sport.*--target NAME"):
        resolve_score(store, "quality_classifier")


def test_duplicate_groups(store):
    assert group_column(store, "exact_dup") == "exact_dup__group"
    assert group_signals(store) == ["exact_dup"]
    with pytest.raises(WinnowError, match="no duplicate groups 'minhash_dup'"):
        group_column(store, "minhash_dup")
