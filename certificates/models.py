"""Proof: issuers with their numbering rule and signatory, print templates, and certificates.

A certificate is a database fact first: its row carries a frozen snapshot of everything it certifies,
its number and its public code. The PDF is derived from the row later (rendered, signed, stored) and
its SHA-256 recorded, so verification never has to trust a PDF.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from courses.models import Course, Enrolment
from lms.extensions import db
from lms.models import OrgUnit, User, UTCDateTime, aware_utcnow

DEFAULT_NUMBER_TEMPLATE = "893.3/{seq:05d}/{issuer}/{program}/{month_roman}/{year}"


class CertificateTemplate(db.Model):
    """An HTML/CSS print template (Jinja, rendered in a sandbox from a certificate's snapshot)."""

    __tablename__ = "certificate_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    html: Mapped[str] = mapped_column(Text)
    css: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=aware_utcnow, onupdate=aware_utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Issuer(db.Model):
    """Who issues certificates (e.g. a BPSDM): its numbering rule, its signatory and its template."""

    __tablename__ = "issuers"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)  # {issuer} in numbers, e.g. BPSDM
    name: Mapped[str] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(100), default="")
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id", ondelete="SET NULL"))
    number_template: Mapped[str] = mapped_column(String(200), default=DEFAULT_NUMBER_TEMPLATE)
    signatory_name: Mapped[str] = mapped_column(String(150), default="")
    signatory_nip: Mapped[str] = mapped_column(String(18), default="")
    signatory_title: Mapped[str] = mapped_column(String(200), default="")
    signatory_nik: Mapped[str] = mapped_column(String(16), default="")  # BSrE identifies signers by NIK
    logo_sha256: Mapped[str | None] = mapped_column(String(64))
    template_id: Mapped[int | None] = mapped_column(ForeignKey("certificate_templates.id", ondelete="SET NULL"))
    is_default: Mapped[bool] = mapped_column(default=False)

    unit: Mapped[OrgUnit | None] = relationship()
    template: Mapped[CertificateTemplate | None] = relationship()


class NumberCounter(db.Model):
    """The last sequence number used per issuer and year; its row lock makes numbers gap-free."""

    __tablename__ = "certificate_counters"

    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuers.id", ondelete="CASCADE"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(default=0)


class Certificate(db.Model):
    __tablename__ = "certificates"
    __table_args__ = (
        # One certificate per enrolment cycle: a renewal is a new enrolment cycle, a correction
        # supersedes through reissue_of (which keeps its own enrolment).
        Index("uq_certificates_enrolment_original", "enrolment_id", unique=True,
              sqlite_where=db.text("reissue_of_id IS NULL"), postgresql_where=db.text("reissue_of_id IS NULL")),
        UniqueConstraint("issuer_id", "year", "seq"),
        UniqueConstraint("number"),
        UniqueConstraint("code"),
        CheckConstraint("seq > 0", name="seq_positive"),
        Index("ix_certificates_user_issued", "user_id", "issued_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id", ondelete="RESTRICT"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="RESTRICT"), index=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuers.id", ondelete="RESTRICT"))
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(120))
    code: Mapped[str] = mapped_column(String(40))
    snapshot: Mapped[dict] = mapped_column(JSON)
    jp: Mapped[int] = mapped_column(default=0)
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=aware_utcnow)
    valid_until: Mapped[dt.date | None] = mapped_column(Date)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    issue_reason: Mapped[str] = mapped_column(String(500), default="")
    reissue_of_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id", ondelete="SET NULL"))
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id", ondelete="SET NULL"))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(String(500))
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    pdf_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    pdf_size: Mapped[int | None]
    rendered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    render_error: Mapped[str | None] = mapped_column(String(500))
    render_attempts: Mapped[int] = mapped_column(default=0)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    course: Mapped[Course] = relationship()
    enrolment: Mapped[Enrolment] = relationship()
    issuer: Mapped[Issuer] = relationship()
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id])
    superseded_by: Mapped[Certificate | None] = relationship(foreign_keys=[superseded_by_id], remote_side=[id])

    def status(self, today: dt.date | None = None) -> str:
        """revoked, superseded, expired or valid — in that order of precedence."""
        if self.revoked_at is not None:
            return "revoked"
        if self.superseded_by_id is not None:
            return "superseded"
        if self.valid_until is not None and self.valid_until < (today or dt.date.today()):
            return "expired"
        return "valid"

    @property
    def is_ready(self) -> bool:
        return self.pdf_sha256 is not None
