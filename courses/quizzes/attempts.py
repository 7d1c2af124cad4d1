"""The attempt lifecycle: start (idempotent), autosave (sequence-numbered), submit (idempotent), the
server-side deadline, grading (automatic, essays by a trainer), regrading after a key fix, and what an
attempt feeds into the course: lesson progress, the completion rule and the certificate's score.

These functions flush and never commit. Concurrency rests on the database, not on being the only
process: one attempt in progress per enrolment and quiz is a partial unique index, a save is a
conditional update (``seq`` must grow) under a shared lock on the attempt row, and closing an attempt is a
conditional update from ``in_progress`` that only one request can win.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from courses import services as course_services
from courses import signals
from courses.models import Course, CourseVersion, Enrolment, Lesson, LessonProgress, Module
from courses.quizzes import grading
from courses.quizzes.models import Attempt, AttemptItem, Question, QuestionTag, Tag
from courses.quizzes.settings import QuizSettings
from lms.extensions import db
from lms.models import User, aware_utcnow
from lms.services import ServiceError, ValidationFailed, audit, insert_unless_taken

# Answers that arrive this long after the deadline are still taken (they were sent in time on a slow
# link); the server closes the attempt once it has passed.
GRACE = dt.timedelta(seconds=30)
_rng = random.SystemRandom()


class QuizUnavailable(ServiceError):
    """The quiz cannot be started now (not open yet, closed, no attempts left, no questions)."""


def settings_of(lesson: Lesson) -> QuizSettings:
    return QuizSettings.of(lesson.quiz)


def window_closed(settings: QuizSettings, now: dt.datetime | None = None) -> bool:
    closes = settings.closes
    return closes is not None and (now or aware_utcnow()) >= closes


# ---------------------------------------------------------------- reading


def attempts_of(enrolment: Enrolment, lesson_key: str) -> list[Attempt]:
    return list(db.session.scalars(select(Attempt).where(
        Attempt.enrolment_id == enrolment.id, Attempt.lesson_key == lesson_key).order_by(Attempt.number)))


def open_attempt(enrolment: Enrolment, lesson_key: str) -> Attempt | None:
    return db.session.scalar(select(Attempt).where(
        Attempt.enrolment_id == enrolment.id, Attempt.lesson_key == lesson_key, Attempt.state == "in_progress"))


def can_view_attempt(user, attempt: Attempt) -> bool:
    """The learner who made it, the course's owners and admins."""
    if not getattr(user, "is_authenticated", False):
        return False
    if attempt.user_id == user.id:
        return True
    course = db.session.get(Course, attempt.course_id)
    return course is not None and course_services.can_manage_course(user, course)


def best_result(enrolment: Enrolment, lesson_key: str) -> tuple[float | None, bool]:
    """The best graded score of the enrolment's attempts at a quiz, and whether any passed."""
    row = db.session.execute(select(func.max(Attempt.score), func.max(Attempt.passed.cast(db.Integer))).where(
        Attempt.enrolment_id == enrolment.id, Attempt.lesson_key == lesson_key,
        Attempt.state == "finished")).one()
    return row[0], bool(row[1])


def final_score(enrolment: Enrolment) -> int | None:
    """The score a certificate prints: the best passed post-test (or exam) score; None without one."""
    keys = [lesson.key for lesson in enrolment.version.lessons()
            if lesson.kind == "quiz" and settings_of(lesson).counts_for_completion]
    if not keys:
        return None
    score = db.session.scalar(select(func.max(Attempt.score)).where(
        Attempt.enrolment_id == enrolment.id, Attempt.lesson_key.in_(keys), Attempt.state == "finished",
        Attempt.passed.is_(True)))
    return None if score is None else round(score)


# ---------------------------------------------------------------- starting


def _draw(lesson: Lesson, settings: QuizSettings, rng: random.Random) -> list[tuple[Question, float]]:
    """The questions of a new attempt with their marks: fixed slots take the current version of their
    question; random slots draw distinct questions with the tag. Raises when a slot cannot be filled."""
    fixed_keys = [slot["key"] for slot in settings.slots if "tag" not in slot]
    current = {q.key: q for q in db.session.scalars(
        select(Question).where(Question.key.in_(fixed_keys), Question.is_current)
        .options(selectinload(Question.answers)))} if fixed_keys else {}
    chosen: list[tuple[Question, float]] = []
    taken: set[str] = set(current)
    for slot in settings.slots:
        mark = float(slot.get("mark", 1))
        if "tag" not in slot:
            question = current.get(slot["key"])
            if question is None:
                raise QuizUnavailable(_l("A question of this quiz was deleted; tell the trainer."))
            chosen.append((question, mark))
            continue
        pool = [q for q in db.session.scalars(
            select(Question).join(QuestionTag, QuestionTag.question_id == Question.id)
            .join(Tag, Tag.id == QuestionTag.tag_id)
            .where(Tag.bank_id == slot.get("bank_id"), Tag.name == slot["tag"], Question.is_current)
            .options(selectinload(Question.answers))) if q.key not in taken]
        if len(pool) < slot["count"]:
            raise QuizUnavailable(_l("The question bank has fewer questions tagged “%(tag)s” than the quiz "
                                     "draws; tell the trainer.", tag=slot["tag"]))
        for question in rng.sample(pool, slot["count"]):
            taken.add(question.key)
            chosen.append((question, mark))
    if not chosen:
        raise QuizUnavailable(_l("This quiz has no questions yet."))
    if settings.shuffle_questions:
        rng.shuffle(chosen)
    return chosen


def start(enrolment: Enrolment, lesson: Lesson, *, now: dt.datetime | None = None,
          rng: random.Random | None = None) -> Attempt:
    """The attempt in progress, or a new one. Reloading, double clicks and two tabs all get the same
    attempt; an attempt whose deadline passed is closed first."""
    now = now or aware_utcnow()
    if lesson.kind != "quiz" or lesson.module.version_id != enrolment.version_id:
        raise QuizUnavailable(_l("This lesson is not a quiz of your course version."))
    if enrolment.state == "withdrawn":
        raise QuizUnavailable(_l("You have left this course."))
    history = attempts_of(enrolment, lesson.key)
    existing = next((a for a in history if a.state == "in_progress"), None)
    if existing is not None and not close_if_overdue(existing, now=now):
        return existing
    settings = settings_of(lesson)
    if settings.opens and now < settings.opens:
        raise QuizUnavailable(_l("The quiz opens on %(when)s.", when=_when(settings.opens)))
    if window_closed(settings, now):
        raise QuizUnavailable(_l("The quiz closed on %(when)s.", when=_when(settings.closes)))
    count = len(history)
    if settings.attempts and count >= settings.attempts:
        raise QuizUnavailable(_l("You have used all %(n)s attempts of this quiz.", n=settings.attempts))
    drawn = _draw(lesson, settings, rng or _rng)
    deadline = now + dt.timedelta(minutes=settings.time_limit) if settings.time_limit else None
    if settings.closes and (deadline is None or settings.closes < deadline):
        deadline = settings.closes
    # One attempt in progress per enrolment and quiz is a unique index: of two starts racing, the second
    # inserts nothing and takes the first one's attempt.
    attempt = insert_unless_taken(
        Attempt, enrolment_id=enrolment.id, user_id=enrolment.user_id, course_id=enrolment.course_id,
        lesson_id=lesson.id, lesson_key=lesson.key, quiz_kind=settings.kind, number=count + 1, state="in_progress",
        started_at=now, deadline_at=deadline, max_marks=sum(mark for _q, mark in drawn))
    if attempt is None:
        existing = open_attempt(enrolment, lesson.key)
        if existing is None:
            raise QuizUnavailable(_l("The quiz could not be started; try again."))
        return existing
    # The drawn questions in one statement (two thousand learners may be starting this second); the
    # attempt's ``items`` load from the database when first asked for.
    db.session.execute(insert(AttemptItem), [
        {"attempt_id": attempt.id, "position": i, "question_id": q.id, "question_key": q.key, "max_mark": mark,
         "layout": grading.layout_for(q, shuffle=settings.shuffle_options, rng=rng or _rng), "seq": 0,
         "needs_grading": False, "comment": ""}
        for i, (q, mark) in enumerate(drawn)])
    # From now on these question versions are frozen (a conditional update: only the first start locks;
    # later starts, which loaded them already frozen, skip the round trip).
    unfrozen = {q.id for q, _m in drawn if not q.is_used}
    if unfrozen:
        db.session.execute(update(Question).where(Question.id.in_(unfrozen), Question.is_used.is_(False))
                           .values(is_used=True).execution_options(synchronize_session=False))
    # …and the loaded rows say so, or an edit later in this transaction would change a used row in place.
    for question, _mark in drawn:
        set_committed_value(question, "is_used", True)
    course_services.record_visit(enrolment, lesson)
    return attempt


def _when(moment: dt.datetime | None) -> str:
    from flask_babel import format_datetime

    return format_datetime(moment, "d MMMM yyyy HH:mm") if moment else ""


# ---------------------------------------------------------------- saving


@dataclass
class Saved:
    accepted: bool
    seq: int  # the sequence number of the answer the server now holds
    saved_at: dt.datetime | None
    reason: str = ""  # "stale", "closed"


# Autosave is the busiest request of an exam: its statements are built once (Core, bound parameters), so a
# save costs two round trips and no statement construction. The read takes a shared lock on the attempt
# row: a concurrent submit (which updates the row) waits for this save, and a save arriving after the
# submit sees the attempt closed. Saves of one attempt do not block each other.
_items_t, _attempts_t = AttemptItem.__table__, Attempt.__table__
_READ_FOR_SAVE = (
    select(_items_t.c.id, _items_t.c.layout, _items_t.c.seq, _items_t.c.saved_at, _attempts_t.c.state,
           _attempts_t.c.deadline_at)
    .select_from(_items_t.join(_attempts_t, _attempts_t.c.id == _items_t.c.attempt_id))
    .where(_items_t.c.attempt_id == bindparam("attempt_id"), _items_t.c.position == bindparam("position"),
           _attempts_t.c.user_id == bindparam("user_id"))
    .with_for_update(read=True, of=_attempts_t))
_STORE_IF_NEWER = (
    update(_items_t).where(_items_t.c.id == bindparam("item_id"), _items_t.c.seq < bindparam("new_seq"))
    .values(response=bindparam("new_response"), seq=bindparam("new_seq"), saved_at=bindparam("new_saved_at")))
_HELD = select(_items_t.c.seq, _items_t.c.saved_at).where(_items_t.c.id == bindparam("item_id"))


def save(attempt_id: int, position: int, *, seq: int, response: Any, user_id: int,
         now: dt.datetime | None = None, display: bool = False) -> Saved:
    """Store an answer if it is newer than the stored one (``seq`` greater) and the attempt still takes
    answers. Raises ``LookupError`` for an attempt or item that is not the user's, ``BadResponse`` for an
    answer that does not fit the question. ``display``: the answer numbers options as the page shows
    them (``grading.from_display``), as answers from learners' pages do."""
    now = now or aware_utcnow()
    item = db.session.execute(_READ_FOR_SAVE, {"attempt_id": attempt_id, "position": position,
                                               "user_id": user_id}).one_or_none()
    if item is None:
        raise LookupError(attempt_id)
    deadline = item.deadline_at
    if item.state != "in_progress" or (deadline is not None and now > deadline + GRACE):
        return Saved(False, item.seq, item.saved_at, "closed")
    if not isinstance(seq, int) or isinstance(seq, bool) or not 0 < seq < 2**62:
        raise grading.BadResponse("seq must be a positive integer")
    clean = grading.clean_response(item.layout, grading.from_display(item.layout, response) if display else response)
    result = db.session.execute(_STORE_IF_NEWER, {"item_id": item.id, "new_seq": seq, "new_response": clean,
                                                  "new_saved_at": now})
    if result.rowcount != 1:
        current = db.session.execute(_HELD, {"item_id": item.id}).one()
        return Saved(False, current.seq, current.saved_at, "stale")
    return Saved(True, seq, now)


# ---------------------------------------------------------------- closing and grading


def submit(attempt: Attempt, *, by: str = "learner", now: dt.datetime | None = None) -> bool:
    """Close the attempt with what was saved and grade it. Only the first call does anything (double
    clicks, two tabs, a retried request and the deadline job all race here); True when this one did."""
    now = now or aware_utcnow()
    result = db.session.execute(
        update(Attempt).where(Attempt.id == attempt.id, Attempt.state == "in_progress")
        .values(state="needs_grading", submitted_at=now, closed_by=by)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.refresh(attempt)  # another request closed it: show what that one did
        return False
    for name, value in (("state", "needs_grading"), ("submitted_at", now), ("closed_by", by)):
        set_committed_value(attempt, name, value)
    items = db.session.scalars(select(AttemptItem).where(AttemptItem.attempt_id == attempt.id)
                               .order_by(AttemptItem.position)
                               .options(selectinload(AttemptItem.question).selectinload(Question.answers))
                               .execution_options(populate_existing=True)).all()
    set_committed_value(attempt, "items", list(items))
    for item in items:
        _mark_item(item)
    _finalise(attempt, now=now, fresh=True)
    audit("quiz.submit", attempt, actor=attempt.user, summary=f"#{attempt.number} {attempt.lesson_key[:8]}",
          closed_by=by, score=attempt.score)
    return True


def _mark_item(item: AttemptItem) -> None:
    fraction = grading.fraction_of(item.question, item.response)
    item.answer_summary = grading.summary_of(item.question, item.response)
    if fraction is None:
        if item.response is None:  # an unanswered essay needs nobody's judgement
            item.mark, item.fraction, item.needs_grading = 0.0, 0.0, False
        elif item.graded_at is None:
            item.mark, item.fraction, item.needs_grading = None, None, True
        return
    item.fraction = round(fraction, 6)
    item.mark = round(fraction * item.max_mark, 4)
    item.needs_grading = False


def _finalise(attempt: Attempt, *, now: dt.datetime, fresh: bool = False) -> None:
    """Total the marks of a closed attempt; finished when nothing waits for a grader. ``fresh``: the
    attempt's items were just read from the database."""
    if not fresh:
        db.session.flush()
        db.session.refresh(attempt, ["items"])
    items = attempt.items
    lesson = db.session.get(Lesson, attempt.lesson_id)
    settings = settings_of(lesson)
    if any(item.needs_grading for item in items):
        attempt.state, attempt.marks, attempt.score, attempt.passed = "needs_grading", None, None, None
        db.session.flush()
        return
    attempt.marks = round(sum(item.mark or 0.0 for item in items), 4)
    attempt.score = round(100 * attempt.marks / attempt.max_marks, 2) if attempt.max_marks else 0.0
    attempt.passed = attempt.score >= settings.pass_score
    attempt.state = "finished"
    attempt.graded_at = now
    db.session.flush()
    sync_progress(attempt)


def sync_progress(attempt: Attempt) -> None:
    """Carry the enrolment's best result at this quiz into lesson progress and the completion rule."""
    # The enrolment comes with its version, and the version's modules and lessons load eagerly: the
    # completion rule reads them all.
    enrolment = db.session.get(Enrolment, attempt.enrolment_id, options=[
        joinedload(Enrolment.version).selectinload(CourseVersion.modules).selectinload(Module.lessons)])
    lesson = next((item for item in enrolment.version.lessons() if item.key == attempt.lesson_key), None)
    if lesson is None:  # the learner was moved to a version without this quiz
        return
    settings = settings_of(lesson)
    score, passed = best_result(enrolment, lesson.key)
    completed = passed if settings.counts_for_completion else score is not None
    course_services.record_result(enrolment, lesson, completed=completed,
                                  score=None if score is None else round(score), exact=True)


def close_if_overdue(attempt: Attempt, *, now: dt.datetime | None = None) -> bool:
    """Close an attempt whose deadline (plus the grace for answers in flight) has passed."""
    now = now or aware_utcnow()
    if attempt.state == "in_progress" and attempt.deadline_at is not None and now > attempt.deadline_at + GRACE:
        submit(attempt, by="deadline", now=now)
        return True
    return False


def close_overdue(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """The periodic job's work: close abandoned attempts past their deadline with what was saved."""
    now = now or aware_utcnow()
    ids = db.session.scalars(select(Attempt.id).where(
        Attempt.state == "in_progress", Attempt.deadline_at.is_not(None), Attempt.deadline_at < now - GRACE)
        .order_by(Attempt.deadline_at).limit(limit)).all()
    closed = 0
    for attempt_id in ids:
        attempt = db.session.get(Attempt, attempt_id)
        if attempt is not None and submit(attempt, by="deadline", now=now):
            closed += 1
    return closed


def grade_item(item: AttemptItem, *, mark: float, comment: str, actor: User) -> None:
    """A trainer's mark for an essay (or a changed mark); the attempt is finished once none is left."""
    if item.attempt.state == "in_progress":
        raise ServiceError(_l("The attempt is still in progress."))
    if not isinstance(mark, int | float) or not 0 <= mark <= item.max_mark:
        raise ValidationFailed({"mark": _l("The mark is from 0 to %(max)s.", max=_number(item.max_mark))})
    item.mark = round(float(mark), 4)
    item.fraction = round(item.mark / item.max_mark, 6) if item.max_mark else 0.0
    item.comment = (comment or "").strip()[:5000]
    item.needs_grading = False
    item.graded_by = actor
    item.graded_at = aware_utcnow()
    audit("quiz.grade", item.attempt, actor=actor, summary=f"#{item.attempt.number} item {item.position + 1}",
          mark=item.mark)
    _finalise(item.attempt, now=aware_utcnow())


def _number(value: float) -> str:
    return f"{value:g}"


def grading_queue(user: User, *, course: Course | None = None):
    """Essay answers waiting for a grader, oldest first, in courses the user may grade."""
    query = (select(AttemptItem).join(Attempt, Attempt.id == AttemptItem.attempt_id)
             .where(AttemptItem.needs_grading.is_(True), Attempt.state == "needs_grading")
             .order_by(Attempt.submitted_at, AttemptItem.position))
    if course is not None:
        query = query.where(Attempt.course_id == course.id)
    if not user.has_role("admin"):
        from courses.models import CourseOwner

        query = query.where(Attempt.course_id.in_(select(CourseOwner.course_id).where(CourseOwner.user_id == user.id)))
    return query


# ---------------------------------------------------------------- regrading


@dataclass
class Regraded:
    attempts: int = 0
    items: int = 0
    newly_passed: int = 0
    newly_failed: int = 0
    skipped: list[str] = field(default_factory=list)


def regrade_question(key: str, *, actor: User) -> Regraded:
    """Apply the current version of a question (a corrected key) to the closed attempts that used an
    older one, recompute their grades and what they feed: lesson progress, completion, certificates.
    Versions whose options differ (type or number) are left as they are, and said so."""
    current = db.session.scalar(select(Question).where(Question.key == key, Question.is_current)
                                .options(selectinload(Question.answers)))
    if current is None:
        raise ServiceError(_l("The question has no current version."))
    report = Regraded()
    rows = db.session.scalars(select(AttemptItem).join(Attempt, Attempt.id == AttemptItem.attempt_id)
                              .where(AttemptItem.question_key == key, AttemptItem.question_id != current.id)
                              .options(selectinload(AttemptItem.question).selectinload(Question.answers))).all()
    in_progress = 0
    incompatible: set[int] = set()
    touched: dict[int, Attempt] = {}
    for item in rows:
        attempt = item.attempt
        if attempt.state == "in_progress":
            in_progress += 1
            continue
        if not grading.compatible(item.question, current):
            incompatible.add(item.question.version)
            continue
        before = item.mark
        item.question_id = current.id
        item.question = current
        if current.type != "essay":
            _mark_item(item)
        report.items += 1
        if item.mark != before:
            touched[attempt.id] = attempt
    if report.items:
        # Attempts now show this version: it is frozen like every version learners answered.
        current.is_used = True
    for attempt in touched.values():
        was_passed = attempt.passed
        if attempt.state == "finished":
            _finalise(attempt, now=aware_utcnow())
            report.attempts += 1
            if attempt.passed and not was_passed:
                report.newly_passed += 1
            elif was_passed and not attempt.passed:
                report.newly_failed += 1
    if in_progress:
        report.skipped.append(str(_l("%(n)s answers are in attempts still in progress; they are graded with "
                                     "their version when submitted (regrade again afterwards).", n=in_progress)))
    for version in sorted(incompatible):
        report.skipped.append(str(_l("Version %(v)s has different options, so its answers cannot be regraded "
                                     "with the current version.", v=version)))
    audit("quiz.regrade", current, actor=actor, summary=f"{current.name} v{current.version}",
          attempts=report.attempts, items=report.items, newly_passed=report.newly_passed,
          newly_failed=report.newly_failed)
    db.session.flush()
    return report


# ---------------------------------------------------------------- completion


@signals.completion_requirements.connect
def _post_tests_passed(_sender, *, enrolment: Enrolment, **_extra) -> bool:
    """A course with a required post-test (or exam) completes only when it has been passed."""
    keys = [lesson.key for lesson in enrolment.version.lessons()
            if lesson.kind == "quiz" and lesson.is_required and settings_of(lesson).counts_for_completion]
    if not keys:
        return True
    passed = set(db.session.scalars(select(Attempt.lesson_key).where(
        Attempt.enrolment_id == enrolment.id, Attempt.lesson_key.in_(keys), Attempt.passed.is_(True))))
    return passed >= set(keys)


def lesson_progress_row(enrolment: Enrolment, lesson: Lesson) -> LessonProgress | None:
    return db.session.scalar(select(LessonProgress).where(LessonProgress.enrolment_id == enrolment.id,
                                                          LessonProgress.lesson_key == lesson.key))
