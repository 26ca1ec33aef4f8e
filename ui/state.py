"""Session state shared by every page: the open workspace, its Store, and the map-selection filter."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import streamlit as st

from core.errors import WinnowError
from core.store import Store
from core.workspace import Workspace

DEFAULT_WORKSPACE = "workspaces/demo"


def workspace_from_args(argv: list[str] | None = None) -> str:
    """`streamlit run app.py -- --workspace W`, else $WINNOW_WORKSPACE, else the demo workspace."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--workspace", default=None)
    args, _ = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    return args.workspace or os.environ.get("WINNOW_WORKSPACE") or DEFAULT_WORKSPACE


def workspace_path() -> str:
    if "workspace_path" not in st.session_state:
        st.session_state["workspace_path"] = str(Path(workspace_from_args()).expanduser().resolve())
    return st.session_state["workspace_path"]


def set_workspace(path: str | Path) -> None:
    st.session_state["workspace_path"] = str(Path(path).expanduser().resolve())
    clear_map_filter()


@st.cache_resource(show_spinner="Opening the workspace…")
def _store(path: str) -> Store:
    # a table that must be joined is served from memory at once; its cache file is written in the background
    return Store(Workspace.open(path), background_cache=True)


def workspace() -> Workspace | None:
    path = workspace_path()
    if not Workspace.is_workspace(path):
        return None
    return Workspace.open(path)


def store() -> Store:
    """The shared Store of the open workspace, refreshed when its files changed (a few stat calls)."""
    path = workspace_path()
    s = _store(path)
    if s.needs_refresh():
        # a job wrote new files: the scores table is joined again (seconds at a million documents, once)
        with st.spinner("The workspace's files changed: updating the scores table…"):
            s.refresh()
    return s


def require_workspace() -> tuple[Workspace, Store]:
    """For pages: the workspace and its store, or a message and st.stop() when there is none."""
    ws = workspace()
    if ws is None:
        st.info(
            f"No workspace at `{workspace_path()}`. Pick a folder or create a workspace from a file in the sidebar, "
            "or build the demo with `python -m core demo --workspace workspaces/demo`."
        )
        st.stop()
    try:
        return ws, store()
    except WinnowError as exc:
        st.error(str(exc))
        st.stop()


# -- the map selection: a set of ids chosen on the Map page, applied by every other page ---------
MAP_FILTER = "map_filter"


def map_filter() -> dict | None:
    """{"ids": [...], "label": "cluster 3: tax, budget"} or None."""
    return st.session_state.get(MAP_FILTER)


def map_filter_ids() -> list[str] | None:
    f = map_filter()
    return list(f["ids"]) if f else None


def set_map_filter(ids: list[str], label: str) -> None:
    st.session_state[MAP_FILTER] = {"ids": list(ids), "label": label}


def clear_map_filter() -> None:
    st.session_state.pop(MAP_FILTER, None)


def map_filter_chip(key: str = "chip") -> list[str] | None:
    """Show "Filtered by map selection" with a Clear button; return the ids to filter by (or None)."""
    f = map_filter()
    if not f:
        return None
    col1, col2 = st.columns([6, 1])
    col1.info(f"Filtered by map selection: {f['label']} ({len(f['ids']):,} documents)", icon=":material/filter_alt:")
    if col2.button("Clear", key=f"clear_map_filter_{key}", help="show all documents again"):
        clear_map_filter()
        st.rerun()
    return list(f["ids"])
