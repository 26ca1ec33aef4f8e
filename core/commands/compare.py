"""`python -m core compare --workspace W SEL... [--proxy] --json`: compare selections side by side."""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

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
    p.add_argument("--kl", action="store_true",
                   help="only the KL figures, as a job with progress: reads each selection's text once, in batches, "
                        "and keeps its n-gram counts, so the Compare page then shows the KL at once")
    p.add_argument("--heldout", default=None,
                   help="held-out labelled target for the classifier proxy (default: the first target with labels)")
    p.add_argument("--fractions", type=_fractions, default=None, help="proxy training sizes (default 0.1,0.25,0.5,1)")
    p.add_argument("--seeds", type=_seeds, default=None, help="proxy seeds (default 0,1,2)")
    p.add_argument("--json", action="store_true", help="print every figure as JSON")
    add_job_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from core import compare as cmp
    from core import proxy as prx
    from core.store import Store

    ws = open_workspace(args)
    store = Store(ws)
    baseline = not args.no_baseline
    if args.kl:
        return _run_kl(args, ws, store, baseline)
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
            proxy = prx.proxy_evaluate(
                ws, args.selections, store, baseline=baseline, heldout=args.heldout, target=args.target,
                fractions=args.fractions or prx.PROXY_FRACTIONS, seeds=args.seeds or prx.PROXY_SEEDS,
                baseline_seed=args.baseline_seed, progress=job)
            key = prx.proxy_key(ws, args.selections, baseline, args.heldout, args.target,
                                args.fractions or prx.PROXY_FRACTIONS, args.seeds or prx.PROXY_SEEDS,
                                args.baseline_seed)
            prx.save_proxy_result(ws, key, proxy)
            job.finish("done", result={"proxy_key": key, "final": cmp.records(prx.final_table(proxy))})
        out["proxy"] = proxy
    if args.json:
        echo(json.dumps(out, indent=2, ensure_ascii=False, default=str))
        return 0
    echo(format_text(out))
    return 0


def _run_kl(args: argparse.Namespace, ws, store, baseline: bool) -> int:
    """`compare SEL... --kl`: KL(target ‖ selection) of each selection (and the baseline) as a job."""
    from core import compare as cmp
    from core.errors import WinnowError

    argv = ["compare", *args.selections, "--kl", "--baseline-seed", str(args.baseline_seed)]
    if args.target:
        argv += ["--target", args.target]
    if args.no_baseline:
        argv.append("--no-baseline")
    with run_as_job(ws, "compare-kl", args.job_id, argv, quiet=args.quiet or args.json) as job:
        subsets = cmp.load_subsets(ws, store, args.selections, baseline, args.baseline_seed)
        target = args.target or cmp.recipe_target(ws, args.selections)
        if not target:
            raise WinnowError("name a target with --target (no selection's recipe names one)")
        job.stage("counting n-grams")
        rows = cmp.records(cmp.kl_to_target(ws, store, subsets, target, progress=job))
        job.finish("done", result={"target": target, "rows": rows})
    out = {"target": target, "features": "hashed unigram+bigram, 10,000 buckets (DSIR)", "rows": rows}
    if args.json:
        echo(json.dumps(out, indent=2, ensure_ascii=False))
        return 0
    echo(f"KL(target || selection), target {target} ({out['features']})")
    for row in rows:
        echo(f"  {row['selection']:<24} KL {row['kl']:.4f}  reduction vs random {_fmt(row['kl_reduction'], '+.4f')}")
    return 0


def _fmt(v: Any, spec: str = ".3f") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return format(v, spec) if isinstance(v, int | float) else str(v)


def format_text(out: dict[str, Any]) -> str:
    """The figures of `compare` (and `proxy_evaluate` under "proxy") as aligned plain text."""
    names = out["selections"]
    width = max(12, *(len(n) for n in names)) + 2
    lines = ["sizes"]
    for row in out["sizes"]:
        lines.append(f"  {row['selection']:<{width}} {row['documents']:>8,} docs {row['tokens']:>12,} words")
    lines.append("overlap (Jaccard)")
    lines.append("  " + " " * width + "".join(f"{i:>8}" for i in range(len(names))))
    for i, a in enumerate(names):
        lines.append(f"  {i} {a:<{width - 2}}" + "".join(f"{out['jaccard'][a][b]:>8.3f}" for b in names))
    cov = out["coverage"]
    lines.append(f"coverage by {cov['by']}")
    for row in cov["summary"]:
        lines.append(f"  {row['selection']:<{width}} {row['clusters_covered']}/{row['clusters_total']} covered "
                     f"({row['share_covered']:.0%}), entropy {row['entropy_bits']:.3f} bits")
    if out.get("kl"):
        lines.append(f"KL(target || selection), target {out['kl']['target']} ({out['kl']['features']})")
        for row in out["kl"]["rows"]:
            lines.append(f"  {row['selection']:<{width}} KL {row['kl']:.4f}  reduction vs random "
                         f"{_fmt(row['kl_reduction'], '+.4f')}")
    proxy = out.get("proxy")
    if proxy:
        from core.proxy import final_table

        final = final_table(proxy)
        lines.append("proxy evaluation at 100% (mean ± std over seeds " + ",".join(map(str, proxy["seeds"])) + ")")
        if proxy.get("labelled"):
            lines.append(f"  classifier: {proxy['labelled']['model']}, held-out {proxy['labelled']['heldout']} "
                         f"({proxy['labelled']['eval_examples']} examples)")
            for t, n in (proxy["labelled"].get("heldout_in_recipe_targets") or {}).items():
                if n:
                    lines.append(f"  note: {n} held-out texts are also in the target {t} that a recipe selected "
                                 "with (texts, not labels)")
        if proxy.get("text"):
            lines.append(f"  language model: {proxy['text']['model']}, perplexity on {proxy['text']['target']}")
        for row in final.to_dict(orient="records"):
            parts = [f"  {row['selection']:<{width}}"]
            if "accuracy" in row:
                parts.append(f"acc {_fmt(row['accuracy'])}±{_fmt(row['accuracy_std'])}  "
                             f"macro-F1 {_fmt(row['macro_f1'])}±{_fmt(row['macro_f1_std'])}")
            if "perplexity" in row:
                parts.append(f"ppl {_fmt(row['perplexity'], '.1f')}±{_fmt(row['perplexity_std'], '.1f')}")
            lines.append("  ".join(parts))
    return "\n".join(lines)
