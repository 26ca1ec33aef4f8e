"""Embeddings: normalised vectors in document order, the (model, sha1) cache, clear errors, long documents."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.embed import (
    MODELS,
    cache_dir,
    compute_embeddings,
    embed_texts,
    embedding_paths,
    load_embeddings,
)
from core.errors import WinnowError
from tests.conftest import write_jsonl

TOPICS = ["the central bank raised interest rates to fight inflation",
          "the striker scored twice in the second half of the match",
          "the new phone has a faster chip and a brighter screen",
          "parliament voted on the budget after a long debate",
          "the film won three awards at the festival"]
RECORDS = [{"id": f"d{i}", "text": f"{TOPICS[i % 5]} (report number {i})"} for i in range(40)]


class CountingEmbedder:
    """Wraps the static model and records every text it was asked to embed."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.texts.extend(texts)
        return embed_texts(texts, "static")


def test_embed_texts_are_unit_rows_and_similar_texts_are_close():
    x = embed_texts(["interest rates rise at the central bank", "the central bank raises interest rates",
                     "the goalkeeper saved a penalty", ""])
    assert x.dtype == np.float32 and x.shape == (4, MODELS["static"].dim)
    assert np.allclose(np.linalg.norm(x[:3], axis=1), 1.0, atol=1e-5)
    assert not x[3].any()  # an empty text has no direction
    assert x[0] @ x[1] > x[0] @ x[2]


def test_compute_writes_normalised_matrix_in_document_order(make_ws):
    ws = make_ws(RECORDS, id_field="id")
    result = compute_embeddings(ws, batch_size=16)
    ids, x = load_embeddings(ws)
    assert ids == [r["id"] for r in RECORDS]
    assert x.shape == (40, 64) and x.dtype == np.float32
    assert np.allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5)
    assert np.allclose(x, embed_texts([r["text"] for r in RECORDS]), atol=1e-6)
    assert result.computed == 40 and result.cached == 0
    meta = json.loads(embedding_paths(ws, "static")[2].read_text())
    assert meta["count"] == 40 and "truncated" in meta["long_documents"]


def test_cache_hits_recompute_nothing_and_new_documents_only_themselves(make_ws, tmp_path):
    ws = make_ws(RECORDS, id_field="id")
    first = CountingEmbedder()
    compute_embeddings(ws, batch_size=16, embed_fn=first)
    assert len(first.texts) == 40
    _, before = load_embeddings(ws)
    before = before.copy()

    again = CountingEmbedder()
    result = compute_embeddings(ws, batch_size=16, embed_fn=again)
    assert again.texts == [] and result.computed == 0 and result.cached == 40
    assert np.array_equal(load_embeddings(ws)[1], before)

    # a restart after more documents arrive: only the new text is embedded
    from core.ingest import ingest_paths

    extra = write_jsonl(tmp_path / "more" / "more.jsonl", [{"id": "new1", "text": "a brand new text about volcanoes"}])
    ingest_paths(ws, [extra], id_field="id")
    third = CountingEmbedder()
    result = compute_embeddings(ws, batch_size=16, embed_fn=third)
    assert third.texts == ["a brand new text about volcanoes"]
    ids, x = load_embeddings(ws)
    assert len(ids) == 41 and np.array_equal(x[[ids.index(r["id"]) for r in RECORDS]], before)


def test_duplicate_texts_are_embedded_once(make_ws):
    ws = make_ws([{"id": f"c{i}", "text": "the same words"} for i in range(5)] + [{"id": "x", "text": "other"}],
                 id_field="id")
    counting = CountingEmbedder()
    compute_embeddings(ws, embed_fn=counting)
    assert sorted(counting.texts) == ["other", "the same words"]
    assert load_embeddings(ws)[1].shape == (6, 64)


def test_missing_embeddings_say_what_to_run(make_ws):
    ws = make_ws(RECORDS[:3], id_field="id")
    with pytest.raises(WinnowError, match="batch-size must be at least 1"):
        compute_embeddings(ws, batch_size=0)
    with pytest.raises(WinnowError, match="python -m core embed"):
        load_embeddings(ws)
    with pytest.raises(WinnowError, match="python -m core embed --workspace .* --model minilm"):
        load_embeddings(ws, "minilm")
    with pytest.raises(WinnowError, match="unknown embedding model"):
        load_embeddings(ws, "bert-huge")


def test_changed_text_makes_embeddings_stale(make_ws):
    import hashlib

    import pyarrow as pa
    import pyarrow.parquet as pq

    from core.workspace import write_parquet

    ws = make_ws(RECORDS[:5], id_field="id")
    compute_embeddings(ws)
    # the documents are replaced (as a re-ingest into a fresh folder would): d2 has a new text
    part = ws.doc_files()[0]
    table = pq.read_table(part).to_pylist()
    table[2]["text"] = "a completely different text now"
    table[2]["sha1"] = hashlib.sha1(table[2]["text"].encode()).hexdigest()
    write_parquet(pa.Table.from_pylist(table, schema=pq.read_schema(part)), part)
    with pytest.raises(WinnowError, match="older than the documents"):
        load_embeddings(ws)
    counting = CountingEmbedder()
    compute_embeddings(ws, embed_fn=counting)
    assert counting.texts == ["a completely different text now"]
    assert load_embeddings(ws)[1].shape == (5, 64)


def test_a_corrupt_cache_shard_is_recomputed(make_ws):
    ws = make_ws(RECORDS[:10], id_field="id")
    compute_embeddings(ws, batch_size=5)
    shards = sorted(cache_dir(ws, "static").glob("shard-*.npz"))
    assert len(shards) == 2
    shards[0].write_bytes(b"not a zip file")
    counting = CountingEmbedder()
    compute_embeddings(ws, batch_size=5, embed_fn=counting)
    assert len(counting.texts) == 5


def test_static_model_truncates_long_documents():
    head = "the central bank raised interest rates again this year " * 80  # far more than 512 tokens
    a, b = embed_texts([head + "football " * 500, head + "volcano lava eruption " * 500])
    assert np.allclose(a, b, atol=1e-6)  # what follows the first 512 tokens does not count


def test_minilm_chunks_and_pools_long_documents():
    part1 = "The central bank raised interest rates to slow inflation and the pound rose. " * 25
    part2 = "The striker scored a late goal and the team won the league title at home. " * 25
    x = embed_texts([part1, part2, part1 + part2], "minilm")
    assert x.shape == (3, 384) and np.allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5)
    # the whole document is the length-weighted mean of its chunks: close to both halves,
    # where truncation would keep only the first one
    assert x[2] @ x[1] > 0.5 and abs(x[2] @ x[0] - x[2] @ x[1]) < 0.3


def test_many_shards_are_merged_into_one_and_give_the_same_vectors(make_ws, monkeypatch):
    import core.embed as embed_module

    monkeypatch.setattr(embed_module, "COMPACT_SHARDS", 3)
    records = RECORDS + [{"id": "dup", "text": RECORDS[0]["text"]}]  # one text in two documents
    ws = make_ws(records, id_field="id")
    counting = CountingEmbedder()
    result = compute_embeddings(ws, batch_size=3, embed_fn=counting)
    assert result.computed == len(counting.texts) == 40  # the shared text embedded once
    shards = sorted(cache_dir(ws, "static").glob("shard-*.npz"))
    assert len(shards) == 1
    ids, x = load_embeddings(ws)
    assert ids == [r["id"] for r in records]
    assert np.allclose(x, embed_texts([r["text"] for r in records]), atol=1e-6)
    # a shard saved twice (a batch redone after a crash) is merged without its copies
    cache = embed_module.EmbeddingCache(cache_dir(ws, "static"), 64)
    keys, vectors = cache.read()
    for _ in range(4):
        cache.save(embed_module._as_s40(keys), vectors)
    again = CountingEmbedder()
    compute_embeddings(ws, embed_fn=again)
    assert again.texts == [] and len(list(cache_dir(ws, "static").glob("shard-*.npz"))) == 1
    assert len(cache.read()[0]) == 40
    assert np.array_equal(load_embeddings(ws)[1], x)
