"""A byte-level look at a JSON Lines file before DuckDB reads it column-wise.

DuckDB's `read_json` with declared columns parses a million lines in about a second, but it is
lenient where ingest must not be: a key it was not told about is silently dropped (its value would
never reach `meta`), a number or an object in a VARCHAR column becomes its JSON text (`123`), and a
blank line vanishes (every later row number, and so every id made from one, would shift). This scan
finds those cases in the raw bytes (a compiled loop over a memory map, about 0.3 s of CPU per
600 MB), so that the column-wise path is only taken when it gives exactly what the row-by-row
reader would. It does not validate JSON: DuckDB does, and any error there sends the file row by row.

For each line it checks: an object, alone on its line; every top-level key among the known ones
(written without escapes); the value of a `KIND_STRING` key a string, of a `KIND_ID` key a string,
an integer or null; the text key present.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

KIND_ANY, KIND_STRING, KIND_ID = 0, 1, 2  # what a key's value may be: anything; a string; a string, integer or null
# what a line can be found to be (the first one found ends the scan of its piece)
OK = 0
BLANK = 1  # only whitespace
NOT_OBJECT = 2  # not one JSON object alone on its line (or not JSON: DuckDB would refuse it too)
UNKNOWN_KEY = 3  # a top-level key not among the known ones
ODD_KEY = 4  # a key written with escapes
WRONG_TYPE = 5  # a value of a type its key's kind does not allow
NO_TEXT = 6  # no text key
TASK_BYTES = 8 << 20  # lines are checked in pieces of about this size, a thread per core
MAX_NEW_KEYS = 64  # beyond this many keys unseen in the first rows, the file goes row by row



@dataclass
class Check:
    """What the scan found: `lines` counted, or the first `problem` (a status above) and its byte."""

    lines: int = 0
    problem: int = OK
    at: int = -1
    new_keys: list[str] = field(default_factory=list)  # keys found after the first rows


def _kernel():
    """The compiled scan (`core.jsonl_kernel.check`), imported on first use."""
    from core.jsonl_kernel import check

    return check


def _pieces(buf: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) byte ranges of about TASK_BYTES that end just after a line break (or at the end)."""
    out, start, size = [], 0, len(buf)
    while start < size:
        end = min(start + TASK_BYTES, size)
        window = 1 << 16
        while end < size:  # on to just after the next line break, looking in growing windows
            nl = np.flatnonzero(buf[end - 1:end - 1 + window] == 10)
            if len(nl):
                end += int(nl[0])
                break
            if end - 1 + window >= size:
                end = size
            window *= 4
        out.append((start, end))
        start = end
    return out


def check_jsonl(buf: np.ndarray, keys: dict[str, int], text_key: str) -> Check:
    """Scan the bytes of a JSON Lines file (`keys`: name -> KIND_*; updated with keys found later, as
    KIND_ANY, up to MAX_NEW_KEYS). Lines are counted as the row reader counts them: the last line
    needs no line break."""
    kernel = _kernel()
    pieces = _pieces(buf)
    found: list[str] = []
    todo = list(pieces)
    done_lines = 0
    while todo:
        names = list(keys)
        encoded = [n.encode("utf-8") for n in names]
        name_bytes = np.frombuffer(b"".join(encoded) or b"\0", dtype=np.uint8)
        starts = np.cumsum([0] + [len(e) for e in encoded]).astype(np.int64)
        kinds = np.array([keys[n] for n in names], dtype=np.int64)
        text_index = names.index(text_key)

        def run(piece, names_=name_bytes, starts_=starts, kinds_=kinds, text_=text_index):
            return kernel(buf, piece[0], piece[1], names_, starts_, kinds_, text_)

        with ThreadPoolExecutor(max_workers=min(len(todo), os.cpu_count() or 1)) as pool:
            outcomes = list(pool.map(run, todo))
        again = []
        for piece, (status, at, lines, key_start, key_end) in zip(todo, outcomes, strict=True):
            if status == OK:
                done_lines += lines
            elif status == UNKNOWN_KEY:
                try:
                    name = bytes(buf[key_start:key_end]).decode("utf-8")
                except UnicodeDecodeError:
                    return Check(problem=ODD_KEY, at=int(at))
                if name not in keys:
                    keys[name] = KIND_ANY
                    found.append(name)
                if len(found) > MAX_NEW_KEYS:
                    return Check(problem=UNKNOWN_KEY, at=int(at))
                again.append(piece)  # checked again from its start with the key known
            else:
                return Check(problem=int(status), at=int(at))
        todo = again
    return Check(lines=done_lines, new_keys=found)
