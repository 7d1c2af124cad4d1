"""Command-line interface (``flask --app wsgi ...``); the contract is in INTERFACES.md."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from lms import imports, services
from lms.extensions import db
from lms.models import ROLES, TOKEN_SCOPES, OrgUnit, User

users_cli = AppGroup("users", help="Accounts: create one, import many.")
tokens_cli = AppGroup("tokens", help="API tokens for HR systems.")
demo_cli = AppGroup("demo", help="Demonstration data.")


def fail(message) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", "full_name", required=True)
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES))
@click.option("--nip")
@click.option("--unit", "unit_code", help="Org unit code.")
@click.option("--password", required=True)
def users_create(email, full_name, roles, nip, unit_code, password):
    """Create one user."""
    unit_id = None
    if unit_code:
        unit_id = db.session.scalar(select(OrgUnit.id).where(OrgUnit.code == unit_code))
        if unit_id is None:
            fail(f"unknown unit code {unit_code!r}")
    try:
        user = services.create_user(email=email, full_name=full_name, roles=roles, nip=nip, unit_id=unit_id,
                                    password=password)
    except services.ValidationFailed as exc:
        db.session.rollback()
        fail("; ".join(f"{field}: {message}" for field, message in exc.errors.items()))
    db.session.commit()
    click.echo(f"Created {user.email} (id {user.id}) with roles {', '.join(sorted(user.roles))}.")


@users_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Validate only; import nothing.")
def users_import(path: Path, dry_run: bool):
    """Import employees from a UTF-8 CSV (all rows or none)."""
    try:
        with path.open("rb") as stream:
            report = imports.import_users(stream, actor=None, dry_run=dry_run, filename=path.name)
    except imports.ImportRefused as exc:
        db.session.rollback()
        fail(exc.message)
    for notice in report.notices:
        click.echo(f"Note: {notice}")
    if report.errors:
        db.session.rollback()
        for line, reason in report.errors:
            click.echo(f"line {line}: {reason}", err=True)
        fail(f"{len(report.errors)} of {report.rows} rows have errors; nothing was imported.")
    if dry_run:
        db.session.rollback()
        click.echo(f"Dry run: {report.rows} rows are valid ({report.created} new, {report.updated} to update). "
                   "Nothing was imported.")
        return
    db.session.commit()
    click.echo(f"Imported {report.rows} rows: {report.created} new, {report.updated} updated.")


@tokens_cli.command("create")
@click.option("--email", required=True)
@click.option("--scope", "scopes", multiple=True, required=True, type=click.Choice(TOKEN_SCOPES))
@click.option("--name", default="CLI", show_default=True)
def tokens_create(email, scopes, name):
    """Create an API token; the token alone is the last line printed."""
    user = db.session.scalar(select(User).where(User.email == services.normalise_email(email)))
    if user is None:
        fail(f"no account with e-mail {email}")
    try:
        token, secret = services.create_api_token(user, name=name, scopes=scopes, actor=None)
    except services.ServiceError as exc:
        db.session.rollback()
        fail(exc.message)
    db.session.commit()
    click.echo(f"Token {token.prefix}… for {user.email}, scopes {' '.join(token.scopes)}. Store it now; "
               "it is not shown again.")
    click.echo(secret)


@demo_cli.command("seed")
def demo_seed():
    """Idempotent demonstration data: units, partner institutions, users of every role."""
    from lms import demo

    logins = demo.seed()
    # Feature packages add their own demo content (courses, certificates) after the people exist.
    for seed in current_app.extensions.get("bangkom.demo_seeders", []):
        seed()
    db.session.commit()
    click.echo("Demo data ready. Sign in with (e-mail or NIP):")
    for role, login, nip, password in logins:
        click.echo(f"  {role:<9} {login:<32} {nip or '':<19} {password}")


def register_cli(app: Flask) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(tokens_cli)
    app.cli.add_command(demo_cli)

    @app.cli.command("worker")
    @click.option("--workers", default=2, show_default=True, help="Worker processes (rendering PDFs is CPU-bound: about one per core).")
    def worker(workers: int):
        """Run the background job consumer."""
        from lms import jobs

        jobs.run_consumer(workers=workers)
