"""`python -m core filter list|show|ids --workspace W [NAME]`: the filters saved on the Scores page."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from core import filters as F
from core.commands._common import add_workspace_arg, echo, open_workspace
from core.errors import WinnowError
from core.store import Store


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "filter", help="list saved filters, show what one keeps and why, or print the ids it keeps",
        description="Saved filters (filters/<name>.json, saved from the Scores page) hold score thresholds, "
        "rules, sources and labels. `list` shows them with how many documents each keeps now; `show NAME` "
        "prints its conditions, the kept count and the drop reasons (first failing rule and every failing "
        "rule); `ids NAME` prints the kept ids, one per line (or writes them with --out).",
    )
    p.add_argument("action", choices=["list", "show", "ids"], help="what to do")
    p.add_argument("name", nargs="?", help="the saved filter (for show and ids)")
    add_workspace_arg(p)
    p.add_argument("--json", action="store_true", help="print JSON (for scripts)")
    p.add_argument("--out", default=None, help="ids: write the ids to this file instead of printing them")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    ws = open_workspace(args)
    if args.action == "list":
        rows = F.list_filters(ws)
        if rows:
            store = Store(ws)
            for row in rows:
                if row["problem"] is None:
                    try:
                        ev = F.evaluate_sql(store, F.load_filter(ws, row["name"]))
                        row.update(kept=ev.kept, total=ev.total)
                    except WinnowError as exc:
                        row["problem"] = str(exc)
        if args.json:
            echo(json.dumps(rows, indent=2, ensure_ascii=False))
        elif not rows:
            echo("no saved filters (save one on the Scores page)")
        for row in [] if args.json else rows:
            kept = f"keeps {row['kept']:,} of {row['total']:,}" if "kept" in row else f"unusable: {row['problem']}"
            echo(f"{row['name']:<24} {kept:<28} {row['description']}")
        return 0
    if not args.name:
        raise WinnowError(f"`filter {args.action}` needs the name of a saved filter")
    spec = F.load_filter(ws, args.name)
    store = Store(ws)
    if args.action == "ids":
        ids = F.kept_ids(store, spec)
        if args.out:
            Path(args.out).write_text("".join(f"{i}\n" for i in ids), encoding="utf-8")
            echo(f"wrote {len(ids):,} ids to {args.out}")
        else:
            for i in ids:
                echo(i)
        return 0
    ev = F.evaluate_sql(store, spec)
    if args.json:
        echo(json.dumps({"name": args.name, "filter": spec.model_dump(mode="json"), "total": ev.total, "kept": ev.kept,
                         "first": ev.first, "failing": ev.failing}, indent=2, ensure_ascii=False))
        return 0
    echo(f"filter {args.name}" + (f": {spec.description}" if spec.description else ""))
    for col, rng in spec.thresholds.items():
        lo = "" if rng.min is None else f"{rng.min:g} <= "
        hi = "" if rng.max is None else f" <= {rng.max:g}"
        echo(f"  {lo}{col}{hi}")
    for col, value in spec.rules.items():
        echo(f"  {col} is {str(value).lower()}")
    if spec.sources:
        echo(f"  source in {', '.join(spec.sources)}")
    if spec.labels:
        echo(f"  label in {', '.join(spec.labels)}")
    echo(f"keeps {ev.kept:,} of {ev.total:,} documents ({100 * ev.kept / ev.total if ev.total else 0:.1f}%)")
    if ev.failing:
        echo(f"  {'reason':<40} {'first failing':>14} {'failing (any)':>14}")
        for reason, n in ev.failing.items():
            echo(f"  {reason:<40} {ev.first[reason]:>14,} {n:>14,}")
    return 0
