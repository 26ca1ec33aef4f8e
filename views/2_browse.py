"""Browse: search and filter documents, page through them, and read one whole (as plain text, never markup)."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from core.browse import DocQuery, count_matches, facet_values, get_doc, highlight_spans, page_docs, word_range
from core.embed import DEFAULT_MODEL, available_models
from core.errors import WinnowError
from ui.jobs import job_panel
from ui.plain import plain_md
from ui.state import map_filter_chip, require_workspace

PAGE_SIZE = 50
SEMANTIC_HITS = 200
SHOW_CHARS = 100_000  # longer documents are shown in part, with the whole text offered as a download

ws, store = require_workspace()
st.title("Browse")
map_ids = map_filter_chip("browse")


@st.cache_data(show_spinner=False, max_entries=4)
def _facets(root: str, signature: tuple) -> tuple[dict, tuple[int, int]]:
    return facet_values(store), word_range(store)


facets, (lo_words, hi_words) = _facets(str(ws.root), store.signature)
embedded = available_models(ws)  # models whose embeddings/<model>.npy (+ ids, sidecar) exist

mode_col, query_col = st.columns([1, 4])
modes = ["Keywords", "Meaning"] if embedded else ["Keywords"]
mode = mode_col.radio("Search by", modes, key="browse_mode", horizontal=True,
                      help="Keywords: every word must occur (case-insensitive; \"quote a phrase\"). "
                           "Meaning: nearest documents by cosine similarity of embeddings.")
text = query_col.text_input("Search", key="browse_query", placeholder="e.g. interest rates  or  \"def parse\"",
                            label_visibility="visible")
if not embedded:
    st.caption("Search by meaning becomes available once the documents are embedded (here, on the Map page, "
               "or with `python -m core embed`).")
    job_panel(ws, "embed", ["embed", "--model", DEFAULT_MODEL], title=f"embed ({DEFAULT_MODEL})",
              button="Compute embeddings", key="browse_embed",
              help="embed every document with the fast static model, in a background job")
elif mode == "Meaning" and len(embedded) > 1:
    st.selectbox("Embedding model", embedded, key="browse_model",
                 help="the query is embedded with the same model as the documents")

f1, f2, f3 = st.columns([2, 2, 2])
sources = f1.multiselect("Sources", facets["sources"], key="browse_sources")
labels = f2.multiselect("Labels", facets["labels"], key="browse_labels")
with f3:
    c_min, c_max = st.columns(2)
    min_words = c_min.number_input("Min words", min_value=0, value=0, step=10, key="browse_min_words")
    max_words = c_max.number_input("Max words", min_value=0, value=max(hi_words, 0), step=10, key="browse_max_words")

similarity: pd.DataFrame | None = None
ids = map_ids
if mode == "Meaning" and text.strip():
    from core.search import nearest

    model = st.session_state.get("browse_model") if len(embedded) > 1 else embedded[0]
    try:
        with st.spinner("Searching by meaning…"):  # the first search of a session loads the model
            similarity = nearest(ws, text, k=SEMANTIC_HITS, model=model)
    except WinnowError as exc:
        st.error(str(exc))
        job_panel(ws, "embed", ["embed", "--model", model or DEFAULT_MODEL], title=f"embed ({model or DEFAULT_MODEL})",
                  button="Compute embeddings", key="browse_embed")
        st.stop()
    hit_ids = similarity["id"].tolist()
    if map_ids is not None:
        in_map = set(map_ids)
        hit_ids = [i for i in hit_ids if i in in_map]
    ids = hit_ids

query = DocQuery(
    keywords=text if mode == "Keywords" else "",
    sources=sources, labels=labels,
    min_words=int(min_words) if min_words > lo_words else None,
    max_words=int(max_words) if max_words < hi_words else None,
    ids=ids,
)

# A new query starts again at the first page.
signature = json.dumps([mode, text, sources, labels, min_words, max_words, len(ids or [])])
if st.session_state.get("browse_signature") != signature:
    st.session_state["browse_signature"] = signature
    st.session_state["browse_page"] = 0
    st.session_state.pop("browse_pick", None)

# The page first, then the count (a keyword count over a million texts is a scan of every text):
# the table shows while matches are counted, up to COUNT_CAP ("more than 10,000").
count_slot = st.empty()
page = st.session_state.get("browse_page", 0)
rows = page_docs(store, query, page, PAGE_SIZE, extra=1)
if rows.empty and page > 0:  # a stale page number (documents changed): back to the first page
    page = st.session_state["browse_page"] = 0
    rows = page_docs(store, query, page, PAGE_SIZE, extra=1)
has_next = len(rows) > PAGE_SIZE
rows = rows.iloc[:PAGE_SIZE]


def _count_text(n: int, exact: bool) -> str:
    amount = f"**{n:,}**" if exact else f"**more than {n:,}**"
    if mode == "Meaning" and text.strip():
        return f"{amount} nearest documents (of the {SEMANTIC_HITS} most similar) match the filters"
    return f"{amount} documents match"


if rows.empty:
    count_slot.markdown(_count_text(0, True))
    st.info("No documents match. Remove a word or a filter.")
    st.stop()

if similarity is not None:
    rows = rows.merge(similarity.rename(columns={"score": "similarity"}), on="id", how="left")
    rows = rows[["id", "similarity", "source", "label", "words", "snippet"]]


def _pick_from_table() -> None:
    chosen = st.session_state["browse_table"].selection.rows
    if chosen:
        st.session_state["browse_pick"] = st.session_state["browse_page_ids"][chosen[0]]


st.session_state["browse_page_ids"] = rows["id"].tolist()
st.dataframe(rows, hide_index=True, width="stretch", key="browse_table", on_select=_pick_from_table,
             selection_mode="single-row", column_config={
                 "snippet": st.column_config.TextColumn("text", width="large"),
                 "similarity": st.column_config.NumberColumn(format="%.3f"),
             })

if not has_next:  # this page is the last: the count is known without a query
    total, exact = page * PAGE_SIZE + len(rows), True
else:
    with count_slot, st.spinner("Counting matches…"):
        total, exact = count_matches(store, query, page, len(rows), PAGE_SIZE)
count_slot.markdown(_count_text(total, exact))
pages = -(-total // PAGE_SIZE)

prev_col, info_col, next_col = st.columns([1, 4, 1])
if prev_col.button("← Previous", disabled=page == 0, key="browse_prev"):
    st.session_state["browse_page"] = page - 1
    st.rerun()
of_pages = f"{pages:,}" if exact else f"more than {max(pages, page + 1):,}"
info_col.caption(f"Page {page + 1:,} of {of_pages} · click a row, or pick its id below, to read it")
if next_col.button("Next →", disabled=not has_next, key="browse_next"):
    st.session_state["browse_page"] = page + 1
    st.rerun()

page_ids = rows["id"].tolist()
if st.session_state.get("browse_pick") not in page_ids:
    st.session_state.pop("browse_pick", None)
doc_id = st.selectbox("Read document", page_ids, index=None, key="browse_pick", placeholder="choose a document id")
if doc_id is None:
    st.stop()

doc = get_doc(store, doc_id)
if doc is None:
    st.warning("This document is no longer in the workspace (it was re-ingested meanwhile).")
    st.stop()

st.divider()
st.subheader(f"Document {plain_md(doc['id'])}")
m1, m2, m3, m4 = st.columns(4)
# metric values are read as Markdown: a source or label from the corpus is escaped to show as typed
m1.metric("Source", plain_md(doc["source"]))
m2.metric("Label", "—" if doc["label"] is None or pd.isna(doc["label"]) else plain_md(doc["label"]))
m3.metric("Words", f"{int(doc['n_words']):,}")
m4.metric("Characters", f"{int(doc['n_chars']):,}")

body = str(doc["text"])
terms = query.terms()
if terms:
    matches = highlight_spans(body, terms)
    st.caption(f"{len(matches)}{'+' if len(matches) >= 50 else ''} occurrence(s) of the search words in this document")
text_tab, meta_tab, score_tab = st.tabs(["Text", "Metadata", "Scores"])
with text_tab:
    if len(body) > SHOW_CHARS:
        st.warning(f"Showing the first {SHOW_CHARS:,} of {len(body):,} characters.")
    with st.container(height=480):
        # st.text shows the characters as they are: no Markdown, no HTML.
        st.text(body[:SHOW_CHARS])
    st.download_button("Download the whole text", body.encode("utf-8"), file_name=f"{doc_id[:80]}.txt".replace("/", "_"),
                       mime="text/plain", key="browse_download")
with meta_tab:
    meta = {"id": doc["id"], "sha1": doc["sha1"], **({"meta": doc["meta"]} if doc["meta"] else {})}
    st.json(meta)
with score_tab:
    if doc["scores"]:
        st.dataframe(pd.DataFrame({"column": list(doc["scores"]), "value": [str(v) for v in doc["scores"].values()]}),
                     hide_index=True, width="stretch")
    else:
        st.caption("No signals computed yet (Scores page, or `python -m core score`).")
