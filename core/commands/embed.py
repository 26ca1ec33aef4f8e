"""`python -m core embed --workspace W [--model static|minilm] [--batch-size N]`: embed every document."""

from __future__ import annotations

import argparse
import os

from core.commands._common import add_engine_args, add_job_args, add_workspace_arg, echo, open_workspace
from core.embed import DEFAULT_MODEL, MODELS, compute_embeddings
from core.jobs import run_as_job


def register(sub: argparse._SubParsersAction) -> None:
    models = "; ".join(f"{m}: {s.package}, {s.dim} dimensions, long documents {s.long_docs}" for m, s in MODELS.items())
    p = sub.add_parser(
        "embed",
        help="embed every document (static model by default, or MiniLM)",
        description="Embed every document into embeddings/<model>.npy (float32, L2-normalised rows, in "
        "document order, ids in <model>.ids.parquet). Vectors are cached by (model, sha1 of the text), so a "
        "rerun after new documents, a re-ingest, a cancel or a killed run computes only what is missing "
        f"(it resumes from the last finished batch). Models: {models}.",
    )
    add_workspace_arg(p)
    p.add_argument("--model", choices=sorted(MODELS), default=DEFAULT_MODEL,
                   help=f"embedding model (default {DEFAULT_MODEL})")
    p.add_argument("--batch-size", type=int, default=None,
                   help="texts per batch; each finished batch is saved, so a killed run loses at most one "
                   f"(default: {MODELS['static'].default_batch_size} static, {MODELS['minilm'].default_batch_size} minilm)")
    add_engine_args(p)
    add_job_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    ws = open_workspace(args)
    # this process forks nothing after embedding starts, so the tokenizer may use every core
    os.environ["TOKENIZERS_PARALLELISM"] = "true"
    argv = ["embed", "--model", args.model] + (["--batch-size", str(args.batch_size)] if args.batch_size is not None else [])
    argv += ["--engine", args.engine] + (["--address", args.address] if args.address else [])
    with run_as_job(ws, "embed", args.job_id, argv, quiet=args.quiet) as job:
        if args.engine == "ray":
            from core import ray_engine

            result = ray_engine.embed(ws, args.model, args.batch_size, progress=job, address=args.address)
        else:
            result = compute_embeddings(ws, args.model, args.batch_size, progress=job, stage=job.stage)
        job.finish("done", result={"model": args.model, "documents": result.count, "computed": result.computed,
                                   "cached": result.cached, "seconds": round(result.seconds, 2)})
    echo(f"embedded {result.count:,} documents with {args.model} in {result.seconds:.1f}s "
         f"({result.computed:,} texts computed, {result.cached:,} documents from the cache) -> {result.path}")
    return 0
