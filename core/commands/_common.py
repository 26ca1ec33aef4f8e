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


def add_engine_args(p: argparse.ArgumentParser) -> None:
    """--engine/--address: run on this machine (default) or as Ray Data map_batches (pip install -r requirements-ray.txt)."""
    p.add_argument("--engine", choices=["local", "ray"], default="local",
                   help="local (default) or ray: the same functions as Ray Data map_batches over the docs/ shards; "
                   "results are written to the workspace as usual (needs requirements-ray.txt)")
    p.add_argument("--address", default=None,
                   help="with --engine ray: a running Ray cluster (e.g. ray://head:10001 or auto); default: a local "
                   "Ray on this machine's cores. The workspace must be on storage every node sees.")
