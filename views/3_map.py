"""Map: every document as a point (embedding -> 2-D), coloured by cluster, source, label or a score.

A box or lasso selection on the map, or a click on a cluster in the table, becomes the map filter that
Browse and the other pages apply. Building the map (embeddings, projection, clusters) runs as background
jobs; this page only reads `maps/` and the Store, so a rerun never computes a projection.
"""

from __future__ import annotations

import hashlib
import html

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core import map_view as mv
from core.embed import MODELS, available_models, embeddings_info
from core.errors import WinnowError
from core.mapping import DEFAULT_SAMPLE, MAX_AUTO_K, load_clusters, map_info, select_region
from ui.jobs import job_panel
from ui.state import map_filter, map_filter_chip, require_workspace, set_map_filter

# Above SCATTER_LIMIT documents the map is a density image of all of them with a sample of points over it
# (WINNOW_MAP_POINTS changes the limit; see core/map_view.py for the measurements behind the numbers).
SCATTER_LIMIT = mv.scatter_limit()
OVERLAY_SAMPLE = mv.overlay_sample(SCATTER_LIMIT)
MAX_CATEGORIES = 40  # colour categories shown in the legend (auto K is at most 40); the rest are "other"
PALETTE = [
    "#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#EECA3B", "#B279A2", "#FF9DA6", "#9D755D",
    "#79706E", "#1F77B4", "#D62728", "#2CA02C", "#9467BD", "#8C564B", "#E377C2", "#17BECF", "#BCBD22",
    "#393B79", "#637939", "#8C6D31", "#843C39", "#7B4173", "#3182BD", "#E6550D", "#31A354", "#756BB1",
    "#636363", "#6BAED6", "#FD8D3C", "#74C476", "#9E9AC8", "#969696", "#AD494A", "#A55194", "#CEDB9C",
    "#E7BA52", "#5254A3", "#BD9E39", "#D6616B",
]
OTHER_COLOUR = "#C7C7C7"

ws, store = require_workspace()
st.title("Map")
map_filter_chip("map")


# -- building: embeddings, then the map (both background jobs) ------------------------------------
def build_controls(has_map: bool) -> None:
    embedded = available_models(ws)
    left, right = st.columns(2)
    with left:
        st.markdown("**1 · Embeddings**")
        model = st.selectbox("Embedding model", list(MODELS), key="map_embed_model",
                             format_func=lambda m: f"{m} ({MODELS[m].dim}-d{', fast' if m == 'static' else ', slower'})",
                             help="static: model2vec static model, thousands of documents a second. "
                                  "minilm: all-MiniLM-L6-v2, better on meaning, much slower on a CPU.")
        info = embeddings_info(ws, model) if model in embedded else None
        if info:
            st.caption(f"✓ {info.get('count', 0):,} documents embedded with {model} ({info.get('time', '')})")
        else:
            st.caption(f"No {model} embeddings yet.")
        job_panel(ws, "embed", ["embed", "--model", model], title=f"Embedding documents ({model})",
                  button="Compute embeddings" if not info else "Update embeddings", key="map_embed",
                  help="runs in the background; cached vectors are reused, so only new documents are embedded")
    with right:
        st.markdown("**2 · Map**")
        c1, c2 = st.columns(2)
        method = c1.radio("Projection", ["umap", "pca"], key="map_method", horizontal=True,
                          format_func=str.upper,
                          help=f"UMAP shows neighbourhoods (about a minute the first time: its code compiles); "
                               f"PCA is instant but flatter. Fitted on up to {DEFAULT_SAMPLE:,} documents, "
                               "the rest are placed by the fitted projection.")
        k = c2.number_input("Clusters (0 = auto)", min_value=0, max_value=500, value=0, step=1, key="map_k",
                            help=f"k-means on the embeddings; auto = clip(round(√(n/4)), 2, {MAX_AUTO_K})")
        map_model = model if model in embedded else (embedded[0] if embedded else model)
        argv = ["map", "--model", map_model, "--method", method, "--clusters", str(int(k)) if k else "auto"]
        job_panel(ws, "map", argv, title=f"Building the map ({method.upper()}, {map_model})",
                  button="Rebuild the map" if has_map else "Build the map", key="map_build",
                  disabled=not embedded, help=None if embedded else "compute embeddings first")


active = store.active_map_file()
if not mv.has_map(store):
    st.info("There is no map of this workspace yet. A map needs an embedding of every document (step 1), "
            "then a 2-D projection with named clusters (step 2). Both run in the background; "
            "the map appears here when they finish.", icon=":material/scatter_plot:")
    build_controls(has_map=False)
    st.stop()

model = active.stem
info = map_info(ws, model) or {}


# -- data: core.map_view computes (once per state of the files, shared by every session: store.memo; the
# drawn points with their hover snippets, the clusters' sample documents and the layout are kept in the
# workspace's .cache, where a map job has usually put them already; nothing here projects or clusters) --
@st.cache_data(show_spinner=False, max_entries=4)
def filter_points(root: str, signature: tuple, digest: str, _ids: list[str], limit: int, lines: int) -> pd.DataFrame:
    """The map filter's own points (drawn over the density image of a large map). Reading their texts is a
    pass over the texts, so it is done once per filter (keyed by a digest of its ids), not on every rerun."""
    return mv.filter_points(store, _ids, limit, lines)


@st.cache_data(show_spinner=False, max_entries=16)
def colour_values(root: str, signature: tuple, column: str, limit: int) -> pd.Series:
    return mv.colour_values(store, column, limit)


@st.cache_data(show_spinner=False, max_entries=4)
def clusters_table(root: str, signature: tuple, model: str) -> pd.DataFrame:
    return load_clusters(ws, model).to_pandas()


sig = store.signature
root = str(ws.root)
shape = mv.layout(store, SCATTER_LIMIT)
n = shape["n"]
big = n > SCATTER_LIMIT
limit, hover_lines = mv.drawn_settings(n, SCATTER_LIMIT)  # the defaults a map job prepared the figures with
try:
    clusters = clusters_table(root, sig, model)
except WinnowError as exc:
    st.error(str(exc))
    build_controls(has_map=True)
    st.stop()
cluster_name = dict(zip(clusters["cluster"].astype(int), clusters["name"], strict=True))

proj, clu = info.get("projection", {}), info.get("clusters", {})
fit_note = f", fitted on {proj.get('fit_sample', 0):,}" if proj.get("fit_sample", n) < n else ""
st.caption(
    f"{n:,} documents · {model} embeddings · {str(proj.get('method', '?')).upper()}{fit_note} · "
    f"{len(clusters)} clusters (k-means, {'auto' if clu.get('k_chosen') == 'auto' else 'chosen'}) · "
    f"built {info.get('time', '?')}"
)
total_docs = store.count()
if info.get("docs") and not ws.same_docs(info["docs"]):
    missing = total_docs - n
    st.warning((f"The documents changed after this map was built: {missing:,} of {total_docs:,} are not on it. "
                if missing > 0 else
                "The document files changed after this map was built (re-ingested, edited or copied), so some "
                "points may be out of date. ") + "Update the embeddings and rebuild the map below.")

# -- controls -------------------------------------------------------------------------------------
facets = store.df("SELECT count(DISTINCT source) AS sources, count(label) AS labelled FROM docs").iloc[0]
colour_options = ["cluster", "source"] + (["label"] if int(facets["labelled"]) else [])
colour_options += [c for c in store.score_columns if not c.startswith("map__")]
c1, c2, c3 = st.columns([2, 2, 3])
colour = c1.selectbox("Colour by", colour_options, key="map_colour",
                      help="cluster, source, label, or any computed score column")
highlight = c2.toggle("Dim points outside the filter", value=True, key="map_dim", disabled=map_filter() is None)
c3.caption("Drag on the map to select an area (box; the lasso is in the toolbar). The selection filters Browse "
           "and the other pages. Scroll to zoom, double-click to zoom out.")

# -- the figure -----------------------------------------------------------------------------------
mf = map_filter()
points = mv.drawn_points(store, limit, hover_lines)
sampled = len(points)
if big and mf and highlight:  # the filter's own points, not only those that happen to be in the sample
    digest = hashlib.sha1("\n".join(map(str, mf["ids"])).encode()).hexdigest()
    extra = filter_points(root, sig, digest, mf["ids"], OVERLAY_SAMPLE, hover_lines)
    points = pd.concat([points, extra[~extra["id"].isin(points["id"])]], ignore_index=True)
points = points.copy()
names = {c: f"{int(c)} · {cluster_name.get(int(c), '?')}" for c in points["cluster"].dropna().unique()}
points["cluster_name"] = points["cluster"].map(names)
escaped = {c: html.escape(str(v), quote=False) for c, v in names.items()}
points["hover"] = [
    f"<b>{html.escape(str(i), quote=False)}</b> · {escaped.get(c, '?')}<br>{html.escape(str(src), quote=False)}<br>{h}"
    for i, c, src, h in zip(points["id"], points["cluster"], points["source"], points["hover_snippet"], strict=True)
]
marker_size = 7 if len(points) <= 2_000 else 5 if len(points) <= 20_000 else 3 if len(points) <= 100_000 else 2

fig = go.Figure()
if big:
    grid = shape["density"]
    counts, xc, yc = np.asarray(grid["counts"], dtype=float), np.asarray(grid["x"]), np.asarray(grid["y"])
    z = np.where(counts > 0, np.log1p(counts), np.nan)
    fig.add_trace(go.Heatmap(z=z, x=xc, y=yc, colorscale="Greys", showscale=False, hoverinfo="skip", zsmooth="best",
                             opacity=0.85, name="all documents (density)"))

if mf and highlight:
    inside = points["id"].isin(set(mf["ids"]))
    outside = points[~inside]
    if len(outside):
        fig.add_trace(go.Scattergl(x=outside["x"], y=outside["y"], mode="markers", name="outside the filter",
                                   marker={"size": marker_size, "color": "#DDDDDD", "opacity": 0.5},
                                   hovertext=outside["hover"], customdata=outside["id"],
                                   hovertemplate="%{hovertext}<extra></extra>"))
    points = points[inside]


def categorical(values: pd.Series, order: list | None = None) -> None:
    counts = values.value_counts()
    cats = order if order is not None else counts.index.tolist()
    shown = cats[:MAX_CATEGORIES]
    for i, cat in enumerate([*shown, None]):
        mask = ~values.isin(shown) if cat is None else values == cat
        if not mask.any():
            continue
        part = points[mask.to_numpy()]
        colour_hex = OTHER_COLOUR if cat is None else PALETTE[i % len(PALETTE)]
        label = f"other ({len(cats) - len(shown)} more)" if cat is None else str(cat)
        fig.add_trace(go.Scattergl(
            x=part["x"], y=part["y"], mode="markers", name=label[:40], hovertext=part["hover"], customdata=part["id"],
            marker={"size": marker_size, "color": colour_hex, "opacity": 0.8, "line": {"width": 0}},
            hovertemplate="%{hovertext}<extra></extra>",
        ))


if colour == "cluster":
    order = [f"{c} · {cluster_name[c]}" for c in sorted(cluster_name)]
    categorical(points["cluster_name"], order)
elif colour in ("source", "label"):
    categorical(points[colour].astype(str))
else:
    values = colour_values(root, sig, colour, limit).reindex(points["id"])
    if values.isna().any() and big:  # filter points outside the cached sample
        more = mv.colour_values(store, colour, ids=points["id"][values.isna().to_numpy()].tolist())
        values = values.combine_first(more).reindex(points["id"])
    values = values.reset_index(drop=True)
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if numeric:
        vals = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
        missing = np.isnan(vals)
        if missing.any():
            part = points[missing]
            fig.add_trace(go.Scattergl(x=part["x"], y=part["y"], mode="markers", name="no value",
                                       marker={"size": marker_size, "color": OTHER_COLOUR, "opacity": 0.6},
                                       hovertext=part["hover"], customdata=part["id"],
                                       hovertemplate="%{hovertext}<extra></extra>"))
        part = points[~missing]
        shown_vals = vals[~missing]
        hover = [f"{h}<br>{html.escape(colour)} = {v:.4g}" for h, v in zip(part["hover"], shown_vals, strict=True)]
        lo, hi = (np.nanpercentile(shown_vals, [2, 98]) if len(shown_vals) else (0.0, 1.0))
        fig.add_trace(go.Scattergl(
            x=part["x"], y=part["y"], mode="markers", name=colour, hovertext=hover, customdata=part["id"],
            marker={"size": marker_size, "color": shown_vals, "colorscale": "Viridis", "cmin": lo, "cmax": hi,
                    "opacity": 0.85, "colorbar": {"title": {"text": colour.split("__")[-1]}, "thickness": 14}},
            hovertemplate="%{hovertext}<extra></extra>", showlegend=False,
        ))
    else:
        categorical(values.astype(str).where(values.notna(), "(none)"))

# The first view (see layout): stops short of small far-away groups; Autoscale shows every point.
view: dict[str, list[float]] = shape["view"]
outside_view = shape["outside"]

fig.update_layout(
    height=680, margin={"l": 0, "r": 0, "t": 10, "b": 0}, plot_bgcolor="white", paper_bgcolor="white",
    dragmode="select", hovermode="closest", uirevision=f"{model}-{sig}",
    legend={"title": {"text": colour}, "itemsizing": "constant", "font": {"size": 11}, "yanchor": "top", "y": 0.95,
            "bgcolor": "rgba(255,255,255,0.8)"},
    xaxis={"visible": False, **({"range": view["x"]} if "x" in view else {})},
    yaxis={"visible": False, **({"range": view["y"]} if "y" in view else {})},
    hoverlabel={"bgcolor": "white", "font": {"size": 12}, "align": "left"},
)


def on_map_select() -> None:
    event = st.session_state.get("map_chart")
    selection = (event or {}).get("selection") or {}
    boxes, lassos = list(selection.get("box") or []), list(selection.get("lasso") or [])
    if boxes or lassos:
        ids_all, xs_all, ys_all, _ = mv.all_points(store)  # every point, read when a selection is made
        chosen = ids_all[select_region(xs_all, ys_all, boxes, lassos)].tolist()
        label = "lasso on the map" if lassos else "box on the map"
    else:
        chosen = []
        for p in selection.get("points") or []:
            cd = p.get("customdata")
            chosen.append(cd[0] if isinstance(cd, list) else cd)
        chosen = [c for c in chosen if c is not None]
        label = f"{len(chosen)} point(s) picked on the map"
    if chosen:
        set_map_filter(chosen, label)


if big:
    st.caption(f"{n:,} documents: the grey image shows where all of them lie; {sampled:,} sampled points are "
               "drawn over it. Selections include every document inside the area, not only the drawn points.")
st.plotly_chart(fig, key="map_chart", on_select=on_map_select, selection_mode=("box", "lasso", "points"),
                config={"scrollZoom": True, "displaylogo": False})
if outside_view:
    st.caption(f"{outside_view:,} outlying points (small groups far from the rest) are outside this view: "
               "Autoscale in the chart's toolbar shows them.")

if mf:
    sel_ids = mf["ids"]
    b1, b2 = st.columns([4, 1])
    in_clusters = store.df("""SELECT map__cluster AS cluster, count(*) AS n FROM scores
                              WHERE id IN (SELECT unnest(?::VARCHAR[])) GROUP BY 1 ORDER BY 2 DESC LIMIT 3""", [sel_ids])
    parts = [f"{int(r.n):,} in {int(r.cluster)} · {cluster_name.get(int(r.cluster), '?')}"
             for r in in_clusters.itertuples() if pd.notna(r.cluster)]
    b1.caption(f"Selection: {len(sel_ids):,} documents" + (f" — {'; '.join(parts)}" if parts else ""))
    if b2.button("Open in Browse", key="map_open_browse", icon=":material/search:", width="stretch"):
        st.switch_page("views/2_browse.py")

# -- clusters -------------------------------------------------------------------------------------
st.subheader("Clusters")
st.caption("Named by each cluster's most distinctive words (class-based TF-IDF). Click a row to filter every "
           "page to that cluster.")
table = clusters.assign(
    share=clusters["size"] / max(int(clusters["size"].sum()), 1),
    top_words=clusters["top_words"].map(lambda w: ", ".join(list(w))),
)[["cluster", "name", "size", "share", "top_words"]]


def on_cluster_row() -> None:
    rows = st.session_state["map_cluster_table"].selection.rows
    if rows:
        c = int(table.iloc[rows[0]]["cluster"])
        st.session_state["map_cluster"] = c
        filter_to_cluster(c)


def filter_to_cluster(c: int) -> None:
    ids = store.df("SELECT id FROM scores WHERE map__cluster = ?", [c])["id"].tolist()
    set_map_filter(ids, f"cluster {c}: {cluster_name.get(c, '?')}")


st.dataframe(table, key="map_cluster_table", on_select=on_cluster_row, selection_mode="single-row",
             hide_index=True, width="stretch", height=min(38 + 35 * len(table), 400), column_config={
                 "cluster": st.column_config.NumberColumn("#", width=40),
                 "name": st.column_config.TextColumn("name", width="medium"),
                 "size": st.column_config.NumberColumn("documents", format="%d", width="small"),
                 "share": st.column_config.ProgressColumn("share", format="percent", min_value=0.0, width="small",
                                                          max_value=float(table["share"].max() or 1.0)),
                 "top_words": st.column_config.TextColumn("top words", width="large"),
             })

options = table["cluster"].astype(int).tolist()
if st.session_state.get("map_cluster") not in options:
    st.session_state["map_cluster"] = options[0]
left, right = st.columns([1, 2])
with left:
    c = st.selectbox("Look at a cluster", options, key="map_cluster", format_func=lambda c: f"{c} · {cluster_name[c]}")
    row = table[table["cluster"] == c].iloc[0]
    m1, m2 = st.columns(2)
    m1.metric("Documents", f"{int(row['size']):,}")
    m2.metric("Share", f"{row['share']:.1%}")
    st.caption("Top words: " + row["top_words"])
    if st.button("Filter to this cluster", key="map_filter_cluster", icon=":material/filter_alt:", width="stretch"):
        filter_to_cluster(c)
        st.rerun()
    if st.button("Open it in Browse", key="map_cluster_browse", icon=":material/search:", width="stretch"):
        filter_to_cluster(c)
        st.switch_page("views/2_browse.py")
with right:
    samples = mv.cluster_samples(store, limit, hover_lines)
    sample = samples.loc[samples["cluster"] == c, ["id", "source", "text"]].reset_index(drop=True)
    st.dataframe(sample, hide_index=True, width="stretch", key="map_cluster_sample", height=38 + 35 * len(sample),
                 column_config={"id": st.column_config.TextColumn("id", width="small"),
                                "source": st.column_config.TextColumn("source", width="small"),
                                "text": st.column_config.TextColumn("sample documents", width="large")})

with st.expander("Rebuild the map (another model, projection or number of clusters)"):
    build_controls(has_map=True)
