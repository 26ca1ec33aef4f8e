"""Select: build a recipe (filters + a strategy + a size) with widgets, see what it selects at once, save it.

Everything is computed by core (core/select.py, core/strategies.py); this page only draws. The recipe
shown under the builder is what `python -m core select --recipe FILE` reads.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.compare import numeric_score_columns
from core.compare_view import view_range
from core.embed import available_models
from core.errors import WinnowError
from core.recipe import STRATEGIES, STRATEGY_HELP, parse_recipe_text, validate_recipe
from core.scorecols import group_signals, target_keys
from core.select import (
    Selection,
    build_pool,
    delete_selection,
    duplicate_selection,
    first_ids,
    preview_map_points,
    recipe_for_display,
    run_recipe,
    save_selection,
    selection_paths,
    selection_stats,
    selection_table,
)
from core.workspace import read_json
from ui.state import map_filter, map_filter_chip, require_workspace

SAMPLE_ROWS = 20
MAP_POINTS = 30_000  # points drawn at most: above, the same random share of selected and other documents
MAP_PICKED_MIN = 5_000  # a small selection is drawn whole (up to this many) even when the others are sampled

ws, store = require_workspace()
st.title("Select")
st.caption("Build a named subset: which documents may be picked (filters), how to pick them (a strategy), and how "
           "many. The preview updates as you change the recipe; save it to compare or export it.")
map_ids = map_filter_chip("select")


@st.cache_data(show_spinner=False, max_entries=4)
def _choices(root: str, signature: tuple) -> dict:
    from core.filters import list_filters

    facets = store.df("SELECT DISTINCT source FROM docs WHERE source IS NOT NULL ORDER BY 1")
    labels = store.df("SELECT DISTINCT label FROM docs WHERE label IS NOT NULL ORDER BY 1")
    return {
        "sources": facets["source"].astype(str).tolist(),
        "labels": labels["label"].astype(str).tolist(),
        "filters": [f["name"] for f in list_filters(ws) if not f["problem"]],
        "scores": numeric_score_columns(store),
        "dsir": target_keys(store, "dsir"),
        "rds": target_keys(store, "rds"),
        "influence": [c for c in numeric_score_columns(store) if c.startswith("influence")],
        "groups": group_signals(store),
        "has_map": "map__cluster" in store.score_columns,
    }


@st.cache_data(show_spinner=False, max_entries=16)
def _preview(root: str, signature: tuple, recipe_json: str) -> tuple[pd.DataFrame, int, dict]:
    sel = run_recipe(ws, json.loads(recipe_json), store)
    return sel.rows, sel.pool_size, selection_stats(store, sel.rows)


@st.cache_data(show_spinner=False, max_entries=16)
def _pool_size(root: str, signature: tuple, filters_json: str) -> int:
    try:
        return len(build_pool(ws, store, validate_recipe({"strategy": "all", "filters": json.loads(filters_json)}).filters))
    except WinnowError:
        return 0


@st.cache_data(show_spinner=False, max_entries=16)
def _head_docs(root: str, signature: tuple, recipe_json: str, _head: pd.DataFrame) -> pd.DataFrame:
    """The first rows of a preview with their documents. Finding 20 texts scans the text column (0.2-0.7 s at
    1M documents), so they are kept per recipe, also in the workspace's .cache: a restarted app opens the
    page's default preview without reading texts."""

    def build() -> pd.DataFrame:
        cur = store.cursor()
        try:
            cur.register("_head", _head)
            return cur.execute("SELECT h.rank, h.epoch, d.id, d.source, d.label, d.n_words AS words, "
                               "left(d.text, 300) AS text FROM _head h JOIN docs d USING (id) ORDER BY h.rank").df()
        finally:
            cur.close()

    rows = "\x1f".join(f"{r.rank}:{r.epoch}:{r.id}" for r in _head.itertuples())
    return store.memo(f"select_head_{hashlib.sha1(rows.encode()).hexdigest()[:16]}", build, on="docs", persist="parquet")


@st.cache_data(show_spinner=False, max_entries=8)
def _map_points(root: str, signature: tuple, recipe_json: str, _ids: pd.Series) -> tuple[pd.DataFrame, int, int]:
    return preview_map_points(store, _ids, MAP_POINTS, MAP_PICKED_MIN)


choices = _choices(str(ws.root), store.signature)


def _compact(n: int) -> str:
    for size, unit in ((1e9, "B"), (1e6, "M"), (1e4, "k")):
        if n >= size:
            return f"{n / size:.1f}{unit}" if unit != "k" else f"{n / 1e3:.0f}k"
    return f"{n:,}"


def _score_pick(label: str, key: str, options: list[str], help: str | None = None, optional: bool = False):
    if not options:
        st.warning(f"{label}: no score computed yet. Compute signals on the Scores page (or `python -m core score`).")
        return None
    if optional:
        return st.selectbox(label, options, index=None, key=key, help=help, placeholder="none (random)")
    return st.selectbox(label, options, key=key, help=help)


def strategy_params(strategy: str, prefix: str) -> dict:
    """Widgets for a strategy's parameters; returns the recipe keys they set."""
    p: dict = {}
    k = f"sel_{prefix}"
    if strategy in ("top_k", "gumbel_top_k"):
        p["score"] = _score_pick("Score", f"{k}_score", choices["scores"])
        if st.checkbox("Prefer low values", key=f"{k}_ascending", help="take the lowest values instead of the highest"):
            p["ascending"] = True
        if strategy == "gumbel_top_k":
            p["temperature"] = st.number_input("Temperature", 0.01, 100.0, 1.0, key=f"{k}_temp",
                                               help="sampling ∝ exp(score / T): low T ≈ top-k, high T ≈ random")
    elif strategy == "dsir":
        if not choices["dsir"]:
            st.warning("DSIR needs its signal computed against a target: Scores page, or "
                       "`python -m core score dsir --target NAME`.")
        p["target"] = st.selectbox("Target", choices["dsir"], key=f"{k}_target",
                                   help="the target the dsir signal was computed against")
        p["min_tokens"] = int(st.number_input("Drop documents shorter than (tokens)", 0, 100_000, 100, key=f"{k}_min",
                                              help="the DSIR reference drops documents under 100 tokens"))
    elif strategy == "mates":
        opts = choices["influence"] or choices["scores"]
        p["score"] = _score_pick("Predicted influence", f"{k}_score", opts,
                                 help="the influence signal's predicted loss change (lower helps more)")
        p["temperature"] = st.number_input("Temperature", 0.01, 100.0, 0.5, key=f"{k}_temp",
                                           help="MATES samples with Gumbel noise at temperature 0.5")
    elif strategy == "rds":
        if not choices["rds"]:
            st.warning("RDS+ needs the rds signal computed against one or more targets (Scores page).")
        p["targets"] = st.multiselect("Targets (taken in turn)", choices["rds"], default=choices["rds"][:2],
                                      key=f"{k}_targets")
    elif strategy == "cluster_balanced":
        by_opts = (["cluster"] if choices["has_map"] else []) + (["label"] if choices["labels"] else [])
        if not by_opts:
            st.warning("Balancing needs map clusters (Map page) or labels.")
        p["by"] = st.radio("Balance by", by_opts or ["cluster"], horizontal=True, key=f"{k}_by")
        p["quota"] = st.radio("Quota", ["equal", "proportional"], horizontal=True, key=f"{k}_quota",
                              help="equal: the same number per group (small groups give the rest to others); "
                                   "proportional: in proportion to group size")
        score = _score_pick("Best by score inside each group", f"{k}_score", choices["scores"], optional=True)
        if score:
            p["score"] = score
    elif strategy == "k_center":
        models = available_models(ws)
        if not models:
            st.warning("k-center needs embeddings: compute them on the Map page (or `python -m core embed`).")
        elif len(models) > 1:
            p["model"] = st.selectbox("Embeddings", models, key=f"{k}_model")
    elif strategy == "dedup":
        if not choices["groups"]:
            st.warning("Dedup needs a duplicate signal (exact_dup, minhash_dup or semantic_dup) from the Scores page.")
        p["group"] = st.selectbox("Duplicate groups from", choices["groups"], key=f"{k}_group")
        score = _score_pick("Keep the best by score (else the first)", f"{k}_score", choices["scores"], optional=True)
        if score:
            p["score"] = score
    elif strategy == "rs2":
        p["epochs"] = int(st.number_input("Epochs", 1, 1000, 3, key=f"{k}_epochs",
                                          help="a fresh subset of the size below per epoch"))
    return {key: v for key, v in p.items() if v is not None}


# -- the recipe builder -------------------------------------------------------------------------------
build, preview = st.columns([2, 3], gap="large")
with build:
    st.subheader("Recipe")
    filters: dict = {}
    if choices["filters"]:
        saved = st.selectbox("Saved filter (from Scores)", choices["filters"], index=None, key="sel_saved",
                             placeholder="none")
        if saved:
            filters["saved"] = [saved]
    else:
        st.caption("No saved filters yet: save thresholds on the Scores page to reuse them here.")
    c1, c2 = st.columns(2)
    if sources := c1.multiselect("Sources", choices["sources"], key="sel_sources"):
        filters["sources"] = sources
    if labels := c2.multiselect("Labels", choices["labels"], key="sel_labels"):
        filters["labels"] = labels
    if map_ids is not None:
        filters["ids"] = map_ids
        filters["map_label"] = (map_filter() or {}).get("label")

    strategy = st.selectbox("Strategy", STRATEGIES, index=STRATEGIES.index("random"), key="sel_strategy",
                            format_func=lambda s: s.replace("_", " "), help="\n\n".join(
                                f"**{s}**: {h}" for s, h in STRATEGY_HELP.items()))
    st.caption(STRATEGY_HELP[strategy])
    recipe: dict = {"strategy": strategy}
    if filters:
        recipe["filters"] = filters
    if strategy == "curriculum":
        base = st.selectbox("Base strategy (whose documents are ordered)", [s for s in STRATEGIES if s != "curriculum"],
                            key="sel_base")
        recipe["base"] = base
        recipe.update(strategy_params(base, "base"))
    else:
        recipe.update(strategy_params(strategy, "main"))

    modes = ["share of the pool", "count"]
    if strategy in ("all", "dedup") or (strategy == "curriculum" and recipe.get("base") in ("all", "dedup", None)):
        modes = ["everything", *modes]
    mode = st.radio("Size", modes, horizontal=True, key="sel_size_mode",
                    help="a fraction of the documents passing the filters, or a number of documents")
    if mode == "share of the pool":
        default = 20
        pct = st.slider("Share of the pool (%)", 1, 100, default, key="sel_size_pct")
        if pct < 100:
            recipe["size"] = pct / 100
        elif strategy == "mates":  # without a size MATES keeps 20%: say "all of the pool" as a count
            recipe["size"] = max(1, _pool_size(str(ws.root), store.signature, json.dumps(filters, sort_keys=True)))
    elif mode == "count":
        recipe["size"] = int(st.number_input("Documents", 1, 10_000_000, 300, step=50, key="sel_size_count"))
    s1, s2 = st.columns(2)
    seed = int(s1.number_input("Seed", 0, 2**31 - 1, 0, key="sel_seed", help="the same seed gives the same subset"))
    if seed:
        recipe["seed"] = seed
    if strategy == "curriculum" or s2.checkbox("Order by a score", key="sel_order_on",
                                               help="a curriculum: the saved order is the training order"):
        o1, o2 = st.columns([3, 2])
        by = o1.selectbox("Order by", choices["scores"], key="sel_order_by") if choices["scores"] else None
        asc = o2.radio("Direction", ["ascending", "descending"], key="sel_order_dir") == "ascending"
        if by:
            recipe["order"] = {"by": by, "ascending": asc}
        else:
            st.warning("Ordering needs a computed score (Scores page).")

    with st.expander("Write the recipe by hand (JSON or YAML)"):
        st.caption("Every key of a recipe file, e.g. score thresholds: "
                   '`{"strategy": "random", "size": 100, "filters": {"scores": {"gopher_quality": {"min": 0.5}}}}`')
        written = st.text_area("Recipe", key="sel_recipe_text", height=160, label_visibility="collapsed")
        use_written = st.toggle("Use this recipe instead of the widgets", key="sel_use_text",
                                disabled=not written.strip())
    try:
        checked = parse_recipe_text(written) if use_written and written.strip() else validate_recipe(recipe)
        error = None
    except WinnowError as exc:
        checked, error = None, str(exc)
    shown = recipe_for_display(checked.to_dict() if checked else recipe)
    with st.expander("Recipe as JSON (for `python -m core select --recipe`)"):
        st.code(json.dumps(shown, indent=2, ensure_ascii=False), language="json")

# -- the preview -------------------------------------------------------------------------------------
with preview:
    st.subheader("Preview")
    if error:
        st.error(error)
        sel_rows = None
    else:
        try:
            with st.spinner("selecting…"):
                sel_rows, pool, stats = _preview(str(ws.root), store.signature,
                                                 json.dumps(checked.to_dict(), sort_keys=True))
        except WinnowError as exc:
            st.error(str(exc))
            sel_rows = None
    if sel_rows is not None:
        m1, m2, m3, m4 = st.columns(4)
        # a million does not fit a quarter of the preview: 1.0M, with the exact number in the help
        m1.metric("Documents", f"{stats['count']:,}" if stats["count"] < 1_000_000 else _compact(stats["count"]),
                  help=f"{stats['count']:,} documents")
        m2.metric("Words", _compact(stats["tokens"]), help=f"{stats['tokens']:,} whitespace words")
        m3.metric("Pool", f"{pool:,}" if pool < 1_000_000 else _compact(pool),
                  help=f"{pool:,} documents passing the filters")
        m4.metric("Of the pool", f"{stats['unique'] / pool:.0%}" if pool else "—")
        if stats["epochs"] > 1:
            st.caption(f"RS2: {stats['epochs']} epochs of {stats['count'] // stats['epochs']:,} documents; "
                       f"{stats['unique']:,} different documents in all.")
        if len(sel_rows) == 0:
            st.info("This recipe selects no documents: loosen the filters or raise the size.")
        else:
            docs = _head_docs(str(ws.root), store.signature, json.dumps(checked.to_dict(), sort_keys=True),
                              sel_rows.head(SAMPLE_ROWS))
            if stats["epochs"] <= 1:
                docs = docs.drop(columns=["epoch"])
            st.caption(f"The first {len(docs)} documents, in the selection's order")
            st.dataframe(docs, hide_index=True, width="stretch", height=min(320, 38 + 35 * len(docs)),
                         column_config={"text": st.column_config.TextColumn("text", width="large")})
            if choices["has_map"]:
                pts, n_picked, n_other = _map_points(str(ws.root), store.signature,
                                                     json.dumps(checked.to_dict(), sort_keys=True), sel_rows["id"])
                picked = pts["picked"].to_numpy(dtype=bool)
                grey, mine = np.flatnonzero(~picked), np.flatnonzero(picked)
                fig = go.Figure()
                fig.add_trace(go.Scattergl(x=pts["x"].to_numpy()[grey], y=pts["y"].to_numpy()[grey], mode="markers",
                                           name="not selected", marker={"size": 3, "color": "#9aa3ad"},
                                           hoverinfo="skip"))
                fig.add_trace(go.Scattergl(x=pts["x"].to_numpy()[mine], y=pts["y"].to_numpy()[mine], mode="markers",
                                           name="selected", marker={"size": 3, "color": "#d9480f", "opacity": 0.8},
                                           text=pts["id"].to_numpy()[mine], hovertemplate="%{text}<extra></extra>"))
                fig.update_layout(height=340, margin={"l": 0, "r": 0, "t": 10, "b": 0},
                                  legend={"orientation": "h", "y": 1.05},
                                  xaxis={"visible": False, "range": view_range(pts["x"].to_numpy())},
                                  yaxis={"visible": False, "range": view_range(pts["y"].to_numpy())})
                st.plotly_chart(fig, key="sel_map", config={"displayModeBar": False})
                if len(pts) < n_picked + n_other:
                    st.caption(f"Drawn: {len(mine):,} of the {n_picked:,} selected documents on the map and "
                               f"{len(grey):,} of the {n_other:,} others, picked at random (a browser "
                               "draws a million points slowly).")
            else:
                st.caption("Build a map (Map page) to see the selection on it.")

        n1, n2 = st.columns([3, 1], vertical_alignment="bottom")
        name = n1.text_input("Save as", key="sel_name", placeholder="e.g. dsir_tech_300",
                             help="letters, digits, '_', '-' or '.'")
        if n2.button("Save selection", type="primary", key="sel_save", disabled=len(sel_rows) == 0):
            try:
                meta = save_selection(ws, name, Selection(checked, sel_rows, pool), store)
                st.session_state["sel_saved_msg"] = (f"Saved **{meta['name']}**: {meta['count']:,} documents "
                                                     f"({meta['tokens']:,} words).")
                st.rerun()
            except WinnowError as exc:
                st.error(str(exc))
    if msg := st.session_state.pop("sel_saved_msg", None):
        st.success(msg)

# -- saved selections ---------------------------------------------------------------------------------
st.divider()
st.subheader("Saved selections")
table = selection_table(ws)
if table.empty:
    st.caption("None yet. Save the recipe above, or run `python -m core select --recipe FILE --name NAME`.")
    st.stop()
st.dataframe(table.drop(columns=["recipe"]), hide_index=True, width="stretch", key="sel_table",
             column_config={"count": st.column_config.NumberColumn(format="localized"),
                            "tokens": st.column_config.NumberColumn("words", format="localized"),
                            "pool": st.column_config.NumberColumn(format="localized")})
pick = st.selectbox("Selection", table["name"].tolist(), key="sel_pick")
meta, ids_head = read_json(selection_paths(ws, pick)[0]) or {}, first_ids(ws, pick, 5)
a, b = st.columns([3, 2])
with a:
    st.caption(f"Created {meta.get('created', '?')} · {meta.get('count', 0):,} rows · "
               f"{meta.get('unique', meta.get('count', 0)):,} documents · pool {meta.get('pool', 0):,}")
    st.code(json.dumps(recipe_for_display(meta.get("recipe")), indent=2, ensure_ascii=False), language="json")
with b:
    new_name = st.text_input("Duplicate as", key="sel_dup_name", placeholder=f"{pick}_copy")
    if st.button("Duplicate", key="sel_dup"):
        try:
            duplicate_selection(ws, pick, new_name or f"{pick}_copy")
            st.rerun()
        except WinnowError as exc:
            st.error(str(exc))
    confirm = st.checkbox(f"Yes, delete {pick}", key="sel_del_confirm")
    if st.button("Delete", key="sel_delete", disabled=not confirm):
        delete_selection(ws, pick)
        st.session_state.pop("sel_del_confirm", None)
        st.rerun()
    st.caption("First ids: " + ", ".join(ids_head) + (" …" if int(meta.get("count") or 0) > 5 else ""))
