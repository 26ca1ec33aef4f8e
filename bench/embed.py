"""Benchmark: documents per second for the static model (default) and MiniLM, on the same documents.

    python -m bench.embed [--n 20000] [--minilm-n 1000] [--seed 0] [--workspace WS ...] [--no-minilm]

Documents come from packaged text (ShareGPT turns, BBC articles, stdlib functions; bench/_corpus.py),
measured three ways, each labelled: the mix as it comes (median ~700 characters), the same
documents cut to their first 50 words (the "~50-word documents" of the brief), and, with
`--workspace` (once or more), the texts of real workspaces (e.g. the small demo: its own length mix;
20,000 documents of the 1M scale corpus: `bench/make_corpus.py`'s varied windows).
Both models run through `core.embed.embed_texts` in the job's batches, exactly as the embed job does
(static: first 512 tokens; MiniLM: up to 4 chunks of 254 word pieces, mean-pooled), in this
process, after the model is loaded (load time and CPU printed apart). The static model remembers
each distinct word it has tokenised; that memory is emptied before every timed run, so every rate
here is a cold start (one pass over documents never seen); the words remembered at the end are
printed too. MiniLM is slow on a CPU, so it runs on the
first `--minilm-n` documents and the static model runs on those same documents too: the ratio
compares like with like. Static rates are printed with the tokenizer on one thread and on every
core (the embed job's setting). Target: static >= 5,000 docs/s. The load average is printed
before and after, because the machine may be shared; per-CPU-second rates are less disturbed by
other work than wall-clock ones.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bench._corpus import documents  # noqa: E402
from core.embed import MODELS, _load_model, embed_texts  # noqa: E402

TARGET = 5_000


def _rate(texts: list[str], model: str) -> tuple[float, float, float]:
    """(docs per wall second, docs per CPU second of this process, wall seconds), in the job's batches,
    starting cold (the static model's word memory emptied)."""
    if model == "static":
        _load_model("static").reset()
    batch = MODELS[model].default_batch_size
    wall, cpu = time.perf_counter(), time.process_time()
    for start in range(0, len(texts), batch):
        embed_texts(texts[start:start + batch], model)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return len(texts) / wall, len(texts) / max(cpu, 1e-9), wall


def _static_both(label: str, texts: list[str]) -> float:
    """Print the static model's rate on `texts`, tokenizer on one thread and on every core; return the latter."""
    words = [len(t.split()) for t in texts]
    chars = [len(t) for t in texts]
    print(f"\n[{label}] {len(texts):,} documents, median {statistics.median(words):,.0f} words / "
          f"{statistics.median(chars):,.0f} characters (mean {statistics.mean(words):,.0f} words)")
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    one, one_cpu, one_s = _rate(texts, "static")
    os.environ["TOKENIZERS_PARALLELISM"] = "true"  # as in the embed job: the tokenizer uses every core
    par, par_cpu, par_s = _rate(texts, "static")
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    print(f"  static, one thread:      {one:8,.0f} docs/s wall ({one_cpu:,.0f} per CPU-second), {one_s:.1f}s, "
          f"{len(texts) / one_cpu:.1f} CPU-s; "
          f"{len(_load_model('static').index):,} words remembered")
    print(f"  static, tokenizer on all {os.cpu_count()} CPUs (the embed job's setting): {par:8,.0f} docs/s wall "
          f"({par_cpu:,.0f} per CPU-second), {par_s:.1f}s, {len(texts) / par_cpu:.1f} CPU-s  [{'meets' if par >= TARGET else 'below'} the "
          f"{TARGET:,} target]")
    return par


def _workspace_texts(path: str) -> list[str]:
    import pyarrow.parquet as pq

    from core.workspace import Workspace

    ws = Workspace.open(path)
    out: list[str] = []
    for part in ws.doc_files():
        out.extend(t or "" for t in pq.read_table(part, columns=["text"]).column("text").to_pylist())
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.embed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20_000, help="documents for the static model")
    parser.add_argument("--minilm-n", type=int, default=1_000, help="documents for MiniLM (and the ratio)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workspace", action="append", default=[],
                        help="also measure on this workspace's texts (e.g. the small demo); may be repeated")
    parser.add_argument("--no-minilm", action="store_true", help="skip MiniLM (and the ratio)")
    args = parser.parse_args(argv)

    docs = documents(args.n, seed=args.seed)
    print(f"{os.cpu_count()} CPUs, load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} (1, 5, 15 min)")
    for model in ("static",) if args.no_minilm else ("static", "minilm"):
        started, cpu = time.perf_counter(), time.process_time()
        _load_model(model)
        print(f"{model}: model loaded in {time.perf_counter() - started:.1f}s ({time.process_time() - cpu:.1f} CPU-s)")
        embed_texts(docs[:8], model)  # warm up

    _static_both("bench mix, as it comes", docs)
    fifty = [" ".join(d.split()[:50]) for d in docs if len(d.split()) >= 50]
    _static_both("~50-word documents: the same mix cut to its first 50 words", fifty)
    for path in args.workspace:
        _static_both(f"workspace {path}: its own length mix", _workspace_texts(path))
    if args.no_minilm:
        print(f"\nload average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        return 0

    subset = docs[: args.minilm_n]
    static_sub, static_sub_cpu, _ = _rate(subset, "static")
    minilm_sub, minilm_sub_cpu, m_sub = _rate(subset, "minilm")
    import torch

    print(f"\n[static vs MiniLM on the first {len(subset):,} documents of the bench mix]")
    print(f"  static: {static_sub:,.0f} docs/s wall ({static_sub_cpu:,.0f} per CPU-second)")
    print(f"  minilm: {minilm_sub:,.1f} docs/s wall ({minilm_sub_cpu:,.1f} per CPU-second), {m_sub:.1f}s; "
          f"torch threads: {torch.get_num_threads()}")
    print(f"  ratio static / minilm: {static_sub / minilm_sub:,.1f}x wall-clock, "
          f"{static_sub_cpu / minilm_sub_cpu:,.1f}x per CPU-second")
    print(f"\nload average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
