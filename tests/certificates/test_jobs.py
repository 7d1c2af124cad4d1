"""The certificate PDF job: produced once and stored with its digest, retried after a failure, re-queued
when lost, and run under limits in worker processes (time, memory, recycling)."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from certificates import jobs
from certificates.models import Certificate
from lms.extensions import db
from lms.storage import store


def test_the_pdf_is_stored_once_with_its_digest(certificate):
    digest = jobs.produce_pdf(certificate.id)
    db.session.expire_all()
    stored = db.session.get(Certificate, certificate.id)
    assert stored.pdf_sha256 == digest
    assert store().path(digest).read_bytes().startswith(b"%PDF")
    assert stored.rendered_at is not None
    # A second run (a retried or duplicated job) changes nothing.
    assert jobs.produce_pdf(certificate.id) == digest
    db.session.expire_all()
    assert db.session.get(Certificate, certificate.id).render_attempts == 1


def test_a_failed_rendering_is_recorded_and_raised_for_the_retry(certificate, monkeypatch):
    from certificates import pdf

    def broken(*args, **kwargs):
        raise RuntimeError("out of paper")

    monkeypatch.setattr(pdf, "render_certificate", broken)
    with pytest.raises(RuntimeError):
        jobs.produce_pdf(certificate.id)
    db.session.expire_all()
    stored = db.session.get(Certificate, certificate.id)
    assert stored.pdf_sha256 is None
    assert "out of paper" in stored.render_error
    assert stored.render_attempts == 1


def test_lost_jobs_are_queued_again_but_not_those_waiting_for_a_signatory(certificate, monkeypatch):
    queued = []
    monkeypatch.setattr(jobs, "render_certificate", queued.append)
    waiting = db.session.get(Certificate, certificate.id)
    assert jobs.requeue_missing_pdfs.call_local() == 1
    assert queued == [certificate.id]
    waiting.render_error = jobs.AWAITING_SIGNATURE
    db.session.commit()
    assert jobs.requeue_missing_pdfs.call_local() == 0


def test_a_worker_process_limits_memory_and_time_and_recycles_itself(certificate, monkeypatch):
    limits, alarms = [], []
    monkeypatch.setattr(jobs, "_in_worker_process", lambda: True)
    monkeypatch.setattr(jobs, "_rendered_here", 0)
    monkeypatch.setattr(jobs, "RECYCLE_AFTER", 1)
    monkeypatch.setattr(jobs.resource, "setrlimit", lambda kind, value: limits.append((kind, value)))
    monkeypatch.setattr(jobs.signal, "alarm", alarms.append)

    def exit_(code):
        raise SystemExit(code)

    monkeypatch.setattr(jobs.os, "_exit", exit_)
    with pytest.raises(SystemExit):
        jobs.render_certificate.call_local(certificate.id)
    assert limits == [(jobs.resource.RLIMIT_AS, (jobs.WORKER_MEMORY_BYTES, jobs.WORKER_MEMORY_BYTES))]
    assert alarms == [jobs.RENDER_SECONDS, 0], "the time limit is armed for the rendering and then cleared"
    db.session.expire_all()
    assert db.session.get(Certificate, certificate.id).pdf_sha256 is not None, "recycled after the work is saved"


def test_expiry_reminders_go_60_and_14_days_ahead(certificate, app):
    from pathlib import Path

    today = dt.date(2027, 3, 1)
    stored = db.session.get(Certificate, certificate.id)
    stored.valid_until = today + dt.timedelta(days=14)
    db.session.commit()
    outbox = Path(app.instance_path) / "mail"
    before = set(outbox.glob("*.eml")) if outbox.exists() else set()
    assert jobs.send_expiry_reminders(today) == 1
    assert jobs.send_expiry_reminders(today + dt.timedelta(days=1)) == 0
    new = set(outbox.glob("*.eml")) - before
    assert len(new) == 1
    body = new.pop().read_text()
    assert stored.number in body.replace("=\n", "")


def test_the_issuers_logo_is_printed(certificate, tmp_path):
    import subprocess

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (120, 120), (16, 94, 76)).save(buffer, format="PNG")
    issuer = db.session.get(Certificate, certificate.id).issuer
    issuer.logo_sha256 = store().put_bytes(buffer.getvalue())
    db.session.commit()
    digest = jobs.produce_pdf(certificate.id)
    pdf = tmp_path / "c.pdf"
    pdf.write_bytes(store().path(digest).read_bytes())
    listing = subprocess.run(["/usr/bin/pdfimages", "-list", str(pdf)],  # noqa: S603 - our own file
                             capture_output=True, text=True, check=True).stdout
    assert any(line.split()[3:5] == ["120", "120"] for line in listing.splitlines()[2:]), listing
    assert db.session.get(Certificate, certificate.id).snapshot["issuer"]["logo"] is None, \
        "the frozen snapshot does not carry the image"
