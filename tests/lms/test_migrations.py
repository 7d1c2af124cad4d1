"""The Alembic migrations are the only way the schema reaches a database: they must build exactly what the
models describe, and every one of them must undo cleanly, on SQLite and on PostgreSQL alike."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from flask_migrate import downgrade, upgrade

from lms import create_app, jobs
from lms.extensions import db, limiter
from tests.conftest import PG_URL, TEST_DB


@pytest.fixture
def empty_database_url():
    """A database nobody has touched, of the kind the suite runs on; gone again afterwards."""
    if TEST_DB == "sqlite":
        with tempfile.TemporaryDirectory(prefix="bangkom-migrations-") as folder:
            yield f"sqlite:///{Path(folder) / 'fresh.db'}"
        return
    name = f"bangkom_mig_{uuid.uuid4().hex[:10]}"
    admin = PG_URL.replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = PG_URL.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def fresh_app(app, empty_database_url):
    """A second application on the empty database. The limiter and the job queue are process-wide, so
    they are handed back to the suite's application afterwards."""
    other = create_app("testing", {"SQLALCHEMY_DATABASE_URI": empty_database_url})
    try:
        with other.app_context():
            yield other
            db.session.remove()
            db.engine.dispose()
    finally:
        limiter.init_app(app)
        jobs.init_app(app)


def model_tables() -> set[str]:
    return set(db.metadata.tables)


def tables_in_database() -> set[str]:
    return set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}


def database_revision() -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def schema_differences(metadata: sa.MetaData) -> list:
    """What ``flask db migrate`` would put into a new revision, compared the way it compares."""
    options = current_app.extensions["migrate"].configure_args
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": options.get("compare_type", True),
                                                         "compare_server_default": False})
        return compare_metadata(context, metadata)


def script_directory() -> ScriptDirectory:
    return ScriptDirectory(current_app.extensions["migrate"].directory)


def test_upgrade_downgrade_upgrade_on_an_empty_database(fresh_app):
    head = script_directory().get_current_head()
    assert tables_in_database() == set()

    upgrade()
    assert database_revision() == head
    assert tables_in_database() == model_tables()

    downgrade(revision="base")
    assert database_revision() is None
    assert tables_in_database() == set(), "downgrade to base left tables behind"

    upgrade()
    assert database_revision() == head
    assert tables_in_database() == model_tables()


def test_every_revision_downgrades_and_upgrades_again(fresh_app):
    """The stairway: each revision, applied on top of its parent, undoes to exactly the parent's schema."""
    revisions = list(reversed(list(script_directory().walk_revisions("base", "heads"))))
    assert revisions, "no migrations found"
    for revision in revisions:
        before = tables_in_database()
        upgrade(revision=revision.revision)
        after = tables_in_database()
        downgrade(revision=revision.down_revision or "base")
        assert tables_in_database() == before, f"downgrade of {revision.revision} is not its exact inverse"
        upgrade(revision=revision.revision)
        assert tables_in_database() == after


def test_migrations_build_exactly_what_the_models_describe(fresh_app):
    """A model changed without a migration (``flask db migrate``) fails here."""
    upgrade()
    differences = schema_differences(db.metadata)
    assert differences == [], "models and migrations differ; run `flask db migrate`:\n" + "\n".join(
        map(repr, differences))


def test_the_comparison_notices_a_model_change_without_a_migration(fresh_app):
    """Guards the guard: a column and a table added to the models only are both reported."""
    upgrade()
    changed = sa.MetaData(naming_convention=db.metadata.naming_convention)
    for table in db.metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["users"].append_column(sa.Column("shoe_size", sa.Integer(), nullable=True))
    sa.Table("unmigrated", changed, sa.Column("id", sa.Integer(), primary_key=True))

    kinds = {(diff[0], diff[2] if diff[0] == "add_column" else diff[1].name)
             for diff in schema_differences(changed) if isinstance(diff, tuple)}
    assert ("add_column", "users") in kinds
    assert ("add_table", "unmigrated") in kinds
