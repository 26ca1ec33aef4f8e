"""Scores: each computed signal as histograms with threshold sliders and rule toggles. On every move:
how many documents are kept, why the others are dropped, and a few dropped documents to read. The
thresholds can be saved as a named filter (filters/<name>.json) for Select and the CLI."""

from __future__ import annotations

import importlib.util
import math

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core import filters as F
from core.browse import get_doc
from core.errors import WinnowError
from ui.state import map_filter_chip, require_workspace

OVERLAY_MAX_DOCS = 2_000_000  # above this the histograms show the distribution only (the kept overlay costs a pass per column)
# above this, dropped examples are shown on request: reading their text from Parquet took ~0.5 s at 100,000
# documents (on every slider move), more than the move itself
SAMPLES_AUTO_MAX_DOCS = 50_000
PER_ROW = 3
KEPT_COLOR, DROPPED_COLOR, OUTSIDE = "#2e7d32", "#c62828", "rgba(198,40,40,0.10)"

ws, store = require_workspace()
st.title("Scores")
st.caption("Every signal is computed once; sliders only re-threshold the stored values. Move a threshold or switch "
           "a rule off and the kept count, the drop reasons and the examples below update at once.")
map_ids = map_filter_chip("scores")

try:
    controls = F.filter_controls(ws, store)
    from core.signals import load_all

    registry = load_all()
except WinnowError as exc:
    st.error(str(exc))
    st.stop()
except Exception as exc:  # noqa: BLE001 - a signal module that fails to import: say which, do not crash the page
    st.error(f"The signal registry could not be loaded ({exc.__class__.__name__}: {exc}). "
             "Check `python -m core signals`.")
    st.stop()


# -- computing signals -------------------------------------------------------------------------
def compute_panel(expanded: bool) -> None:
    computed = {sc.key.split("__")[0] for sc in controls}
    missing = sorted(n for n, cls in registry.items()
                     if n not in computed and not ({"target", "benchmark"} & set(cls.needs)))
    stale = [sc.key for sc in controls if sc.stale and sc.key in registry]
    with st.expander("Compute signals" + (f" ({len(missing)} not computed yet)" if missing else ""), expanded=expanded):
        if not missing and not stale:
            st.caption("Every signal that needs no target is computed and up to date.")
            return
        rows = [{"signal": n, "cost": registry[n].cost, "needs": ", ".join(sorted(registry[n].needs)),
                 "what it measures": registry[n].description} for n in missing]
        if rows:
            st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        pick = st.multiselect("Signals to compute", missing + stale, default=[n for n in missing + stale
                              if registry[n].cost == "cheap"], key="scores_compute_pick")
        argv = ["score", *pick]
        if importlib.util.find_spec("core.commands.score") is not None:
            from ui.jobs import job_panel

            job_panel(ws, "score", argv, title=f"Scoring: {', '.join(pick)}", button="Compute", key="scores_compute",
                      disabled=not pick, help="runs in the background; finished batches are kept if it stops")
        else:
            st.caption("Run this in a terminal (the app's compute button arrives with `python -m core score`):")
            st.code(f"python -m core score --workspace {ws.root} {' '.join(pick) or 'NAME...'}", language="bash")


if not controls:
    st.info("No signals computed yet. Compute some below (the text-quality heuristics take seconds per "
            "thousand documents); their histograms and thresholds then appear here.")
    compute_panel(expanded=True)
    st.stop()

keys = [sc.key for sc in controls]
by_key = {sc.key: sc for sc in controls}
sliders = {s.column: s for sc in controls for s in sc.sliders}
toggles = {t.column: t for sc in controls for t in sc.toggles}


@st.cache_data(show_spinner=False, max_entries=8)
def _stats(root: str, signature: tuple, columns: tuple[str, ...]) -> dict[str, F.ColumnStats]:
    return F.column_stats(store, list(columns))


stats = _stats(str(ws.root), store.signature, tuple(sliders))
saved = F.list_filters(ws)


def _saved_values() -> dict[str, set[float]]:
    """Threshold values of every saved filter, so loading one puts its sliders exactly where it was."""
    out: dict[str, set[float]] = {}
    for f in saved:
        if f["problem"]:
            continue
        try:
            spec = F.load_filter(ws, f["name"])
        except WinnowError:
            continue
        for col, rng in spec.thresholds.items():
            out.setdefault(col, set()).update(v for v in (rng.min, rng.max) if v is not None)
    return out


saved_values = _saved_values()


def options_for(s: F.Slider) -> list[float]:
    st_ = stats[s.column]
    vals = set(st_.grid) | {v for v in s.default if v is not None} | saved_values.get(s.column, set())
    if st_.is_int:
        vals = {float(round(v)) for v in vals}
    return sorted(v for v in vals if math.isfinite(v)) or [0.0]


def fmt(v: float) -> str:
    if v == int(v) and abs(v) < 1e12:
        return f"{int(v):,}"
    return f"{v:.3g}" if abs(v) < 1e4 else f"{v:,.0f}"


def nearest(options: list[float], v: float) -> float:
    return min(options, key=lambda o: abs(o - v))


# -- widget state: defaults, reset, load --------------------------------------------------------
def slider_state(s: F.Slider, spec_range: F.Range | None, options: list[float]) -> float | tuple[float, float]:
    lo = spec_range.min if spec_range and spec_range.min is not None else options[0]
    hi = spec_range.max if spec_range and spec_range.max is not None else options[-1]
    lo, hi = nearest(options, lo), nearest(options, hi)
    return lo if s.mode == "min" else hi if s.mode == "max" else (lo, hi)


VALUES = "scores_values"  # every control's value, kept while its signal is not on screen


def put(key: str, value) -> None:
    st.session_state[key] = value
    st.session_state.setdefault(VALUES, {})[key] = value


def apply_spec(spec: F.FilterSpec, *, published: bool = False) -> None:
    """Put every widget where `spec` says (or at the published thresholds)."""
    for col, s in sliders.items():
        opts = options_for(s)
        rng = spec.thresholds.get(col)
        if published and s.rule:
            rng = F.Range(min=s.default[0], max=s.default[1]) if any(v is not None for v in s.default) else None
        put(f"thr_{col}", slider_state(s, rng, opts))
        if s.rule:
            put(f"use_{col}", rng is not None if not published else True)
    for col, t in toggles.items():
        put(f"rule_{col}", t.default if published else col in spec.rules)
    if not published:
        st.session_state["scores_sources"] = list(spec.sources)
        st.session_state["scores_labels"] = list(spec.labels)


def reset_to_published() -> None:
    apply_spec(F.FilterSpec(), published=True)
    st.session_state["scores_sources"] = []
    st.session_state["scores_labels"] = []


def load_saved(name: str) -> None:
    try:
        spec = F.load_filter(ws, name)
        unknown = [c for c in spec.columns() if c not in sliders and c not in toggles]
        if unknown:
            raise WinnowError(f"filter {name!r} uses {', '.join(unknown)}, not computed in this workspace")
    except WinnowError as exc:
        st.session_state["scores_flash"] = ("error", str(exc))
        return
    wanted = {F.split_column(c)[0] for c in spec.columns()}
    st.session_state["scores_signals"] = [k for k in keys if k in wanted] or keys
    apply_spec(spec)
    st.session_state["scores_save_name"] = name
    st.session_state["scores_save_desc"] = spec.description
    st.session_state["scores_flash"] = ("success", f"Loaded filter {name!r}.")


def ensure_state() -> None:
    """Streamlit forgets the state of widgets it did not draw (another signal on screen): restore
    their last values, or the published thresholds; then remember every value for next time."""
    saved_state = st.session_state.setdefault(VALUES, {})
    for col, s in sliders.items():
        if f"thr_{col}" not in st.session_state:
            rng = F.Range(min=s.default[0], max=s.default[1]) if s.rule and s.default != (None, None) else None
            st.session_state[f"thr_{col}"] = saved_state.get(f"thr_{col}", slider_state(s, rng, options_for(s)))
        if s.rule and f"use_{col}" not in st.session_state:
            st.session_state[f"use_{col}"] = saved_state.get(f"use_{col}", True)
    for col, t in toggles.items():
        if f"rule_{col}" not in st.session_state:
            st.session_state[f"rule_{col}"] = saved_state.get(f"rule_{col}", t.default)
    for key in [*(f"thr_{c}" for c in sliders), *(f"use_{c}" for c in sliders if sliders[c].rule),
                *(f"rule_{c}" for c in toggles)]:
        saved_state[key] = st.session_state[key]


if "scores_initialised" not in st.session_state or st.session_state.get("scores_keys") != keys:
    reset_to_published()
    st.session_state["scores_initialised"] = True
    st.session_state["scores_keys"] = keys
    st.session_state["scores_signals"] = [k for k in st.session_state.get("scores_signals", keys) if k in keys] or keys
ensure_state()

# -- the summary at the top, filled once the widgets below are read -------------------------------
flash = st.session_state.pop("scores_flash", None)
if flash:
    (st.success if flash[0] == "success" else st.error)(flash[1])
summary = st.container(border=True)

chosen = st.multiselect("Signals in the filter", keys, key="scores_signals",
                        help="the thresholds and rules of these signals apply; the others are ignored")
top1, top2 = st.columns([3, 1])
top1.button("Reset to the published thresholds", on_click=reset_to_published, key="scores_reset",
            help="every rule on, at the threshold its paper or reference implementation uses; no source or label filter")
log_y = top2.toggle("Log counts", key="scores_log", help="a logarithmic count axis shows the small bars of long tails")


@st.cache_data(show_spinner=False, max_entries=4)
def _facets(root: str, signature: tuple) -> pd.DataFrame:
    return store.df("SELECT 'source' AS kind, source AS v FROM docs GROUP BY ALL UNION ALL "
                    "SELECT 'label', label FROM docs WHERE label IS NOT NULL GROUP BY ALL")


with st.expander("Sources and labels"):
    facets = _facets(str(ws.root), store.signature)
    c1, c2 = st.columns(2)
    sources = c1.multiselect("Keep only these sources", sorted(facets.loc[facets["kind"] == "source", "v"].dropna()),
                             key="scores_sources")
    labels = c2.multiselect("Keep only these labels", sorted(facets.loc[facets["kind"] == "label", "v"].dropna()),
                            key="scores_labels")


# -- read the widgets into a filter --------------------------------------------------------------
def current_spec() -> F.FilterSpec:
    thresholds, rules = {}, {}
    for key in chosen:
        sc = by_key[key]
        for s in sc.sliders:
            if s.rule and not st.session_state.get(f"use_{s.column}", True):
                continue
            v = st.session_state.get(f"thr_{s.column}")
            if v is None:
                continue
            lo, hi = (v, None) if s.mode == "min" else (None, v) if s.mode == "max" else v
            cs = stats[s.column]
            # At the end of the scale the side is open, unless the value there is a published threshold
            # (kept as written, so a saved filter holds it even when no document reaches it today).
            lo = None if lo is None or cs.min is None or (lo <= cs.min and lo != s.default[0]) else float(lo)
            hi = None if hi is None or cs.max is None or (hi >= cs.max and hi != s.default[1]) else float(hi)
            if lo is not None or hi is not None:
                thresholds[s.column] = F.Range(min=lo, max=hi)
        for t in sc.toggles:
            if st.session_state.get(f"rule_{t.column}", t.default):
                rules[t.column] = t.required
    return F.FilterSpec(thresholds=thresholds, rules=rules, sources=list(sources), labels=list(labels),
                        description=st.session_state.get("scores_save_desc", ""))


# The widgets are drawn below, but their values are in session_state already: compute first, so the
# histograms can show what the whole filter keeps.
for col, s in sliders.items():
    opts = options_for(s)
    v = st.session_state.get(f"thr_{col}")
    if isinstance(v, tuple | list):
        st.session_state[f"thr_{col}"] = (nearest(opts, v[0]), nearest(opts, v[1]))
    elif v is not None and v not in opts:
        st.session_state[f"thr_{col}"] = nearest(opts, v)

try:
    spec = current_spec()
    ev = F.evaluate(store, spec, map_ids)
except WinnowError as exc:
    st.error(str(exc))
    st.stop()

if st.session_state.get("scores_view") not in chosen:
    st.session_state["scores_view"] = chosen[0] if chosen else None
view = st.segmented_control("Show the thresholds of", chosen, key="scores_view",
                            help="one signal at a time on screen; every signal in the filter applies")
shown = [view] if view else []
shown_columns = [s.column for k in shown for s in by_key[k].sliders]
overlay = ev.total <= OVERLAY_MAX_DOCS
hists = F.histograms(store, spec if overlay else None, shown_columns, map_ids)

# -- the summary ---------------------------------------------------------------------------------
with summary:
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Kept", f"{ev.kept:,}", help="documents that pass every threshold and rule in use")
    m2.metric("Kept %", f"{100 * ev.kept_share:.1f}%")
    m3.metric("Dropped", f"{ev.dropped:,}")
    m4.metric("Considered", f"{ev.total:,}", help="all documents, or the map selection")
    reasons = ev.reasons_frame()
    active = reasons[reasons["failing"] > 0]
    if spec.is_empty():
        st.caption("No threshold or rule is in use: every document is kept.")
    elif active.empty:
        st.caption("No document fails any threshold or rule in use.")
    else:
        chart_col = st.container()
        fig = go.Figure()
        fig.add_bar(y=active["reason"], x=active["first"], orientation="h", name="first failing rule",
                    marker_color=DROPPED_COLOR)
        fig.add_bar(y=active["reason"], x=active["failing"], orientation="h", name="fails this rule (any)",
                    marker_color="#ef9a9a")
        fig.update_layout(barmode="group", height=90 + 34 * len(active), margin=dict(l=10, r=10, t=30, b=10),
                          yaxis=dict(autorange="reversed"), legend=dict(orientation="h", y=1.08, x=0),
                          xaxis_title="documents")
        chart_col.plotly_chart(fig, width="stretch", key="scores_reasons_chart")
        table = active.rename(columns={"first": "first failing", "failing": "failing (any)"})
        table_col = st.expander("Drop reasons as a table")
        table_col.dataframe(table, hide_index=True, width="stretch", key="scores_reasons_table")
        chart_col.caption("Rules are checked in FineWeb's pipeline order (Gopher repetition, Gopher quality, C4, "
                          "FineWeb, then the other signals), each signal's rules in its own order; a document counts "
                          "once under 'first failing' and under every rule it fails in 'failing (any)'.")
st.sidebar.metric("Kept by the Scores filter", f"{ev.kept:,}", f"{100 * ev.kept_share:.1f}% of {ev.total:,}",
                  delta_color="off", help="stays in view while you move sliders further down the page")

# -- one card per numeric column ------------------------------------------------------------------
def histogram(s: F.Slider, frame: pd.DataFrame, rng: F.Range | None, enabled: bool) -> go.Figure:
    fig = go.Figure()
    x = (frame["start"] + frame["end"]) / 2
    width = (frame["end"] - frame["start"]) * 0.95
    if "kept" in frame:
        fig.add_bar(x=x, y=frame["kept"], width=width, name="kept", marker_color=KEPT_COLOR)
        fig.add_bar(x=x, y=frame["all"] - frame["kept"], width=width, name="dropped", marker_color=DROPPED_COLOR,
                    opacity=0.55)
    else:
        fig.add_bar(x=x, y=frame["all"], width=width, name="documents", marker_color="#607d8b")
    if rng is not None and enabled and len(frame):
        x0, x1 = float(frame["start"].iloc[0]), float(frame["end"].iloc[-1])
        if rng.min is not None:
            fig.add_vrect(x0=x0, x1=rng.min, fillcolor=OUTSIDE, line_width=0)
            fig.add_vline(x=rng.min, line_color=DROPPED_COLOR, line_width=2)
        if rng.max is not None:
            fig.add_vrect(x0=rng.max, x1=x1, fillcolor=OUTSIDE, line_width=0)
            fig.add_vline(x=rng.max, line_color=DROPPED_COLOR, line_width=2)
    fig.update_layout(barmode="stack", height=170, margin=dict(l=4, r=4, t=4, b=4), showlegend=False, bargap=0,
                      yaxis_type="log" if log_y else "linear", xaxis=dict(tickfont=dict(size=10)),
                      yaxis=dict(tickfont=dict(size=10)))
    return fig


def card(s: F.Slider) -> None:
    cs = stats[s.column]
    opts = options_for(s)
    with st.container(border=True):
        head = s.label + (f"  ·  rule {s.rule}" if s.rule and s.rule != s.label else "")
        enabled = True
        if s.rule:
            enabled = st.toggle(head, key=f"use_{s.column}", help=s.description or None)
        else:
            st.markdown(f"**{head}**", help=s.description or None)
        if not cs.count:
            st.caption("no values (the rule applies to no document)")
            return
        rng = spec.thresholds.get(s.column)
        frame = hists.get(s.column)
        if frame is not None and len(frame):
            st.plotly_chart(histogram(s, frame, rng, enabled), width="stretch", key=f"hist_{s.column}",
                            config={"displayModeBar": False})
        verb = {"min": "keep ≥", "max": "keep ≤", "range": "keep between"}[s.mode]
        # value= decides whether Streamlit treats it as a range; pass the current one (taken out of
        # session_state, so Streamlit does not warn about a value set twice).
        current = st.session_state.pop(f"thr_{s.column}", None)
        if current is None:
            current = slider_state(s, rng, opts)
        elif isinstance(current, list):
            current = tuple(current)
        st.select_slider(verb, options=opts, value=current, key=f"thr_{s.column}", format_func=fmt,
                         disabled=not enabled,
                         help=f"values {fmt(cs.min)} … {fmt(cs.max)}; each step is about 1% of the documents. "
                              "At the end of the scale the side is open.")
        drops = ev.failing.get(F.reason_name(s.column), 0) if rng is not None and enabled else 0
        note = (f"fails {drops:,} documents" if rng is not None and enabled
                else "rule off" if not enabled else "open: keeps all")
        lo, hi = s.default
        if lo is not None or hi is not None:
            published = f"{fmt(lo)} … {fmt(hi)}" if lo is not None and hi is not None else \
                f"≥ {fmt(lo)}" if lo is not None else f"≤ {fmt(hi)}"
            note += f" · published: {published}"
        if cs.clipped:
            note += f" · bars end at {fmt(cs.hist_hi)} (max {fmt(cs.max)})"
        st.caption(note)


for key in shown:
    sc = by_key[key]
    st.subheader(key)
    if sc.description:
        st.caption(sc.description)
    if overlay and sc.sliders:
        st.caption(":green[■] kept by the whole filter · :red[■] dropped (by this or any other rule) · "
                   "shaded: outside this threshold")
    if sc.stale:
        st.warning(f"{key} was computed before the documents last changed: new documents have no values "
                   "(they pass its thresholds). Recompute it under 'Compute signals'.")
    if not sc.known:
        st.caption("This signal is not in the registry (its module is missing): every number gets a range slider.")
    for i in range(0, len(sc.sliders), PER_ROW):
        cols = st.columns(PER_ROW)
        for col, s in zip(cols, sc.sliders[i:i + PER_ROW], strict=False):
            with col:
                card(s)
    if sc.toggles:
        st.markdown("**Rules and flags without a threshold**")
        tcols = st.columns(PER_ROW)
        for i, t in enumerate(sc.toggles):
            label = f"{t.label}: keep {'true' if t.required else 'false'}" if t.rule is None else f"rule {t.label}"
            tcols[i % PER_ROW].toggle(label, key=f"rule_{t.column}", help=t.description or None)

if not overlay:
    st.caption(f"With more than {OVERLAY_MAX_DOCS:,} documents the histograms show the distribution only; "
               "the counts above are exact.")

# -- dropped documents ---------------------------------------------------------------------------
st.divider()
st.subheader("Dropped documents")
if ev.dropped == 0:
    st.caption("None: every document considered is kept.")
elif ev.total > SAMPLES_AUTO_MAX_DOCS and not st.toggle(
        "Show dropped examples", key="scores_show_samples",
        help=f"above {SAMPLES_AUTO_MAX_DOCS:,} documents reading the examples' text takes a moment on every move, "
             "so it is off until you ask"):
    st.caption("Switch on 'Show dropped examples' to read a few dropped documents per reason.")
else:
    g1, g2 = st.columns([2, 1])
    by = g1.radio("Group by", ["first failing rule", "every failing rule"], horizontal=True, key="scores_sample_by")
    per = g2.number_input("Examples per reason", 1, 20, 3, key="scores_sample_n")
    samples = F.dropped_samples(store, spec, map_ids, per_reason=int(per),
                                by="first" if by.startswith("first") else "failing")
    st.dataframe(samples[["reason", "value", "text", "id", "source"]], hide_index=True, width="stretch",
                 key="scores_samples", column_config={
                     "text": st.column_config.TextColumn("text (start)", width="large"),
                     "value": st.column_config.TextColumn("why", help="the value that failed the threshold")})
    pick = st.selectbox("Read a dropped document in full", samples["id"].unique().tolist(), index=None, key="scores_read",
                        placeholder="choose a document id")
    if pick:
        doc = get_doc(store, pick)
        if doc is not None:
            with st.container(height=320):
                st.text(str(doc["text"]))  # plain text: never markup

# -- saved filters -------------------------------------------------------------------------------
st.divider()
st.subheader("Saved filters")
s1, s2 = st.columns([1, 2])
name = s1.text_input("Name", key="scores_save_name", placeholder="e.g. gopher-strict",
                     help="letters, digits, '_', '-' or '.'; saved as filters/<name>.json")
s2.text_input("Description", key="scores_save_desc", placeholder="what this filter is for")
replace = st.checkbox("Replace a filter with this name", key="scores_save_replace")
if st.button("Save filter", key="scores_save", type="primary", disabled=spec.is_empty()):
    try:
        path = F.save_filter(ws, name, spec.model_copy(update={"description": st.session_state["scores_save_desc"]}),
                             overwrite=replace)
        st.session_state["scores_flash"] = ("success", f"Saved {path.name}: {ev.kept:,} documents kept now. "
                                            f"Use it in Select, or `python -m core filter show {path.stem}`.")
        st.rerun()
    except WinnowError as exc:
        st.error(str(exc))

if saved:
    table = pd.DataFrame(saved)[["name", "description", "conditions", "saved", "problem"]]
    st.dataframe(table, hide_index=True, width="stretch", key="scores_saved_table")
    l1, l2, l3 = st.columns([3, 1, 1])
    which = l1.selectbox("Saved filter", [f["name"] for f in saved], key="scores_pick_saved")
    l2.button("Load", key="scores_load", on_click=load_saved, args=(which,), width="stretch",
              help="put the sliders and toggles where this filter has them")
    if l3.button("Delete", key="scores_delete", width="stretch"):
        try:
            F.delete_filter(ws, which)
            st.session_state["scores_flash"] = ("success", f"Deleted filter {which!r}.")
        except WinnowError as exc:
            st.session_state["scores_flash"] = ("error", str(exc))
        st.rerun()
else:
    st.caption("No saved filters yet.")

st.divider()
compute_panel(expanded=False)
