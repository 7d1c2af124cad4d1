"""``flask records …``: exports and the SIASN feed to files, the pnsOrangId import, HR scopes, the outbox."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from certificates.records import exports, services, siasn
from lms.extensions import db
from lms.models import OrgUnit, User
from lms.services import ValidationFailed

records_cli = AppGroup("records", help="Training records, compliance and SIASN.")


class ConsoleActor:
    """Whoever runs the command line sees every unit, as an administrator does."""

    id = 0
    is_authenticated = True

    @staticmethod
    def has_role(*roles: str) -> bool:
        return "admin" in roles


def _fail(message) -> None:
    db.session.rollback()
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def _actor(email: str | None):
    if not email:
        return ConsoleActor()
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not user.has_role("hr", "admin"):
        _fail(f"{email} is not an HR officer or administrator.")
    return user


def _unit(code: str | None) -> OrgUnit | None:
    if not code:
        return None
    unit = db.session.scalar(select(OrgUnit).where(OrgUnit.code == code))
    if unit is None:
        _fail(f"No unit has the code {code}.")
    return unit


def _write(chunks, output: Path | None) -> None:
    stream = output.open("wb") if output else sys.stdout.buffer
    try:
        for chunk in chunks:
            stream.write(chunk.encode() if isinstance(chunk, str) else chunk)
    finally:
        if output:
            stream.close()


@records_cli.command("export")
@click.option("--report", type=click.Choice(["pegawai", "unit", "kenaikan-pangkat"]), default="pegawai",
              show_default=True)
@click.option("--format", "fmt", type=click.Choice(sorted(exports.WRITERS)), default="csv", show_default=True)
@click.option("--year", type=int, help="Calendar year (default: this year).")
@click.option("--unit", "unit_code", help="Unit code: only this unit and the units below it.")
@click.option("--status", type=click.Choice(["behind", "reached", "all"]), default="all", show_default=True)
@click.option("--period", help="Promotion period YYYY-MM (kenaikan-pangkat report).")
@click.option("--as", "email", help="Limit to the units of this HR officer.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="File (default: standard output).")
def export(report, fmt, year, unit_code, status, period, email, output):
    """A compliance report, streamed (the same builders as the web pages)."""
    actor, unit = _actor(email), _unit(unit_code)
    if unit is not None and not services.unit_in_scope(actor, unit):
        _fail(f"{unit_code} is outside the units of {email}.")
    year = year or services.this_year()
    if report == "kenaikan-pangkat":
        when = services.parse_period(period) if period else services.next_period()
        if when is None:
            _fail("The period is YYYY-MM of a promotion month (02, 04, 06, 08, 10, 12).")
        built = exports.promotion_report(when, actor=actor, unit=unit)
    elif report == "unit":
        built = exports.units_report(year, actor=actor, parent=unit)
    else:
        built = exports.people_report(year, actor=actor, unit=unit, status=status)
    _write(exports.WRITERS[fmt](built), output)


@records_cli.command("siasn-feed")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), help="Records issued or verified since.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="File (default: standard output).")
def siasn_feed(since, output):
    """The SIASN feed as JSON lines (as GET /api/v1/feeds/siasn answers)."""
    _write(siasn.feed_lines(since=since.date() if since else None), output)


@records_cli.command("import-pns-orang-id")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_pns_orang_id(path):
    """Load BKN's NIP → pnsOrangId mapping (CSV with nip,pnsOrangId); all or nothing."""
    try:
        count = siasn.import_people(path.read_text(encoding="utf-8-sig"), actor=None)
    except (ValidationFailed, UnicodeDecodeError) as exc:
        _fail(getattr(exc, "errors", {}).get("file", exc))
    db.session.commit()
    click.echo(f"{count} pnsOrangId imported.")


@records_cli.command("hr-scope")
@click.argument("email")
@click.argument("unit_codes", nargs=-1)
def hr_scope(email, unit_codes):
    """The units (with everything below them) an HR officer looks after; none given: their own unit."""
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not user.has_role("hr"):
        _fail(f"{email} is not an HR officer.")
    units = [_unit(code) for code in unit_codes]
    services.set_hr_scopes(user, [u.id for u in units], actor=None)
    db.session.commit()
    click.echo(f"{email}: {', '.join(unit_codes) or 'own unit'}")


@records_cli.command("seed-references")
def seed_references():
    """Write DOMAIN.md's jenis diklat and latihan struktural lists into the editable tables (once)."""
    added = services.ensure_references()
    db.session.commit()
    click.echo(f"{added} reference entries added.")


@records_cli.command("push")
def push():
    """Queue new records in the SIASN outbox and send what is due now (the worker does this every 5 minutes)."""
    if not siasn.push_enabled():
        _fail("LMS_SIASN_PUSH_URL is not set.")
    added = siasn.sync_outbox(limit=100_000)
    db.session.commit()
    states: dict[str, int] = {}
    for push_id in siasn.due_ids(limit=100_000):
        state = siasn.push_one(push_id) or "skipped"
        states[state] = states.get(state, 0) + 1
    click.echo(f"{added} queued; " + ", ".join(f"{n} {s}" for s, n in sorted(states.items())) or "nothing due")
