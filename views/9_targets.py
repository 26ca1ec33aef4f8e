"""Targets: the example sets that target-aware scores compare against ("I want data like this"), and
the benchmarks that must not leak into training data. Add one from a file, pasted text or workspace
documents; look at its examples; score the workspace against it (dsir, rds, quality_classifier, or
contamination for a benchmark) as a background job."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
import streamlit as st

from core.errors import WinnowError
from core.targets import (
    add_reference,
    add_reference_text,
    load_reference,
    reference_from_filter,
    reference_info,
    remove_reference,
)
from ui.state import require_workspace

ws, store = require_workspace()
st.title("Targets")
st.caption("A target is a set of example documents a selection should look like (for dsir, rds and "
           "quality_classifier); a benchmark is an evaluation set that must not leak into training data "
           "(for contamination). Each is a file in the workspace: targets/NAME.parquet or benchmarks/NAME.parquet.")

KINDS = {"target": "targets", "benchmark": "benchmarks"}
SIGNALS = {"target": ["dsir", "rds", "quality_classifier"], "benchmark": ["contamination"]}

# -- what exists ------------------------------------------------------------------------------
rows = [r for k in KINDS for r in reference_info(ws, k)]
if rows:
    table = pd.DataFrame([{"kind": r["kind"], "name": r["name"], "examples": r["examples"],
                           "labels": ", ".join(f"{k}: {v}" for k, v in list(r["labels"].items())[:6]),
                           "problem": r["problem"] or ""} for r in rows])
    table = table.drop(columns=[c for c in ("labels", "problem") if not table[c].any()])
    st.dataframe(table, hide_index=True, width="stretch")
else:
    st.info("No targets or benchmarks yet. Add one below: from a file, by pasting examples, or from the "
            "workspace's own documents (e.g. every document with one label).")

# -- adding one ------------------------------------------------------------------------------
with st.expander("Add a target or benchmark", expanded=not rows):
    kind = st.radio("Kind", list(KINDS), horizontal=True, key="targets_kind")
    name = st.text_input("Name", key="targets_name", help="letters, digits, '_', '-' or '.'")
    replace = st.checkbox("Replace one of the same name", key="targets_replace")
    how = st.radio("From", ["pasted text", "a file", "workspace documents"], horizontal=True, key="targets_how")
    try:
        if how == "pasted text":
            text = st.text_area("Examples: one per paragraph (or one per line when there are no blank lines)",
                                height=180, key="targets_text")
            if st.button("Add", key="targets_add_text", type="primary"):
                report = add_reference_text(ws, name, text, kind, replace=replace)
                st.success(report.summary())
        elif how == "a file":
            up = st.file_uploader("JSONL, JSON, CSV, TSV, Parquet or text", key="targets_file",
                                  type=["jsonl", "ndjson", "json", "csv", "tsv", "parquet", "txt", "md", "gz"])
            text_field = st.text_input("Text field (empty: guessed)", key="targets_text_field") or None
            id_field = st.text_input("Id field (empty: row number)", key="targets_id_field") or None
            if st.button("Add", key="targets_add_file", type="primary", disabled=up is None):
                dest = ws.dir("inputs") / "targets" / up.name
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(up.getvalue())
                report = add_reference(ws, name, dest, kind, text_field=text_field, id_field=id_field, replace=replace)
                st.success(report.summary() + "".join(f"; skipped {n} x {r}" for r, n in report.reasons.most_common(3)))
        else:
            labels = [v for v in store.df("SELECT DISTINCT label FROM docs WHERE label IS NOT NULL ORDER BY 1")["label"]]
            sources = [v for v in store.df("SELECT DISTINCT source FROM docs WHERE source IS NOT NULL ORDER BY 1")["source"]]
            pick_labels = st.multiselect("Labels", labels, key="targets_labels")
            pick_sources = st.multiselect("Sources", sources, key="targets_sources")
            limit = st.number_input("At most (0: all)", min_value=0, value=0, step=100, key="targets_limit")
            if st.button("Add", key="targets_add_filter", type="primary"):
                report = reference_from_filter(ws, name, kind, labels=pick_labels or None, sources=pick_sources or None,
                                               limit=int(limit) or None, replace=replace)
                st.success(report.summary())
    except WinnowError as exc:
        st.error(str(exc))

if not rows:
    st.stop()

# -- one of them: examples, scoring, removal ----------------------------------------------------
st.subheader("Look and score")
choice = st.selectbox("Target or benchmark", [f"{r['kind']}: {r['name']}" for r in rows], key="targets_pick")
kind, name = choice.split(": ", 1)
try:
    examples = load_reference(ws, name, KINDS[kind])
except WinnowError as exc:
    st.error(str(exc))
    st.stop()
cols = [c for c in ("id", "label", "text") if c in examples.columns]
preview = examples[cols].head(200).copy()
preview["text"] = preview["text"].str.slice(0, 300)
st.dataframe(preview, hide_index=True, width="stretch", height=240)

signal = st.selectbox("Score every document against it with", SIGNALS[kind], key="targets_signal",
                      help="dsir: hashed n-gram importance weight; rds: max embedding similarity to an example; "
                           "quality_classifier: P(like the target) from a classifier; contamination: 13-gram overlap")
flag = "--target" if kind == "target" else "--benchmark"
try:
    from ui.jobs import job_panel

    job_panel(ws, "score", ["score", signal, flag, name], title=f"Scoring {signal} against {name}", button="Compute",
              key="targets_score", help="runs in the background; the result appears on the Scores page as "
              f"{signal}__{name}")
except WinnowError as exc:
    st.error(str(exc))
sidecar = ws.dir("signals") / f"{signal}__{name}.json"
if sidecar.exists():
    import json

    details = json.loads(sidecar.read_text(encoding="utf-8")).get("details", {})
    figures = {k: v for k, v in details.items() if isinstance(v, int | float) and not isinstance(v, bool)}
    if figures:
        st.caption(f"Last {signal} run against {name}:")
        st.dataframe(pd.DataFrame([figures]), hide_index=True, width="stretch")
    path = ws.dir("signals") / f"{signal}__{name}.parquet"
    if path.exists():
        st.caption(f"{pq.ParquetFile(path).metadata.num_rows:,} documents scored; thresholds and histograms are on "
                   "the Scores page.")

with st.expander(f"Remove {kind} {name}"):
    if st.button("Remove", key="targets_remove"):
        remove_reference(ws, name, KINDS[kind])
        st.rerun()
