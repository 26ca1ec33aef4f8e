"""Benchmark: documents per second for the static model (default) and MiniLM, on the same documents.

    python -m bench.embed [--n 20000] [--minilm-n 1000] [--seed 0]

Documents come from packaged text (ShareGPT turns, BBC articles, stdlib functions; bench/_corpus.py).
Both models run through `core.embed.embed_texts` in the job's batches, exactly as the embed job does (static: first 512
tokens; MiniLM: up to 4 chunks of 254 word pieces, mean-pooled), in this process, after the model is
loaded (load time printed apart). MiniLM is slow on a CPU, so it runs on the first `--minilm-n`
documents and the static model runs on those same documents too: the ratio compares like with like.
The static model's rate on all `--n` documents is printed with the tokenizer on one thread and on
every core (the embed job's setting). Target: static >= 5,000 docs/s.
The load average is printed because the machine may be shared.
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
    """(docs per wall second, docs per CPU second of this process, wall seconds), in the job's batches."""
    batch = MODELS[model].default_batch_size
    wall, cpu = time.perf_counter(), time.process_time()
    for start in range(0, len(texts), batch):
        embed_texts(texts[start:start + batch], model)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return len(texts) / wall, len(texts) / max(cpu, 1e-9), wall


def _torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.embed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20_000, help="documents for the static model")
    parser.add_argument("--minilm-n", type=int, default=1_000, help="documents for MiniLM (and the ratio)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    docs = documents(args.n, seed=args.seed)
    subset = docs[: args.minilm_n]
    chars = [len(d) for d in docs]
    print(f"{len(docs):,} documents, median {statistics.median(chars):,.0f} characters, "
          f"mean {statistics.mean(chars):,.0f}; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")

    for model in ("static", "minilm"):
        started = time.perf_counter()
        _load_model(model)
        print(f"{model}: model loaded in {time.perf_counter() - started:.1f}s")
        embed_texts(docs[:8], model)  # warm up

    os.environ["TOKENIZERS_PARALLELISM"] = "true"  # as in the embed job: the tokenizer uses every core
    par_all, _, par_s = _rate(docs, "static")
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    static_all, static_all_cpu, s_all = _rate(docs, "static")
    static_sub, static_sub_cpu, s_sub = _rate(subset, "static")
    minilm_sub, minilm_sub_cpu, m_sub = _rate(subset, "minilm")
    print("docs/s per wall-clock second (per CPU-second of this process, i.e. on one free core)")
    print(f"static, one thread: {static_all:,.0f} ({static_all_cpu:,.0f}) docs/s on {len(docs):,} documents "
          f"({s_all:.1f}s)")
    print(f"static, tokenizer on all {os.cpu_count()} CPUs (the embed job's setting): {par_all:,.0f} docs/s "
          f"on {len(docs):,} documents ({par_s:.1f}s)  [{'meets' if par_all >= TARGET else 'below'} the target]")
    print(f"static: {static_sub:,.0f} ({static_sub_cpu:,.0f}) docs/s on the first {len(subset):,} documents")
    print(f"minilm: {minilm_sub:,.1f} ({minilm_sub_cpu:,.1f}) docs/s on the same {len(subset):,} documents "
          f"({m_sub:.1f}s; torch threads: {_torch_threads()})")
    print(f"ratio static / minilm on the same documents: {static_sub / minilm_sub:,.1f}x wall-clock, "
          f"{static_sub_cpu / minilm_sub_cpu:,.1f}x per CPU-second")
    return 0


if __name__ == "__main__":
    sys.exit(main())
