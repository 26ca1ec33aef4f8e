"""Overview: what is in this workspace: size, sources, labels, fields, lengths, and what could not be read."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core import overview
from ui.state import require_workspace

ws, store = require_workspace()


@st.cache_data(show_spinner=False, max_entries=8)
def _quarantine(root: str, signature: tuple) -> pd.DataFrame:
    return overview.quarantine_summary(ws)


# The figures about the documents are computed once per state of the document files (and kept in the
# workspace's .cache for a large corpus); the rest is a directory listing.
docs_fig = overview.doc_figures(store)
info = overview.info(ws, store)
fig = {
    "fields": pd.DataFrame(docs_fig["fields"], columns=["field", "kind", "present"]),
    "chars": pd.DataFrame(docs_fig["hist_chars"], columns=["lo", "hi", "count"]),
    "words": pd.DataFrame(docs_fig["hist_words"], columns=["lo", "hi", "count"]),
    "quarantine": _quarantine(str(ws.root), tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns)
                                                  for p in ws.quarantine_files())),
}

st.title("Overview")
st.caption(f"Workspace `{ws.root}`")

if info["documents"] == 0:
    st.warning("This workspace has no documents yet. Ingest a file from the sidebar or with "
               "`python -m core ingest FILE --workspace " + str(ws.root) + "`.")

c1, c2, c3, c4, c5 = st.columns(5)
c1.metric("Documents", f"{info['documents']:,}")
c2.metric("Sources", f"{len(info['sources']):,}")
labelled = {k: v for k, v in info["labels"].items() if k != "(none)"}
c3.metric("Labels", f"{len(labelled):,}", help="distinct class labels (documents without one are not counted)")
c4.metric("Words", f"{info['words']:,}", help=f"{info['characters']:,} characters")
c5.metric("Quarantined rows", f"{info['quarantined']:,}", help="rows that could not be read; see below")


def _bar(counts: dict[str, int], title: str) -> go.Figure:
    items = sorted(counts.items(), key=lambda kv: kv[1])
    figure = go.Figure(go.Bar(x=[v for _, v in items], y=[k for k, _ in items], orientation="h",
                              hovertemplate="%{y}: %{x:,} documents<extra></extra>"))
    figure.update_layout(title=title, height=max(180, 32 * len(items) + 80), margin=dict(l=10, r=10, t=40, b=10),
                         xaxis_title="documents", yaxis_type="category")
    return figure


left, right = st.columns(2)
with left:
    if info["sources"]:
        st.plotly_chart(_bar(info["sources"], "Documents per source"), width="stretch")
with right:
    if info["labels"]:
        st.plotly_chart(_bar(info["labels"], "Documents per label"), width="stretch")


def _histogram(df: pd.DataFrame, what: str) -> go.Figure:
    figure = go.Figure(go.Bar(
        x=[(lo * hi) ** 0.5 for lo, hi in zip(df["lo"], df["hi"], strict=True)], y=df["count"],
        width=[hi - lo for lo, hi in zip(df["lo"], df["hi"], strict=True)],
        customdata=list(zip(df["lo"], df["hi"], strict=True)),
        hovertemplate=f"%{{customdata[0]:,.0f}}–%{{customdata[1]:,.0f}} {what}: %{{y:,}} documents<extra></extra>",
    ))
    figure.update_layout(title=f"Length in {what} (log scale)", xaxis_type="log", xaxis_title=what,
                         yaxis_title="documents", height=320, margin=dict(l=10, r=10, t=40, b=10), bargap=0)
    return figure


if info["documents"]:
    left, right = st.columns(2)
    left.plotly_chart(_histogram(fig["words"], "words"), width="stretch")
    right.plotly_chart(_histogram(fig["chars"], "characters"), width="stretch")

    st.subheader("Fields")
    fields = fig["fields"].copy()
    st.dataframe(fields, hide_index=True, width="stretch", column_config={
        "present": st.column_config.ProgressColumn("present in", format="percent", min_value=0, max_value=1),
    })

st.subheader("Quarantine")
quarantine = fig["quarantine"]
if quarantine.empty:
    st.success("Every row of every ingested file could be read.")
else:
    st.write(f"{info['quarantined']:,} rows could not be read. They are kept in `quarantine/` with their file, "
             "row and reason; everything else loaded.")
    for row in quarantine.itertuples():
        with st.expander(f"{row.reason}: {row.rows:,} rows"):
            examples = pd.DataFrame(list(row.examples))
            st.dataframe(examples, hide_index=True, width="stretch")

with st.expander("What has been computed"):
    computed = {
        "signals": info["signals"], "embeddings": info["embeddings"], "maps": info["maps"],
        "targets": info["targets"], "benchmarks": info["benchmarks"], "selections": info["selections"],
    }
    st.dataframe(pd.DataFrame({"kind": list(computed), "names": [", ".join(v) or "—" for v in computed.values()]}),
                 hide_index=True, width="stretch")
