"""`python -m core export --workspace W --selection NAME --format F`: write a selection's files and manifest."""

from __future__ import annotations

import argparse

from core.commands._common import add_job_args, add_workspace_arg, echo, open_workspace
from core.export import DEFAULT_COLUMNS, FORMATS, export_selection
from core.jobs import run_as_job


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="export a saved selection (Parquet, JSONL, CSV or a Hugging Face datasets folder) with a manifest",
        description="Write a saved selection's documents, in the selection's order, to files a training job reads, "
        "with manifest.json beside them (inputs and their sha256, ingest options, signals with parameters and "
        "versions, the recipe and seeds, package versions, counts, every file's rows and sha256). An RS2 selection "
        "writes one file per epoch. The export goes to the workspace's exports/NAME (or --out DIR); an existing "
        "export is replaced only with --force. Rebuild it later with `python -m core rebuild MANIFEST --out DIR`.",
    )
    add_workspace_arg(p)
    p.add_argument("--selection", "-s", required=True, help="the saved selection to export (selections/NAME)")
    p.add_argument("--format", "-f", choices=FORMATS, default="parquet", help="file format (default parquet)")
    p.add_argument("--out", help="folder to write the export into (default: the workspace's exports/NAME)")
    p.add_argument("--name", help="export name under exports/ (default: the selection name; not used with --out)")
    p.add_argument("--columns", nargs="+", default=None,
                   help=f"columns besides id: document fields (text, label, source, meta, n_chars, n_words, sha1) "
                   f"and score columns (<signal>__<column>), space- or comma-separated (default: "
                   f"{','.join(DEFAULT_COLUMNS)})")
    p.add_argument("--shard-size", type=int, default=None, help="at most N rows per file (default: one file)")
    p.add_argument("--force", action="store_true", help="replace an existing export")
    p.add_argument("--dropped", action="store_true",
                   help="also write the documents not selected, with their drop reason (in dropped/)")
    add_job_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    ws = open_workspace(args)
    columns = None
    if args.columns:
        columns = [c for part in args.columns for c in part.split(",") if c.strip()]
    argv = ["export", "--selection", args.selection, "--format", args.format]  # the whole command, for resume
    for flag, value in (("--out", args.out), ("--name", args.name), ("--shard-size", args.shard_size)):
        if value is not None:
            argv += [flag, str(value)]
    if columns:
        argv += ["--columns", ",".join(columns)]
    argv += [flag for flag, on in (("--force", args.force), ("--dropped", args.dropped)) if on]
    with run_as_job(ws, "export", args.job_id, argv, quiet=args.quiet) as job:
        result = export_selection(
            ws, args.selection, args.format, out=args.out, name=args.name, columns=columns,
            shard_size=args.shard_size, force=args.force, dropped=args.dropped, progress=job,
        )
        counts = result.manifest["counts"]
        job.finish("done", result={"folder": str(result.folder), "rows": counts["kept"],
                                   "files": len(result.manifest["files"])})
    echo(f"exported {counts['kept']:,} of {counts['in']:,} documents to {result.folder}")
    for f in result.manifest["files"]:
        if f["kind"] == "hf-meta":
            continue
        rows = "" if f.get("rows") is None else f"{f['rows']:>10,} rows  "
        echo(f"  {rows}{f['sha256'][:12]}  {f['path']}")
    for reason, n in counts["dropped_by_reason"].items():
        echo(f"  dropped {n:>8,}  {reason}")
    echo(f"manifest: {result.folder / 'manifest.json'}")
    return 0
