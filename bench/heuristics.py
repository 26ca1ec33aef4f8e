"""Benchmark: our Gopher quality, Gopher repetition, FineWeb (and C4) signals against datatrove's filters.

    python -m bench.heuristics [--n 100000] [--seed 0] [--no-c4] [--examples 3]

Both run on the same documents in the same process, one core each (our runner parallelises batches
in the app; here both are single-process for a fair ratio). datatrove runs as a pipeline does: each
document passes Gopher quality, then Gopher repetition, then FineWeb, so its word split (cached per
text) is computed once per document; C4 runs on its own copy (it rewrites the text). Our signals
each split the words themselves (with a per-chunk cache), as they run as separate signals.

Printed: seconds per filter, the speed ratio (datatrove / ours), the share of documents with the
same keep/drop decision and with the same first failing rule, and the disagreements with examples.
datatrove's FineWeb default for the duplicated-line character ratio is 0.01 while the paper (and our
default) is 0.1: the benchmark gives datatrove 0.1 so both apply the same thresholds.
Needs `pip install -r requirements-bench.txt` (datatrove, spaCy).
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._corpus import documents  # noqa: E402

PIPELINE = ("gopher_quality", "gopher_repetition", "fineweb")

# datatrove's drop reasons -> our rule names
REASONS = {
    "gopher_short_doc": "word_count", "gopher_long_doc": "word_count",
    "gopher_below_avg_threshold": "mean_word_length", "gopher_above_avg_threshold": "mean_word_length",
    "gopher_too_many_hashes": "hash_ratio", "gopher_too_many_ellipsis": "ellipsis_ratio",
    "gopher_too_many_bullets": "bullet_lines", "gopher_too_many_end_ellipsis": "ellipsis_lines",
    "gopher_below_alpha_threshold": "alpha_words", "gopher_enough_stop_words": "stop_words",
    "empty": "not_empty", **{f"top_{n}_gram": f"top_{n}gram" for n in (2, 3, 4)},
    **{f"duplicated_{n}_n_grams": f"dup_{n}gram" for n in range(5, 11)},
}


def datatrove_filters(with_c4: bool) -> dict:
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
    )

    filters = {"gopher_quality": GopherQualityFilter(), "gopher_repetition": GopherRepetitionFilter(),
               "fineweb": FineWebQualityFilter(char_duplicates_ratio=0.1)}
    if with_c4:
        filters["c4"] = C4QualityFilter()
    return filters


def run_ours(names: list[str], docs: list[str], batch: int = 10_000) -> tuple[dict[str, pd.DataFrame], dict[str, float]]:
    from core.signals import get

    frame = pd.DataFrame({"id": [str(i) for i in range(len(docs))], "text": docs})
    results, seconds = {}, {}
    for name in names:
        sig = get(name)()
        start = time.perf_counter()
        parts = [sig.compute(frame.iloc[s:s + batch]) for s in range(0, len(frame), batch)]
        seconds[name] = time.perf_counter() - start
        results[name] = pd.concat(parts, ignore_index=True)
    return results, seconds


def run_datatrove(filters: dict, docs: list[str]) -> tuple[dict[str, list], dict[str, float]]:
    from datatrove.data import Document

    decisions: dict[str, list] = {name: [] for name in filters}
    seconds = collections.Counter()
    piped = [n for n in PIPELINE if n in filters]
    for i, text in enumerate(docs):
        doc = Document(text=text, id=str(i))
        for name in piped:
            start = time.perf_counter()
            decisions[name].append(_decide(filters[name], doc))
            seconds[name] += time.perf_counter() - start
        if "c4" in filters:
            start = time.perf_counter()
            decisions["c4"].append(_decide(filters["c4"], Document(text=text, id=str(i))))
            seconds["c4"] += time.perf_counter() - start
    return decisions, dict(seconds)


def _decide(flt, doc) -> str | None:
    """None when kept, else our name of the reason."""
    try:
        res = flt.filter(doc)
    except Exception as exc:  # noqa: BLE001 - datatrove raises on a few degenerate texts
        return f"error:{exc.__class__.__name__}"
    if res is True or (isinstance(res, tuple) and res[0]):
        return None
    reason = res[1] if isinstance(res, tuple) else "dropped"
    return REASONS.get(reason, reason)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.heuristics", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000, help="documents (default 100,000)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-c4", action="store_true", help="skip the C4 comparison")
    ap.add_argument("--examples", type=int, default=2, help="examples to print per kind of disagreement")
    args = ap.parse_args(argv)

    t = time.perf_counter()
    docs = documents(args.n, args.seed)
    chars = sum(map(len, docs))
    print(f"{len(docs):,} documents ({chars / 1e6:.1f} M characters) loaded in {time.perf_counter() - t:.1f}s")
    filters = datatrove_filters(not args.no_c4)
    names = list(filters)
    ours, our_s = run_ours(names, docs)
    theirs, their_s = run_datatrove(filters, docs)

    print(f"\n{'filter':<18} {'ours s':>8} {'datatrove s':>12} {'speed':>7} {'same keep/drop':>15} {'same reason':>12} "
          f"{'kept ours':>10} {'kept dt':>9}")
    for name in names:
        mine = ours[name][f"{name}_reason"].astype(object).where(ours[name][f"{name}_reason"].notna(), None).tolist()
        dt = theirs[name]
        same = sum((a is None) == (b is None) for a, b in zip(mine, dt, strict=True))
        same_reason = sum(a == b for a, b in zip(mine, dt, strict=True))
        print(f"{name:<18} {our_s[name]:8.1f} {their_s[name]:12.1f} {their_s[name] / our_s[name]:6.1f}x "
              f"{same / len(docs):14.3%} {same_reason / len(docs):11.3%} "
              f"{sum(a is None for a in mine):10,} {sum(b is None for b in dt):9,}")
    total_ours = sum(our_s[n] for n in PIPELINE)
    total_dt = sum(their_s[n] for n in PIPELINE)
    print(f"\nGopher quality + repetition + FineWeb: ours {total_ours:.1f}s, datatrove {total_dt:.1f}s, "
          f"speed ratio {total_dt / total_ours:.1f}x")

    for name in names:
        mine = ours[name][f"{name}_reason"].tolist()
        dt = theirs[name]
        diffs = collections.defaultdict(list)
        for i, (a, b) in enumerate(zip(mine, dt, strict=True)):
            a = None if pd.isna(a) else a
            if (a is None) != (b is None):
                diffs[(a, b)].append(i)
        if not diffs:
            continue
        print(f"\n{name}: keep/drop disagreements (ours reason, datatrove reason): count")
        for (a, b), idx in sorted(diffs.items(), key=lambda kv: -len(kv[1])):
            print(f"  ({a}, {b}): {len(idx)}")
            for i in idx[: args.examples]:
                row = ours[name].iloc[i]
                vals = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()
                        if k != "id" and not k.endswith("_ok") and not k.endswith("_reason") and not pd.isna(v)}
                print(f"    doc {i}: {docs[i][:100]!r}")
                print(f"      ours: {vals}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
