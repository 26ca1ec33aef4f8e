"""`python -m core score --workspace W NAME... [--param k=v] [--target T] [--benchmark B]`: compute signals."""

from __future__ import annotations

import argparse
import json
from typing import Any

from core.commands._common import add_engine_args, add_job_args, add_workspace_arg, echo, open_workspace
from core.errors import WinnowError
from core.jobs import run_as_job
from core.signals import get, load_all
from core.signals.runner import run_signals


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "score",
        help="compute signals (scores) for every document, as a job with progress and resume",
        description="Compute one or more signals over the workspace into signals/<name>.parquet (+ a JSON "
        "sidecar with parameters and summary figures). A signal that is up to date (same version, parameters, "
        "documents and reference set) is skipped; a killed run resumes from its finished batches when the same "
        "command runs again. Signals that work batch by batch (the heuristics) are computed together in one pass "
        "over the documents, each text split into words once. List the signals and their parameters with "
        "`python -m core signals`.",
        epilog="examples:\n"
        "  python -m core score -w ws gopher_quality gopher_repetition fineweb c4\n"
        "  python -m core score -w ws minhash_dup --param threshold=0.8 --param bands=20 --param rows=5 "
        "--param num_perm=100\n"
        "  python -m core score -w ws gopher_quality fineweb --param gopher_quality.min_doc_words=100",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("names", nargs="*", metavar="NAME", help="signals to compute (see `python -m core signals`)")
    add_workspace_arg(p)
    p.add_argument("--param", action="append", default=[], metavar="[SIGNAL.]KEY=VALUE",
                   help="a parameter (repeatable). VALUE is read as JSON when it parses (3, 0.5, true, null, "
                   "[\"a\",\"b\"]), else as text. With several signals, prefix the key with the signal name.")
    p.add_argument("--target", help="target set for signals that need one (e.g. dsir)")
    p.add_argument("--benchmark", help="benchmark set for signals that need one (contamination)")
    p.add_argument("--force", action="store_true", help="recompute even when up to date")
    p.add_argument("--all-cheap", action="store_true",
                   help="compute every cheap signal that needs only the text (length, heuristics, exact_dup)")
    add_engine_args(p)
    add_job_args(p)
    p.set_defaults(func=run)


def parse_value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def parse_params(items: list[str], names: list[str]) -> dict[str, dict[str, Any]]:
    """{signal: {key: value}} from `[SIGNAL.]KEY=VALUE` items; an unprefixed key needs exactly one signal."""
    out: dict[str, dict[str, Any]] = {n: {} for n in names}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise WinnowError(f"--param {item!r}: write KEY=VALUE (or SIGNAL.KEY=VALUE)")
        if "." in key:
            sig, key = key.split(".", 1)
            if sig not in out:
                raise WinnowError(f"--param {item!r}: {sig!r} is not one of the signals being computed ({', '.join(names)})")
        elif len(names) == 1:
            sig = names[0]
        else:
            raise WinnowError(f"--param {item!r}: with several signals, write SIGNAL.{key}={raw}")
        out[sig][key] = parse_value(raw)
    return out


def _brief(name: str, summary: dict[str, Any]) -> str:
    rows = summary.get("rows", 0)
    reason = summary.get(f"{name}_reason")
    if isinstance(reason, dict):
        dropped = sum(reason.values())
        top = ", ".join(f"{k} {v:,}" for k, v in list(reason.items())[:4])
        return f"kept {rows - dropped:,} of {rows:,}" + (f" (dropped: {top})" if top else "")
    rep = summary.get("is_representative")
    if isinstance(rep, dict):
        return f"{rep.get('false', 0):,} duplicates of {rows:,} documents"
    return f"{rows:,} rows"


def run(args: argparse.Namespace) -> int:
    ws = open_workspace(args)
    names = list(dict.fromkeys(args.names))
    if args.all_cheap:
        names += [n for n, cls in sorted(load_all().items())
                  if cls.cost == "cheap" and set(cls.needs) <= {"text"} and n not in names]
    if not names:
        raise WinnowError("name at least one signal to compute (see `python -m core signals`), or pass --all-cheap")
    for n in names:
        get(n)  # unknown names fail before the job starts
    params = parse_params(args.param, names)
    argv = ["score", *names, *[x for item in args.param for x in ("--param", item)]]
    argv += [x for flag, v in (("--target", args.target), ("--benchmark", args.benchmark)) if v for x in (flag, v)]
    argv += ["--force"] if args.force else []
    argv += ["--engine", args.engine] + (["--address", args.address] if args.address else [])
    results = {}
    with run_as_job(ws, "score", args.job_id, argv, quiet=args.quiet) as job:
        for name, res in run_signals(ws, [(n, params[n]) for n in names], target=args.target,
                                     benchmark=args.benchmark, progress=job, stage=job.stage, force=args.force,
                                     engine=args.engine, address=args.address):
            results[res.key] = {"skipped": res.skipped, "seconds": round(res.seconds, 2),
                                "summary": _brief(name, res.summary)}
            state = "up to date" if res.skipped else f"computed in {res.seconds:.1f}s"
            if res.shared_with:
                state += f" (one pass with {', '.join(res.shared_with)})"
            if args.quiet:
                echo(f"{res.key}: {state}; {_brief(name, res.summary)}")
            else:
                echo(f"\n{res.key}: {state}; {_brief(name, res.summary)}")
        job.finish("done", result=results)
    echo(f"signals in {ws.dir('signals')}; read them with `python -m core table --workspace {ws.root} "
         f"--columns id,{names[0]}`")
    return 0
