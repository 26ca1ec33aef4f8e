"""Ingest speed: a 1,000,000-document JSONL file into a workspace, against pandas on the same file.

    .venv/bin/python -m bench.ingest [--docs 1000000] [--max-chars 1000] [--keep DIR]

Writes N documents (ShareGPT turns, BBC articles and standard-library functions from pip packages,
each cut to at most --max-chars characters at a space, cycled with a unique id and a URL field) to
one JSONL file, then measures in the same run, on the same file (already in the page cache):
- `core.ingest.ingest_paths(ws, [file], id_field="id")`: parse, validate, count, hash and write
  Parquet parts: documents/second;
- `pandas.read_json(file, lines=True)`: parse only: documents/second, and our speed / pandas';
- Browse's first page of a keyword search (`core.browse.page_docs`) over the N documents, and the
  count of matches (`count_docs`), in seconds, for a few words.
Targets (issue 3): at least 3x pandas, 1M documents in 60 s or less, the first page in 1 s or less.
Prints a table with wall and CPU seconds (CPU counts every thread of this process) and the load
average around the two runs (on a shared machine the wall clock depends on it), and one JSON line.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._corpus import bbc_articles, sharegpt_turns, stdlib_functions  # noqa: E402

WORDS = ("government", "python", "recipe", "zyzzyva")  # frequent, frequent, rarer, absent


def _cut(text: str, limit: int) -> str:
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[:cut if cut > limit // 2 else limit]


def write_corpus(path: Path, n: int, max_chars: int) -> tuple[int, float]:
    """Write n documents; returns (bytes, mean characters per text)."""
    pool = [("news", t) for t in bbc_articles()] + [("code", t) for t in stdlib_functions(5_000)] \
        + [("chat", t) for t in sharegpt_turns(limit=60_000)]
    pool = [(kind, _cut(t, max_chars)) for kind, t in pool]
    pool = [(kind, t) for kind, t in pool if t]
    chars = 0
    with open(path, "wb", buffering=1 << 22) as fh:
        for i in range(n):
            kind, text = pool[(i * 7919) % len(pool)]  # a fixed stride through the pool: mixed kinds
            chars += len(text)
            fh.write(orjson.dumps({"id": f"doc-{i:07d}", "text": text,
                                   "url": f"https://example.org/{kind}/{i}"}) + b"\n")
    return path.stat().st_size, chars / max(n, 1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=1_000_000, help="documents in the JSONL file (default 1,000,000)")
    ap.add_argument("--max-chars", type=int, default=1_000, help="cut each text to this many characters")
    ap.add_argument("--keep", default=None, help="build in this folder and keep it (default: a temporary one)")
    args = ap.parse_args(argv)

    from core.browse import DocQuery, count_docs, page_docs
    from core.ingest import ingest_paths
    from core.store import Store
    from core.workspace import Workspace

    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="winnow-bench-ingest-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        src = root / "docs.jsonl"
        t0 = time.perf_counter()
        size, mean_chars = write_corpus(src, args.docs, args.max_chars)
        t_write = time.perf_counter() - t0
        print(f"wrote {args.docs:,} documents ({size / 1e6:,.0f} MB, {mean_chars:,.0f} characters each on average) "
              f"in {t_write:.1f} s: {src}", flush=True)

        ws_path = root / "ws"
        shutil.rmtree(ws_path, ignore_errors=True)
        ws = Workspace.create(ws_path)
        import pandas as pd  # imported before either clock starts (DuckDB imports it too): neither run pays for it

        gc.collect()
        load_before = os.getloadavg()[0]
        t0, c0 = time.perf_counter(), time.process_time()
        report = ingest_paths(ws, [src], id_field="id")
        t_ours, cpu_ours = time.perf_counter() - t0, time.process_time() - c0
        if report.loaded != args.docs or report.quarantined:
            print(f"ingest did not load every document: {report.summary()}", file=sys.stderr)
            return 1
        print(f"winnow ingest: {t_ours:.1f} s ({args.docs / t_ours:,.0f} docs/s; {cpu_ours:.1f} s CPU)", flush=True)

        gc.collect()
        t0, c0 = time.perf_counter(), time.process_time()
        df = pd.read_json(src, lines=True)
        t_pd, cpu_pd = time.perf_counter() - t0, time.process_time() - c0
        assert len(df) == args.docs
        del df
        gc.collect()
        print(f"pandas.read_json(lines=True): {t_pd:.1f} s ({args.docs / t_pd:,.0f} docs/s; {cpu_pd:.1f} s CPU)",
              flush=True)

        load_after = os.getloadavg()[0]
        store = Store(ws)
        searches = []
        for word in WORDS:
            q = DocQuery(keywords=word)
            t0 = time.perf_counter()
            page = page_docs(store, q, 0, 50)
            t_page = time.perf_counter() - t0
            t0 = time.perf_counter()
            n = count_docs(store, q)
            t_count = time.perf_counter() - t0
            searches.append({"word": word, "first_page_s": round(t_page, 3), "rows": len(page),
                             "matches": n, "count_s": round(t_count, 3)})
        store.close()

        ratio = t_pd / t_ours
        print()
        print(f"{'':34}{'seconds':>10}{'docs/s':>12}{'CPU s':>8}")
        print(f"{'winnow ingest (parse+check+write)':34}{t_ours:>10.1f}{args.docs / t_ours:>12,.0f}{cpu_ours:>8.1f}")
        print(f"{'pandas.read_json (parse only)':34}{t_pd:>10.1f}{args.docs / t_pd:>12,.0f}{cpu_pd:>8.1f}")
        print(f"ratio winnow / pandas: {ratio:.2f}x  (target >= 3x; 1M documents in <= 60 s)")
        # CPU seconds count every thread of this process; other users of the machine slow the wall clock
        print(f"load average (1 min) before / after the two runs: {load_before:.1f} / {load_after:.1f} "
              f"on {os.cpu_count()} CPUs")
        for s in searches:
            print(f"Browse search {s['word']!r:14} first page {s['first_page_s']:.3f} s ({s['rows']} rows), "
                  f"count {s['matches']:,} in {s['count_s']:.3f} s")
        print(json.dumps({"bench": "ingest", "docs": args.docs, "bytes": size, "cpus": os.cpu_count(),
                          "winnow_s": round(t_ours, 2), "winnow_cpu_s": round(cpu_ours, 2),
                          "winnow_docs_per_s": round(args.docs / t_ours), "pandas_s": round(t_pd, 2),
                          "pandas_cpu_s": round(cpu_pd, 2), "ratio": round(ratio, 2),
                          "load_before": round(load_before, 2), "load_after": round(load_after, 2),
                          "searches": searches}))
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
