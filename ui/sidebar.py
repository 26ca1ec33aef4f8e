"""The sidebar: which workspace is open, open another, or create one from an uploaded file."""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from core.errors import WinnowError
from core.ingest import TEXT_FIELD_GUESSES
from core.readers import detect_format, read_any
from core.workspace import Workspace, safe_name
from ui.jobs import job_caption, job_status
from ui.state import set_workspace, workspace_path

# Where new workspaces made from uploads go (and where the picker looks for others).
WORKSPACES_DIR = Path(os.environ.get("WINNOW_WORKSPACES_DIR", "workspaces"))


def known_workspaces() -> list[str]:
    found = {workspace_path()}
    if WORKSPACES_DIR.is_dir():
        found |= {str(p.resolve()) for p in WORKSPACES_DIR.iterdir() if Workspace.is_workspace(p)}
    return sorted(found)


def workspace_sidebar() -> None:
    with st.sidebar:
        st.markdown("**Workspace**")
        current = workspace_path()
        options = known_workspaces()
        choice = st.selectbox("Open workspace", options, index=options.index(current), key="ws_select",
                              format_func=lambda p: Path(p).name, label_visibility="collapsed")
        if choice != current:
            set_workspace(choice)
            st.rerun()
        st.caption(current)
        with st.expander("Open another folder"):
            path = st.text_input("Folder path", key="ws_path", placeholder="/data/my-workspace")
            if st.button("Open", key="ws_open") and path:
                if Workspace.is_workspace(path):
                    set_workspace(path)
                    st.rerun()
                else:
                    st.error(f"{path} is not a Winnow workspace (no docs/ folder).")
        with st.expander("New workspace from a file"):
            _create_from_upload()
        _running_jobs()


def _running_jobs() -> None:
    from core.jobs import list_jobs

    path = workspace_path()
    if not Workspace.is_workspace(path):
        return
    ws = Workspace(path)
    upload = st.session_state.get("upload_job")
    if upload and upload[0] == path:
        st.markdown("**Ingesting the uploaded file**")
        job_status(ws, upload[1], "upload")
    active = [j for j in list_jobs(ws, limit=10) if j["status"] in ("queued", "running")
              and not (upload and j["id"] == upload[1])]
    for job in active:
        st.caption(job_caption(job))


def _fields_of(path: Path) -> list[str]:
    """Field names seen in the first rows of an uploaded file (for the text-field picker)."""
    names: dict[str, None] = {}
    for i, row in enumerate(read_any(path)):
        if row.record:
            names.update(dict.fromkeys(row.record))
        if i >= 200:
            break
    return list(names)


def upload_file_name(name: str) -> str:
    """The name an upload is staged under: only its last part, spaces as '_', through safe_name (a name
    that could leave the staging folder, like '..' or '.hidden', is refused)."""
    return safe_name(Path(name.replace("\\", "/")).name.replace(" ", "_"), "file name")


def upload_limit_text() -> str:
    """The upload size limit, from server.maxUploadSize (in MB; .streamlit/config.toml sets it)."""
    limit = int(st.get_option("server.maxUploadSize"))
    return (f"At most {limit:,} MB per file (server.maxUploadSize in .streamlit/config.toml). "
            "Larger corpora: `python -m core ingest FILE --workspace DIR`, then open DIR here.")


def _create_from_upload() -> None:
    upload = st.file_uploader("JSONL, JSON, CSV/TSV or Parquet", type=["jsonl", "ndjson", "json", "csv", "tsv", "parquet", "gz"],
                              key="ws_upload", help=upload_limit_text())
    name = st.text_input("Workspace name", key="ws_new_name", placeholder="my-corpus")
    if upload is None:
        return
    try:
        stage = WORKSPACES_DIR / ".uploads"
        stage.mkdir(parents=True, exist_ok=True)
        # The uploaded name is only used for its extension; the path is ours, so it cannot escape.
        file_name = upload_file_name(upload.name)
        detect_format(Path(file_name))
        staged = stage / file_name
        staged.write_bytes(upload.getbuffer())
        fields = _fields_of(staged)
    except WinnowError as exc:
        st.error(str(exc))
        return
    if not fields:
        st.error("No readable rows in this file (check its format and encoding).")
        return
    guess = next((f for f in TEXT_FIELD_GUESSES if f in fields), fields[0])
    text_field = st.selectbox("Text field", fields, index=fields.index(guess), key="ws_text_field")
    id_field = st.selectbox("Id field (optional)", ["(row number)", *fields], key="ws_id_field")
    label_field = st.selectbox("Label field (optional)", ["(none)", *fields], key="ws_label_field")
    if st.button("Create and ingest", key="ws_create", type="primary", disabled=not name):
        try:
            ws = Workspace.create(WORKSPACES_DIR / safe_name(name, "workspace name"))
        except WinnowError as exc:
            st.error(str(exc))
            return
        target = ws.root / "inputs" / file_name
        staged.replace(target)
        argv = ["ingest", str(target), "--text-field", text_field]
        if id_field != "(row number)":
            argv += ["--id-field", id_field]
        if label_field != "(none)":
            argv += ["--label-field", label_field]
        from core.jobs import start_job

        job_id = start_job(ws, "ingest", argv, title=f"ingest {file_name}")
        set_workspace(ws.root)
        st.session_state["upload_job"] = (str(ws.root.resolve()), job_id)
        st.rerun()
