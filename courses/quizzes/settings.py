"""A quiz's settings, kept as JSON in ``Lesson.quiz``: what kind of test it is, which questions it asks,
timing, passing score, grade bands and what learners may review when.

Slots are either a fixed question (``{"key": …, "mark": 1}``, always its current version when an attempt
starts) or a random draw (``{"tag": …, "bank_id": …, "count": N, "mark": 1}``: N distinct questions with
that tag from that bank).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l

from courses.quizzes.models import QUIZ_KINDS

# DOMAIN.md's typical bands: the lower bound of each predicate, highest first; the first three pass.
DEFAULT_BANDS: tuple[tuple[int, str], ...] = (
    (90, "Sangat Baik"), (75, "Baik"), (65, "Cukup"), (55, "Kurang"), (0, "Sangat Kurang"))
REVIEW_WHEN = ("after_attempt", "after_close", "never")
REVIEW_PARTS = ("answers", "correct", "feedback")
KIND_LABELS = {"pre": _l("Pre-test"), "post": _l("Post-test"), "practice": _l("Practice"), "exam": _l("Exam")}
REVIEW_LABELS = {"after_attempt": _l("after each attempt"), "after_close": _l("after the quiz closes"),
                 "never": _l("never")}
MAX_SLOTS = 200


@dataclass
class QuizSettings:
    kind: str = "post"
    slots: list[dict[str, Any]] = field(default_factory=list)
    shuffle_questions: bool = False
    shuffle_options: bool = True
    attempts: int = 0  # 0: unlimited
    time_limit: int | None = None  # minutes
    opens_at: str | None = None  # ISO 8601 with time zone
    closes_at: str | None = None
    pass_score: int = 65
    bands: list[list] | None = None  # None: DEFAULT_BANDS
    review: dict[str, str] = field(default_factory=lambda: {
        "answers": "after_attempt", "correct": "after_close", "feedback": "after_attempt"})

    @classmethod
    def of(cls, data: dict | None) -> QuizSettings:
        data = dict(data or {})
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        settings = cls(**known)
        settings.review = {**cls().review, **(settings.review or {})}
        return settings

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def opens(self) -> dt.datetime | None:
        return _parse_time(self.opens_at)

    @property
    def closes(self) -> dt.datetime | None:
        return _parse_time(self.closes_at)

    @property
    def counts_for_completion(self) -> bool:
        """Post-tests and exams must be passed; pre-tests and practice only taken."""
        return self.kind in ("post", "exam")

    def band(self, score: float | None) -> str | None:
        if score is None:
            return None
        for bound, label in self.bands or DEFAULT_BANDS:
            if score >= bound:
                return label
        return None

    def question_count(self) -> int:
        return sum(int(slot.get("count", 1)) if "tag" in slot else 1 for slot in self.slots)

    def may_review(self, part: str, *, closed: bool) -> bool:
        """Whether a learner may see ``part`` of a finished attempt now (``closed``: the window has ended)."""
        when = self.review.get(part, "never")
        return when == "after_attempt" or (when == "after_close" and closed)


def _parse_time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    moment = dt.datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def check_settings(data: dict[str, Any]) -> dict[str, Any]:
    """Errors by field for a quiz's settings (slots are checked against the banks by the caller)."""
    errors: dict[str, Any] = {}
    if data.get("kind") not in QUIZ_KINDS:
        errors["quiz_kind"] = _l("Choose the kind of test.")
    attempts = data.get("attempts", 0)
    if not isinstance(attempts, int) or not 0 <= attempts <= 100:
        errors["attempts"] = _l("Attempts allowed is a whole number from 0 (unlimited) to 100.")
    limit = data.get("time_limit")
    if limit is not None and (not isinstance(limit, int) or not 1 <= limit <= 600):
        errors["time_limit"] = _l("The time limit is from 1 to 600 minutes, or empty for none.")
    score = data.get("pass_score", 65)
    if not isinstance(score, int) or not 0 <= score <= 100:
        errors["pass_score"] = _l("The passing score is from 0 to 100.")
    try:
        opens, closes = _parse_time(data.get("opens_at")), _parse_time(data.get("closes_at"))
    except (TypeError, ValueError):
        errors["opens_at"] = _l("The availability window has a date that cannot be read.")
    else:
        if opens and closes and closes <= opens:
            errors["closes_at"] = _l("The quiz must close after it opens.")
    bands = data.get("bands")
    if bands is not None:
        try:
            bounds = [int(bound) for bound, label in bands if str(label).strip()]
        except (TypeError, ValueError):
            bounds = []
        if not bounds or bounds != sorted(bounds, reverse=True) or bounds[-1] != 0 or len(set(bounds)) != len(bounds):
            errors["bands"] = _l("Grade bands go from the highest lower bound down to 0, each with a label.")
    review = data.get("review") or {}
    if any(part not in REVIEW_PARTS or when not in REVIEW_WHEN for part, when in review.items()):
        errors["review"] = _l("Choose when learners may review their answers.")
    slots = data.get("slots") or []
    if len(slots) > MAX_SLOTS:
        errors["slots"] = _l("A quiz has at most %(n)s question slots.", n=MAX_SLOTS)
    for slot in slots:
        mark = slot.get("mark", 1)
        if not isinstance(mark, int | float) or not 0 < mark <= 100:
            errors["slots"] = _l("Each question's mark is more than 0 and at most 100.")
        if "tag" in slot and (not isinstance(slot.get("count"), int) or not 1 <= slot["count"] <= 100):
            errors["slots"] = _l("A random draw takes from 1 to 100 questions.")
        if "tag" not in slot and not slot.get("key"):
            errors["slots"] = _l("A question slot names its question.")
    return errors


def check_slots(course, slots: list[dict[str, Any]]) -> list[str]:
    """Problems with the questions a quiz asks: a fixed question no longer in a usable bank, a random
    draw asking for more questions than its tag holds."""
    from sqlalchemy import func, select

    from courses.quizzes.models import Question, QuestionTag, Tag
    from courses.quizzes.services import usable_banks
    from lms.extensions import db

    banks = {bank.id for bank in usable_banks(course)}
    problems: list[str] = []
    keys = [slot["key"] for slot in slots if "tag" not in slot]
    found = set(db.session.scalars(select(Question.key).where(
        Question.key.in_(keys), Question.is_current, Question.bank_id.in_(banks)))) if keys else set()
    if len(found) < len(set(keys)):
        problems.append(str(_l("%(n)s fixed questions are no longer in the course's banks.",
                               n=len(set(keys)) - len(found))))
    needed: dict[tuple[int, str], int] = {}
    for slot in slots:
        if "tag" in slot:
            needed[(slot.get("bank_id"), slot["tag"])] = needed.get((slot.get("bank_id"), slot["tag"]), 0) + slot["count"]
    for (bank_id, tag), count in needed.items():
        have = db.session.scalar(
            select(func.count()).select_from(Question).join(QuestionTag, QuestionTag.question_id == Question.id)
            .join(Tag, Tag.id == QuestionTag.tag_id)
            .where(Tag.bank_id == bank_id, Tag.name == tag, Question.is_current)) or 0
        if bank_id not in banks or have < count:
            problems.append(str(_l("The draw from “%(tag)s” needs %(n)s questions; the bank has %(have)s.",
                                   tag=tag, n=count, have=have if bank_id in banks else 0)))
    return problems


def save_quiz(lesson, data: dict[str, Any], *, actor) -> QuizSettings:
    """Replace a draft quiz lesson's settings after checking them; raises ``ValidationFailed``."""
    from courses.services import _editable
    from lms.extensions import db
    from lms.services import ValidationFailed, audit

    _editable(lesson.module.version)
    merged = {**QuizSettings.of(lesson.quiz).as_json(), **data}
    errors = check_settings(merged)
    if errors:
        raise ValidationFailed(errors)
    settings = QuizSettings.of(merged)
    lesson.quiz = settings.as_json()
    audit("quiz.settings", lesson, actor=actor, summary=lesson.title, kind=settings.kind,
          questions=settings.question_count())
    db.session.flush()
    return settings
