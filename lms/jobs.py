"""Background jobs on Huey: SQLite storage in the instance folder, or Redis when LMS_REDIS_URL is set.

Tasks are plain functions decorated with ``@task``; each runs inside an application context. The suite
runs them immediately (in-process), ``flask --app wsgi worker`` consumes them in production.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from flask import Flask, current_app, has_app_context
from huey import RedisHuey, SqliteHuey
from huey.api import Huey


def _make_huey() -> Huey:
    redis_url = os.environ.get("LMS_REDIS_URL")
    if redis_url:
        return RedisHuey("bangkom", url=redis_url)
    instance = Path(os.environ.get("LMS_INSTANCE_PATH") or "instance").resolve()
    instance.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("bangkom", filename=str(instance / "jobs.db"))


huey: Huey = _make_huey()
_app: Flask | None = None


def init_app(app: Flask) -> None:
    global _app
    _app = app
    huey.immediate = bool(app.config.get("JOBS_IMMEDIATE"))
    app.extensions["huey"] = huey


def task(**options):
    """``huey.task`` whose function runs inside the Flask application context."""

    def decorator(fn):
        @functools.wraps(fn)
        def inner(*args, **kwargs):
            if has_app_context():
                return fn(*args, **kwargs)
            if _app is None:
                raise RuntimeError("jobs.init_app() has not been called in this process")
            with _app.app_context():
                return fn(*args, **kwargs)

        return huey.task(**options)(inner)

    return decorator


def run_consumer(workers: int = 2) -> None:
    """Consume jobs until interrupted; used by ``flask worker``."""
    init_app(current_app._get_current_object())
    huey.immediate = False
    consumer = huey.create_consumer(workers=workers, worker_type="thread", periodic=True,
                                    check_worker_health=True)
    consumer.run()
