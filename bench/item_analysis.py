"""Item analysis of one quiz: 10,000 finished attempts × 50 questions (500,000 answers), the statistics a
trainer's "Item analysis" page shows (``courses.quizzes.reports.item_analysis``), best of 5 runs.

The data is bulk-inserted, not taken through the attempt lifecycle: 10,000 learners of varied ability
answer 50 questions of varied difficulty (30 single choice, 8 multiple response, 6 true/false, 6 short
answer), a few of them with a wrong key (the strong learners miss them), some answers left empty.

Budget (DESIGN.md §6): < 2 s.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import time
import uuid

from sqlalchemy import insert

from bench import Result
from bench._support import application, database_kind, say

LEARNERS = 10_000
QUESTIONS = 50
TYPES = ["single"] * 30 + ["multi"] * 8 + ["truefalse"] * 6 + ["shortanswer"] * 6
RUNS = 5
BUDGET_SECONDS = 2.0
CHUNK = 20_000


def _answers(qtype: str) -> list[dict]:
    if qtype == "single":
        return [{"position": 0, "text_html": "Benar", "fraction": 1.0}] + [
            {"position": p, "text_html": f"Pengecoh {p}", "fraction": 0.0} for p in (1, 2, 3)]
    if qtype == "multi":
        return [{"position": 0, "text_html": "A", "fraction": 0.5}, {"position": 1, "text_html": "B", "fraction": 0.5},
                {"position": 2, "text_html": "C", "fraction": -0.5}, {"position": 3, "text_html": "D", "fraction": 0.0}]
    if qtype == "truefalse":
        return [{"position": 0, "text_html": "true", "fraction": 1.0},
                {"position": 1, "text_html": "false", "fraction": 0.0}]
    return [{"position": 0, "text_html": "ASN", "fraction": 1.0}]


def _answer(qtype: str, right: bool, rng: random.Random) -> tuple[float, str | None]:
    """The fraction earned and the answer summary, as grading stores them."""
    if rng.random() < 0.03:
        return 0.0, None  # left empty
    if qtype == "single":
        return (1.0, "0") if right else (0.0, str(rng.choice((1, 1, 2, 3))))
    if qtype == "multi":
        return (1.0, "0,1") if right else rng.choice(((0.5, "0"), (0.5, "1"), (0.0, "0,2"), (0.0, "2,3")))
    if qtype == "truefalse":
        return (1.0, "0") if right else (0.0, "1")
    return (1.0, "asn") if right else (0.0, rng.choice(("pns", "aparatur", "tidak tahu")))


def _populate(rng: random.Random) -> tuple[int, str, list[str]]:
    """Bulk-insert the course, its quiz, the questions and the attempts; returns (course id, lesson key,
    question keys in quiz order)."""
    from courses.models import Course, CourseOwner, CourseVersion, Enrolment, Lesson, Module
    from courses.quizzes.models import Answer, Attempt, AttemptItem, Question, QuestionBank
    from lms.extensions import db
    from lms.models import User, UserRole

    session = db.session
    now = dt.datetime.now(dt.UTC)
    trainer = session.execute(insert(User).returning(User.id), [
        {"email": "pelatih@bench.example", "full_name": "Pelatih", "password_hash": None}]).scalar_one()
    session.execute(insert(UserRole), [{"user_id": trainer, "role": "trainer"}])
    course = session.execute(insert(Course).returning(Course.id), [
        {"code": "IA-BENCH", "title": "Analisis Butir", "jp": 2}]).scalar_one()
    session.execute(insert(CourseOwner), [{"course_id": course, "user_id": trainer}])
    version = session.execute(insert(CourseVersion).returning(CourseVersion.id), [
        {"course_id": course, "number": 1, "state": "published", "published_at": now}]).scalar_one()
    session.execute(Course.__table__.update().where(Course.id == course).values(published_version_id=version))
    module = session.execute(insert(Module).returning(Module.id), [
        {"version_id": version, "title": "Modul 1", "position": 0}]).scalar_one()
    bank = session.execute(insert(QuestionBank).returning(QuestionBank.id), [{"course_id": course}]).scalar_one()

    types = TYPES[:]
    rng.shuffle(types)
    keys = [uuid.uuid4().hex for _ in range(QUESTIONS)]
    question_ids = session.execute(insert(Question).returning(Question.id, sort_by_parameter_order=True), [
        {"bank_id": bank, "key": key, "version": 1, "is_current": True, "is_used": True, "type": qtype,
         "name": f"Soal {n + 1}", "prompt_html": f"<p>Soal {n + 1}</p>"}
        for n, (key, qtype) in enumerate(zip(keys, types, strict=True))]).scalars().all()
    session.execute(insert(Answer), [{"question_id": qid, **answer}
                                     for qid, qtype in zip(question_ids, types, strict=True)
                                     for answer in _answers(qtype)])
    lesson_key = uuid.uuid4().hex
    settings = {"kind": "exam", "slots": [{"key": key, "mark": 1} for key in keys], "pass_score": 65}
    lesson = session.execute(insert(Lesson).returning(Lesson.id), [
        {"module_id": module, "key": lesson_key, "position": 0, "kind": "quiz", "title": "Ujian akhir",
         "quiz": settings}]).scalar_one()

    learners = session.execute(insert(User).returning(User.id, sort_by_parameter_order=True), [
        {"email": f"peserta{i}@bench.example", "full_name": f"Peserta {i}", "password_hash": None}
        for i in range(LEARNERS)]).scalars().all()
    enrolments = session.execute(insert(Enrolment).returning(Enrolment.id, sort_by_parameter_order=True), [
        {"user_id": user, "course_id": course, "version_id": version, "cycle": 1, "source": "assigned",
         "state": "active", "enrolled_at": now} for user in learners]).scalars().all()

    # Ability θ per learner, difficulty b and discrimination a per question (2-parameter logistic model);
    # four questions have a wrong key: strong learners pick the "right" answer less often.
    difficulty = [rng.uniform(-2.0, 2.0) for _ in range(QUESTIONS)]
    slope = [rng.uniform(0.5, 2.0) for _ in range(QUESTIONS)]
    for bad in rng.sample(range(QUESTIONS), 4):
        slope[bad] = -0.8
    attempts, answers = [], []
    for user, enrolment in zip(learners, enrolments, strict=True):
        ability = rng.gauss(0.0, 1.0)
        given = []
        for q in range(QUESTIONS):
            right = rng.random() < 1.0 / (1.0 + math.exp(-1.7 * slope[q] * (ability - difficulty[q])))
            given.append(_answer(types[q], right, rng))
        marks = round(sum(fraction for fraction, _summary in given), 4)
        started = now - dt.timedelta(minutes=rng.randrange(60, 60 * 24 * 30))
        attempts.append({"enrolment_id": enrolment, "user_id": user, "course_id": course, "lesson_id": lesson,
                         "lesson_key": lesson_key, "quiz_kind": "exam", "number": 1, "state": "finished",
                         "started_at": started, "submitted_at": started + dt.timedelta(minutes=40),
                         "closed_by": "learner", "graded_at": started + dt.timedelta(minutes=40), "marks": marks,
                         "max_marks": float(QUESTIONS), "score": round(100 * marks / QUESTIONS, 2),
                         "passed": 100 * marks / QUESTIONS >= 65})
        answers.append(given)
    attempt_ids = session.execute(insert(Attempt).returning(Attempt.id, sort_by_parameter_order=True),
                                  attempts).scalars().all()
    rows = []
    for attempt_id, given in zip(attempt_ids, answers, strict=True):
        for position, (fraction, summary) in enumerate(given):
            rows.append({"attempt_id": attempt_id, "position": position, "question_id": question_ids[position],
                         "question_key": keys[position], "max_mark": 1.0, "layout": {}, "response": None,
                         "seq": 1, "mark": fraction, "fraction": fraction, "answer_summary": summary,
                         "needs_grading": False, "comment": ""})
            if len(rows) == CHUNK:
                session.execute(insert(AttemptItem), rows)
                rows = []
    if rows:
        session.execute(insert(AttemptItem), rows)
    session.commit()
    if db.engine.dialect.name == "postgresql":
        # In production autovacuum has long analysed (and hint-bitted) these rows before anyone opens a
        # report; straight after a bulk insert neither has happened and the first reads would pay for it.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for table in ("quiz_attempts", "quiz_attempt_items", "questions", "question_answers"):
                connection.exec_driver_sql(f"VACUUM ANALYZE {table}")
    return course, lesson_key, keys


def run() -> list[Result]:
    rng = random.Random(20261123)
    kind = database_kind()
    path = f"item analysis: {LEARNERS:,} attempts × {QUESTIONS} questions, {kind}"
    with application("item_analysis"):
        from courses.quizzes import reports
        from lms.extensions import db

        say(f"item_analysis: inserting {LEARNERS:,} attempts × {QUESTIONS} answers …")
        started = time.perf_counter()
        course_id, lesson_key, keys = _populate(rng)
        say(f"item_analysis: data ready in {time.perf_counter() - started:.0f} s; timing {RUNS} runs")
        timings = []  # (wall, this process's CPU): on a shared machine the second says what the first lost
        for _run in range(RUNS):
            db.session.expire_all()
            started, cpu = time.perf_counter(), time.process_time()
            report = reports.item_analysis(course_id, lesson_key, order=keys)
            timings.append((time.perf_counter() - started, time.process_time() - cpu))
            db.session.rollback()  # a page request ends its transaction too
        if report.attempts != LEARNERS or len(report.items) != QUESTIONS or any(
                item.n != LEARNERS for item in report.items):
            return [Result.failed(path, f"wrong outcome: {report.attempts} attempts, {len(report.items)} items")]
        negative = sum("negative" in item.flags for item in report.items)
        if negative < 4:
            return [Result.failed(path, f"the 4 questions with a wrong key were not all flagged ({negative})")]
        say(f"item_analysis: runs {', '.join(f'{wall:.2f} s ({cpu:.2f} s CPU)' for wall, cpu in timings)}; "
            f"{negative} questions flagged as discriminating negatively")
        wall, cpu = min(timings)
        return [Result.at_most(path, wall, BUDGET_SECONDS, "s", f"best of {RUNS}, Python CPU {cpu:.2f} s")]
