"""Run a signal over a workspace: check prerequisites, skip if up to date, checkpoint, write atomically.

Output: `signals/<key>.parquet` (id + declared columns) and `signals/<key>.json` (name, version,
params, target/benchmark, inputs fingerprint, time, summary figures). A signal recomputes only when
its version, parameters, the documents or its reference set change.

`run_signal` computes one signal; `run_signals` (what `python -m core score` uses) computes several,
the batch signals of one batch size together in one pass over the documents (each batch read once,
each text split into words once), with each signal's own checkpoints and files.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from core.checkpoint import BatchCheckpoint, work_key
from core.errors import WinnowError
from core.progress import Progress, no_progress
from core.signals import get
from core.signals.base import BatchSignal, CorpusSignal, Signal
from core.signals.context import SignalContext
from core.signals.textutil import shared_words
from core.workspace import Workspace, content_digest, read_json, write_json, write_parquet

_ARROW = {"float": pa.float64(), "int": pa.int64(), "bool": pa.bool_(), "str": pa.string()}
PARALLEL_MIN_DOCS = 20_000


@dataclass
class SignalResult:
    key: str
    path: Path
    skipped: bool
    summary: dict[str, Any]
    seconds: float
    shared_with: tuple[str, ...] = ()  # the other signals computed in the same pass (run_signals)


def signal_paths(ws: Workspace, key: str) -> tuple[Path, Path]:
    return ws.dir("signals") / f"{key}.parquet", ws.dir("signals") / f"{key}.json"


def read_sidecar(ws: Workspace, key: str) -> dict[str, Any] | None:
    return read_json(signal_paths(ws, key)[1])


def _reference_fingerprint(ws: Workspace, kind: str, name: str | None) -> str | None:
    if not name:
        return None
    p = ws.dir(kind) / f"{name}.parquet"
    return content_digest(p) if p.exists() else None


def _embeddings_fingerprint(ws: Workspace) -> str:
    files = sorted(ws.dir("embeddings").glob("*.npy"))
    return "|".join(f"{p.name}:{content_digest(p)}" for p in files)


def inputs_fingerprint(ws: Workspace, sig: Signal, target: str | None, benchmark: str | None) -> dict[str, Any]:
    fp = {
        "version": sig.version,
        "params": sig.params.model_dump(mode="json"),
        "docs": ws.fingerprint(),
        "target": _reference_fingerprint(ws, "targets", target),
        "benchmark": _reference_fingerprint(ws, "benchmarks", benchmark),
    }
    if "embeddings" in sig.needs:
        fp["embeddings"] = _embeddings_fingerprint(ws)
    return fp


def _same_inputs(ws: Workspace, recorded: Any, now: dict[str, Any]) -> bool:
    """The recorded inputs are today's (the documents' fingerprint compared by `Workspace.same_docs`)."""
    if recorded == now:
        return True
    return (isinstance(recorded, dict) and ws.same_docs(recorded.get("docs"))
            and {**recorded, "docs": now["docs"]} == now)


def check_needs(sig: Signal, ctx: SignalContext) -> None:
    """Refuse early, with a message saying what to do, when a prerequisite is missing."""
    if not ctx.ws.has_docs():
        raise WinnowError("the workspace has no documents yet: ingest some with `python -m core ingest`")
    if "target" in sig.needs:
        ctx.target_docs()
    if "benchmark" in sig.needs:
        ctx.benchmark_docs()
    if "labels" in sig.needs:
        ctx.labels()
    if "embeddings" in sig.needs:
        ctx.embeddings(getattr(sig.params, "model", None))


@dataclass
class _Plan:
    """One signal to compute: where it goes and what it was computed from."""

    name: str
    sig: Signal
    key: str
    out: Path
    sidecar: Path
    fingerprint: dict[str, Any]
    ctx: SignalContext
    started: float


def _plan(ws: Workspace, name: str, params: dict[str, Any] | None, target: str | None, benchmark: str | None,
          force: bool, engine: str) -> _Plan | SignalResult:
    """The work for one signal, or its SignalResult when it is up to date (skipped)."""
    started = time.monotonic()
    sig = get(name)(params)
    sig.check_requires()
    key = sig.key(target, benchmark)
    out, sidecar = signal_paths(ws, key)
    fingerprint = inputs_fingerprint(ws, sig, target, benchmark)
    old = read_json(sidecar)
    if not force and out.exists() and old and _same_inputs(ws, old.get("inputs"), fingerprint):
        return SignalResult(key, out, True, old.get("summary", {}), 0.0)
    scratch = ws.dir("signals") / ".partial" / f"{key}-{work_key(fingerprint)}"
    ctx = SignalContext(ws, name, target=target, benchmark=benchmark, scratch=scratch)
    check_needs(sig, ctx)
    if engine not in ("local", "ray"):
        raise WinnowError(f"unknown engine {engine!r}: use local or ray")
    if engine == "ray" and not isinstance(sig, BatchSignal):
        raise WinnowError(f"{name} needs the whole corpus at once and runs on one machine: drop --engine ray")
    return _Plan(name, sig, key, out, sidecar, fingerprint, ctx, started)


def _finish(plan: _Plan, result: pd.DataFrame | pa.Table, target: str | None, benchmark: str | None,
            shared_with: tuple[str, ...] = ()) -> SignalResult:
    """Check and write the signal's table and sidecar; drop its checkpoints."""
    sig = plan.sig
    table = conform(sig, result, plan.ctx.ids())
    write_parquet(table, plan.out)
    summary = summarize(sig, table)
    extra = getattr(sig, "sidecar_extra", None)
    write_json({
        "signal": plan.name, "key": plan.key, "version": sig.version, "params": sig.params.model_dump(mode="json"),
        "target": target, "benchmark": benchmark, "inputs": plan.fingerprint,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "seconds": round(time.monotonic() - plan.started, 3),
        "rows": table.num_rows, "summary": summary, "details": extra or {},
        **({"computed_with": list(shared_with)} if shared_with else {}),
    }, plan.sidecar)
    BatchCheckpoint(plan.ctx.scratch).clear()
    return SignalResult(plan.key, plan.out, False, summary, time.monotonic() - plan.started, shared_with)


def run_signal(
    ws: Workspace,
    name: str,
    params: dict[str, Any] | None = None,
    *,
    target: str | None = None,
    benchmark: str | None = None,
    progress: Progress = no_progress,
    force: bool = False,
    workers: int | None = None,
    engine: str = "local",
    address: str | None = None,
) -> SignalResult:
    plan = _plan(ws, name, params, target, benchmark, force, engine)
    if isinstance(plan, SignalResult):
        return plan
    return _compute(plan, target, benchmark, progress, workers, engine, address)


def _compute(plan: _Plan, target: str | None, benchmark: str | None, progress: Progress, workers: int | None,
             engine: str, address: str | None) -> SignalResult:
    sig, ctx = plan.sig, plan.ctx
    plan.started = time.monotonic()
    if engine == "ray":
        from core import ray_engine

        result = ray_engine.signal_batches(sig, ctx.ws, progress, address, workers)
    elif isinstance(sig, BatchSignal):
        result = _run_batches([sig], ctx, progress, workers, [ctx.scratch])[0]()
    elif isinstance(sig, CorpusSignal):
        ctx.scratch.mkdir(parents=True, exist_ok=True)
        result = sig.compute_corpus(ctx, progress)
    else:  # pragma: no cover - every registered signal is one of the two
        raise TypeError(f"{plan.name} is neither a BatchSignal nor a CorpusSignal")
    return _finish(plan, result, target, benchmark)


def run_signals(
    ws: Workspace,
    specs: list[tuple[str, dict[str, Any] | None]],
    *,
    target: str | None = None,
    benchmark: str | None = None,
    progress: Progress = no_progress,
    stage: Callable[[str], None] | None = None,
    force: bool = False,
    workers: int | None = None,
    engine: str = "local",
    address: str | None = None,
) -> Iterator[tuple[str, SignalResult]]:
    """Compute several signals, yielding (name, result) as each is written, in the order given.

    Batch signals with the same batch size that need computing run in ONE pass over the documents:
    each batch is read once, each text split into words once (`textutil.shared_words`) for all of
    them, and each signal still gets its own checkpoints (a killed run resumes; a batch is recomputed
    only for the signals that lack it), `signals/<key>.parquet` and sidecar, the same as run_signal
    writes. `stage(label)` is told what runs next (a job's stage)."""
    names = [n for n, _ in specs]
    plans: dict[int, _Plan | SignalResult] = {}
    for i, (name, params) in enumerate(specs):
        plans[i] = _plan(ws, name, params, target, benchmark, force, engine)
    done: set[int] = set()
    for i, name in enumerate(names):
        if i in done:
            continue
        plan = plans[i]
        group = [i]
        if isinstance(plan, _Plan) and engine == "local" and isinstance(plan.sig, BatchSignal):
            group = [j for j in range(i, len(names)) if j not in done and isinstance(plans[j], _Plan)
                     and isinstance(plans[j].sig, BatchSignal) and plans[j].sig.batch_size == plan.sig.batch_size]
        if stage is not None:
            label = " + ".join(names[j] for j in group)
            span = f"{i + 1}/{len(names)}" if len(group) == 1 else f"{len(group)} signals in one pass"
            stage(f"{label} ({span})")
        if len(group) == 1:
            done.add(i)
            yield name, (plan if isinstance(plan, SignalResult) else
                         _compute(plan, target, benchmark, progress, workers, engine, address))
            continue
        members = [plans[j] for j in group]
        started = time.monotonic()
        for m in members:
            m.started = started  # the pass's time is every member's time
        tables = _run_batches([m.sig for m in members], members[0].ctx, progress, workers,
                              [m.ctx.scratch for m in members])
        for j, m, table in zip(group, members, tables, strict=True):
            done.add(j)
            m.ctx._ids = members[0].ctx.ids()  # the document ids, read once for the group
            yield names[j], _finish(m, table(), target, benchmark, tuple(names[k] for k in group if k != j))


def _compute_one(sig: BatchSignal, batch: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(sig.compute(batch), preserve_index=False)


def _compute_many(sigs: list[BatchSignal], batch: pd.DataFrame) -> list[pa.Table]:
    """Several signals on one batch, each text split into words once for all of them."""
    if len(sigs) == 1:
        return [_compute_one(sigs[0], batch)]
    with shared_words():
        return [_compute_one(sig, batch) for sig in sigs]


def _run_batches(sigs: list[BatchSignal], ctx: SignalContext, progress: Progress, workers: int | None,
                 scratches: list[Path]) -> list[Callable[[], pd.DataFrame]]:
    """Stream batches in workspace order through every signal in `sigs` (same batch size); finished
    batches are checkpoint files, one folder per signal, skipped on resume. Returns, per signal, a
    function that loads its whole result (one signal's table in memory at a time)."""
    total = ctx.doc_count()
    columns = ("id", "text", "source", "label", "n_words", "n_chars")
    ckpts = [BatchCheckpoint(s) for s in scratches]
    workers = workers or (min(os.cpu_count() or 1, 4) if total >= PARALLEL_MIN_DOCS else 1)
    done_rows, count = 0, 0
    progress(0, total)
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) if workers > 1 else None
    pending: list[tuple[int, int, list[int], Any]] = []

    def save(i: int, n: int, todo: list[int], tables: list[pa.Table]) -> None:
        nonlocal done_rows
        for k, table in zip(todo, tables, strict=True):
            ckpts[k].save(i, table)
        done_rows += n
        progress(done_rows, total)

    try:
        for i, batch in enumerate(ctx.docs(columns, sigs[0].batch_size)):
            count = i + 1
            todo = [k for k, ckpt in enumerate(ckpts) if not ckpt.has(i)]
            if not todo:
                done_rows += len(batch)
                continue
            if pool is None:
                save(i, len(batch), todo, _compute_many([sigs[k] for k in todo], batch))
                continue
            pending.append((i, len(batch), todo, pool.submit(_compute_many, [sigs[k] for k in todo], batch)))
            while len(pending) >= 2 * workers:  # bounded: at most a few batches of text in flight
                j, n, todo_j, fut = pending.pop(0)
                save(j, n, todo_j, fut.result())
        for j, n, todo_j, fut in pending:
            save(j, n, todo_j, fut.result())
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    progress(total, total)
    if not count:
        return [partial(sig.empty_result, []) for sig in sigs]
    return [lambda ckpt=ckpt: ckpt.load_all(count).to_pandas() for ckpt in ckpts]


def conform(sig: Signal, result: pd.DataFrame | pa.Table, ids: list[str]) -> pa.Table:
    """Check one row per document and exactly the declared columns; cast to the declared types."""
    df = result.to_pandas() if isinstance(result, pa.Table) else result
    expected = ["id", *[c.name for c in sig.columns]]
    missing = [c for c in expected if c not in df.columns]
    if missing:
        raise RuntimeError(f"signal {sig.name} did not return the column(s) {missing}")
    df = df[expected]
    if len(df) != len(ids) or df["id"].duplicated().any() or set(df["id"].astype(str)) != set(ids):
        raise RuntimeError(f"signal {sig.name} returned {len(df)} rows for {len(ids)} documents")
    arrays = {"id": pa.array(df["id"].astype(str).tolist(), pa.string())}
    for col in sig.columns:
        series = df[col.name]
        values = [None if _is_missing(v) else v for v in series.tolist()]
        arrays[col.name] = pa.array(values, _ARROW[col.dtype], from_pandas=True)
    return pa.table(arrays)


def _is_missing(v: Any) -> bool:
    try:
        return v is None or v is pd.NA or (isinstance(v, float) and v != v)
    except (TypeError, ValueError):
        return False


def summarize(sig: Signal, table: pa.Table) -> dict[str, Any]:
    """Small figures for the sidecar and the pages: mean/min/max of numbers, pass rates of rules."""
    df = table.to_pandas()
    out: dict[str, Any] = {"rows": len(df)}
    for col in sig.columns:
        s = df[col.name]
        if col.dtype in ("float", "int"):
            s = pd.to_numeric(s, errors="coerce")
            if s.notna().any():
                out[col.name] = {"mean": float(s.mean()), "min": float(s.min()), "max": float(s.max()),
                                 "nulls": int(s.isna().sum())}
        elif col.dtype == "bool":
            out[col.name] = {"true": int((s == True).sum()), "false": int((s == False).sum())}  # noqa: E712
        elif col.kind == "reason":
            out[col.name] = {str(k): int(v) for k, v in s.value_counts().head(20).items()}
    return out
