"""Screenshot pages of the app in Debian's Chromium, to look at a page you changed.

    .venv/bin/python -m tools.shoot WORKSPACE OUT_PREFIX [PAGE ...]   e.g. ... ws /tmp/look overview browse map

Writes OUT_PREFIX-PAGE.png (full page) for each page slug, after the app has finished running.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, AppServer
from tools.pagetime import ScriptWatch, time_page


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__)
        return 2
    workspace, prefix, slugs = Path(argv[0]), argv[1], argv[2:] or ["overview"]
    server = AppServer(workspace)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1400, "height": int(os.environ.get("WINNOW_SHOOT_HEIGHT", "1000"))})
            page.set_default_timeout(120_000)
            watch = ScriptWatch(page)
            for slug in slugs:
                # until the server says the page's script finished and its charts are drawn (`tools.pagetime`;
                # the "Running..." status shows only after half a second, so its absence proves nothing)
                time_page(page, watch, f"{server.url}/{'' if slug == 'overview' else slug}", timeout_s=300)
                page.wait_for_timeout(int(os.environ.get("WINNOW_SHOOT_SETTLE_MS", "1000")))
                out = f"{prefix}-{slug}.png"
                page.screenshot(path=out, full_page=True)
                print(out)
            browser.close()
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
