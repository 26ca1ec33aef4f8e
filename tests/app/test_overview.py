"""Overview: the numbers a curator reads first, and the quarantine summary."""

from __future__ import annotations

from core.ingest import ingest_paths

RECORDS = [
    {"id": f"n{i}", "text": f"Markets moved on day {i}. " * (i % 7 + 1), "topic": "business" if i % 2 else "tech"}
    for i in range(30)
]


def _metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_overview_counts_documents_sources_labels_and_quarantine(make_ws, open_page, tmp_path):
    ws = make_ws(RECORDS, id_field="id", label_field="topic", source="news")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "b1", "text": "fine row"}\n{"id": "b2", "text": \n{"id": "b3", "text": ""}\n')
    ingest_paths(ws, [bad], id_field="id", source="scraped")

    at = open_page(ws, "1_overview")
    assert _metric(at, "Documents") == "31"
    assert _metric(at, "Sources") == "2"
    assert _metric(at, "Labels") == "2"
    assert _metric(at, "Quarantined rows") == "2"
    # one expander per quarantine reason, titled with the reason and its count
    titles = [e.label for e in at.expander]
    assert any("rows" in t and "JSON" in t for t in titles), titles
    assert any("empty" in t.lower() for t in titles), titles
    assert len(at.get("plotly_chart")) >= 3  # sources, labels, word and character histograms


def test_overview_of_an_empty_workspace_says_what_to_do(tmp_path, open_page):
    from core.workspace import Workspace

    ws = Workspace.create(tmp_path / "empty")
    at = open_page(ws, "1_overview")
    assert _metric(at, "Documents") == "0"
    assert any("no documents yet" in w.value for w in at.warning)
