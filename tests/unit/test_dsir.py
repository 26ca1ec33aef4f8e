"""DSIR: the reference's check values, the vectorised featuriser against the literal one, and the
`dsir` signal against the `data-selection` package on the demo."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from scipy.stats import spearmanr

from core import dsir
from core.errors import WinnowError
from core.signals.runner import read_sidecar, run_signal


def test_check_values_from_methods():
    assert dsir.hash_bucket("alice") == 6720
    assert dsir.hash_bucket("alice went") == 114
    counts = dsir.ngram_counts("Alice went to the store", ngrams=2)
    assert counts.sum() == 9  # 5 unigrams + 4 bigrams
    assert counts[6720] >= 1 and counts[114] >= 1
    assert dsir.tokenize("Hello, world!! it's") == ["hello", ",", "world", "!!", "it", "'", "s"]


def test_reference_hashing_and_counts_agree_with_data_selection():
    ref = pytest.importorskip("data_selection.hashed_ngram_dsir")
    texts = ["Alice went to the store.", "", "one", "Hello, world!! héllo wörld…", "x y z x y z x y",
             "   \n\t ", "foo_bar 12 ... ?! «quoted» 東京 タワー", "the the the the",
             "done ☑️ | 3 yd² x\x1cy café naïve \x00 \x01!", "e\u0301t\u00e9 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ½ ٣٤"]
    for n in (1, 2, 3):
        ours = dsir.featurize(texts, ngrams=n).counts.toarray()
        theirs = np.stack([ref.get_ngram_counts(t, n=n) for t in texts])
        np.testing.assert_array_equal(ours, theirs)
    for word in ("alice", "alice went", "東京", "!!"):
        assert dsir.hash_bucket(word) == ref.hash_buckets(word)


def test_vectorised_featuriser_matches_literal_one_with_parallel_workers():
    rng = np.random.default_rng(0)
    words = np.array(["the", "cat", "sat", "on", "a", "mat", "and", "it", "was", "good", ",", ".", "!", "ünï"])
    texts = [" ".join(rng.choice(words, size=rng.integers(0, 40))) for _ in range(300)]
    expected = np.stack([dsir.ngram_counts(t) for t in texts])
    one = dsir.featurize(texts)
    np.testing.assert_array_equal(one.counts.toarray(), expected)
    np.testing.assert_array_equal(one.n_tokens, [len(dsir.tokenize(t)) for t in texts])
    batches = [texts[i:i + 70] for i in range(0, len(texts), 70)]
    parallel = list(dsir.featurize_batches(batches, workers=2))
    np.testing.assert_array_equal(np.vstack([f.counts.toarray() for f in parallel]), expected)


def test_log_weights_are_the_dot_product_with_log_diff():
    raw = ["the cat sat", "the dog ran", "stocks fell sharply", "cat and dog"]
    target = ["the cat", "a cat sat on the mat"]
    fit = dsir.dsir_log_weights(raw, target)
    raw_counts = np.stack([dsir.ngram_counts(t) for t in raw])
    tgt = np.stack([dsir.ngram_counts(t) for t in target]).sum(axis=0)
    diff = np.log(tgt / tgt.sum() + 1e-8) - np.log(raw_counts.sum(0) / raw_counts.sum() + 1e-8)
    np.testing.assert_allclose(fit.log_weights, raw_counts @ diff)
    assert fit.log_weights[0] > fit.log_weights[2]  # cats are more like the target than stocks


def test_resample_gumbel_top_k_is_seeded_and_respects_the_filter():
    log_w = np.array([0.0, 5.0, 1.0, 10.0, -3.0])
    keep = np.array([True, True, True, False, True])
    top = dsir.dsir_resample(log_w, 2, top_k=True, keep=keep)
    assert top.tolist() == [1, 2]
    a = dsir.dsir_resample(log_w, 3, seed=1, keep=keep)
    assert a.tolist() == dsir.dsir_resample(log_w, 3, seed=1, keep=keep).tolist()
    assert 3 not in a and len(set(a.tolist())) == 3


def test_signal_refuses_without_a_target(make_ws):
    ws = make_ws([{"text": "hello world"}])
    with pytest.raises(WinnowError, match="needs a target"):
        run_signal(ws, "dsir")
    with pytest.raises(WinnowError, match="no target named 'nope'"):
        run_signal(ws, "dsir", target="nope")


def test_signal_agrees_with_data_selection_on_the_demo(demo_ws_readonly, make_ws, tmp_path):
    """Every third demo document (all sources, ~1,000 docs) keeps the reference's run short."""
    pytest.importorskip("data_selection")
    from data_selection import HashedNgramDSIR

    docs = pd.concat([pq.read_table(p, columns=["id", "text", "source"]).to_pandas()
                      for p in demo_ws_readonly.doc_files()], ignore_index=True).iloc[::3].reset_index(drop=True)
    docs["id"] = docs["id"].astype(str)
    ws = make_ws(docs.to_dict("records"), id_field="id", source="demo")
    shutil.copy(demo_ws_readonly.dir("targets") / "bbc_tech.parquet", ws.dir("targets") / "bbc_tech.parquet")
    result = run_signal(ws, "dsir", target="bbc_tech")
    ours = pq.read_table(result.path).to_pandas().set_index("id").loc[docs["id"]]
    side = read_sidecar(ws, result.key)
    assert side["details"]["num_buckets"] == 10_000 and side["details"]["min_length"] == 100
    assert side["details"]["raw_ngrams_fitted"] > side["details"]["target_ngrams_fitted"] > 0

    target = pq.read_table(ws.dir("targets") / "bbc_tech.parquet").to_pandas()
    raw_path, tgt_path = tmp_path / "raw.jsonl", tmp_path / "target.jsonl"
    for path, frame in ((raw_path, docs), (tgt_path, target)):
        with open(path, "w", encoding="utf-8") as fh:
            for text in frame["text"]:
                fh.write(json.dumps({"text": text}) + "\n")
    ref = HashedNgramDSIR([str(raw_path)], [str(tgt_path)], cache_dir=str(tmp_path / "cache"), num_proc=1)
    ref.fit_importance_estimator(num_tokens_to_fit="all")
    ref.compute_importance_weights()
    theirs = np.load(tmp_path / "cache" / "log_importance_weights" / "0.npy")
    their_len = np.load(tmp_path / "cache" / "perexample_metadata" / "0.npy")

    assert spearmanr(ours["log_weight"].to_numpy(), theirs).statistic >= 0.999
    np.testing.assert_allclose(ours["log_weight"].to_numpy(), theirs, rtol=1e-9, atol=1e-6)
    np.testing.assert_array_equal(ours["n_tokens"].to_numpy(), their_len)
    # per n-gram, BBC articles are more like the BBC tech target than code, chat or spam
    np.testing.assert_allclose(ours["log_weight_per_ngram"], theirs / np.maximum(2 * their_len - 1, 1))
    median = ours["log_weight_per_ngram"].groupby(docs["source"].to_numpy()).median()
    assert median["bbc"] == median.max() and len(median) >= 3


def test_signal_rerun_is_skipped_and_buckets_are_saved(demo_ws):
    first = run_signal(demo_ws, "dsir", target="bbc_tech", params={"min_length": 20})
    again = run_signal(demo_ws, "dsir", target="bbc_tech", params={"min_length": 20})
    assert not first.skipped and again.skipped
    with np.load(demo_ws.dir("signals") / "dsir__bbc_tech.buckets.npz") as z:
        assert z["raw_counts"].shape == (10_000,) and z["raw_counts"].sum() > z["target_counts"].sum() > 0


def test_batches_holding_every_separator_character_still_count_right():
    texts = ["a \x01 b \x02 c", "\ufdd0 d \ufdd1 e", "plain words here", ""]
    f = dsir.featurize(texts)
    np.testing.assert_array_equal(f.counts.toarray(), np.stack([dsir.ngram_counts(t) for t in texts]))
    np.testing.assert_array_equal(dsir.featurize(texts[1:]).counts.toarray(), f.counts.toarray()[1:])


def test_signal_in_parallel_resumes_from_its_checkpoints_after_a_cancel(make_ws, monkeypatch):
    from core.errors import Cancelled
    from core.signals import dsir as dsir_signal
    from core.targets import add_reference_text

    rng = np.random.default_rng(1)
    vocab = ["market", "shares", "goal", "match", "chip", "phone", "the", "a", "of", "."]
    docs = [{"id": f"d{i}", "text": " ".join(rng.choice(vocab, 30))} for i in range(40)]
    ws = make_ws(docs, id_field="id")
    add_reference_text(ws, "tech", "chip phone chip\nphone the chip")
    monkeypatch.setattr(dsir_signal.DSIR, "batch_size", 10)
    serial = pq.read_table(run_signal(ws, "dsir", target="tech").path).to_pandas()

    monkeypatch.setattr(dsir_signal, "PARALLEL_MIN_DOCS", 1)  # a process pool, even for 40 documents
    calls = []

    def cancel_after_two_batches(done, total):
        calls.append(done)
        if done >= 20 and done < total:
            raise Cancelled()

    with pytest.raises(Cancelled):
        run_signal(ws, "dsir", target="tech", force=True, progress=cancel_after_two_batches)
    partial = list((ws.dir("signals") / ".partial").rglob("dsir-features-*.npz"))
    assert len(partial) >= 2
    featurized = []
    real = dsir.featurize_batches

    def counting(batches, *args):
        for f in real(batches, *args):
            featurized.append(len(f))
            yield f

    monkeypatch.setattr(dsir, "featurize_batches", counting)
    resumed = run_signal(ws, "dsir", target="tech", force=True)
    assert sum(featurized) <= 40 - 10 * len(partial)  # checkpointed batches are read back, not hashed again
    again = pq.read_table(resumed.path).to_pandas()
    pd.testing.assert_frame_equal(again, serial)
