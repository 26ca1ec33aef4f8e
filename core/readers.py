"""Readers: turn a file or folder into a stream of records, one per row, without ever stopping early.

Each reader yields `Row(row_no, record)` for a row it could parse and `Row(row_no, None, reason,
excerpt)` for one it could not, so ingest can quarantine the bad row and keep going. Only a file that
cannot be opened at all (missing, unknown format, not what its extension says) raises WinnowError.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from core.errors import WinnowError

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".rst"}
EXCERPT = 200


@dataclass
class Row:
    row_no: int  # 1-based line (JSONL), row (CSV/Parquet/JSON array) or file index (text folders)
    record: dict[str, Any] | None
    reason: str | None = None
    excerpt: str | None = None
    name: str | None = None  # a file name inside a folder source
    offset: int | None = None  # bytes of (uncompressed) input consumed so far, for progress


def detect_format(path: Path) -> str:
    """The format of `path` from its extension (and, for folders, their content)."""
    if path.is_dir():
        if (path / "dataset_info.json").exists() or (path / "state.json").exists() or (path / "dataset_dict.json").exists():
            return "hf"
        return "textdir"
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    for suffix, fmt in (
        (".jsonl", "jsonl"),
        (".ndjson", "jsonl"),
        (".json", "json"),
        (".csv", "csv"),
        (".tsv", "tsv"),
        (".parquet", "parquet"),
        (".pq", "parquet"),
    ):
        if name.endswith(suffix):
            return fmt
    if Path(name).suffix in TEXT_SUFFIXES:
        return "text"
    raise WinnowError(
        f"unknown format for {path.name}: use .jsonl/.ndjson(.gz), .json, .csv, .tsv, .parquet, "
        ".txt/.md, or a folder (text files or a Hugging Face datasets folder)"
    )


def _json_type(obj: Any) -> str:
    return "null" if obj is None else type(obj).__name__


def _excerpt(raw: bytes | str) -> str:
    if isinstance(raw, bytes):
        raw = raw[: EXCERPT * 4].decode("utf-8", errors="replace")
    return raw[:EXCERPT]


def _open_bytes(path: Path):
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")
    return open(path, "rb")


def iter_lines(path: Path) -> Iterator[tuple[int, bytes | None, str | None]]:
    """(line_no, raw line, None) per line; (line_no, None, reason) once if the stream breaks (bad gzip)."""
    line_no = 0
    try:
        with _open_bytes(path) as fh:
            for line_no, raw in enumerate(fh, start=1):  # noqa: B007 - line_no used after the loop
                yield line_no, raw, None
    except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as exc:
        yield line_no + 1, None, f"file ends early or is corrupt after line {line_no}: {exc.__class__.__name__}: {exc}"


def read_jsonl(path: Path) -> Iterator[Row]:
    offset = 0
    for line_no, raw, broken in iter_lines(path):
        if broken:
            yield Row(line_no, None, broken, "")
            return
        offset += len(raw)
        if line_no == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]  # a UTF-8 byte-order mark
        if not raw.strip():
            continue  # blank lines are not rows
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield Row(line_no, None, f"invalid UTF-8 at byte {exc.start}", _excerpt(raw))
            continue
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            yield Row(line_no, None, f"malformed JSON: {exc.args[0] if exc.args else exc}", _excerpt(raw))
            continue
        if not isinstance(obj, dict):
            yield Row(line_no, None, f"line is a JSON {_json_type(obj)}, not an object", _excerpt(raw))
            continue
        yield Row(line_no, obj, offset=offset)


def read_json(path: Path) -> Iterator[Row]:
    """A JSON array of objects (or {"data": [...]}); a file of one object per line is read as JSONL."""
    with _open_bytes(path) as fh:
        try:
            data = fh.read()
        except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as exc:
            raise WinnowError(f"{path.name}: cannot read the file ({exc})") from exc
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError:
        if data.lstrip()[:1] == b"{":  # probably JSON Lines with a .json name
            yield from read_jsonl(path)
            return
        raise WinnowError(f"{path.name} is not valid JSON (expected an array of objects or JSON Lines)") from None
    if isinstance(obj, dict):
        lists = [v for v in obj.values() if isinstance(v, list)]
        if len(lists) != 1:
            yield Row(1, obj)
            return
        obj = lists[0]
    if not isinstance(obj, list):
        raise WinnowError(f"{path.name}: top-level JSON is a {type(obj).__name__}, expected an array of objects")
    for i, item in enumerate(obj, start=1):
        if isinstance(item, dict):
            yield Row(i, item)
        else:
            yield Row(i, None, f"item is a JSON {_json_type(item)}, not an object", _excerpt(orjson.dumps(item)))


def read_csv(path: Path, delimiter: str) -> Iterator[Row]:
    """CSV/TSV with a header row; embedded newlines and quotes are handled by the csv module."""
    csv.field_size_limit((1 << 31) - 1)
    with _open_bytes(path) as fb:
        text = io.TextIOWrapper(fb, encoding="utf-8-sig", errors="surrogateescape", newline="")
        reader = csv.reader(text, delimiter=delimiter)
        try:
            header = next(reader)
        except StopIteration:
            return
        except (EOFError, OSError, csv.Error) as exc:
            raise WinnowError(f"{path.name}: cannot read the header row ({exc})") from exc
        header = [h.strip() for h in header]
        row_no = 1
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                row_no += 1
                yield Row(row_no, None, f"malformed CSV: {exc}", "")
                continue
            except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as exc:
                yield Row(row_no + 1, None, f"file ends early or is corrupt after row {row_no}: {exc}", "")
                return
            row_no += 1  # the header is row 1, as a spreadsheet shows it
            if not values or (len(values) == 1 and not values[0].strip()):
                continue
            joined = delimiter.join(values)
            if any(_has_surrogates(v) for v in values):
                yield Row(row_no, None, "invalid UTF-8", _excerpt(joined.encode("utf-8", "surrogateescape")))
                continue
            if len(values) != len(header):
                yield Row(row_no, None, f"row has {len(values)} fields, the header has {len(header)}", _excerpt(joined))
                continue
            yield Row(row_no, dict(zip(header, values, strict=True)))


def _has_surrogates(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def read_parquet(path: Path) -> Iterator[Row]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a file that is not Parquet
        raise WinnowError(f"{path.name} is not a readable Parquet file ({exc.__class__.__name__}: {exc})") from None
    row_no = 0
    for batch in pf.iter_batches(batch_size=20_000):
        for record in batch.to_pylist():
            row_no += 1
            yield Row(row_no, record)


def read_hf_folder(path: Path) -> Iterator[Row]:
    """A Hugging Face `datasets` folder written by save_to_disk (a Dataset or a DatasetDict)."""
    try:
        import datasets
    except ImportError as exc:  # pragma: no cover - datasets is in requirements.txt
        raise WinnowError("reading a Hugging Face datasets folder needs `pip install datasets`") from exc
    try:
        ds = datasets.load_from_disk(str(path))
    except Exception as exc:
        raise WinnowError(f"{path.name} is not a readable Hugging Face datasets folder ({exc})") from None
    splits = ds.items() if isinstance(ds, datasets.DatasetDict) else [(None, ds)]
    row_no = 0
    for split, part in splits:
        for record in part:
            row_no += 1
            if split is not None:
                record = {**record, "split": split}
            yield Row(row_no, record)


def read_text_file(path: Path, index: int = 1, name: str | None = None) -> Row:
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Row(index, None, f"invalid UTF-8 at byte {exc.start}", _excerpt(raw), name=name)
    return Row(index, {"text": text, "path": name or path.name}, name=name)


def read_text_folder(path: Path) -> Iterator[Row]:
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES)
    if not files:
        raise WinnowError(f"folder {path} has no .txt or .md files and is not a Hugging Face datasets folder")
    for i, file in enumerate(files, start=1):
        yield read_text_file(file, i, str(file.relative_to(path)))


def read_any(path: Path, fmt: str | None = None) -> Iterator[Row]:
    """Dispatch on the format; raises WinnowError for a missing file or an unknown format."""
    path = Path(path)
    if not path.exists():
        raise WinnowError(f"no such file or folder: {path}")
    fmt = fmt or detect_format(path)
    if path.is_file() and fmt in {"jsonl", "json", "csv", "tsv"}:
        _check_not_binary(path, fmt)
    readers = {
        "jsonl": lambda: read_jsonl(path),
        "json": lambda: read_json(path),
        "csv": lambda: read_csv(path, ","),
        "tsv": lambda: read_csv(path, "\t"),
        "parquet": lambda: read_parquet(path),
        "hf": lambda: read_hf_folder(path),
        "textdir": lambda: read_text_folder(path),
        "text": lambda: iter([read_text_file(path)]),
    }
    if fmt not in readers:
        raise WinnowError(f"unknown format {fmt!r}; choose one of {', '.join(sorted(readers))}")
    return readers[fmt]()


_MAGIC = {b"PAR1": "a Parquet file", b"PK\x03\x04": "a zip archive", b"\x1f\x8b": "gzip data", b"%PDF": "a PDF"}


def _check_not_binary(path: Path, fmt: str) -> None:
    """Refuse a file that is clearly something else than its extension says (Parquet named .jsonl...)."""
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if path.name.lower().endswith(".gz"):
        if not head.startswith(b"\x1f\x8b"):
            raise WinnowError(f"{path.name} is named .gz but is not gzip data")
        _check_gzip(path)
        return
    for magic, what in _MAGIC.items():
        if head.startswith(magic):
            raise WinnowError(f"{path.name} is named .{fmt} but looks like {what}")


def _check_gzip(path: Path) -> None:
    """Refuse a gzip file whose data is damaged (bad deflate data or checksum): what it decompresses to
    before the damage is found may already be garbage, so no row of it can be trusted. A file that only
    ends early is accepted: the rows before the cut are intact, and the reader quarantines the cut."""
    try:
        with gzip.open(path, "rb") as fh:
            while fh.read(1 << 24):
                pass
    except EOFError:
        return
    except (gzip.BadGzipFile, zlib.error, OSError) as exc:
        raise WinnowError(f"{path.name} is corrupt ({exc}): nothing was loaded from it, since its text cannot be "
                          "trusted; get a fresh copy of the file") from None
