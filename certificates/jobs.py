"""The certificate PDF as a background job: render, sign, store — keyed by the certificate, so it can be
retried and never produces two different PDFs for one certificate."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import resource
import signal

from flask import current_app
from huey import crontab
from huey.exceptions import TaskLockedException
from sqlalchemy import or_, select, update

from certificates.models import Certificate
from lms.extensions import db
from lms.jobs import enqueue_after_commit, huey, task
from lms.models import aware_utcnow
from lms.storage import store

AWAITING_SIGNATURE = "awaiting signature"


def queue_render(certificate_id: int) -> None:
    if current_app.config.get("CERTIFICATE_PDF_AUTO", True):
        enqueue_after_commit(render_certificate, certificate_id)


# Limits of a worker process that renders PDFs (a hostile or broken admin template must not take the
# worker down): seconds per certificate, address space, and certificates before the process is replaced.
RENDER_SECONDS = 120
WORKER_MEMORY_BYTES = 2 * 1024 ** 3
RECYCLE_AFTER = 1000
_rendered_here = 0


def _in_worker_process() -> bool:
    return multiprocessing.current_process().name != "MainProcess" and not huey.immediate


@task(retries=3, retry_delay=20)
def render_certificate(certificate_id: int) -> None:
    global _rendered_here
    limited = _in_worker_process()
    if limited and _rendered_here == 0:
        resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY_BYTES, WORKER_MEMORY_BYTES))
    try:
        if limited:
            signal.signal(signal.SIGALRM, _too_slow)
            signal.alarm(RENDER_SECONDS)
        with huey.lock_task(f"certificate-pdf-{certificate_id}"):
            produce_pdf(certificate_id)
    except TaskLockedException:
        current_app.logger.info("Certificate %s is being rendered by another worker", certificate_id)
    finally:
        if limited:
            signal.alarm(0)
    _rendered_here += 1
    if limited and _rendered_here >= RECYCLE_AFTER:
        # The consumer's health check starts a fresh process in this one's place: memory that a long
        # run of renderings may have fragmented is given back.
        current_app.logger.info("Worker %s recycles itself after %s certificates", os.getpid(), _rendered_here)
        os._exit(0)


def _too_slow(signum, frame):
    raise TimeoutError(f"rendering took longer than {RENDER_SECONDS} s")


@huey.periodic_task(crontab(minute="*/5"))
def requeue_missing_pdfs() -> int:
    """A job lost to a crash or a deployment is not lost for good: certificates still without their PDF
    (and not waiting for a signatory) are queued again, a few attempts at most."""
    from lms.jobs import _app

    with _app.app_context():
        ids = db.session.scalars(select(Certificate.id).where(
            Certificate.pdf_sha256.is_(None), Certificate.revoked_at.is_(None), Certificate.render_attempts < 5,
            or_(Certificate.render_error.is_(None), Certificate.render_error != AWAITING_SIGNATURE))
            .limit(500)).all()
        for certificate_id in ids:
            render_certificate(certificate_id)
        return len(ids)


REMINDER_DAYS = (60, 14)


@huey.periodic_task(crontab(hour="7", minute="0"))
def expiry_reminders() -> int:
    """Each morning, holders of certificates expiring in 60 or 14 days are told how to renew."""
    from lms.jobs import _app

    with _app.app_context():
        return send_expiry_reminders(dt.date.today())


def send_expiry_reminders(today: dt.date) -> int:
    from flask import render_template, url_for
    from flask_babel import force_locale
    from flask_babel import gettext as _

    from lms.mail import send_mail

    days = [today + dt.timedelta(days=n) for n in REMINDER_DAYS]
    due = db.session.scalars(select(Certificate).where(
        Certificate.valid_until.in_(days), Certificate.revoked_at.is_(None),
        Certificate.superseded_by_id.is_(None))).all()
    base = current_app.config["BASE_URL"]
    for certificate in due:
        user = certificate.user
        with current_app.test_request_context(), force_locale(user.locale or "id"):
            link = base + url_for("courses.course", code=certificate.snapshot["course"]["code"])
            send_mail(user.email, _("Your certificate expires on %(date)s",
                                    date=certificate.valid_until.strftime("%d-%m-%Y")),
                      render_template("mail/certificate_expiry.txt", user=user, certificate=certificate,
                                      link=link))
    return len(due)


def produce_pdf(certificate_id: int, *, passphrase: str | None = None) -> str | None:
    """Render, sign and store the PDF unless it exists; returns its SHA-256 (None if nothing to do).

    With the BSrE gateway the signatory's ``passphrase`` is needed; it is passed through to the gateway
    and never stored (without it the certificate waits in the signing queue).
    """
    from certificates import pdf, signing

    certificate = db.session.get(Certificate, certificate_id)
    if certificate is None or certificate.pdf_sha256 is not None:
        return certificate.pdf_sha256 if certificate else None
    template = certificate.issuer.template
    try:
        document = pdf.render_certificate(_with_logo(certificate), html=template.html if template else None,
                                          css=template.css if template else None)
        signer = signing.signer_for_app(current_app)
        if signer.needs_passphrase and not passphrase:
            # BSrE: the signatory signs with a passphrase typed at signing time (the signing queue page).
            _record_error(certificate_id, AWAITING_SIGNATURE)
            return None
        snapshot = certificate.snapshot
        signed = signer.sign(document, signatory=snapshot["signatory"]["name"] or snapshot["issuer"]["name"],
                             reason=f"Sertifikat {certificate.number}",
                             location=snapshot["issuer"]["city"] or "Indonesia",
                             box=getattr(pdf, "SIGNATURE_BOX", None), page=getattr(pdf, "SIGNATURE_PAGE", 0),
                             nik=certificate.issuer.signatory_nik or None, passphrase=passphrase)
    except Exception as exc:
        db.session.rollback()
        _record_error(certificate_id, f"{type(exc).__name__}: {exc}")
        raise
    digest = store().put_bytes(signed)
    # Only the first finished rendering is recorded; a late duplicate leaves the row as it is.
    db.session.execute(update(Certificate).where(Certificate.id == certificate_id,
                                                 Certificate.pdf_sha256.is_(None))
                       .values(pdf_sha256=digest, pdf_size=len(signed), rendered_at=aware_utcnow(),
                               render_error=None, render_attempts=Certificate.render_attempts + 1))
    db.session.commit()
    return digest


def warm_up() -> None:
    """Fonts, stylesheets, templates and the signing key loaded once in the consumer process."""
    from certificates import pdf, signing

    document = pdf.preview_certificate(*pdf.default_template())
    signer = signing.signer_for_app(current_app)
    if not signer.needs_passphrase:
        signer.sign(document, signatory="Bangkom", reason="warm-up", location="Indonesia",
                    box=getattr(pdf, "SIGNATURE_BOX", None), page=getattr(pdf, "SIGNATURE_PAGE", 0))


def _with_logo(certificate: Certificate) -> dict:
    """The snapshot with the issuer's logo as a data: URI (the logo is branding, kept out of the frozen
    snapshot so a million certificates do not each carry a copy)."""
    import base64

    from lms.storage import sniff

    snapshot = certificate.snapshot
    digest = certificate.issuer.logo_sha256
    if not digest or not store().exists(digest):
        return snapshot
    data = store().path(digest).read_bytes()
    mime = sniff(data[:64]) or "image/png"
    logo = f"data:{mime};base64,{base64.b64encode(data).decode()}"
    return {**snapshot, "issuer": {**snapshot["issuer"], "logo": logo}}


def _record_error(certificate_id: int, message: str) -> None:
    db.session.execute(update(Certificate).where(Certificate.id == certificate_id)
                       .values(render_error=message[:500], render_attempts=Certificate.render_attempts + 1))
    db.session.commit()
