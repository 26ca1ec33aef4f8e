"""`python -m core demo --workspace W [--size small|full] [--seed N] [--force]`: build the demo workspace."""

from __future__ import annotations

import argparse
import time

from core.commands._common import echo
from core.progress import TerminalBar, no_progress


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="build the demo workspace (ShareGPT, BBC News, Python stdlib; HumanEval as benchmark)",
        description="Build a demo workspace from text that ships in pip packages: ShareGPT conversations, BBC "
        "News articles with topic labels, Python standard-library functions and spam pages, with known problems "
        "planted and listed in planted.parquet (exact and near duplicates, boilerplate, flipped labels, "
        "HumanEval leaks). Also writes the targets bbc_heldout and bbc_tech and the benchmark humaneval. "
        "The inputs are ingested from the workspace's inputs/ folder like any user file.",
    )
    p.add_argument("--workspace", "-w", default="workspaces/demo", help="folder to build (default workspaces/demo)")
    p.add_argument("--size", choices=("small", "full"), default="full",
                   help="full: about 32,000 documents (a minute or two); small: about 3,000 (for tests)")
    p.add_argument("--seed", type=int, default=0, help="random seed; the same seed builds the same demo (default 0)")
    p.add_argument("--force", action="store_true", help="replace an existing workspace at that folder")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from data.build_demo import build_demo

    started = time.monotonic()
    progress = no_progress if args.quiet else TerminalBar(f"demo ({args.size})")
    ws = build_demo(args.workspace, size=args.size, seed=args.seed, progress=progress, force=args.force)
    from core.workspace import read_json

    meta = read_json(ws.root / "demo.json", default={}) or {}
    sources = ", ".join(f"{k}: {v:,}" for k, v in meta.get("sources", {}).items())
    planted = ", ".join(f"{k}: {v:,}" for k, v in meta.get("planted", {}).items())
    echo(f"built {meta.get('documents', 0):,} documents in {time.monotonic() - started:.0f} s at {ws.root}")
    echo(f"  sources  {sources}")
    echo(f"  planted  {planted} (planted.parquet)")
    echo("  targets  bbc_heldout, bbc_tech; benchmark humaneval")
    return 0
