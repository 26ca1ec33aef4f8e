"""A small hand-built workspace for the selection tests: 60 documents, two sources, three labels,
and score files written by hand (so each strategy's answer is known)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from core.workspace import Workspace, write_parquet

N = 60


def records() -> list[dict]:
    out = []
    for i in range(N):
        out.append({"id": f"d{i:02d}", "text": " ".join(["word"] * (i + 1)) + f" doc {i}",
                    "topic": ["x", "y", "z"][i % 3] if i < 45 else ["x", "y"][i % 2]})
    return out


def add_scores(ws: Workspace) -> None:
    ids = [f"d{i:02d}" for i in range(N)]
    idx = np.arange(N)
    write_parquet(pa.table({"id": ids, "quality": (idx * 7 % N).astype(float),
                            "dup_group": [f"g{i // 3}" if i < 30 else None for i in idx]}),
                  ws.dir("signals") / "toy.parquet")
    # dsir against target t: weight rises with the position; every 5th document is too short
    write_parquet(pa.table({"id": ids, "log_weight": idx / 6.0,
                            "n_tokens": np.where(idx % 5 == 0, 10, 200).astype(np.int64)}),
                  ws.dir("signals") / "dsir__t.parquet")
    write_parquet(pa.table({"id": ids, "pred": -(idx.astype(float))}), ws.dir("signals") / "influence.parquet")
    write_parquet(pa.table({"id": ids, "sim": idx.astype(float)}), ws.dir("signals") / "rds__t1.parquet")
    write_parquet(pa.table({"id": ids, "sim": (N - idx).astype(float)}), ws.dir("signals") / "rds__t2.parquet")
    # a map: 4 clusters of sizes 30, 15, 10, 5
    cluster = np.repeat([0, 1, 2, 3], [30, 15, 10, 5]).astype(np.int64)
    write_parquet(pa.table({"id": ids, "x": idx.astype(float), "y": idx.astype(float), "cluster": cluster}),
                  ws.dir("maps") / "static.parquet")


def make_select_ws(make_ws, tmp_path) -> Workspace:
    """d00-d39 from source a, d40-d59 from source b; labels x, y, z (z only below d45)."""
    from core.ingest import ingest_paths
    from tests.conftest import write_jsonl

    recs = records()
    ws = make_ws(recs[:40], id_field="id", label_field="topic", source="a")
    ingest_paths(ws, [write_jsonl(tmp_path / "b" / "b.jsonl", recs[40:])], id_field="id", label_field="topic",
                 source="b")
    add_scores(ws)
    return ws
