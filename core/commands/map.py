"""`python -m core map --workspace W [--model static] [--method umap|pca] [--clusters auto|K]`: build the map."""

from __future__ import annotations

import argparse

from core.commands._common import add_job_args, add_workspace_arg, echo, open_workspace
from core.mapping import DEFAULT_METHOD, DEFAULT_SAMPLE, MAX_AUTO_K, METHODS, build_map, parse_clusters


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "map",
        help="project the embeddings to 2-D, cluster them and name the clusters (for the Map page)",
        description="Project every document's embedding to 2-D (UMAP, or PCA), cluster the embeddings with "
        "k-means and name each cluster by its most distinctive words (class-based TF-IDF). The projection is "
        f"fitted on a random sample of at most --sample documents (default {DEFAULT_SAMPLE:,}) and applied to "
        "the rest. Writes maps/<model>.parquet (id, x, y, cluster), maps/<model>__clusters.parquet and "
        "maps/<model>.json. Needs embeddings: run `python -m core embed` first.",
    )
    add_workspace_arg(p)
    p.add_argument("--model", default=None,
                   help="which embeddings to map (default: static if computed, else the one that is)")
    p.add_argument("--method", choices=METHODS, default=DEFAULT_METHOD,
                   help=f"projection (default {DEFAULT_METHOD}; pca is instant but shows less structure)")
    p.add_argument("--clusters", default="auto",
                   help=f"number of k-means clusters, or auto: clip(round(sqrt(n/4)), 2, {MAX_AUTO_K}) (default auto)")
    p.add_argument("--sample", type=int, default=DEFAULT_SAMPLE,
                   help=f"documents the projection is fitted on; the rest are transformed (default {DEFAULT_SAMPLE:,})")
    p.add_argument("--seed", type=int, default=0, help="random seed for sampling, UMAP and k-means (default 0)")
    add_job_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from core.errors import WinnowError
    from core.jobs import run_as_job

    ws = open_workspace(args)
    k = parse_clusters(args.clusters)
    if args.sample < 10:
        raise WinnowError("--sample must be at least 10")
    argv = ["map", "--method", args.method, "--clusters", str(args.clusters), "--sample", str(args.sample),
            "--seed", str(args.seed)] + (["--model", args.model] if args.model else [])
    with run_as_job(ws, "map", args.job_id, argv, quiet=args.quiet) as job:
        result = build_map(ws, args.model, args.method, k, seed=args.seed, sample_size=args.sample,
                           progress=job, stage=job.stage)
        job.finish("done", result={"documents": result.count, "clusters": result.clusters, "method": result.method,
                                   "seconds": round(result.seconds, 2)})
    echo(f"mapped {result.count:,} {result.model} embeddings with {result.method} into {result.clusters} clusters "
         f"in {result.seconds:.1f}s -> {result.path}")
    return 0
