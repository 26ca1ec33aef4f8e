"""`contamination`: planted benchmark leaks are found, the matched item is right, and short or clean text is not flagged."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.errors import WinnowError
from core.signals.contamination import words
from core.signals.runner import read_sidecar, run_signal

PROMPT = ("def has_close_elements(numbers, threshold): check if in given list of numbers are any two numbers "
          "closer to each other than given threshold")


def _bench(ws, rows):
    pq.write_table(pa.table({"id": [r[0] for r in rows], "text": [r[1] for r in rows]}),
                   ws.dir("benchmarks") / "evalset.parquet")


def test_overlap_share_item_and_flag(make_ws):
    n_words = len(words(PROMPT))  # 22 words (\w+ tokens) -> 10 13-grams in the item
    docs = [
        {"id": "leak", "text": "Please help.\n\n" + PROMPT.upper().replace(" ", "  ") + "\n\nThanks, that is all."},
        {"id": "clean", "text": "Numbers closer to each other than a given threshold are a common interview topic."},
        {"id": "short", "text": "def f(): pass"},
        {"id": "partial", "text": " ".join(words(PROMPT)[:13]) + " and something else entirely different here"},
    ]
    ws = make_ws(docs, id_field="id")
    _bench(ws, [("T/0", PROMPT), ("T/1", "tiny item"), ("T/2", "return the sum of a list of integers " * 3)])
    res = run_signal(ws, "contamination", benchmark="evalset")
    df = pq.read_table(res.path).to_pandas().set_index("id")
    leak_words = 2 + n_words + 4
    assert df.loc["leak", "shared_ngrams"] == n_words - 12
    assert df.loc["leak", "overlap"] == pytest.approx((n_words - 12) / (leak_words - 12))
    assert df.loc["leak", "matched_item"] == "T/0" and df.loc["leak", "item_coverage"] == pytest.approx(1.0)
    assert df.loc["partial", "shared_ngrams"] == 1 and df.loc["partial", "contaminated"]
    assert not df.loc["clean", "contaminated"] and df.loc["clean", "overlap"] == 0
    assert not df.loc["short", "contaminated"] and pd.isna(df.loc["short", "matched_item"])
    side = read_sidecar(ws, res.key)["details"]
    assert side["benchmark_items_too_short"] == 1 and side["documents_flagged"] == 2

    strict = run_signal(ws, "contamination", benchmark="evalset", params={"threshold": 0.3})
    df2 = pq.read_table(strict.path).to_pandas().set_index("id")
    assert df2["contaminated"].to_dict() == {"leak": True, "clean": False, "short": False, "partial": False}


def test_refuses_without_a_benchmark(make_ws):
    ws = make_ws([{"text": "hello world"}])
    with pytest.raises(WinnowError, match="needs a benchmark: pass --benchmark NAME"):
        run_signal(ws, "contamination")
    _bench(ws, [("a", "too short")])
    with pytest.raises(WinnowError, match="no item of 13 words or more"):
        run_signal(ws, "contamination", benchmark="evalset")


def test_planted_humaneval_leaks_in_the_demo(demo_ws):
    res = run_signal(demo_ws, "contamination", benchmark="humaneval")
    df = pq.read_table(res.path).to_pandas()
    planted = pq.read_table(demo_ws.root / "planted.parquet").to_pandas()
    leaks = planted[planted["kind"] == "benchmark_leak"].set_index("id")["of_id"]
    flagged = set(df.loc[df["contaminated"], "id"])
    recall = len(flagged & set(leaks.index)) / len(leaks)
    precision = len(flagged & set(leaks.index)) / max(len(flagged), 1)
    print(f"contamination on the demo: {len(leaks)} planted, {len(flagged)} flagged, "
          f"recall {recall:.3f}, precision {precision:.3f}")
    assert recall >= 0.95 and precision >= 0.9
    matched = df.set_index("id").loc[list(leaks.index), "matched_item"]
    assert (matched == leaks).mean() >= 0.95  # and the right HumanEval task is named
