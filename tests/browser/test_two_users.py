"""Two users at once: two browser contexts (two Streamlit sessions) on the same workspace move the same Scores
slider and save selections at the same time, while a job rewrites a signal's results again and again. Each
session keeps its own slider (one user's move does not change the other's count), the same move gives both
the same count, both selections are saved whole, and neither page shows an error."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from core.select import load_selection
from core.signals.runner import run_signal
from tests.browser.conftest import ROOT, AppServer, wait_for_app
from tests.unit.test_filters import make_scored

pytestmark = pytest.mark.browser

KEPT = """() => { for (const m of document.querySelectorAll('[data-testid=stMetric]')) {
    const l = m.querySelector('[data-testid=stMetricLabel]'), v = m.querySelector('[data-testid=stMetricValue]');
    if (l && v && l.innerText.trim() === 'Kept') return v.innerText.trim(); } return null; }"""
ERRORS = "() => document.querySelectorAll('[data-testid=stException], [data-testid=stAlertContentError]').length"


def kept(page) -> str:
    page.wait_for_function(f"() => ({KEPT})() !== null", timeout=60_000)
    return page.evaluate(KEPT)


def move(page, presses: int) -> None:
    thumb = page.get_by_role("slider").first
    thumb.focus()
    for _ in range(presses):
        thumb.press("ArrowRight")


def save_selection(page, name: str, click: bool = True) -> None:
    field = page.get_by_label("Save as", exact=True).and_(page.locator("input"))
    field.fill(name)
    field.press("Enter")
    wait_for_app(page)
    if click:
        page.get_by_role("button", name="Save selection").click()


def test_two_sessions_move_sliders_and_save_selections_while_a_job_writes(browser, make_ws, tmp_path):
    ws = make_scored(make_ws, tmp_path)
    run_signal(ws, "length")
    server = AppServer(ws.root)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    # a job that rewrites signals/length.parquet (same values) over and over while the users work
    job = subprocess.Popen(["bash", "-c", f"for i in 1 2 3 4 5 6 7 8; do {sys.executable} -m core score length --force "
                                          f"--workspace {ws.root} --quiet || exit 1; done"],
                           cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    # two independent contexts of the shared browser: no shared cookies, two Streamlit sessions
    contexts = [browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(2)]
    a, b = (c.new_page() for c in contexts)
    try:
        for p in (a, b):
            p.set_default_timeout(60_000)
            p.goto(f"{server.url}/scores")
        for p in (a, b):
            wait_for_app(p)
        start = kept(a)
        assert kept(b) == start

        # A moves the slider; B's session is not affected
        move(a, 2)
        a.wait_for_function(f"() => ({KEPT})() !== {start!r}")
        wait_for_app(a)
        moved = kept(a)
        wait_for_app(b)
        assert kept(b) == start

        # B makes the same move while A moves one step back and forth: the same move, the same figure
        move(b, 2)
        thumb = a.get_by_role("slider").first
        thumb.focus()
        thumb.press("ArrowLeft")
        thumb.press("ArrowRight")
        b.wait_for_function(f"() => ({KEPT})() === {moved!r}")
        a.wait_for_function(f"() => ({KEPT})() === {moved!r}")
        for p in (a, b):
            wait_for_app(p)
            assert p.evaluate(ERRORS) == 0

        # both save a selection at the same moment
        for p in (a, b):
            p.goto(f"{server.url}/select")
        for p in (a, b):
            wait_for_app(p)
            p.get_by_text("Preview").first.wait_for()
        save_selection(a, "from_a", click=False)
        save_selection(b, "from_b", click=False)
        a.get_by_role("button", name="Save selection").click()
        b.get_by_role("button", name="Save selection").click()
        a.get_by_text("Saved from_a:").wait_for()
        b.get_by_text("Saved from_b:").wait_for()
        for p in (a, b):
            wait_for_app(p)
            assert p.evaluate(ERRORS) == 0
        meta_a, rows_a = load_selection(ws, "from_a")
        meta_b, rows_b = load_selection(ws, "from_b")
        assert meta_a["recipe"] == meta_b["recipe"] and len(rows_a) == len(rows_b) == meta_a["count"] > 0
        assert rows_a["id"].tolist() == rows_b["id"].tolist()  # same recipe, same seed: the same documents

        # the job finished cleanly, and a fresh look at Scores from either session agrees
        out, _ = job.communicate(timeout=300)
        assert job.returncode == 0, out.decode()[-2000:]
        for p in (a, b):
            p.goto(f"{server.url}/scores")
            wait_for_app(p)
        assert kept(a) == kept(b) == start  # a new page starts from the published thresholds again
        assert a.evaluate(ERRORS) == 0 and b.evaluate(ERRORS) == 0
    finally:
        if job.poll() is None:
            job.kill()
            job.wait()
        for c in contexts:
            c.close()
        server.stop()
