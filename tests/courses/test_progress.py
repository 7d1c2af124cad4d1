"""Enrolment rules, lesson progress, the completion rule and the ``course_completed`` signal, JP earned."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm.attributes import set_committed_value

from courses import services, signals
from courses.models import Enrolment, LessonProgress
from lms.extensions import db
from lms.models import AuditEvent
from tests.courses.helpers import study


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def completions():
    """Every ``course_completed`` sent while the test runs, as (sender, enrolment id)."""
    sent = []

    def receiver(sender, enrolment):
        sent.append(enrolment.id)

    with signals.course_completed.connected_to(receiver):
        yield sent


# ---------------------------------------------------------------- enrolment


def test_enrol_is_idempotent(make_course, learner, enrol):
    course = make_course()
    first = enrol(learner, course)
    second = enrol(learner, course)
    assert first.id == second.id
    assert count(Enrolment, Enrolment.user_id == learner.id) == 1
    assert (first.version_id, first.cycle, first.source, first.state) == (
        course.published_version_id, 1, "self", "active")


def test_enrolling_in_an_unpublished_course_is_refused(make_course, learner):
    course = make_course(publish=False)
    with pytest.raises(services.NotEligible):
        services.enrol(learner, course)
    assert count(Enrolment) == 0


def test_closed_course_refuses_self_enrolment_but_accepts_assignment(make_course, learner, make_user):
    course = make_course(is_open=False)
    with pytest.raises(services.NotEligible):
        services.enrol(learner, course)
    assert count(Enrolment) == 0
    hr = make_user(roles=("hr",))
    due = dt.date.today() + dt.timedelta(days=30)
    [enrolment] = services.assign(course, [learner], due_on=due, actor=hr)
    assert (enrolment.source, enrolment.due_on, enrolment.assigned_by_id) == ("assigned", due, hr.id)
    # Once assigned, the closed course is visible to this person (only).
    assert services.can_view_course(learner, course)
    assert not services.can_view_course(make_user(), course)


def test_assigning_an_enrolled_learner_keeps_the_enrolment_and_sets_the_due_date(make_course, learner, enrol,
                                                                                make_user):
    course = make_course()
    enrolment = enrol(learner, course)
    study(enrolment, enrolment.version.lessons()[:1])
    due = dt.date.today() + dt.timedelta(days=7)
    [assigned] = services.assign(course, [learner], due_on=due, actor=make_user(roles=("hr",)))
    assert assigned.id == enrolment.id
    assert (assigned.source, assigned.due_on, assigned.progress_percent) == ("assigned", due, 33)


def test_prerequisites_are_enforced(make_course, learner, trainer):
    basic = make_course(code="PM-01", lessons=("Dasar",))
    advanced = make_course(code="PM-02")
    services.set_prerequisites(advanced, [basic], actor=trainer)
    db.session.commit()
    assert services.missing_prerequisites(learner, advanced) == [basic]
    with pytest.raises(services.NotEligible) as refused:
        services.enrol(learner, advanced)
    assert "PM-01" in str(refused.value)
    assert count(Enrolment, Enrolment.course_id == advanced.id) == 0

    # Enrolled in the prerequisite is not enough: it must be completed.
    enrolment = services.enrol(learner, basic)
    with pytest.raises(services.NotEligible):
        services.enrol(learner, advanced)
    study(enrolment)
    assert enrolment.state == "completed"
    assert services.missing_prerequisites(learner, advanced) == []
    assert services.enrol(learner, advanced).state == "active"


def test_prerequisites_cannot_form_a_circle(make_course, trainer):
    a, b, c = make_course(code="A-1"), make_course(code="B-1"), make_course(code="C-1")
    services.set_prerequisites(b, [a], actor=trainer)
    services.set_prerequisites(c, [b], actor=trainer)
    from lms.services import ValidationFailed

    with pytest.raises(ValidationFailed):
        services.set_prerequisites(a, [c], actor=trainer)


# ---------------------------------------------------------------- completion


def test_completion_happens_once_and_is_announced_once(make_course, learner, enrol, completions):
    course = make_course(lessons=("Pengantar", "Penutup"))
    enrolment = enrol(learner, course)
    first, last = enrolment.version.lessons()
    services.record_visit(enrolment, first)
    assert enrolment.state == "active"
    assert enrolment.progress_percent == 50
    assert completions == []
    for _ in range(3):
        services.record_visit(enrolment, last, seconds=30)
        services.evaluate_completion(enrolment)
    assert services.evaluate_completion(enrolment) is False
    db.session.commit()
    assert completions == [enrolment.id]
    db.session.expire_all()
    enrolment = db.session.get(Enrolment, enrolment.id)
    assert enrolment.state == "completed"
    assert enrolment.progress_percent == 100
    assert enrolment.completed_at is not None
    assert count(AuditEvent, AuditEvent.action == "course.complete") == 1


def test_a_stale_copy_of_the_enrolment_cannot_complete_it_again(make_course, learner, enrol, completions):
    """Two requests that both saw the enrolment active: the conditional update lets only one through."""
    course = make_course(lessons=("Pengantar",))
    enrolment = enrol(learner, course)
    services.record_visit(enrolment, enrolment.version.lessons()[0])
    db.session.commit()
    assert completions == [enrolment.id]
    # The second request still holds the row as it was before the first one completed it.
    set_committed_value(enrolment, "state", "active")
    assert services.evaluate_completion(enrolment) is False
    assert completions == [enrolment.id]
    assert enrolment.state == "completed", "the loser re-reads the row"
    assert count(AuditEvent, AuditEvent.action == "course.complete") == 1


def test_a_listener_that_fails_aborts_the_completion(make_course, learner, enrol):
    course = make_course(lessons=("Pengantar",))
    enrolment = enrol(learner, course)
    enrolment_id = enrolment.id

    def broken(sender, enrolment):
        raise RuntimeError("certificate numbering is down")

    with signals.course_completed.connected_to(broken), pytest.raises(RuntimeError):
        services.record_visit(enrolment, enrolment.version.lessons()[0])
    db.session.rollback()
    assert db.session.get(Enrolment, enrolment_id).state == "active"


def test_a_requirement_receiver_returning_false_blocks_completion(make_course, learner, enrol, completions):
    course = make_course(lessons=("Pengantar",))
    enrolment = enrol(learner, course)
    asked = []

    def post_test_not_passed(sender, enrolment):
        asked.append(enrolment.id)
        return False

    with signals.completion_requirements.connected_to(post_test_not_passed):
        study(enrolment)
        assert services.evaluate_completion(enrolment) is False
    assert asked
    assert enrolment.state == "active"
    assert completions == []
    assert enrolment.progress_percent == 100  # every lesson is done; the post-test is what is missing

    def passed(sender, enrolment):
        return True

    with signals.completion_requirements.connected_to(passed):
        assert services.evaluate_completion(enrolment) is True
    assert enrolment.state == "completed"
    assert completions == [enrolment.id]


def test_optional_lessons_are_not_needed_for_completion(make_course, learner, enrol):
    course = make_course(lessons=("Inti", {"title": "Bacaan tambahan", "is_required": False}))
    enrolment = enrol(learner, course)
    study(enrolment, enrolment.version.lessons()[:1])
    assert enrolment.state == "completed"


def test_min_time_lesson_needs_the_heartbeat_seconds(make_course, learner, enrol):
    course = make_course(lessons=({"title": "Video kebijakan", "completion_rule": "min_time",
                                   "completion_value": 3},))
    enrolment = enrol(learner, course)
    lesson = enrolment.version.lessons()[0]
    row = services.record_visit(enrolment, lesson)  # opening the page
    assert (row.state, row.seconds_spent) == ("in_progress", 0)
    row = services.record_visit(enrolment, lesson, seconds=10_000)  # one heartbeat counts 5 minutes at most
    assert row.seconds_spent == 300
    assert row.state == "done"
    db.session.commit()
    assert enrolment.state == "completed"


def test_min_time_counts_up_heartbeat_by_heartbeat(make_course, learner, enrol):
    course = make_course(lessons=({"title": "Bacaan", "completion_rule": "min_time", "completion_value": 2},))
    enrolment = enrol(learner, course)
    lesson = enrolment.version.lessons()[0]
    for _ in range(3):
        row = services.record_visit(enrolment, lesson, seconds=35)
    assert (row.seconds_spent, row.state) == (105, "in_progress")
    row = services.record_visit(enrolment, lesson, seconds=-500)  # nonsense never takes time away
    assert row.seconds_spent == 105
    row = services.record_visit(enrolment, lesson, seconds=15)
    assert (row.seconds_spent, row.state) == (120, "done")
    assert count(LessonProgress) == 1


def test_score_rule_needs_the_score(make_course, learner, enrol):
    course = make_course(lessons=({"title": "Latihan", "completion_rule": "score", "completion_value": 70},))
    enrolment = enrol(learner, course)
    lesson = enrolment.version.lessons()[0]
    services.record_visit(enrolment, lesson)
    assert services.record_result(enrolment, lesson, completed=True, score=60).state == "in_progress"
    row = services.record_result(enrolment, lesson, completed=True, score=80)
    assert (row.state, row.score) == ("done", 80)
    assert services.record_result(enrolment, lesson, completed=True, score=10).score == 80  # best score stays
    assert enrolment.state == "completed"


def test_resume_goes_to_the_last_lesson_opened_else_the_first_not_done(make_course, learner, enrol):
    course = make_course(lessons=("Satu", "Dua", "Tiga"))
    enrolment = enrol(learner, course)
    one, two, three = enrolment.version.lessons()
    assert services.resume_lesson(enrolment).id == one.id
    services.record_visit(enrolment, three)
    assert services.resume_lesson(enrolment).id == three.id
    services.record_visit(enrolment, two)
    assert services.resume_lesson(enrolment).id == two.id


# ---------------------------------------------------------------- JP and the learner's home


def test_jp_earned_counts_courses_completed_in_the_year(make_course, learner, enrol):
    year = dt.date.today().year
    this_year = make_course(jp=4, lessons=("A",))
    last_year = make_course(jp=10, lessons=("B",))
    unfinished = make_course(jp=7, lessons=("C", "D"))
    for course in (this_year, last_year, unfinished):
        enrolment = enrol(learner, course)
        study(enrolment, enrolment.version.lessons()[:1])
    db.session.execute(update(Enrolment).where(Enrolment.course_id == last_year.id).values(
        completed_at=dt.datetime(year - 1, 12, 31, 23, 0, tzinfo=dt.UTC)))
    db.session.commit()
    assert services.jp_earned(learner, year) == 4
    assert services.jp_earned(learner, year - 1) == 10
    assert services.jp_earned(learner, year + 1) == 0


def test_jp_earned_is_per_person(make_course, learner, make_user, enrol):
    course = make_course(jp=6, lessons=("A",))
    study(enrol(learner, course))
    other = make_user()
    enrol(other, course)
    assert services.jp_earned(learner, dt.date.today().year) == 6
    assert services.jp_earned(other, dt.date.today().year) == 0


def test_learner_overview_sorts_assigned_in_progress_and_completed(make_course, learner, enrol, make_user):
    hr = make_user(roles=("hr",))
    done = make_course(code="DONE-1", lessons=("A",))
    study(enrol(learner, done))
    studying = make_course(code="NOW-1")
    enrol(learner, studying)
    later = make_course(code="LATE-1")
    soon = make_course(code="SOON-1")
    today = dt.date.today()
    services.assign(later, [learner], due_on=today + dt.timedelta(days=60), actor=hr)
    services.assign(soon, [learner], due_on=today + dt.timedelta(days=5), actor=hr)
    db.session.commit()
    overview = services.learner_overview(learner)
    assert [e.course.code for e in overview["assigned"]] == ["SOON-1", "LATE-1"]
    assert [e.course.code for e in overview["in_progress"]] == ["NOW-1"]
    assert [e.course.code for e in overview["completed"]] == ["DONE-1"]
