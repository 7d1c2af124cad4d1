"""Question banks: one per course, tags, and versioned questions with their answers.

A question is identified across versions by its ``key``. Once a question has been used in an attempt
(``is_used``) its row never changes again: editing it adds a row with the same key and ``version + 1``,
so old attempts keep pointing at the exact text and key they were graded on. ``is_current`` marks the
version new quizzes draw from; the database allows one current version per key.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, String, Text, UniqueConstraint, text
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
