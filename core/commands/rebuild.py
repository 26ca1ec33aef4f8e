"""`python -m core rebuild MANIFEST --out DIR`: make an export again from its manifest and compare hashes."""

from __future__ import annotations

import argparse
import contextlib

from core.commands._common import add_job_args, add_workspace_arg, echo
from core.jobs import run_as_job
from core.manifest import rebuild, rebuild_job_kind
from core.progress import TerminalBar, no_progress
from core.workspace import Workspace


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "rebuild",
        help="rebuild an export from its manifest.json and check every file's sha256",
        description="Re-ingest the manifest's input files with the same options into a temporary workspace, "
        "recompute the signals it names and the selection from its recipe, export again into --out, and report "
        "for every output file whether its sha256 matches. A changed input, signal version, parameter or recipe "
        "is named. With --check instead of --out the rebuilt files are only compared, then removed. "
        "Exit status 0 when every file is identical, 1 when something differs.",
    )
    p.add_argument("manifest", help="the export's manifest.json (or its folder)")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", help="folder for the rebuilt export (new or empty, or --force)")
    where.add_argument("--check", action="store_true", help="compare only: rebuild into a temporary folder, then remove it")
    p.add_argument("--inputs", help="folder holding the input files, when they are no longer at the recorded paths")
    p.add_argument("--force", action="store_true", help="replace an earlier export at --out")
    p.add_argument("--keep-workspace", action="store_true", help="keep the temporary rebuilt workspace (its path is printed)")
    add_workspace_arg(p, required=False)
    p.description += " --workspace only records the run as a job of that workspace (the app's button does)."
    add_job_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    ws = None
    if args.workspace and Workspace.is_workspace(args.workspace):
        ws = Workspace.open(args.workspace)
    argv = ["rebuild", args.manifest, *(["--check"] if args.check else ["--out", args.out])]
    argv += [*(["--inputs", args.inputs] if args.inputs else []), *(["--force"] if args.force else [])]
    job_ctx = run_as_job(ws, rebuild_job_kind(args.manifest), args.job_id, argv, quiet=args.quiet) if ws else contextlib.nullcontext()
    with job_ctx as job:
        progress = job or (no_progress if args.quiet else TerminalBar("rebuild"))
        report = rebuild(args.manifest, None if args.check else args.out, inputs_dir=args.inputs, force=args.force,
                         keep_workspace=args.keep_workspace, progress=progress)
        if job is not None:
            job.finish("done", result={"identical": report.identical, "full": report.full, "lines": report.lines(),
                                       "manifest": args.manifest})
    for line in report.lines():
        echo(line)
    if not report.full:
        echo("warning: partial rebuild (the selection was copied, not recomputed from its recipe)")
    return 0 if report.identical else 1

