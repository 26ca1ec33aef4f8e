"""`python -m core signals [NAME...] [--json]`: every signal Winnow can compute, with its columns and parameters."""

from __future__ import annotations

import argparse
import json
from typing import Any

from core.commands._common import echo
from core.signals import CorpusSignal, get, load_all


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "signals",
        help="list the signals (scores) with their descriptions, columns, parameters and needs",
        description="List every registered signal: what it measures, the paper or implementation it follows, "
        "what it needs (text, embeddings, labels, a target, a benchmark), its parameters with defaults, and "
        "its output columns (type, which way is better, the threshold parameters of rule values). Compute "
        "one with `python -m core score --workspace W NAME`; its columns appear as `NAME__COLUMN` in "
        "`python -m core table`.",
    )
    p.add_argument("names", nargs="*", metavar="NAME", help="only these signals (default: all)")
    p.add_argument("--json", action="store_true", help="print JSON (for scripts)")
    p.add_argument("--brief", action="store_true", help="one line per signal")
    p.set_defaults(func=run)


def describe(name: str) -> dict[str, Any]:
    cls = get(name)
    params = {}
    for key, field in cls.Params.model_fields.items():
        default = field.default
        params[key] = {"default": list(default) if isinstance(default, tuple) else default,
                       "description": field.description or ""}
    return {
        "name": cls.name, "version": cls.version, "description": cls.description, "reference": cls.reference,
        "needs": sorted(cls.needs), "cost": cls.cost,
        "kind": "corpus" if issubclass(cls, CorpusSignal) else "batch",
        "params": params,
        "columns": [{"name": c.name, "dtype": c.dtype, "kind": c.kind, "better": c.better, "rule": c.rule,
                     "keep_min": c.keep_min, "keep_max": c.keep_max, "description": c.description}
                    for c in cls.columns],
    }


def run(args: argparse.Namespace) -> int:
    names = args.names or sorted(load_all())
    data = [describe(n) for n in names]
    if args.json:
        echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
        return 0
    width = max((len(d["name"]) for d in data), default=0)
    for d in data:
        if args.brief:
            echo(f"{d['name']:<{width}}  {d['description']}  [needs: {', '.join(d['needs'])}]")
            continue
        echo(f"{d['name']}  (version {d['version']}, {d['cost']}; needs: {', '.join(d['needs'])})")
        echo(f"  {d['description']}")
        if d["reference"]:
            echo(f"  reference: {d['reference']}")
        if d["params"]:
            echo("  parameters (--param KEY=VALUE):")
            for key, p in d["params"].items():
                echo(f"    {key} = {json.dumps(p['default'], default=str)}  {p['description']}")
        echo("  columns:")
        for c in d["columns"]:
            notes = [c["dtype"], c["kind"]]
            if c["better"]:
                notes.append(f"{c['better']} is better")
            if c["keep_min"] or c["keep_max"]:
                rng = " and ".join(x for x in (f">= {c['keep_min']}" if c["keep_min"] else "",
                                               f"<= {c['keep_max']}" if c["keep_max"] else "") if x)
                notes.append(f"keep {rng}")
            if c["rule"] and c["kind"] != "value":
                notes.append(f"rule {c['rule']}")
            echo(f"    {d['name']}__{c['name']}  ({', '.join(notes)})  {c['description']}")
        echo("")
    return 0
