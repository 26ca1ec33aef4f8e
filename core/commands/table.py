"""`python -m core table --workspace W --columns id,text,COL... [--where "COL OP VALUE"]... --format csv|jsonl|parquet`.

Prints (or writes) any document and signal columns, so a script reads exactly what the app shows.
Filters are a tiny parsed grammar, never SQL: the column must exist, the operator is one of a fixed
list, and the value is passed to DuckDB as a bound parameter.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from core.commands._common import add_workspace_arg, open_workspace
from core.errors import WinnowError
from core.store import Store, ident
from core.workspace import atomic_path

DOC_COLUMNS = ("id", "text", "source", "label", "meta", "n_chars", "n_words", "sha1")
COMPARE = {"=": "=", "==": "=", "!=": "<>", "<>": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
WORD_OPS = ("contains", "startswith", "in", "not in", "is null", "is not null")

WHERE_HELP = """\
--where takes one condition per flag (conditions are ANDed); quote it as one argument:
  COL OP VALUE        OP: = != < <= > >=   (numbers for numeric columns, true/false for flags)
  COL contains TEXT   substring, case-insensitive (e.g. text contains 'lorem ipsum')
  COL startswith TEXT
  COL in A,B,C        one of the comma-separated values (also: not in)
  COL is null         also: is not null  (e.g. a rule signal's *_reason is null = kept)
COL is any document column or NAME__COLUMN score column (see --list-columns). Values are
bound parameters, never pasted into SQL; quote values with spaces ('lorem ipsum').

examples:
  python -m core table -w ws --columns id,gopher_quality__gopher_quality_reason \\
      --where "gopher_quality__gopher_quality_reason is not null" --format csv
  python -m core table -w ws --columns id,text,length --where "length__n_words >= 100" \\
      --where "source in bbc,wiki" --format jsonl --out long.jsonl
  python -m core table -w ws --columns id,text --filter clean --format parquet --out clean.parquet
"""


@dataclass
class Condition:
    sql: str
    params: list[Any]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "table",
        help="print or write document and signal columns as CSV, JSONL or Parquet (with simple filters)",
        description="Print or write any document columns (id, text, source, label, meta, n_chars, n_words, "
        "sha1) and signal columns (NAME__COLUMN, as `python -m core signals` lists them; a bare signal name "
        "means all its columns), in workspace order.",
        epilog=WHERE_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_workspace_arg(p)
    p.add_argument("--columns", "-c", default="id,text",
                   help="comma-separated columns (default id,text); a signal name expands to all its columns")
    p.add_argument("--where", action="append", default=[], metavar="'COL OP VALUE'",
                   help="a condition (repeatable, ANDed); see below")
    p.add_argument("--filter", dest="saved_filter", metavar="NAME",
                   help="keep only what the saved filter filters/NAME.json keeps (made on the Scores page)")
    p.add_argument("--order-by", metavar="COL", help="sort by this column (default: workspace order)")
    p.add_argument("--desc", action="store_true", help="with --order-by: descending")
    p.add_argument("--limit", type=int, default=None, help="at most this many rows")
    p.add_argument("--format", "-f", choices=("csv", "jsonl", "parquet"), default="csv", help="output format (default csv)")
    p.add_argument("--out", "-o", help="write to this file (required for parquet; default: standard output)")
    p.add_argument("--list-columns", action="store_true", help="print the available columns and their types, then exit")
    p.set_defaults(func=run)


def column_types(store: Store) -> dict[str, str]:
    """Every selectable column and its DuckDB type: document columns first, then scores."""
    types: dict[str, str] = {}
    for view in ("docs", "scores"):
        for name, typ, *_ in store.con.cursor().execute(f"DESCRIBE {view}").fetchall():
            if name not in types:
                types[name] = str(typ)
    return types


def resolve_columns(spec: str, types: dict[str, str]) -> list[str]:
    out: list[str] = []
    for raw in spec.split(","):
        name = raw.strip()
        if not name:
            continue
        if name in types:
            out.append(name)
            continue
        expanded = [c for c in types if c.startswith(f"{name}__")]
        if not expanded:
            raise WinnowError(f"unknown column {name!r}: {_known(types)}")
        out += expanded
    if not out:
        raise WinnowError("--columns names no column")
    return list(dict.fromkeys(out))


def _known(types: dict[str, str]) -> str:
    docs = [c for c in types if c in DOC_COLUMNS]
    signals = sorted({c.split("__", 1)[0] for c in types if "__" in c})
    hint = f"document columns: {', '.join(docs)}; signals: {', '.join(signals) or 'none computed yet'}"
    return hint + " (list all with --list-columns)"


def _is_numeric(typ: str) -> bool:
    return any(t in typ.upper() for t in ("INT", "DOUBLE", "FLOAT", "DECIMAL", "REAL"))


def _convert(value: str, col: str, typ: str) -> Any:
    if _is_numeric(typ):
        try:
            return float(value)
        except ValueError:
            raise WinnowError(f"--where: {col} is a number column; {value!r} is not a number") from None
    if typ.upper() == "BOOLEAN":
        low = value.lower()
        if low not in ("true", "false", "1", "0", "yes", "no"):
            raise WinnowError(f"--where: {col} is true/false; {value!r} is neither")
        return low in ("true", "1", "yes")
    return value


def parse_where(text: str, types: dict[str, str]) -> Condition:
    """One condition of the grammar in WHERE_HELP; anything else is an error that shows the grammar."""
    try:
        parts = shlex.split(text)
    except ValueError as exc:
        raise WinnowError(f"--where {text!r}: {exc}") from None
    usage = "write COL OP VALUE (OP: = != < <= > >= contains startswith in, not in) or COL is [not] null"
    if len(parts) < 2:
        raise WinnowError(f"--where {text!r}: {usage}")
    col, rest = parts[0], parts[1:]
    if col not in types:
        raise WinnowError(f"--where {text!r}: unknown column {col!r}: {_known(types)}")
    typ = types[col]
    q = f"t.{ident(col)}"
    words = [w.lower() for w in rest]
    if words in (["is", "null"], ["is", "not", "null"]):
        return Condition(f"{q} IS {'NOT ' if len(words) == 3 else ''}NULL", [])
    if len(rest) >= 3 and words[:2] == ["not", "in"]:
        op, values = "not in", rest[2:]
    else:
        op, values = words[0], rest[1:]
    if len(values) != 1:
        more = "; quote a value that has spaces ('lorem ipsum')" if values else ""
        raise WinnowError(f"--where {text!r}: {usage}{more}")
    value = values[0]
    if op in COMPARE:
        return Condition(f"{q} {COMPARE[op]} ?", [_convert(value, col, typ)])
    if op == "contains":
        return Condition(f"contains(lower(CAST({q} AS VARCHAR)), ?)", [value.lower()])
    if op == "startswith":
        return Condition(f"starts_with(CAST({q} AS VARCHAR), ?)", [value])
    if op in ("in", "not in"):
        items = [_convert(v.strip(), col, typ) for v in value.split(",") if v.strip()]
        if not items:
            raise WinnowError(f"--where {text!r}: list at least one value after {op}")
        marks = ", ".join("?" for _ in items)
        return Condition(f"{q} {'NOT ' if op == 'not in' else ''}IN ({marks})", items)
    raise WinnowError(f"--where {text!r}: unknown operator {rest[0]!r}; {usage}")


def build_query(store: Store, args: argparse.Namespace) -> tuple[str, list[Any], list[str], list[str] | None]:
    types = column_types(store)
    columns = resolve_columns(args.columns, types)
    conds = [parse_where(w, types) for w in args.where]
    ids = None
    if args.saved_filter:
        from core.filters import apply_saved

        ids = apply_saved(store.ws, store, args.saved_filter)
        conds.append(Condition("t.id IN (SELECT id FROM sel_ids)", []))
    order = "t._pos"
    if args.order_by:
        if args.order_by not in types:
            raise WinnowError(f"--order-by: unknown column {args.order_by!r}: {_known(types)}")
        order = f"t.{ident(args.order_by)} {'DESC' if args.desc else 'ASC'} NULLS LAST, t._pos"
    score_cols = [c for c in types if c not in DOC_COLUMNS]
    needed = set(columns) | {shlex.split(w)[0] for w in args.where} | ({args.order_by} if args.order_by else set())
    inner = "SELECT row_number() OVER () AS _pos, d.* FROM docs d"
    if needed & set(score_cols):  # join the scores only when a score column is read
        picks = ", ".join(f"s.{ident(c)}" for c in score_cols)
        inner = (f"SELECT d.*, {picks} FROM ({inner}) d LEFT JOIN scores s ON s.id = d.id")
    sql = (f"SELECT {', '.join(f't.{ident(c)}' for c in columns)} FROM ({inner}) t"
           + (f" WHERE {' AND '.join(c.sql for c in conds)}" if conds else "")
           + f" ORDER BY {order}" + (f" LIMIT {int(args.limit)}" if args.limit is not None else ""))
    return sql, [p for c in conds for p in c.params], columns, ids


def run(args: argparse.Namespace) -> int:
    ws = open_workspace(args)
    store = Store(ws)
    if args.list_columns:
        for name, typ in column_types(store).items():
            print(f"{name}\t{typ}")
        return 0
    if args.format == "parquet" and not args.out:
        raise WinnowError("--format parquet writes a file: add --out FILE.parquet")
    if args.limit is not None and args.limit < 0:
        raise WinnowError("--limit must be 0 or more")
    sql, params, _, ids = build_query(store, args)
    cur = store.cursor()
    try:
        if ids is not None:
            cur.register("sel_ids", pa.table({"id": pa.array(ids, pa.string())}))
        reader = cur.sql(sql, params=params).to_arrow_reader(10_000)
        rows = write_output(reader, args.format, Path(args.out) if args.out else None)
    finally:
        cur.close()
    if args.out:
        print(f"wrote {rows:,} rows to {args.out}", file=sys.stderr)
    return 0


def write_output(reader: pa.RecordBatchReader, fmt: str, out: Path | None) -> int:
    if out is None:
        return _write(reader, fmt, sys.stdout.buffer)
    with atomic_path(out) as tmp:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            rows = 0
            with pq.ParquetWriter(tmp, reader.schema, compression="zstd") as writer:
                for batch in reader:
                    writer.write_batch(batch)
                    rows += batch.num_rows
            return rows
        with open(tmp, "wb") as fh:
            return _write(reader, fmt, fh)


def _write(reader: pa.RecordBatchReader, fmt: str, fh) -> int:
    rows = 0
    if fmt == "csv":
        import pyarrow.csv as pacsv

        with pacsv.CSVWriter(fh, reader.schema) as writer:
            for batch in reader:
                writer.write_batch(batch)
                rows += batch.num_rows
        fh.flush()
        return rows
    for batch in reader:
        for rec in batch.to_pylist():
            fh.write(orjson.dumps(rec, option=orjson.OPT_SERIALIZE_NUMPY, default=str) + b"\n")
        rows += batch.num_rows
    fh.flush()
    return rows
