"""The static model's word cache gives model2vec's own vectors (to float rounding), hostile text included."""

from __future__ import annotations

import random

import numpy as np

from core import embed


def _model2vec(texts: list[str]) -> np.ndarray:
    m = embed._load_model("static")
    out = m.encode(texts, batch_size=1024, show_progress_bar=False, max_length=embed.STATIC_MAX_TOKENS,
                   normalize=True)
    return embed._normalise(np.asarray(out, dtype=np.float32))


def test_word_cache_matches_model2vec_on_hostile_and_long_text():
    rng = random.Random(0)
    pool = [*"abc de\u0301\u0308\u00a8\u00a0\u3000\u2028\u1680\x85\t\n\x1c\x1f", "\u200d", "\U0001F468", "\uff21",
            "\u00bc", "\u2126", "\ufb01", "\u0300", "\u20dd", "\u1100", "\u200b", "\ufeff", "\u00ad", "\u0600",
            "\U0001F3FB", "\uff9e", " the", " cat", " naïve", " 東京"]
    texts = ["".join(rng.choice(pool) for _ in range(rng.randint(0, 30))) for _ in range(400)]
    texts += ["", "   ", "word " * 2000, "zzqq" * 1000, "The cat sat on the mat. " * 300,
              "déjà vu " * 10, "a \u0301b c", "x\x1cy z"]
    embed._static_encoders.clear()
    ours = embed.embed_texts(texts, "static", batch_size=64)  # several batches: the cache carries over
    ref = _model2vec(texts)
    assert ours.shape == ref.shape and ours.dtype == np.float32
    np.testing.assert_array_equal(np.linalg.norm(ours, axis=1) == 0, np.linalg.norm(ref, axis=1) == 0)
    assert np.abs(ours - ref).max() < 1e-5
    # a second pass, every word cached, gives the same vectors
    np.testing.assert_allclose(embed.embed_texts(texts, "static"), ours, atol=1e-6)


def test_word_cache_is_forgotten_beyond_its_limit(monkeypatch):
    monkeypatch.setattr(embed, "_STATIC_WORDS_MAX", 50)
    embed._static_encoders.clear()
    texts = [f"w{i} common words here" for i in range(120)]
    ours = embed.embed_texts(texts, "static", batch_size=30)
    encoder = embed._static_encoder(embed._load_model("static"))
    assert len(encoder.index) <= 50
    assert np.abs(ours - _model2vec(texts)).max() < 1e-5
