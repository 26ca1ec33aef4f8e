"""Export: write a saved selection as Parquet, JSONL, CSV or a Hugging Face datasets folder, with its manifest.

Small exports are written here and offered as a download; large ones run as a background job.
Past exports are listed with their files (rows, sha256) and manifest.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import streamlit as st

from core.errors import WinnowError
from core.export import (
    DEFAULT_COLUMNS,
    FORMATS,
    SMALL_EXPORT_ROWS,
    available_columns,
    export_selection,
    is_export,
    list_exports,
    list_selections,
    read_selection,
    zip_export,
)
from core.jobs import list_jobs
from core.manifest import rebuild_job_kind
from core.select import recipe_for_display
from core.workspace import safe_name
from ui.jobs import job_panel
from ui.state import map_filter_chip, require_workspace

DOWNLOAD_LIMIT = 200 * 1024 * 1024  # bytes: larger exports are only written to their folder
FORMAT_HELP = {
    "parquet": "Parquet (zstd): columns keep their types; the usual choice for training pipelines",
    "jsonl": "JSON Lines: one object per line; meta as a nested object",
    "csv": "CSV with a header row; empty cells for missing values",
    "hf": "a Hugging Face datasets folder (save_to_disk); open it with datasets.load_from_disk",
}

ws, store = require_workspace()
st.title("Export")
st.caption("Write a saved selection, in its order, to files a training job reads — with a manifest.json that "
           "records how it was made and rebuilds it exactly (`python -m core rebuild MANIFEST --out DIR`).")
if map_filter_chip("export") is not None:
    st.caption("An export writes the whole saved selection; the map selection above does not change it.")


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} GB"


def _zip_later(folder: str):
    """The zip, made when the download button is pressed (in Streamlit's download thread), not when the page opens."""
    return lambda: zip_export(Path(folder))


def _past_exports() -> None:
    st.subheader("Past exports")
    exports = list_exports(ws)
    if not exports:
        st.caption("No exports yet.")
        return
    table = pd.DataFrame([{"name": e["name"], "selection": e["selection"], "format": e["format"], "rows": e["rows"],
                           "files": e["files"], "size": _size(e["bytes"]), "created": e["created"]} for e in exports])
    st.dataframe(table, hide_index=True, width="stretch")
    names = [e["name"] for e in exports]
    last = st.session_state.get("export_last")
    if st.session_state.get("export_pick") not in names:
        st.session_state.pop("export_pick", None)
    pick = st.selectbox("Look at an export", names, index=names.index(last) if last in names else 0, key="export_pick")
    e = next(x for x in exports if x["name"] == pick)
    m = e["manifest"]
    st.caption(f"Folder: {e['folder']}")
    files = pd.DataFrame([{"file": f["path"], "kind": f.get("kind"), "epoch": f.get("epoch"), "rows": f.get("rows"),
                           "size": _size(f.get("bytes") or 0), "sha256": f["sha256"]} for f in m["files"]])
    files["rows"] = files["rows"].astype("Int64")
    files["epoch"] = files["epoch"].astype("Int64")
    st.dataframe(files, hide_index=True, width="stretch")
    counts = m.get("counts", {})
    c1, c2, c3 = st.columns(3)
    c1.metric("Documents in", f"{counts.get('in', 0):,}")
    c2.metric("Kept", f"{counts.get('kept', 0):,}")
    c3.metric("Dropped", f"{counts.get('dropped', 0):,}")
    if counts.get("dropped_by_reason"):
        st.dataframe(pd.DataFrame(list(counts["dropped_by_reason"].items()), columns=["drop reason", "documents"]),
                     hide_index=True)
    if e["bytes"] <= DOWNLOAD_LIMIT:
        st.download_button(f"Download {pick}.zip ({_size(e['bytes'])} before compression)",
                           data=_zip_later(e["folder"]), file_name=f"{pick}.zip",
                           mime="application/zip", key="export_download", icon=":material/download:")
    else:
        st.caption(f"Too large to download from the browser ({_size(e['bytes'])}); the files are in {e['folder']}.")
    with st.expander("manifest.json"):
        st.code(json.dumps(m, indent=2, sort_keys=True, ensure_ascii=False), language="json")
    manifest_path = str(Path(e["folder"]) / "manifest.json")
    st.markdown("**Does it rebuild?**")
    st.caption("Re-ingest the inputs, recompute the signals and the selection from the manifest, export again and "
               f"compare every file's sha256 (the same as `python -m core rebuild {manifest_path} --check`).")
    kind = rebuild_job_kind(manifest_path)
    job_panel(ws, kind, ["rebuild", manifest_path, "--check"], title=f"Rebuild {pick}",
              button="Rebuild and compare hashes", key=f"rebuild_{pick}")
    done = next((j for j in list_jobs(ws, limit=50, kind=kind)
                 if j.get("status") == "done" and (j.get("result") or {}).get("manifest") == manifest_path), None)
    if done:
        res = done["result"]
        if res.get("identical"):
            st.success(f"Rebuilt {done.get('ended')}: {res['lines'][-1]}.")
        else:
            st.error(f"Rebuilt {done.get('ended')}: the rebuild differs from the export.")
        st.code("\n".join(res.get("lines", [])), language=None)


selections = list_selections(ws)
if not selections:
    st.info("No selections yet: build one on the Select page (or with `python -m core select`), then export it here.")
    _past_exports()
    st.stop()

left, right = st.columns([3, 2])
with left:
    name = st.selectbox("Selection", selections, key="export_selection")
    try:
        meta, sel = read_selection(ws, name)
    except WinnowError as exc:
        st.error(str(exc))
        st.stop()
    recipe = meta.get("recipe") or {}
    epochs = int(sel["epoch"].nunique()) if len(sel) else 0
    m1, m2, m3 = st.columns(3)
    m1.metric("Rows", f"{len(sel):,}")
    m2.metric("Strategy", str(recipe.get("strategy", "?")))
    m3.metric("Epochs", f"{epochs}")
    if epochs > 1:
        st.caption("An RS2 selection: one file (or set of shards) per epoch.")
with right:
    st.caption("Recipe")
    st.code(json.dumps(recipe_for_display(recipe), sort_keys=True, ensure_ascii=False), language="json",
            wrap_lines=True)
    if meta.get("created"):
        st.caption(f"Saved {meta['created']}")

FORMAT_LABEL = {"parquet": "Parquet", "jsonl": "JSONL", "csv": "CSV", "hf": "HF datasets"}
fmt = st.radio("Format", FORMATS, key="export_format", horizontal=True, format_func=FORMAT_LABEL.get,
               help="\n\n".join(f"**{k}**: {v}" for k, v in FORMAT_HELP.items()))
choices = available_columns(store)
columns = st.multiselect("Columns (id is always first)", choices, default=[c for c in DEFAULT_COLUMNS if c in choices],
                         key="export_columns", help="document fields and any score column (<signal>__<column>)")
c1, c2 = st.columns(2)
shard = c1.number_input("Rows per file (0: one file)", min_value=0, value=0, step=1000, key="export_shard",
                        help="split large exports into shards of at most this many rows")
export_name = c2.text_input("Export name", value=name, key=f"export_name_{name}",
                            help="the folder under the workspace's exports/")
dropped = st.checkbox("Also export the dropped documents with their drop reason (for auditing)", key="export_dropped")

try:
    export_name = safe_name(export_name, "export name")
except WinnowError as exc:
    st.error(str(exc))
    st.stop()
dest = ws.dir("exports") / export_name
exists = dest.exists() and any(dest.iterdir())
force = False
if exists:
    if not is_export(dest):
        st.error(f"{dest} holds files that are not an export; choose another name.")
        st.stop()
    st.warning(f"An export named **{export_name}** already exists. Exporting again replaces it.")
    force = st.checkbox("Replace the existing export", key=f"export_confirm_{export_name}")

rows = len(sel) + (store.count() - sel["id"].nunique() if dropped else 0)
shard_size = int(shard) or None
if rows <= SMALL_EXPORT_ROWS:
    if st.button("Export", type="primary", key="export_go", disabled=exists and not force, icon=":material/save:"):
        bar = st.progress(0.0, text="Exporting")
        try:
            result = export_selection(ws, name, fmt, name=export_name, columns=columns, shard_size=shard_size,
                                      force=force, dropped=dropped, store=store,
                                      progress=lambda d, t: bar.progress(min(1.0, d / t) if t else 1.0,
                                                                         text=f"Exporting {d:,}/{t:,} rows"))
        except WinnowError as exc:
            bar.empty()
            st.error(str(exc))
        else:
            bar.empty()
            st.session_state["export_last"] = export_name
            st.session_state["export_pick"] = export_name  # show the new export below
            st.session_state["export_done"] = (f"Exported {result.rows:,} rows to {result.folder} "
                                               f"({len([f for f in result.files if f['kind'] != 'hf-meta'])} file(s) "
                                               "and manifest.json).")
            st.rerun()
else:
    st.caption(f"{rows:,} rows: the export runs as a background job and writes to {dest}.")
    argv = ["export", "--selection", name, "--format", fmt, "--name", export_name]
    argv += ["--columns", ",".join(columns) or "id"]  # no column chosen: ids only, as in-process
    if shard_size:
        argv += ["--shard-size", str(shard_size)]
    if dropped:
        argv.append("--dropped")
    if force:
        argv.append("--force")
    job_panel(ws, "export", argv, title=f"Export {name} as {fmt}", button="Export", key="export",
              disabled=exists and not force)
if st.session_state.get("export_done"):
    st.success(st.session_state.pop("export_done"))

st.divider()
_past_exports()
