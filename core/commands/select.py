"""`python -m core select --workspace W --recipe FILE --name NAME`: make a named selection from a recipe."""

from __future__ import annotations

import argparse
import json

from core.commands._common import add_job_args, add_workspace_arg, echo, open_workspace
from core.jobs import run_as_job
from core.recipe import STRATEGY_HELP, load_recipe_file


def register(sub: argparse._SubParsersAction) -> None:
    strategies = "; ".join(f"{k}: {v}" for k, v in STRATEGY_HELP.items())
    p = sub.add_parser(
        "select",
        help="make a named selection (a subset) from a recipe file",
        description="Run a selection recipe (JSON or YAML: filters, strategy and its parameters, size, seed, "
        "order) and save it as selections/NAME.json (the recipe and figures) and selections/NAME.parquet "
        "(id, rank, epoch in output order). Example recipe: "
        '{"filters": {"sources": ["bbc"]}, "strategy": "dsir", "target": "bbc_tech", "size": 300, "seed": 1}. '
        "`size` is a count, or a fraction of the filtered pool when below 1. "
        f"Strategies: {strategies}.",
    )
    add_workspace_arg(p)
    p.add_argument("--recipe", required=True, help="recipe file (.json, .yaml or .yml)")
    p.add_argument("--name", required=True, help="selection name (letters, digits, '_', '-', '.')")
    p.add_argument("--no-overwrite", action="store_true", help="refuse to replace a selection with this name")
    p.add_argument("--dry-run", action="store_true", help="print what the recipe selects without saving it")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    add_job_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from core.select import run_recipe, save_selection, selection_paths, selection_stats
    from core.store import Store

    ws = open_workspace(args)
    selection_paths(ws, args.name)  # refuse a bad name before any work
    recipe = load_recipe_file(args.recipe)
    store = Store(ws)
    if args.dry_run:
        sel = run_recipe(ws, recipe, store)
        out = {"name": args.name, "recipe": recipe.to_dict(), **selection_stats(store, sel.rows), "pool": sel.pool_size}
    else:
        argv = ["select", "--recipe", str(args.recipe), "--name", args.name]
        with run_as_job(ws, "select", args.job_id, argv, quiet=args.quiet or args.json) as job:
            job.stage(f"selecting ({recipe.strategy})")
            out = save_selection(ws, args.name, recipe, store, overwrite=not args.no_overwrite, progress=job)
            job.finish("done", result={k: out[k] for k in ("name", "count", "tokens", "pool")})
    if args.json:
        echo(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        verb = "would select" if args.dry_run else "selected"
        echo(f"{args.name}: {verb} {out['count']:,} documents ({out['tokens']:,} words) of a pool of "
             f"{out['pool']:,} with {recipe.strategy}" + ("" if args.dry_run else f" -> selections/{args.name}.parquet"))
    return 0
