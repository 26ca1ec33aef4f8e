"""`python -m bench [NAME] [ARGS...]`: run every benchmark in bench/ (each module with a `main()`), or one.

    .venv/bin/python -m bench                # all of them, one after the other
    .venv/bin/python -m bench ingest --docs 200000
    .venv/bin/python -m bench --list

A module's `main(argv)` gets the remaining arguments (a `main()` without parameters gets them in
sys.argv); its return value is its exit status. `make bench` installs requirements-bench.txt first.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def benchmarks() -> list[str]:
    """Names of the modules in bench/ that define main(), in name order (helpers start with _)."""
    names = []
    for info in sorted(pkgutil.iter_modules([str(HERE)]), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        source = (HERE / f"{info.name}.py").read_text(encoding="utf-8", errors="replace")
        if "\ndef main(" in source:
            names.append(info.name)
    return names


def run(name: str, args: list[str]) -> int:
    module = importlib.import_module(f"bench.{name}")
    main = getattr(module, "main", None)
    if main is None:
        print(f"bench/{name}.py has no main()", file=sys.stderr)
        return 2
    saved = sys.argv
    sys.argv = [f"bench/{name}.py", *args]
    try:
        status = main(args) if inspect.signature(main).parameters else main()
    except SystemExit as exc:  # argparse --help / errors
        status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = saved
    return int(status or 0)


def main(argv: list[str]) -> int:
    names = benchmarks()
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        print("benchmarks: " + ", ".join(names))
        return 0
    if argv and argv[0] == "--list":
        print("\n".join(names))
        return 0
    if argv:
        name, rest = argv[0].removeprefix("bench.").removesuffix(".py"), argv[1:]
        if name not in names:
            print(f"no benchmark {name!r}; choose one of: {', '.join(names)}", file=sys.stderr)
            return 2
        return run(name, rest)
    failed = []
    for name in names:
        print(f"\n=== bench/{name}.py ===", flush=True)
        started = time.perf_counter()
        status = run(name, [])
        print(f"=== bench/{name}.py: exit {status} in {time.perf_counter() - started:.0f} s ===", flush=True)
        if status:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
