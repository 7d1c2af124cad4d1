"""The attempt lifecycle as a state machine (hypothesis): one learner's timed attempt is started (and
started again), answers are saved in any order with stale and repeated sequence numbers, the session is
reloaded, the clock runs past the deadline while the periodic job closes abandoned attempts, and the
learner submits, maybe twice. A model keeps, per question, the highest accepted sequence number and its
answer. After every step the database must hold exactly the model's answers — none lost, none overwritten
by a stale save — and once the attempt is closed there is exactly one grade, consistent with those answers.
Each rule commits or rolls back as the request behind it would."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select

from courses import services
from courses.models import Course, Enrolment, Lesson
from courses.quizzes import attempts as quiz
from courses.quizzes import grading
from courses.quizzes.models import Attempt
from lms.extensions import db
from lms.models import AuditEvent
from tests.courses.quiz_helpers import make_quiz_course

T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
TIME_LIMIT = 10  # minutes

# What a learner may answer to each question of ``question_set``, with the mark each answer earns, worked
# out by hand (the grading code is not the oracle here).
CHOICES = {"Ibukota": {0: 1.0, 1: 0.0, 2: 0.0}, "Bumi bulat": {0: 1.0, 1: 0.0}}
PRIMES = {0: 0.5, 1: 0.5, 2: -0.5}
TEXTS = {"Singkatan": {"ASN": 1.0, "  asn ": 1.0, "Aparatur": 0.0, "a s n": 0.0},
         "JP": {"20": 1.0, "20,0": 1.0, " 19,5": 0.0, "dua puluh": 0.0}}
PAIRS = {"0": "Kepegawaian", "1": "Administrasi"}


# Autosaves: (position, seq) with small sequence numbers, so that stale and equal ones are common.
SAVES = st.lists(st.tuples(st.sampled_from(range(7)), st.integers(1, 6)), min_size=1, max_size=4)


def answers_to(name: str):
    """Answers in the form the server keeps them (so the stored answer must equal the one sent)."""
    if name in CHOICES:
        given = st.sampled_from(sorted(CHOICES[name])).map(lambda c: {"choice": c})
    elif name == "Prima":
        given = st.lists(st.sampled_from([0, 1, 2]), min_size=1, unique=True).map(
            lambda c: {"choices": sorted(c)})
    elif name in TEXTS:
        given = st.sampled_from(sorted(TEXTS[name])).map(lambda t: {"text": t})
    elif name == "Urutan":
        given = st.permutations([0, 1, 2]).map(lambda order: {"order": list(order)})
    else:
        given = st.dictionaries(st.sampled_from(["0", "1"]), st.sampled_from(["Kepegawaian", "Administrasi"]),
                                min_size=1).map(lambda pairs: {"pairs": pairs})
    return st.none() | given


def mark_of(name: str, response: dict | None) -> float:
    if response is None:
        return 0.0
    if name in CHOICES:
        return CHOICES[name][response["choice"]]
    if name == "Prima":
        return min(1.0, max(0.0, sum(PRIMES[c] for c in response["choices"])))
    if name in TEXTS:
        return TEXTS[name][response["text"]]
    if name == "Urutan":
        return sum(place == position for place, position in enumerate(response["order"])) / 3
    return sum(response["pairs"].get(item) == match for item, match in PAIRS.items()) / 2


def test_no_accepted_answer_is_lost_and_one_grade_is_given(make_course, trainer, make_user):
    course, (lesson,) = make_quiz_course(make_course, trainer, quizzes=(
        ("Post-test", {"kind": "post", "time_limit": TIME_LIMIT, "attempts": 1}),))
    course_id, lesson_id = course.id, lesson.id
    seen: list[str] = []  # what the examples went through, to show the machine reached every state

    class Attempts(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            user = make_user()
            self.user_id = user.id
            self.enrolment_id = services.enrol(user, db.session.get(Course, course_id)).id
            db.session.commit()
            self.clock = T0
            self.attempt_id: int | None = None
            self.names: dict[int, str] = {}
            self.held: dict[int, tuple[int, dict | None]] = {}  # position → (seq, answer) accepted last
            self.closed_by: str | None = None
            self.closed_at: dt.datetime | None = None

        # -------------------------------------------------------- what the model expects

        @property
        def deadline(self) -> dt.datetime:
            return T0 + dt.timedelta(minutes=TIME_LIMIT)

        @property
        def overdue(self) -> bool:
            return self.clock > self.deadline + quiz.GRACE

        @property
        def takes_answers(self) -> bool:
            return self.closed_by is None and not self.overdue

        def close(self, by: str) -> None:
            self.closed_by, self.closed_at = by, self.clock
            seen.append(f"closed by {by}")

        def start(self) -> Attempt:
            return quiz.start(db.session.get(Enrolment, self.enrolment_id), db.session.get(Lesson, lesson_id),
                              now=self.clock)

        # -------------------------------------------------------- rules

        @initialize(saves=SAVES, data=st.data())
        def first_start(self, saves, data):
            """The learner starts and answers a few questions."""
            attempt = self.start()
            db.session.commit()
            assert attempt.deadline_at == self.deadline
            self.attempt_id = attempt.id
            self.names = {item.position: item.question.name for item in attempt.items}
            self.held = {position: (0, None) for position in self.names}
            self.save(saves, data)

        @rule()
        def start_again(self):
            if self.closed_by is not None or self.overdue:
                # The only attempt allowed is closed (or closes now, which the refused request rolls back).
                with pytest.raises(quiz.QuizUnavailable, match="used all 1 attempts"):
                    self.start()
                db.session.rollback()  # as the start page does
                return
            assert self.start().id == self.attempt_id
            db.session.commit()

        @rule(saves=SAVES, data=st.data())
        def save(self, saves, data):
            """Autosaves, one request each."""
            for position, seq in saves:
                response = data.draw(answers_to(self.names[position]), label=f"answer {position}")
                saved = quiz.save(self.attempt_id, position, seq=seq, response=response, user_id=self.user_id,
                                  now=self.clock)
                db.session.commit()
                accepted = self.takes_answers and seq > self.held[position][0]
                assert saved.accepted == accepted
                if accepted:
                    self.held[position] = (seq, response)
                assert saved.seq == self.held[position][0]
                assert saved.reason == ("" if accepted else "stale" if self.takes_answers else "closed")
                late = self.clock > self.deadline
                seen.append(saved.reason or ("accepted in the grace" if late else "accepted"))
                if saved.reason == "closed" and self.closed_by is None:
                    seen.append("refused after the deadline, not closed yet")

        @rule(position=st.sampled_from(range(7)), seq=st.integers(1, 6))
        def save_what_is_refused(self, position, seq):
            """An answer to no option of the question, and somebody else's save: neither changes anything."""
            try:
                saved = quiz.save(self.attempt_id, position, seq=seq, response={"choice": 99},
                                  user_id=self.user_id, now=self.clock)
            except grading.BadResponse:
                db.session.rollback()
                assert self.takes_answers
            else:
                db.session.commit()
                assert (saved.accepted, saved.reason) == (False, "closed")
                assert not self.takes_answers
            with pytest.raises(LookupError):
                quiz.save(self.attempt_id, position, seq=seq + 10, response=None,
                          user_id=self.user_id + 10_000, now=self.clock)
            db.session.rollback()

        @rule()
        def reload(self):
            db.session.remove()

        @rule(seconds=st.sampled_from([5, 20, 45, 120, 300]), near_the_deadline=st.booleans(),
              job_runs=st.booleans())
        def time_passes(self, seconds, near_the_deadline, job_runs):
            """The clock moves on (or jumps to a moment around the deadline and its grace: 5 seconds before,
            at it, at the grace's end, a second after, a minute after); maybe the periodic job runs."""
            if near_the_deadline:
                offset = {5: -5, 20: 0, 45: 30, 120: 31, 300: 90}[seconds]
                self.clock = max(self.clock, self.deadline + dt.timedelta(seconds=offset))
            else:
                self.clock += dt.timedelta(seconds=seconds)
            if not job_runs:
                return
            closed = quiz.close_overdue(now=self.clock)
            db.session.commit()
            if self.closed_by is None and self.overdue:
                assert closed == 1
                self.close("deadline")
            else:
                assert closed == 0

        @rule()
        def finish(self):
            """The finish page's POST, as often as the learner clicks."""
            attempt = db.session.get(Attempt, self.attempt_id)
            did = attempt.state == "in_progress" and (quiz.close_if_overdue(attempt, now=self.clock)
                                                      or quiz.submit(attempt, now=self.clock))
            db.session.commit()
            assert did == (self.closed_by is None)
            if did:
                self.close("deadline" if self.overdue else "learner")

        def teardown(self):
            # Later examples run the periodic job too: this attempt must not be theirs to close.
            db.session.rollback()
            attempt = db.session.get(Attempt, self.attempt_id) if self.attempt_id else None
            if attempt is not None and attempt.is_open:
                quiz.submit(attempt, by="staff", now=self.clock)
            db.session.commit()

        # -------------------------------------------------------- invariants

        @invariant()
        def the_database_holds_every_accepted_answer(self):
            if self.attempt_id is None:
                return
            db.session.expire_all()
            attempt = db.session.get(Attempt, self.attempt_id)
            assert {item.position: (item.seq, item.response) for item in attempt.items} == self.held
            assert db.session.scalar(select(func.count()).select_from(Attempt).where(
                Attempt.enrolment_id == self.enrolment_id)) == 1

        @invariant()
        def a_closed_attempt_has_exactly_one_grade(self):
            if self.attempt_id is None:
                return
            attempt = db.session.get(Attempt, self.attempt_id)
            submits = db.session.scalar(select(func.count()).select_from(AuditEvent).where(
                AuditEvent.action == "quiz.submit", AuditEvent.object_id == str(self.attempt_id)))
            if self.closed_by is None:
                assert (attempt.state, attempt.marks, attempt.graded_at, submits) == (
                    "in_progress", None, None, 0)
                return
            assert (attempt.state, attempt.closed_by, attempt.submitted_at, submits) == (
                "finished", self.closed_by, self.closed_at, 1)
            marks = {item.position: item.mark for item in attempt.items}
            expected = {position: mark_of(self.names[position], response)
                        for position, (_seq, response) in self.held.items()}
            assert marks == pytest.approx(expected, abs=1e-4)
            assert attempt.marks == pytest.approx(sum(expected.values()), abs=1e-3)
            assert attempt.score == round(100 * attempt.marks / 7, 2)
            assert attempt.passed == (attempt.score >= 65)

    run_state_machine_as_test(Attempts, settings=settings(
        max_examples=30, stateful_step_count=25, deadline=None, database=None,
        suppress_health_check=[HealthCheck.too_slow]))
    # The examples reached every kind of step (a machine that never saved would prove nothing).
    assert {"accepted", "stale"} <= set(seen)
    assert {"closed by learner", "closed by deadline"} & set(seen)
