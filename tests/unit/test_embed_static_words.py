"""The static model's word memory gives model2vec's own vectors (to float rounding), hostile text included."""

from __future__ import annotations

import random

import numpy as np
import pytest

from core import embed


def _model2vec(texts: list[str]) -> np.ndarray:
    m = embed.model2vec_static()
    out = m.encode(texts, batch_size=1024, show_progress_bar=False, max_length=embed.STATIC_MAX_TOKENS,
                   normalize=True)
    return embed._normalise(np.asarray(out, dtype=np.float32))


def _encoder() -> embed._StaticEncoder:
    encoder = embed._load_model("static")
    encoder.reset()
    return encoder


def test_encoder_reads_the_model_as_model2vec_does():
    ours, ref = _encoder(), embed.model2vec_static()
    assert ours.unk == ref.unk_token_id
    assert ours.max_chars == embed.STATIC_MAX_TOKENS * ref.median_token_length
    assert ours.dim == ref.dim and ours.tokenizer.get_vocab_size() == len(ref.tokens)
    ids = np.arange(len(ref.tokens))
    expected = ref.embedding[ref.token_mapping[ids]].astype(np.float64) * ref.weights[ids].astype(np.float64)[:, None]
    expected[ids == ref.unk_token_id] = 0.0
    np.testing.assert_array_equal(ours.table[ours.row] * ours.weight[:, None], expected)
    assert ours.word_start is not None  # the word-start mark is understood (the fast split is used)


def test_word_memory_matches_model2vec_on_hostile_and_long_text():
    rng = random.Random(0)
    pool = [*"abc de\u0301\u0308\u00a8\u00a0\u3000\u2028\u1680\x85\t\n\x1c\x1f", "\u200d", "\U0001F468", "\uff21",
            "\u00bc", "\u2126", "\ufb01", "\u0300", "\u20dd", "\u1100", "\u200b", "\ufeff", "\u00ad", "\u0600",
            "\U0001F3FB", "\uff9e", " the", " cat", " naïve", " 東京", "\x01", "\x7f", " ~`|", " don't.", " (x)"]
    texts = ["".join(rng.choice(pool) for _ in range(rng.randint(0, 30))) for _ in range(400)]
    texts += ["", "   ", "word " * 2000, "zzqq" * 1000, "The cat sat on the mat. " * 300,
              "déjà vu " * 10, "a \u0301b c", "x\x1cy z", "\x01 \x7f", ". . .",
              # words of many tokens that cross the 512-token window at every offset
              *(("a " * k) + "antidisestablishmentarianism " * 200 for k in range(0, 12)),
              "qwxz" * 3 + " " + "Pneumonoultramicroscopicsilicovolcanoconiosis. " * 150]
    ours = embed.embed_texts(texts, "static", batch_size=64)  # several batches: the memory carries over
    ref = _model2vec(texts)
    assert ours.shape == ref.shape and ours.dtype == np.float32
    np.testing.assert_array_equal(np.linalg.norm(ours, axis=1) == 0, np.linalg.norm(ref, axis=1) == 0)
    assert np.abs(ours - ref).max() < 1e-5
    # a second pass, every word remembered, gives the same vectors
    np.testing.assert_allclose(embed.embed_texts(texts, "static"), ours, atol=1e-6)


def test_word_memory_matches_model2vec_on_real_text():
    from bench._corpus import documents

    texts = documents(600, seed=3)
    _encoder()
    ours = embed.embed_texts(texts, "static", batch_size=200)
    assert np.abs(ours - _model2vec(texts)).max() < 1e-5


def test_marked_split_gives_the_tokens_of_each_word_alone():
    encoder = _encoder()
    words = ["the", "cat's", "(x)", "don't.", "antidisestablishmentarianism", "a", "'", "--", "123,456",
             "https://example.com/a?b=c", "~`|", "Zzqxj."] * 3
    unsafe = np.zeros(len(words), dtype=bool)
    tokens, start, length = encoder._tokenize_words(words, unsafe)
    for i, w in enumerate(words):
        alone = encoder.tokenizer.encode(w, add_special_tokens=False).ids
        assert tokens[start[i]:start[i] + length[i]].tolist() == alone, w
    # the offsets path (any other tokenizer) gives the same
    mark, encoder.word_start = encoder.word_start, None
    try:
        tokens2, start2, length2 = encoder._tokenize_words(words, unsafe)
    finally:
        encoder.word_start = mark
    np.testing.assert_array_equal(length2, length)
    for i in range(len(words)):
        assert tokens2[start2[i]:start2[i] + length2[i]].tolist() == tokens[start[i]:start[i] + length[i]].tolist()


def test_memory_keeps_the_most_used_words_beyond_its_limit(monkeypatch):
    monkeypatch.setattr(embed, "_STATIC_WORDS_MAX", 50)
    encoder = _encoder()
    texts = [f"w{i} common words here" for i in range(120)]
    ours = embed.embed_texts(texts, "static", batch_size=30)
    assert len(encoder.index) <= 50
    assert {"common", "words", "here"} <= set(encoder.index)  # used in every text: never forgotten
    assert "w0" not in encoder.index  # used once, long ago
    assert len(encoder.words) == len(encoder.index) == len(encoder.start) == len(encoder.uses)
    assert np.abs(ours - _model2vec(texts)).max() < 1e-5
    # the kept words' tokens are still theirs after the compaction
    for word, slot in encoder.index.items():
        alone = encoder.tokenizer.encode(word, add_special_tokens=False).ids
        assert encoder.tokens[encoder.start[slot]:encoder.start[slot] + encoder.length[slot]].tolist() == alone


def test_a_batch_of_words_never_seen_is_tokenised_whole():
    encoder = _encoder()
    rng = random.Random(1)
    letters = "abcdefghijklmnopqrstuvwxyz東京語日本"
    texts = [" ".join("".join(rng.choice(letters) for _ in range(rng.randint(3, 12))) for _ in range(40))
             for _ in range(50)]
    ours = embed.embed_texts(texts, "static")
    assert encoder.index == {}  # learned nothing: each word came once
    assert np.abs(ours - _model2vec(texts)).max() < 1e-5
    # a batch of familiar words goes word by word (and teaches the memory)
    embed.embed_texts(["the cat sat on the mat"] * 10, "static")
    assert set(encoder.index) == {"the", "cat", "sat", "on", "mat"}


@pytest.mark.parametrize("parallel", ["true", "false"])
def test_tokenizer_threads_do_not_change_the_vectors(monkeypatch, parallel):
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", parallel)
    from bench._corpus import documents

    texts = documents(200, seed=5)
    _encoder()
    assert np.abs(embed.embed_texts(texts, "static") - _model2vec(texts)).max() < 1e-5


def test_arrow_splits_words_on_pythons_whitespace():
    """The encoder splits words with Arrow's utf8_split_whitespace: the same whitespace as str.split()
    at every code point, and (its empty words dropped) the same words."""
    import pyarrow as pa
    import pyarrow.compute as pc

    points = [c for c in range(0x110000) if not 0xD800 <= c < 0xE000]
    pieces = pc.list_value_length(pc.utf8_split_whitespace(pa.array(["a" + chr(c) + "b" for c in points])))
    arrow_space = pieces.to_numpy() == 2
    python_space = np.fromiter((chr(c).isspace() for c in points), dtype=bool, count=len(points))
    assert python_space.sum() > 20
    np.testing.assert_array_equal(arrow_space, python_space)
    rng = random.Random(2)
    pool = ["a", "bc", "é", " ", "  ", "\t", "\n", "\u3000", "\x1c", "\u2028", "\x85", "\u200b", "東"]
    texts = ["".join(rng.choice(pool) for _ in range(rng.randint(0, 12))) for _ in range(500)]
    split = pc.utf8_split_whitespace(pa.array(texts)).to_pylist()
    assert [[w for w in ws if w] for ws in split] == [t.split() for t in texts]
