"""The whole journey at scale (default 1,000,000 documents), one table of seconds and peak memory per step.

    .venv/bin/python -m bench scale --docs 100000 [--root /tmp/winnow_scale] [--no-app] [--moves 40]

Steps, each in its own child process, so its memory is its own: the peak of the summed resident
memory of the process and its workers (sampled every 0.2 s), and the largest single process
(`ru_maxrss` from `os.wait4`):
1. corpus: bench/make_corpus.py writes ROOT/corpus-N/docs.{jsonl,parquet} (reused when present);
2. ingest: `python -m core ingest` of the Parquet file (id and label fields);
3. heuristics: `python -m core score gopher_quality gopher_repetition fineweb c4 length` (run_signal);
4. minhash: `python -m core score minhash_dup`;
5. embed: `python -m core embed --model static` (core.embed.compute_embeddings);
6. map: `python -m core map` (UMAP fitted on a sample of 20,000 and applied to the rest, k-means clusters);
7. slider: what the Scores page runs for one threshold move (core.filters: evaluate + the moved column's
   histogram), --moves random moves after the first draw: p50 and p95 (target p95 <= 150 ms);
8. select: `python -m core select` a recipe (>= 50 words, one per MinHash group, a 50% random sample);
9. export: `python -m core export` of that selection as Parquet;
10. app: `streamlit run app.py -- --workspace W` (tests/browser/conftest.AppServer), every page opened in
    Chromium (Playwright) one after the other: each page's open time (navigation until the server reports
    the page's script finished, `tools.pagetime`; target <= 3 s) and until its charts are drawn, and the
    server's resident memory (VmRSS sampled every 0.2 s, VmHWM at the end; target <= 4 GB).
The load average is printed beside each step: on a shared machine the seconds are upper bounds.
Ends with the table (Markdown, for the README) and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PAGES = ("overview", "browse", "map", "scores", "select", "compare", "export", "jobs", "targets")
TARGET_SLIDER_P95_MS = 150.0
TARGET_APP_RSS_GB = 4.0
TARGET_PAGE_S = 3.0
HEURISTICS = ("gopher_quality", "gopher_repetition", "fineweb", "c4", "length")


def _env() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}


def _tree_rss_mb(pid: int) -> int:
    """Resident memory (MB) of a process and all its descendants, summed (worker pools included)."""
    parent: dict[int, int] = {}
    rss: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            parent[int(d.name)] = int(fields[1])
            rss[int(d.name)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            continue
    tree, frontier = {pid}, [pid]
    while frontier:
        p = frontier.pop()
        kids = [c for c, pp in parent.items() if pp == p and c not in tree]
        tree.update(kids)
        frontier.extend(kids)
    return sum(rss.get(p, 0) for p in tree) // (1 << 20)


def measured(name: str, argv: list[str], log: Path) -> dict:
    """Run argv as a child: wall seconds, peak memory, exit status and load average before/after.

    peak_mb: the highest sum of resident memory over the child and its descendants (sampled every
    0.2 s); max_proc_mb: the largest single process (ru_maxrss from wait4, exact)."""
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    peak = {"tree": 0}
    stop = threading.Event()
    with open(log, "ab") as fh:
        fh.write(f"\n$ {' '.join(argv)}\n".encode())
        fh.flush()
        proc = subprocess.Popen(argv, cwd=ROOT, env=_env(), stdout=fh, stderr=subprocess.STDOUT)

        def sample() -> None:
            while not stop.is_set():
                peak["tree"] = max(peak["tree"], _tree_rss_mb(proc.pid))
                stop.wait(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        stop.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
    secs = time.perf_counter() - t0
    one = round(usage.ru_maxrss / 1024)
    row = {"step": name, "seconds": round(secs, 1), "peak_mb": max(peak["tree"], one), "max_proc_mb": one,
           "rc": proc.returncode, "load": f"{load0:.1f}→{os.getloadavg()[0]:.1f}"}
    print(f"  {name:<11} {secs:8.1f} s  peak {row['peak_mb']:6,} MB (largest process {one:,} MB)  "
          f"load {row['load']}  exit {proc.returncode}", flush=True)
    return row


def core(*args: str) -> list[str]:
    return [sys.executable, "-m", "core", *args]


# -- the slider step (run as a child: `python -m bench.scale --child-slider W MOVES`) ---------------
def slider_child(workspace: str, moves: int, out: str) -> None:
    import numpy as np

    from bench.slider import page_state, random_move
    from core import filters as F
    from core.store import Store
    from core.workspace import Workspace

    ws = Workspace.open(workspace)
    store = Store(ws)
    t0 = time.perf_counter()
    spec, sliders, columns, stats = page_state(ws, store)
    F.evaluate(store, spec)
    F.histograms(store, spec, columns)
    first = time.perf_counter() - t0
    rng = np.random.default_rng(0)
    times = []
    for _ in range(moves):
        spec, s = random_move(spec, sliders, stats, rng)
        a = time.perf_counter()
        F.evaluate(store, spec)
        F.histograms(store, spec, [s.column])
        times.append((time.perf_counter() - a) * 1000)
    times.sort()
    pct = lambda q: times[min(len(times) - 1, int(round(q / 100 * (len(times) - 1))))]  # noqa: E731
    Path(out).write_text(json.dumps({"first_draw_s": round(first, 2), "p50_ms": round(pct(50), 1),
                                     "p95_ms": round(pct(95), 1), "moves": moves, "sliders": len(sliders)}))


# -- the app step ------------------------------------------------------------------------------
def _proc_status(pid: int, key: str) -> int:
    """VmRSS / VmHWM of a process in MB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


def app_step(workspace: Path) -> dict:
    """Every page opened in Chromium, timed until the server reports the page's script finished
    (`tools.pagetime`: a "Running..." status appears only after half a second, so waiting for it to go
    away times the title, not the page), and the server's resident memory."""
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, AppServer
    from tools.pagetime import ScriptWatch, time_page

    server = AppServer(workspace)
    pid = server.proc.pid
    peak = {"rss": 0}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak["rss"] = max(peak["rss"], _proc_status(pid, "VmRSS"))
            stop.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    opens: dict[str, float] = {}
    drawn: dict[str, float] = {}
    errors: dict[str, str] = {}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            pg = browser.new_page(viewport={"width": 1400, "height": 1000})
            watch = ScriptWatch(pg)
            # The server's first page (the default, Overview) opens the workspace's store (the scores
            # table from every signal file, or its cache) once for all sessions: timed on its own.
            cold = time_page(pg, watch, f"{server.url}/")["script"]
            print(f"    first open (cold: store, caches) {cold:6.2f} s  server RSS {_proc_status(pid, 'VmRSS'):,} MB",
                  flush=True)
            for slug in PAGES:
                res = time_page(pg, watch, f"{server.url}/{slug}")
                opens[slug], drawn[slug] = res["script"], res["drawn"]
                if res["error"]:
                    errors[slug] = res["error"]
                print(f"    page {slug:<9} {opens[slug]:6.2f} s (charts drawn {drawn[slug]:.2f} s)  server RSS "
                      f"{_proc_status(pid, 'VmRSS'):,} MB" + ("  EXCEPTION" if slug in errors else ""), flush=True)
            browser.close()
        hwm = _proc_status(pid, "VmHWM")
    finally:
        stop.set()
        sampler.join()
        server.stop()
    return {"cold_s": cold, "pages": opens, "drawn": drawn, "errors": errors, "rss_peak_mb": max(peak["rss"], hwm)}


# -- the journey -------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench scale", description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=1_000_000)
    ap.add_argument("--root", default="/tmp/winnow_scale", help="corpus and workspace go under this folder")
    ap.add_argument("--moves", type=int, default=40, help="slider moves to time")
    ap.add_argument("--no-app", action="store_true", help="skip the app step (no Chromium)")
    ap.add_argument("--keep-workspace", action="store_true", help="reuse ROOT/ws-N if it exists (skip ingest)")
    ap.add_argument("--app-only", action="store_true", help="only the app step, on the existing ROOT/ws-N")
    ap.add_argument("--child-slider", nargs=3, metavar=("WS", "MOVES", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child_slider:
        slider_child(args.child_slider[0], int(args.child_slider[1]), args.child_slider[2])
        return 0

    root = Path(args.root)
    root.mkdir(parents=True, exist_ok=True)
    corpus, ws = root / f"corpus-{args.docs}", root / f"ws-{args.docs}"
    log = root / f"scale-{args.docs}.log"
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"scale benchmark: {args.docs:,} documents, {os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} at start ({started}); step output in {log}", flush=True)
    rows: list[dict] = []

    def step(name: str, argv: list[str]) -> dict:
        row = measured(name, argv, log)
        rows.append(row)
        if row["rc"]:
            print(f"step {name} failed (exit {row['rc']}); see {log}", file=sys.stderr)
        return row

    if args.app_only:
        pass
    elif not (corpus / "docs.parquet").exists():
        step("corpus", [sys.executable, "-m", "bench", "make_corpus", "--docs", str(args.docs), "--out", str(corpus)])
    if not args.app_only:
        if not (args.keep_workspace and ws.exists()):
            shutil.rmtree(ws, ignore_errors=True)
            step("ingest", core("ingest", "-w", str(ws), str(corpus / "docs.parquet"), "--id-field", "id",
                                "--label-field", "label", "--source", "corpus", "--quiet"))
        step("heuristics", core("score", "-w", str(ws), *HEURISTICS, "--quiet"))
        step("minhash", core("score", "-w", str(ws), "minhash_dup", "--quiet"))
        step("embed", core("embed", "-w", str(ws), "--model", "static", "--quiet"))
        step("map", core("map", "-w", str(ws), "--quiet"))
        out = root / "slider.json"
        out.unlink(missing_ok=True)
        row = step("slider", [sys.executable, "-m", "bench.scale", "--child-slider", str(ws), str(args.moves), str(out)])
        if out.exists():
            row["slider"] = json.loads(out.read_text())
        recipe = root / "recipe.json"
        recipe.write_text(json.dumps({"filters": {"scores": {"length__n_words": {"min": 50}},
                                                  "rules": {"minhash_dup__is_representative": True}},
                                      "strategy": "random", "size": 0.5, "seed": 1}))
        step("select", core("select", "-w", str(ws), "--recipe", str(recipe), "--name", "scale_half", "--quiet"))
        step("export", core("export", "-w", str(ws), "-s", "scale_half", "--format", "parquet", "--force", "--quiet"))

    app = None
    if not args.no_app:
        load0 = os.getloadavg()[0]
        t0 = time.perf_counter()
        app = app_step(ws)
        rows.append({"step": "app", "seconds": round(time.perf_counter() - t0, 1), "peak_mb": app["rss_peak_mb"],
                     "rc": 1 if app["errors"] else 0, "load": f"{load0:.1f}→{os.getloadavg()[0]:.1f}"})

    print(f"\n{args.docs:,} documents, {os.cpu_count()} CPUs, started {started}\n")
    print("| step | seconds | peak memory (MB) | largest process (MB) | load average | notes |\n"
          "|---|---:|---:|---:|---|---|")
    for r in rows:
        note = "" if not r["rc"] else f"exit {r['rc']}"
        if "slider" in r:
            s = r["slider"]
            note = (f"one move p50 {s['p50_ms']} ms, p95 {s['p95_ms']} ms ({s['moves']} moves, target p95 <= "
                    f"{TARGET_SLIDER_P95_MS:.0f}); first draw {s['first_draw_s']} s")
        if r["step"] == "app" and app:
            slow = [f"{k} {v} s" for k, v in app["pages"].items() if v > TARGET_PAGE_S]
            note = (f"server RSS peak (target <= 4 GB); first open (cold) {app['cold_s']} s; then pages open in "
                    + ", ".join(f"{k} {v}" for k, v in app["pages"].items()) + " s"
                    + (f"; over 3 s: {', '.join(slow)}" if slow else "; all <= 3 s")
                    + (f"; errors on {', '.join(app['errors'])}" if app["errors"] else ""))
        print(f"| {r['step']} | {r['seconds']:,.1f} | {r['peak_mb']:,} | {r.get('max_proc_mb', r['peak_mb']):,} | "
              f"{r['load']} | {note} |")
    print(json.dumps({"docs": args.docs, "started": started, "rows": rows, "app": app}))
    return 1 if any(r["rc"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
