"""The attempt lifecycle through the services: how every question type is marked, start, autosave,
submit, the server's deadline, essay grading, regrading after a key fix, and what a quiz feeds into the
course: lesson progress, completion, the certificate and its score."""

from __future__ import annotations

import datetime as dt
import os
import random
import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from courses import services
from courses.models import Enrolment, LessonProgress
from courses.quizzes import attempts as quiz
from courses.quizzes import grading
from courses.quizzes import services as banks
from courses.quizzes.models import Answer, Attempt, AttemptItem, Question
from courses.quizzes.settings import save_quiz
from lms.extensions import db
from lms.models import AuditEvent
from lms.services import ServiceError, ValidationFailed
from tests.courses.helpers import study
from tests.courses.quiz_helpers import make_quiz_course, right_answer

T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
POST = ("Post-test", {"kind": "post"})


# ---------------------------------------------------------------- helpers


def build(qtype: str, answers=(), **fields) -> Question:
    """A question in memory (never flushed): ``answers`` are dicts of text, fraction, match, tolerance."""
    question = Question(type=qtype, name=qtype, partial_credit=fields.get("partial_credit", "fractions"),
                        case_sensitive=fields.get("case_sensitive", False),
                        use_wildcards=fields.get("use_wildcards", False))
    question.answers = [Answer(position=i, text_html=a.get("text", ""), fraction=a.get("fraction", 0.0),
                               match_text=a.get("match"), tolerance=a.get("tolerance"))
                        for i, a in enumerate(answers)]
    return question


def answer_right(attempt: Attempt, *, but: dict[str, dict | None] | None = None,
                 essay: str | None = None) -> None:
    """Save the full-marks answer to every question; ``but`` gives other answers by question name (None:
    left unanswered), ``essay`` the essay's text."""
    but = but or {}
    for item in attempt.items:
        name = item.question.name
        if name in but:
            response = but[name]
        elif name == "Esai":
            response = {"text": essay} if essay else None
        else:
            response = right_answer(item)
        if response is not None:
            saved = quiz.save(attempt.id, item.position, seq=1, response=response, user_id=attempt.user_id,
                              now=attempt.started_at)
            assert saved.accepted, (name, saved)


def item_named(attempt: Attempt, name: str) -> AttemptItem:
    return next(item for item in attempt.items if item.question.name == name)


def submit_events(attempt: Attempt) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "quiz.submit", AuditEvent.object_type == "quiz_attempts",
        AuditEvent.object_id == str(attempt.id)))


def progress(enrolment: Enrolment, lesson) -> LessonProgress | None:
    return quiz.lesson_progress_row(enrolment, lesson)


@pytest.fixture
def course_with(make_course, trainer):
    """``course_with(("Post-test", {...settings}), ..., essay=False)`` → (course, [quiz lessons])."""

    def make(*quizzes, essay=False):
        return make_quiz_course(make_course, trainer, quizzes=quizzes or (POST,), essay=essay)

    return make


@pytest.fixture
def taking(course_with, learner, enrol):
    """``taking(**settings)`` → (enrolment, lesson): a learner enrolled in a course with one post-test."""

    def make(essay=False, **settings):
        course, (lesson,) = course_with(("Post-test", {"kind": "post", **settings}), essay=essay)
        return enrol(learner, course), lesson

    return make


# ---------------------------------------------------------------- marking each type

CAPITAL = [{"text": "Bandung", "fraction": 1.0}, {"text": "Surabaya"}, {"text": "Semarang", "fraction": -0.5}]
PRIMES = [{"text": "2", "fraction": 0.5}, {"text": "3", "fraction": 0.5}, {"text": "4", "fraction": -0.5},
          {"text": "9", "fraction": -1.0}]
ASN = [{"text": "Aparatur Sipil Negara", "fraction": 1.0}, {"text": "ASN", "fraction": 0.5}]
REGULATION = [{"text": "PP 11.2017*", "fraction": 1.0}]  # "." is a dot, not any character
STEPS = [{"text": "Rencana"}, {"text": "Laksana"}, {"text": "Evaluasi"}]
MATCHES = [{"text": "BKN", "match": "Kepegawaian"}, {"text": "LAN", "match": "Administrasi"},
           {"text": "", "match": "Keuangan"}]  # a distractor: a match without an item

MARKING = [
    # single choice: the option's fraction, never below zero
    ("single", CAPITAL, {}, {"choice": 0}, 1.0),
    ("single", CAPITAL, {}, {"choice": 1}, 0.0),
    ("single", CAPITAL, {}, {"choice": 2}, 0.0),
    # multiple response, Moodle's rule: the sum of the chosen fractions, clamped to 0..1
    ("multi", PRIMES, {}, {"choices": [0, 1]}, 1.0),
    ("multi", PRIMES, {}, {"choices": [1]}, 0.5),
    ("multi", PRIMES, {}, {"choices": [0, 1, 2]}, 0.5),
    ("multi", PRIMES, {}, {"choices": [0, 2]}, 0.0),
    ("multi", PRIMES, {}, {"choices": [0, 3]}, 0.0),
    ("multi", PRIMES, {}, {"choices": [2, 3]}, 0.0),
    # …or all or nothing: exactly the right set
    ("multi", PRIMES, {"partial_credit": "all_or_nothing"}, {"choices": [0, 1]}, 1.0),
    ("multi", PRIMES, {"partial_credit": "all_or_nothing"}, {"choices": [0]}, 0.0),
    ("multi", PRIMES, {"partial_credit": "all_or_nothing"}, {"choices": [0, 1, 2]}, 0.0),
    ("truefalse", [{"text": "true"}, {"text": "false", "fraction": 1.0}], {}, {"choice": 1}, 1.0),
    ("truefalse", [{"text": "true"}, {"text": "false", "fraction": 1.0}], {}, {"choice": 0}, 0.0),
    # short answer: case and spaces do not matter; the best accepted answer counts
    ("shortanswer", ASN, {}, {"text": "  aparatur   SIPIL negara "}, 1.0),
    ("shortanswer", ASN, {}, {"text": "asn"}, 0.5),
    ("shortanswer", [{"text": "ASN", "fraction": 1.0}], {}, {"text": "PNS"}, 0.0),
    ("shortanswer", [{"text": "ASN", "fraction": 1.0}], {}, {"text": "ASN saja"}, 0.0),
    # …wildcards: * is any run of characters, everything else is literal
    ("shortanswer", [{"text": "kepala * daerah", "fraction": 1.0}], {"use_wildcards": True},
     {"text": "Kepala Dinas Daerah"}, 1.0),
    ("shortanswer", [{"text": "kepala * daerah", "fraction": 1.0}], {"use_wildcards": True},
     {"text": "wakil kepala dinas daerah"}, 0.0),
    ("shortanswer", [{"text": "kepala * daerah", "fraction": 1.0}], {}, {"text": "kepala dinas daerah"}, 0.0),
    ("shortanswer", [{"text": "kepala * daerah", "fraction": 1.0}], {}, {"text": "Kepala * Daerah"}, 1.0),
    ("shortanswer", REGULATION, {"use_wildcards": True}, {"text": "pp 11x2017"}, 0.0),
    ("shortanswer", REGULATION, {"use_wildcards": True}, {"text": "PP 11.2017 tentang Manajemen PNS"}, 1.0),
    # …case-sensitive when the question says so
    ("shortanswer", [{"text": "pH", "fraction": 1.0}], {"case_sensitive": True}, {"text": " pH "}, 1.0),
    ("shortanswer", [{"text": "pH", "fraction": 1.0}], {"case_sensitive": True}, {"text": "PH"}, 0.0),
    ("shortanswer", [{"text": "pH", "fraction": 1.0}], {"case_sensitive": False}, {"text": "PH"}, 1.0),
    # numerical: tolerance either side, the Indonesian decimal comma and thousands dot
    ("numerical", [{"text": "12.5", "fraction": 1.0, "tolerance": 0.5}], {}, {"text": "12,5"}, 1.0),
    ("numerical", [{"text": "12.5", "fraction": 1.0, "tolerance": 0.5}], {}, {"text": "12.9"}, 1.0),
    ("numerical", [{"text": "12.5", "fraction": 1.0, "tolerance": 0.5}], {}, {"text": "13"}, 1.0),
    ("numerical", [{"text": "12.5", "fraction": 1.0, "tolerance": 0.5}], {}, {"text": "13,1"}, 0.0),
    ("numerical", [{"text": "12.5", "fraction": 1.0, "tolerance": 0.5}], {}, {"text": "dua belas"}, 0.0),
    ("numerical", [{"text": "12.5", "fraction": 1.0}], {}, {"text": "12,6"}, 0.0),
    ("numerical", [{"text": "1250.5", "fraction": 1.0}], {}, {"text": "1.250,5"}, 1.0),
    ("numerical", [{"text": "20", "fraction": 1.0}, {"text": "18", "fraction": 0.5, "tolerance": 1}], {},
     {"text": " 19 "}, 0.5),
    # ordering: the share of items in their place
    ("ordering", STEPS, {}, {"order": [0, 1, 2]}, 1.0),
    ("ordering", STEPS, {}, {"order": [2, 1, 0]}, 1 / 3),
    ("ordering", STEPS, {}, {"order": [1, 2, 0]}, 0.0),
    # matching: the share of items matched right; a distractor is no item
    ("matching", MATCHES, {}, {"pairs": {"0": "Kepegawaian", "1": "Administrasi"}}, 1.0),
    ("matching", MATCHES, {}, {"pairs": {"0": "Kepegawaian", "1": "Keuangan"}}, 0.5),
    ("matching", MATCHES, {}, {"pairs": {"1": "Kepegawaian"}}, 0.0),
]


@pytest.mark.parametrize(("qtype", "answers", "fields", "response", "fraction"), MARKING,
                         ids=[f"{case[0]}-{n}" for n, case in enumerate(MARKING)])
def test_marking(qtype, answers, fields, response, fraction):
    question = build(qtype, answers, **fields)
    layout = grading.layout_for(question, shuffle=False, rng=random.Random(1))
    clean = grading.clean_response(layout, response)
    assert grading.fraction_of(question, clean) == pytest.approx(fraction)


@pytest.mark.parametrize("qtype", ["single", "multi", "truefalse", "shortanswer", "numerical", "ordering",
                                   "matching"])
def test_no_answer_earns_nothing(qtype):
    assert grading.fraction_of(build(qtype, CAPITAL), None) == 0.0


def test_an_essay_needs_a_person():
    assert grading.fraction_of(build("essay"), {"text": "Integritas adalah…"}) is None
    assert grading.fraction_of(build("essay"), None) is None


BAD = [
    ("single", CAPITAL, {"choice": 3}),
    ("single", CAPITAL, {"choice": -1}),
    ("single", CAPITAL, {"choice": "0"}),
    ("single", CAPITAL, {"choice": True}),
    ("single", CAPITAL, {"choices": [0]}),  # the shape of another type
    ("single", CAPITAL, {"text": "Bandung"}),
    ("single", CAPITAL, [0]),
    ("multi", PRIMES, {"choices": [0, 4]}),
    ("multi", PRIMES, {"choices": "0,1"}),
    ("multi", PRIMES, {"choices": [0.0]}),
    ("multi", PRIMES, {"choice": 0}),
    ("truefalse", [{"text": "true"}, {"text": "false"}], {"choice": 2}),
    ("shortanswer", [{"text": "ASN", "fraction": 1}], {"text": 5}),
    ("shortanswer", [{"text": "ASN", "fraction": 1}], {"text": "x" * 501}),
    ("shortanswer", [{"text": "ASN", "fraction": 1}], {"choice": 0}),
    ("essay", [], {"text": "x" * 20001}),
    ("ordering", CAPITAL, {"order": [0, 1]}),
    ("ordering", CAPITAL, {"order": [0, 0, 1]}),
    ("ordering", CAPITAL, {"order": [0, 1, 2, 3]}),
    ("ordering", CAPITAL, {"order": [0, "a", 1]}),
    ("ordering", CAPITAL, {"order": [0.0, 1.0, 2.0]}),
    ("ordering", CAPITAL, {"order": [False, True, 2]}),
    ("ordering", CAPITAL, {"order": "012"}),
    ("matching", MATCHES, {"pairs": {"2": "Keuangan"}}),  # the distractor is not an item
    ("matching", MATCHES, {"pairs": {"0": "Perbendaharaan"}}),
    ("matching", MATCHES, {"pairs": {"0": ["Kepegawaian"]}}),
    ("matching", MATCHES, {"pairs": [["0", "Kepegawaian"]]}),
    ("matching", MATCHES, {"order": [0, 1]}),
]


@pytest.mark.parametrize(("qtype", "answers", "response"), BAD,
                         ids=[f"{case[0]}-{n}" for n, case in enumerate(BAD)])
def test_answers_that_do_not_fit_are_refused(qtype, answers, response):
    layout = grading.layout_for(build(qtype, answers), shuffle=False, rng=random.Random(1))
    with pytest.raises(grading.BadResponse):
        grading.clean_response(layout, response)


@pytest.mark.parametrize(("qtype", "response"), [
    ("single", None), ("single", {"choice": None}), ("multi", {"choices": []}),
    ("shortanswer", {"text": "  "}),
    ("matching", {"pairs": {"0": ""}}),
])
def test_an_empty_answer_clears(qtype, response):
    layout = grading.layout_for(build(qtype, MATCHES if qtype == "matching" else CAPITAL), shuffle=False,
                                rng=random.Random(1))
    assert grading.clean_response(layout, response) is None


def test_layouts():
    rng = random.Random(7)
    ordering = build("ordering", [{"text": t} for t in "ABCDE"])
    for _ in range(20):
        items = grading.layout_for(ordering, shuffle=False, rng=rng)["items"]
        assert sorted(items) == [0, 1, 2, 3, 4]
        assert items != [0, 1, 2, 3, 4], "an ordering question never starts in the right order"
    matching = grading.layout_for(build("matching", MATCHES), shuffle=True, rng=rng)
    assert sorted(matching["items"]) == [0, 1]
    assert sorted(matching["choices"]) == ["Administrasi", "Kepegawaian", "Keuangan"]
    truefalse = grading.layout_for(build("truefalse", [{"text": "true"}, {"text": "false"}]), shuffle=True,
                                   rng=rng)
    assert truefalse["options"] == [0, 1]
    single = build("single", [{"text": t} for t in "ABCDEFGH"])
    assert grading.layout_for(single, shuffle=False, rng=rng)["options"] == list(range(8))
    shuffled = [grading.layout_for(single, shuffle=True, rng=rng)["options"] for _ in range(5)]
    assert all(sorted(options) == list(range(8)) for options in shuffled)
    assert any(options != list(range(8)) for options in shuffled)


def test_a_whole_attempt_is_marked_by_type(taking):
    enrolment, lesson = taking(essay=True)
    attempt = quiz.start(enrolment, lesson, now=T0)
    answer_right(attempt, but={"Prima": {"choices": [0, 2]}, "Urutan": {"order": [2, 1, 0]},
                               "Pasangan": {"pairs": {"0": "Kepegawaian"}}, "JP": {"text": "20,0"}},
                 essay="Integritas berarti jujur.")
    assert quiz.submit(attempt, now=T0 + dt.timedelta(minutes=5))
    db.session.commit()
    marks = {item.question.name: item.mark for item in attempt.items}
    assert marks == {"Ibukota": 1.0, "Prima": 0.0, "Bumi bulat": 1.0, "Singkatan": 1.0, "JP": 1.0,
                     "Urutan": round(1 / 3, 4), "Pasangan": 0.5, "Esai": None}
    essay = item_named(attempt, "Esai")
    assert (essay.needs_grading, essay.fraction) == (True, None)
    assert (attempt.state, attempt.score, attempt.passed) == ("needs_grading", None, None)
    assert item_named(attempt, "Ibukota").answer_summary == "0"
    assert item_named(attempt, "Prima").answer_summary == "0,2"


def test_an_unanswered_essay_scores_zero_without_a_grader(taking):
    enrolment, lesson = taking(essay=True, pass_score=80)
    attempt = quiz.start(enrolment, lesson, now=T0)
    answer_right(attempt)
    quiz.submit(attempt, now=T0)
    db.session.commit()
    essay = item_named(attempt, "Esai")
    assert (essay.mark, essay.needs_grading) == (0.0, False)
    assert (attempt.state, attempt.marks, attempt.max_marks) == ("finished", 7.0, 8.0)
    assert (attempt.score, attempt.passed) == (87.5, True)
    assert db.session.scalars(quiz.grading_queue(enrolment.course.owners[0])).all() == []


# ---------------------------------------------------------------- starting


def test_start_is_idempotent(taking):
    enrolment, lesson = taking()
    first = quiz.start(enrolment, lesson, now=T0)
    db.session.commit()
    again = quiz.start(enrolment, lesson, now=T0 + dt.timedelta(minutes=3))
    db.session.commit()
    assert again.id == first.id
    assert db.session.scalar(select(func.count()).select_from(Attempt)) == 1
    assert [item.position for item in first.items] == list(range(7))
    assert (first.max_marks, first.number) == (7.0, 1)


def test_the_database_allows_one_attempt_in_progress(taking):
    """Two requests that both missed each other's attempt: the partial unique index refuses the second."""
    enrolment, lesson = taking()
    first = quiz.start(enrolment, lesson, now=T0)
    db.session.commit()
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.add(Attempt(enrolment_id=enrolment.id, user_id=enrolment.user_id,
                               course_id=first.course_id, lesson_id=lesson.id, lesson_key=lesson.key,
                               quiz_kind="post", number=2))
    db.session.rollback()


def test_a_second_attempt_follows_a_finished_one(taking):
    enrolment, lesson = taking()
    first = quiz.start(enrolment, lesson, now=T0)
    quiz.submit(first, now=T0)
    second = quiz.start(enrolment, lesson, now=T0 + dt.timedelta(hours=1))
    db.session.commit()
    assert second.id != first.id
    assert (second.number, second.state) == (2, "in_progress")


def test_attempts_allowed_are_enforced(taking):
    enrolment, lesson = taking(attempts=2)
    for _ in range(2):
        quiz.submit(quiz.start(enrolment, lesson, now=T0), now=T0)
    db.session.commit()
    with pytest.raises(quiz.QuizUnavailable, match="You have used all 2 attempts"):
        quiz.start(enrolment, lesson, now=T0)


def test_the_availability_window(taking):
    opens, closes = T0 + dt.timedelta(days=1), T0 + dt.timedelta(days=2)
    enrolment, lesson = taking(opens_at=opens.isoformat(), closes_at=closes.isoformat())
    with pytest.raises(quiz.QuizUnavailable, match="The quiz opens on"):
        quiz.start(enrolment, lesson, now=T0)
    with pytest.raises(quiz.QuizUnavailable, match="The quiz closed on"):
        quiz.start(enrolment, lesson, now=closes)
    assert db.session.scalar(select(func.count()).select_from(Attempt)) == 0
    attempt = quiz.start(enrolment, lesson, now=opens)
    assert attempt.deadline_at == closes, "without a time limit the window's end is the deadline"


def test_a_time_limit_sets_the_deadline_and_the_window_end_caps_it(taking, course_with, make_user, enrol):
    enrolment, lesson = taking(time_limit=30, closes_at=(T0 + dt.timedelta(hours=2)).isoformat())
    early = quiz.start(enrolment, lesson, now=T0)
    assert early.deadline_at == T0 + dt.timedelta(minutes=30)
    late_learner = enrol(make_user(), enrolment.course)
    late = quiz.start(late_learner, lesson, now=T0 + dt.timedelta(minutes=100))
    assert late.deadline_at == T0 + dt.timedelta(hours=2)
    course, (untimed,) = course_with(("Latihan", {"kind": "practice"}))
    assert quiz.start(enrol(late_learner.user, course), untimed, now=T0).deadline_at is None


def test_a_lesson_of_another_version_or_a_withdrawn_learner_cannot_start(taking, course_with):
    enrolment, lesson = taking()
    _other, (foreign,) = course_with(("Kuis lain", {"kind": "practice"}))
    with pytest.raises(quiz.QuizUnavailable, match="not a quiz of your course version"):
        quiz.start(enrolment, foreign, now=T0)
    enrolment.state = "withdrawn"
    with pytest.raises(quiz.QuizUnavailable, match="You have left this course"):
        quiz.start(enrolment, lesson, now=T0)


def tagged_course(make_course, trainer, *, draw=3, fixed=True, shuffle=False):
    """A course whose post-test asks one fixed question (``fixed``) and ``draw`` questions drawn from the six
    tagged "acak", the fixed one among them. Returns (course, lesson, the fixed question, the tagged ones)."""
    course = make_course(trainer, lessons=("Materi",), publish=False)
    bank = banks.bank_for(course)
    tagged = [banks.create_question(bank, actor=trainer, type="truefalse", name=f"Acak {n}", tags=["acak"],
                                    answers=[{"text_html": "true", "fraction": 1.0}, {"text_html": "false"}])
              for n in range(6)]
    lesson = services.add_lesson(course.draft.modules[0], kind="quiz", title="Post-test")
    slots = ([{"key": tagged[0].key, "mark": 1}] if fixed else []) + [
        {"tag": "acak", "bank_id": bank.id, "count": draw, "mark": 2}]
    save_quiz(lesson, {"kind": "post", "slots": slots, "shuffle_questions": shuffle}, actor=trainer)
    services.publish(course.draft, actor=trainer)
    db.session.commit()
    return course, lesson, tagged[0], tagged


def test_random_draws_are_distinct_and_leave_out_the_fixed_questions(make_course, trainer, learner, enrol):
    course, lesson, fixed, tagged = tagged_course(make_course, trainer, draw=5)
    enrolment = enrol(learner, course)
    seen: set[str] = set()
    for seed in range(8):
        attempt = quiz.start(enrolment, lesson, now=T0, rng=random.Random(seed))
        keys = [item.question_key for item in attempt.items]
        assert keys[0] == fixed.key
        assert len(set(keys)) == len(keys) == 6, "no question twice"
        assert {item.max_mark for item in attempt.items[1:]} == {2.0}
        assert attempt.max_marks == 11.0
        seen |= set(keys)
        quiz.submit(attempt, now=T0)
    assert seen == {q.key for q in tagged}


def test_a_draw_larger_than_the_tag_is_refused(make_course, trainer, learner, enrol):
    # Five are left beside the fixed one.
    course, lesson, _fixed, _tagged = tagged_course(make_course, trainer, draw=6)
    with pytest.raises(quiz.QuizUnavailable, match="fewer questions tagged “acak”"):
        quiz.start(enrol(learner, course), lesson, now=T0)


def test_questions_and_options_are_shuffled_per_attempt(make_course, trainer, course_with, learner, make_user,
                                                        enrol):
    course, lesson, _fixed, tagged = tagged_course(make_course, trainer, draw=5, fixed=False, shuffle=True)
    orders = set()
    for seed in range(6):
        attempt = quiz.start(enrol(make_user(), course), lesson, now=T0, rng=random.Random(seed))
        orders.add(tuple(item.question_key for item in attempt.items))
    assert len(orders) > 1
    course, (shuffled,) = course_with(("Post-test", {"kind": "post", "shuffle_options": True}))
    layouts = set()
    for seed in range(6):
        attempt = quiz.start(enrol(make_user(), course), shuffled, now=T0, rng=random.Random(seed))
        item = item_named(attempt, "Prima")
        assert sorted(item.layout["options"]) == [0, 1, 2]
        layouts.add(tuple(item.layout["options"]))
    assert len(layouts) > 1


def test_starting_freezes_the_questions_and_a_later_edit_makes_version_2(taking, trainer):
    enrolment, lesson = taking()
    question = db.session.scalar(select(Question).where(Question.name == "Ibukota"))
    assert not question.is_used
    attempt = quiz.start(enrolment, lesson, now=T0)
    # Still in the same transaction: the service sees the question as used without a reload.
    assert question.is_used
    newer = banks.edit_question(question, actor=trainer, prompt_html="<p>Ibu kota Provinsi Jawa Barat?</p>")
    db.session.commit()
    db.session.expire_all()
    assert (newer.version, newer.is_current) == (2, True)
    old = db.session.get(Question, question.id)
    assert (old.version, old.is_current, old.prompt_html) == (1, False, "<p>Ibukota Jawa Barat?</p>")
    item = item_named(attempt, "Ibukota")
    assert (item.question_id, item.question.version) == (old.id, 1)
    assert all(q.is_used for q in db.session.scalars(select(Question).where(Question.version == 1)))


def test_a_new_attempt_asks_the_current_version(taking, trainer):
    enrolment, lesson = taking()
    first = quiz.start(enrolment, lesson, now=T0)
    quiz.submit(first, now=T0)
    db.session.commit()
    newer = banks.edit_question(item_named(first, "Ibukota").question, actor=trainer, name="Ibukota")
    second = quiz.start(enrolment, lesson, now=T0 + dt.timedelta(hours=1))
    db.session.commit()
    assert item_named(second, "Ibukota").question_id == newer.id
    assert item_named(first, "Ibukota").question.version == 1


# ---------------------------------------------------------------- saving


def test_a_save_with_a_higher_number_wins(taking):
    enrolment, lesson = taking()
    attempt = quiz.start(enrolment, lesson, now=T0)
    db.session.commit()
    user = enrolment.user_id

    def save(seq, response):
        saved = quiz.save(attempt.id, 0, seq=seq, response=response, user_id=user, now=T0)
        db.session.commit()
        return saved

    assert save(5, {"choice": 1}).accepted
    stale = save(3, {"choice": 2})
    assert (stale.accepted, stale.seq, stale.reason) == (False, 5, "stale")
    equal = save(5, {"choice": 0})
    assert (equal.accepted, equal.seq, equal.reason) == (False, 5, "stale")
    db.session.expire_all()
    assert (attempt.items[0].response, attempt.items[0].seq) == ({"choice": 1}, 5)
    newer = save(6, None)
    assert (newer.accepted, newer.seq, newer.reason) == (True, 6, "")
    db.session.expire_all()
    assert (attempt.items[0].response, attempt.items[0].seq) == (None, 6), "clearing an answer is an answer"


def test_saves_keep_the_canonical_answer(taking):
    enrolment, lesson = taking()
    attempt = quiz.start(enrolment, lesson, now=T0)
    prima = item_named(attempt, "Prima")
    quiz.save(attempt.id, prima.position, seq=1, response={"choices": [1, 0, 1]}, user_id=enrolment.user_id)
    db.session.commit()
    db.session.expire_all()
    assert prima.response == {"choices": [0, 1]}
    assert prima.saved_at is not None


def test_saves_are_refused_once_the_attempt_is_submitted(taking):
    enrolment, lesson = taking()
    attempt = quiz.start(enrolment, lesson, now=T0)
    quiz.save(attempt.id, 0, seq=1, response={"choice": 0}, user_id=enrolment.user_id, now=T0)
    quiz.submit(attempt, now=T0)
    db.session.commit()
    late = quiz.save(attempt.id, 0, seq=2, response={"choice": 1}, user_id=enrolment.user_id, now=T0)
    assert (late.accepted, late.seq, late.reason) == (False, 1, "closed")
    db.session.expire_all()
    assert attempt.items[0].response == {"choice": 0}


def test_saves_in_flight_are_taken_for_the_grace_period(taking):
    enrolment, lesson = taking(time_limit=10)
    attempt = quiz.start(enrolment, lesson, now=T0)
    db.session.commit()
    deadline = T0 + dt.timedelta(minutes=10)
    in_grace = quiz.save(attempt.id, 0, seq=1, response={"choice": 0}, user_id=enrolment.user_id,
                         now=deadline + quiz.GRACE)
    assert in_grace.accepted
    too_late = quiz.save(attempt.id, 0, seq=2, response={"choice": 1}, user_id=enrolment.user_id,
                         now=deadline + quiz.GRACE + dt.timedelta(seconds=1))
    assert (too_late.accepted, too_late.reason, too_late.seq) == (False, "closed", 1)
    assert attempt.is_open, "a refused late save does not close the attempt; the deadline job does"


def test_an_answer_that_does_not_fit_changes_nothing(taking):
    enrolment, lesson = taking()
    attempt = quiz.start(enrolment, lesson, now=T0)
    quiz.save(attempt.id, 0, seq=1, response={"choice": 0}, user_id=enrolment.user_id, now=T0)
    db.session.commit()
    for response in ({"choice": 7}, {"choices": [0]}, {"text": "Bandung"}, "Bandung"):
        with pytest.raises(grading.BadResponse):
            quiz.save(attempt.id, 0, seq=2, response=response, user_id=enrolment.user_id, now=T0)
        db.session.rollback()
    for seq in (0, -1, "2", 2.0, True, None, 2**62):
        with pytest.raises(grading.BadResponse):
            quiz.save(attempt.id, 0, seq=seq, response={"choice": 1}, user_id=enrolment.user_id, now=T0)
        db.session.rollback()
    db.session.expire_all()
    assert (attempt.items[0].response, attempt.items[0].seq) == ({"choice": 0}, 1)


def test_nobody_saves_into_another_learners_attempt(taking, make_user):
    enrolment, lesson = taking()
    attempt = quiz.start(enrolment, lesson, now=T0)
    db.session.commit()
    with pytest.raises(LookupError):
        quiz.save(attempt.id, 0, seq=1, response={"choice": 0}, user_id=make_user().id, now=T0)
    with pytest.raises(LookupError):
        quiz.save(attempt.id + 1000, 0, seq=1, response={"choice": 0}, user_id=enrolment.user_id, now=T0)
    with pytest.raises(LookupError):
        quiz.save(attempt.id, 99, seq=1, response={"choice": 0}, user_id=enrolment.user_id, now=T0)
    db.session.expire_all()
    assert attempt.items[0].seq == 0


# ---------------------------------------------------------------- submitting and the deadline


def test_submitting_twice_grades_once(taking):
    enrolment, lesson = taking()
    attempt = quiz.start(enrolment, lesson, now=T0)
    answer_right(attempt, but={"Ibukota": {"choice": 1}})
    assert quiz.submit(attempt, now=T0 + dt.timedelta(minutes=5))
    db.session.commit()
    graded_at, score = attempt.graded_at, attempt.score
    assert not quiz.submit(attempt, now=T0 + dt.timedelta(minutes=6))
    assert not quiz.submit(attempt, by="deadline", now=T0 + dt.timedelta(minutes=7))
    db.session.commit()
    db.session.expire_all()
    assert (attempt.state, attempt.closed_by, attempt.graded_at, attempt.score) == (
        "finished", "learner", graded_at, score)
    assert attempt.submitted_at == T0 + dt.timedelta(minutes=5)
    assert (score, attempt.marks) == (round(100 * 6 / 7, 2), 6.0)
    assert submit_events(attempt) == 1


def test_abandoned_attempts_are_closed_with_what_was_saved(taking, make_user, enrol):
    enrolment, lesson = taking(time_limit=10)
    gone = quiz.start(enrolment, lesson, now=T0)
    answer_right(gone, but={"Ibukota": None, "Prima": None})
    later = quiz.start(enrol(make_user(), enrolment.course), lesson, now=T0 + dt.timedelta(minutes=5))
    db.session.commit()

    assert quiz.close_overdue(now=T0 + dt.timedelta(minutes=10) + quiz.GRACE) == 0, "still in the grace"
    assert quiz.close_overdue(now=T0 + dt.timedelta(minutes=11)) == 1
    db.session.commit()
    db.session.expire_all()
    assert (gone.state, gone.closed_by, gone.marks, gone.score) == (
        "finished", "deadline", 5.0, round(500 / 7, 2))
    assert gone.submitted_at == T0 + dt.timedelta(minutes=11)
    assert later.is_open
    assert quiz.close_overdue(now=T0 + dt.timedelta(minutes=12)) == 0, "closing is idempotent"
    assert quiz.close_overdue(now=T0 + dt.timedelta(minutes=16)) == 1
    db.session.commit()
    assert submit_events(gone) == submit_events(later) == 1


def test_attempts_without_a_deadline_are_never_closed_by_the_job(taking):
    enrolment, lesson = taking()
    attempt = quiz.start(enrolment, lesson, now=T0)
    db.session.commit()
    assert quiz.close_overdue(now=T0 + dt.timedelta(days=400)) == 0
    assert not quiz.close_if_overdue(attempt, now=T0 + dt.timedelta(days=400))
    assert attempt.is_open


def test_returning_after_the_deadline_closes_the_attempt_and_starts_afresh(taking):
    enrolment, lesson = taking(time_limit=10)
    first = quiz.start(enrolment, lesson, now=T0)
    answer_right(first)
    db.session.commit()
    assert quiz.start(enrolment, lesson, now=T0 + dt.timedelta(minutes=10, seconds=20)).id == first.id
    second = quiz.start(enrolment, lesson, now=T0 + dt.timedelta(minutes=11))
    db.session.commit()
    assert second.id != first.id
    assert second.number == 2
    assert (first.state, first.closed_by, first.score) == ("finished", "deadline", 100.0)


# ---------------------------------------------------------------- completion and the certificate


def completed_course(course_with, learner, enrol, *quizzes, essay=False):
    course, lessons = course_with(*quizzes, essay=essay)
    enrolment = enrol(learner, course)
    study(enrolment, [lesson for lesson in enrolment.version.lessons() if lesson.kind != "quiz"])
    return enrolment, lessons


def take(enrolment, lesson, *, now=T0, **answers) -> Attempt:
    attempt = quiz.start(enrolment, lesson, now=now)
    answer_right(attempt, **answers)
    quiz.submit(attempt, now=now)
    db.session.commit()
    return attempt


def test_a_passed_post_test_completes_the_course_and_issues_the_certificate(course_with, learner, enrol):
    from certificates.models import Certificate, Issuer

    db.session.add(Issuer(code="BPSDM", name="BPSDM Provinsi Jawa Barat", city="Bandung", is_default=True))
    db.session.commit()
    enrolment, (lesson,) = completed_course(course_with, learner, enrol, ("Post-test", {"kind": "post",
                                                                                         "pass_score": 80}))
    failed = take(enrolment, lesson, but={"Ibukota": None, "Prima": None})
    assert (failed.score, failed.passed) == (round(500 / 7, 2), False)
    assert enrolment.state == "active"
    assert progress(enrolment, lesson).state != "done"
    assert db.session.scalar(select(Certificate)) is None

    passed = take(enrolment, lesson, now=T0 + dt.timedelta(days=1), but={"Urutan": {"order": [0, 2, 1]}})
    db.session.expire_all()
    assert (passed.passed, passed.score) == (True, round(100 * (6 + 1 / 3) / 7, 2))
    assert enrolment.state == "completed"
    row = progress(enrolment, lesson)
    assert (row.state, row.score) == ("done", 90)
    certificate = db.session.scalar(select(Certificate).where(Certificate.enrolment_id == enrolment.id))
    assert certificate is not None
    assert certificate.snapshot["result"]["score"] == 90 == quiz.final_score(enrolment)


def test_a_failed_post_test_does_not_complete_the_course(course_with, learner, enrol):
    enrolment, (lesson,) = completed_course(course_with, learner, enrol, ("Post-test", {"kind": "post",
                                                                                         "pass_score": 100}))
    attempt = take(enrolment, lesson, but={"Singkatan": {"text": "PNS"}})
    assert (attempt.state, attempt.passed) == ("finished", False)
    db.session.expire_all()
    assert (enrolment.state, enrolment.progress_percent) == ("active", 50)
    assert progress(enrolment, lesson).state != "done"
    assert quiz.final_score(enrolment) is None


def test_pre_tests_and_practice_only_need_to_be_taken(course_with, learner, enrol):
    enrolment, (pre, practice, post) = completed_course(
        course_with, learner, enrol, ("Pre-test", {"kind": "pre"}), ("Latihan", {"kind": "practice"}),
        ("Post-test", {"kind": "post"}))
    nothing = dict.fromkeys(("Ibukota", "Prima", "Bumi bulat", "Singkatan", "JP", "Urutan", "Pasangan"))
    take(enrolment, pre, but=nothing)
    take(enrolment, practice, but=nothing)
    db.session.expire_all()
    assert progress(enrolment, pre).state == progress(enrolment, practice).state == "done"
    assert progress(enrolment, pre).score == 0
    assert enrolment.state == "active", "the post-test is still to be passed"
    take(enrolment, post)
    db.session.expire_all()
    assert enrolment.state == "completed"


def test_the_final_score_is_the_best_passed_post_test(course_with, learner, enrol):
    enrolment, (pre, post) = completed_course(course_with, learner, enrol, ("Pre-test", {"kind": "pre"}),
                                              ("Post-test", {"kind": "post", "pass_score": 70}))
    take(enrolment, pre)  # 100 on the pre-test does not count
    assert quiz.final_score(enrolment) is None
    take(enrolment, post, but={"Ibukota": None, "Prima": None, "JP": None})  # 57.14: not passed
    assert quiz.final_score(enrolment) is None
    take(enrolment, post, but={"Ibukota": None, "Prima": {"choices": [0]}})  # 78.57
    take(enrolment, post, but={"Ibukota": None})  # 85.71
    take(enrolment, post, but={"Ibukota": None, "Prima": None})  # 71.43
    assert quiz.final_score(enrolment) == 86


def test_a_required_post_test_must_be_passed_even_when_progress_says_done(course_with, learner, enrol):
    """The completion rule asks the quiz, not only lesson progress (which a regrade or a bug could skew)."""
    enrolment, (lesson,) = completed_course(course_with, learner, enrol, POST)
    services.record_result(enrolment, lesson, completed=True, score=100)
    db.session.commit()
    assert enrolment.state == "active"


# ---------------------------------------------------------------- essays


def test_essays_wait_for_the_owner_and_grading_finishes_the_attempt(course_with, learner, enrol, trainer,
                                                                    make_user):
    enrolment, (lesson,) = completed_course(course_with, learner, enrol, POST, essay=True)
    attempt = take(enrolment, lesson, essay="Integritas adalah satunya kata dan perbuatan.")
    assert (attempt.state, enrolment.state) == ("needs_grading", "active")
    essay = item_named(attempt, "Esai")
    assert db.session.scalars(quiz.grading_queue(trainer)).all() == [essay]
    assert db.session.scalars(quiz.grading_queue(make_user(roles=("trainer",)))).all() == []
    assert db.session.scalars(quiz.grading_queue(make_user(roles=("admin",)))).all() == [essay]

    for mark in (-0.5, 1.5, float("nan"), "1"):
        with pytest.raises(ValidationFailed):
            quiz.grade_item(essay, mark=mark, comment="", actor=trainer)
    assert (essay.needs_grading, attempt.state) == (True, "needs_grading")

    quiz.grade_item(essay, mark=1, comment="  Jelas dan runtut. ", actor=trainer)
    db.session.commit()
    db.session.expire_all()
    assert (essay.mark, essay.fraction, essay.comment, essay.graded_by_id) == (1.0, 1.0, "Jelas dan runtut.",
                                                                               trainer.id)
    assert (attempt.state, attempt.score, attempt.passed) == ("finished", 100.0, True)
    assert enrolment.state == "completed"
    assert db.session.scalars(quiz.grading_queue(trainer)).all() == []
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "quiz.grade")) == 1


def test_a_low_essay_mark_fails_the_attempt(course_with, learner, enrol, trainer):
    enrolment, (lesson,) = completed_course(course_with, learner, enrol, ("Post-test", {"kind": "post",
                                                                                         "pass_score": 90}),
                                            essay=True)
    attempt = take(enrolment, lesson, essay="Tidak tahu.")
    quiz.grade_item(item_named(attempt, "Esai"), mark=0, comment="Belum menjawab.", actor=trainer)
    db.session.commit()
    assert (attempt.state, attempt.score, attempt.passed) == ("finished", 87.5, False)
    assert enrolment.state == "active"


def test_an_attempt_in_progress_cannot_be_graded(taking, trainer):
    enrolment, lesson = taking(essay=True)
    attempt = quiz.start(enrolment, lesson, now=T0)
    with pytest.raises(ServiceError, match="still in progress"):
        quiz.grade_item(item_named(attempt, "Esai"), mark=1, comment="", actor=trainer)


# ---------------------------------------------------------------- regrading


def fix_capital_key(trainer, answers=None) -> Question:
    """The trainer "fixes" Ibukota: Surabaya (position 1) becomes the right answer."""
    question = db.session.scalar(select(Question).where(Question.name == "Ibukota", Question.is_current))
    return banks.edit_question(question, actor=trainer, answers=answers or [
        {"text_html": "Bandung", "fraction": 0.0}, {"text_html": "Surabaya", "fraction": 1.0},
        {"text_html": "Semarang", "fraction": 0.0}])


def test_a_regrade_recomputes_finished_attempts_and_completes_the_course(course_with, learner, enrol, trainer,
                                                                         make_user):
    enrolment, (lesson,) = completed_course(course_with, learner, enrol, ("Post-test", {"kind": "post",
                                                                                         "pass_score": 100}))
    attempt = take(enrolment, lesson, but={"Ibukota": {"choice": 1}})
    right_before = take(enrol(make_user(), enrolment.course), lesson)
    busy = quiz.start(enrol(make_user(), enrolment.course), lesson, now=T0)
    quiz.save(busy.id, item_named(busy, "Ibukota").position, seq=1, response={"choice": 1},
              user_id=busy.user_id)
    db.session.commit()
    assert (attempt.score, attempt.passed, enrolment.state) == (round(600 / 7, 2), False, "active")

    newer = fix_capital_key(trainer)
    report = quiz.regrade_question(newer.key, actor=trainer)
    db.session.commit()
    db.session.expire_all()
    assert (report.attempts, report.items, report.newly_passed, report.newly_failed) == (2, 2, 1, 1)
    assert len(report.skipped) == 1
    assert "1 answers are in attempts still in progress" in report.skipped[0]
    assert (attempt.score, attempt.passed) == (100.0, True)
    assert item_named(attempt, "Ibukota").question_id == newer.id
    assert enrolment.state == "completed"
    assert progress(enrolment, lesson).score == 100
    assert (right_before.score, right_before.passed) == (round(600 / 7, 2), False)
    assert item_named(busy, "Ibukota").question.version == 1, "an attempt in progress keeps its version"
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "quiz.regrade")) == 1

    # The regraded attempts now show version 2: it is frozen like any version learners answered.
    assert db.session.get(Question, newer.id).is_used
    third = banks.edit_question(db.session.get(Question, newer.id), actor=trainer, name="Ibukota provinsi")
    db.session.commit()
    assert third.version == 3
    assert item_named(attempt, "Ibukota").question.name == "Ibukota"


def test_a_regrade_with_nothing_to_change_changes_nothing(course_with, learner, enrol, trainer):
    enrolment, (lesson,) = completed_course(course_with, learner, enrol, POST)
    attempt = take(enrolment, lesson)
    question = item_named(attempt, "Ibukota").question
    newer = banks.edit_question(question, actor=trainer, prompt_html="<p>Ibu kota Jawa Barat?</p>")
    report = quiz.regrade_question(newer.key, actor=trainer)
    db.session.commit()
    assert (report.attempts, report.items, report.newly_passed, report.skipped) == (0, 1, 0, [])
    assert attempt.score == 100.0


def test_versions_with_other_options_are_reported_not_regraded(course_with, learner, enrol, trainer):
    enrolment, (lesson,) = completed_course(course_with, learner, enrol, ("Post-test", {"kind": "post",
                                                                                         "pass_score": 100}))
    attempt = take(enrolment, lesson, but={"Ibukota": {"choice": 1}})
    newer = fix_capital_key(trainer, answers=[
        {"text_html": "Bandung", "fraction": 0.0}, {"text_html": "Surabaya", "fraction": 1.0},
        {"text_html": "Semarang", "fraction": 0.0}, {"text_html": "Bogor", "fraction": 0.0}])
    report = quiz.regrade_question(newer.key, actor=trainer)
    db.session.commit()
    db.session.expire_all()
    assert (report.attempts, report.items) == (0, 0)
    assert report.skipped == ["Version 1 has different options, so its answers cannot be regraded with the "
                              "current version."]
    assert (attempt.score, attempt.passed, item_named(attempt, "Ibukota").question.version) == (
        round(600 / 7, 2), False, 1)


def test_a_regrade_of_a_question_without_current_version_is_refused(trainer):
    with pytest.raises(ServiceError):
        quiz.regrade_question("no-such-key", actor=trainer)


# ---------------------------------------------------------------- at the same moment (PostgreSQL)

concurrent = pytest.mark.skipif(os.environ.get("LMS_TEST_DB", "sqlite") != "postgresql",
                                reason="concurrent writers are the PostgreSQL set-up; SQLite has one writer")


def at_once(app, *work):
    """Run each callable in its own thread, app context and session, released together; their results."""
    barrier, results, errors = threading.Barrier(len(work)), [None] * len(work), []

    def run(index, job):
        with app.app_context():
            try:
                barrier.wait(10)
                results[index] = job()
                db.session.commit()
            except Exception as exc:  # noqa: BLE001 - reported to the test
                errors.append(f"{type(exc).__name__}: {exc}")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(work)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    return results


@concurrent
def test_two_tabs_starting_at_once_get_one_attempt(app, taking):
    enrolment, lesson = taking()
    enrolment_id, lesson_id = enrolment.id, lesson.id

    def start():
        from courses.models import Lesson

        return quiz.start(db.session.get(Enrolment, enrolment_id), db.session.get(Lesson, lesson_id), now=T0).id

    first, second = at_once(app, start, start)
    assert first == second
    assert db.session.scalar(select(func.count()).select_from(Attempt)) == 1


@concurrent
def test_submitting_from_two_tabs_and_the_job_at_once_grades_once(app, taking):
    enrolment, lesson = taking(time_limit=10)
    attempt = quiz.start(enrolment, lesson, now=T0)
    answer_right(attempt)
    db.session.commit()
    attempt_id, late = attempt.id, T0 + dt.timedelta(minutes=11)

    def submit():
        return quiz.submit(db.session.get(Attempt, attempt_id), now=late)

    def job():
        return quiz.close_overdue(now=late)

    results = at_once(app, submit, submit, job)
    assert sorted([*results[:2], bool(results[2])]) == [False, False, True]
    db.session.expire_all()
    assert (attempt.state, attempt.score) == ("finished", 100.0)
    assert submit_events(attempt) == 1


@concurrent
def test_a_save_racing_the_submit_is_either_graded_or_refused(app, course_with, make_user, enrol):
    """Never accepted and then left out of the grade: the shared lock makes the submit wait for the save."""
    course, (lesson,) = course_with(POST)
    for _ in range(12):
        attempt = quiz.start(enrol(make_user(), course), lesson, now=T0)
        db.session.commit()
        attempt_id, user_id = attempt.id, attempt.user_id

        def save(attempt_id=attempt_id, user_id=user_id):
            return quiz.save(attempt_id, 0, seq=1, response={"choice": 0}, user_id=user_id, now=T0)

        def submit(attempt_id=attempt_id):
            return quiz.submit(db.session.get(Attempt, attempt_id), now=T0)

        saved, submitted = at_once(app, save, submit)
        assert submitted
        db.session.expire_all()
        first = db.session.get(Attempt, attempt_id).items[0]
        if saved.accepted:
            assert (first.response, first.mark) == ({"choice": 0}, 1.0)
        else:
            assert saved.reason == "closed"
            assert (first.response, first.mark) == (None, 0.0)
