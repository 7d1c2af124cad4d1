"""Training records: submitting and deciding external training, the JP ledger, HR scope and unit
compliance. Functions flush; callers commit.

What counts towards an employee's JP (the same rule in Python for one person and in SQL for thousands):

* a certificate that is not revoked and not replaced by a *correction* (a renewal replaces the earlier
  cycle's certificate too, but that training still happened in its year), in the year its course was
  completed;
* an external record that HR verified, in the year it ended.

Years are calendar years in Western Indonesia Time: a course finished on 31 December at 23:00 in
Jakarta counts for that year, not the next (UTC would say otherwise).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, g, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, case, func, or_, select, text, union_all

from certificates.models import Certificate
from certificates.records.models import (
    MAX_RECORD_JP,
    RECORD_JALUR,
    ExternalRecord,
    HrScope,
    SiasnReference,
)
from courses.models import COMPETENCY_KINDS, JALUR, Course, Enrolment
from lms.extensions import db
from lms.models import EMPLOYEE_TYPES, JABATAN_TYPES, OrgUnit, User, aware_utcnow
from lms.services import ServiceError, ValidationFailed, audit, unit_subtree_ids
from lms.storage import TooLarge, sniff, store

WIB = dt.timezone(dt.timedelta(hours=7), "WIB")  # Asia/Jakarta has no daylight saving time
LEDGER_JALUR = tuple(dict.fromkeys((*RECORD_JALUR, *JALUR)))  # pendidikan, klasikal, nonklasikal, blended
ALLOWED_FILE_TYPES = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}
MAX_FILE_BYTES = 10 * 1024 * 1024
STRUKTURAL = "1"  # jenisDiklatId of leadership (structural) training: SIASN's diklat/save, not kursus/save

JALUR_LABELS = {"pendidikan": _l("Pendidikan (degree study)"), "klasikal": _l("Pelatihan klasikal"),
                "nonklasikal": _l("Pelatihan nonklasikal"), "blended": _l("Blended")}
KIND_LABELS = {"teknis": _l("Teknis"), "manajerial": _l("Manajerial"), "sosial_kultural": _l("Sosial kultural")}
STATE_LABELS = {"diajukan": _l("Submitted"), "diverifikasi": _l("Verified"), "ditolak": _l("Rejected"),
                "valid": _l("Valid"), "revoked": _l("Revoked"), "expired": _l("Expired"),
                "superseded": _l("Replaced")}

# DOMAIN.md; SIASN's newer lists add more, so the database table (editable) wins when it has rows.
DEFAULT_JENIS_DIKLAT = (
    # code, name, jenisKursusSertipikat: F fungsional, T teknis, P for every other course
    ("1", "Struktural", None), ("2", "Fungsional", "F"), ("3", "Teknis", "T"), ("4", "Workshop", "P"),
    ("5", "Manajerial", "P"), ("6", "Sosial Kultural", "P"), ("7", "Sosialisasi", "P"),
    ("8", "Bimbingan Teknis", "T"), ("9", "Seminar", "P"), ("10", "Magang", "P"),
)
DEFAULT_LATIHAN_STRUKTURAL = (
    ("1", "SEPADA"), ("2", "SEPALA/ADUM/PIM IV"), ("3", "SEPADYA/SPAMA/PIM III"), ("4", "SPAMEN/SESPA/PIM II"),
    ("5", "SEPATI/PIM I"), ("6", "SESPIM"), ("7", "SESPATI"), ("8", "Lainnya (PKN I/II, PKA, PKP)"),
)


class RecordClosed(ServiceError):
    """The record has already been decided (or withdrawn); nothing changes."""


# ---------------------------------------------------------------- settings


def jp_target() -> int:
    """The yearly JP every PNS must reach (PP 11/2017 art. 203(4))."""
    return int(current_app.config.get("RECORDS_JP_TARGET", 20))


def pppk_cap() -> int:
    """JP per (contract) year a PPPK is entitled to: a cap, not a floor."""
    return int(current_app.config.get("RECORDS_PPPK_JP_CAP", 24))


def target_types() -> tuple[str, ...]:
    """Employee types the 20-JP obligation applies to; CPNS are PNS candidates and count as PNS."""
    return tuple(current_app.config.get("RECORDS_TARGET_TYPES", ("PNS", "CPNS")))


def year_bounds(year: int) -> tuple[dt.datetime, dt.datetime]:
    """The instants (UTC-comparable) where ``year`` begins and ends in Western Indonesia Time."""
    return dt.datetime(year, 1, 1, tzinfo=WIB), dt.datetime(year + 1, 1, 1, tzinfo=WIB)


def wib_year(moment: dt.datetime) -> int:
    return moment.astimezone(WIB).year


def this_year() -> int:
    return dt.datetime.now(WIB).year


# ---------------------------------------------------------------- reference tables


def references(kind: str, *, active_only: bool = True) -> dict[str, SiasnReference]:
    """code → entry of one SIASN reference list; the built-in list of DOMAIN.md while the table is empty."""
    rows = db.session.scalars(select(SiasnReference).where(SiasnReference.kind == kind)
                              .order_by(SiasnReference.id)).all()
    if not rows:
        rows = default_references(kind)
    return {row.code: row for row in rows if row.is_active or not active_only}


def default_references(kind: str) -> list[SiasnReference]:
    if kind == "jenis_diklat":
        return [SiasnReference(kind=kind, code=code, name=name, kursus_kind=letter, is_active=True)
                for code, name, letter in DEFAULT_JENIS_DIKLAT]
    return [SiasnReference(kind=kind, code=code, name=name, kursus_kind=None, is_active=True)
            for code, name in DEFAULT_LATIHAN_STRUKTURAL]


def ensure_references() -> int:
    """Write the built-in reference lists into the table where it has none of a kind; returns rows added."""
    added = 0
    for kind in ("jenis_diklat", "latihan_struktural"):
        if db.session.scalar(select(SiasnReference.id).where(SiasnReference.kind == kind).limit(1)) is None:
            for row in default_references(kind):
                db.session.add(row)
                added += 1
    db.session.flush()
    return added


def save_reference(entry: SiasnReference | None, *, kind: str, code: str, name: str,
                   kursus_kind: str | None, is_active: bool, actor: User) -> SiasnReference:
    """Add or change one reference entry (an administrator keeps SIASN's lists current)."""
    code, name = (code or "").strip(), (name or "").strip()
    errors: dict[str, Any] = {}
    if kind not in ("jenis_diklat", "latihan_struktural"):
        errors["kind"] = _l("Unknown list.")
    if not code.isdigit() or len(code) > 10:
        errors["code"] = _l("A SIASN id is a number of at most 10 digits.")
    if not name or len(name) > 120:
        errors["name"] = _l("Give a name of at most 120 characters.")
    if kursus_kind not in (None, "", "F", "T", "P"):
        errors["kursus_kind"] = _l("Choose F, T or P.")
    if not errors:
        ensure_references()
        clash = select(SiasnReference.id).where(SiasnReference.kind == kind, SiasnReference.code == code)
        if entry is not None:
            clash = clash.where(SiasnReference.id != entry.id)
        if db.session.scalar(clash):
            errors["code"] = _l("This id is already in the list.")
    if errors:
        raise ValidationFailed(errors)
    if entry is None:
        entry = SiasnReference(kind=kind)
        db.session.add(entry)
    entry.code, entry.name, entry.is_active = code, name, is_active
    entry.kursus_kind = (kursus_kind or None) if kind == "jenis_diklat" else None
    db.session.flush()
    audit("siasn_reference.save", entry, actor=actor, summary=f"{kind} {code} {name}")
    return entry


def jenis_name(code: str | None) -> str:
    entry = references("jenis_diklat", active_only=False).get(code or "")
    return entry.name if entry else (code or "")


# ---------------------------------------------------------------- HR scope


def scope_roots(actor: User) -> list[OrgUnit]:
    """The units whose subtrees an HR officer looks after: those assigned to them, else their own unit."""
    if actor.has_role("admin"):
        return list(db.session.scalars(select(OrgUnit).where(OrgUnit.parent_id.is_(None)).order_by(OrgUnit.name)))
    if not actor.has_role("hr"):
        return []
    assigned = list(db.session.scalars(select(OrgUnit).join(HrScope, HrScope.unit_id == OrgUnit.id)
                                       .where(HrScope.user_id == actor.id).order_by(OrgUnit.name)))
    if assigned:
        return assigned
    return [actor.unit] if actor.unit is not None else []


def scope_unit_ids(actor: User) -> set[int] | None:
    """Ids of the units an actor may see people of; None means every unit (administrators)."""
    if actor.has_role("admin"):
        return None
    cache_key = ("records.scope", actor.id)
    cache = g.setdefault("records_scope", {}) if has_app_context() else {}
    if cache_key not in cache:
        ids: set[int] = set()
        for root in scope_roots(actor):
            ids |= unit_subtree_ids(root.id)
        cache[cache_key] = ids
    return cache[cache_key]


def in_scope(actor: User, user: User) -> bool:
    scope = scope_unit_ids(actor)
    return scope is None or (user.unit_id is not None and user.unit_id in scope)


def unit_in_scope(actor: User, unit: OrgUnit) -> bool:
    scope = scope_unit_ids(actor)
    return scope is None or unit.id in scope


def can_view_records(actor, user: User) -> bool:
    """The person themselves, HR for people in their units, administrators."""
    if not getattr(actor, "is_authenticated", False):
        return False
    if actor.id == user.id or actor.has_role("admin"):
        return True
    return actor.has_role("hr") and in_scope(actor, user)


def can_decide(actor, record: ExternalRecord) -> bool:
    """HR of the employee's units (or an administrator) decides; nobody decides on their own training."""
    if not getattr(actor, "is_authenticated", False) or actor.id == record.user_id:
        return False
    return actor.has_role("admin") or (actor.has_role("hr") and in_scope(actor, record.user))


def set_hr_scopes(user: User, unit_ids: Iterable[int], *, actor: User) -> None:
    """Replace the units an HR officer looks after (none: their own unit)."""
    wanted = {int(i) for i in unit_ids}
    known = set(db.session.scalars(select(OrgUnit.id).where(OrgUnit.id.in_(wanted)))) if wanted else set()
    if wanted - known:
        raise ValidationFailed({"units": _l("This choice does not exist.")})
    for row in db.session.scalars(select(HrScope).where(HrScope.user_id == user.id)).all():
        db.session.delete(row)
    db.session.flush()
    for unit_id in sorted(wanted):
        db.session.add(HrScope(user_id=user.id, unit_id=unit_id))
    db.session.flush()
    audit("hr_scope.set", user, actor=actor, summary=user.email, units=sorted(wanted))


# ---------------------------------------------------------------- external records


RECORD_FIELDS = ("title", "organiser", "place", "jalur", "jenis_diklat", "latihan_struktural", "competency_kind",
                 "certificate_number", "start_date", "end_date", "jp")


def check_external(data: Mapping[str, Any], *, user: User) -> dict:
    """Clean values of a submission, or ValidationFailed with a reason per field."""
    clean = {key: (data.get(key).strip() if isinstance(data.get(key), str) else data.get(key))
             for key in RECORD_FIELDS}
    errors: dict[str, Any] = {}
    for key, limit in (("title", 300), ("organiser", 200)):
        if not clean[key]:
            errors[key] = _l("This field is required.")
        elif len(clean[key]) > limit:
            errors[key] = _l("At most %(n)s characters.", n=limit)
    for key, limit in (("place", 150), ("certificate_number", 120)):
        clean[key] = clean[key] or ""
        if len(clean[key]) > limit:
            errors[key] = _l("At most %(n)s characters.", n=limit)
    if clean["jalur"] not in RECORD_JALUR:
        errors["jalur"] = _l("Choose a route (jalur).")
    if clean["competency_kind"] not in COMPETENCY_KINDS:
        errors["competency_kind"] = _l("Choose a competency kind.")
    if clean["jenis_diklat"] not in references("jenis_diklat"):
        errors["jenis_diklat"] = _l("Choose a kind of training (jenis diklat).")
    if clean["jenis_diklat"] == STRUKTURAL:
        if clean["latihan_struktural"] not in references("latihan_struktural"):
            errors["latihan_struktural"] = _l("Leadership training needs its level (latihan struktural).")
    else:
        clean["latihan_struktural"] = None
    start, end = clean["start_date"], clean["end_date"]
    today = dt.datetime.now(WIB).date()
    if not isinstance(start, dt.date):
        errors["start_date"] = _l("Give the first day of the training.")
    if not isinstance(end, dt.date):
        errors["end_date"] = _l("Give the last day of the training.")
    if isinstance(start, dt.date) and isinstance(end, dt.date):
        if end < start:
            errors["end_date"] = _l("The training cannot end before it starts.")
        elif end > today:
            errors["end_date"] = _l("Training is recorded once it has ended.")
        elif start.year < 1970:
            errors["start_date"] = _l("This date is too far in the past.")
    jp = clean["jp"]
    if isinstance(jp, str):
        jp = int(jp) if jp.isdigit() else None
    if not isinstance(jp, int) or isinstance(jp, bool) or not 1 <= jp <= MAX_RECORD_JP:
        errors["jp"] = _l("JP is a whole number from 1 to %(max)s.", max=MAX_RECORD_JP)
    clean["jp"] = jp
    if not errors and clean["certificate_number"]:
        duplicate = db.session.scalar(select(ExternalRecord.id).where(
            ExternalRecord.user_id == user.id, ExternalRecord.certificate_number == clean["certificate_number"],
            ExternalRecord.state != "ditolak"))
        if duplicate:
            errors["certificate_number"] = _l("You have already submitted a certificate with this number.")
    if errors:
        raise ValidationFailed(errors)
    return clean


def store_certificate_file(stream, file_name: str) -> dict:
    """Keep an uploaded certificate after checking what it is by its first bytes: PDF, PNG or JPEG."""
    head = stream.read(64)
    stream.seek(0)
    mime = sniff(head)
    if mime not in ALLOWED_FILE_TYPES:
        raise ValidationFailed({"file": _l("The certificate must be a PDF, PNG or JPEG file.")})
    try:
        digest, size = store().put(stream, max_bytes=MAX_FILE_BYTES)
    except TooLarge:
        raise ValidationFailed({"file": _l("The file is larger than %(n)s MB.",
                                           n=MAX_FILE_BYTES // (1024 * 1024))}) from None
    name = os.path.basename((file_name or "").replace("\\", "/")).strip() or f"sertifikat.{ALLOWED_FILE_TYPES[mime]}"
    return {"file_sha256": digest, "file_size": size, "file_type": mime, "file_name": name[-255:]}


def submit_external(user: User, *, data: Mapping[str, Any], stream, file_name: str) -> ExternalRecord:
    """An employee submits training done elsewhere, with its certificate file; HR decides later."""
    errors: dict[str, Any] = {}
    try:
        clean = check_external(data, user=user)
    except ValidationFailed as exc:
        errors.update(exc.errors)
        clean = {}
    if stream is None:
        errors["file"] = _l("Attach the certificate (PDF, PNG or JPEG).")
    if errors:
        raise ValidationFailed(errors)
    stored = store_certificate_file(stream, file_name)
    record = ExternalRecord(user_id=user.id, state="diajukan", **clean, **stored)
    db.session.add(record)
    db.session.flush()
    audit("record.submit", record, actor=user, summary=f"{record.title} ({record.jp} JP)")
    return record


def _lock(record: ExternalRecord) -> None:
    # Of two officers deciding at once, the second sees the first one's decision.
    db.session.refresh(record, with_for_update=True)
    if record.state != "diajukan":
        raise RecordClosed(_l("This record has already been decided: %(state)s.",
                              state=STATE_LABELS[record.state]))


def verify(record: ExternalRecord, *, actor: User) -> ExternalRecord:
    """HR accepts the record: from now on its JP count."""
    _lock(record)
    record.state, record.decided_at, record.decided_by_id = "diverifikasi", aware_utcnow(), actor.id
    db.session.flush()
    audit("record.verify", record, actor=actor, summary=f"{record.user.email}: {record.title} ({record.jp} JP)")
    from certificates.records import siasn

    siasn.queue_push("external", record.id)
    return record


def reject(record: ExternalRecord, *, reason: str, actor: User) -> ExternalRecord:
    """HR refuses the record, saying why (the employee reads the reason)."""
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise ValidationFailed({"reason": _l("Say why the record is rejected (at least 5 characters).")})
    _lock(record)
    record.state, record.decided_at, record.decided_by_id = "ditolak", aware_utcnow(), actor.id
    record.reject_reason = reason[:500]
    db.session.flush()
    audit("record.reject", record, actor=actor, summary=f"{record.user.email}: {record.title}", reason=reason)
    return record


def withdraw(record: ExternalRecord, *, actor: User) -> None:
    """The employee takes back a submission HR has not decided yet."""
    _lock(record)
    audit("record.withdraw", record, actor=actor, summary=record.title)
    db.session.delete(record)
    db.session.flush()


def queue_statement(actor: User) -> Select:
    """Submissions waiting for a decision in the actor's units, oldest first."""
    stmt = (select(ExternalRecord).join(User, User.id == ExternalRecord.user_id)
            .where(ExternalRecord.state == "diajukan", ExternalRecord.user_id != actor.id)
            .order_by(ExternalRecord.submitted_at, ExternalRecord.id))
    scope = scope_unit_ids(actor)
    if scope is not None:
        stmt = stmt.where(User.unit_id.in_(scope or [-1]))
    return stmt


# ---------------------------------------------------------------- one person's records and ledger


@dataclass
class Entry:
    """One line of a training history: a certificate or an external record, as plain values."""

    kind: str  # certificate | external
    id: int
    title: str
    organiser: str
    number: str
    start: dt.date | None
    end: dt.date | None
    year: int
    jp: int
    jalur: str
    competency_kind: str
    jenis_diklat: str
    latihan_struktural: str | None
    status: str
    counts: bool
    code: str | None = None
    verify_url: str | None = None
    pdf_sha256: str | None = None
    file_sha256: str | None = None
    place: str = ""
    competencies: list = field(default_factory=list)
    decided_at: dt.datetime | None = None
    reject_reason: str | None = None

    def as_json(self) -> dict:
        return {"kind": self.kind, "id": self.id, "title": self.title, "organiser": self.organiser,
                "number": self.number or None, "start": self.start.isoformat() if self.start else None,
                "end": self.end.isoformat() if self.end else None, "year": self.year, "jp": self.jp,
                "jalur": self.jalur, "competency_kind": self.competency_kind, "jenis_diklat": self.jenis_diklat,
                "status": self.status, "counts": self.counts, "verify_url": self.verify_url}


def _iso(value) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def certificate_counts(certificate: Certificate) -> bool:
    if certificate.revoked_at is not None:
        return False
    newer = certificate.superseded_by
    return newer is None or newer.reissue_of_id != certificate.id


def certificate_entry(certificate: Certificate) -> Entry:
    snap = certificate.snapshot
    course = certificate.course
    completed = certificate.enrolment.completed_at or certificate.issued_at
    return Entry(
        kind="certificate", id=certificate.id, title=snap["course"]["title"], organiser=snap["issuer"]["name"],
        number=certificate.number, start=_iso(snap["course"].get("start")), end=_iso(snap["course"].get("end")),
        year=wib_year(completed), jp=certificate.jp, jalur=course.jalur, competency_kind=course.competency_kind,
        jenis_diklat=course.jenis_diklat, latihan_struktural=None, status=certificate.status(),
        counts=certificate_counts(certificate), code=certificate.code, verify_url=snap.get("verify_url"),
        pdf_sha256=certificate.pdf_sha256, place=snap["course"].get("place") or "",
        competencies=snap["course"].get("competencies") or [])


def external_entry(record: ExternalRecord) -> Entry:
    return Entry(
        kind="external", id=record.id, title=record.title, organiser=record.organiser,
        number=record.certificate_number, start=record.start_date, end=record.end_date, year=record.year,
        jp=record.jp, jalur=record.jalur, competency_kind=record.competency_kind, jenis_diklat=record.jenis_diklat,
        latihan_struktural=record.latihan_struktural, status=record.state, counts=record.counts,
        file_sha256=record.file_sha256, place=record.place, decided_at=record.decided_at,
        reject_reason=record.reject_reason)


def entries_of(user: User, *, year: int | None = None, verified_only: bool = False,
               until: dt.date | None = None) -> list[Entry]:
    """The person's training history, newest first: every certificate (with its status) and their external
    records (only verified ones with ``verified_only``)."""
    certificates = db.session.scalars(
        select(Certificate).where(Certificate.user_id == user.id)
        .options(db.joinedload(Certificate.course), db.joinedload(Certificate.enrolment),
                 db.joinedload(Certificate.superseded_by))).unique().all()
    stmt = select(ExternalRecord).where(ExternalRecord.user_id == user.id)
    if verified_only:
        stmt = stmt.where(ExternalRecord.state == "diverifikasi")
    entries = [certificate_entry(c) for c in certificates] + [external_entry(r) for r in db.session.scalars(stmt)]
    if year is not None:
        entries = [e for e in entries if e.year == year]
    if until is not None:
        entries = [e for e in entries if (e.end or dt.date.min) < until]
    return sorted(entries, key=lambda e: (e.end or dt.date.min, e.id), reverse=True)


@dataclass
class Ledger:
    """One person's JP in one year, against the 20-JP target (PNS) or the 24-JP cap (PPPK)."""

    year: int
    employee_type: str | None
    total: int
    by_jalur: dict[str, int]
    by_kind: dict[str, int]
    target: int | None
    cap: int | None

    @property
    def reached(self) -> bool | None:
        return None if self.target is None else self.total >= self.target

    @property
    def remaining(self) -> int:
        return max(0, (self.target or 0) - self.total)

    @property
    def counted(self) -> int:
        """What the year's JP amount to: a PPPK's JP above the cap are not counted."""
        return min(self.total, self.cap) if self.cap is not None else self.total

    @property
    def over_cap(self) -> int:
        return max(0, self.total - self.cap) if self.cap is not None else 0

    def as_json(self) -> dict:
        return {"year": self.year, "total": self.total, "counted": self.counted, "target": self.target,
                "cap": self.cap, "reached": self.reached, "by_jalur": self.by_jalur,
                "by_competency_kind": self.by_kind}


def ledger_from(entries: Iterable[Entry], year: int, employee_type: str | None) -> Ledger:
    by_jalur = dict.fromkeys(LEDGER_JALUR, 0)
    by_kind = dict.fromkeys(COMPETENCY_KINDS, 0)
    total = 0
    for entry in entries:
        if entry.counts and entry.year == year:
            total += entry.jp
            by_jalur[entry.jalur] = by_jalur.get(entry.jalur, 0) + entry.jp
            by_kind[entry.competency_kind] = by_kind.get(entry.competency_kind, 0) + entry.jp
    target = jp_target() if employee_type in target_types() else None
    cap = pppk_cap() if employee_type == "PPPK" else None
    return Ledger(year, employee_type, total, by_jalur, by_kind, target, cap)


def ledger(user: User, year: int, entries: list[Entry] | None = None) -> Ledger:
    return ledger_from(entries if entries is not None else entries_of(user, year=year), year, user.employee_type)


def ledger_years(user: User, entries: list[Entry], *, last: int = 5, upto: int | None = None) -> list[Ledger]:
    """The person's ledger for the last few years (the current one first)."""
    upto = upto or this_year()
    return [ledger_from(entries, year, user.employee_type) for year in range(upto, upto - last, -1)]


def competencies_developed(entries: Iterable[Entry]) -> list[dict]:
    """Competencies of counting certificates, each with the highest level reached and when."""
    best: dict[str, dict] = {}
    for entry in entries:
        if not entry.counts:
            continue
        for comp in entry.competencies:
            known = best.get(comp["code"])
            if known is None or (comp.get("level") or 0) > known["level"]:
                best[comp["code"]] = {"code": comp["code"], "name": comp.get("name") or comp["code"],
                                      "level": comp.get("level") or 0, "year": entry.year}
    return sorted(best.values(), key=lambda c: c["code"])


def home_jp(user: User, year: int) -> dict:
    """The learner's home-page figure: JP this year, against the target (or the PPPK cap)."""
    from flask import url_for

    current = ledger(user, year)
    return {"jp": current.total, "target": current.target or current.cap or jp_target(), "cap": current.cap,
            "link": url_for("records.mine")}


# ---------------------------------------------------------------- the same rule in SQL, for many people


def counting_certificates(start: dt.datetime | None = None, end: dt.datetime | None = None) -> Select:
    """user_id, jp, jalur, competency_kind, jenis_diklat, at of every certificate that counts."""
    cert = Certificate.__table__
    newer = cert.alias("newer")
    enrolment = Enrolment.__table__
    course = Course.__table__
    when = func.coalesce(enrolment.c.completed_at, cert.c.issued_at)
    # Replaced by a correction: looked up (by primary key) only for the few certificates that were replaced.
    corrected = select(newer.c.id).where(newer.c.id == cert.c.superseded_by_id,
                                         newer.c.reissue_of_id == cert.c.id).exists()
    stmt = (select(cert.c.user_id, cert.c.jp, course.c.jalur, course.c.competency_kind)
            .select_from(cert.join(enrolment, enrolment.c.id == cert.c.enrolment_id)
                         .join(course, course.c.id == cert.c.course_id))
            .where(cert.c.revoked_at.is_(None), or_(cert.c.superseded_by_id.is_(None), ~corrected)))
    if start is not None:
        stmt = stmt.where(when >= start, when < end)
    return stmt


def counting_externals(year: int | None = None) -> Select:
    record = ExternalRecord.__table__
    stmt = select(record.c.user_id, record.c.jp, record.c.jalur, record.c.competency_kind) \
        .where(record.c.state == "diverifikasi")
    if year is not None:
        stmt = stmt.where(record.c.end_date >= dt.date(year, 1, 1), record.c.end_date < dt.date(year + 1, 1, 1))
    return stmt


def totals_subquery(year: int, users: Select | None = None, *, name: str = "jp_totals"):
    """Per person with JP in ``year``: ``user_id``, ``total`` and a column per competency kind and jalur.
    ``users`` (a select of user ids) narrows it to the people a report is about."""
    start, end = year_bounds(year)
    certs, externals = counting_certificates(start, end), counting_externals(year)
    if users is not None:
        certs = certs.where(Certificate.__table__.c.user_id.in_(users))
        externals = externals.where(ExternalRecord.__table__.c.user_id.in_(users))
    both = union_all(certs, externals).subquery("jp_entries")
    columns = [func.sum(both.c.jp).label("total")]
    columns += [func.sum(case((both.c.competency_kind == kind, both.c.jp), else_=0)).label(f"jp_{kind}")
                for kind in COMPETENCY_KINDS]
    columns += [func.sum(case((both.c.jalur == jalur, both.c.jp), else_=0)).label(f"jp_{jalur}")
                for jalur in LEDGER_JALUR]
    return select(both.c.user_id, *columns).group_by(both.c.user_id).subquery(name)


def read_everything() -> None:
    """Before streaming a whole report: PostgreSQL plans a server-side cursor for a fast first row unless told
    that every row will be read (cursor_tuple_fraction), which picks nested loops over whole tables; and its
    JIT compiles the many cheap row expressions for longer than they take to run (measured: 4.8 s → 3.7 s)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL cursor_tuple_fraction = 1.0"))
        db.session.execute(text("SET LOCAL jit = off"))


# ---------------------------------------------------------------- compliance


@dataclass
class Filters:
    """Who a compliance view is about, besides the unit: employee type, golongan, jabatan type."""

    employee_type: str | None = None
    golongan: str | None = None
    jabatan_type: str | None = None

    def apply(self, stmt: Select) -> Select:
        if self.employee_type:
            stmt = stmt.where(User.employee_type == self.employee_type)
        if self.golongan:
            stmt = stmt.where(User.golongan == self.golongan)
        if self.jabatan_type:
            stmt = stmt.where(User.jabatan_type == self.jabatan_type)
        return stmt

    def as_args(self) -> dict:
        return {key: value for key, value in (("jenis", self.employee_type), ("golongan", self.golongan),
                                              ("jabatan", self.jabatan_type)) if value}


def check_filters(employee_type: str | None, golongan: str | None, jabatan_type: str | None) -> Filters:
    """Unknown filter values are dropped (a hand-edited URL shows everyone rather than an error)."""
    from lms.models import PANGKAT, PPPK_GOLONGAN

    return Filters(employee_type if employee_type in EMPLOYEE_TYPES else None,
                   golongan if golongan in PANGKAT or golongan in PPPK_GOLONGAN else None,
                   jabatan_type if jabatan_type in JABATAN_TYPES else None)


@dataclass
class UnitCompliance:
    unit: OrgUnit | None  # None: the people attached directly to the parent unit
    label: str
    employees: int = 0  # people the 20-JP target applies to
    reached: int = 0
    pppk: int = 0
    pppk_over_cap: int = 0
    has_children: bool = False

    @property
    def behind(self) -> int:
        return self.employees - self.reached

    @property
    def rate(self) -> float | None:
        return round(100 * self.reached / self.employees, 1) if self.employees else None

    def as_json(self) -> dict:
        return {"unit": {"code": self.unit.code, "name": self.unit.name} if self.unit else None,
                "label": self.label, "employees": self.employees, "reached": self.reached, "behind": self.behind,
                "rate": self.rate, "pppk": self.pppk, "pppk_over_cap": self.pppk_over_cap}


def _unit_tree() -> tuple[dict[int, OrgUnit], dict[int | None, list[OrgUnit]]]:
    units = {u.id: u for u in db.session.scalars(select(OrgUnit).order_by(OrgUnit.name))}
    children: dict[int | None, list[OrgUnit]] = {}
    for unit in units.values():
        children.setdefault(unit.parent_id, []).append(unit)
    return units, children


def compliance(year: int, *, actor: User, parent: OrgUnit | None = None,
               filters: Filters | None = None) -> tuple[list[UnitCompliance], UnitCompliance]:
    """Per unit (the children of ``parent``, or the actor's top units), with everything below each one:
    how many people the target applies to and how many reached it; and the total of the rows."""
    filters = filters or Filters()
    units, children = _unit_tree()
    scope = scope_unit_ids(actor)
    if parent is not None:
        row_units = [u for u in children.get(parent.id, []) if scope is None or u.id in scope]
        rows = [UnitCompliance(unit=None, label=str(_l("Directly in %(unit)s", unit=parent.name)))]
    else:
        row_units = scope_roots(actor)
        rows = []
    rows += [UnitCompliance(unit=u, label=u.name, has_children=bool(children.get(u.id))) for u in row_units]
    row_of: dict[int, UnitCompliance] = {}
    if parent is not None:
        row_of[parent.id] = rows[0]
    for row in rows:
        if row.unit is None:
            continue
        stack = [row.unit.id]
        while stack:
            unit_id = stack.pop()
            row_of[unit_id] = row
            stack.extend(child.id for child in children.get(unit_id, []))
    if scope is not None:
        row_of = {unit_id: row for unit_id, row in row_of.items() if unit_id in scope}
    people = filters.apply(select(User.id).where(User.is_active.is_(True), User.unit_id.in_(list(row_of) or [-1]),
                                                 User.employee_type.in_(EMPLOYEE_TYPES)))
    totals = totals_subquery(year, people)
    stmt = filters.apply(
        select(User.unit_id, User.employee_type, func.coalesce(totals.c.total, 0))
        .outerjoin(totals, totals.c.user_id == User.id)
        .where(User.is_active.is_(True), User.unit_id.in_(list(row_of) or [-1]),
               User.employee_type.in_(EMPLOYEE_TYPES)))
    target, cap, targeted = jp_target(), pppk_cap(), target_types()
    read_everything()
    for unit_id, employee_type, total in db.session.execute(stmt.execution_options(yield_per=5000)):
        row = row_of[unit_id]
        if employee_type in targeted:
            row.employees += 1
            row.reached += total >= target
        elif employee_type == "PPPK":
            row.pppk += 1
            row.pppk_over_cap += total > cap
    if parent is not None and rows[0].employees == 0 and rows[0].pppk == 0:
        rows = rows[1:]
    overall = UnitCompliance(unit=parent, label=parent.name if parent else str(_l("All my units")))
    for row in rows:
        overall.employees += row.employees
        overall.reached += row.reached
        overall.pppk += row.pppk
        overall.pppk_over_cap += row.pppk_over_cap
    return rows, overall


def population(*, actor: User, unit: OrgUnit | None = None, filters: Filters | None = None,
               types: tuple[str, ...] = EMPLOYEE_TYPES) -> Select:
    """Ids of the active employees of ``unit`` (with the units below it) or of the actor's units."""
    scope = scope_unit_ids(actor)
    unit_ids = unit_subtree_ids(unit.id) if unit is not None else None
    if scope is not None:
        unit_ids = scope if unit_ids is None else unit_ids & scope
    stmt = (filters or Filters()).apply(select(User.id).where(User.is_active.is_(True), User.employee_type.in_(types)))
    if unit_ids is not None:
        stmt = stmt.where(User.unit_id.in_(unit_ids or [-1]))
    return stmt


def people_statement(year: int, *, actor: User, unit: OrgUnit | None = None, filters: Filters | None = None,
                     status: str = "behind") -> tuple[Select, Any]:
    """(select of User rows ordered by their JP, the totals subquery it joins) for the people of ``unit``
    (or the actor's units): ``behind`` the target, ``reached`` it, or ``all`` (PPPK included)."""
    people = population(actor=actor, unit=unit, filters=filters,
                        types=EMPLOYEE_TYPES if status == "all" else target_types())
    totals = totals_subquery(year, people)
    total = func.coalesce(totals.c.total, 0)
    stmt = select(User).outerjoin(totals, totals.c.user_id == User.id).where(User.id.in_(people))
    if status == "behind":
        stmt = stmt.where(total < jp_target())
    elif status == "reached":
        stmt = stmt.where(total >= jp_target())
    return stmt.order_by(total, User.full_name, User.id), totals


def totals_for(user_ids: list[int], year: int) -> dict[int, int]:
    if not user_ids:
        return {}
    totals = totals_subquery(year, select(User.id).where(User.id.in_(user_ids)))
    return dict(db.session.execute(select(totals.c.user_id, totals.c.total)).tuples().all())


def assign_training(course: Course, users: list[User], *, due_on: dt.date | None, actor: User) -> list[Enrolment]:
    """Mandatory training for people behind their JP (courses' assignment: they keep any progress)."""
    from courses import services as course_services

    refused = [u for u in users if not in_scope(actor, u)]
    if refused:
        raise ValidationFailed({"users": _l("Some of these people are outside your units.")})
    enrolments = course_services.assign(course, users, due_on=due_on, actor=actor)
    audit("records.assign", course, actor=actor, summary=f"{course.code}: {len(users)}",
          users=[u.id for u in users][:2000])
    return enrolments


# ---------------------------------------------------------------- promotion periods


PROMOTION_MONTHS = (2, 4, 6, 8, 10, 12)  # kenaikan pangkat: 1 Feb, Apr, Jun, Aug, Oct, Dec


def next_period(today: dt.date | None = None) -> dt.date:
    today = today or dt.datetime.now(WIB).date()
    for year in (today.year, today.year + 1):
        for month in PROMOTION_MONTHS:
            day = dt.date(year, month, 1)
            if day >= today:
                return day
    raise AssertionError("unreachable")  # pragma: no cover


def parse_period(value: str | None) -> dt.date | None:
    """``2026-04`` → 1 April 2026; None for anything that is not a promotion period."""
    if not value:
        return None
    try:
        year, month = (int(part) for part in value.split("-", 1))
        day = dt.date(year, month, 1)
    except ValueError:
        return None
    return day if month in PROMOTION_MONTHS and 2000 <= year <= 2100 else None


def period_choices(today: dt.date | None = None, count: int = 6) -> list[dt.date]:
    first = next_period(today)
    periods = [first]
    while len(periods) < count:
        previous = periods[-1]
        month = previous.month - 2
        periods.append(dt.date(previous.year - (month < 1), month if month >= 1 else 12, 1))
    return periods
