"""``python -m bench [NAME ...]``: runs the benchmarks of this package (all, or the named ones) and ends
with one table: path, measured, budget, verdict. Exits 1 when any path misses its budget or fails."""

from __future__ import annotations

import importlib
import pkgutil
import platform
import sys
import time
import traceback

from bench import Result
from bench._support import database_kind, isolate


def benchmark_names() -> list[str]:
    import bench

    return sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if not m.name.startswith("_"))


def run_one(name: str) -> list[Result]:
    print(f"== bench.{name}", file=sys.stderr, flush=True)
    started = time.perf_counter()
    try:
        module = importlib.import_module(f"bench.{name}")
        results = list(module.run())
        if not results:
            results = [Result.failed(name, "measured nothing")]
    except Exception as exc:  # noqa: BLE001 - one broken benchmark must not hide the others' results
        traceback.print_exc()
        results = [Result.failed(name, f"error: {type(exc).__name__}: {exc}"[:100])]
    print(f"   done in {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    return results


def table(results: list[Result]) -> str:
    header = ("path", "measured", "budget", "verdict")
    rows = [header] + [(r.path, r.measured, r.budget, r.verdict) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [" | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    isolate()
    known = benchmark_names()
    wanted = argv or known
    unknown = [name for name in wanted if name not in known]
    if unknown:
        print(f"Unknown benchmark(s): {', '.join(unknown)}. Known: {', '.join(known)}.", file=sys.stderr)
        return 2
    print(f"Bangkom benchmarks on {database_kind()}, Python {platform.python_version()}, "
          f"{platform.machine()}", file=sys.stderr)
    results: list[Result] = []
    for name in wanted:
        results.extend(run_one(name))
    print()
    print(table(results))
    failed = sum(not r.passed for r in results)
    print(f"\n{len(results) - failed} of {len(results)} within budget.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
