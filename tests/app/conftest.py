"""AppTest helpers: open the app on a workspace and go to one page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.store import Store

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def open_page(monkeypatch):
    """open_page(ws, "2_browse") -> an AppTest that has run the app on that page of that workspace."""

    def _open(ws, page: str, timeout: float = 60) -> AppTest:
        monkeypatch.setenv("WINNOW_WORKSPACE", str(ws.root))
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
        at.run()
        assert not at.exception, [e.message for e in at.exception]
        if not page.startswith("1_"):
            at.switch_page(f"views/{page}.py")
            at.run()
        assert not at.exception, [e.message for e in at.exception]
        return at

    return _open


# A query that reads the documents' text (the column `text`): what a page must not run while it opens.
TEXT_QUERY = re.compile(r"\btext\b", re.IGNORECASE)


class _Recording:
    """A DuckDB cursor that notes every query it runs."""

    def __init__(self, cur, log: list[str]) -> None:
        self._cur, self._log = cur, log

    def execute(self, query, *args, **kwargs):
        self._log.append(str(query))
        return self._cur.execute(query, *args, **kwargs)

    def sql(self, query, *args, **kwargs):
        self._log.append(str(query))
        return self._cur.sql(query, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._cur, name)


@pytest.fixture
def queries(monkeypatch) -> list[str]:
    """Every SQL query run through a Store from now on."""
    log: list[str] = []
    original = Store.cursor
    monkeypatch.setattr(Store, "cursor", lambda self: _Recording(original(self), log))
    return log
