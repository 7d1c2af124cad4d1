"""Benchmarks for ``make bench`` (``python -m bench [NAME ...]`` from the project root).

Every module of this package whose name does not start with ``_`` is a benchmark: it defines
``run() -> list[Result]``, one ``Result`` per measured path, each judged against its budget from DESIGN.md §6.
Benchmarks build everything they need in throw-away instance folders and databases (``bench._support``);
the user's ``instance/`` is never read or written. ``BENCH_DATABASE_URL`` (a PostgreSQL server URL) runs
them on a fresh database created on that server instead of SQLite.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Result:
    """One row of the final table."""

    path: str
    measured: str
    budget: str
    passed: bool

    @property
    def verdict(self) -> str:
        return "PASS" if self.passed else "FAIL"

    @classmethod
    def at_most(cls, path: str, value: float, limit: float, unit: str = "s", detail: str = "") -> Result:
        """A time (or any cost) that must stay under its budget."""
        measured = f"{value:,.2f} {unit}" + (f" ({detail})" if detail else "")
        return cls(path, measured, f"< {limit:,g} {unit}", value < limit)

    @classmethod
    def at_least(cls, path: str, value: float, limit: float, unit: str = "", detail: str = "") -> Result:
        """A throughput (or any gain) that must reach its budget."""
        suffix = f" {unit}" if unit else ""
        measured = f"{value:,.2f}{suffix}" + (f" ({detail})" if detail else "")
        return cls(path, measured, f">= {limit:,g}{suffix}", value >= limit)

    @classmethod
    def failed(cls, path: str, why: str, budget: str = "-") -> Result:
        """A benchmark that could not measure (it crashed, or produced a wrong outcome) fails."""
        return cls(path, why, budget, False)
