"""`python -m core compare --workspace W SEL... [--proxy] --json`: compare selections side by side."""

from __future__ import annotations

import argparse
import json

from core.commands._common import add_job_args, add_workspace_arg, echo, open_workspace
from core.jobs import run_as_job


def _fractions(text: str) -> list[float]:
    try:
        vals = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of fractions: {text!r} (e.g. 0.1,0.25,0.5,1)") from None
    if not vals or any(not 0 < v <= 1 for v in vals):
        raise argparse.ArgumentTypeError("fractions must be in (0, 1], e.g. 0.1,0.25,0.5,1")
    return vals


def _seeds(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of seeds: {text!r} (e.g. 0,1,2)") from None


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare",
        help="compare 1-4 saved selections (and a random baseline): overlap, coverage, scores, KL, proxy model",
        description="Compare saved selections side by side: size and tokens, pairwise Jaccard overlap of ids, "
        "cluster coverage (documents per map cluster, share of clusters covered, entropy in bits), every numeric "
        "score's distribution, and the KL divergence of each selection's hashed unigram+bigram distribution "
        "(DSIR's features) to a target with the KL reduction against a random selection of the same size as "
        "the first (added as a baseline unless --no-baseline). With --proxy it also trains the same small models "
        "on each selection at several sizes and seeds, as a job with progress: logistic regression on the "
        "embeddings (accuracy and macro-F1 on a held-out labelled target), and an interpolated Kneser-Ney bigram "
        "language model (perplexity on the target).",
    )
    add_workspace_arg(p)
    p.add_argument("selections", nargs="+", metavar="SEL", help="names of saved selections (1 to 4)")
    p.add_argument("--target", default=None,
                   help="target for the KL figures and the language-model proxy (default: the recipes' target)")
    p.add_argument("--no-baseline", action="store_true", help="do not add the random baseline")
    p.add_argument("--baseline-seed", type=int, default=0, help="seed of the random baseline (default 0)")
    p.add_argument("--proxy", action="store_true", help="also run the proxy evaluation (a job with progress)")
    p.add_argument("--heldout", default=None,
                   help="held-out labelled target for the classifier proxy (default: the first target with labels)")
    p.add_argument("--fractions", type=_fractions, default=None, help="proxy training sizes (default 0.1,0.25,0.5,1)")
    p.add_argument("--seeds", type=_seeds, default=None, help="proxy seeds (default 0,1,2)")
    p.add_argument("--json", action="store_true", help="print every figure as JSON")
    add_job_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from core import compare as cmp
    from core.store import Store

    ws = open_workspace(args)
    store = Store(ws)
    baseline = not args.no_baseline
    if not args.proxy:
        out = cmp.compare(ws, args.selections, store, baseline=baseline, target=args.target,
                          baseline_seed=args.baseline_seed)
    else:
        argv = ["compare", *args.selections, "--proxy", "--baseline-seed", str(args.baseline_seed)]
        if args.fractions:
            argv += ["--fractions", ",".join(map(str, args.fractions))]
        if args.seeds:
            argv += ["--seeds", ",".join(map(str, args.seeds))]
        for flag, val in (("--target", args.target), ("--heldout", args.heldout)):
            if val:
                argv += [flag, val]
        if args.no_baseline:
            argv.append("--no-baseline")
        with run_as_job(ws, "compare", args.job_id, argv, quiet=args.quiet or args.json) as job:
            job.stage("comparing")
            out = cmp.compare(ws, args.selections, store, baseline=baseline, target=args.target,
                              baseline_seed=args.baseline_seed)
            job.stage("proxy evaluation")
            proxy = cmp.proxy_evaluate(
                ws, args.selections, store, baseline=baseline, heldout=args.heldout, target=args.target,
                fractions=args.fractions or cmp.PROXY_FRACTIONS, seeds=args.seeds or cmp.PROXY_SEEDS,
                baseline_seed=args.baseline_seed, progress=job)
            key = cmp.proxy_key(ws, args.selections, baseline, args.heldout, args.target,
                                args.fractions or cmp.PROXY_FRACTIONS, args.seeds or cmp.PROXY_SEEDS,
                                args.baseline_seed)
            cmp.save_proxy_result(ws, key, proxy)
            job.finish("done", result={"proxy_key": key, "final": cmp.records(cmp.final_table(proxy))})
        out["proxy"] = proxy
    if args.json:
        echo(json.dumps(out, indent=2, ensure_ascii=False, default=str))
        return 0
    echo(cmp.format_text(out))
    return 0
