"""DSIR speed against the reference package `data-selection` (HashedNgramDSIR), on the same documents.

    .venv/bin/python -m bench.dsir [--docs 100000] [--workers N] [--skip-reference]

Both sides read the same JSONL file, fit p_raw on every document and p_target on the target, and
compute every document's log importance weight; the time is from reading the file to having the
weights (the reference writes them to its cache folder, we keep them in memory). Run once with one
process each and once with all cores (the reference's num_proc, our process pool). The weights are
compared too: they must agree (max absolute difference printed).

Documents: ShareGPT turns, BBC articles and standard-library functions (bench/_corpus.py, from pip
packages); the target: 300 BBC articles. Prints a table and one JSON line (for scripts).

Wall time and, for the one-process runs, CPU time of this process (robust when other work shares the
machine). `--reference-sample N` times the reference on the first N documents only and scales its time
by docs / N: it is linear in the documents (every n-gram occurrence is hashed, nothing is cached), while
ours gets faster per document as the pool grows, so this favours the reference, never us. With a sample,
the agreement check compares both on that sample.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._corpus import bbc_articles, documents  # noqa: E402
from core import dsir  # noqa: E402


def write_jsonl(path: Path, texts: list[str]) -> Path:
    with open(path, "wb") as fh:
        for t in texts:
            fh.write(orjson.dumps({"text": t}) + b"\n")
    return path


def read_texts(path: Path) -> list[str]:
    with open(path, "rb") as fh:
        return [orjson.loads(line)["text"] for line in fh if line.strip()]


def run_ours(raw: Path, target: Path, workers: int) -> tuple[float, float, np.ndarray]:
    """(wall seconds, CPU seconds of this process, weights)."""
    dsir.clear_caches()  # no head start from an earlier run in this process
    started, cpu = time.perf_counter(), time.process_time()
    fit = dsir.dsir_log_weights(read_texts(raw), read_texts(target), workers=workers)
    return time.perf_counter() - started, time.process_time() - cpu, fit.log_weights


def run_reference(raw: Path, target: Path, workers: int, cache: Path) -> tuple[float, float, np.ndarray]:
    """(wall seconds, CPU seconds of this process (all of it when workers = 1), weights in file order)."""
    from data_selection import HashedNgramDSIR

    started, cpu = time.perf_counter(), time.process_time()
    ref = HashedNgramDSIR([str(raw)], [str(target)], cache_dir=str(cache), num_proc=workers)
    ref.tokenizer = _picklable_wordpunct()
    ref.fit_importance_estimator(num_tokens_to_fit="all")
    ref.compute_importance_weights()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    # the reference shards the file round-robin over its processes: put the rows back in file order
    parts = [np.load(cache / "log_importance_weights" / f"{i}.npy") for i in range(workers)]
    weights = np.empty(sum(len(p) for p in parts))
    for i, part in enumerate(parts):
        weights[i::workers] = part
    return seconds, cpu, weights


def _picklable_wordpunct():
    """nltk 3.10's WordPunctTokenizer with its regex timeout set explicitly (to nltk's own default).

    Its pattern keeps "use the default timeout" as a module sentinel, which does not survive pickling
    into joblib's worker processes (every match there fails with "timeout not float or None"), so the
    reference cannot run with num_proc > 1 as installed. Same pattern, same engine, same timeout.
    """
    from nltk import redos
    from nltk.tokenize import WordPunctTokenizer

    tok = WordPunctTokenizer()
    tok._check_regexp()
    tok._regexp._timeout = redos.DEFAULT_TIMEOUT
    return tok.tokenize


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=100_000, help="documents in the pool (default 100,000)")
    ap.add_argument("--workers", type=int, default=dsir.default_workers(), help="processes for the all-cores run")
    ap.add_argument("--skip-reference", action="store_true", help="time only ours")
    ap.add_argument("--reference-sample", type=int, default=0,
                    help="time the reference on this many documents and scale linearly (0: all of them)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    texts = documents(args.docs, seed=args.seed)
    target_texts = random.Random(args.seed + 1).sample(bbc_articles(), 300)
    words = sum(len(t.split()) for t in texts)
    print(f"pool: {len(texts):,} documents, {words:,} words; target: {len(target_texts)} BBC articles; "
          f"{os.cpu_count()} CPUs, all-cores run with {args.workers} processes", flush=True)
    runs = [1] if args.workers == 1 else [1, args.workers]
    sample = min(args.reference_sample or len(texts), len(texts))
    scale = len(texts) / sample
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-dsir-") as tmp:
        tmp = Path(tmp)
        raw, target = write_jsonl(tmp / "raw.jsonl", texts), write_jsonl(tmp / "target.jsonl", target_texts)
        raw_sample = raw if sample == len(texts) else write_jsonl(tmp / "sample.jsonl", texts[:sample])
        for workers in runs:
            ours_s, ours_cpu, ours_w = run_ours(raw, target, workers)
            row = {"processes": workers, "ours_s": round(ours_s, 2), "ours_docs_per_s": round(len(texts) / ours_s)}
            if workers == 1:
                row["ours_cpu_s"] = round(ours_cpu, 2)
            if not args.skip_reference:
                ref_s, ref_cpu, ref_w = run_reference(raw_sample, target, workers, tmp / f"cache-{workers}")
                row.update(reference_s=round(ref_s * scale, 2), reference_docs_per_s=round(sample / ref_s),
                           speedup=round(ref_s * scale / ours_s, 1))
                if workers == 1:
                    row.update(reference_cpu_s=round(ref_cpu * scale, 2), cpu_speedup=round(ref_cpu * scale / ours_cpu, 1))
                if sample != len(texts):
                    row["reference_timed_on"] = sample
                    ours_w = run_ours(raw_sample, target, workers)[2]
                row["max_abs_diff"] = float(np.max(np.abs(ref_w - ours_w))) if len(ref_w) else 0.0
            row["load_avg_1min"] = round(os.getloadavg()[0], 1)
            results.append(row)
            print("  ".join(f"{k}={v}" for k, v in row.items()), flush=True)
    print(json.dumps({"bench": "dsir", "docs": len(texts), "words": words, "runs": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
