"""``flask certificates …``: issue for a cohort, revoke, and show the signing chain."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from certificates import services
from courses import services as course_services
from courses.models import Course
from lms import services as people
from lms.extensions import db
from lms.models import User

certificates_cli = AppGroup("certificates", help="Certificates.")


def _fail(message) -> None:
    db.session.rollback()
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def _nips_from_csv(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        sample = fh.read(4096)
        fh.seek(0)
        try:
            dialect = csv.Sniffer().sniff(sample, delimiters=",;") if sample else csv.excel
        except csv.Error:  # a single column (just "nip") has no delimiter to find
            dialect = csv.excel
        reader = csv.DictReader(fh, dialect=dialect)
        if not reader.fieldnames or "nip" not in [f.strip().lower() for f in reader.fieldnames]:
            _fail(f"{path.name} has no 'nip' column in its header row.")
        key = next(f for f in reader.fieldnames if f.strip().lower() == "nip")
        return [row[key].strip() for row in reader if (row.get(key) or "").strip()]


@certificates_cli.command("issue")
@click.option("--course", "code", required=True, help="Course code, e.g. PM-01.")
@click.option("--nip", "nips", multiple=True, help="A participant's NIP (repeatable).")
@click.option("--from-csv", "csv_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CSV with a header row and a 'nip' column.")
@click.option("--reason", default="Pelatihan klasikal", show_default=True, help="Recorded in the audit log.")
@click.option("--wait", is_flag=True, help="Return only when every PDF is rendered, signed and stored.")
def issue(code, nips, csv_path, reason, wait):
    """Record completion for a classroom cohort (or a correction) and issue the certificates."""
    course = db.session.scalar(select(Course).where(Course.code == code.upper()))
    if course is None:
        _fail(f"No course has the code {code}.")
    wanted = list(nips) + (_nips_from_csv(csv_path) if csv_path else [])
    if not wanted:
        _fail("Name the participants with --nip or --from-csv.")
    users, unknown = [], []
    for nip in wanted:
        user = db.session.scalar(select(User).where(User.nip == nip.replace(" ", "")))
        (users.append(user) if user is not None and user.is_active else unknown.append(nip))
    if unknown:
        _fail(f"Unknown or inactive NIP: {', '.join(unknown)}. Nothing was issued.")
    if services.default_issuer() is None:
        _fail("No certificate issuer is configured.")
    actor = course.owners[0] if course.owners else None
    certificates = []
    try:
        for user in dict.fromkeys(users):
            enrolment = course_services.record_completion(user, course, actor=actor, reason=reason)
            certificates.append(services.issue(enrolment, actor=actor, reason=reason))
    except people.ServiceError as exc:
        _fail(str(exc))
    db.session.commit()
    if wait:
        from certificates.jobs import produce_pdf

        for certificate in certificates:
            produce_pdf(certificate.id)
    for certificate in certificates:
        click.echo(f"{certificate.number}\t{certificate.code}")


@certificates_cli.command("revoke")
@click.argument("code")
@click.option("--reason", required=True)
def revoke(code, reason):
    """Revoke a certificate by its code (or number)."""
    from certificates.models import Certificate

    certificate = services.by_code(code) or db.session.scalar(select(Certificate).where(Certificate.number == code))
    if certificate is None:
        _fail(f"No certificate has the code or number {code}.")
    try:
        services.revoke(certificate, reason=reason, actor=None)  # the audit log records the command line
    except people.ValidationFailed as exc:
        _fail("; ".join(str(v) for v in exc.errors.values()))
    db.session.commit()
    click.echo(f"Revoked {certificate.number}.")


@certificates_cli.command("signer-chain")
def signer_chain():
    """The PEM chain of the certificate that signs PDFs, for validators."""
    from certificates import signing

    click.echo(signing.chain_text(current_app).strip())
