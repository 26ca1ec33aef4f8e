"""bench/make_corpus.py: deterministic for a seed, documents cut and perturbed (not copies), both files agree."""

from __future__ import annotations

import orjson
import pyarrow.parquet as pq

from bench import make_corpus as mc

BASE = ("one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen " * 30).strip()
POOL = {"chat": [(BASE, None)], "news": [(BASE.upper(), "sport")], "code": [("def f(x):\n    return x + 1  # " + BASE, None)]}


def test_documents_are_deterministic_for_a_seed_and_not_identical():
    a = list(mc.documents(200, seed=3, max_chars=300, pool=POOL))
    assert a == list(mc.documents(200, seed=3, max_chars=300, pool=POOL))
    assert a != list(mc.documents(200, seed=4, max_chars=300, pool=POOL))
    texts = [t for _, t, _, _ in a]
    assert len(set(texts)) > 190  # one base text per kind, yet almost every document differs
    assert all(0 < len(t) <= 300 + 40 for t in texts)  # a window (plus inserted filler words)
    assert {s for _, _, s, _ in a} == {"chat", "news", "code"}
    assert all((label == "sport") == (source == "news") for _, _, source, label in a)


def test_write_corpus_writes_the_same_rows_as_jsonl_and_parquet(tmp_path, monkeypatch):
    monkeypatch.setattr(mc, "base_pool", lambda seed: POOL)
    info = mc.write_corpus(tmp_path, 120, seed=1, max_chars=200)
    lines = [orjson.loads(x) for x in (tmp_path / "docs.jsonl").read_bytes().splitlines()]
    table = pq.read_table(tmp_path / "docs.parquet").to_pylist()
    assert info["docs"] == len(lines) == len(table) == 120
    assert lines == table
    assert [r["id"] for r in lines] == [f"doc-{i:07d}" for i in range(120)]
