"""Training records ("riwayat diklat"): external training an employee submits and HR verifies, the SIASN
reference tables and person mapping, the SIASN outbox, and the units an HR officer looks after.

The JP ledger itself is not stored: it is read from certificates and verified external records
(DESIGN.md §3, "records and exports are read models").
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

from courses.models import COMPETENCY_KINDS
from lms.extensions import db
from lms.models import OrgUnit, User, UTCDateTime, aware_utcnow

RECORD_STATES = ("diajukan", "diverifikasi", "ditolak")
# DOMAIN.md: pendidikan (degree study) and pelatihan, either klasikal or nonklasikal.
RECORD_JALUR = ("pendidikan", "klasikal", "nonklasikal")
REFERENCE_KINDS = ("jenis_diklat", "latihan_struktural")
KURSUS_KINDS = ("F", "T", "P")
PUSH_SOURCES = ("certificate", "external")
PUSH_ENDPOINTS = ("kursus", "diklat")
PUSH_STATES = ("pending", "sending", "sent", "failed")
MAX_RECORD_JP = 2000  # a degree programme is the longest; anything above is a typing error


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class ExternalRecord(db.Model):
    """Training done elsewhere, submitted by the employee with its certificate; counts once HR verifies it."""

    __tablename__ = "external_records"
    __table_args__ = (
        CheckConstraint(_in("state", RECORD_STATES), name="known_state"),
        CheckConstraint(_in("jalur", RECORD_JALUR), name="known_jalur"),
        CheckConstraint(_in("competency_kind", COMPETENCY_KINDS), name="known_competency_kind"),
        CheckConstraint(f"jp > 0 AND jp <= {MAX_RECORD_JP}", name="jp_range"),
        CheckConstraint("end_date >= start_date", name="dates_in_order"),
        CheckConstraint("state <> 'ditolak' OR reject_reason IS NOT NULL", name="reason_when_rejected"),
        CheckConstraint("(state = 'diajukan') = (decided_at IS NULL)", name="decided_when_closed"),
        Index("ix_external_records_ledger", "user_id", "state", "end_date"),
        Index("ix_external_records_queue", "state", "submitted_at"),
        Index("ix_external_records_decided", "decided_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    title: Mapped[str] = mapped_column(String(300))
    organiser: Mapped[str] = mapped_column(String(200))
    place: Mapped[str] = mapped_column(String(150), default="")
    jalur: Mapped[str] = mapped_column(String(20))
    jenis_diklat: Mapped[str] = mapped_column(String(10))
    latihan_struktural: Mapped[str | None] = mapped_column(String(10))
    competency_kind: Mapped[str] = mapped_column(String(20), default="teknis")
    certificate_number: Mapped[str] = mapped_column(String(120), default="")
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)
    jp: Mapped[int] = mapped_column(Integer)
    file_sha256: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str] = mapped_column(String(255))
    file_type: Mapped[str] = mapped_column(String(100))
    file_size: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20), default="diajukan")
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=aware_utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reject_reason: Mapped[str | None] = mapped_column(String(500))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    @property
    def year(self) -> int:
        return self.end_date.year

    @property
    def counts(self) -> bool:
        return self.state == "diverifikasi"


class SiasnReference(db.Model):
    """An editable SIASN reference entry: a ``jenisDiklatId`` (with the ``jenisKursusSertipikat`` letter
    its courses are sent with) or a ``latihanStrukturalId``. SIASN's lists grow, so they are data."""

    __tablename__ = "siasn_references"
    __table_args__ = (
        UniqueConstraint("kind", "code"),
        CheckConstraint(_in("kind", REFERENCE_KINDS), name="known_kind"),
        CheckConstraint("kursus_kind IS NULL OR " + _in("kursus_kind", KURSUS_KINDS), name="known_kursus_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    code: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(120))
    kursus_kind: Mapped[str | None] = mapped_column(String(1))
    is_active: Mapped[bool] = mapped_column(default=True)


class SiasnPerson(db.Model):
    """A NIP's ``pnsOrangId`` in SIASN, filled by importing BKN's mapping (keyed by NIP, so it may arrive
    before the employee's account)."""

    __tablename__ = "siasn_people"

    nip: Mapped[str] = mapped_column(String(18), primary_key=True)
    pns_orang_id: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=aware_utcnow, onupdate=aware_utcnow)


class SiasnPush(db.Model):
    """The outbox: one row per record ever meant for SIASN, so a record is sent at most once."""

    __tablename__ = "siasn_pushes"
    __table_args__ = (
        UniqueConstraint("source", "source_id"),
        CheckConstraint(_in("source", PUSH_SOURCES), name="known_source"),
        CheckConstraint(_in("endpoint", PUSH_ENDPOINTS), name="known_endpoint"),
        CheckConstraint(_in("state", PUSH_STATES), name="known_state"),
        Index("ix_siasn_pushes_due", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(12))
    source_id: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    endpoint: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=aware_utcnow)
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    response_status: Mapped[int | None]
    response_text: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=aware_utcnow)

    user: Mapped[User | None] = relationship()


class HrScope(db.Model):
    """A unit (with everything below it) that an HR officer looks after, besides or instead of their own
    unit: a BKD officer usually serves the whole instansi."""

    __tablename__ = "hr_scopes"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id", ondelete="CASCADE"), primary_key=True)

    unit: Mapped[OrgUnit] = relationship()
