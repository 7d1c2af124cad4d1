"""Question banks: one per course, tags, and versioned questions with their answers.

A question is identified across versions by its ``key``. Once a question has been used in an attempt
(``is_used``) its row never changes again: editing it adds a row with the same key and ``version + 1``,
so old attempts keep pointing at the exact text and key they were graded on. ``is_current`` marks the
version new quizzes draw from; the database allows one current version per key.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from courses.models import Course, _in, new_key
from lms.extensions import db
from lms.models import User, UTCDateTime, aware_utcnow

QUESTION_TYPES = ("single", "multi", "truefalse", "shortanswer", "numerical", "ordering", "matching", "essay")
# How a multiple-response question scores a partly right answer: the sum of the chosen options'
# fractions (Moodle's rule, never below zero), or full marks only for exactly the right set.
PARTIAL_CREDIT_RULES = ("fractions", "all_or_nothing")


class QuestionBank(db.Model):
    __tablename__ = "question_banks"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The owning course; a shared bank can be used by other courses of the same owners.
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), unique=True)
    is_shared: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=aware_utcnow)

    course: Mapped[Course] = relationship()
    tags: Mapped[list[Tag]] = relationship(back_populates="bank", order_by="Tag.name",
                                           cascade="all, delete-orphan")


class Tag(db.Model):
    __tablename__ = "question_tags"
    __table_args__ = (UniqueConstraint("bank_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("question_banks.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))

    bank: Mapped[QuestionBank] = relationship(back_populates="tags")


class QuestionTag(db.Model):
    __tablename__ = "question_tag_links"

    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("question_tags.id", ondelete="CASCADE"), primary_key=True,
                                        index=True)


class Question(db.Model):
    __tablename__ = "questions"
    __table_args__ = (
        UniqueConstraint("key", "version"),
        CheckConstraint(_in("type", QUESTION_TYPES), name="known_type"),
        CheckConstraint(_in("partial_credit", PARTIAL_CREDIT_RULES), name="known_partial_credit"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint("default_mark >= 0", name="mark_not_negative"),
        Index("uq_questions_one_current", "key", unique=True,
              sqlite_where=text("is_current"), postgresql_where=text("is_current")),
        Index("ix_questions_bank_current", "bank_id", "is_current"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("question_banks.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(32), default=new_key)
    version: Mapped[int] = mapped_column(default=1)
    is_current: Mapped[bool] = mapped_column(default=True)
    # Set when an attempt first shows the question; from then on the row is frozen.
    is_used: Mapped[bool] = mapped_column(default=False)
    type: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(255))
    prompt_html: Mapped[str] = mapped_column(Text, default="")  # sanitised on save
    general_feedback_html: Mapped[str] = mapped_column(Text, default="")  # sanitised on save
    default_mark: Mapped[float] = mapped_column(Float, default=1.0)
    partial_credit: Mapped[str] = mapped_column(String(16), default="fractions")  # multi only
    case_sensitive: Mapped[bool] = mapped_column(default=False)  # short answer only
    # Short answer: ``*`` in an accepted answer matches any run of characters.
    use_wildcards: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=aware_utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    bank: Mapped[QuestionBank] = relationship()
    created_by: Mapped[User | None] = relationship()
    answers: Mapped[list[Answer]] = relationship(back_populates="question", order_by="Answer.position",
                                                 cascade="all, delete-orphan")
    tags: Mapped[list[Tag]] = relationship(secondary="question_tag_links", order_by=Tag.name)

    def __repr__(self) -> str:
        return f"<Question {self.key[:8]} v{self.version} {self.type}>"


class Answer(db.Model):
    """An option (choice), an accepted answer (short answer, numerical), a pair (matching: ``text_html``
    is the item, ``match_text`` what it matches; an empty item is a distractor) or an item to put in
    order (ordering: ``position`` is the correct place)."""

    __tablename__ = "question_answers"
    __table_args__ = (
        CheckConstraint("fraction BETWEEN -1 AND 1", name="fraction_range"),
        CheckConstraint("tolerance IS NULL OR tolerance >= 0", name="tolerance_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    text_html: Mapped[str] = mapped_column(Text, default="")
    fraction: Mapped[float] = mapped_column(Float, default=0.0)
    feedback_html: Mapped[str] = mapped_column(Text, default="")
    match_text: Mapped[str | None] = mapped_column(Text)
    # Numerical: the accepted error either side of the value (Moodle and GIFT give it per answer).
    tolerance: Mapped[float | None] = mapped_column(Float)

    question: Mapped[Question] = relationship(back_populates="answers")


# ---------------------------------------------------------------- quizzes and attempts
#
# A quiz is a lesson of kind "quiz": its settings (kind, question slots, timing, review rules) live in
# ``Lesson.quiz`` so they are versioned, copied into drafts and frozen on publishing with the rest of the
# lesson. Attempts belong to an enrolment and point at the exact lesson row and question versions used.

QUIZ_KINDS = ("pre", "post", "practice", "exam")
ATTEMPT_STATES = ("in_progress", "needs_grading", "finished")
CLOSED_BY = ("learner", "deadline", "staff")


class Attempt(db.Model):
    __tablename__ = "quiz_attempts"
    __table_args__ = (
        UniqueConstraint("enrolment_id", "lesson_key", "number"),
        CheckConstraint(_in("state", ATTEMPT_STATES), name="known_state"),
        CheckConstraint(_in("quiz_kind", QUIZ_KINDS), name="known_quiz_kind"),
        CheckConstraint("closed_by IS NULL OR " + _in("closed_by", CLOSED_BY), name="known_closed_by"),
        CheckConstraint("number >= 1", name="number_positive"),
        # Start is idempotent: at most one attempt in progress per enrolment and quiz, whatever races.
        Index("uq_quiz_attempts_one_open", "enrolment_id", "lesson_key", unique=True,
              sqlite_where=text("state = 'in_progress'"), postgresql_where=text("state = 'in_progress'")),
        Index("ix_quiz_attempts_lesson_state", "lesson_key", "state"),
        Index("ix_quiz_attempts_open_deadline", "state", "deadline_at"),
        Index("ix_quiz_attempts_user", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id"), index=True)
    lesson_key: Mapped[str] = mapped_column(String(32))
    quiz_kind: Mapped[str] = mapped_column(String(10))
    number: Mapped[int] = mapped_column(default=1)
    state: Mapped[str] = mapped_column(String(16), default="in_progress")
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=aware_utcnow)
    # When the server closes the attempt: the time limit or the window's end, whichever comes first.
    deadline_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(10))
    graded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    marks: Mapped[float | None] = mapped_column(Float)
    max_marks: Mapped[float] = mapped_column(Float, default=0.0)
    score: Mapped[float | None] = mapped_column(Float)  # percent, 0–100, two decimals
    passed: Mapped[bool | None]

    user: Mapped[User] = relationship()
    items: Mapped[list[AttemptItem]] = relationship(back_populates="attempt", order_by="AttemptItem.position",
                                                    cascade="all, delete-orphan")

    @property
    def is_open(self) -> bool:
        return self.state == "in_progress"


class AttemptItem(db.Model):
    """One question of an attempt: the exact version drawn, how its options were laid out for this learner,
    the latest accepted answer with its sequence number, and the mark."""

    __tablename__ = "quiz_attempt_items"
    __table_args__ = (
        UniqueConstraint("attempt_id", "position"),
        CheckConstraint("max_mark >= 0", name="max_mark_not_negative"),
        Index("ix_quiz_attempt_items_question_key", "question_key"),
        Index("ix_quiz_attempt_items_ungraded", "needs_grading"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("quiz_attempts.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=0)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"), index=True)
    question_key: Mapped[str] = mapped_column(String(32))
    max_mark: Mapped[float] = mapped_column(Float, default=1.0)
    # Positions into the question's answers, in the order this learner sees them (choices, ordering,
    # matching items) and, for matching, the shuffled list of matches to pick from.
    layout: Mapped[dict] = mapped_column(JSON, default=dict)
    response: Mapped[dict | None] = mapped_column(JSON)
    # The client's sequence number of the accepted answer: a save with a number not above it is stale.
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    saved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    mark: Mapped[float | None] = mapped_column(Float)
    fraction: Mapped[float | None] = mapped_column(Float)  # mark / max_mark, for reports
    # The answer in short (chosen option positions "0,2", or the typed text) for distractor analysis.
    answer_summary: Mapped[str | None] = mapped_column(String(200))
    needs_grading: Mapped[bool] = mapped_column(default=False)
    comment: Mapped[str] = mapped_column(Text, default="")  # the grader's rubric comment
    graded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    graded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    attempt: Mapped[Attempt] = relationship(back_populates="items")
    question: Mapped[Question] = relationship()
    graded_by: Mapped[User | None] = relationship()
