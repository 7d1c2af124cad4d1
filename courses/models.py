"""Learning: categories, courses, their versions with modules and lessons, enrolments and progress.

A course's content lives in versions. A published version never changes; editing opens a draft that is
a copy. Lessons carry a ``key`` that stays the same from one version to the next, so a learner moved
to a newer version keeps the progress of every lesson whose content did not change.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.extensions import db
from lms.models import Institution, User, UTCDateTime, aware_utcnow

COMPETENCY_KINDS = ("teknis", "manajerial", "sosial_kultural")
JALUR = ("klasikal", "nonklasikal", "blended")
LANGUAGES = ("id", "en")
# PermenPANRB 38/2017: the managerial and socio-cultural competency dictionary.
MANAGERIAL_COMPETENCIES = {
    "M.01": "Integritas", "M.02": "Kerja Sama", "M.03": "Komunikasi", "M.04": "Orientasi pada Hasil",
    "M.05": "Pelayanan Publik", "M.06": "Pengembangan Diri dan Orang Lain", "M.07": "Mengelola Perubahan",
    "M.08": "Pengambilan Keputusan", "SK.01": "Perekat Bangsa",
}
# SIASN jenisDiklatId (DOMAIN.md); newer lists add more, so courses store the id as given.
JENIS_DIKLAT = {
    "1": "Struktural", "2": "Fungsional", "3": "Teknis", "4": "Workshop", "5": "Manajerial",
    "6": "Sosial Kultural", "7": "Sosialisasi", "8": "Bimbingan Teknis", "9": "Seminar", "10": "Magang",
}
VERSION_STATES = ("draft", "published", "archived")
# Where a draft stands in the co-authoring review (courses.authoring); published versions keep their last.
REVIEW_STATES = ("draft", "submitted", "changes_requested", "approved")
LESSON_KINDS = ("text", "pdf", "video", "file", "scorm", "link", "quiz")
COMPLETION_RULES = ("viewed", "min_time", "score", "package")
ENROLMENT_SOURCES = ("self", "assigned")
ENROLMENT_STATES = ("active", "completed", "withdrawn")
PROGRESS_STATES = ("not_started", "in_progress", "done")


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Category(db.Model):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    position: Mapped[int] = mapped_column(default=0)
    is_active: Mapped[bool] = mapped_column(default=True)


class CourseOwner(db.Model):
    __tablename__ = "course_owners"

    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)


class CourseInstitution(db.Model):
    __tablename__ = "course_institutions"

    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True)
    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), primary_key=True)


class CourseCompetency(db.Model):
    __tablename__ = "course_competencies"
    __table_args__ = (CheckConstraint("level BETWEEN 1 AND 5", name="level_range"),)

    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True)
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    level: Mapped[int] = mapped_column(Integer)

    @property
    def name(self) -> str:
        return MANAGERIAL_COMPETENCIES.get(self.code, self.code)


class Prerequisite(db.Model):
    __tablename__ = "course_prerequisites"
    __table_args__ = (CheckConstraint("course_id <> required_id", name="not_self"),)

    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True)
    required_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True)


class Course(db.Model):
    __tablename__ = "courses"
    __table_args__ = (
        CheckConstraint("jp >= 0", name="jp_not_negative"),
        CheckConstraint(_in("competency_kind", COMPETENCY_KINDS), name="known_competency_kind"),
        CheckConstraint(_in("jalur", JALUR), name="known_jalur"),
        CheckConstraint("validity_years IS NULL OR validity_years > 0", name="validity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(30), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    cover_sha256: Mapped[str | None] = mapped_column(String(64))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id", ondelete="SET NULL"), index=True)
    competency_kind: Mapped[str] = mapped_column(String(20), default="teknis")
    jp: Mapped[int] = mapped_column(default=0)
    jalur: Mapped[str] = mapped_column(String(20), default="nonklasikal")
    jenis_diklat: Mapped[str] = mapped_column(String(10), default="3")
    language: Mapped[str] = mapped_column(String(5), default="id")
    validity_years: Mapped[int | None]
    # Open courses are visible to everyone signed in and allow self-enrolment.
    is_open: Mapped[bool] = mapped_column(default=True)
    published_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("course_versions.id", ondelete="SET NULL", use_alter=True), index=True)
    # Lower-cased title, summary and lesson titles of the published version, for catalog search.
    search_text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=aware_utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=aware_utcnow, onupdate=aware_utcnow)

    category: Mapped[Category | None] = relationship()
    owners: Mapped[list[User]] = relationship(secondary="course_owners", order_by=User.full_name)
    institutions: Mapped[list[Institution]] = relationship(secondary="course_institutions",
                                                           order_by=Institution.name)
    competencies: Mapped[list[CourseCompetency]] = relationship(cascade="all, delete-orphan",
                                                                order_by=CourseCompetency.code)
    versions: Mapped[list[CourseVersion]] = relationship(
        back_populates="course", foreign_keys="CourseVersion.course_id", order_by="CourseVersion.id",
        cascade="all, delete-orphan")
    published_version: Mapped[CourseVersion | None] = relationship(foreign_keys=[published_version_id],
                                                                   post_update=True)
    prerequisites: Mapped[list[Course]] = relationship(
        secondary="course_prerequisites", primaryjoin="Course.id == Prerequisite.course_id",
        secondaryjoin="Course.id == Prerequisite.required_id", order_by="Course.code")

    @property
    def minutes(self) -> int:
        return self.jp * 45

    @property
    def draft(self) -> CourseVersion | None:
        return next((v for v in self.versions if v.state == "draft"), None)

    def __repr__(self) -> str:
        return f"<Course {self.code}>"


class CourseVersion(db.Model):
    __tablename__ = "course_versions"
    __table_args__ = (
        UniqueConstraint("course_id", "number"),
        CheckConstraint(_in("state", VERSION_STATES), name="known_state"),
        CheckConstraint("(state = 'draft') = (number IS NULL)", name="number_when_published"),
        CheckConstraint(_in("review_state", REVIEW_STATES), name="known_review_state"),
        # At most one draft per course, enforced by the database.
        Index("uq_course_versions_one_draft", "course_id", unique=True,
              sqlite_where=text("state = 'draft'"), postgresql_where=text("state = 'draft'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    number: Mapped[int | None]
    state: Mapped[str] = mapped_column(String(12), default="draft")
    review_state: Mapped[str] = mapped_column(String(20), default="draft", server_default="draft")
    objectives: Mapped[str] = mapped_column(Text, default="")
    change_summary: Mapped[str] = mapped_column(Text, default="")
    based_on_id: Mapped[int | None] = mapped_column(ForeignKey("course_versions.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=aware_utcnow)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    course: Mapped[Course] = relationship(back_populates="versions", foreign_keys=[course_id])
    modules: Mapped[list[Module]] = relationship(back_populates="version", order_by="Module.position",
                                                 cascade="all, delete-orphan")
    published_by: Mapped[User | None] = relationship()

    @property
    def is_draft(self) -> bool:
        return self.state == "draft"

    @property
    def is_locked(self) -> bool:
        """Submitted for review or approved: nobody edits it until it is reopened or published."""
        return self.review_state in ("submitted", "approved")

    @property
    def label(self) -> str:
        return f"v{self.number}" if self.number else "draft"

    def lessons(self) -> list[Lesson]:
        return [lesson for module in self.modules for lesson in module.lessons]


class Module(db.Model):
    __tablename__ = "modules"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("course_versions.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")

    version: Mapped[CourseVersion] = relationship(back_populates="modules")
    lessons: Mapped[list[Lesson]] = relationship(back_populates="module", order_by="Lesson.position",
                                                 cascade="all, delete-orphan")


def new_key() -> str:
    return uuid.uuid4().hex


class Lesson(db.Model):
    __tablename__ = "lessons"
    __table_args__ = (
        CheckConstraint(_in("kind", LESSON_KINDS), name="known_kind"),
        CheckConstraint(_in("completion_rule", COMPLETION_RULES), name="known_rule"),
        Index("ix_lessons_key", "key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("modules.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(32), default=new_key)
    position: Mapped[int] = mapped_column(default=0)
    kind: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(String(200))
    body_markdown: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")  # sanitised on save
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    file_name: Mapped[str | None] = mapped_column(String(255))
    file_type: Mapped[str | None] = mapped_column(String(100))
    file_size: Mapped[int | None]
    captions_sha256: Mapped[str | None] = mapped_column(String(64))
    url: Mapped[str | None] = mapped_column(String(1000))
    minutes: Mapped[int] = mapped_column(default=0)
    is_required: Mapped[bool] = mapped_column(Boolean, default=True)
    completion_rule: Mapped[str] = mapped_column(String(10), default="viewed")
    completion_value: Mapped[int | None]  # minutes for min_time, percent for score
    # SHA-256 over everything a learner sees; equal digests mean the lesson did not change.
    content_digest: Mapped[str] = mapped_column(String(64), default="")
    # SCORM lessons: version, title and launchable SCOs of the package (file_sha256 is the package).
    package: Mapped[dict | None] = mapped_column(JSON)
    # Quiz lessons: kind, question slots, timing and review rules (``courses.quizzes.settings``).
    quiz: Mapped[dict | None] = mapped_column(JSON)

    module: Mapped[Module] = relationship(back_populates="lessons")


class Enrolment(db.Model):
    __tablename__ = "enrolments"
    __table_args__ = (
        UniqueConstraint("user_id", "course_id", "cycle"),
        CheckConstraint(_in("source", ENROLMENT_SOURCES), name="known_source"),
        CheckConstraint(_in("state", ENROLMENT_STATES), name="known_state"),
        Index("ix_enrolments_user_state", "user_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("course_versions.id"), index=True)
    # The n-th time this person takes this course (renewals start a new cycle).
    cycle: Mapped[int] = mapped_column(default=1)
    source: Mapped[str] = mapped_column(String(10), default="self")
    state: Mapped[str] = mapped_column(String(10), default="active")
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    enrolled_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=aware_utcnow)
    last_activity_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_lesson_id: Mapped[int | None] = mapped_column(ForeignKey("lessons.id", ondelete="SET NULL"))
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    progress_percent: Mapped[int] = mapped_column(default=0)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    course: Mapped[Course] = relationship()
    version: Mapped[CourseVersion] = relationship()
    assigned_by: Mapped[User | None] = relationship(foreign_keys=[assigned_by_id])
    last_lesson: Mapped[Lesson | None] = relationship()

    @property
    def is_overdue(self) -> bool:
        return self.state == "active" and self.due_on is not None and self.due_on < dt.date.today()


class LessonProgress(db.Model):
    __tablename__ = "lesson_progress"
    __table_args__ = (
        UniqueConstraint("enrolment_id", "lesson_key"),
        CheckConstraint(_in("state", PROGRESS_STATES), name="known_state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id", ondelete="CASCADE"))
    lesson_key: Mapped[str] = mapped_column(String(32))
    lesson_id: Mapped[int | None] = mapped_column(ForeignKey("lessons.id", ondelete="SET NULL"), index=True)
    # The content the progress was earned on; a changed lesson in a newer version starts again.
    content_digest: Mapped[str] = mapped_column(String(64), default="")
    state: Mapped[str] = mapped_column(String(12), default="in_progress")
    seconds_spent: Mapped[int] = mapped_column(default=0)
    score: Mapped[int | None]
    first_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=aware_utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=aware_utcnow)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    enrolment: Mapped[Enrolment] = relationship()


class ScormState(db.Model):
    """The CMI data a SCO committed for one enrolment, as flattened ``cmi.*`` keys."""

    __tablename__ = "scorm_states"
    __table_args__ = (UniqueConstraint("enrolment_id", "lesson_key", "sco"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id", ondelete="CASCADE"))
    lesson_key: Mapped[str] = mapped_column(String(32))
    sco: Mapped[str] = mapped_column(String(200))
    cmi: Mapped[dict] = mapped_column(JSON, default=dict)
    commits: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=aware_utcnow)
