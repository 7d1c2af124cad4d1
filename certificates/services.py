"""Issuing, numbering, revoking and reissuing certificates. Functions flush; callers commit."""

from __future__ import annotations

import base64
import datetime as dt
import functools
import re
import secrets
import string
from collections.abc import Iterable

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite

from certificates.models import DEFAULT_NUMBER_TEMPLATE, Certificate, Issuer, NumberCounter
from courses.authoring.services import credited_authors
from courses.models import JENIS_DIKLAT, Enrolment, LessonProgress
from lms import nip as nip_rules
from lms.extensions import db
from lms.models import PANGKAT, User, aware_utcnow
from lms.services import ServiceError, ValidationFailed, audit

ROMAN_MONTHS = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")
# DOMAIN.md grade bands (a setting later): the lower bound of each predicate.
GRADE_BANDS = ((90, "Sangat Baik"), (75, "Baik"), (65, "Cukup"), (55, "Kurang"), (0, "Sangat Kurang"))
NUMBER_FIELDS = {"seq", "issuer", "program", "month_roman", "month", "year"}


STATUS_LABELS = {"valid": _l("valid"), "revoked": _l("revoked"), "expired": _l("expired"),
                 "superseded": _l("replaced")}


class NotIssuable(ServiceError):
    """The certificate cannot be issued (no issuer configured, enrolment not completed…)."""


def add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year + years, day=28)


def predicate(score: int | None) -> str | None:
    if score is None:
        return None
    return next(label for bound, label in GRADE_BANDS if score >= bound)


# ---------------------------------------------------------------- numbers and codes


def check_number_template(template: str) -> None:
    """Refuse a template that names unknown fields or lacks the sequence (numbers must be unique)."""
    try:
        fields = {name for _text, name, _spec, _conv in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise ValidationFailed({"number_template": _l("The number template is malformed: %(e)s.", e=str(exc))}) \
            from None
    unknown = fields - NUMBER_FIELDS
    if unknown:
        raise ValidationFailed({"number_template": _l("Unknown fields in the number template: %(f)s.",
                                                      f=", ".join(sorted(unknown)))})
    if "seq" not in fields:
        raise ValidationFailed({"number_template": _l("The number template must contain {seq}.")})


def format_number(template: str, *, seq: int, issuer: str, program: str, when: dt.date) -> str:
    return template.format(seq=seq, issuer=issuer, program=program, month=when.month,
                           month_roman=ROMAN_MONTHS[when.month - 1], year=when.year)


def next_seq(issuer: Issuer, year: int) -> int:
    """The next sequence number for the issuer and year, gap-free across processes.

    The counter row is created if missing, then incremented with UPDATE … RETURNING: the row lock held
    until commit makes concurrent issuers wait their turn, and a rolled-back issue gives its number back.
    """
    dialect = db.session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(NumberCounter)
    db.session.execute(insert.values(issuer_id=issuer.id, year=year, last_seq=0)
                       .on_conflict_do_nothing(index_elements=["issuer_id", "year"]))
    return db.session.execute(
        update(NumberCounter).where(NumberCounter.issuer_id == issuer.id, NumberCounter.year == year)
        .values(last_seq=NumberCounter.last_seq + 1).returning(NumberCounter.last_seq)).scalar_one()


def new_code() -> str:
    """160 random bits, base32 without padding: unguessable and unrelated to any id."""
    return base64.b32encode(secrets.token_bytes(20)).decode().lower()


CODE_RE = re.compile(r"^[a-z2-7]{32}$")


# ---------------------------------------------------------------- snapshot


def default_issuer() -> Issuer | None:
    return db.session.scalar(select(Issuer).order_by(Issuer.is_default.desc(), Issuer.id).limit(1))


def _score(enrolment: Enrolment) -> int | None:
    """The post-test score when the course has one (quiz lessons), else the best packaged score."""
    from courses.quizzes.attempts import final_score

    score = final_score(enrolment)
    if score is not None:
        return score
    quiz_keys = [lesson.key for lesson in enrolment.version.lessons() if lesson.kind == "quiz"]
    scores = db.session.execute(
        select(LessonProgress.score).where(LessonProgress.enrolment_id == enrolment.id,
                                           LessonProgress.score.is_not(None),
                                           LessonProgress.lesson_key.not_in(quiz_keys))).scalars().all()
    return max(scores) if scores else None


def build_snapshot(enrolment: Enrolment, issuer: Issuer, *, number: str, code: str, issued: dt.date,
                   valid_until: dt.date | None, score: int | None) -> dict:
    """Everything the certificate states, frozen as plain values at issue time."""
    user, course, version = enrolment.user, enrolment.course, enrolment.version
    instansi = None
    unit = user.unit
    while unit is not None:
        instansi = unit.name
        unit = unit.parent
    base_url = current_app.config["BASE_URL"]
    return {
        "number": number,
        "code": code,
        "verify_url": f"{base_url}/verify/{code}",
        "holder": {
            "name": user.display_name, "nip": user.nip, "birth_place": user.birth_place,
            "birth_date": user.birth_date.isoformat() if user.birth_date else None,
            "pangkat": PANGKAT.get(user.golongan or "") if user.golongan else None,
            "golongan": user.golongan, "jabatan": user.jabatan_name,
            "instansi": instansi, "unit": user.unit.name if user.unit else None,
        },
        "course": {
            "code": course.code, "title": course.title, "version": version.number, "jp": course.jp,
            "jalur": course.jalur, "jenis_diklat": JENIS_DIKLAT.get(course.jenis_diklat, course.jenis_diklat),
            "start": enrolment.enrolled_at.date().isoformat(),
            "end": (enrolment.completed_at or aware_utcnow()).date().isoformat(),
            "place": "daring" if course.jalur == "nonklasikal" else (issuer.city or None),
            "competencies": [{"code": c.code, "name": c.name, "level": c.level} for c in course.competencies],
            "outline": [{"title": m.title, "lessons": [{"title": lesson.title, "minutes": lesson.minutes}
                                                       for lesson in m.lessons]} for m in version.modules],
        },
        "result": {"score": score, "predicate": predicate(score)},
        "issuer": {"name": issuer.name, "short": issuer.code, "city": issuer.city, "logo": None},
        "signatory": {"name": issuer.signatory_name, "nip": issuer.signatory_nip, "title": issuer.signatory_title},
        "institutions": [i.name for i in course.institutions],
        "authors": credited_authors(course),
        "issued_at": issued.isoformat(),
        "valid_until": valid_until.isoformat() if valid_until else None,
        "signature": {"kind": "bsre" if current_app.config.get("BSRE_URL") else "local", "box": None},
    }


# ---------------------------------------------------------------- issuing


def issue(enrolment: Enrolment, *, actor: User | None = None, reason: str = "",
          reissue_of: Certificate | None = None) -> Certificate:
    """Write the certificate for a completed enrolment (idempotent per enrolment) and queue its PDF."""
    if enrolment.state != "completed":
        raise NotIssuable(_l("The course is not completed yet."))
    if reissue_of is None:
        existing = db.session.scalar(select(Certificate).where(Certificate.enrolment_id == enrolment.id,
                                                               Certificate.reissue_of_id.is_(None)))
        if existing is not None:
            return existing
    issuer = default_issuer()
    if issuer is None:
        raise NotIssuable(_l("No certificate issuer is configured; an administrator must add one."))
    today = dt.date.today()
    seq = next_seq(issuer, today.year)
    number = format_number(issuer.number_template or DEFAULT_NUMBER_TEMPLATE, seq=seq, issuer=issuer.code,
                           program=enrolment.course.code, when=today)
    code = new_code()
    course = enrolment.course
    valid_until = add_years(today, course.validity_years) if course.validity_years else None
    if reissue_of is not None:  # a correction fixes data, it does not extend the validity
        valid_until = reissue_of.valid_until
    certificate = Certificate(
        enrolment=enrolment, user_id=enrolment.user_id, course_id=enrolment.course_id, issuer=issuer,
        year=today.year, seq=seq, number=number, code=code, jp=course.jp, valid_until=valid_until,
        issued_by_id=actor.id if actor else None, issue_reason=reason, reissue_of_id=reissue_of.id if reissue_of else None,
        snapshot=build_snapshot(enrolment, issuer, number=number, code=code, issued=today,
                                valid_until=valid_until, score=_score(enrolment)))
    db.session.add(certificate)
    db.session.flush()
    # A renewal or a correction replaces earlier certificates of the same course for this person.
    earlier = db.session.scalars(select(Certificate).where(
        Certificate.user_id == enrolment.user_id, Certificate.course_id == enrolment.course_id,
        Certificate.id != certificate.id, Certificate.superseded_by_id.is_(None),
        Certificate.revoked_at.is_(None))).all()
    for old in earlier:
        old.superseded_by_id = certificate.id
    audit("certificate.issue", certificate, actor=actor, summary=f"{number} {enrolment.user.email}",
          reason=reason or None, supersedes=[c.number for c in earlier] or None)
    from certificates import jobs

    jobs.queue_render(certificate.id)
    return certificate


ISSUER_FIELDS = ("code", "name", "city", "number_template", "signatory_name", "signatory_nip", "signatory_title",
                 "signatory_nik", "template_id", "logo_sha256", "is_default")


def save_issuer(issuer: Issuer | None, *, actor: User, **fields) -> Issuer:
    check_number_template(fields.get("number_template") or "")
    code = (fields.get("code") or "").strip().upper()
    clash = select(Issuer.id).where(Issuer.code == code)
    if issuer is not None:
        clash = clash.where(Issuer.id != issuer.id)
    if db.session.scalar(clash):
        raise ValidationFailed({"code": _l("Another issuer uses this code.")})
    fields["code"] = code
    if issuer is None:
        issuer = Issuer()
        db.session.add(issuer)
    for key in ISSUER_FIELDS:
        if key in fields and not (key == "logo_sha256" and fields[key] is None):
            setattr(issuer, key, fields[key])
    db.session.flush()
    if issuer.is_default:
        db.session.execute(update(Issuer).where(Issuer.id != issuer.id).values(is_default=False))
    audit("issuer.save", issuer, actor=actor, summary=issuer.code)
    return issuer


def save_template(template, *, actor: User, name: str, html: str, css: str):
    """Keep a print template after checking that it renders with sample data."""
    from certificates import pdf
    from certificates.models import CertificateTemplate

    pdf.preview_certificate(html, css)  # raises pdf.TemplateError with a message for the author
    if template is None:
        template = CertificateTemplate()
        db.session.add(template)
    template.name, template.html, template.css = name.strip(), html, css or ""
    template.updated_by_id = actor.id
    db.session.flush()
    audit("certificate_template.save", template, actor=actor, summary=template.name)
    return template


def on_course_completed(sender, *, enrolment: Enrolment, actor: User | None = None, reason: str = "",
                        **_extra) -> None:
    """``course_completed`` listener: the certificate is written in the completion's transaction."""
    if default_issuer() is None:
        current_app.logger.warning("No issuer configured: no certificate for enrolment %s", enrolment.id)
        return
    issue(enrolment, actor=actor, reason=reason)


def revoke(certificate: Certificate, *, reason: str, actor: User | None) -> Certificate:
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise ValidationFailed({"reason": _l("Say why the certificate is revoked (at least 5 characters).")})
    if certificate.revoked_at is not None:
        return certificate
    certificate.revoked_at = aware_utcnow()
    certificate.revoked_reason = reason[:500]
    certificate.revoked_by_id = actor.id if actor else None
    db.session.flush()
    audit("certificate.revoke", certificate, actor=actor, summary=certificate.number, reason=reason)
    return certificate


def reissue(certificate: Certificate, *, reason: str, actor: User) -> Certificate:
    """A corrected certificate (fresh snapshot from the current profile); the old one is superseded."""
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise ValidationFailed({"reason": _l("Say what is corrected (at least 5 characters).")})
    # Lock and re-read the row: of two corrections submitted at once, the second sees it replaced.
    db.session.refresh(certificate, with_for_update=True)
    if certificate.revoked_at is not None:
        raise NotIssuable(_l("A revoked certificate cannot be corrected."))
    if certificate.superseded_by_id is not None:  # e.g. the correction form submitted twice
        raise NotIssuable(_l("This certificate has already been replaced; correct the newer one."))
    return issue(certificate.enrolment, actor=actor, reason=reason, reissue_of=certificate)


def for_user(user: User) -> Iterable[Certificate]:
    return db.session.scalars(select(Certificate).where(Certificate.user_id == user.id)
                              .order_by(Certificate.issued_at.desc(), Certificate.id.desc())).all()


def by_code(code: str) -> Certificate | None:
    code = (code or "").strip().lower()
    if not CODE_RE.match(code):
        return None
    return db.session.scalar(select(Certificate).where(Certificate.code == code))


def can_download(user, certificate: Certificate) -> bool:
    """The holder, and HR or admins; nobody else gets the PDF by id or code."""
    if not getattr(user, "is_authenticated", False):
        return False
    return user.id == certificate.user_id or user.has_role("hr", "admin")


def can_revoke(user) -> bool:
    return getattr(user, "is_authenticated", False) and user.has_role("hr", "admin")


def mask_nip(nip: str | None) -> str | None:
    """The one masking of NIPs used on every public page and answer (two maskings would reveal more)."""
    if not nip:
        return None
    return nip_rules.mask(nip)


def _expired(certificate: Certificate) -> bool:
    return certificate.valid_until is not None and certificate.valid_until < dt.date.today()


def public_json(certificate: Certificate | None, *, full_nip: bool = False) -> dict:
    """The certificate JSON of INTERFACES.md."""
    if certificate is None:
        return {"status": "unknown"}
    snap = certificate.snapshot
    base_url = current_app.config["BASE_URL"]
    return {
        "number": certificate.number,
        "code": certificate.code,
        # The contract knows valid, revoked and expired; a replaced certificate says what replaced it.
        "status": "valid" if certificate.status() == "superseded" and not _expired(certificate)
        else ("expired" if certificate.status() == "superseded" else certificate.status()),
        "superseded_by": certificate.superseded_by.number if certificate.superseded_by else None,
        "holder": {"name": snap["holder"]["name"],
                   "nip": snap["holder"]["nip"] if full_nip else mask_nip(snap["holder"]["nip"])},
        "course": {"code": snap["course"]["code"], "title": snap["course"]["title"], "jp": snap["course"]["jp"]},
        "issuer": snap["issuer"]["name"],
        "issued_at": certificate.issued_at.date().isoformat(),
        "valid_until": certificate.valid_until.isoformat() if certificate.valid_until else None,
        "revoked": ({"at": certificate.revoked_at.isoformat(), "reason": certificate.revoked_reason}
                    if certificate.revoked_at else None),
        "pdf_sha256": certificate.pdf_sha256,
        "verify_url": f"{base_url}/verify/{certificate.code}",
    }


# ---------------------------------------------------------------- verification of documents


def trust_roots() -> str:
    """PEM of the certificates a signed PDF must chain to: ``LMS_TRUST_PEM`` (a file) plus our signer's chain."""
    from pathlib import Path

    from certificates import signing

    pem = signing.signer_for_app(current_app).chain_pem()
    extra = current_app.config.get("TRUST_PEM")
    if extra and Path(extra).is_file():
        pem = Path(extra).read_text() + "\n" + pem
    return pem


def verify_document(data: bytes, *, full_nip: bool = False) -> dict:
    """The verdict JSON of INTERFACES.md for an uploaded PDF: signature, integrity and the register."""
    import hashlib

    from certificates import signing

    digest = hashlib.sha256(data).hexdigest()
    certificate = db.session.scalar(select(Certificate).where(Certificate.pdf_sha256 == digest))
    verdict = signing.verify_pdf(data, trust_roots())
    authentic = verdict.signature == "valid" and verdict.intact and certificate is not None
    if authentic:
        reason = str(_l("The signature is valid, the document is unchanged and it is the registered PDF of "
                        "certificate %(number)s.", number=certificate.number))
        if certificate.status() != "valid":
            reason += " " + str(_l("Its status is: %(status)s.", status=STATUS_LABELS[certificate.status()]))
    elif verdict.signature == "valid" and verdict.intact:
        reason = str(_l("The signature is valid, but this PDF is not a certificate registered in Bangkom."))
    else:
        reason = verdict.reason
    return {"authentic": authentic, "signature": verdict.signature, "registered": certificate is not None,
            "certificate": public_json(certificate, full_nip=full_nip) if certificate else None,
            "reason": reason}


BATCH_COLUMNS = ("input", "status", "number", "holder_name", "nip", "course_title", "jp", "issued_at")
BATCH_LIMIT = 5000


def verify_batch_rows(lines: Iterable[str]):
    """One row per non-empty input line (a certificate number or code), for the batch CSV."""
    for raw in lines:
        item = raw.strip().strip('"').strip()
        if not item or item.lower() in ("number", "code", "nomor", "kode"):
            continue
        certificate = by_code(item) or db.session.scalar(select(Certificate).where(Certificate.number == item))
        if certificate is None:
            yield {"input": item, "status": "unknown", "number": "", "holder_name": "", "nip": "",
                   "course_title": "", "jp": "", "issued_at": ""}
            continue
        body = public_json(certificate, full_nip=True)
        yield {"input": item, "status": body["status"], "number": certificate.number,
               "holder_name": body["holder"]["name"], "nip": body["holder"]["nip"] or "",
               "course_title": body["course"]["title"], "jp": body["course"]["jp"], "issued_at": body["issued_at"]}


@functools.cache
def _lookup_statements() -> dict[bool, object]:
    """Built once: making the self-join alias costs more than the query itself."""
    table = Certificate.__table__
    newer = table.alias("newer")
    base = (select(table.c.number, table.c.code, table.c.snapshot, table.c.issued_at, table.c.valid_until,
                   table.c.revoked_at, table.c.revoked_reason, table.c.pdf_sha256, newer.c.number.label("newer"))
            .select_from(table.outerjoin(newer, newer.c.id == table.c.superseded_by_id)))
    return {True: base.where(table.c.code == bindparam("key")), False: base.where(table.c.number == bindparam("key"))}


def public_lookup(code_or_number: str, *, full_nip: bool = False) -> dict | None:
    """The certificate JSON by code (or number) in one round trip and without building ORM objects: the
    public verification endpoint is the hottest path of all (every QR scan, every HR system)."""
    code = (code_or_number or "").strip()
    by_code_ = CODE_RE.match(code.lower()) is not None
    row = db.session.execute(_lookup_statements()[by_code_], {"key": code.lower() if by_code_ else code}).first()
    if row is None:
        return None
    snap = row.snapshot
    expired = row.valid_until is not None and row.valid_until < dt.date.today()
    return {
        "number": row.number,
        "code": row.code,
        "status": "revoked" if row.revoked_at else ("expired" if expired else "valid"),
        "superseded_by": row.newer,
        "holder": {"name": snap["holder"]["name"],
                   "nip": snap["holder"]["nip"] if full_nip else mask_nip(snap["holder"]["nip"])},
        "course": {"code": snap["course"]["code"], "title": snap["course"]["title"], "jp": snap["course"]["jp"]},
        "issuer": snap["issuer"]["name"],
        "issued_at": row.issued_at.date().isoformat(),
        "valid_until": row.valid_until.isoformat() if row.valid_until else None,
        "revoked": {"at": row.revoked_at.isoformat(), "reason": row.revoked_reason} if row.revoked_at else None,
        "pdf_sha256": row.pdf_sha256,
        "verify_url": f"{current_app.config['BASE_URL']}/verify/{row.code}",
    }
