"""Building quizzes for the tests: a course whose published version has a text lesson and quiz lessons
drawing on the course's bank, and the questions a typical pre/post test asks."""

from __future__ import annotations

from courses import services
from courses.quizzes import services as banks
from courses.quizzes.settings import save_quiz
from lms.extensions import db


def question_set(bank, actor) -> list:
    """One question of every automatically graded type, plus an essay; answers are by position."""
    make = banks.create_question
    return [
        make(bank, actor=actor, type="single", name="Ibukota", prompt_html="<p>Ibukota Jawa Barat?</p>",
             tags=["umum"], answers=[{"text_html": "Bandung", "fraction": 1.0, "feedback_html": "<p>Benar.</p>"},
                                     {"text_html": "Surabaya", "fraction": 0.0, "feedback_html": "<p>Itu Jatim.</p>"},
                                     {"text_html": "Semarang", "fraction": 0.0}]),
        make(bank, actor=actor, type="multi", name="Prima", prompt_html="<p>Bilangan prima?</p>", tags=["umum"],
             answers=[{"text_html": "2", "fraction": 0.5}, {"text_html": "3", "fraction": 0.5},
                      {"text_html": "4", "fraction": -0.5}]),
        make(bank, actor=actor, type="truefalse", name="Bumi bulat", prompt_html="<p>Bumi bulat.</p>",
             answers=[{"text_html": "true", "fraction": 1.0}, {"text_html": "false", "fraction": 0.0}]),
        make(bank, actor=actor, type="shortanswer", name="Singkatan", prompt_html="<p>Singkatan Aparatur Sipil Negara?</p>",
             answers=[{"text_html": "ASN", "fraction": 1.0}]),
        make(bank, actor=actor, type="numerical", name="JP", prompt_html="<p>Target JP setahun?</p>",
             answers=[{"text_html": "20", "fraction": 1.0, "tolerance": 0}]),
        make(bank, actor=actor, type="ordering", name="Urutan", prompt_html="<p>Urutkan.</p>",
             answers=[{"text_html": "Rencana"}, {"text_html": "Laksana"}, {"text_html": "Evaluasi"}]),
        make(bank, actor=actor, type="matching", name="Pasangan", prompt_html="<p>Pasangkan.</p>",
             answers=[{"text_html": "BKN", "match_text": "Kepegawaian"},
                      {"text_html": "LAN", "match_text": "Administrasi"}]),
    ]


RIGHT = [{"choice": 0}, {"choices": [0, 1]}, {"choice": 0}, {"text": " asn "}, {"text": "20"},
         {"order": [0, 1, 2]}, {"pairs": {"0": "Kepegawaian", "1": "Administrasi"}}]


def right_answer(item) -> dict:
    """The full-marks answer for an attempt item built from ``question_set``."""
    return RIGHT[[q for q in ("Ibukota", "Prima", "Bumi bulat", "Singkatan", "JP", "Urutan", "Pasangan")].index(
        item.question.name)]


def shown_answer(item) -> dict:
    """The full-marks answer as a learner's page sends it: options and ordering items numbered as shown."""
    from courses.quizzes.grading import to_display

    return to_display(item.layout, right_answer(item))


def make_quiz_course(make_course, owner, *, quizzes=(("Post-test", {"kind": "post"}),), essay=False,
                     code=None, publish=True):
    """A course with one text lesson then one quiz lesson per ``(title, settings)``; every quiz asks the
    whole ``question_set`` (and an essay when ``essay``). Returns (course, [quiz lessons])."""
    course = make_course(owner, code=code, lessons=("Materi",), publish=False)
    bank = banks.bank_for(course)
    questions = question_set(bank, owner)
    if essay:
        questions.append(banks.create_question(bank, actor=owner, type="essay", name="Esai",
                                               prompt_html="<p>Jelaskan integritas.</p>"))
    module = course.draft.modules[0]
    lessons = []
    for title, settings in quizzes:
        lesson = services.add_lesson(module, kind="quiz", title=title)
        save_quiz(lesson, {"slots": [{"key": q.key, "mark": 1} for q in questions], "shuffle_options": False,
                           **settings}, actor=owner)
        lessons.append(lesson)
    if publish:
        services.publish(course.draft, actor=owner)
    db.session.commit()
    return course, lessons
