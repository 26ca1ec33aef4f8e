"""Hostile corpus text is only ever read, never run or rendered: documents holding <script>, event-handler
HTML, Markdown links and images, LaTeX, ANSI escapes and a 50,000-character unbroken string, opened in
Browse (search, then each document), hovered on the Map, and read from the Scores page's dropped samples.
On every page no script from a document runs (window.__pwned stays undefined, no dialog opens), no element
from a document appears in the page, and the raw text is shown as text."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from core.ingest import ingest_paths
from core.select import save_selection
from core.signals.runner import run_signal
from core.workspace import Workspace
from tests.browser.conftest import ROOT, AppServer, wait_for_app

pytestmark = pytest.mark.browser

LONG = "A" * 50_000
HOSTILE = {
    "h-script": "<script>window.__pwned=1</script> script tag in a document",
    "h-img": '<img src=x onerror="window.__pwned=1"> image with an onerror handler',
    "h-html": '<div id="evil-div" style="position:fixed;inset:0;background:red">overlay</div>'
              '<iframe src="javascript:window.__pwned=1"></iframe><a href="javascript:window.__pwned=1">link</a>',
    "h-markdown": "[click me](javascript:window.__pwned=1) and ![tracking pixel](x) and **bold** and `code`",
    "h-latex": "Energy $E = mc^2$ and $$\\int_0^1 x\\,dx$$ and \\(a+b\\)",
    "h-ansi": "\x1b[31mred text\x1b[0m then \x1b]8;;http://example.invalid\x07osc link\x1b]8;;\x07",
    "h-long": LONG,
}
# an id is corpus data too: it is shown in titles, pickers and chart hovers
HOSTILE_ID = '<b>bold</b>-id<img src=x onerror="window.__pwned=1">'
HOSTILE[HOSTILE_ID] = "A short document whose id is markup."
HOSTILE_LABEL = "![label image](x)<b>lbl</b> $x$ _em_"
FILLER = [
    f"Filler document {i} about {topic}: ordinary prose with enough words so that the quality rules keep it. "
    f"It describes {topic} in plain and simple sentences for the map, and the people who care for the {topic} "
    f"every day. They walk to the {topic} in the morning, they talk about what they see there, and they write "
    "it down in a book that is kept on a shelf by the door of the house where they live with their family."
    for i, topic in enumerate(["rivers", "tea", "bridges", "markets", "trains", "gardens"] * 6)
]

# Elements a document could inject if its text were rendered as HTML or Markdown.
INJECTED = """() => ({
    pwned: window.__pwned,
    img: document.querySelectorAll('img[src="x"], img[alt="tracking pixel"], img[alt="label image"]').length,
    script: [...document.querySelectorAll('script')].filter(s => s.textContent.includes('__pwned')).length,
    div: document.querySelectorAll('#evil-div').length,
    iframe: [...document.querySelectorAll('iframe')].filter(f => (f.getAttribute('src') || '').startsWith('javascript')).length,
    link: [...document.querySelectorAll('a')].filter(a => (a.getAttribute('href') || '').startsWith('javascript')).length,
    bold: [...document.querySelectorAll('b, strong')].filter(b => b.textContent === 'bold' || b.textContent === 'lbl').length,
    katex: document.querySelectorAll('.katex').length,
    wide: document.documentElement.scrollWidth > window.innerWidth + 5,
})"""
CLEAN = {"pwned": None, "img": 0, "script": 0, "div": 0, "iframe": 0, "link": 0, "bold": 0, "katex": 0, "wide": False}


@pytest.fixture(scope="module")
def hostile_ws(tmp_path_factory) -> Workspace:
    root = tmp_path_factory.mktemp("hostile")
    src = root / "hostile.jsonl"
    with open(src, "w", encoding="utf-8") as fh:
        for doc_id, text in HOSTILE.items():
            fh.write(json.dumps({"id": doc_id, "text": text, "topic": HOSTILE_LABEL}) + "\n")
        for i, text in enumerate(FILLER):
            fh.write(json.dumps({"id": f"f{i:02d}", "text": text, "topic": "plain"}) + "\n")
    ws = Workspace.create(root / "ws")
    report = ingest_paths(ws, [src], id_field="id", label_field="topic")
    assert report.loaded == len(HOSTILE) + len(FILLER)
    run_signal(ws, "gopher_quality")
    n = len(HOSTILE) + len(FILLER)
    save_selection(ws, "everything", {"strategy": "random", "size": n, "seed": 1})  # for Compare
    save_selection(ws, "some", {"strategy": "random", "size": n // 2, "seed": 2})
    env = {"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    for argv in (["embed", "--quiet"], ["map", "--method", "pca", "--quiet"]):
        subprocess.run([sys.executable, "-m", "core", *argv, "--workspace", str(ws.root)], cwd=ROOT, check=True,
                       env=env, timeout=300)
    return ws


@pytest.fixture
def hostile_app(hostile_ws):
    server = AppServer(hostile_ws.root)
    yield server
    server.stop()


def assert_clean(page, where: str, dialogs: list[str]) -> None:
    found = page.evaluate(INJECTED)
    assert found == CLEAN, f"{where}: {found}"
    assert not dialogs, f"{where}: a dialog opened: {dialogs}"


def pick(page, label: str, doc_id: str) -> None:
    box = page.get_by_role("combobox", name=re.compile(label))
    box.click()
    box.fill(doc_id)
    page.get_by_role("option", name=doc_id, exact=True).click()


SHOWN = "(t) => [...document.querySelectorAll('[data-testid=stText]')].some(e => e.innerText.trim() === t)"


def test_hostile_text_is_shown_as_text_everywhere(hostile_app, page):
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    # -- Browse: a keyword search that matches the markup, then every hostile document read in full
    page.goto(f"{hostile_app.url}/browse")
    wait_for_app(page)
    box = page.get_by_role("textbox", name="Search", exact=True)
    box.fill("__pwned")
    box.press("Enter")
    page.get_by_text(re.compile(r"^4 documents match")).wait_for()
    wait_for_app(page)
    assert_clean(page, "Browse search", dialogs)
    box.fill("")
    box.press("Enter")
    wait_for_app(page)
    for doc_id, text in HOSTILE.items():
        pick(page, "Read document", doc_id)
        page.get_by_role("heading", name=f"Document {doc_id}").wait_for()
        wait_for_app(page)
        # the whole text, character for character (the long one as one unbroken line in its scrolling box)
        page.wait_for_function(SHOWN, arg=text)
        assert_clean(page, f"Browse {doc_id}", dialogs)
    # the label (Markdown image and HTML) appears literally in the metric
    metrics = page.evaluate("() => [...document.querySelectorAll('[data-testid=stMetricValue]')].map(m => m.innerText)")
    assert HOSTILE_LABEL in [m.strip() for m in metrics], metrics

    # -- Map: hover the hostile points; Plotly's hover label shows the markup as text
    page.goto(f"{hostile_app.url}/map")
    wait_for_app(page)
    chart = page.locator("[data-testid='stPlotlyChart']")
    chart.wait_for()
    chart.locator("canvas").first.wait_for(state="attached")
    page.wait_for_function("() => { const g = document.querySelector('.js-plotly-plot');"
                           " return g && g._fullLayout && g._fullData && g._fullData.length > 0; }")
    seen: set[str] = set()
    for doc_id in ("h-script", "h-img", "h-html", "h-markdown", "h-ansi"):
        page.mouse.move(5, 5)
        xy = page.evaluate(POINT_XY, doc_id)
        assert xy, f"{doc_id} is not drawn on the map"
        page.mouse.move(xy[0] + 30, xy[1] + 30)
        page.mouse.move(xy[0], xy[1], steps=5)
        label = page.locator(".hoverlayer .hovertext").first
        label.wait_for(timeout=10_000)
        hover = label.text_content()
        # the hostile documents lie close together: the label is of this point or a neighbour
        shown = [k for k in HOSTILE if k in hover]
        assert len(shown) == 1, hover
        assert " ".join(HOSTILE[shown[0]].split())[:40] in hover, (shown, hover)
        seen.add(shown[0])
        assert page.locator(".hoverlayer a, .hoverlayer img").count() == 0
        assert_clean(page, f"Map hover {doc_id}", dialogs)
    assert seen

    # -- Scores: the hostile documents are short, so the Gopher rules drop them; read them from the samples
    page.goto(f"{hostile_app.url}/scores")
    wait_for_app(page)
    page.get_by_text("Dropped documents", exact=True).wait_for()
    wait_for_app(page)
    assert_clean(page, "Scores", dialogs)
    per = page.get_by_label("Examples per reason")
    per.fill("20")
    per.press("Enter")
    wait_for_app(page)
    for doc_id in HOSTILE:  # all short: each fails the Gopher word count, and the samples hold them all
        pick(page, "Read a dropped document in full", doc_id)
        wait_for_app(page)
        page.wait_for_function(SHOWN, arg=HOSTILE[doc_id])
        assert_clean(page, f"Scores sample {doc_id}", dialogs)

    # -- Compare: the selections' map hover names each document by its id, shown as typed
    page.goto(f"{hostile_app.url}/compare")
    wait_for_app(page)
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length > 0"
                           " && [...document.querySelectorAll('.js-plotly-plot')].some(g => g._fullData"
                           " && g._fullData.some(t => t.text && Array.from(t.text).length))", timeout=120_000)
    wait_for_app(page)
    assert_clean(page, "Compare", dialogs)
    xy = page.evaluate(POINT_XY, HOSTILE_ID)
    assert xy, "the document with a markup id is not on the Compare map"
    page.locator(".js-plotly-plot").last.scroll_into_view_if_needed()
    xy = page.evaluate(POINT_XY, HOSTILE_ID)
    page.mouse.move(xy[0] + 20, xy[1] + 20)
    page.mouse.move(xy[0], xy[1], steps=5)
    label = page.locator(".hoverlayer .hovertext").first
    label.wait_for(timeout=10_000)
    hover = label.text_content()
    assert any(k in hover for k in HOSTILE), hover  # this point or a close neighbour, named as typed
    if "bold-id" in hover:  # the markup id: its <b> tags are shown, not turned into bold text
        assert HOSTILE_ID in hover, hover
    assert_clean(page, "Compare hover", dialogs)


# The screen position of a document's point: its trace and index from customdata, through the axes.
POINT_XY = """(id) => {
  const esc = s => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  for (const g of [...document.querySelectorAll('.js-plotly-plot')].reverse()) {
    const L = g._fullLayout, r = g.getBoundingClientRect();
    for (const t of g._fullData) {
        const names = t.customdata || t.text;
        if (!names || t.visible !== true || typeof names === 'string') continue;
        const i = Array.from(names).findIndex(n => n === id || n === esc(id));
        if (i < 0) continue;
        const xa = L[(t.xaxis || 'x').replace('x', 'xaxis')], ya = L[(t.yaxis || 'y').replace('y', 'yaxis')];
        return [r.left + xa._offset + xa.l2p(t.x[i]), r.top + ya._offset + ya.l2p(t.y[i])];
    }
  }
  return null;
}"""
