"""Export: every format round-trips through ingest (ids, text, labels, order); shards, RS2 epochs, dropped
documents with reasons, the manifest; no overwrite, no path escape, and no complete-looking partial export."""

from __future__ import annotations

import errno
import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core import export as export_mod
from core.cli import main
from core.errors import WinnowError
from core.export import export_selection, list_exports
from core.ingest import ingest_paths
from core.store import Store
from core.workspace import Workspace, write_json, write_parquet

RECORDS = [
    {"id": f"d{i:02d}", "text": f"Document {i}: " + "word " * (i % 7 + 1) + ("\nsecond line, with \"quotes\"" if i % 3 == 0 else ""),
     "topic": ["tech", "sport", None][i % 3], "extra": {"n": i, "tags": ["a", "b"]}}
    for i in range(20)
]
ORDER = ["d13", "d02", "d19", "d07", "d00", "d11", "d05", "d16"]  # not workspace order: order must be kept


def write_selection(ws: Workspace, name: str, ids: list[str], recipe: dict | None = None,
                    epochs: list[int] | None = None) -> None:
    """The selection file contract: selections/<name>.parquet (id, rank, epoch) + <name>.json (recipe)."""
    write_parquet(pa.table({"id": pa.array(ids, pa.string()), "rank": pa.array(range(len(ids)), pa.int64()),
                            "epoch": pa.array(epochs or [0] * len(ids), pa.int64())}),
                  ws.dir("selections") / f"{name}.parquet")
    write_json({"name": name, "recipe": recipe or {"strategy": "random", "size": len(ids), "seed": 7},
                "count": len(ids)}, ws.dir("selections") / f"{name}.json")


def write_score(ws: Workspace, key: str = "toy") -> None:
    """A signal file by the contract (signals/<key>.parquet + sidecar); the store exposes toy__value."""
    ids = [r["id"] for r in RECORDS]
    write_parquet(pa.table({"id": ids, "value": [i / 4 for i in range(len(ids))]}), ws.dir("signals") / f"{key}.parquet")
    write_json({"signal": key, "key": key, "version": "1", "params": {"alpha": 1}, "target": None, "benchmark": None,
                "time": "2026-01-01T00:00:00", "rows": len(ids)}, ws.dir("signals") / f"{key}.json")


@pytest.fixture
def ws(make_ws):
    w = make_ws(RECORDS, id_field="id", label_field="topic", source="news")
    write_selection(w, "picked", ORDER)
    return w


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _reingest(tmp_path: Path, path: Path, **kw) -> list[tuple[str, str, str | None]]:
    ws2 = Workspace.create(tmp_path / f"again-{path.name}")
    report = ingest_paths(ws2, [path], id_field="id", label_field="label", **kw)
    assert report.quarantined == 0, report.reasons
    df = Store(ws2).df("SELECT id, text, label FROM docs")
    return list(zip(df["id"], df["text"], [None if v is None or v != v else v for v in df["label"]], strict=True))


@pytest.mark.parametrize("fmt", ["parquet", "jsonl", "csv", "hf"])
def test_round_trip_every_format(ws, tmp_path, fmt):
    res = export_selection(ws, "picked", fmt, columns=["text", "label", "source", "meta"])
    assert res.folder == ws.dir("exports") / "picked"
    data = res.folder / ("picked" + {"parquet": ".parquet", "jsonl": ".jsonl", "csv": ".csv", "hf": ""}[fmt])
    assert data.exists()
    by_id = {r["id"]: r for r in RECORDS}
    expected = [(i, by_id[i]["text"], by_id[i]["topic"]) for i in ORDER]
    assert _reingest(tmp_path, data) == expected
    m = json.loads((res.folder / "manifest.json").read_text())
    assert m["counts"]["kept"] == 8 and m["counts"]["in"] == 20
    for f in m["files"]:
        assert hashlib.sha256((res.folder / f["path"]).read_bytes()).hexdigest() == f["sha256"]
    if fmt == "hf":
        import datasets

        ds = datasets.load_from_disk(str(data))
        assert ds["id"] == ORDER and ds.column_names == ["id", "text", "label", "source", "meta"]
    if fmt == "jsonl":  # meta travels as an object, keys sorted
        first = json.loads(data.read_text().splitlines()[0])
        assert list(first) == ["id", "text", "label", "source", "meta"] and first["meta"] == {"extra": {"n": 13, "tags": ["a", "b"]}}


def test_score_columns_travel_and_unknown_column_is_refused(ws):
    write_score(ws)
    res = export_selection(ws, "picked", "parquet", columns="text,toy__value")
    t = pq.read_table(res.folder / "picked.parquet")
    assert t.column_names == ["id", "text", "toy__value"]
    assert t.column("toy__value").to_pylist() == [int(i[1:]) / 4 for i in ORDER]
    m = res.manifest
    assert [s["key"] for s in m["signals"]] == ["toy"] and m["signals"][0]["params"] == {"alpha": 1}
    with pytest.raises(WinnowError, match="unknown column.*nope.*toy__value"):
        export_selection(ws, "picked", "csv", name="x", columns=["nope"])


def test_export_is_byte_deterministic(ws, tmp_path):
    for fmt in ("parquet", "jsonl", "csv", "hf"):
        a = export_selection(ws, "picked", fmt, out=tmp_path / f"a-{fmt}", shard_size=3)
        b = export_selection(ws, "picked", fmt, out=tmp_path / f"b-{fmt}", shard_size=3)
        assert [(f["path"], f["sha256"]) for f in a.manifest["files"]] == [(f["path"], f["sha256"]) for f in b.manifest["files"]]


def test_shards_keep_order_and_sizes(ws):
    res = export_selection(ws, "picked", "jsonl", shard_size=3)
    names = [f["path"] for f in res.manifest["files"]]
    assert names == ["picked-00000-of-00003.jsonl", "picked-00001-of-00003.jsonl", "picked-00002-of-00003.jsonl"]
    assert [f["rows"] for f in res.manifest["files"]] == [3, 3, 2]
    ids = [json.loads(line)["id"] for n in names for line in (res.folder / n).read_text().splitlines()]
    assert ids == ORDER


def test_hf_shards_in_one_dataset(ws):
    import datasets

    res = export_selection(ws, "picked", "hf", shard_size=3)
    arrows = [f for f in res.manifest["files"] if f["path"].endswith(".arrow")]
    assert len(arrows) == 3 and sum(f["rows"] for f in arrows) == 8
    assert datasets.load_from_disk(str(res.folder / "picked"))["id"] == ORDER


def test_rs2_writes_one_file_per_epoch(ws):
    ids = ["d01", "d02", "d03", "d04", "d05", "d06"]
    write_selection(ws, "rs2", ids, recipe={"strategy": "rs2", "size": 3, "epochs": 2, "seed": 1}, epochs=[0, 0, 0, 1, 1, 1])
    res = export_selection(ws, "rs2", "csv")
    files = res.manifest["files"]
    assert [(f["path"], f["rows"], f["epoch"]) for f in files] == [("rs2-epoch-000.csv", 3, 0), ("rs2-epoch-001.csv", 3, 1)]
    import csv

    with open(res.folder / "rs2-epoch-001.csv", newline="") as fh:
        assert [r["id"] for r in csv.DictReader(fh)] == ["d04", "d05", "d06"]


def test_dropped_documents_with_reasons(ws):
    recipe = {"strategy": "random", "size": 3, "seed": 0, "filters": {"labels": ["tech", "sport"]}}
    write_selection(ws, "filtered", ["d00", "d01", "d03"], recipe=recipe)
    res = export_selection(ws, "filtered", "jsonl", dropped=True, columns=["label"])
    rows = [json.loads(line) for line in (res.folder / "dropped/dropped.jsonl").read_text().splitlines()]
    assert len(rows) == 17
    reasons = {r["id"]: r["drop_reason"] for r in rows}
    assert reasons["d02"] == "label not in tech, sport"  # topic None
    assert reasons["d04"] == "not selected by strategy (random)"
    assert res.manifest["counts"]["dropped_by_reason"] == {"label not in tech, sport": 6,
                                                           "not selected by strategy (random)": 11}
    assert [f["kind"] for f in res.manifest["files"]] == ["data", "dropped"]


def test_manifest_records_inputs_options_and_files(ws):
    res = export_selection(ws, "picked", "parquet")
    m = json.loads((res.folder / "manifest.json").read_text())
    (inp,) = m["inputs"]
    assert inp["sha256"] == hashlib.sha256(Path(inp["path"]).read_bytes()).hexdigest()
    assert m["ingests"][0]["options"]["id_field"] == "id" and m["ingests"][0]["options"]["label_field"] == "topic"
    assert m["selection"]["recipe"] == {"strategy": "random", "size": 8, "seed": 7}
    assert m["seeds"]["selection"] == 7
    assert m["packages"]["pyarrow"] == pa.__version__
    assert m["files"] == [{"kind": "data", "path": "picked.parquet", "rows": 8,
                           "bytes": (res.folder / "picked.parquet").stat().st_size,
                           "sha256": _sha(res.folder / "picked.parquet")}]
    assert [e["name"] for e in list_exports(ws)] == ["picked"]


@pytest.mark.parametrize("name", ["../evil", "a/b", "/tmp/x", "..", ".hidden", "a b"])
def test_path_escaping_export_names_are_refused(ws, name):
    with pytest.raises(WinnowError, match="invalid export name"):
        export_selection(ws, "picked", "csv", name=name)
    assert not any(p.name != "picked" for p in ws.dir("exports").iterdir())


def test_path_escaping_selection_name_is_refused(ws):
    with pytest.raises(WinnowError, match="invalid selection name"):
        export_selection(ws, "../../winnow", "csv")


def test_existing_export_is_not_overwritten_without_force(ws, tmp_path):
    first = export_selection(ws, "picked", "csv")
    before = _sha(first.folder / "picked.csv")
    with pytest.raises(WinnowError, match="already exists.*--force"):
        export_selection(ws, "picked", "jsonl")
    assert _sha(first.folder / "picked.csv") == before
    again = export_selection(ws, "picked", "jsonl", force=True)
    assert sorted(p.name for p in again.folder.iterdir()) == ["manifest.json", "picked.jsonl"]
    # a folder that is not an export is never replaced, even with force
    other = tmp_path / "mydata"
    other.mkdir()
    (other / "precious.txt").write_text("keep me")
    with pytest.raises(WinnowError, match="not a Winnow export"):
        export_selection(ws, "picked", "csv", out=other, force=True)
    assert (other / "precious.txt").read_text() == "keep me"


def test_disk_full_mid_write_leaves_no_complete_looking_export(ws, monkeypatch):
    export_selection(ws, "picked", "jsonl")  # an earlier export that must survive a failed replace
    old = _sha(ws.dir("exports") / "picked" / "picked.jsonl")
    calls = {"n": 0}
    real = export_mod._CsvSink.write

    def failing(self, table):
        calls["n"] += 1
        if calls["n"] % 2 == 0:  # the second shard of each export hits a full disk
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, table)

    monkeypatch.setattr(export_mod._CsvSink, "write", failing)
    with pytest.raises(WinnowError, match="No space left on device.*nothing was exported"):
        export_selection(ws, "picked", "csv", shard_size=3, force=True)
    with pytest.raises(WinnowError, match="No space left"):
        export_selection(ws, "picked", "csv", name="fresh", shard_size=3)
    entries = sorted(p.name for p in ws.dir("exports").iterdir())
    assert entries == ["picked"]  # no temporary folder, no "fresh" export
    assert sorted(p.name for p in (ws.dir("exports") / "picked").iterdir()) == ["manifest.json", "picked.jsonl"]
    assert _sha(ws.dir("exports") / "picked" / "picked.jsonl") == old


def test_permission_error_is_a_clear_message(ws, tmp_path, monkeypatch):
    def denied(*a, **k):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(export_mod.pq, "ParquetWriter", denied)
    with pytest.raises(WinnowError, match="Permission denied.*choose a folder you can write to"):
        export_selection(ws, "picked", "parquet", out=tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


def test_missing_selection_and_stale_ids(ws):
    with pytest.raises(WinnowError, match="no selection named 'nope'.*picked"):
        export_selection(ws, "nope", "csv")
    write_selection(ws, "stale", ["d01", "gone"])
    with pytest.raises(WinnowError, match="1 documents that are not in the workspace"):
        export_selection(ws, "stale", "csv")


def test_cli_export_and_refusal(ws, tmp_path, capsys):
    code = main(["export", "--workspace", str(ws.root), "--selection", "picked", "--format", "csv",
                 "--columns", "text,label", "--quiet", "--dropped"])
    out = capsys.readouterr().out
    assert code == 0 and "exported 8 of 20 documents" in out and "dropped" in out
    assert (ws.dir("exports") / "picked" / "dropped/dropped.csv").exists()
    code = main(["export", "--workspace", str(ws.root), "--selection", "picked", "--format", "csv", "--quiet"])
    assert code == 2 and "already exists" in capsys.readouterr().err
    jobs = [json.loads(p.read_text()) for p in ws.dir("jobs").glob("*.json")]
    assert sorted(j["status"] for j in jobs) == ["done", "failed"]


def test_dropped_reason_names_the_saved_filter_rule(ws):
    from core.filters import FilterSpec, Range, save_filter

    write_score(ws)
    save_filter(ws, "hi_value", FilterSpec(thresholds={"toy__value": Range(min=2.0)}))  # d08.. pass (value i/4)
    write_selection(ws, "saved", ["d09", "d12"], recipe={"strategy": "random", "size": 2, "filters": {"saved": ["hi_value"]}})
    res = export_selection(ws, "saved", "parquet", dropped=True)
    assert res.manifest["counts"]["dropped_by_reason"] == {"filter hi_value: toy.value": 8,
                                                           "not selected by strategy (random)": 10}
    assert res.manifest["saved_filters"]["hi_value"]["thresholds"] == {"toy__value": {"min": 2.0, "max": None}}
    assert [s["key"] for s in res.manifest["signals"]] == ["toy"]  # the filter's signal is recorded
    t = pq.read_table(res.folder / "dropped/dropped.parquet").to_pylist()
    assert {r["id"]: r["drop_reason"] for r in t}["d03"] == "filter hi_value: toy.value"


def test_a_selection_named_dropped_does_not_collide_with_the_dropped_file(ws):
    write_selection(ws, "dropped", ["d01", "d02"])
    res = export_selection(ws, "dropped", "parquet", dropped=True)
    assert [(f["path"], f["rows"]) for f in res.manifest["files"]] == [("dropped.parquet", 2), ("dropped/dropped.parquet", 18)]


def test_cancel_mid_export_leaves_nothing(ws):
    from core.errors import Cancelled

    def cancel(done, total):
        if done >= 3:
            raise Cancelled()

    with pytest.raises(Cancelled):
        export_selection(ws, "picked", "jsonl", shard_size=2, progress=cancel)
    assert list(ws.dir("exports").iterdir()) == []


def test_dropped_reason_for_score_thresholds_in_the_recipe(ws):
    write_score(ws)
    write_selection(ws, "hi", ["d10", "d18"], recipe={"strategy": "top_k", "score": "toy__value", "size": 2,
                                                       "filters": {"scores": {"toy__value": {"min": 2.0, "max": 4.5}}}})
    res = export_selection(ws, "hi", "parquet", dropped=True)
    assert res.manifest["counts"]["dropped_by_reason"] == {"not selected by strategy (top_k)": 9,
                                                           "score filter: toy.value": 9}


def test_unwritable_destination_folder_is_a_clear_message(ws, tmp_path):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    with pytest.raises(WinnowError, match="could not write the export to .*afile/out"):
        export_selection(ws, "picked", "csv", out=blocker / "out")


def test_an_export_that_appears_meanwhile_is_not_replaced(ws):
    state = {"done": False}

    def other_export_lands(done, total):
        if done and not state["done"]:
            state["done"] = True
            export_selection(ws, "picked", "csv")  # another session finishes first

    with pytest.raises(WinnowError, match="already exists"):
        export_selection(ws, "picked", "jsonl", progress=other_export_lands)
    assert sorted(p.name for p in (ws.dir("exports") / "picked").iterdir()) == ["manifest.json", "picked.csv"]
    assert [p.name for p in ws.dir("exports").iterdir()] == ["picked"]
