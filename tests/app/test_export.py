"""Export page: pick a selection, format and columns, export; the export is listed with its files and a
download; exporting again under the same name asks for confirmation; no selection says what to do."""

from __future__ import annotations

import json

import pytest

from tests.unit.test_export import write_selection

RECORDS = [{"id": f"n{i:02d}", "text": f"News item {i} about markets.", "topic": ["biz", "tech"][i % 2]}
           for i in range(30)]
ORDER = ["n05", "n01", "n22", "n17"]


@pytest.fixture
def ws(make_ws):
    w = make_ws(RECORDS, id_field="id", label_field="topic", source="news")
    write_selection(w, "shortlist", ORDER, recipe={"strategy": "random", "size": 4, "seed": 11})
    return w


def _success(at) -> str:
    return " ".join(s.value for s in at.success)


def test_export_writes_files_lists_them_and_offers_a_download(ws, open_page):
    at = open_page(ws, "6_export")
    assert at.selectbox(key="export_selection").value == "shortlist"
    assert any(m.label == "Rows" and m.value == "4" for m in at.metric)
    at.radio(key="export_format").set_value("jsonl").run()
    at.multiselect(key="export_columns").select("meta").run()
    at.checkbox(key="export_dropped").check().run()
    at.button(key="export_go").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert "Exported 4 rows" in _success(at)
    folder = ws.dir("exports") / "shortlist"
    lines = (folder / "shortlist.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == ORDER
    assert list(json.loads(lines[0])) == ["id", "text", "label", "source", "meta"]
    assert len((folder / "dropped/dropped.jsonl").read_text().splitlines()) == 26
    # the past-exports list shows it, with its files and a download button
    listed = at.dataframe[0].value
    assert list(listed["name"]) == ["shortlist"] and list(listed["format"]) == ["jsonl"]
    files = at.dataframe[1].value
    assert list(files["file"]) == ["shortlist.jsonl", "dropped/dropped.jsonl"]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert list(files["sha256"]) == [f["sha256"] for f in manifest["files"]]
    assert at.get("download_button"), "no download button for a small export"


def test_existing_export_needs_confirmation(ws, open_page):
    at = open_page(ws, "6_export")
    at.button(key="export_go").click().run()
    assert (ws.dir("exports") / "shortlist" / "shortlist.parquet").exists()
    at.radio(key="export_format").set_value("csv").run()
    assert any("already exists" in w.value for w in at.warning)
    assert at.button(key="export_go").disabled
    at.checkbox(key="export_confirm_shortlist").check().run()
    at.button(key="export_go").click().run()
    assert not at.exception
    assert sorted(p.name for p in (ws.dir("exports") / "shortlist").iterdir()) == ["manifest.json", "shortlist.csv"]


def test_bad_export_name_is_refused(ws, open_page):
    at = open_page(ws, "6_export")
    at.text_input(key="export_name_shortlist").input("../../outside").run()
    assert any("invalid export name" in e.value for e in at.error)
    assert not list(ws.dir("exports").iterdir())


def test_no_selection_says_what_to_do(make_ws, open_page):
    w = make_ws(RECORDS[:3])
    at = open_page(w, "6_export")
    assert any("No selections yet" in i.value for i in at.info)
    assert any("No exports yet" in c.value for c in at.caption)


def test_large_export_runs_as_a_job(ws, open_page, monkeypatch):
    import time

    from core import export as export_mod
    from core.jobs import list_jobs

    monkeypatch.setattr(export_mod, "SMALL_EXPORT_ROWS", 2)  # this selection (4 rows) counts as large
    at = open_page(ws, "6_export")
    assert any("runs as a background job" in c.value for c in at.caption)
    at.text_input(key="export_name_shortlist").input("big").run()
    at.button(key="start_export").click().run()
    manifest = ws.dir("exports") / "big" / "manifest.json"
    deadline = time.monotonic() + 90
    while not manifest.exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert manifest.exists(), (ws.dir("jobs") / f"{list_jobs(ws)[0]['id']}.log").read_text()
    job = list_jobs(ws, kind="export")[0]
    assert job["argv"][:7] == ["export", "--selection", "shortlist", "--format", "parquet", "--name", "big"]
    deadline = time.monotonic() + 30
    while list_jobs(ws, kind="export")[0]["status"] != "done" and time.monotonic() < deadline:
        time.sleep(0.3)
    assert list_jobs(ws, kind="export")[0]["status"] == "done"
    assert json.loads(manifest.read_text())["counts"]["kept"] == 4


def test_a_new_export_is_the_one_shown(ws, open_page):
    write_selection(ws, "another", ["n02", "n03"])
    at = open_page(ws, "6_export")
    assert at.selectbox(key="export_selection").value == "another"  # names in order
    at.button(key="export_go").click().run()
    assert at.selectbox(key="export_pick").value == "another"
    at.selectbox(key="export_selection").select("shortlist").run()
    at.button(key="export_go").click().run()
    assert at.selectbox(key="export_pick").value == "shortlist"
    assert list(at.dataframe[1].value["file"]) == ["shortlist.parquet"]


def test_rebuild_button_checks_the_hashes_as_a_job(ws, open_page):
    import time

    from core.export import export_selection
    from core.jobs import list_jobs

    select = pytest.importorskip("core.select")
    select.save_selection(ws, "rand", {"strategy": "random", "size": 5, "seed": 1})
    export_selection(ws, "rand", "csv")
    at = open_page(ws, "6_export")
    at.selectbox(key="export_pick").select("rand").run()
    at.button(key="start_rebuild_rand").click().run()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        jobs = list_jobs(ws, kind="rebuild-rand")
        if jobs and jobs[0]["status"] not in ("queued", "running"):
            break
        time.sleep(0.5)
    assert jobs[0]["status"] == "done", (ws.dir("jobs") / f"{jobs[0]['id']}.log").read_text()
    assert jobs[0]["argv"][-1] == "--check"
    at.run()
    assert any("1/1 files identical" in s.value for s in at.success), [s.value for s in at.success]
    assert [p.name for p in ws.dir("exports").iterdir()] == ["rand"]  # the check left nothing behind
