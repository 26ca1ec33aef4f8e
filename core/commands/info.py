"""`python -m core info --workspace W [--json]`: what a workspace holds."""

from __future__ import annotations

import argparse
import json

from core.commands._common import add_workspace_arg, echo, open_workspace
from core.overview import info


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="documents, sources, labels, quarantine and signals of a workspace",
                       description="Summarise a workspace: documents, quarantined rows, sources, labels, "
                       "signals, embeddings, maps, targets and selections.")
    add_workspace_arg(p)
    p.add_argument("--json", action="store_true", help="print JSON (for scripts)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    data = info(open_workspace(args))
    if args.json:
        echo(json.dumps(data, indent=2, ensure_ascii=False))
        return 0
    echo(f"workspace   {data['workspace']}")
    echo(f"documents   {data['documents']:,}  ({data['words']:,} words)")
    echo(f"quarantined {data['quarantined']:,}")
    for title in ("sources", "labels"):
        echo(f"{title:<11} " + ", ".join(f"{k}: {v:,}" for k, v in data[title].items()))
    for title in ("signals", "embeddings", "maps", "targets", "benchmarks", "selections"):
        echo(f"{title:<11} " + (", ".join(data[title]) or "-"))
    return 0
