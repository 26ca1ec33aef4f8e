"""`python -m core target ...`: make, list and remove targets and benchmarks.

A target is a named set of example documents ("I want data like this") for dsir, rds and
quality_classifier; a benchmark (`--kind benchmark`) is what contamination looks for.
"""

from __future__ import annotations

import argparse
import json

from core.commands._common import add_workspace_arg, echo, open_workspace
from core.targets import SPLITS, add_reference, reference_from_filter, reference_info, remove_reference

KIND_HELP = "target (for dsir, rds, quality_classifier; the default) or benchmark (for contamination)"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "target", help="make, list and remove targets and benchmarks (named sets of example documents)",
        description="Targets are example documents a selection should look like (used by dsir, rds and "
        "quality_classifier, with --target NAME); benchmarks are evaluation sets that must not leak into "
        "training data (used by contamination, with --benchmark NAME). Each is stored as "
        "targets/NAME.parquet or benchmarks/NAME.parquet with at least the columns id and text.",
    )
    tsub = p.add_subparsers(dest="action", metavar="ACTION")

    add = tsub.add_parser(
        "add", help="a target or benchmark from a file (JSONL, JSON, CSV, TSV, Parquet, text)",
        description="Read examples from a file. JSONL/JSON/CSV/TSV/Parquet: one example per row (the text "
        "field is guessed, or name it). A .txt/.md file: one example per paragraph, or per line when the "
        "file has no blank lines (see --split). A folder of text files: one example per file.",
    )
    add.add_argument("name", help="name of the target (letters, digits, '_', '-', '.')")
    add.add_argument("file", help="file or folder to read the examples from")
    add_workspace_arg(add)
    add.add_argument("--kind", default="target", choices=("target", "benchmark"), help=KIND_HELP)
    add.add_argument("--text-field", help="field holding the text (default: text, content, prompt, ...)")
    add.add_argument("--id-field", help="field holding a unique id (default: the row number)")
    add.add_argument("--label-field", help="field holding a label, kept with each example")
    add.add_argument("--split", default="auto", choices=SPLITS,
                     help="text files: paragraph, line, or the whole file as one example "
                     "(auto: paragraphs if there is a blank line, else lines)")
    add.add_argument("--replace", action="store_true", help="replace a target of the same name")
    add.set_defaults(func=run_add)

    flt = tsub.add_parser(
        "from-filter", help="a target or benchmark made of workspace documents (by label and/or source)",
        description="Take the workspace's documents with the given label(s) and/or source(s) as examples, "
        "e.g. every BBC article labelled tech. They stay in the pool too; their ids are kept.",
    )
    flt.add_argument("name", help="name of the target")
    add_workspace_arg(flt)
    flt.add_argument("--kind", default="target", choices=("target", "benchmark"), help=KIND_HELP)
    flt.add_argument("--label", action="append", help="a label to take (repeat for several)")
    flt.add_argument("--source", action="append", help="a source to take (repeat for several)")
    flt.add_argument("--limit", type=int, help="keep a random sample of at most this many")
    flt.add_argument("--seed", type=int, default=0, help="seed of that sample (default 0)")
    flt.add_argument("--replace", action="store_true", help="replace a target of the same name")
    flt.set_defaults(func=run_from_filter)

    ls = tsub.add_parser("list", help="targets and benchmarks with their example counts",
                         description="List the workspace's targets and benchmarks.")
    add_workspace_arg(ls)
    ls.add_argument("--kind", choices=("target", "benchmark"), help="only this kind (default: both)")
    ls.add_argument("--json", action="store_true", help="print JSON (for scripts)")
    ls.set_defaults(func=run_list)

    rm = tsub.add_parser("remove", help="delete a target or benchmark", description="Delete a target or benchmark file.")
    rm.add_argument("name")
    add_workspace_arg(rm)
    rm.add_argument("--kind", default="target", choices=("target", "benchmark"), help=KIND_HELP)
    rm.set_defaults(func=run_remove)

    p.set_defaults(func=lambda args: (p.print_help(), 0)[1])


def _report(report) -> None:
    echo(report.summary())
    for reason, n in report.reasons.most_common():
        echo(f"  {n:>8,}  skipped: {reason}")
    if report.labels:
        echo("labels: " + ", ".join(f"{k}: {v:,}" for k, v in report.labels.items()))


def run_add(args: argparse.Namespace) -> int:
    ws = open_workspace(args)
    report = add_reference(ws, args.name, args.file, args.kind, text_field=args.text_field, id_field=args.id_field,
                           label_field=args.label_field, split=args.split, replace=args.replace)
    _report(report)
    return 0


def run_from_filter(args: argparse.Namespace) -> int:
    ws = open_workspace(args)
    report = reference_from_filter(ws, args.name, args.kind, labels=args.label, sources=args.source,
                                   limit=args.limit, seed=args.seed, replace=args.replace)
    _report(report)
    return 0


def run_list(args: argparse.Namespace) -> int:
    ws = open_workspace(args)
    kinds = [args.kind] if args.kind else ["target", "benchmark"]
    rows = [r for k in kinds for r in reference_info(ws, k)]
    if args.json:
        echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    if not rows:
        echo("no targets or benchmarks yet: add one with `python -m core target add NAME FILE`")
        return 0
    for r in rows:
        count = "?" if r["examples"] is None else f"{r['examples']:,}"
        labels = ", ".join(f"{k}: {v}" for k, v in list(r["labels"].items())[:8])
        line = f"{r['kind']:<9}  {r['name']:<24} {count:>8} examples"
        if labels:
            line += f"  ({labels})"
        if r["problem"]:
            line += f"  PROBLEM: {r['problem']}"
        echo(line)
    return 0


def run_remove(args: argparse.Namespace) -> int:
    path = remove_reference(open_workspace(args), args.name, args.kind)
    echo(f"removed {path}")
    return 0
