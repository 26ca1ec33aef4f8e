"""The export manifest (what made these files) and `rebuild` (make them again and compare hashes).

`manifest.json` records: the Winnow version; the input files with their sha256 and the options they
were ingested with (from the workspace's ingest log in winnow.json); the reference sets (targets,
benchmarks) and embeddings the used signals needed; every signal the selection or the exported
columns use, with its parameters, version and a digest of its values; the selection's recipe and
seeds and a digest of its ids; package versions; counts (in, kept, dropped by reason); each output
file with its row count and sha256; and the time.

`rebuild(manifest, out)` re-ingests the inputs with the same options into a temporary workspace,
recomputes the signals and the selection from the recipe, exports again, and reports for every
output file whether its sha256 matches. When something differs it names what: an input whose bytes
changed, a signal whose version, parameters or values changed, a recipe that selects other ids.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import platform
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from core.errors import WinnowError
from core.progress import Progress, no_progress
from core.store import Store
from core.workspace import Workspace, read_json, safe_name, write_json, write_parquet

if TYPE_CHECKING:
    from core.export import OutputFile

MANIFEST_FORMAT = 1
PACKAGES = ("duckdb", "pyarrow", "pandas", "numpy", "datasets", "pydantic", "scikit-learn", "scipy", "model2vec",
            "sentence-transformers", "torch", "rensa", "cleanlab", "umap-learn", "orjson")
SEED_KEYS = ("seed", "random_state", "random_seed")


# -- hashing ---------------------------------------------------------------------------------------
def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sha256_input(path: Path) -> str:
    """The same digest ingest records for an input (a folder: its files' bytes in sorted order)."""
    from core.ingest import _sha256

    return _sha256(Path(path))


def canonical_sha256(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def docs_digest(store: Store) -> str:
    """A digest of the documents (id and text sha1, in workspace order): equal when ingest gave the same docs."""
    df = store.df("SELECT id, sha1 FROM docs")
    h = hashlib.sha256()
    for i, s in zip(df["id"].astype(str), df["sha1"].astype(str), strict=True):
        h.update(f"{i}\t{s}\n".encode())
    return h.hexdigest()


def table_digest(path: Path) -> str:
    """A digest of a signal's values (sorted by id, numbers as their repr), independent of Parquet encoding."""
    import pyarrow.parquet as pq

    df = pq.read_table(path).to_pandas()
    df["id"] = df["id"].astype(str)
    df = df.sort_values("id", kind="stable")
    h = hashlib.sha256()
    h.update("\t".join(df.columns).encode())
    for row in df.itertuples(index=False):
        h.update(("\t".join(_repr(v) for v in row) + "\n").encode())
    return h.hexdigest()


def _repr(v: Any) -> str:
    if v is None or v is pd.NA:
        return ""
    if isinstance(v, float | np.floating):
        return "" if np.isnan(v) else repr(float(v))
    return str(v)


def selection_digest(sel: pd.DataFrame) -> str:
    h = hashlib.sha256()
    for i, e in zip(sel["id"].astype(str), sel["epoch"].astype(int), strict=True):
        h.update(f"{i}\t{e}\n".encode())
    return h.hexdigest()


def file_entries(folder: Path, outputs: list[OutputFile]) -> list[dict[str, Any]]:
    """Every file written, with its rows (where known), bytes and sha256; an hf folder lists each file in it."""
    entries = []
    for o in outputs:
        path = folder / o.path
        base = {"kind": o.kind, **({"epoch": o.epoch} if o.epoch is not None else {})}
        if path.is_dir():
            for f in sorted(p for p in path.rglob("*") if p.is_file()):
                rel = f.relative_to(folder).as_posix()
                rows = _arrow_rows(f) if f.suffix == ".arrow" else None
                entries.append({**base, "kind": o.kind if f.suffix == ".arrow" else "hf-meta", "path": rel,
                                "rows": rows, "bytes": f.stat().st_size, "sha256": sha256_file(f)})
        else:
            entries.append({**base, "path": o.path, "rows": o.rows, "bytes": path.stat().st_size,
                            "sha256": sha256_file(path)})
    return entries


def _arrow_rows(path: Path) -> int | None:
    try:
        with pa.memory_map(str(path)) as src:
            return pa.ipc.open_stream(src).read_all().num_rows
    except (pa.ArrowInvalid, OSError):
        return None


# -- what was used ---------------------------------------------------------------------------------
def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def _sidecars(ws: Workspace) -> dict[str, dict[str, Any]]:
    out = {}
    for p in sorted(ws.dir("signals").glob("*.json")):
        if (ws.dir("signals") / f"{p.stem}.parquet").exists():
            out[p.stem] = read_json(p) or {}
    return out


def _key_of_column(column: str, keys: list[str]) -> str | None:
    """The signal key a `scores` column belongs to (the longest key that prefixes `<key>__`)."""
    cands = [k for k in keys if column.startswith(f"{k}__")]
    return max(cands, key=len) if cands else None


def _recipe_refs(recipe: dict[str, Any]) -> tuple[list[str], list[str | None]]:
    """(score references, targets) named by a recipe, including the signals a strategy reads implicitly."""
    refs: list[str] = []
    for k in ("score", "group"):
        if recipe.get(k):
            refs.append(str(recipe[k]))
    if recipe.get("by") and recipe["by"] not in ("cluster", "label"):
        refs.append(str(recipe["by"]))
    if isinstance(recipe.get("order"), dict) and recipe["order"].get("by"):
        refs.append(str(recipe["order"]["by"]))
    refs += list((recipe.get("filters") or {}).get("scores", {}) or {})
    refs += list((recipe.get("filters") or {}).get("rules", {}) or {})
    strategy = recipe.get("strategy") or ""
    base = recipe.get("base") or ""
    implicit = {"dsir": "dsir", "mates": "influence", "rds": "rds"}
    for s in (strategy, base):
        if s in implicit and not recipe.get("score"):
            refs.append(implicit[s])
    targets = list(recipe.get("targets") or []) + ([recipe["target"]] if recipe.get("target") else [])
    return refs, targets or [None]


def signals_used(ws: Workspace, recipe: dict[str, Any] | None, columns: list[str],
                 saved_filters: dict[str, Any]) -> list[str]:
    """Keys of the signals the export depends on: exported score columns, the recipe, saved filters."""
    sidecars = _sidecars(ws)
    keys = list(sidecars)
    used: set[str] = set()
    for c in columns:
        k = _key_of_column(c, keys)
        if k:
            used.add(k)
    refs, targets = _recipe_refs(recipe or {})
    for ref in refs:
        if ref in keys:
            used.add(ref)
            continue
        k = _key_of_column(ref, keys)
        if k:
            used.add(k)
            continue
        same = [key for key, sc in sidecars.items() if sc.get("signal", key.split("__")[0]) == ref]
        wanted = [key for key in same if (sidecars[key].get("target") or sidecars[key].get("benchmark")) in targets]
        used.update(wanted or same)
    text = json.dumps(saved_filters, sort_keys=True)
    for key in keys:
        if f'"{key}' in text and (f'"{key}"' in text or f'"{key}__' in text):
            used.add(key)
    # a signal computed from another signal's output (its sidecar names it) comes along
    order = sorted(used, key=lambda k: (sidecars[k].get("time") or "", k))
    return order


def _saved_filters(ws: Workspace, recipe: dict[str, Any] | None) -> dict[str, Any]:
    names = ((recipe or {}).get("filters") or {}).get("saved") or []
    names = [names] if isinstance(names, str) else names
    out = {}
    for name in names:
        path = ws.dir("filters") / f"{safe_name(name, 'filter name')}.json"
        out[name] = read_json(path)
    return out


def _ingest_log(ws: Workspace) -> list[dict[str, Any]]:
    meta = read_json(ws.root / "winnow.json", default={}) or {}
    return list(meta.get("ingests") or [])


def _map_info(store: Store, recipe: dict[str, Any] | None, columns: list[str]) -> dict[str, Any] | None:
    """The active map, when the recipe balances by map cluster or a map column is exported or filtered on."""
    recipe = recipe or {}
    uses = (("cluster_balanced" in (recipe.get("strategy"), recipe.get("base")) and recipe.get("by", "cluster") == "cluster")
            or any(c.startswith("map__") for c in columns)
            or bool((recipe.get("filters") or {}).get("clusters"))
            or any(str(c).startswith("map__") for c in ((recipe.get("filters") or {}).get("scores") or {})))
    mf = store.active_map_file() if uses else None
    if mf is None:
        return None
    side = read_json(mf.with_suffix(".json"), default={}) or {}
    proj, clu = side.get("projection") or {}, side.get("clusters") or {}
    return {"path": str(mf), "sha256": sha256_file(mf), "values_sha256": table_digest(mf),
            "model": side.get("model", mf.stem), "method": proj.get("method"), "seed": side.get("seed", 0),
            "fit_sample": proj.get("fit_sample"), "clusters": clu.get("k") if clu.get("k_chosen") == "given" else None,
            "cluster_fit_sample": clu.get("fit_sample")}


def build_manifest(ws: Workspace, store: Store, *, selection: str, selection_meta: dict[str, Any],
                   selection_frame: pd.DataFrame, fmt: str, columns: list[str], shard_size: int | None,
                   dropped_file: bool, reasons: pd.DataFrame, total_docs: int, files: list[dict[str, Any]],
                   export_name: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    from core import __version__

    recipe = selection_meta.get("recipe")
    saved = _saved_filters(ws, recipe)
    ingests = _ingest_log(ws)
    inputs = []
    for n, ing in enumerate(ingests):
        for f in ing.get("files", []):
            inputs.append({"ingest": n, "path": f.get("path"), "name": Path(f.get("path") or "").name,
                           "sha256": f.get("sha256"), "bytes": f.get("bytes"), "format": f.get("format"),
                           "source": f.get("source"), "text_field": f.get("text_field"),
                           "rows_loaded": f.get("rows_loaded"), "rows_quarantined": f.get("rows_quarantined")})
    sidecars = _sidecars(ws)
    used = signals_used(ws, recipe, columns, saved)
    signals, references, needs_embeddings = [], {}, False
    for key in used:
        sc = sidecars[key]
        name = sc.get("signal", key.split("__")[0])
        entry = {"key": key, "signal": name, "version": sc.get("version"), "params": sc.get("params", {}),
                 "target": sc.get("target"), "benchmark": sc.get("benchmark"), "computed": sc.get("time"),
                 "rows": sc.get("rows"), "values_sha256": table_digest(ws.dir("signals") / f"{key}.parquet")}
        signals.append(entry)
        for kind, ref in (("targets", sc.get("target")), ("benchmarks", sc.get("benchmark"))):
            if ref:
                p = ws.dir(kind) / f"{ref}.parquet"
                if p.exists():
                    references[f"{kind}/{ref}"] = {"kind": kind, "name": ref, "path": str(p), "sha256": sha256_file(p)}
        try:
            from core.signals import get

            needs_embeddings |= "embeddings" in get(name).needs
        except WinnowError:
            pass
    strategies = {(recipe or {}).get("strategy"), (recipe or {}).get("base")}
    needs_embeddings |= "k_center" in strategies
    map_info = _map_info(store, recipe, columns)
    if map_info is not None:
        needs_embeddings = True
    embeddings = []
    if needs_embeddings:
        for p in sorted(ws.dir("embeddings").glob("*.json")):
            info = read_json(p) or {}
            if info.get("model"):
                embeddings.append({"model": info["model"], "package": info.get("package"),
                                   "package_version": info.get("package_version"), "dim": info.get("dim")})
    seeds = {"selection": (recipe or {}).get("seed", 0)}
    if map_info is not None:
        seeds["map"] = map_info["seed"]
    for s in signals:
        for k in SEED_KEYS:
            if k in (s["params"] or {}):
                seeds[f"{s['key']}.{k}"] = s["params"][k]
    by_reason = reasons["drop_reason"].value_counts().sort_index()
    kept = len(selection_frame)
    manifest = {
        "winnow_manifest": MANIFEST_FORMAT,
        "winnow_version": __version__,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "export": {"name": export_name, "selection": selection, "format": fmt, "columns": columns,
                   "shard_size": shard_size, "dropped": dropped_file, "order": "selection order (rank)",
                   "epochs": int(selection_frame["epoch"].nunique())},
        "workspace": {"path": str(ws.root), "fingerprint": ws.fingerprint(), "docs_sha256": docs_digest(store)},
        "inputs": inputs,
        "ingests": [{"options": ing.get("options", {}), "files": [f.get("path") for f in ing.get("files", [])],
                     "time": ing.get("time"), "loaded": ing.get("loaded"), "quarantined": ing.get("quarantined"),
                     "unchanged": ing.get("unchanged")} for ing in ingests],
        "references": sorted(references.values(), key=lambda r: (r["kind"], r["name"])),
        "embeddings": embeddings,
        "map": map_info,
        "signals": signals,
        "saved_filters": saved,
        "selection": {"name": selection, "recipe": recipe, "recipe_sha256": canonical_sha256(recipe),
                      "created": selection_meta.get("created"), "ids_sha256": selection_digest(selection_frame),
                      "count": kept},
        "seeds": seeds,
        "packages": package_versions(),
        "counts": {"in": int(total_docs), "kept": int(kept), "unique_kept": int(selection_frame["id"].nunique()),
                   "dropped": int(len(reasons)),
                   "dropped_by_reason": {str(k): int(v) for k, v in by_reason.items()},
                   "quarantined_at_ingest": int(sum(int(i.get("quarantined") or 0) for i in ingests))},
        "files": files,
    }
    if extra:
        manifest.update(extra)
    return manifest


def read_manifest(path: str | Path) -> tuple[Path, dict[str, Any]]:
    path = Path(path).expanduser().resolve()
    if path.is_dir():
        path = path / "manifest.json"
    if not path.is_file():
        raise WinnowError(f"no manifest at {path} (give the manifest.json of an export, or its folder)")
    try:
        m = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise WinnowError(f"{path} is not a readable manifest ({exc})") from None
    if not isinstance(m, dict) or "winnow_manifest" not in m or "files" not in m:
        raise WinnowError(f"{path} is not a Winnow export manifest")
    return path, m


# -- rebuild ---------------------------------------------------------------------------------------
@dataclass
class FileCheck:
    path: str
    expected: str | None
    actual: str | None

    @property
    def match(self) -> bool:
        return self.expected is not None and self.expected == self.actual


@dataclass
class RebuildReport:
    out: Path
    files: list[FileCheck] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)  # what differs from the manifest, named
    notes: list[str] = field(default_factory=list)  # how the rebuild was done
    full: bool = True  # the selection was recomputed from its recipe

    @property
    def identical(self) -> bool:
        return bool(self.files) and all(f.match for f in self.files)

    def lines(self) -> list[str]:
        out = [f"{'OK  ' if f.match else 'DIFF'} {f.path}" + ("" if f.match else
               f"  (expected {(f.expected or 'no such file')[:12]}, got {(f.actual or 'missing')[:12]})")
               for f in self.files]
        out += [f"note: {n}" for n in self.notes]
        out += [f"changed: {c}" for c in self.changes]
        matched = sum(f.match for f in self.files)
        out.append(f"{matched}/{len(self.files)} files identical"
                   + ("" if self.identical else " — the rebuild differs from the export"))
        return out


def rebuild_job_kind(manifest: str | Path) -> str:
    """`rebuild-<export name>`: one job kind per export, so the app shows each export's own check."""
    path = Path(manifest).expanduser().resolve()
    return f"rebuild-{(path.parent if path.suffix == '.json' else path).name}"


def _find_input(recorded: str, name: str, inputs_dir: Path | None) -> Path | None:
    cands = []
    if inputs_dir is not None:
        cands.append(inputs_dir / name)
    if recorded:
        cands.append(Path(recorded))
    return next((c for c in cands if c.exists()), None)


def _selection_runner():
    """core.select's (run_recipe, save_selection) when the selection code is installed, else None."""
    try:
        from core import select
    except ImportError:
        return None
    run, save = getattr(select, "run_recipe", None), getattr(select, "save_selection", None)
    return (run, save) if callable(run) and callable(save) else None


def rebuild(manifest_path: str | Path, out: str | Path | None, *, inputs_dir: str | Path | None = None,
            force: bool = False, keep_workspace: bool = False, progress: Progress = no_progress) -> RebuildReport:
    """Rebuild an export from its manifest into `out`; compare every file's sha256 and name what changed.

    With `out=None` (a check) the rebuilt files go to a temporary folder beside the export and are removed.
    """
    from core.export import check_destination, export_selection, read_selection
    from core.ingest import ingest_paths

    path, m = read_manifest(manifest_path)
    check_only = out is None
    if check_only:
        out = path.parent.parent / f".{path.parent.name}.check"
    out = Path(out).expanduser().resolve()
    if out == path.parent:
        raise WinnowError("rebuild into another folder than the export it checks (--out)")
    if not check_only:
        check_destination(out, force)
    inputs_dir = Path(inputs_dir).expanduser().resolve() if inputs_dir else None
    report = RebuildReport(out)
    from core import __version__

    if m.get("winnow_version") != __version__:
        report.changes.append(f"Winnow version: {m.get('winnow_version')} at export, {__version__} now")
    now = package_versions()
    for pkg, ver in (m.get("packages") or {}).items():
        if now.get(pkg) != ver:
            report.notes.append(f"package {pkg}: {ver} at export, {now.get(pkg, 'not installed')} now")

    # inputs: found, and the same bytes?
    resolved: dict[int, list[Path]] = {}
    for inp in m.get("inputs", []):
        found = _find_input(inp.get("path") or "", inp.get("name") or Path(inp.get("path") or "").name, inputs_dir)
        if found is None:
            raise WinnowError(f"input {inp.get('path')} is missing; put it back or pass --inputs DIR with "
                              f"{inp.get('name')} in it")
        digest = sha256_input(found)
        if digest != inp.get("sha256"):
            report.changes.append(f"input {found} changed (sha256 {str(inp.get('sha256'))[:12]} at export, "
                                  f"{digest[:12]} now)")
        resolved.setdefault(int(inp.get("ingest", 0)), []).append(found)

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp_root = Path(tempfile.mkdtemp(prefix=f".{out.name}.rebuild-", dir=out.parent))  # on the disk the user chose
    if check_only:
        out = report.out = tmp_root / "export"
    try:
        ws = Workspace.create(tmp_root / "ws")
        stages = 3 + len(m.get("signals", []))
        done = 0
        progress(done, stages)
        for n, ing in enumerate(m.get("ingests", [])):
            paths = resolved.get(n, [])
            if not paths:
                continue
            opts = {k: v for k, v in (ing.get("options") or {}).items()
                    if k in ("text_field", "id_field", "label_field", "source", "max_chars")}
            ingest_paths(ws, paths, **opts)
        store = Store(ws)
        done += 1
        progress(done, stages)
        expected_docs = (m.get("workspace") or {}).get("docs_sha256")
        if expected_docs and docs_digest(store) != expected_docs:
            report.changes.append(f"documents: the inputs now give {store.count():,} documents that differ from the "
                                  f"{m['counts']['in']:,} at export (ids or texts)")
        _restore_references(ws, m, inputs_dir, report)
        for name, spec in (m.get("saved_filters") or {}).items():
            if spec is not None:
                write_json(spec, ws.dir("filters") / f"{safe_name(name, 'filter name')}.json")
        _rebuild_embeddings(ws, m, report)
        _restore_map(ws, m, report)
        _rebuild_signals(ws, m, report, lambda: progress(done, stages))
        done += len(m.get("signals", []))
        store.refresh(force=True)
        sel_name = m["selection"]["name"]
        recipe = m["selection"].get("recipe")
        if m["selection"].get("recipe_sha256") and canonical_sha256(recipe) != m["selection"]["recipe_sha256"]:
            report.changes.append("recipe: the manifest's recipe was edited after the export "
                                  f"(now {json.dumps(recipe, sort_keys=True)})")
        runner = _selection_runner()
        if recipe is not None and runner is not None:
            run_recipe, save_selection = runner
            save_selection(ws, sel_name, recipe, store=store)
            report.notes.append(f"selection {sel_name!r} recomputed from its recipe")
        else:
            report.full = False
            _copy_stored_selection(ws, m, sel_name, report)
        _, sel = read_selection(ws, sel_name)
        if selection_digest(sel) != m["selection"].get("ids_sha256"):
            report.changes.append(f"selection {sel_name!r}: the recipe now selects other documents or another order "
                                  f"({len(sel):,} rows, {m['selection'].get('count'):,} at export)")
        done += 1
        progress(done, stages)
        exp = m["export"]
        result = export_selection(
            ws, sel_name, exp["format"], out=out, columns=[c for c in exp["columns"] if c != "id"],
            shard_size=exp.get("shard_size"), force=force, dropped=bool(exp.get("dropped")), store=store,
            extra_manifest={"rebuilt_from": str(path)},
        )
        expected = {f["path"]: f["sha256"] for f in m["files"]}
        actual = {f["path"]: f["sha256"] for f in result.manifest["files"]}
        for p in sorted(set(expected) | set(actual)):
            report.files.append(FileCheck(p, expected.get(p), actual.get(p)))
        store.close()
        progress(stages, stages)
    finally:
        if keep_workspace:
            report.notes.append(f"rebuilt workspace kept at {tmp_root / 'ws'}"
                                + (f", rebuilt files at {out}" if check_only else ""))
        else:
            shutil.rmtree(tmp_root, ignore_errors=True)
    return report


def _restore_references(ws: Workspace, m: dict[str, Any], inputs_dir: Path | None, report: RebuildReport) -> None:
    for ref in m.get("references", []):
        found = _find_input(ref.get("path") or "", f"{ref['name']}.parquet", inputs_dir)
        if found is None:
            raise WinnowError(f"{ref['kind'][:-1]} {ref['name']!r} is missing (was {ref.get('path')}); "
                              f"pass --inputs DIR with {ref['name']}.parquet in it")
        digest = sha256_file(found)
        if digest != ref.get("sha256"):
            report.changes.append(f"{ref['kind'][:-1]} {ref['name']!r} changed ({found})")
        dst = ws.dir(ref["kind"]) / f"{safe_name(ref['name'])}.parquet"
        shutil.copyfile(found, dst)


def _rebuild_embeddings(ws: Workspace, m: dict[str, Any], report: RebuildReport) -> None:
    for emb in m.get("embeddings", []):
        from core.embed import compute_embeddings, model_version

        now = model_version(emb["model"])
        if emb.get("package_version") and now != emb["package_version"]:
            report.changes.append(f"embedding model {emb['model']}: version {emb['package_version']} at export, {now} now")
        compute_embeddings(ws, emb["model"])
        report.notes.append(f"embeddings recomputed with {emb['model']}")


def _restore_map(ws: Workspace, m: dict[str, Any], report: RebuildReport) -> None:
    """Recompute the map with its recorded model, method, clusters and seed (copy it when it cannot be)."""
    info = m.get("map")
    if not info:
        return
    try:
        from core.mapping import build_map
    except ImportError:
        build_map = None
    if build_map is not None and info.get("method"):
        kwargs = {"method": info["method"], "clusters": info.get("clusters"), "seed": int(info.get("seed") or 0)}
        if info.get("fit_sample"):
            kwargs["sample_size"] = int(info["fit_sample"])
        res = build_map(ws, info.get("model"), **kwargs)
        if info.get("values_sha256") and table_digest(res.path) != info["values_sha256"]:
            report.changes.append(f"map ({info.get('model')}, {info['method']}, seed {kwargs['seed']}): "
                                  "recomputed coordinates or clusters differ from the export's")
        report.notes.append(f"map recomputed ({info.get('model')}, {info['method']})")
        return
    src = Path(info["path"])
    if not src.exists() or sha256_file(src) != info.get("sha256"):
        raise WinnowError(f"the selection uses the map, which cannot be recomputed here, and the map it used ({src}) "
                          "is gone or changed")
    shutil.copyfile(src, ws.dir("maps") / src.name)
    report.notes.append(f"map copied from {src} (not recomputed)")


def _rebuild_signals(ws: Workspace, m: dict[str, Any], report: RebuildReport, tick) -> None:
    from core.signals import get
    from core.signals.runner import run_signal

    for s in m.get("signals", []):
        cls = get(s["signal"])
        if str(cls.version) != str(s.get("version")):
            report.changes.append(f"signal {s['key']}: version {s.get('version')} at export, {cls.version} now")
        sig = cls(s.get("params") or {})
        now_params = sig.params.model_dump(mode="json")
        if now_params != (s.get("params") or {}):
            diff = sorted(k for k in set(now_params) | set(s.get("params") or {})
                          if now_params.get(k) != (s.get("params") or {}).get(k))
            report.changes.append(f"signal {s['key']}: parameters {', '.join(diff)} differ from the export's")
        res = run_signal(ws, s["signal"], s.get("params") or {}, target=s.get("target"), benchmark=s.get("benchmark"),
                         force=True)
        if s.get("values_sha256") and table_digest(res.path) != s["values_sha256"]:
            report.changes.append(f"signal {s['key']}: recomputed values differ from the export's "
                                  f"(params {json.dumps(s.get('params') or {}, sort_keys=True)})")
        tick()


def _copy_stored_selection(ws: Workspace, m: dict[str, Any], name: str, report: RebuildReport) -> None:
    """Fallback without core.select: re-export the ids stored in the original workspace, and say so."""
    src = Path((m.get("workspace") or {}).get("path") or "") / "selections"
    ids, meta = src / f"{name}.parquet", src / f"{name}.json"
    if not ids.exists():
        raise WinnowError(f"cannot recompute selection {name!r} (the selection code is not installed) and its stored "
                          f"ids are gone from {src}")
    import pyarrow.parquet as pq

    write_parquet(pq.read_table(ids), ws.dir("selections") / f"{name}.parquet")
    write_json(read_json(meta) or {"name": name, "recipe": m["selection"].get("recipe")},
               ws.dir("selections") / f"{name}.json")
    report.notes.append(f"PARTIAL REBUILD: the selection code (core.select) is not available, so selection {name!r} "
                        f"was NOT recomputed from its recipe; its stored ids were copied from {src}")


