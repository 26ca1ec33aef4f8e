"""`python -m core rebuild MANIFEST --out DIR`: make an export again from its manifest and compare hashes."""

from __future__ import annotations

import argparse

from core.commands._common import echo
from core.manifest import rebuild
from core.progress import TerminalBar, no_progress


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "rebuild",
        help="rebuild an export from its manifest.json and check every file's sha256",
        description="Re-ingest the manifest's input files with the same options into a temporary workspace, "
        "recompute the signals it names and the selection from its recipe, export again into --out, and report "
        "for every output file whether its sha256 matches. A changed input, signal version, parameter or recipe "
        "is named. Exit status 0 when every file is identical, 1 when something differs.",
    )
    p.add_argument("manifest", help="the export's manifest.json (or its folder)")
    p.add_argument("--out", required=True, help="folder for the rebuilt export (new or empty, or --force)")
    p.add_argument("--inputs", help="folder holding the input files, when they are no longer at the recorded paths")
    p.add_argument("--force", action="store_true", help="replace an earlier export at --out")
    p.add_argument("--keep-workspace", action="store_true", help="keep the temporary rebuilt workspace (its path is printed)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    progress = no_progress if args.quiet else TerminalBar("rebuild")
    report = rebuild(args.manifest, args.out, inputs_dir=args.inputs, force=args.force,
                     keep_workspace=args.keep_workspace, progress=progress)
    for line in report.lines():
        echo(line)
    if not report.full:
        echo("warning: partial rebuild (the selection was copied, not recomputed from its recipe)")
    return 0 if report.identical else 1
