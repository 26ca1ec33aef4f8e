"""Export a selection from the browser and download it: the zip holds the data in the selection's order and
the manifest whose sha256 matches the file."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile

import pytest

from tests.browser.conftest import AppServer, wait_for_app
from tests.unit.test_export import write_selection

pytestmark = pytest.mark.browser

ORDER = ["b07", "b03", "b11", "b00", "b05"]


def test_export_and_download_from_the_browser(make_ws, page, tmp_path):
    ws = make_ws([{"id": f"b{i:02d}", "text": f"Row {i}, with a comma", "lab": "x" if i % 2 else "y"} for i in range(12)],
                 id_field="id", label_field="lab")
    write_selection(ws, "picks", ORDER, recipe={"strategy": "random", "size": 5, "seed": 2})
    server = AppServer(ws.root)
    try:
        page.goto(f"{server.url}/export")
        wait_for_app(page)
        page.get_by_text("CSV", exact=True).click()
        wait_for_app(page)
        page.get_by_role("button", name="Export", exact=True).click()
        page.get_by_text("Exported 5 rows").wait_for()
        with page.expect_download() as info:
            page.get_by_role("button", name="Download picks.zip").click()
        path = tmp_path / "download.zip"
        info.value.save_as(path)
    finally:
        server.stop()
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == ["picks/manifest.json", "picks/picks.csv"]
        data = zf.read("picks/picks.csv")
        manifest = json.loads(zf.read("picks/manifest.json"))
    rows = list(csv.reader(io.StringIO(data.decode(), newline="")))
    assert rows[0] == ["id", "text", "label", "source"]
    assert [r[0] for r in rows[1:]] == ORDER
    assert rows[1][1] == "Row 7, with a comma"
    assert manifest["files"][0]["sha256"] == hashlib.sha256(data).hexdigest()
    assert manifest["counts"] == {**manifest["counts"], "in": 12, "kept": 5, "dropped": 7}
