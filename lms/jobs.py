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
    if isinstance(huey, SqliteHuey):
        # The queue lives in the app's instance folder, also when this process imported us earlier for
        # another folder (the benchmarks, a second app in the tests): web and worker must share one file.
        wanted = str(Path(app.instance_path).resolve() / "jobs.db")
        if huey.storage_kwargs.get("filename") != wanted:
            huey.storage_kwargs["filename"] = wanted
            huey.storage = huey.create_storage()
    huey.immediate = bool(app.config.get("JOBS_IMMEDIATE"))
    app.extensions["huey"] = huey
    _listen_for_commits()


_pid = os.getpid()


def _forget_inherited_connections() -> None:
    """A worker process forked from the consumer must not reuse its parent's database connections."""
    global _pid
    if os.getpid() != _pid:
        from lms.extensions import db

        db.engine.dispose(close=False)
        _pid = os.getpid()


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
                _forget_inherited_connections()
                return fn(*args, **kwargs)

        return huey.task(**options)(inner)

    return decorator


def enqueue_after_commit(job, *args) -> None:
    """Run ``job(*args)`` once the current transaction has committed (never for a rolled-back one), so a
    worker never looks for rows that are not there yet."""
    from lms.extensions import db

    db.session.info.setdefault("bangkom.after_commit", []).append((job, args))


def _after_commit(session) -> None:
    pending = session.info.pop("bangkom.after_commit", [])
    for job, args in pending:
        job(*args)


def _after_rollback(session, previous) -> None:
    if previous.parent is None:  # the whole transaction, not a savepoint inside it
        session.info.pop("bangkom.after_commit", None)


def _listen_for_commits() -> None:
    from sqlalchemy import event

    from lms.extensions import db

    if not event.contains(db.session, "after_commit", _after_commit):
        event.listen(db.session, "after_commit", _after_commit)
        event.listen(db.session, "after_soft_rollback", _after_rollback)


def run_consumer(workers: int = 2) -> None:
    """Consume jobs until interrupted; used by ``flask worker``."""
    import logging

    if not logging.getLogger().handlers:  # the operator sees what the worker does, with timestamps
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
    app = current_app._get_current_object()
    init_app(app)
    huey.immediate = False
    # Feature packages warm their caches here, once, before the worker processes are forked from this one:
    # every worker starts warm (the first certificate after a deployment is as fast as the next).
    for warm_up in app.extensions.get("bangkom.worker_warmups", []):
        try:
            warm_up()
        except Exception:  # a failed warm-up only costs speed
            logging.getLogger(__name__).exception("Worker warm-up %s failed", warm_up.__name__)
    # Processes, not threads: rendering certificates is CPU-bound, and each long-lived worker process
    # keeps its own warm caches (fonts, stylesheets, the signing key).
    # An idle consumer polls SQLite at most every half second: a certificate waits no longer than that.
    consumer = huey.create_consumer(workers=workers, worker_type="process", periodic=True,
                                    check_worker_health=True, max_delay=0.5)
    consumer.run()
