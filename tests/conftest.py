"""Test set-up: one throw-away database per run (SQLite file, or a PostgreSQL database created and
dropped here), migrated with Alembic exactly as in production; every test starts from empty tables."""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import pytest
from flask import g

_instance = tempfile.mkdtemp(prefix="bangkom-test-")
os.environ["LMS_INSTANCE_PATH"] = _instance
os.environ.pop("LMS_REDIS_URL", None)
os.environ.pop("LMS_DATABASE_URL", None)

import psycopg  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import delete  # noqa: E402

from lms import create_app  # noqa: E402
from lms.extensions import db, limiter  # noqa: E402

TEST_DB = os.environ.get("LMS_TEST_DB", "sqlite")
PG_URL = os.environ.get("LMS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("LMS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def pytest_configure(config):
    config.addinivalue_line("markers", "redis: needs the Redis server at LMS_TEST_REDIS_URL")
    config.addinivalue_line("markers", "browser: drives headless chromium")


def pytest_report_header(config):
    return f"database: {TEST_DB}"


@pytest.fixture(scope="session")
def database_url():
    if TEST_DB == "sqlite":
        yield f"sqlite:///{Path(_instance) / 'test.db'}"
        return
    if TEST_DB != "postgresql":
        raise pytest.UsageError("LMS_TEST_DB must be sqlite or postgresql")
    name = f"bangkom_test_{uuid.uuid4().hex[:10]}"
    admin = PG_URL.replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = PG_URL.rpartition("/")
    yield f"{base}/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def app(database_url):
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database_url})

    @app.url_value_preprocessor
    def fresh_request_globals(endpoint, values):
        # A served request gets its own app context and so an empty ``g``; here requests share the
        # test's context, so clear ``g`` first or the signed-in user of one request leaks into the next.
        for name in list(vars(g)):
            delattr(g, name)
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return app


@pytest.fixture(autouse=True)
def _clean(app):
    """Each test runs in its own app context and leaves empty tables and fresh rate limits behind."""
    ctx = app.app_context()
    ctx.push()
    yield
    db.session.rollback()
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(delete(table))
    db.session.commit()
    db.session.remove()
    limiter.reset()
    ctx.pop()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_user():
    """Factory: ``make_user(roles=("admin",), **fields)`` → a committed user with password 'correct horse 1'."""
    from lms import services

    counter = iter(range(1, 10_000))

    def make(roles=("learner",), password="correct horse 1", **fields):
        n = next(counter)
        fields.setdefault("email", f"user{n}@example.go.id")
        fields.setdefault("full_name", f"Pegawai {n}")
        user = services.create_user(roles=roles, password=password, **fields)
        db.session.commit()
        return user

    return make


@pytest.fixture
def login(client):
    """Sign the test client in as ``user`` through the real sign-in form."""

    def do(user, password="correct horse 1"):
        response = client.post("/akun/masuk", data={"login": user.email, "password": password})
        assert response.status_code == 302, response.data[:500]
        return response

    return do


# The browser tests' fixtures (live server, Chromium, pages at desktop or phone width) for every test module.
pytest_plugins = ("tests.browser_support",)
