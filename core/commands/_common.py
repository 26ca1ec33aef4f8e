"""Arguments and helpers shared by the CLI subcommands."""

from __future__ import annotations

import argparse
import os
import sys

from core.workspace import Workspace


def add_workspace_arg(parser: argparse.ArgumentParser, required: bool = True) -> None:
    parser.add_argument(
        "--workspace",
        "-w",
        required=required and not os.environ.get("WINNOW_WORKSPACE"),
        default=os.environ.get("WINNOW_WORKSPACE"),
        help="workspace folder (or set WINNOW_WORKSPACE)",
    )


def add_job_args(parser: argparse.ArgumentParser) -> None:
    """A job started by the app passes --job-id so progress goes to jobs/<id>.json."""
    parser.add_argument("--job-id", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def open_workspace(args: argparse.Namespace) -> Workspace:
    return Workspace.open(args.workspace)


def echo(*parts: object) -> None:
    print(*parts, file=sys.stdout, flush=True)
