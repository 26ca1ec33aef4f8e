"""`python -m core ingest PATH... --workspace W`: load files into a workspace (bad rows to quarantine)."""

from __future__ import annotations

import argparse
import shutil

from core.commands._common import add_job_args, add_workspace_arg, echo
from core.errors import WinnowError
from core.ingest import DEFAULT_MAX_CHARS, check_inputs, ingest_paths
from core.jobs import run_as_job
from core.workspace import Workspace


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ingest",
        help="load JSONL/JSON/CSV/TSV/Parquet files, HF datasets folders or text folders",
        description="Load documents into a workspace (created if missing). Rows that cannot be read go to "
        "the workspace's quarantine/ with their file, row and reason; every other row loads. "
        "Ingesting the same file again adds nothing.",
    )
    p.add_argument("paths", nargs="+", help="files or folders to ingest")
    add_workspace_arg(p)
    p.add_argument("--text-field", help="field holding the text (default: text, content, conversations, ...)")
    p.add_argument("--id-field", help="field holding a unique id (default: source + row number)")
    p.add_argument("--label-field", help="field holding a class label, if any")
    p.add_argument("--source", help="source name for these documents (default: the file name)")
    p.add_argument("--max-chars", type=int, default=DEFAULT_MAX_CHARS,
                   help=f"documents longer than this go to quarantine (default {DEFAULT_MAX_CHARS:,})")
    add_job_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_inputs(args.paths)  # a missing file or unknown format: one line, and no workspace is created
    new = not Workspace.is_workspace(args.workspace)
    ws = Workspace.create(args.workspace)
    try:
        with run_as_job(ws, "ingest", args.job_id, ["ingest", *args.paths], quiet=args.quiet) as job:
            report = ingest_paths(
                ws, args.paths, text_field=args.text_field, id_field=args.id_field, label_field=args.label_field,
                source=args.source, max_chars=args.max_chars, progress=job,
            )
            ok = bool(report.loaded or report.unchanged)
            job.finish("done" if ok else "failed", None if ok else "nothing could be loaded",
                       result={"loaded": report.loaded, "quarantined": report.quarantined,
                               "unchanged": report.unchanged})
    except WinnowError:
        if new and args.job_id is None and not ws.has_docs() and not ws.quarantine_files():
            shutil.rmtree(ws.root, ignore_errors=True)  # the inputs could not be used: leave no empty workspace
        raise
    echo(report.summary())
    for reason, n in report.reasons.most_common():
        echo(f"  {n:>8,}  {reason}")
    if report.quarantined:
        echo(f"quarantined rows: {ws.dir('quarantine')}")
    if not ok:
        echo("nothing could be loaded: see the reasons above")
    return 0 if ok else 1
