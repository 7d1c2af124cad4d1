"""Taking a quiz through the pages: start, autosave (JSON) and the plain form, finish, the result and what
its review may show; the server's deadline; trainers' settings and essay grading; and who may open what —
a learner never reaches another learner's attempt, nor any key before the quiz's review settings allow."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select, update

from courses import services
from courses.models import Enrolment
from courses.quizzes import attempts as quiz
from courses.quizzes import services as banks
from courses.quizzes.grading import to_display
from courses.quizzes.models import Attempt, AttemptItem
from courses.quizzes.settings import save_quiz
from lms.extensions import db
from lms.models import AuditEvent
from tests.courses.helpers import study
from tests.courses.quiz_helpers import make_quiz_course, right_answer, shown_answer

# Strings only the key holds: none may reach a learner before the review settings say so.
SECRETS = {
    "feedback": ["UMPAN-BENAR", "UMPAN-SALAH", "UMUM-RAHASIA"],
    "correct": ["JAWABAN-RAHASIA", "SETENGAH-RAHASIA", "4242", "badge ok", "Accepted answers",
                "Correct pairs", "Correct order"],
}


def location(response) -> str:
    assert response.status_code in (302, 303), (response.status_code, response.get_data(as_text=True)[:500])
    return response.headers["Location"]


def switch(client, login, user) -> None:
    """Sign out, then in as ``user``."""
    client.post("/akun/keluar")
    login(user)


def flashes(client) -> str:
    """The page the last redirect led to (its flash messages included)."""
    return client.get("/").get_data(as_text=True)


def secret_quiz(make_course, owner, *, review, closes_at=None, code=None):
    """A course with a text lesson and a post-test whose every key, fraction and feedback is a marked string
    (see SECRETS), with options in their stored order. Returns (course, quiz lesson)."""
    course = make_course(owner, code=code, lessons=("Materi",), publish=False)
    bank = banks.bank_for(course)
    make = banks.create_question
    questions = [
        make(bank, actor=owner, type="single", name="Ibukota", prompt_html="<p>Ibukota Jawa Barat?</p>",
             general_feedback_html="<p>UMUM-RAHASIA</p>",
             answers=[{"text_html": "Bandung", "fraction": 1.0, "feedback_html": "<p>UMPAN-BENAR</p>"},
                      {"text_html": "Surabaya", "fraction": 0.0, "feedback_html": "<p>UMPAN-SALAH</p>"}]),
        make(bank, actor=owner, type="multi", name="Prima", prompt_html="<p>Bilangan prima?</p>",
             answers=[{"text_html": "dua", "fraction": 0.5}, {"text_html": "tiga", "fraction": 0.5},
                      {"text_html": "empat", "fraction": -0.5}]),
        make(bank, actor=owner, type="shortanswer", name="Sandi", prompt_html="<p>Kata sandi?</p>",
             answers=[{"text_html": "JAWABAN-RAHASIA", "fraction": 1.0},
                      {"text_html": "SETENGAH-RAHASIA", "fraction": 0.5}]),
        make(bank, actor=owner, type="numerical", name="Angka", prompt_html="<p>Berapa?</p>",
             answers=[{"text_html": "4242.5", "fraction": 1.0, "tolerance": 0.25}]),
        make(bank, actor=owner, type="matching", name="Pasangan", prompt_html="<p>Pasangkan.</p>",
             answers=[{"text_html": "BKN", "match_text": "Kepegawaian"},
                      {"text_html": "LAN", "match_text": "Administrasi"}]),
    ]
    lesson = services.add_lesson(course.draft.modules[0], kind="quiz", title="Post-test")
    save_quiz(lesson, {"kind": "post", "shuffle_options": False, "review": review, "closes_at": closes_at,
                       "slots": [{"key": q.key, "mark": 1} for q in questions]}, actor=owner)
    services.publish(course.draft, actor=owner)
    db.session.commit()
    return course, lesson


ALWAYS = {"answers": "after_attempt", "correct": "after_attempt", "feedback": "after_attempt"}
ON_CLOSE = {"answers": "after_attempt", "correct": "after_close", "feedback": "after_close"}
NEVER = {"answers": "never", "correct": "never", "feedback": "never"}


@pytest.fixture
def post_test(make_course, trainer):
    """``post_test(essay=False, **settings)`` → (course, lesson): make_quiz_course's one post-test."""

    def make(essay=False, code=None, **settings):
        course, (lesson,) = make_quiz_course(make_course, trainer, quizzes=(("Post-test", {"kind": "post",
                                                                                         **settings}),),
                                             essay=essay, code=code)
        return course, lesson

    return make


def start_url(course, lesson) -> str:
    return f"/kursus/{course.code}/pelajaran/{lesson.id}/mulai"


def begin(client, course, lesson) -> Attempt:
    """Start (or resume) the quiz through its start button; the attempt page it leads to."""
    path = location(client.post(start_url(course, lesson)))
    attempt_id = int(re.fullmatch(r"/percobaan/(\d+)", path).group(1))
    return db.session.get(Attempt, attempt_id)


def save(client, attempt, position, seq, response):
    return client.post(f"/percobaan/{attempt.id}/simpan", json={"position": position, "seq": seq,
                                                                "response": response})


def stored(attempt) -> dict[int, tuple]:
    db.session.expire_all()
    return {item.position: (item.response, item.seq) for item in db.session.get(Attempt, attempt.id).items}


# ---------------------------------------------------------------- taking a quiz


def test_a_learner_starts_resumes_answers_and_finishes(client, login, learner, post_test, enrol):
    course, lesson = post_test(time_limit=30)
    enrolment = enrol(learner, course)
    login(learner)
    page = client.get(f"/kursus/{course.code}/pelajaran/{lesson.id}").get_data(as_text=True)
    assert "Start the quiz" in page
    assert "30 minutes" in page

    attempt = begin(client, course, lesson)
    assert begin(client, course, lesson).id == attempt.id, "start again (reload, double click) = same attempt"
    assert db.session.scalar(select(func.count()).select_from(Attempt)) == 1
    assert attempt.deadline_at is not None
    page = client.get(f"/kursus/{course.code}/pelajaran/{lesson.id}").get_data(as_text=True)
    assert "Continue attempt 1" in page

    page = client.get(f"/percobaan/{attempt.id}").get_data(as_text=True)
    assert "Question 7" in page
    assert f'data-deadline="{attempt.deadline_at.isoformat()}"' in page
    for item in attempt.items:
        if item.position == 4:
            continue  # left unanswered
        response = save(client, attempt, item.position, 1_700_000_000_000, shown_answer(item))
        assert response.status_code == 200
        assert response.json["accepted"] is True
        assert response.json["seq"] == 1_700_000_000_000

    # Coming back later: every saved answer is on the page.
    page = client.get(f"/percobaan/{attempt.id}").get_data(as_text=True)
    assert page.count('data-state="saved"') == 6
    assert 'value=" asn "' in page
    assert 'value="Kepegawaian" selected' in page

    page = client.get(f"/percobaan/{attempt.id}/selesai").get_data(as_text=True)
    assert "1 of 7 questions have no answer: 5." in page
    assert location(client.post(f"/percobaan/{attempt.id}/selesai")) == f"/percobaan/{attempt.id}/hasil"
    # A second click, another tab, a retried request: the same result, graded once.
    assert location(client.post(f"/percobaan/{attempt.id}/selesai")) == f"/percobaan/{attempt.id}/hasil"
    assert location(client.get(f"/percobaan/{attempt.id}")) == f"/percobaan/{attempt.id}/hasil"
    db.session.expire_all()
    attempt = db.session.get(Attempt, attempt.id)
    assert (attempt.state, attempt.closed_by, attempt.score) == ("finished", "learner", round(600 / 7, 2))
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "quiz.submit")) == 1
    page = client.get(f"/percobaan/{attempt.id}/hasil").get_data(as_text=True)
    assert "85.71" in page
    assert "Passed" in page
    assert "Baik" in page  # the grade band
    assert db.session.get(Enrolment, enrolment.id).state == "active", "the text lesson is not studied yet"


def test_the_start_button_explains_why_a_quiz_cannot_start(client, login, learner, post_test, enrol):
    opens = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
    course, lesson = post_test(opens_at=opens.isoformat())
    enrol(learner, course)
    login(learner)
    page = client.get(f"/kursus/{course.code}/pelajaran/{lesson.id}").get_data(as_text=True)
    assert "The quiz opens on" in page
    assert start_url(course, lesson) not in page
    assert location(client.post(start_url(course, lesson))) == f"/kursus/{course.code}/pelajaran/{lesson.id}"
    assert "The quiz opens on" in flashes(client)
    assert db.session.scalar(select(func.count()).select_from(Attempt)) == 0


def test_a_learner_who_is_not_enrolled_cannot_start(client, login, learner, post_test):
    course, lesson = post_test()
    login(learner)
    assert client.post(start_url(course, lesson)).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(Attempt)) == 0


def test_autosave_answers_what_the_server_holds(client, login, learner, post_test, enrol):
    course, lesson = post_test()
    enrol(learner, course)
    login(learner)
    attempt = begin(client, course, lesson)

    assert save(client, attempt, 0, 5, {"choice": 1}).json["accepted"] is True
    stale = save(client, attempt, 0, 3, {"choice": 2})
    assert stale.status_code == 200
    assert (stale.json["accepted"], stale.json["seq"], stale.json["reason"]) == (False, 5, "stale")
    equal = save(client, attempt, 0, 5, {"choice": 0})
    assert (equal.json["accepted"], equal.json["reason"]) == (False, "stale")
    assert stored(attempt)[0] == ({"choice": 1}, 5)

    for body in ({"position": 0, "seq": 6, "response": {"choice": 9}},
                 {"position": 0, "seq": 6, "response": {"choices": [0]}},
                 {"position": 0, "seq": "6", "response": {"choice": 0}},
                 {"position": 0, "response": {"choice": 0}},
                 {"position": "0", "seq": 6, "response": {"choice": 0}}):
        response = client.post(f"/percobaan/{attempt.id}/simpan", json=body)
        assert response.status_code == 400, body
        assert response.json["error"]
    assert client.post(f"/percobaan/{attempt.id}/simpan", data="not json").status_code == 400
    assert client.post(f"/percobaan/{attempt.id}/simpan", json={"position": 70, "seq": 6,
                                                               "response": None}).status_code == 404
    assert stored(attempt)[0] == ({"choice": 1}, 5)

    client.post(f"/percobaan/{attempt.id}/selesai")
    closed = save(client, attempt, 0, 7, {"choice": 0})
    assert closed.status_code == 409
    assert (closed.json["accepted"], closed.json["seq"], closed.json["reason"]) == (False, 5, "closed")
    assert stored(attempt)[0] == ({"choice": 1}, 5)


def test_the_server_closes_an_attempt_whose_time_is_up(client, login, learner, post_test, enrol):
    course, lesson = post_test(time_limit=10)
    enrol(learner, course)
    login(learner)
    attempt = begin(client, course, lesson)
    assert save(client, attempt, 0, 1, {"choice": 0}).json["accepted"]
    now = dt.datetime.now(dt.UTC)
    # Time passes: the deadline is 20 seconds ago, still within the grace for answers in flight…
    db.session.execute(update(Attempt).where(Attempt.id == attempt.id).values(
        deadline_at=now - dt.timedelta(seconds=20)))
    db.session.commit()
    assert save(client, attempt, 1, 1, {"choices": [0, 1]}).json["accepted"]
    # …then past it: saves are refused and opening the attempt closes it with what was saved.
    db.session.execute(update(Attempt).where(Attempt.id == attempt.id).values(
        deadline_at=now - quiz.GRACE - dt.timedelta(seconds=5)))
    db.session.commit()
    late = save(client, attempt, 2, 1, {"choice": 0})
    assert (late.status_code, late.json["reason"]) == (409, "closed")
    assert location(client.get(f"/percobaan/{attempt.id}")) == f"/percobaan/{attempt.id}/hasil"
    page = client.get(f"/percobaan/{attempt.id}/hasil").get_data(as_text=True)
    assert "Time was up: your attempt was submitted with the answers saved." in page
    assert "closed by the server when time was up" in page
    db.session.expire_all()
    attempt = db.session.get(Attempt, attempt.id)
    assert (attempt.state, attempt.closed_by, attempt.marks) == ("finished", "deadline", 2.0)


def test_finishing_after_the_deadline_closes_by_the_deadline(client, login, learner, post_test, enrol):
    course, lesson = post_test(time_limit=10)
    enrol(learner, course)
    login(learner)
    attempt = begin(client, course, lesson)
    db.session.execute(update(Attempt).where(Attempt.id == attempt.id).values(
        deadline_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)))
    db.session.commit()
    assert location(client.post(f"/percobaan/{attempt.id}/selesai")) == f"/percobaan/{attempt.id}/hasil"
    db.session.expire_all()
    assert db.session.get(Attempt, attempt.id).closed_by == "deadline"


# ---------------------------------------------------------------- the plain form (no JavaScript)


def form_for(attempt, answers: dict[int, dict], action="save") -> dict:
    """What the attempt page's form posts: every question's seq<pos>, the answers given as q<pos> fields."""
    data = {"action": action}
    for item in attempt.items:
        data[f"seq{item.position}"] = str(item.seq)
        # What the learner picks on the page, where options and items are numbered as shown.
        response = to_display(item.layout, answers.get(item.position))
        kind = item.layout["type"]
        if response is None:
            continue
        if kind in ("single", "truefalse"):
            data[f"q{item.position}"] = str(response["choice"])
        elif kind == "multi":
            data[f"q{item.position}"] = [str(c) for c in response["choices"]]
        elif kind in ("shortanswer", "numerical", "essay"):
            data[f"q{item.position}"] = response["text"]
        elif kind == "ordering":
            for place, pos in enumerate(response["order"], start=1):
                data[f"q{item.position}_{pos}"] = str(place)
        elif kind == "matching":
            for pos, match in response["pairs"].items():
                data[f"q{item.position}_{pos}"] = match
    return data


def test_the_plain_form_saves_every_answer(client, login, learner, post_test, enrol):
    course, lesson = post_test()
    enrol(learner, course)
    login(learner)
    attempt = begin(client, course, lesson)
    page = client.get(f"/percobaan/{attempt.id}").get_data(as_text=True)
    assert f'action="/percobaan/{attempt.id}"' in page
    assert 'name="seq0" value="0"' in page
    answers = {item.position: right_answer(item) for item in attempt.items}
    assert location(client.post(f"/percobaan/{attempt.id}", data=form_for(attempt, answers))) == \
        f"/percobaan/{attempt.id}"
    assert "Your answers are saved." in client.get(f"/percobaan/{attempt.id}").get_data(as_text=True)
    held = stored(attempt)
    assert {position: response for position, (response, _seq) in held.items()} == {
        0: {"choice": 0}, 1: {"choices": [0, 1]}, 2: {"choice": 0}, 3: {"text": " asn "}, 4: {"text": "20"},
        5: {"order": [0, 1, 2]}, 6: {"pairs": {"0": "Kepegawaian", "1": "Administrasi"}}}
    assert {seq for _response, seq in held.values()} == {1}

    # Clearing answers and going on to submit.
    attempt = db.session.get(Attempt, attempt.id)
    data = form_for(attempt, {0: {"choice": 1}}, action="finish")
    assert location(client.post(f"/percobaan/{attempt.id}", data=data)) == f"/percobaan/{attempt.id}/selesai"
    held = stored(attempt)
    assert held[0] == ({"choice": 1}, 2)
    assert held[1] == (None, 2), "a question left blank on the form is cleared"
    assert held[5][0] == {"order": attempt.items[5].layout["items"]}, \
        "an ordering question left as shown keeps the order it was shown in"


def test_an_old_form_does_not_overwrite_a_newer_answer(client, login, learner, post_test, enrol):
    course, lesson = post_test()
    enrol(learner, course)
    login(learner)
    attempt = begin(client, course, lesson)
    old_page = form_for(attempt, {0: {"choice": 2}, 3: {"text": "PNS"}})  # the page as first shown
    assert save(client, attempt, 0, 1_700_000_000_000, {"choice": 0}).json["accepted"]  # another tab
    assert location(client.post(f"/percobaan/{attempt.id}", data=old_page)) == f"/percobaan/{attempt.id}"
    page = client.get(f"/percobaan/{attempt.id}").get_data(as_text=True)
    assert "1 answers were changed in another window" in page
    held = stored(attempt)
    assert held[0] == ({"choice": 0}, 1_700_000_000_000)
    assert held[3] == ({"text": "PNS"}, 1)


def test_the_plain_form_refuses_what_it_cannot_read(client, login, learner, post_test, enrol):
    course, lesson = post_test()
    enrol(learner, course)
    login(learner)
    attempt = begin(client, course, lesson)
    data = form_for(attempt, {2: {"choice": 0}})
    data["q0"] = "7"  # no seventh option
    data["seq2"] = "x"
    location(client.post(f"/percobaan/{attempt.id}", data=data))
    assert "2 answers could not be read and were not saved." in flashes(client)
    held = stored(attempt)
    assert held[0] == (None, 0)
    assert held[2] == (None, 0)


def test_the_plain_form_after_submitting_saves_nothing(client, login, learner, post_test, enrol):
    course, lesson = post_test()
    enrol(learner, course)
    login(learner)
    attempt = begin(client, course, lesson)
    data = form_for(attempt, {0: {"choice": 0}})
    client.post(f"/percobaan/{attempt.id}/selesai")
    assert location(client.post(f"/percobaan/{attempt.id}", data=data)) == f"/percobaan/{attempt.id}"
    page = client.get(f"/percobaan/{attempt.id}/hasil").get_data(as_text=True)
    assert "The attempt is closed: these answers were not saved." in page
    assert "Your answers are saved." not in page
    assert stored(attempt)[0] == (None, 0)


# ---------------------------------------------------------------- what a learner may see


def test_the_attempt_page_holds_no_key(client, login, learner, make_course, trainer, enrol):
    course, lesson = secret_quiz(make_course, trainer, review=ALWAYS)
    enrol(learner, course)
    login(learner)
    attempt = begin(client, course, lesson)
    save(client, attempt, 0, 1, {"choice": 1})
    save(client, attempt, 2, 1, {"text": "tebakan"})
    pages = [client.get(f"/percobaan/{attempt.id}").get_data(as_text=True),
             client.get(f"/percobaan/{attempt.id}/selesai").get_data(as_text=True),
             client.get(f"/kursus/{course.code}/pelajaran/{lesson.id}").get_data(as_text=True)]
    assert "Ibukota Jawa Barat?" in pages[0]
    assert "tebakan" in pages[0]
    for page in pages:
        for secret in SECRETS["feedback"] + SECRETS["correct"]:
            assert secret not in page
        assert "fraction" not in page
        assert "-0.5" not in page
        assert not re.search(r'class="[^"]*\b(right|keyed)\b', page)
    # While the attempt is open, the result page is the attempt itself.
    assert location(client.get(f"/percobaan/{attempt.id}/hasil")) == f"/percobaan/{attempt.id}"


def test_the_attempt_page_does_not_give_away_the_order(client, login, learner, post_test, enrol):
    course, lesson = post_test()
    enrol(learner, course)
    login(learner)
    attempt = begin(client, course, lesson)
    page = client.get(f"/percobaan/{attempt.id}").get_data(as_text=True)
    fieldset = page[page.index('data-type="ordering"'):]
    texts = re.findall(r'data-pos="(\d+)".*?class="ordering-text"[^>]*>(.*?)</', fieldset, flags=re.S)
    in_key_order = [text for _pos, text in sorted(texts)]
    assert in_key_order != ["Rencana", "Laksana", "Evaluasi"]


def review_page(client, login, learner, make_course, trainer, enrol, review, closes_at=None):
    course, lesson = secret_quiz(make_course, trainer, review=review, closes_at=closes_at)
    enrol(learner, course)
    login(learner)
    attempt = begin(client, course, lesson)
    save(client, attempt, 0, 1, {"choice": 0})
    save(client, attempt, 2, 1, {"text": "jawabanku"})
    client.post(f"/percobaan/{attempt.id}/selesai")
    return lesson, attempt, client.get(f"/percobaan/{attempt.id}/hasil").get_data(as_text=True)


def test_the_result_shows_everything_when_the_quiz_allows_it(client, login, learner, make_course, trainer,
                                                              enrol):
    _lesson, _attempt, page = review_page(client, login, learner, make_course, trainer, enrol, ALWAYS)
    assert '<p class="stat-value">20</p>' in page  # 1 of 5
    assert "jawabanku" in page
    assert "UMPAN-BENAR" in page, "the chosen option's feedback"
    assert "UMPAN-SALAH" not in page, "not the feedback of an option not chosen"
    assert "UMUM-RAHASIA" in page
    assert "JAWABAN-RAHASIA" in page
    assert "4242.5 ± 0.25" in page
    assert "badge ok" in page
    assert "BKN → Kepegawaian" in page


def test_the_key_waits_for_the_quiz_to_close(client, login, learner, make_course, trainer, enrol):
    closes = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    lesson, attempt, page = review_page(client, login, learner, make_course, trainer, enrol, ON_CLOSE,
                                        closes_at=closes.isoformat())
    assert "jawabanku" in page, "the learner's own answers: after each attempt"
    for secret in SECRETS["feedback"] + SECRETS["correct"]:
        assert secret not in page
    # The window closes.
    closed = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    lesson.quiz = {**lesson.quiz, "closes_at": closed.isoformat()}
    db.session.commit()
    page = client.get(f"/percobaan/{attempt.id}/hasil").get_data(as_text=True)
    assert "JAWABAN-RAHASIA" in page
    assert "UMPAN-BENAR" in page
    assert "badge ok" in page


def test_a_quiz_that_never_shows_answers(client, login, learner, make_course, trainer, enrol):
    _lesson, _attempt, page = review_page(client, login, learner, make_course, trainer, enrol, NEVER)
    assert "This quiz does not show answers." in page
    assert '<p class="stat-value">20</p>' in page, "the score is always shown"
    assert "jawabanku" not in page
    assert "Bandung" not in page
    for secret in SECRETS["feedback"] + SECRETS["correct"]:
        assert secret not in page


def test_answers_without_the_key(client, login, learner, make_course, trainer, enrol):
    review = {"answers": "after_attempt", "correct": "never", "feedback": "never"}
    _lesson, _attempt, page = review_page(client, login, learner, make_course, trainer, enrol, review)
    assert "jawabanku" in page
    assert "your answer" in page
    for secret in SECRETS["feedback"] + SECRETS["correct"]:
        assert secret not in page


# ---------------------------------------------------------------- nobody else's attempt


def test_another_learner_reaches_nothing_of_an_attempt(app, client, login, learner, make_user, post_test,
                                                        enrol):
    course, lesson = post_test()
    enrol(learner, course)
    login(learner)
    attempt = begin(client, course, lesson)
    save(client, attempt, 0, 1, {"choice": 0})
    colleague = make_user(locale="en")
    enrol(colleague, course)
    other = app.test_client()
    signed_in = other.post("/akun/masuk", data={"login": colleague.email, "password": "correct horse 1"})
    assert signed_in.status_code == 302
    before = stored(attempt)
    answers = {"action": "finish", "seq0": "1", "q0": "1"}
    for method, path, kwargs in [
            ("get", f"/percobaan/{attempt.id}", {}),
            ("get", f"/percobaan/{attempt.id}/hasil", {}),
            ("get", f"/percobaan/{attempt.id}/selesai", {}),
            ("post", f"/percobaan/{attempt.id}/selesai", {}),
            ("post", f"/percobaan/{attempt.id}", {"data": answers}),
            ("post", f"/percobaan/{attempt.id}/simpan",
             {"json": {"position": 0, "seq": 9, "response": {"choice": 1}}}),
            ("post", f"/percobaan/{attempt.id}/simpan", {"data": "not json"})]:
        response = getattr(other, method)(path, **kwargs)
        assert response.status_code == 404, (method, path, response.status_code)
    assert stored(attempt) == before
    assert db.session.get(Attempt, attempt.id).is_open
    # The colleague's own attempt is a different one.
    assert begin(other, course, lesson).id != attempt.id


def test_a_trainer_of_another_course_reaches_nothing(client, login, learner, make_user, post_test, enrol):
    course, lesson = post_test(essay=True)
    enrol(learner, course)
    login(learner)
    attempt = begin(client, course, lesson)
    essay = next(item for item in attempt.items if item.layout["type"] == "essay")
    save(client, attempt, essay.position, 1, {"text": "Integritas."})
    client.post(f"/percobaan/{attempt.id}/selesai")

    switch(client, login, make_user(roles=("trainer",), locale="en"))
    assert client.get(f"/kelola/pelajaran/{lesson.id}/kuis").status_code == 403
    assert client.post(f"/kelola/pelajaran/{lesson.id}/kuis", data={"quiz_kind": "pre"}).status_code == 403
    assert client.post(f"/kelola/pelajaran/{lesson.id}/kuis/slot/0/hapus").status_code == 403
    assert client.get(f"/percobaan/{attempt.id}/hasil").status_code == 404
    assert "Nothing to grade." in client.get("/kelola/penilaian").get_data(as_text=True)
    assert client.get(f"/kelola/penilaian/{essay.id}").status_code == 403
    assert client.post(f"/kelola/penilaian/{essay.id}", data={"mark": "1"}).status_code == 403
    db.session.expire_all()
    assert db.session.get(AttemptItem, essay.id).needs_grading

    switch(client, login, learner)
    assert client.get("/kelola/penilaian").status_code == 403
    assert client.get(f"/kelola/penilaian/{essay.id}").status_code == 403


# ---------------------------------------------------------------- trainers


def test_the_owner_grades_an_essay_and_the_course_completes(client, login, learner, trainer, post_test,
                                                            enrol):
    course, lesson = post_test(essay=True)
    enrolment = enrol(learner, course)
    study(enrolment, [enrolment.version.lessons()[0]])
    login(learner)
    attempt = begin(client, course, lesson)
    for item in attempt.items:
        essay_text = {"text": "Integritas adalah satunya kata dan perbuatan."}
        response = essay_text if item.layout["type"] == "essay" else shown_answer(item)
        save(client, attempt, item.position, 1, response)
    client.post(f"/percobaan/{attempt.id}/selesai")
    page = client.get(f"/percobaan/{attempt.id}/hasil").get_data(as_text=True)
    assert "your score appears here when they are" in page
    essay = next(item for item in attempt.items if item.layout["type"] == "essay")

    switch(client, login, trainer)
    page = client.get("/kelola/penilaian").get_data(as_text=True)
    assert learner.full_name in page
    assert f"/kelola/penilaian/{essay.id}" in page
    page = client.get(f"/kelola/penilaian/{essay.id}").get_data(as_text=True)
    assert "Integritas adalah satunya kata dan perbuatan." in page
    for mark in ("1.5", "-1", ""):
        response = client.post(f"/kelola/penilaian/{essay.id}", data={"mark": mark, "comment": "x"})
        assert response.status_code == 200, mark
    db.session.expire_all()
    assert db.session.get(AttemptItem, essay.id).needs_grading
    assert "The mark is from 0 to 1." in client.post(f"/kelola/penilaian/{essay.id}",
                                                     data={"mark": "2"}).get_data(as_text=True)
    graded = client.post(f"/kelola/penilaian/{essay.id}", data={"mark": "1", "comment": "Runtut."})
    assert location(graded) == "/kelola/penilaian"
    db.session.expire_all()
    attempt = db.session.get(Attempt, attempt.id)
    assert (attempt.state, attempt.score, attempt.passed) == ("finished", 100.0, True)
    assert db.session.get(Enrolment, enrolment.id).state == "completed"
    assert "Nothing to grade." in client.get("/kelola/penilaian").get_data(as_text=True)

    switch(client, login, learner)
    page = client.get(f"/percobaan/{attempt.id}/hasil").get_data(as_text=True)
    assert "Runtut." in page
    assert "Passed" in page


def test_an_essay_can_be_given_nothing(client, login, learner, trainer, post_test, enrol):
    course, lesson = post_test(essay=True)
    enrol(learner, course)
    login(learner)
    attempt = begin(client, course, lesson)
    essay = next(item for item in attempt.items if item.layout["type"] == "essay")
    save(client, attempt, essay.position, 1, {"text": "Tidak tahu."})
    client.post(f"/percobaan/{attempt.id}/selesai")
    switch(client, login, trainer)
    graded = client.post(f"/kelola/penilaian/{essay.id}", data={"mark": "0", "comment": "Belum."})
    assert location(graded) == "/kelola/penilaian"
    db.session.expire_all()
    assert db.session.get(AttemptItem, essay.id).mark == 0.0
    assert db.session.get(Attempt, attempt.id).state == "finished"


def test_the_owner_opens_the_quiz_settings(client, login, trainer, post_test):
    course, lesson = post_test()
    login(trainer)
    page = client.get(f"/kelola/pelajaran/{lesson.id}/kuis").get_data(as_text=True)
    assert "cannot change" in page, "a published quiz is read-only"
    assert client.post(f"/kelola/pelajaran/{lesson.id}/kuis", data={"quiz_kind": "pre"}).status_code == 409
    draft = services.ensure_draft(course, actor=trainer)
    db.session.commit()
    quiz_lesson = next(item for item in draft.lessons() if item.kind == "quiz")
    response = client.post(f"/kelola/pelajaran/{quiz_lesson.id}/kuis", data={
        "quiz_kind": "exam", "attempts": "2", "time_limit": "45", "pass_score": "70",
        "review_answers": "never", "review_correct": "never", "review_feedback": "after_close",
        "shuffle_options": "y"})
    assert location(response) == f"/kelola/pelajaran/{quiz_lesson.id}/kuis"
    db.session.expire_all()
    settings = quiz.settings_of(db.session.get(type(quiz_lesson), quiz_lesson.id))
    assert (settings.kind, settings.attempts, settings.time_limit, settings.pass_score) == ("exam", 2, 45, 70)
    assert settings.review == {"answers": "never", "correct": "never", "feedback": "after_close"}
    assert len(settings.slots) == 7
    assert quiz.settings_of(lesson).kind == "post", "the published version keeps its settings"
