"""Trainers' quiz reports: the attempts list and its CSV, the cohort's pre/post learning gain, and item
analysis checked against numbers worked out by hand; who may open them; and how they look on a phone."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from sqlalchemy import select

from courses import services
from courses.quizzes import attempts as quiz
from courses.quizzes import reports
from courses.quizzes import services as banks
from courses.quizzes.models import Attempt
from courses.quizzes.settings import QuizSettings, save_quiz
from lms import services as people
from lms.extensions import db
from tests.browser_support import BROWSER, PHONE, sign_in, snap
from tests.courses.quiz_helpers import make_quiz_course, right_answer

START = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)


def take(enrolment, lesson, responses, *, submit=True) -> Attempt:
    """An attempt through the real lifecycle: start, one save per answer given (None: left empty), submit."""
    attempt = quiz.start(enrolment, lesson)
    for position, response in enumerate(responses):
        if response is not None:
            saved = quiz.save(attempt.id, position, seq=1, response=response, user_id=enrolment.user_id)
            assert saved.accepted
    if submit:
        quiz.submit(attempt)
    db.session.commit()
    return attempt


def record(enrolment, lesson, score, *, number=1, state="finished") -> Attempt:
    """An attempt written directly with its score (no questions): for the arithmetic of cohort figures."""
    finished = state == "finished"
    at = START + dt.timedelta(days=number)
    attempt = Attempt(enrolment_id=enrolment.id, user_id=enrolment.user_id, course_id=enrolment.course_id,
                      lesson_id=lesson.id, lesson_key=lesson.key, quiz_kind=QuizSettings.of(lesson.quiz).kind,
                      number=number, state=state, started_at=at,
                      submitted_at=None if state == "in_progress" else at + dt.timedelta(minutes=20),
                      closed_by=None if state == "in_progress" else "learner",
                      marks=score / 10 if finished else None, max_marks=10.0,
                      score=score if finished else None, passed=score >= 65 if finished else None)
    db.session.add(attempt)
    db.session.commit()
    return attempt


def read_csv(response) -> list[dict]:
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


# ---------------------------------------------------------------- item analysis by hand

# Six learners answer a five-question quiz (each question worth 1 mark, options in their stored order).
# Fractions earned, per attempt (A1…A6) and question:
#
#            Q1 single  Q2 true/false  Q3 multi  Q4 true/false  Q5 short   marks  score
#     A1        1            0            1           1            0         3     60
#     A2        1            1            1           1            0         4     80
#     A3        0            1           0.5          1            0        2.5    50
#     A4        0            1           0.5          1            0        2.5    50
#     A5        0            1            0           1            0         2     40
#     A6        0            1            0           1            0         2     40
#
# Top group: 27 % of 6 = 1.62, rounded to 2 attempts: A2 (80) and A1 (60); bottom group A5, A6 (40).
#
# Facility (mean fraction): Q1 2/6, Q2 5/6, Q3 (1+1+.5+.5)/6 = 1/2, Q4 1, Q5 0.
# D (top mean − bottom mean): Q1 1 − 0 = 1; Q2 (0+1)/2 − 1 = −0.5; Q3 1 − 0 = 1; Q4 1 − 1 = 0; Q5 0.
# Point-biserial, fraction x against the rest score y = marks − item mark (Q4 adds 1 to every rest score,
# which changes no correlation, so it is left out below):
#   Q1: x = 1 1 0 0 0 0, y = 1 2 1.5 1.5 1 1; means 1/3 and 4/3; deviations dx = 2/3 2/3 −1/3 ×4,
#       dy = −1/3 2/3 1/6 1/6 −1/3 −1/3; Σdx·dy = −2/9 + 4/9 + (−1/3)(−1/3) = 1/3; Σdx² = 4/3;
#       Σdy² = (4+16+1+1+4+4)/36 = 5/6; r = (1/3) / √(4/3 · 5/6) = 1/√10.
#   Q2: x = 0 1 1 1 1 1, y = 2 2 .5 .5 0 0; means 5/6 and 5/6; dx = −5/6 then 1/6 ×5,
#       dy = 7/6 7/6 −2/6 −2/6 −5/6 −5/6; Σdx·dy = −35/36 + (1/6)(−7/6) = −7/6; Σdx² = 5/6;
#       Σdy² = 156/36 = 13/3; r = (−7/6) / √(5/6 · 13/3) = −7/√130.
#   Q3: x = 1 1 .5 .5 0 0, y = 1 2 1 1 1 1; means 1/2 and 7/6; dx = .5 .5 0 0 −.5 −.5,
#       dy = −1/6 5/6 −1/6 −1/6 −1/6 −1/6; Σdx·dy = .5(4/6) + .5(2/6) = 1/2; Σdx² = 1; Σdy² = 5/6;
#       r = (1/2) / √(5/6) = √0.3.
#   Q4, Q5: the fraction does not vary, so there is no correlation (None).
#
# Answers, by option position (Q3's options are worth .5, .5, −.5 and 0):
Q1_ANSWERS = [{"choice": 0}, {"choice": 0}, {"choice": 1}, {"choice": 2}, {"choice": 1}, None]
Q2_ANSWERS = [{"choice": 1}, {"choice": 0}, {"choice": 0}, {"choice": 0}, {"choice": 0}, {"choice": 0}]
Q3_ANSWERS = [{"choices": [0, 1]}, {"choices": [0, 1]}, {"choices": [0]}, {"choices": [1]}, {"choices": [2]},
              {"choices": [0, 2]}]
Q5_ANSWERS = [{"text": "salah"}, {"text": "salah"}, {"text": "salah"}, None, None, None]


@pytest.fixture
def analysed_quiz(make_course, make_user, enrol, trainer):
    """The quiz above, taken by six learners; returns (course, lesson, [q1…q5])."""
    course = make_course(trainer, code="IA-01", lessons=("Materi",), publish=False)
    bank = banks.bank_for(course)
    make = banks.create_question
    questions = [
        make(bank, actor=trainer, type="single", name="Ibukota Jawa Barat", prompt_html="<p>?</p>",
             answers=[{"text_html": "<p>Bandung</p>", "fraction": 1.0}, {"text_html": "Surabaya", "fraction": 0.0},
                      {"text_html": "Semarang", "fraction": 0.0}, {"text_html": "Medan", "fraction": 0.0}]),
        make(bank, actor=trainer, type="truefalse", name="Bumi bulat", prompt_html="<p>?</p>",
             answers=[{"text_html": "true", "fraction": 1.0}, {"text_html": "false", "fraction": 0.0}]),
        make(bank, actor=trainer, type="multi", name="Bilangan prima", prompt_html="<p>?</p>",
             answers=[{"text_html": "2", "fraction": 0.5}, {"text_html": "3", "fraction": 0.5},
                      {"text_html": "4", "fraction": -0.5}, {"text_html": "1", "fraction": 0.0}]),
        make(bank, actor=trainer, type="truefalse", name="Air basah", prompt_html="<p>?</p>",
             answers=[{"text_html": "true", "fraction": 1.0}, {"text_html": "false", "fraction": 0.0}]),
        make(bank, actor=trainer, type="shortanswer", name="Singkatan ASN", prompt_html="<p>?</p>",
             answers=[{"text_html": "ASN", "fraction": 1.0}]),
    ]
    lesson = services.add_lesson(course.draft.modules[0], kind="quiz", title="Ujian akhir")
    save_quiz(lesson, {"kind": "exam", "shuffle_options": False,
                       "slots": [{"key": q.key, "mark": 1} for q in questions]}, actor=trainer)
    services.publish(course.draft, actor=trainer)
    db.session.commit()
    for n in range(6):
        enrolment = enrol(make_user(full_name=f"Peserta {n + 1}"), course)
        take(enrolment, lesson, [Q1_ANSWERS[n], Q2_ANSWERS[n], Q3_ANSWERS[n], {"choice": 0}, Q5_ANSWERS[n]])
    return course, lesson, questions


def test_item_statistics_match_the_hand_computed_example(analysed_quiz):
    course, lesson, questions = analysed_quiz
    scores = sorted(a.score for a in db.session.scalars(select(Attempt)))
    assert scores == [40, 40, 50, 50, 60, 80], "the attempts are the ones the example works with"

    report = reports.item_analysis(course.id, lesson.key, order=[q.key for q in questions])
    assert (report.attempts, report.group_size) == (6, 2)
    assert report.mean_score == pytest.approx(320 / 6)
    q1, q2, q3, q4, q5 = report.items
    assert [item.name for item in report.items] == [q.name for q in questions]
    assert [item.n for item in report.items] == [6] * 5
    assert [item.facility for item in report.items] == pytest.approx([2 / 6, 5 / 6, 0.5, 1.0, 0.0])
    assert [item.discrimination for item in report.items] == pytest.approx([1.0, -0.5, 1.0, 0.0, 0.0])
    assert q1.point_biserial == pytest.approx(1 / 10 ** 0.5)
    assert q2.point_biserial == pytest.approx(-7 / 130 ** 0.5)
    assert q3.point_biserial == pytest.approx(0.3 ** 0.5)
    assert q4.point_biserial is None
    assert q5.point_biserial is None

    def options(item):
        return [(o.position, o.is_correct, o.chosen, o.top, o.bottom) for o in item.options]

    # Q1: A1 and A2 (top) chose Bandung; A3 and A5 Surabaya, A4 Semarang; A6 gave no answer; nobody Medan.
    assert options(q1) == [(0, True, 2, 2, 0), (1, False, 2, 0, 1), (2, False, 1, 0, 0), (3, False, 0, 0, 0)]
    assert [o.html for o in q1.options] == ["<p>Bandung</p>", "Surabaya", "Semarang", "Medan"]
    assert q1.unanswered == (1, 0, 1)
    # Q2: only A1, in the top group, chose "false".
    assert options(q2) == [(0, True, 5, 1, 2), (1, False, 1, 1, 0)]
    # Q3: "2" by A1 A2 A3 A6, "3" by A1 A2 A4, "4" by A5 A6, "1" by nobody.
    assert options(q3) == [(0, True, 4, 2, 1), (1, True, 3, 2, 0), (2, False, 2, 0, 2), (3, False, 0, 0, 0)]
    assert options(q4) == [(0, True, 6, 2, 2), (1, False, 0, 0, 0)]
    assert q5.type == "shortanswer"
    assert q5.options == []

    assert q1.flags == ["unused_distractor"]
    assert q2.flags == ["negative", "distractor_attracts_top"]
    assert q3.flags == ["unused_distractor"]
    assert q4.flags == ["too_easy", "weak", "unused_distractor"]
    assert q5.flags == ["too_hard", "weak"]


def test_item_analysis_follows_questions_across_versions_and_skips_unfinished_attempts(
        analysed_quiz, make_user, enrol, trainer):
    course, lesson, questions = analysed_quiz
    newer = banks.edit_question(questions[0], actor=trainer, name="Ibu kota provinsi Jawa Barat")
    db.session.commit()
    assert (newer.version, newer.key) == (2, questions[0].key)
    take(enrol(make_user(), course), lesson, [{"choice": 3}], submit=False)  # still in progress

    report = reports.item_analysis(course.id, lesson.key)
    assert report.attempts == 6
    by_key = {item.key: item for item in report.items}
    assert by_key[newer.key].name == "Ibu kota provinsi Jawa Barat"
    assert by_key[newer.key].n == 6
    assert by_key[newer.key].options[3].chosen == 0
    assert [item.name for item in report.items] == sorted(item.name for item in report.items)


def test_group_size_and_flags_at_the_edges():
    assert [reports.group_size(n) for n in (0, 1, 2, 3, 6, 50, 150, 10_000)] == [0, 0, 1, 1, 2, 14, 41, 2700]
    assert reports.item_analysis(999, "0" * 32).items == []
    item = reports.ItemStats(key="k", name="n", type="essay", n=10, facility=0.9, discrimination=0.2,
                             point_biserial=0.1)
    assert reports.flags_of(item) == []  # 0.90 is not above 0.90, D 0.2 is not below 0.2
    item.facility, item.discrimination, item.point_biserial = 0.25, 0.1, -0.05
    assert reports.flags_of(item) == ["negative", "weak"]  # r < 0 flags even when D is positive


# ---------------------------------------------------------------- pre/post


@pytest.fixture
def prepost_course(make_course, trainer):
    course, (pre, post, practice) = make_quiz_course(make_course, trainer, code="PP-01", quizzes=(
        ("Pre-test", {"kind": "pre"}), ("Post-test", {"kind": "post"}), ("Latihan", {"kind": "practice"})))
    return course, pre, post, practice


def test_prepost_report_takes_the_first_pre_test_and_the_best_post_test(prepost_course, make_user, enrol):
    course, pre, post, practice = prepost_course
    learners = {name: enrol(make_user(full_name=name), course) for name in ("Eka", "Budi", "Ani", "Citra", "Dedi",
                                                                             "Fajar")}
    record(learners["Ani"], pre, 40, number=1)
    record(learners["Ani"], pre, 60, number=2)
    record(learners["Ani"], post, 70, number=1)
    record(learners["Ani"], post, 85, number=2)
    record(learners["Budi"], pre, 80)
    record(learners["Budi"], post, 70)
    record(learners["Citra"], pre, 100)
    record(learners["Citra"], post, 100)
    record(learners["Dedi"], pre, 50)
    record(learners["Eka"], pre, 0, number=1, state="needs_grading")  # not finished: not the first score
    record(learners["Eka"], pre, 20, number=2)
    record(learners["Eka"], post, 60)
    record(learners["Eka"], post, 90, number=2, state="in_progress")
    record(learners["Fajar"], practice, 90)  # a practice quiz is neither

    report = reports.prepost(course)
    assert [q.title for q in report.pre_quizzes] == ["Pre-test"]
    assert [q.title for q in report.post_quizzes] == ["Post-test"]
    rows = [(r.name, r.pre, r.post, r.gain, r.normalised_gain) for r in report.rows]
    assert rows == [("Ani", 40, 85, 45, pytest.approx(45 / 60)),
                    ("Budi", 80, 70, -10, pytest.approx(-10 / 20)),
                    ("Citra", 100, 100, 0, None),  # nothing left to gain: undefined
                    ("Dedi", 50, None, None, None),
                    ("Eka", 20, 60, 40, pytest.approx(40 / 80))]
    assert (report.n_pre, report.n_post, report.n_both) == (5, 4, 4)
    assert report.mean_pre == pytest.approx((40 + 80 + 100 + 20) / 4)  # 60
    assert report.mean_post == pytest.approx((85 + 70 + 100 + 60) / 4)  # 78.75
    assert report.mean_normalised_gain == pytest.approx((0.75 - 0.5 + 0.5) / 3)  # Citra's is undefined
    assert report.class_normalised_gain == pytest.approx((78.75 - 60) / (100 - 60))


def test_prepost_counts_a_pre_test_only_an_older_version_has(prepost_course, make_user, enrol, trainer):
    course, pre, post, _practice = prepost_course
    ani = enrol(make_user(full_name="Ani"), course)
    record(ani, pre, 50)
    record(ani, post, 75)
    draft = services.ensure_draft(course, actor=trainer)
    for lesson in draft.lessons():
        if lesson.key == pre.key:
            services.delete_lesson(lesson)
        elif lesson.key == post.key:
            services.update_lesson(lesson, title="Post-test akhir")
    services.publish(draft, actor=trainer)
    db.session.commit()

    report = reports.prepost(course)
    assert [q.title for q in report.pre_quizzes] == ["Pre-test"]  # from version 1
    assert [q.title for q in report.post_quizzes] == ["Post-test akhir"]  # as the current version names it
    assert [(r.pre, r.post, r.normalised_gain) for r in report.rows] == [(50, 75, 0.5)]


def test_prepost_page_and_csv(client, login, trainer, prepost_course, make_user, enrol):
    course, pre, post, _practice = prepost_course
    unit = people.save_unit(None, code="DISKOMINFO", name="Dinas Kominfo", kind="unit", parent_id=None, actor=None)
    ani = enrol(make_user(full_name="Ani", nip="198503122010011003", unit_id=unit.id), course)
    budi = enrol(make_user(full_name="@Budi"), course)
    record(ani, pre, 40)
    record(ani, post, 85)
    record(budi, pre, 80)
    record(budi, post, 70)
    login(trainer)
    page = client.get(f"/kelola/kursus/{course.id}/pre-post").get_data(as_text=True)
    assert "Pre/post report" in page
    for shown in ("Ani", "Dinas Kominfo", "19850312 201001 1 003"):
        assert shown in page
    assert "Class normalised gain" in page
    assert "0.44" in page  # the class gain (77.5 − 60) / (100 − 60) = 0.4375, two decimals
    assert "0.75" in page  # Ani's own: (85 − 40) / (100 − 40)
    rows = read_csv(client.get(f"/kelola/kursus/{course.id}/pre-post.csv"))
    assert [(r["nama"], r["unit"], r["nilai_pre"], r["nilai_post"], r["kenaikan"], r["gain_ternormalisasi"])
            for r in rows] == [("'@Budi", "", "80", "70", "-10", "-0.5"),
                               ("Ani", "Dinas Kominfo", "40", "85", "45", "0.75")]


# ---------------------------------------------------------------- attempts list and CSV


@pytest.fixture
def attempts_quiz(make_course, make_user, enrol, trainer):
    """A post-test taken by three learners: one right on every question, one wrong on all (a name that is a
    spreadsheet formula), one still answering."""
    course, (lesson,) = make_quiz_course(make_course, trainer, code="AT-01")
    unit = people.save_unit(None, code="BKD", name="Badan Kepegawaian Daerah", kind="unit", parent_id=None,
                            actor=None)
    siti = enrol(make_user(full_name="Siti Aminah", nip="199001012015032001", unit_id=unit.id), course)
    attempt = quiz.start(siti, lesson)
    for item in attempt.items:
        quiz.save(attempt.id, item.position, seq=1, response=right_answer(item), user_id=siti.user_id)
    quiz.submit(attempt)
    db.session.commit()
    formula = enrol(make_user(full_name='=HYPERLINK("http://evil.example","klik")'), course)
    take(formula, lesson, [])
    take(enrol(make_user(full_name="Rudi Hartono"), course), lesson, [{"choice": 1}], submit=False)
    return course, lesson


def test_attempts_page_lists_every_attempt_with_links_to_results(client, login, trainer, attempts_quiz):
    course, lesson = attempts_quiz
    login(trainer)
    url = f"/kelola/kursus/{course.id}/kuis/{lesson.key}/percobaan"
    page = client.get(url).get_data(as_text=True)
    assert "3 attempts" in page
    for shown in ("Siti Aminah", "19900101 201503 2 001", "Badan Kepegawaian Daerah", "Rudi Hartono", "In progress"):
        assert shown in page
    assert "Sangat Baik" in page  # Siti's band for 100
    assert page.count("/hasil") == 3
    for attempt in db.session.scalars(select(Attempt)):
        assert f"/percobaan/{attempt.id}/hasil" in page
    assert '<div class="table-wrap"><table class="table">' in page  # the phone layout turns rows into cards

    def names(**filters):
        html = client.get(url, query_string=filters).get_data(as_text=True)
        return [name for name in ("Siti Aminah", "HYPERLINK", "Rudi Hartono") if name in html]

    assert names(state="finished") == ["Siti Aminah", "HYPERLINK"]
    assert names(state="in_progress") == ["Rudi Hartono"]
    assert names(passed="yes") == ["Siti Aminah"]
    assert names(passed="no") == ["HYPERLINK"]
    assert names(state="nonsense", passed="maybe") == ["Siti Aminah", "HYPERLINK", "Rudi Hartono"]


def test_attempts_csv_is_the_same_list_with_formulas_neutralised(client, login, trainer, attempts_quiz):
    course, lesson = attempts_quiz
    login(trainer)
    response = client.get(f"/kelola/kursus/{course.id}/kuis/{lesson.key}/percobaan.csv")
    assert re.match(r'attachment; filename="percobaan-\w{8}-AT-01-\d{4}-\d{2}-\d{2}\.csv"',
                    response.headers["Content-Disposition"])
    rows = {row["nama"]: row for row in read_csv(response)}
    assert set(rows) == {"Siti Aminah", "'=HYPERLINK(\"http://evil.example\",\"klik\")", "Rudi Hartono"}
    siti = rows["Siti Aminah"]
    assert (siti["nip"], siti["unit"], siti["percobaan"], siti["status"], siti["ditutup_oleh"], siti["nilai"],
            siti["predikat"], siti["lulus"]) == ("199001012015032001", "Badan Kepegawaian Daerah", "1", "finished",
                                                 "learner", "100", "Sangat Baik", "ya")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", siti["mulai"])
    assert rows["'=HYPERLINK(\"http://evil.example\",\"klik\")"]["lulus"] == "tidak"
    assert rows["'=HYPERLINK(\"http://evil.example\",\"klik\")"]["nilai"] == "0"
    rudi = rows["Rudi Hartono"]
    assert (rudi["status"], rudi["nilai"], rudi["lulus"], rudi["dikumpulkan"]) == ("in_progress", "", "", "")
    filtered = read_csv(client.get(f"/kelola/kursus/{course.id}/kuis/{lesson.key}/percobaan.csv",
                                   query_string={"passed": "yes"}))
    assert [row["nama"] for row in filtered] == ["Siti Aminah"]


def test_attempts_page_paginates_keeping_the_filters(client, login, trainer, prepost_course, make_user, enrol):
    course, pre, _post, _practice = prepost_course
    enrolment = enrol(make_user(full_name="Tekun"), course)
    for number in range(1, 53):
        record(enrolment, pre, 70, number=number)
    login(trainer)
    url = f"/kelola/kursus/{course.id}/kuis/{pre.key}/percobaan"
    first = client.get(url, query_string={"state": "finished"}).get_data(as_text=True)
    assert "52 attempts" in first
    assert "Page 1 of 2" in first
    assert first.count("/hasil") == 50
    assert "Attempt 52" in first  # newest first
    assert "Attempt 3<" in first
    assert "Attempt 2<" not in first
    assert f'href="{url}?state=finished&amp;page=2"' in first
    second = client.get(url, query_string={"state": "finished", "page": 2}).get_data(as_text=True)
    assert second.count("/hasil") == 2
    assert "Attempt 1<" in second


# ---------------------------------------------------------------- pages and who may open them


def test_analysis_page_explains_the_indices_and_shows_the_flags(client, login, trainer, analysed_quiz):
    course, lesson, _questions = analysed_quiz
    login(trainer)
    page = client.get(f"/kelola/kursus/{course.id}/kuis/{lesson.key}/analisis").get_data(as_text=True)
    assert "Item analysis: Ujian akhir" in page
    for words in ("Facility", "Discrimination (D)", "Point-biserial", "27 % of attempts", "Too easy", "Too hard",
                  "Discriminates negatively", "A distractor chosen more by the top group", "nobody chose it"):
        assert words in page, words
    assert page.index("Ibukota Jawa Barat") < page.index("Bumi bulat") < page.index("Singkatan ASN")
    for shown in ("0.32", "-0.61", "0.55"):  # the point-biserials, two decimals
        assert shown in page
    assert page.count('<div class="table-wrap"><table class="table">') == 1  # the questions
    assert page.count('<div class="table-wrap prose"><table>') == 4  # the options of the choice questions


def test_empty_reports_render(client, login, trainer, prepost_course):
    course, pre, _post, _practice = prepost_course
    login(trainer)
    for url in (f"/kelola/kursus/{course.id}/kuis/{pre.key}/percobaan",
                f"/kelola/kursus/{course.id}/kuis/{pre.key}/analisis", f"/kelola/kursus/{course.id}/pre-post"):
        assert client.get(url).status_code == 200, url
    assert read_csv(client.get(f"/kelola/kursus/{course.id}/pre-post.csv")) == []


def report_urls(course, lesson) -> list[str]:
    base = f"/kelola/kursus/{course.id}"
    return [f"{base}/kuis/{lesson.key}/percobaan", f"{base}/kuis/{lesson.key}/percobaan.csv",
            f"{base}/kuis/{lesson.key}/analisis", f"{base}/pre-post", f"{base}/pre-post.csv"]


def test_only_the_courses_owners_and_admins_open_the_reports(app, client, login, trainer, make_user, enrol,
                                                              attempts_quiz):
    course, lesson = attempts_quiz
    urls = report_urls(course, lesson)
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/akun/masuk" in response.headers["Location"]
    learner = db.session.scalar(select(Attempt).order_by(Attempt.id)).user  # who took the quiz
    for user, status in ((learner, 403), (make_user(), 403), (make_user(roles=("hr",)), 403),
                         (make_user(roles=("trainer",)), 403), (make_user(roles=("admin",)), 200),
                         (trainer, 200)):
        browser = app.test_client()
        assert browser.post("/akun/masuk", data={"login": user.email, "password": "correct horse 1"}
                            ).status_code == 302
        for url in urls:
            assert browser.get(url).status_code == status, (user.roles, url)


def test_reports_answer_404_for_what_is_not_a_quiz_of_the_course(client, login, trainer, attempts_quiz,
                                                                 make_course):
    course, lesson = attempts_quiz
    text_lesson = course.published_version.lessons()[0]
    other, (other_quiz,) = make_quiz_course(make_course, trainer, code="AT-02")
    login(trainer)
    for key in ("0" * 32, text_lesson.key, other_quiz.key):
        for part in ("percobaan", "percobaan.csv", "analisis"):
            assert client.get(f"/kelola/kursus/{course.id}/kuis/{key}/{part}").status_code == 404, (key, part)
    assert client.get("/kelola/kursus/999999/pre-post").status_code == 404


def test_the_settings_page_and_the_result_page_link_to_the_reports(client, login, trainer, attempts_quiz):
    course, lesson = attempts_quiz
    login(trainer)
    settings = client.get(f"/kelola/pelajaran/{lesson.id}/kuis").get_data(as_text=True)
    assert f"/kelola/kursus/{course.id}/kuis/{lesson.key}/percobaan" in settings
    assert f"/kelola/kursus/{course.id}/kuis/{lesson.key}/analisis" in settings
    assert f"/kelola/kursus/{course.id}/pre-post" in settings
    attempt = db.session.scalar(select(Attempt).where(Attempt.state == "finished"))
    result = client.get(f"/percobaan/{attempt.id}/hasil").get_data(as_text=True)
    assert f"/kelola/kursus/{course.id}/kuis/{lesson.key}/percobaan" in result


# ---------------------------------------------------------------- on a phone


@pytest.mark.browser
@BROWSER[1]
def test_reports_fit_a_phone(live_server, new_page, trainer, analysed_quiz):
    course, lesson, _questions = analysed_quiz
    db.session.commit()
    page = new_page(PHONE)
    sign_in(page, live_server, trainer.email)
    for url in report_urls(course, lesson):
        if url.endswith(".csv"):
            continue
        page.goto(live_server + url)
        snap(page, f"report-{url.rsplit('/', 1)[1]}-360px")
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{url} is {width} px wide on a 360-px phone"
