"""The promotion file ("berkas pengembangan kompetensi") of one employee for a promotion period, and the
ZIP of their certificates.

The PDF is rendered from a plain snapshot by our own template (``templates/records/print/``) through
``certificates.pdf`` (the only module that imports WeasyPrint). Signed certificate PDFs are embedded as
attachments, byte for byte, so their signatures stay valid; appending their pages would break them.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections.abc import Iterator

from flask import current_app
from flask_babel import force_locale

from certificates.models import Issuer
from certificates.records import services
from certificates.records.exports import _Sink
from lms.extensions import db
from lms.models import JABATAN_TYPES, PANGKAT, User
from lms.storage import store

YEARS_SHOWN = 5


def _instansi(user: User) -> str | None:
    unit, top = user.unit, None
    while unit is not None:
        top, unit = unit, unit.parent
    return top.name if top is not None else None


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:80] or "dokumen"


def _attachment_name(index: int, entry: services.Entry) -> str:
    extension = "pdf"
    if entry.kind == "external" and entry.file_sha256:
        extension = {"image/png": "png", "image/jpeg": "jpg"}.get(_file_type(entry), "pdf")
    label = "sertifikat" if entry.kind == "certificate" else "diklat-eksternal"
    return f"{index:02d}-{label}-{_safe(entry.number or entry.title)}.{extension}"


def _file_type(entry: services.Entry) -> str:
    from certificates.records.models import ExternalRecord

    record = db.session.get(ExternalRecord, entry.id)
    return record.file_type if record is not None else "application/pdf"


def documents(entries: list[services.Entry]) -> list[tuple[str, str, services.Entry]]:
    """(name in the file, stored digest, entry) of every certificate PDF and external certificate file."""
    found = []
    for index, entry in enumerate(reversed(entries), start=1):
        digest = entry.pdf_sha256 if entry.kind == "certificate" else entry.file_sha256
        if digest and store().exists(digest):
            found.append((_attachment_name(index, entry), digest, entry))
    return found


def snapshot(user: User, period: dt.date) -> dict:
    """Everything the promotion file states, as plain values."""
    from certificates.pdf import qr_svg

    history = [e for e in services.entries_of(user, until=period) if e.counts]
    years = [services.ledger_from(history, year, user.employee_type)
             for year in range(period.year, period.year - YEARS_SHOWN, -1)]
    issuer = db.session.scalar(select_default_issuer())
    rows = []
    for number, entry in enumerate(reversed(history), start=1):
        rows.append({
            "no": number, "kind": entry.kind, "number": entry.number, "title": entry.title,
            "organiser": entry.organiser, "start": entry.start.isoformat() if entry.start else None,
            "end": entry.end.isoformat() if entry.end else None, "jp": entry.jp,
            "jenis_diklat": services.jenis_name(entry.jenis_diklat),
            "competency_kind": str(services.KIND_LABELS.get(entry.competency_kind, entry.competency_kind)),
            "status": str(services.STATE_LABELS.get(entry.status, entry.status)),
            "verify_url": entry.verify_url, "qr": qr_svg(entry.verify_url) if entry.verify_url else None,
            "decided_at": entry.decided_at.date().isoformat() if entry.decided_at else None,
        })
    return {
        "period": period.isoformat(),
        "generated_at": dt.datetime.now(services.WIB).replace(microsecond=0).isoformat(),
        "issuer": {"name": issuer.name if issuer else None, "city": issuer.city if issuer else None},
        "person": {
            "name": user.display_name, "nip": user.nip, "employee_type": user.employee_type,
            "birth_place": user.birth_place, "birth_date": user.birth_date.isoformat() if user.birth_date else None,
            "golongan": user.golongan, "pangkat": PANGKAT.get(user.golongan or ""),
            "jabatan": user.jabatan_name, "jabatan_type": JABATAN_TYPES.get(user.jabatan_type or ""),
            "unit": user.unit.name if user.unit else None, "instansi": _instansi(user),
        },
        "records": rows,
        "years": [{"year": y.year, "total": y.total, "counted": y.counted, "target": y.target, "cap": y.cap,
                   "reached": y.reached, "by_kind": y.by_kind} for y in years],
        "competencies": services.competencies_developed(history),
        "attachments": [name for name, _digest, _entry in documents(history)],
    }


def select_default_issuer():
    from sqlalchemy import select

    return select(Issuer).order_by(Issuer.is_default.desc(), Issuer.id).limit(1)


def render(user: User, period: dt.date) -> bytes:
    """The promotion-file PDF/A-3b with the certificates attached."""
    from certificates import pdf

    snap = snapshot(user, period)
    history = [e for e in services.entries_of(user, until=period) if e.counts]
    with force_locale("id"):  # an official document: Bahasa Indonesia, whatever the reader's language
        # Our template alone, without the page context processors (no signed-in user is needed to print).
        html = current_app.jinja_env.get_template("records/print/promotion_file.html").render(f=snap)
    css = current_app.jinja_loader.get_source(current_app.jinja_env, "records/print/promotion_file.css")[0]
    attachments = [(name, store().path(digest).read_bytes(), entry.title)
                   for name, digest, entry in documents(history)]
    return pdf.render_document(html, css, title=f"Berkas pengembangan kompetensi {user.nip or user.id}",
                               attachments=attachments)


def certificates_zip(user: User) -> Iterator[bytes]:
    """A ZIP of the person's certificate PDFs and verified external certificates, streamed."""
    history = [e for e in services.entries_of(user) if e.counts]
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, digest, _entry in documents(history):
            with store().open(digest) as source, archive.open(name, "w", force_zip64=True) as target:
                while chunk := source.read(1024 * 1024):
                    target.write(chunk)
                    yield sink.take()
    yield sink.take()
