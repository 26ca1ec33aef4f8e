"""A large benchmark corpus (default 1,000,000 documents) as JSONL and Parquet, from the demo's sources.

    .venv/bin/python -m bench make_corpus --docs 1000000 --out /tmp/corpus [--seed 0] [--max-chars 2000]

Samples base texts with the demo builder's own readers (data/build_demo.py: ShareGPT conversations,
BBC news articles with their topic, functions of the Python standard library; all from pip packages,
no download), then makes each of the N documents from one base text picked at random: a window of at
most --max-chars characters starting at a random word, perturbed (`build_demo.perturb`: neighbouring
words swapped, dropped or a filler inserted) at a random rate between 1% and 15% of the words. So no
two documents are alike by accident, while the many documents cut from the same base overlap the way
scraped near-duplicates do (MinHash has something to find). Deterministic for a seed.

Writes OUT/docs.jsonl (one `{"id", "text", "source", "label"}` object a line; label is the BBC topic
for news, else null) and OUT/docs.parquet (the same rows, zstd, row groups of 50,000), and prints
what it wrote. Ingest either with `python -m core ingest OUT/docs.parquet --id-field id --label-field label`.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROW_GROUP = 50_000
# how many base texts of each kind are read (a pool; documents are cut from it with replacement)
POOL = {"chat": 20_000, "news": None, "code": 5_000}  # None: every BBC article (2,225)
MIX = (("chat", 0.6), ("news", 0.25), ("code", 0.15))


def base_pool(seed: int) -> dict[str, list[tuple[str, str | None]]]:
    """(text, label) base texts per kind, read with the demo builder's source readers."""
    from data.build_demo import bbc_articles, sharegpt_docs, stdlib_docs

    rng = random.Random(seed)
    chat = [(d.text, None) for d in sharegpt_docs(rng, POOL["chat"])]
    news = [(text, topic) for topic, _name, text in bbc_articles()]
    code = [(d.text, None) for d in stdlib_docs(rng, POOL["code"])]
    return {"chat": chat, "news": news, "code": code}


def _window(text: str, rng: random.Random, max_chars: int) -> str:
    """At most max_chars characters of text, from a random word start, cut at a space."""
    if len(text) <= max_chars:
        return text
    start = rng.randrange(0, len(text) - max_chars // 2)
    if start:
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < start + 200 else start
    piece = text[start:start + max_chars]
    if start + max_chars < len(text):
        cut = piece.rfind(" ")
        piece = piece[:cut] if cut > max_chars // 2 else piece
    return piece.strip() or text[:max_chars]


def documents(n: int, seed: int = 0, max_chars: int = 2_000, pool: dict | None = None):
    """Yield n (id, text, source, label) tuples, deterministic for a seed."""
    from data.build_demo import perturb

    pool = pool if pool is not None else base_pool(seed)
    kinds = [k for k, _ in MIX]
    weights = [w for _, w in MIX]
    rng = random.Random(seed + 1)
    for i in range(n):
        kind = rng.choices(kinds, weights)[0]
        text, label = pool[kind][rng.randrange(len(pool[kind]))]
        text = _window(text, rng, max_chars)
        text, _ = perturb(text, rng, rng.uniform(0.01, 0.15))
        yield f"doc-{i:07d}", text, kind, label


def write_corpus(out: Path, n: int, seed: int = 0, max_chars: int = 2_000) -> dict:
    """Write out/docs.jsonl and out/docs.parquet; returns what was written."""
    out.mkdir(parents=True, exist_ok=True)
    jsonl, parquet = out / "docs.jsonl", out / "docs.parquet"
    schema = pa.schema([("id", pa.string()), ("text", pa.string()), ("source", pa.string()), ("label", pa.string())])
    chars = 0
    batch: list[tuple] = []
    with open(jsonl, "wb", buffering=1 << 22) as fh, \
            pq.ParquetWriter(parquet, schema, compression="zstd") as writer:
        def flush() -> None:
            cols = list(zip(*batch, strict=True))
            writer.write_table(pa.table([pa.array(c, pa.string()) for c in cols], schema=schema),
                               row_group_size=ROW_GROUP)
            batch.clear()

        for doc_id, text, source, label in documents(n, seed, max_chars):
            chars += len(text)
            fh.write(orjson.dumps({"id": doc_id, "text": text, "source": source, "label": label}) + b"\n")
            batch.append((doc_id, text, source, label))
            if len(batch) >= ROW_GROUP:
                flush()
        if batch:
            flush()
    return {"docs": n, "jsonl": str(jsonl), "jsonl_bytes": jsonl.stat().st_size, "parquet": str(parquet),
            "parquet_bytes": parquet.stat().st_size, "mean_chars": chars / max(n, 1)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench make_corpus", description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=1_000_000, help="documents to write (default 1,000,000)")
    ap.add_argument("--out", required=True, help="folder for docs.jsonl and docs.parquet")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-chars", type=int, default=2_000, help="longest document, in characters")
    args = ap.parse_args(argv)
    if args.docs < 1:
        ap.error("--docs must be at least 1")
    t0 = time.perf_counter()
    info = write_corpus(Path(args.out), args.docs, args.seed, args.max_chars)
    secs = time.perf_counter() - t0
    print(f"wrote {info['docs']:,} documents (mean {info['mean_chars']:,.0f} characters) in {secs:.0f} s:\n"
          f"  {info['jsonl']}  {info['jsonl_bytes'] / 1e6:,.0f} MB\n  {info['parquet']}  {info['parquet_bytes'] / 1e6:,.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
