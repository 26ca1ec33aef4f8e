"""Time how long each page of the app takes to open, as a browser sees it.

    .venv/bin/python -m tools.pagetime WORKSPACE [PAGE ...] [--rounds 2]

Starts the app on a free port, opens the default page once (the cold start: the Store, the first
caches), then opens each page in a new session (a page load, as a bookmark or a reload does) and
prints three times per page:

- `title`: until the page's first element (its title) is drawn;
- `script`: until the server says the page's script has finished (Streamlit's `script_finished`
  message on the websocket). This is the open time: every number and table is there;
- `drawn`: until, in addition, every Plotly chart has drawn its SVG and no skeleton is left.

Waiting for "no Running... status" instead is not enough: the status appears only after half a
second, so a page that draws its title at once looks finished before its script is.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from pathlib import Path

from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, AppServer

PAGES = ("overview", "browse", "map", "scores", "select", "compare", "export", "jobs", "targets")
CHARTS_DRAWN = ("() => !document.querySelector('[data-testid=stSkeleton]') && "
                "[...document.querySelectorAll('[data-testid=stPlotlyChart]')].every(c => c.querySelector('.main-svg'))")


def _rss_mb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


class ScriptWatch:
    """Records when the server reports a finished script run on the page's websocket."""

    def __init__(self, page) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        self._msg = ForwardMsg
        self.finished: list[tuple[float, float]] = []  # (its websocket opened, finished)
        page.on("websocket", self._attach)

    def _attach(self, ws) -> None:
        opened = time.perf_counter()  # a session's messages count only for page loads after it opened
        ws.on("framereceived", lambda payload: self._frame(payload, opened))

    def _frame(self, payload, opened: float) -> None:
        if isinstance(payload, str):
            return
        msg = self._msg()
        with contextlib.suppress(Exception):
            msg.ParseFromString(payload)
            if msg.WhichOneof("type") == "script_finished" and msg.script_finished in (
                    msg.FINISHED_SUCCESSFULLY, msg.FINISHED_EARLY_FOR_RERUN):
                self.finished.append((opened, time.perf_counter()))

    def wait_after(self, t0: float, page, timeout_s: float) -> float:
        """Seconds from t0 to the first finished run after t0 (plus any immediate rerun it asked for)."""
        deadline = time.perf_counter() + timeout_s
        while time.perf_counter() < deadline:
            done = [t for opened, t in self.finished if opened > t0]
            if done:
                # a page that calls st.rerun() finishes early and runs again: wait a moment for that run
                page.wait_for_timeout(300)
                done = [t for opened, t in self.finished if opened > t0]
                return max(done) - t0 if len(done) > 1 else done[0] - t0
            page.wait_for_timeout(20)
        raise TimeoutError(f"no finished script within {timeout_s} s")


def time_page(page, watch: ScriptWatch, url: str, timeout_s: float = 300) -> dict:
    t0 = time.perf_counter()
    page.goto(url)
    page.wait_for_selector("[data-testid='stMain'] :is(h1, [data-testid='stException'], [data-testid='stAlert'])",
                           timeout=timeout_s * 1000)
    title = time.perf_counter() - t0
    script = watch.wait_after(t0, page, timeout_s)
    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_function(CHARTS_DRAWN, timeout=timeout_s * 1000)
    drawn = time.perf_counter() - t0
    error = page.locator("[data-testid='stException']")
    return {"title": round(title, 2), "script": round(script, 2), "drawn": round(max(drawn, script), 2),
            "error": error.first.inner_text()[:300] if error.count() else None}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.pagetime", description=__doc__.split("\n\n")[0])
    ap.add_argument("workspace")
    ap.add_argument("pages", nargs="*", default=list(PAGES))
    ap.add_argument("--rounds", type=int, default=1, help="open every page this many times (caches warm after the first)")
    ap.add_argument("--json", default=None, help="also write the results here")
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    server = AppServer(Path(args.workspace))
    pid = server.proc.pid
    out: dict = {"load_start": os.getloadavg()[0], "pages": {}}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            watch = ScriptWatch(page)
            cold = time_page(page, watch, f"{server.url}/")
            out["cold"] = cold
            print(f"cold      title {cold['title']:6.2f}  script {cold['script']:6.2f}  drawn {cold['drawn']:6.2f} s"
                  f"  RSS {_rss_mb(pid):,} MB", flush=True)
            for r in range(args.rounds):
                for slug in args.pages:
                    res = time_page(page, watch, f"{server.url}/{slug}")
                    out["pages"].setdefault(slug, []).append(res)
                    print(f"{slug:<9} title {res['title']:6.2f}  script {res['script']:6.2f}  drawn {res['drawn']:6.2f} s"
                          f"  RSS {_rss_mb(pid):,} MB  (round {r + 1})" + (f"  ERROR {res['error']}" if res["error"] else ""),
                          flush=True)
            browser.close()
    finally:
        server.stop()
    out["load_end"] = os.getloadavg()[0]
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
