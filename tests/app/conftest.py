"""AppTest helpers: open the app on a workspace and go to one page."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

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
