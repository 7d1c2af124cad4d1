"""Co-authoring: course teams and their invitations, review comments, lesson revisions, the curriculum
document of a version and the team's notifications.

The owner of a course stays in ``course_owners``; a team adds co-authors (trainers or university people,
each optionally for a partner institution) and reviewers (agency staff). Where a draft stands in the review
is ``CourseVersion.review_state``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from courses.models import Course, CourseVersion, _in
from lms.extensions import db
from lms.models import Institution, User, UTCDateTime, aware_utcnow

TEAM_ROLES = ("coauthor", "reviewer")
# Programme structure of a curriculum (materi dasar / inti / penunjang).
TOPIC_PARTS = ("dasar", "inti", "penunjang")
REVISION_ACTIONS = ("original", "create", "edit", "restore")
NOTIFICATION_EVENTS = ("invited", "joined", "submit", "request_changes", "approve", "reopen", "publish")


class CourseMember(db.Model):
    """A co-author or a reviewer of a course (owners are ``Course.owners``)."""

    __tablename__ = "course_members"
    __table_args__ = (
        UniqueConstraint("course_id", "user_id"),
        CheckConstraint(_in("role", TEAM_ROLES), name="known_role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(10))
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id", ondelete="SET NULL"))
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=aware_utcnow)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    course: Mapped[Course] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    institution: Mapped[Institution | None] = relationship()


class CourseInvitation(db.Model):
    """A single-use, expiring link that puts the person with this e-mail address on a course team; only the
    SHA-256 of its secret is stored."""

    __tablename__ = "course_invitations"
    __table_args__ = (CheckConstraint(_in("role", TEAM_ROLES), name="known_role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(10))
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id", ondelete="SET NULL"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=aware_utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    course: Mapped[Course] = relationship()
    institution: Mapped[Institution | None] = relationship()
    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id])

    @property
    def is_open(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > aware_utcnow()


class ReviewComment(db.Model):
    """A remark on a version, on one of its lessons and optionally on a quoted passage of the lesson's text."""

    __tablename__ = "review_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("course_versions.id", ondelete="CASCADE"), index=True)
    # The lesson by key (stable across versions) and by row (in this version, for links).
    lesson_key: Mapped[str | None] = mapped_column(String(32))
    lesson_id: Mapped[int | None] = mapped_column(ForeignKey("lessons.id", ondelete="SET NULL"))
    quote: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text)
    # Written with a "changes requested" decision (the reviewer's summary), not as a remark on the text.
    is_decision: Mapped[bool] = mapped_column(default=False)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=aware_utcnow)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    version: Mapped[CourseVersion] = relationship()
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    resolved_by: Mapped[User | None] = relationship(foreign_keys=[resolved_by_id])


class LessonRevision(db.Model):
    """What a lesson looked like after one save. Numbered per lesson key, across versions, so that a form
    knows which revision it was based on (optimistic concurrency) and any two can be compared."""

    __tablename__ = "lesson_revisions"
    __table_args__ = (
        UniqueConstraint("lesson_key", "number"),
        CheckConstraint(_in("action", REVISION_ACTIONS), name="known_action"),
        CheckConstraint("number >= 1", name="number_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_key: Mapped[str] = mapped_column(String(32))
    number: Mapped[int]
    version_id: Mapped[int] = mapped_column(ForeignKey("course_versions.id", ondelete="CASCADE"), index=True)
    lesson_id: Mapped[int | None] = mapped_column(ForeignKey("lessons.id", ondelete="SET NULL"), index=True)
    action: Mapped[str] = mapped_column(String(10))
    restored_from: Mapped[int | None]
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=aware_utcnow)
    title: Mapped[str] = mapped_column(String(200))
    body_markdown: Mapped[str] = mapped_column(Text, default="")
    # The other fields a co-author edits (link, minutes, completion rule, file name), as plain values.
    fields: Mapped[dict] = mapped_column(JSON, default=dict)

    version: Mapped[CourseVersion] = relationship()
    author: Mapped[User | None] = relationship()


class Curriculum(db.Model):
    """The curriculum document of a course version (DOMAIN.md): competencies, objectives, programme structure
    and GBPP (the topics), evaluation and the certification rule."""

    __tablename__ = "curricula"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("course_versions.id", ondelete="CASCADE"), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    competencies: Mapped[str] = mapped_column(Text, default="")
    objectives: Mapped[str] = mapped_column(Text, default="")
    participants: Mapped[str] = mapped_column(Text, default="")
    evaluation: Mapped[str] = mapped_column(Text, default="")
    certification: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=aware_utcnow, onupdate=aware_utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    version: Mapped[CourseVersion] = relationship()
    topics: Mapped[list[CurriculumTopic]] = relationship(
        back_populates="curriculum", cascade="all, delete-orphan",
        order_by=lambda: [CurriculumTopic.position, CurriculumTopic.id])


class CurriculumTopic(db.Model):
    """One topic (mata pelatihan) of the programme structure with its hours, and its GBPP row."""

    __tablename__ = "curriculum_topics"
    __table_args__ = (
        CheckConstraint(_in("part", TOPIC_PARTS), name="known_part"),
        CheckConstraint("hours_teori >= 0 AND hours_penugasan >= 0 AND hours_praktik >= 0",
                        name="hours_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    curriculum_id: Mapped[int] = mapped_column(ForeignKey("curricula.id", ondelete="CASCADE"), index=True)
    part: Mapped[str] = mapped_column(String(10))
    position: Mapped[int] = mapped_column(default=0)
    title: Mapped[str] = mapped_column(String(200))
    # Hours in JP (jam pelajaran) of teaching, assignments and field practice.
    hours_teori: Mapped[int] = mapped_column(default=0)
    hours_penugasan: Mapped[int] = mapped_column(default=0)
    hours_praktik: Mapped[int] = mapped_column(default=0)
    objective: Mapped[str] = mapped_column(Text, default="")
    sub_topics: Mapped[str] = mapped_column(Text, default="")
    method: Mapped[str] = mapped_column(Text, default="")
    media: Mapped[str] = mapped_column(Text, default="")
    sources: Mapped[str] = mapped_column(Text, default="")

    curriculum: Mapped[Curriculum] = relationship(back_populates="topics")

    @property
    def hours(self) -> int:
        return self.hours_teori + self.hours_penugasan + self.hours_praktik


class TeamNotification(db.Model):
    """What happened on a course team, for the people concerned (shown in the app and sent by e-mail)."""

    __tablename__ = "team_notifications"
    __table_args__ = (
        CheckConstraint(_in("event", NOTIFICATION_EVENTS), name="known_event"),
        Index("ix_team_notifications_user_read", "user_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(20))
    actor_name: Mapped[str] = mapped_column(String(250), default="")
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=aware_utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    course: Mapped[Course] = relationship()
