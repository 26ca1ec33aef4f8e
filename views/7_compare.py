"""Compare: two to four saved selections side by side, with a random baseline of the same size as the first.

Sizes and overlap, cluster coverage, score distributions, closeness to a target (KL of hashed n-grams, as
in DSIR), a proxy model trained on each selection (a background job: `python -m core compare ... --proxy`),
and each selection on the map. Every figure comes from core/compare.py and core/proxy.py (plus the small
helpers in core/compare_view.py); this page only draws.
"""

from __future__ import annotations

import html
import json

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from core import compare as cmp
from core import compare_kept as ck
from core import compare_view as cv
from core.embed import available_models
from core.errors import WinnowError
from core.proxy import PROXY_FRACTIONS, PROXY_SEEDS, final_table, load_proxy_result
from core.select import list_selections, recipe_for_display, selection_paths
from core.targets import list_references
from core.workspace import read_json
from ui.jobs import job_panel
from ui.state import map_filter, map_filter_chip, require_workspace

COLOURS = ["#1f77b4", "#d9480f", "#2ca02c", "#9467bd"]  # the picked selections, in order
BASELINE_COLOUR = "#7f7f7f"
BACKGROUND = "#d5d9de"
FRACTION_CHOICES = [0.05, 0.1, 0.25, 0.5, 0.75, 1.0]
DRAW_POINTS = 20_000  # values drawn per selection in a histogram; the table uses every document
MAP_BACKGROUND_POINTS = 15_000  # grey documents drawn under each panel, at most (the browser draws every panel)

ws, store = require_workspace()
st.title("Compare")
st.caption("Put two to four selections side by side, next to a random selection of the same size: how much they "
           "overlap, which clusters they cover, how their scores differ, how close they are to a target, and how "
           "well a small model trained on each one does.")
map_ids = map_filter_chip("compare")

saved = list_selections(ws)
if not saved:
    st.info("No saved selections yet. Make one on the **Select** page: build a recipe (filters, a strategy, a size) "
            "and press **Save selection**. Or from a recipe file: "
            "`python -m core select --workspace W --recipe FILE --name NAME`. Save two (say, random and DSIR) "
            "to compare them here.", icon=":material/checklist:")
    st.page_link("views/5_select.py", label="Open the Select page", icon=":material/checklist:")
    st.stop()

# -- which selections ------------------------------------------------------------------------------
c1, c2, c3 = st.columns([6, 3, 2], vertical_alignment="bottom")
names = c1.multiselect("Selections to compare (up to 4)", saved, default=saved[:min(2, len(saved))],
                       max_selections=cmp.MAX_SELECTIONS, key="cmp_names",
                       help="saved on the Select page (or with `python -m core select`)")
with_baseline = c2.toggle("Random baseline", value=True, key="cmp_baseline",
                          help="a uniform random sample of the whole workspace, the size of the first selection: "
                               "what any strategy has to beat")
baseline_seed = int(c3.number_input("Baseline seed", 0, 2**31 - 1, 0, key="cmp_baseline_seed",
                                    disabled=not with_baseline))
if not names:
    st.info("Pick at least one selection above.")
    st.stop()
if len(names) == 1:
    st.caption(f"Only **{names[0]}** is picked" + (": it is compared with the random baseline. " if with_baseline
               else ". ") + "Pick another to compare two strategies.")


# a resource, not data: a million ids are not pickled and unpickled at every rerun (nothing changes a Subset,
# except that it keeps its Arrow copy of the ids once made)
@st.cache_resource(show_spinner=False, max_entries=8)
def _subsets(root: str, signature: tuple, stamps: tuple, names: tuple, baseline: bool, seed: int):
    return cmp.load_subsets(ws, store, list(names), baseline, seed)


try:
    stamps = cv.selection_stamps(ws, names)
    all_subsets = _subsets(str(ws.root), store.signature, stamps, tuple(names), with_baseline, baseline_seed)
except WinnowError as exc:
    st.error(str(exc))
    st.stop()
subsets = cv.restrict(all_subsets, map_ids)
key = cv.subsets_key(subsets)
colour = {s.name: (BASELINE_COLOUR if s.baseline else COLOURS[i % len(COLOURS)]) for i, s in enumerate(subsets)}
order = [s.name for s in subsets]
if map_ids is not None:
    st.caption(f"Only documents inside the map selection ({(map_filter() or {}).get('label', '')}) are counted "
               "below; the proxy evaluation uses the whole selections.")

with st.expander("Recipes"):
    for s in all_subsets:
        if s.baseline:
            st.caption(f"**{s.name}**: {len(s):,} documents drawn uniformly from the whole workspace "
                       f"(seed {baseline_seed}), the size of {names[0]}")
            continue
        meta = read_json(selection_paths(ws, s.name)[0]) or {}
        st.caption(f"**{s.name}** · {meta.get('count', 0):,} rows · made {meta.get('created', '?')}")
        st.code(json.dumps(recipe_for_display(meta.get("recipe")), ensure_ascii=False), language="json")


# -- cached figures ------------------------------------------------------------------------------------
# Each selection's part of a figure is kept per selection (core/compare_kept.py: in memory and, at scale,
# in the workspace's .cache), so a set of selections seen before, or saved since the app started, opens
# without reading the selections' documents again. The Streamlit caches below only skip putting them
# together on a rerun.
def _kept(name: str, build):
    """A table of the whole set, also kept in the workspace's .cache (store.memo)."""
    return store.memo(f"compare_{name}", build, persist="parquet")


@st.cache_data(show_spinner=False, max_entries=8)
def _sizes(root: str, signature: tuple, key: str, _subsets: list) -> pd.DataFrame:
    return ck.sizes(store, _subsets)


@st.cache_data(show_spinner=False, max_entries=8)
def _overlap(root: str, signature: tuple, key: str, _subsets: list) -> pd.DataFrame:
    names = [s.name for s in _subsets]
    return _kept(f"overlap_{key}", lambda: cv.overlap_counts(_subsets)).set_axis(names, axis=0)


@st.cache_data(show_spinner=False, max_entries=8)
def _coverage(root: str, signature: tuple, key: str, _subsets: list):
    per_cluster, summary, what = ck.coverage(store, _subsets)
    return per_cluster, summary, what, cmp.cluster_names(ws, store) if what == "map cluster" else {}


@st.cache_data(show_spinner=False, max_entries=16)
def _score_values(root: str, signature: tuple, key: str, column: str, _subsets: list) -> pd.DataFrame:
    return ck.score_values(store, _subsets, column)


@st.cache_data(show_spinner="Comparing n-gram distributions with the target…", max_entries=8)
def _kl(root: str, signature: tuple, key: str, target: str, _subsets: list) -> pd.DataFrame:
    return cmp.kl_to_target(ws, store, _subsets, target)


@st.cache_data(show_spinner=False, max_entries=4)
def _map_points(root: str, signature: tuple, key: str, _subsets: list) -> tuple[pd.DataFrame, pd.DataFrame]:
    everything = _kept(f"mapgrey_{MAP_BACKGROUND_POINTS}", lambda: store.df(
        'SELECT "map__x" AS x, "map__y" AS y FROM scores WHERE "map__x" IS NOT NULL '
        f"ORDER BY hash(id) LIMIT {MAP_BACKGROUND_POINTS}"))
    return everything, ck.map_points(store, _subsets, per_selection=ck.MAP_SAMPLE)


root, sig = str(ws.root), store.signature
score_cols = cmp.numeric_score_columns(store)
# what is not kept yet for these selections (a set never seen, a selection saved by another process):
# one join for every figure, with the first score (the one shown first)
ck.prepare(store, subsets, score_cols[0] if score_cols else None, ck.MAP_SAMPLE)

# -- size and overlap ----------------------------------------------------------------------------------
st.subheader("Size and overlap")
size_table = _sizes(root, sig, key, subsets)
cols = st.columns(len(subsets))
for col, row in zip(cols, size_table.to_dict(orient="records"), strict=True):
    col.metric(row["selection"], f"{int(row['documents']):,} docs", help="unique documents")
    col.caption(f"{int(row['tokens']):,} words")
shown = size_table.rename(columns={"tokens": "words"})
st.dataframe(shown, hide_index=True, width="stretch", key="cmp_sizes",
             column_config={c: st.column_config.NumberColumn(format="localized") for c in shown.columns
                            if c != "selection"})
st.caption("Words are whitespace words (what Overview counts); each source column counts documents from that source.")
shared = _overlap(root, sig, key, subsets)
jac = cmp.jaccard_matrix(subsets, shared.to_numpy())
text = [[f"{jac.iat[i, j]:.2f}" for j in range(len(order))] for i in range(len(order))]
hover = [[f"{a} ∩ {b}: {shared.iat[i, j]:,} shared documents<br>Jaccard {jac.iat[i, j]:.3f}"
          for j, b in enumerate(order)] for i, a in enumerate(order)]
fig = go.Figure(go.Heatmap(z=jac.to_numpy(), x=order, y=order, zmin=0, zmax=1, colorscale="Blues",
                           text=text, texttemplate="%{text}", hovertext=hover, hoverinfo="text",
                           colorbar={"title": "Jaccard", "thickness": 12}))
fig.update_layout(title={"text": "Overlap (Jaccard)", "font": {"size": 15}},
                  height=150 + 60 * len(order), margin={"l": 0, "r": 0, "t": 40, "b": 0},
                  yaxis={"autorange": "reversed"}, xaxis={"tickangle": 0})
heat, note = st.columns([3, 2], gap="large", vertical_alignment="center")
heat.plotly_chart(fig, key="cmp_overlap", config={"displayModeBar": False})
pairs = [(a, b) for i, a in enumerate(order) for b in order[i + 1:]]
note.caption("Jaccard = documents in both ÷ documents in either: 1 means the same documents, 0 none in common. "
             "Two random samples of the same pool overlap by about their sampling rate.")
for a, b in pairs:
    i, j = order.index(a), order.index(b)
    note.caption(f"{a} ∩ {b}: {shared.iat[i, j]:,} shared documents (Jaccard {jac.iat[i, j]:.2f})")

# -- cluster coverage ------------------------------------------------------------------------------------
st.subheader("Cluster coverage")
per_cluster, cov_summary, cov_by, cluster_label = _coverage(root, sig, key, subsets)
if cov_by != "map cluster":
    st.info(f"There is no map yet, so coverage is counted by **{cov_by}** instead of by cluster. Build a map on "
            "the **Map** page (embeddings, then the map), or run `python -m core embed --workspace W` and "
            "`python -m core map --workspace W`, to see which topic clusters each selection covers.",
            icon=":material/scatter_plot:")
n_groups = len(per_cluster)
st.caption(f"How each selection spreads over the workspace's {n_groups} {cov_by}s: a {cov_by} is covered when the "
           "selection holds at least one of its documents; the entropy of the mix (bits) is higher when the documents "
           "are spread evenly, and evenness divides it by its largest possible value, log2 of the number of groups.")
summary = cov_summary.assign(covered=[f"{r.clusters_covered} / {r.clusters_total}" for r in cov_summary.itertuples()])
st.dataframe(summary[["selection", "covered", "share_covered", "entropy_bits", "normalised_entropy"]],
             hide_index=True, width="stretch", key="cmp_coverage",
             column_config={
                 "covered": st.column_config.TextColumn(f"{cov_by}s covered"),
                 "share_covered": st.column_config.ProgressColumn("share covered", min_value=0.0, max_value=1.0,
                                                                  format="percent"),
                 "entropy_bits": st.column_config.NumberColumn("entropy (bits)", format="%.2f"),
                 "normalised_entropy": st.column_config.NumberColumn("evenness", format="%.2f",
                                                                     help="entropy / log2(number of groups)"),
             })
as_share = st.radio("Bars show", ["share of each selection", "documents"], horizontal=True, key="cmp_cov_mode",
                    help="shares compare selections of different sizes")
values = cv.coverage_shares(per_cluster) if as_share == "share of each selection" else per_cluster
# sources, labels and cluster names come from the corpus: escaped for Plotly's HTML-like text (shown as typed)
labels = [html.escape(f"{c}: {cluster_label[str(c)]}" if str(c) in cluster_label else str(c), quote=False)
          for c in per_cluster.index]
fig = go.Figure()
for name in order:
    fig.add_trace(go.Bar(x=labels, y=values[name], name=name, marker_color=colour[name],
                         customdata=per_cluster[name],
                         hovertemplate=f"{name}<br>%{{x}}<br>%{{customdata:,}} documents<extra></extra>"))
fig.update_layout(barmode="group", height=380, margin={"l": 0, "r": 0, "t": 10, "b": 0},
                  legend={"orientation": "h", "y": 1.08},
                  yaxis={"title": "share of the selection" if as_share.startswith("share") else "documents",
                         "tickformat": ".0%" if as_share.startswith("share") else ","},
                  xaxis={"tickangle": -40, "automargin": True})
st.plotly_chart(fig, key="cmp_coverage_bars", config={"displayModeBar": False})

# -- score distributions ---------------------------------------------------------------------------------
st.subheader("Score distributions")
if not score_cols:
    st.info("No scores computed yet. Compute signals on the **Scores** page (or `python -m core score --workspace W "
            "--all-cheap`) to compare each selection's quality, duplication or target scores.", icon=":material/tune:")
else:
    s1, s2 = st.columns([3, 1], vertical_alignment="bottom")
    column = s1.selectbox("Score", score_cols, key="cmp_score",
                          help="any numeric signal column; values are per document")
    kind = s2.radio("Draw as", ["histogram", "violin"], horizontal=True, key="cmp_score_kind")
    vals = _score_values(root, sig, key, column, subsets)
    drawn = cv.sample_per_group(vals, "selection", DRAW_POINTS)
    fig = go.Figure()
    bins = cv.shared_bins(vals["value"].to_numpy())
    for name in order:
        v = drawn.loc[drawn["selection"] == name, "value"]
        if kind == "histogram":
            fig.add_trace(go.Histogram(x=v, name=name, marker_color=colour[name], opacity=0.5, xbins=bins,
                                       autobinx=False, histnorm="percent"))
        else:
            fig.add_trace(go.Violin(y=v, name=name, line_color=colour[name], box_visible=True, meanline_visible=True,
                                    points=False))
    fig.update_layout(barmode="overlay", height=340, margin={"l": 0, "r": 0, "t": 10, "b": 0},
                      legend={"orientation": "h", "y": 1.08}, showlegend=kind == "histogram",
                      xaxis={"title": column if kind == "histogram" else None},
                      yaxis={"title": "% of the selection" if kind == "histogram" else column})
    st.plotly_chart(fig, key="cmp_score_chart", config={"displayModeBar": False})
    if len(drawn) < len(vals):
        st.caption(f"Drawn from a random sample of at most {DRAW_POINTS:,} documents per selection; the table below "
                   "uses every document.")
    stats = vals.groupby("selection", sort=False)["value"].describe(percentiles=[0.1, 0.5, 0.9])
    stats = (stats.reindex(order).drop(columns=["min", "max"]).reset_index()
             .rename(columns={"count": "documents with a value", "50%": "median"}))
    st.dataframe(stats, hide_index=True, width="stretch", key="cmp_score_stats",
                 column_config={c: st.column_config.NumberColumn(format="%.3f")
                                for c in stats.columns if c not in ("selection", "documents with a value")}
                 | {"documents with a value": st.column_config.NumberColumn(format="localized")})

# -- closeness to a target ---------------------------------------------------------------------------
st.subheader("Closeness to a target")
targets = list_references(ws, "targets")
recipe_tgt = cmp.recipe_target(ws, names)
kl_target = None
if not targets:
    st.info("No targets yet. A target is a set of example documents your selection should resemble: add one on the "
            "**Targets** page, or with `python -m core target add --workspace W NAME FILE` (a JSONL/CSV/Parquet "
            "file or a text file).",
            icon=":material/target:")
else:
    default = targets.index(recipe_tgt) if recipe_tgt in targets else 0
    kl_target = st.selectbox("Target", targets, index=default, key="cmp_target",
                             help="the default is the target a selection's recipe names")
    st.caption("KL(target ‖ selection) of the hashed unigram + bigram distributions (DSIR's features, 10,000 "
               "buckets): **lower is closer** to the target. KL reduction = KL of the random baseline − KL of the "
               "selection: **positive means closer than random** (DSIR's measure; it tracks downstream accuracy).")
    kl = None
    try:
        pending = cmp.kl_pending(ws, store, subsets, size_table)
        if int(pending["words"].sum()) <= cmp.KL_INLINE_WORDS:
            kl = _kl(root, sig, key, kl_target, subsets)
    except WinnowError as exc:
        st.error(str(exc))
        pending = None
    if kl is None and pending is not None:
        todo = ", ".join(f"{r.selection} ({r.documents:,} documents)" for r in pending.itertuples())
        st.info(f"The KL figures read the text of every document once: {int(pending['documents'].sum()):,} documents "
                f"({int(pending['words'].sum()):,} words) not counted yet: {todo}. That takes a while, so it runs "
                "on request; the n-gram counts are kept, and the KL shows here at once afterwards.",
                icon=":material/hourglass_empty:")
        if map_ids is None:
            kl_argv = ["compare", *names, "--kl", "--target", kl_target, "--baseline-seed", str(baseline_seed)]
            if not with_baseline:
                kl_argv.append("--no-baseline")
            job_panel(ws, "compare-kl", kl_argv, title=f"KL to {kl_target}: {', '.join(names)}",
                      button="Count the n-grams and compute the KL", key="cmp_kl")
        elif st.button("Count the n-grams and compute the KL", key="cmp_kl_here", type="primary",
                       help="the map selection restricts the selections, so this runs here (not as a job)"):
            bar = st.progress(0.0, text="Counting n-grams")
            cmp.kl_to_target(ws, store, subsets, kl_target,
                             progress=lambda d, t: bar.progress(min(1.0, d / t) if t else 1.0,
                                                                text=f"Counting n-grams: {d:,}/{t:,} documents"))
            st.rerun()
    if kl is not None:
        cols = st.columns(len(kl))
        for col, row in zip(cols, kl.to_dict(orient="records"), strict=True):
            red = row.get("kl_reduction")
            is_base = any(s.baseline and s.name == row["selection"] for s in subsets)
            col.metric(row["selection"], f"KL {row['kl']:.3f}",
                       delta=None if is_base or red is None or pd.isna(red) else f"{red:+.3f} vs random",
                       delta_color="normal", help="KL(target ‖ selection), nats; the arrow is the KL reduction")
        if not with_baseline:
            st.caption("Turn the random baseline on to see the KL reduction.")

# -- proxy evaluation --------------------------------------------------------------------------------
st.subheader("Proxy evaluation")
st.caption("Train the same small model on each selection at several sizes and seeds, and score it on held-out "
           "data: **logistic regression on the embeddings** (accuracy and macro-F1 on a held-out labelled set) and "
           "an **interpolated Kneser-Ney bigram language model** (perplexity on the target; lower is better). "
           "It runs in the background; the learning curves appear here when it finishes.")
has_embeddings = bool(available_models(ws))
labelled = cv.labelled_targets(ws)
with st.expander("Proxy settings"):
    p1, p2 = st.columns(2)
    heldout = lm_target = None
    if labelled:
        heldout = p1.selectbox("Held-out labelled set (classifier)", labelled, key="cmp_heldout",
                               help="a target with a label column; workspace documents with the same text are "
                                    "left out of training")
    else:
        p1.caption("No target has labels, so there is no classifier proxy (add a target with a label column).")
    if targets:
        lm_target = p2.selectbox("Target for the language model's perplexity", targets, key="cmp_lm_target",
                                 index=targets.index(kl_target) if kl_target in targets else 0)
    p3, p4 = st.columns(2)
    fractions = p3.multiselect("Training sizes (share of each selection)", FRACTION_CHOICES,
                               default=list(PROXY_FRACTIONS), key="cmp_fractions", format_func=lambda f: f"{f:.0%}")
    n_seeds = int(p4.number_input("Seeds per size", 1, 10, len(PROXY_SEEDS), key="cmp_seeds",
                                  help="the error bars are the standard deviation over seeds"))
fractions = sorted(fractions) or list(PROXY_FRACTIONS)
seeds = list(range(n_seeds))
request = {"baseline": with_baseline, "baseline_seed": baseline_seed, "heldout": heldout, "target": lm_target,
           "fractions": fractions, "seeds": seeds}
argv = cv.proxy_request(names, **request)
why_not = None
if not targets:
    why_not = ("The proxy needs a set to score on: add a target (`python -m core target add --workspace W NAME FILE`), "
               "with a label column for the classifier.")
elif heldout and not has_embeddings:
    why_not = ("The classifier proxy trains on document embeddings and there are none yet: compute them on the Map "
               "page (or `python -m core embed --workspace W`), then run the proxy.")
latest = job_panel(ws, "compare", argv, title=f"Proxy evaluation: {', '.join(names)}", button="Run the proxy evaluation",
          key="cmp_proxy", disabled=why_not is not None, help=why_not)
if why_not:
    st.warning(why_not, icon=":material/info:")
result = load_proxy_result(ws, cv.proxy_result_key(ws, names, **request))
running_here = bool(latest and latest.get("argv") == argv and latest["status"] in ("queued", "running"))
if result is None:
    st.caption("Running: the learning curves appear here when it finishes." if running_here
               else "Not run yet for these selections and settings.")
else:
    st.caption(f"Result from {result.get('created', '?')} · sizes "
               + ", ".join(f"{f:.0%}" for f in result["fractions"]) + f" · seeds {result['seeds']}")
    panels = []
    if result.get("labelled"):
        panels += [("labelled", "accuracy", "accuracy (held-out)"), ("labelled", "macro_f1", "macro-F1 (held-out)")]
    if result.get("text"):
        panels.append(("text", "perplexity", "perplexity (lower is better)"))
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=[p[2] for p in panels], horizontal_spacing=0.07)
    for c, (task, metric, _title) in enumerate(panels, start=1):
        curves = cv.curve_frame(result, task)
        for name in result["selections"]:
            pts = curves[curves["selection"] == name].sort_values("fraction")
            fig.add_trace(go.Scatter(
                x=pts["fraction"], y=pts[f"{metric}_mean"], mode="lines+markers", name=name, legendgroup=name,
                showlegend=c == 1, line={"color": colour.get(name, BASELINE_COLOUR)},
                error_y={"type": "data", "array": pts[f"{metric}_std"], "visible": True},
                customdata=pts[["documents"]].to_numpy(),
                hovertemplate=f"{name}<br>%{{x:.0%}} = %{{customdata[0]:,.0f}} documents<br>{metric} %{{y:.3f}}"
                              "<extra></extra>"), row=1, col=c)
        fig.update_xaxes(title_text="share of the selection trained on", tickformat=".0%", row=1, col=c,
                         tickvals=result["fractions"])
    fig.update_layout(height=360, margin={"l": 0, "r": 0, "t": 30, "b": 0}, legend={"orientation": "h", "y": -0.25})
    st.plotly_chart(fig, key="cmp_proxy_curves", config={"displayModeBar": False})
    final = cv.proxy_final_vs_baseline(final_table(result), result.get("baseline"))
    final = final.drop(columns=[c for c in final.columns if c.endswith("_std") and not final[c].fillna(0).any()])
    st.caption("At 100% of each selection: mean ± std over seeds (at 100% every seed trains on the same documents, so "
               "the spread is usually 0; the error bars above show it at the smaller sizes). 'vs random' is the "
               "difference to the random baseline: higher accuracy and macro-F1 are better, lower perplexity is. "
               "The classifier learns only from a selection's labelled documents ('labelled docs trained on').")
    fmt = {c: st.column_config.NumberColumn(format="%.3f" if "perplexity" not in c else "%.1f")
           for c in final.columns if c not in ("selection", "documents", "labelled_train")}
    fmt["labelled_train"] = st.column_config.NumberColumn("labelled docs trained on", format="%d")
    st.dataframe(final, hide_index=True, width="stretch", key="cmp_proxy_final", column_config=fmt)
    notes = []
    if result.get("labelled"):
        lab = result["labelled"]
        notes.append(f"Classifier: {lab['model']}, evaluated on {lab['heldout']} ({lab['eval_examples']:,} examples, "
                     f"classes {', '.join(lab['classes'])}).")
        if lab.get("excluded_leaks"):
            notes.append(f"{lab['excluded_leaks']:,} workspace documents whose text is in the held-out set were left "
                         "out of training.")
        for t, n in (lab.get("heldout_in_recipe_targets") or {}).items():
            if n:
                notes.append(f"{n:,} held-out texts are also in the target {t} that a recipe selected with: that "
                             "selection has seen them (their text, not their labels).")
    if result.get("text"):
        notes.append(f"Language model: {result['text']['model']}, perplexity on {result['text']['target']} "
                     f"({result['text']['eval_tokens']:,} tokens).")
    for note in notes:
        st.caption(note)

# -- on the map -------------------------------------------------------------------------------------
st.subheader("On the map")
if "map__x" not in store.score_columns:
    st.info("No map yet: build one on the **Map** page (or `python -m core embed --workspace W` then "
            "`python -m core map --workspace W`) to see where each selection's documents lie.",
            icon=":material/scatter_plot:")
else:
    everything, pts = _map_points(root, sig, key, subsets)
    per_row = 3 if len(order) > 2 else len(order)
    n_rows = -(-len(order) // per_row)
    fig = make_subplots(rows=n_rows, cols=per_row, subplot_titles=order, horizontal_spacing=0.02,
                        vertical_spacing=0.08)
    xr, yr = cv.view_range(everything["x"].to_numpy()), cv.view_range(everything["y"].to_numpy())
    for k, name in enumerate(order):
        r, c = k // per_row + 1, k % per_row + 1
        fig.add_trace(go.Scattergl(x=everything["x"], y=everything["y"], mode="markers", hoverinfo="skip",
                                   marker={"size": 3, "color": BACKGROUND}, showlegend=False), row=r, col=c)
        mine = pts[pts["selection"] == name]
        fig.add_trace(go.Scattergl(x=mine["x"], y=mine["y"], mode="markers", name=name, showlegend=False,
                                   # thousands of points: smaller and see-through, so the grey map shows between them
                                   marker={"size": 4 if len(mine) < 2_000 else 3, "color": colour[name],
                                           "opacity": 0.85 if len(mine) < 2_000 else 0.5},
                                   text=[html.escape(str(i), quote=False) for i in mine["id"]],
                                   hovertemplate="%{text}<extra>" + name + "</extra>"), row=r, col=c)
        fig.update_xaxes(visible=False, row=r, col=c, **({"range": xr} if xr else {}))
        fig.update_yaxes(visible=False, row=r, col=c, **({"range": yr} if yr else {}))
    fig.update_layout(height=300 * n_rows + 40, margin={"l": 0, "r": 0, "t": 30, "b": 0},
                      plot_bgcolor="white")
    st.plotly_chart(fig, key="cmp_map", config={"displayModeBar": False})
    st.caption(("Grey: every document on the map" if len(everything) < MAP_BACKGROUND_POINTS else
                f"Grey: a random {MAP_BACKGROUND_POINTS:,} documents of the map") + "; coloured: the selection's documents"
               + (f" (a random {ck.MAP_SAMPLE:,} of each larger selection)"
                  if len(pts) and int(pts["on_map"].max()) > ck.MAP_SAMPLE else "")
               + ". The first view leaves out a few far-away points, as the Map page does.")
