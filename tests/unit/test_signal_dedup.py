"""Exact and MinHash near duplicates: groups, representatives, parameters, and the demo's planted copies."""

from __future__ import annotations

import pandas as pd
import pytest

from core.errors import WinnowError
from core.signals.runner import run_signal
from core.store import Store
from tests.unit._signal_helpers import unique_words


def _scores(ws, name: str) -> pd.DataFrame:
    store = Store(ws)
    cols = [c for c in store.score_columns if c.startswith(f"{name}__")]
    df = store.df(f"SELECT d.id, d.text, {', '.join(f's.{c}' for c in cols)} FROM docs d JOIN scores s USING (id)")
    return df.set_index("id")


def test_exact_duplicates_ignore_case_punctuation_and_spacing(make_ws):
    ws = make_ws([
        {"id": "a", "text": "Hello, World! How are you?"},
        {"id": "b", "text": "unique text"},
        {"id": "c", "text": "hello world   how are you"},
        {"id": "d", "text": "HELLO WORLD. HOW ARE YOU."},
        {"id": "e", "text": "Hello there world how are you"},
    ], id_field="id")
    run_signal(ws, "exact_dup")
    df = _scores(ws, "exact_dup")
    assert df.loc["a", "exact_dup__group"] == df.loc["c", "exact_dup__group"] == df.loc["d", "exact_dup__group"]
    assert df.loc[["a", "c", "d"], "exact_dup__group_size"].tolist() == [3, 3, 3]
    assert df.loc[["a", "c", "d"], "exact_dup__is_representative"].tolist() == [True, False, False]
    assert pd.isna(df.loc["b", "exact_dup__group"]) and pd.isna(df.loc["e", "exact_dup__group"])
    assert df.loc[["b", "e"], "exact_dup__is_representative"].tolist() == [True, True]


def _near_copy(words: list[str], edits: int, start: int = 10) -> str:
    out = list(words)
    for i in range(edits):
        out[start + 14 * i] = f"changed{i}"
    return " ".join(out)


def test_minhash_groups_near_copies_and_estimates_jaccard(make_ws):
    base = unique_words(300, 1)
    other = unique_words(300, 2)
    ws = make_ws([
        {"id": "orig", "text": " ".join(base)},
        {"id": "other", "text": " ".join(other)},
        {"id": "near", "text": _near_copy(base, 3)},  # 3 words changed: 5-gram Jaccard ~0.9
        {"id": "far", "text": _near_copy(base, 20, start=5)},  # 20 changed: Jaccard ~0.5
        {"id": "copy", "text": " ".join(base)},
        {"id": "empty", "text": "..."},
        {"id": "empty2", "text": "!!!"},
    ], id_field="id")
    res = run_signal(ws, "minhash_dup")
    df = _scores(ws, "minhash_dup")
    g = df["minhash_dup__group"]
    assert g["orig"] == g["near"] == g["copy"]
    assert df.loc["orig", "minhash_dup__is_representative"]
    assert not df.loc["near", "minhash_dup__is_representative"]
    assert df.loc["copy", "minhash_dup__jaccard"] == 1.0
    assert pd.isna(df.loc["orig", "minhash_dup__jaccard"])
    assert 0.8 <= df.loc["near", "minhash_dup__jaccard"] < 1.0
    assert pd.isna(g["other"]) and pd.isna(g["empty"]) and pd.isna(g["empty2"])  # texts without words never group
    assert pd.isna(g["far"])
    assert res.summary["is_representative"]["false"] == 2
    # a stricter threshold leaves the edited copy out; the exact copy stays
    run_signal(ws, "minhash_dup", {"threshold": 0.97})
    strict = _scores(ws, "minhash_dup")["minhash_dup__group"]
    assert pd.isna(strict["near"]) and strict["copy"] == strict["orig"]


def test_minhash_parameters_are_checked(make_ws):
    ws = make_ws([{"text": "a b c"}])
    with pytest.raises(WinnowError, match="bands x rows"):
        run_signal(ws, "minhash_dup", {"bands": 20, "rows": 8})
    with pytest.raises(WinnowError, match="ngram_size"):
        run_signal(ws, "minhash_dup", {"ngram_size": 0})


def test_planted_duplicates_of_the_demo_are_found(demo_ws):
    import pyarrow.parquet as pq

    planted = pq.read_table(demo_ws.root / "planted.parquet").to_pandas()
    run_signal(demo_ws, "exact_dup")
    run_signal(demo_ws, "minhash_dup")
    store = Store(demo_ws)
    df = store.df("SELECT id, exact_dup__group AS eg, minhash_dup__group AS mg, "
                  "minhash_dup__is_representative AS mrep FROM scores").set_index("id")
    exact = planted[planted["kind"] == "exact_dup"]
    near = planted[planted["kind"] == "near_dup"]
    assert len(exact) and len(near)

    def same(col: str, rows: pd.DataFrame) -> float:
        a, b = df.loc[rows["id"], col].to_numpy(), df.loc[rows["of_id"], col].to_numpy()
        return float(((a == b) & pd.notna(a)).mean())

    exact_recall = same("eg", exact)
    near_recall = same("mg", near)
    exact_by_minhash = same("mg", exact)
    dups = planted[planted["kind"].isin(["exact_dup", "near_dup"])]
    pair_ids = set(dups["id"]) | set(dups["of_id"])  # a planted copy or its original (whichever comes first)
    flagged = set(df.index[df["mrep"] == False])  # noqa: E712 - a duplicate that is not its group's representative
    precision = len(flagged & pair_ids) / max(len(flagged), 1)
    others = planted.set_index("id")["kind"].reindex(sorted(flagged - pair_ids)).fillna("source").value_counts()
    print(f"\nexact_dup recall {exact_recall:.3f} ({len(exact)} planted); minhash_dup recall: near {near_recall:.3f} "
          f"({len(near)} planted), exact {exact_by_minhash:.3f}; minhash precision vs planted pairs {precision:.3f} "
          f"({len(flagged)} flagged; the others: {dict(others)})")
    assert exact_recall >= 0.95
    assert near_recall >= 0.95
    assert exact_by_minhash >= 0.95
