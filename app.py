"""Winnow: the Streamlit entry point. `streamlit run app.py -- --workspace W`.

Pages are the files views/NN_name.py (found by their number prefix, so adding a page touches no
other file); the sidebar holds the workspace picker.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import streamlit as st  # noqa: E402

from ui.sidebar import workspace_sidebar  # noqa: E402

ROOT = Path(__file__).resolve().parent
ICONS = {
    "overview": ":material/dashboard:", "browse": ":material/search:", "map": ":material/scatter_plot:",
    "scores": ":material/tune:", "select": ":material/checklist:", "compare": ":material/compare:",
    "export": ":material/download:", "jobs": ":material/pending_actions:", "targets": ":material/target:",
}


def discover_pages() -> list[st.Page]:
    pages = []
    for path in sorted((ROOT / "views").glob("[0-9]*_*.py"), key=lambda p: int(p.name.split("_")[0])):
        slug = path.stem.split("_", 1)[1]
        pages.append(st.Page(str(path), title=slug.replace("_", " ").capitalize(), icon=ICONS.get(slug),
                             url_path=slug, default=slug == "overview"))
    return pages


st.set_page_config(page_title="Winnow", page_icon=":material/filter_alt:", layout="wide")
navigation = st.navigation(discover_pages())
workspace_sidebar()
navigation.run()
