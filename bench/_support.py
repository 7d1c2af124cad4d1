"""What every benchmark needs: a throw-away instance folder, a fresh migrated database, an application.

``isolate()`` must run before anything imports ``lms`` (the job queue picks its storage when imported);
``python -m bench`` calls it first thing.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

_scratch: Path | None = None


def isolate() -> Path:
    """A process-wide scratch folder as LMS_INSTANCE_PATH, removed at exit; no Redis, no outside database."""
    global _scratch
    if _scratch is None:
        _scratch = Path(tempfile.mkdtemp(prefix="bangkom-bench-"))
        atexit.register(shutil.rmtree, _scratch, ignore_errors=True)
        os.environ["LMS_INSTANCE_PATH"] = str(_scratch / "process")
        for name in ("LMS_REDIS_URL", "LMS_DATABASE_URL", "LMS_ENV", "LMS_DEBUG", "FLASK_DEBUG"):
            os.environ.pop(name, None)
    return _scratch


def database_kind() -> str:
    return "PostgreSQL" if os.environ.get("BENCH_DATABASE_URL") else "SQLite"


@contextlib.contextmanager
def instance_folder(name: str) -> Iterator[Path]:
    """A fresh instance folder for one benchmark, set as LMS_INSTANCE_PATH while it runs."""
    folder = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=isolate()))
    previous = os.environ["LMS_INSTANCE_PATH"]
    os.environ["LMS_INSTANCE_PATH"] = str(folder)
    try:
        yield folder
    finally:
        os.environ["LMS_INSTANCE_PATH"] = previous
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def database(folder: Path) -> Iterator[str]:
    """A database nobody has used: an SQLite file in ``folder``, or a new database on the PostgreSQL
    server named by BENCH_DATABASE_URL, dropped afterwards."""
    server = os.environ.get("BENCH_DATABASE_URL")
    if not server:
        yield f"sqlite:///{folder / 'bench.db'}"
        return
    import psycopg

    if not server.startswith("postgresql"):
        raise SystemExit("BENCH_DATABASE_URL must be a postgresql+psycopg:// URL")
    name = f"bangkom_bench_{uuid.uuid4().hex[:10]}"
    admin = server.replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = server.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def application(name: str, overrides: dict | None = None):
    """A development-shaped application (the embedded default) on a fresh, migrated database, with its
    app context pushed."""
    isolate()
    from flask_migrate import upgrade

    from lms import create_app
    from lms.extensions import db

    with instance_folder(name) as folder, database(folder) as url:
        app = create_app("development", {"SQLALCHEMY_DATABASE_URI": url, **(overrides or {})})
        with app.app_context():
            logging.disable(logging.INFO)  # Alembic's progress lines would clutter the report
            try:
                upgrade()
            finally:
                logging.disable(logging.NOTSET)
            try:
                yield app
            finally:
                db.session.remove()
                db.engine.dispose()


class Stopwatch:
    """``with Stopwatch() as clock: ...`` then ``clock.seconds``."""

    def __enter__(self) -> Stopwatch:
        self._start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self._start


def say(message: str) -> None:
    """Progress goes to stderr, so stdout carries only the final table."""
    import sys

    print(f"  {message}", file=sys.stderr, flush=True)
