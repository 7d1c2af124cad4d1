"""The trainer's question-bank pages: writing questions of every type, import and export by upload,
versions and regrading, search and pagination, sharing; and that nobody but the course's owners gets in."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import stream_encode_multipart

from courses import services
from courses.quizzes import attempts as quiz
from courses.quizzes import importers
from courses.quizzes import services as banks
from courses.quizzes.models import Answer, AttemptItem, Question, QuestionBank, Tag
from lms.extensions import db
from lms.models import AuditEvent
from tests.browser_support import VIEWPORTS, needs_chromium, sign_in
from tests.courses.helpers import PASSWORD, stored_files, upload
from tests.courses.quiz_helpers import make_quiz_course, question_set

SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "moodle-xml" / "nested_categories_with_questions.xml"


def rows(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def text(response) -> str:
    body = response.get_data(as_text=True)
    response.close()
    return body


def location(response) -> str:
    assert response.status_code in (302, 303), text(response)[:3000]
    return response.headers["Location"]


def question_form(name: str, answers=(), /, *, prompt: str = "Pertanyaan?", **fields) -> dict:
    """The question form as a browser sends it: the fields every type shows, the rows given, then an empty
    row. Fields only some types show (partial credit, case sensitivity) come in ``fields``."""
    data = {"name": name, "prompt": prompt, "text_format": "markdown", "general_feedback": "",
            "default_mark": "1", "tags": ""}
    for index, row in enumerate([*answers, {"text": "", "fraction": "", "feedback": ""}]):
        data.update({f"answers-{index}-{column}": value for column, value in row.items()})
    return data | fields


def shown_questions(body: str) -> list[str]:
    """Names of the questions listed on a bank page, in order."""
    return re.findall(r'<td data-label="Name"><a href="/kelola/soal/\d+">([^<]+)</a>', body)


@pytest.fixture
def course(make_course):
    return make_course(code="QB-01", publish=False)


@pytest.fixture
def owner(client, login, trainer):
    login(trainer)
    return trainer


# ---------------------------------------------------------------- writing questions

TYPES = {
    "single": ({},
               [{"text": "Bandung", "fraction": "100", "feedback": "Benar."}, {"text": "Surabaya", "fraction": "0"}],
               [("Bandung", 1.0, None, None), ("Surabaya", 0.0, None, None)]),
    "multi": ({"partial_credit": "all_or_nothing"},
              [{"text": "2", "fraction": "50"}, {"text": "3", "fraction": "50"}, {"text": "4", "fraction": "-50"}],
              [("2", 0.5, None, None), ("3", 0.5, None, None), ("4", -0.5, None, None)]),
    "truefalse": ({}, [{"text": "true", "fraction": "0"}, {"text": "false", "fraction": "100"}],
                  [("true", 0.0, None, None), ("false", 1.0, None, None)]),
    "shortanswer": ({"case_sensitive": "y", "use_wildcards": "y"},
                    [{"text": "ASN", "fraction": "100"}, {"text": "Aparatur*", "fraction": "50"}],
                    [("ASN", 1.0, None, None), ("Aparatur*", 0.5, None, None)]),
    "numerical": ({}, [{"text": "2,5", "fraction": "100", "tolerance": "0.1"}], [("2.5", 1.0, None, 0.1)]),
    "ordering": ({}, [{"text": "Rencana"}, {"text": "Laksana"}, {"text": "Evaluasi"}],
                 [("Rencana", 0.0, None, None), ("Laksana", 0.0, None, None), ("Evaluasi", 0.0, None, None)]),
    "matching": ({}, [{"text": "BKN", "match_text": "Kepegawaian"}, {"text": "LAN", "match_text": "Administrasi"},
                      {"text": "", "match_text": "Keuangan"}],
                 [("BKN", 0.0, "Kepegawaian", None), ("LAN", 0.0, "Administrasi", None),
                  ("", 0.0, "Keuangan", None)]),
    "essay": ({}, [], []),
}


@pytest.mark.parametrize("qtype", list(TYPES))
def test_owner_writes_a_question_of_each_type_through_the_form(client, owner, course, qtype):
    extra, answers, stored = TYPES[qtype]
    form = text(client.get(f"/kelola/kursus/{course.id}/bank-soal/baru?jenis={qtype}"))
    assert ("answers-0-text" in form) == (qtype != "essay")
    assert ("answers-0-match_text" in form) == (qtype == "matching")
    assert ("answers-0-tolerance" in form) == (qtype == "numerical")
    assert ('name="partial_credit"' in form) == (qtype == "multi")
    assert ('name="case_sensitive"' in form) == (qtype == "shortanswer")

    response = client.post(f"/kelola/kursus/{course.id}/bank-soal/baru?jenis={qtype}", data=question_form(
        f"Soal {qtype}", answers, prompt="Ibukota **Jawa Barat**?", tags="umum, Jawa Barat, umum", **extra))
    assert location(response).endswith(f"/kelola/kursus/{course.id}/bank-soal")

    (question,) = banks.current_questions(banks.bank_for(course))
    assert (question.type, question.name, question.version, question.created_by_id) == (
        qtype, f"Soal {qtype}", 1, owner.id)
    assert question.prompt_html.strip() == "<p>Ibukota <strong>Jawa Barat</strong>?</p>"
    assert [t.name for t in question.tags] == ["Jawa Barat", "umum"]
    assert [(a.text_html, a.fraction, a.match_text, a.tolerance) for a in question.answers] == stored
    if qtype == "multi":
        assert question.partial_credit == "all_or_nothing"
    if qtype == "shortanswer":
        assert (question.case_sensitive, question.use_wildcards) == (True, True)
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "question.create")) is not None
    assert "Soal " + qtype in text(client.get(f"/kelola/kursus/{course.id}/bank-soal"))


def test_html_prompts_are_sanitised(client, owner, course):
    location(client.post(f"/kelola/kursus/{course.id}/bank-soal/baru?jenis=essay", data=question_form(
        "Esai", prompt='<p onclick="steal()">Jelaskan <em>integritas</em>.</p><script>steal()</script>',
        text_format="html", general_feedback="<img src=x onerror=steal()>Jujur")))
    (question,) = banks.current_questions(banks.bank_for(course))
    assert question.prompt_html == "<p>Jelaskan <em>integritas</em>.</p>"
    assert "onerror" not in question.general_feedback_html
    assert "Jujur" in question.general_feedback_html


@pytest.mark.parametrize(("qtype", "answers", "fields", "message"), [
    ("single", [{"text": "A", "fraction": "50"}, {"text": "B", "fraction": "0"}], {},
     "A single-choice question needs at least two options, one of them fully right."),
    ("single", [{"text": "A", "fraction": "100"}, {"text": "", "fraction": "50"}], {},
     "Row 2 has no answer text: write one or clear the row."),
    ("single", [{"text": "A", "fraction": "150"}, {"text": "B", "fraction": "0"}], {},
     "Number must be between -100 and 100."),
    ("numerical", [{"text": "dua", "fraction": "100"}], {}, "Each answer of a numerical question is a number."),
    ("matching", [{"text": "BKN", "match_text": "Kepegawaian"}, {"text": "LAN", "match_text": ""}], {},
     "Every item of a matching question needs its match."),
    ("truefalse", [{"text": "true", "fraction": "100"}, {"text": "false", "fraction": "0"}], {"name": ""},
     "This field is required."),
    ("essay", [], {"default_mark": "-1"}, "Number must be between 0 and 1000."),
])
def test_bad_input_shows_the_message_and_stores_nothing(client, owner, course, qtype, answers, fields, message):
    response = client.post(f"/kelola/kursus/{course.id}/bank-soal/baru?jenis={qtype}",
                           data=question_form("Soal rusak", answers, **fields))
    assert response.status_code == 200
    body = text(response)
    assert message in body
    assert 'class="error"' in body
    assert (rows(Question), rows(Answer), rows(Tag), rows(QuestionBank)) == (0, 0, 0, 0)
    if fields.get("name") is None:
        assert 'value="Soal rusak"' in body, "what was typed is shown again"


def test_editing_an_unused_question_changes_it_in_place(client, owner, course):
    bank = banks.bank_for(course)
    (single, *_others) = question_set(bank, owner)
    db.session.commit()
    form = text(client.get(f"/kelola/soal/{single.id}"))
    # The three options, then three empty rows.
    assert re.findall(r'name="answers-(\d+)-text"[^>]*?(?:value="([^"]*)")?>', form) == [
        ("0", "Bandung"), ("1", "Surabaya"), ("2", "Semarang"), ("3", ""), ("4", ""), ("5", "")]
    assert "creates version" not in form
    location(client.post(f"/kelola/soal/{single.id}", data=question_form(
        "Ibukota Jabar", [{"text": "Bandung", "fraction": "100"}, {"text": "Bogor", "fraction": "0"}],
        prompt="<p>Ibukota Jawa Barat?</p>", text_format="html", tags="provinsi")))
    db.session.expire_all()
    question = db.session.get(Question, single.id)
    assert (question.name, question.version, question.is_current) == ("Ibukota Jabar", 1, True)
    assert [a.text_html for a in question.answers] == ["Bandung", "Bogor"]
    assert [t.name for t in question.tags] == ["provinsi"]
    assert rows(Question) == 7


# ---------------------------------------------------------------- versions and regrading


@pytest.fixture
def answered(make_course, make_user, trainer):
    """A published post-test on ``question_set``; a learner answered “Ibukota” with Surabaya (wrong by the
    key) and submitted. Returns (course, the “Ibukota” question, the attempt)."""
    course, (lesson,) = make_quiz_course(make_course, trainer, code="QZ-01")
    learner = make_user(email="sari@example.go.id")
    enrolment = services.enrol(learner, course)
    attempt = quiz.start(enrolment, lesson)
    db.session.commit()
    item = next(i for i in attempt.items if i.question.name == "Ibukota")
    assert quiz.save(attempt.id, item.position, seq=1, response={"choice": 1}, user_id=learner.id).accepted
    quiz.submit(attempt)
    db.session.commit()
    assert item.mark == 0
    return course, item.question, attempt


def test_editing_a_used_question_makes_version_2_and_the_history_lists_both(client, owner, answered):
    course, v1, attempt = answered
    form = text(client.get(f"/kelola/soal/{v1.id}"))
    assert "Saving creates version 2; attempts already made keep version 1" in form
    response = client.post(f"/kelola/soal/{v1.id}", data=question_form("Ibukota", [
        {"text": "Bandung", "fraction": "0"}, {"text": "Surabaya", "fraction": "100"},
        {"text": "Semarang", "fraction": "0"}], prompt="<p>Ibukota Jawa Timur?</p>", text_format="html",
        tags="umum"))
    assert location(response).endswith(f"/kelola/kursus/{course.id}/bank-soal")
    assert "Saved as version 2. Attempts already made keep version 1." in text(client.get(response.location))

    db.session.expire_all()
    versions = db.session.scalars(select(Question).where(Question.key == v1.key).order_by(Question.version)).all()
    assert [(q.version, q.is_current, q.prompt_html) for q in versions] == [
        (1, False, "<p>Ibukota Jawa Barat?</p>"), (2, True, "<p>Ibukota Jawa Timur?</p>")]
    assert [a.fraction for a in versions[0].answers] == [1.0, 0.0, 0.0], "the used version never changes"
    v2 = versions[1]
    assert [t.name for t in v2.tags] == ["umum"]

    history = text(client.get(f"/kelola/soal/{v1.id}/riwayat"))
    assert re.search(r">v2 <span class=\"badge ok\">current</span>.*?<td data-label=\"Answers in attempts\">0</td>",
                     history, re.S)
    assert re.search(r">v1</td>.*?<td data-label=\"Answers in attempts\">1</td>", history, re.S)
    assert "Regrade attempts with version 2" in history

    # The old version cannot be edited, by any URL.
    refused = client.get(f"/kelola/soal/{v1.id}")
    assert location(refused).endswith(f"/kelola/soal/{v1.id}/riwayat")
    assert "Version 1 is an old version of this question and cannot be edited" in text(client.get(refused.location))
    location(client.post(f"/kelola/soal/{v1.id}", data=question_form("Diubah", [{"text": "x", "fraction": "100"}])))
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).where(Question.key == v1.key)) == 2
    assert db.session.get(Question, v1.id).name == "Ibukota"

    # Regrading applies the corrected key to the old answer.
    response = client.post(f"/kelola/soal/{v2.id}/nilai-ulang")
    assert location(response).endswith(f"/kelola/soal/{v2.id}/riwayat")
    assert "Answers regraded: 1; attempts whose grade changed: 1" in text(client.get(response.location))
    db.session.expire_all()
    item = db.session.scalar(select(AttemptItem).where(AttemptItem.attempt_id == attempt.id,
                                                       AttemptItem.question_key == v1.key))
    assert (item.question_id, item.mark) == (v2.id, 1.0)


def test_the_regrade_summary_lists_what_was_skipped(client, owner, course, monkeypatch):
    question = question_set(banks.bank_for(course), owner)[0]
    db.session.commit()
    calls = []

    def regrade(key, *, actor):
        calls.append((key, actor.id))
        return type("Regraded", (), {"attempts": 2, "items": 3, "newly_passed": 1, "newly_failed": 0,
                                     "skipped": ["Version 1 has different options."]})()

    monkeypatch.setattr(quiz, "regrade_question", regrade)
    response = client.post(f"/kelola/soal/{question.id}/nilai-ulang")
    body = text(client.get(location(response)))
    assert calls == [(question.key, owner.id)]
    assert "Answers regraded: 3; attempts whose grade changed: 2; now passing: 1; no longer passing: 0" in body
    assert "Version 1 has different options." in body


def test_preview_shows_the_learner_view_without_the_key_and_then_the_key(client, owner, course):
    single = question_set(banks.bank_for(course), owner)[0]
    db.session.commit()
    body = text(client.get(f"/kelola/soal/{single.id}/pratinjau"))
    learner_part, key_part = body.split('id="key-h"')
    assert "Ibukota Jawa Barat?" in learner_part
    assert 'type="radio"' in learner_part
    assert "Surabaya" in learner_part
    assert "Benar." not in learner_part
    assert "Itu Jatim." not in learner_part
    assert "badge ok" not in learner_part
    assert "Benar." in key_part
    assert "Itu Jatim." in key_part
    assert re.search(r'<span class="badge ok">100 %</span>', key_part)


# ---------------------------------------------------------------- import and export


def test_the_moodle_sample_uploaded_shows_what_was_imported(client, owner, course):
    response = client.post(f"/kelola/kursus/{course.id}/bank-soal/impor",
                           data={"file": upload(SAMPLE.read_bytes(), SAMPLE.name), "format": "auto"})
    assert response.status_code == 200
    body = text(response)
    assert "5 questions imported into the bank." in body
    assert re.search(r">True/false</td><td data-label=\"Questions\">4</td>", body)
    assert re.search(r">Essay</td><td data-label=\"Questions\">1</td>", body)
    for tag in ("Iota", "Iota/Kappa", "Iota/Kappa/Lambda", "Iota/Mu"):
        assert f'<span class="tag">{tag}</span>' in body
    assert len(banks.current_questions(banks.bank_for(course))) == 5
    assert "Kappa Essay Question" in text(client.get(f"/kelola/kursus/{course.id}/bank-soal"))


def test_unsupported_questions_are_listed_with_the_reason(client, owner, course):
    source = (b'<?xml version="1.0"?><quiz><question type="calculated"><name><text>Rumus</text></name>'
              b'<questiontext format="html"><text>{a} + {b}</text></questiontext></question></quiz>')
    body = text(client.post(f"/kelola/kursus/{course.id}/bank-soal/impor",
                            data={"file": upload(source, "rumus.xml"), "format": "moodle"}))
    assert "0 questions imported" in body
    assert "1 question skipped" in body
    assert "Rumus" in body
    assert "calculated questions" in body


@pytest.mark.parametrize(("source", "fmt"), [
    (b'<?xml version="1.0"?><quiz><question type="truefalse"><name>', "auto"),
    (b"::Soal::Ibukota Jawa Barat? {=Bandung ~Surabaya", "gift"),
])
def test_a_refused_file_shows_why_and_stores_nothing(client, owner, course, source, fmt):
    files = stored_files()
    response = client.post(f"/kelola/kursus/{course.id}/bank-soal/impor",
                           data={"file": upload(source, "soal.txt"), "format": fmt})
    assert response.status_code == 200
    assert "The file was refused and nothing was imported:" in text(response)
    assert (rows(Question), rows(Answer), rows(Tag), rows(QuestionBank)) == (0, 0, 0, 0)
    assert stored_files() == files


def test_a_file_over_the_limit_is_refused_before_it_is_read(client, owner, course, monkeypatch):
    monkeypatch.setattr(importers, "MAX_FILE_BYTES", 1024 * 1024)
    # Encoded in memory: the test client would spool a body this big to a file it never closes.
    body, length, boundary = stream_encode_multipart(MultiDict({
        "format": "gift", "file": FileStorage(io.BytesIO(b"x" * (1024 * 1024 + 1)), "besar.txt")}),
        use_tempfile=False)
    response = client.post(f"/kelola/kursus/{course.id}/bank-soal/impor", input_stream=body, content_length=length,
                           content_type=f'multipart/form-data; boundary="{boundary}"')
    assert "The file is larger than 1 MB; nothing was imported." in text(response)
    assert rows(Question) == 0


def test_an_import_sent_twice_is_imported_once(client, owner, course):
    form = {"file": upload(SAMPLE.read_bytes(), SAMPLE.name), "format": "auto", "once": "a1b2c3d4"}
    assert client.post(f"/kelola/kursus/{course.id}/bank-soal/impor", data=form).status_code == 200
    form["file"] = upload(SAMPLE.read_bytes(), SAMPLE.name)
    again = client.post(f"/kelola/kursus/{course.id}/bank-soal/impor", data=form)
    assert "already been imported" in text(client.get(location(again)))
    assert rows(Question) == 5


@pytest.mark.parametrize(("fmt", "extension", "types"), [
    ("moodle", "xml", ["essay", "matching", "multi", "numerical", "ordering", "shortanswer", "single", "truefalse"]),
    ("gift", "gift.txt", ["essay", "matching", "multi", "numerical", "shortanswer", "single", "truefalse"]),
])
def test_exports_download_and_parse_back(client, owner, course, fmt, extension, types):
    bank = banks.bank_for(course)
    questions = question_set(bank, owner)
    questions.append(banks.create_question(bank, actor=owner, type="essay", name="Esai",
                                           prompt_html="<p>Jelaskan integritas.</p>"))
    db.session.commit()
    response = client.get(f"/kelola/kursus/{course.id}/bank-soal/ekspor?format={fmt}")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == f"attachment; filename=bank-soal-QB-01.{extension}"
    parsed = importers.parse(response.get_data(), fmt=fmt)
    response.close()
    assert sorted(q.type for q in parsed.questions) == types
    by_name = {q.name: q for q in parsed.questions}
    assert [a.text for a in by_name["Ibukota"].answers] == ["Bandung", "Surabaya", "Semarang"]
    assert client.get(f"/kelola/kursus/{course.id}/bank-soal/ekspor?format=csv").status_code == 404


def test_an_empty_bank_exports_an_empty_file(client, owner, course):
    response = client.get(f"/kelola/kursus/{course.id}/bank-soal/ekspor?format=moodle")
    assert importers.parse(response.get_data(), fmt="moodle").questions == []
    response.close()
    assert rows(QuestionBank) == 0, "reading never creates the bank"


# ---------------------------------------------------------------- the list


@pytest.fixture
def full_bank(course, trainer):
    bank = banks.bank_for(course)
    for n in range(1, 31):
        banks.create_question(bank, actor=trainer, type="single", name=f"Soal {n:02d}",
                              prompt_html=f"<p>Pertanyaan {n}{' tentang anggaran' if n == 17 else ''}</p>",
                              tags=["genap"] if n % 2 == 0 else [],
                              answers=[{"text_html": "Ya", "fraction": 1.0}, {"text_html": "Tidak", "fraction": 0}])
    for n in range(1, 4):
        banks.create_question(bank, actor=trainer, type="truefalse", name=f"Benar salah {n}",
                              prompt_html="<p>Pernyataan.</p>",
                              answers=[{"text_html": "true", "fraction": 1.0}, {"text_html": "false", "fraction": 0}])
    db.session.commit()
    return bank


def test_the_list_searches_filters_and_pages(client, owner, course, full_bank):
    base = f"/kelola/kursus/{course.id}/bank-soal"
    first = text(client.get(base))
    assert "33 questions" in first
    assert shown_questions(first) == [f"Benar salah {n}" for n in (1, 2, 3)] + [f"Soal {n:02d}" for n in range(1, 23)]
    assert "Page 1 of 2" in first
    assert f'href="{base}?page=2"' in first
    assert shown_questions(text(client.get(f"{base}?page=2"))) == [f"Soal {n:02d}" for n in range(23, 31)]

    assert shown_questions(text(client.get(f"{base}?q=ANGGARAN"))) == ["Soal 17"]
    assert shown_questions(text(client.get(f"{base}?q=soal+07"))) == ["Soal 07"]
    assert shown_questions(text(client.get(f"{base}?q=100%25"))) == [], "% is a character, not a wildcard"
    assert shown_questions(text(client.get(f"{base}?type=truefalse"))) == ["Benar salah 1", "Benar salah 2",
                                                                           "Benar salah 3"]
    tag = db.session.scalar(select(Tag).where(Tag.name == "genap"))
    tagged = text(client.get(f"{base}?tag={tag.id}"))
    assert shown_questions(tagged) == [f"Soal {n:02d}" for n in range(2, 31, 2)]
    assert "15 questions" in tagged
    assert shown_questions(text(client.get(f"{base}?type=single&q=soal&page=2"))) == [
        f"Soal {n:02d}" for n in range(26, 31)]
    assert "type=single" in text(client.get(f"{base}?type=single&q=soal")).split('rel="next"')[0].rsplit("href", 1)[1]
    assert "No question matches your search." in text(client.get(f"{base}?q=tidak-ada"))


def test_the_list_marks_used_questions_and_links_from_the_course_tabs(client, owner, answered):
    course, question, _attempt = answered
    body = text(client.get(f"/kelola/kursus/{course.id}/bank-soal"))
    assert "used in attempts" in body
    assert f'href="/kelola/kursus/{course.id}/bank-soal" aria-current="page">Question bank</a>' in body
    assert f'href="/kelola/kursus/{course.id}/bank-soal"' in text(client.get(f"/kelola/kursus/{course.id}/draf"))


def test_sharing_the_bank(client, owner, course):
    location(client.post(f"/kelola/kursus/{course.id}/bank-soal/bagikan", data={"is_shared": "y"}))
    assert banks.bank_for(course).is_shared
    location(client.post(f"/kelola/kursus/{course.id}/bank-soal/bagikan", data={}))
    db.session.expire_all()
    assert not banks.bank_for(course).is_shared
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("question_bank.%"))
                                 .order_by(AuditEvent.id)).all()
    assert actions == ["question_bank.share", "question_bank.unshare"]


# ---------------------------------------------------------------- who gets in


def snapshot() -> dict:
    db.session.expire_all()
    return {table.name: sorted(map(repr, db.session.execute(select(table)).all()))
            for table in db.metadata.sorted_tables}


@pytest.mark.parametrize("role", ["trainer", "learner"])
def test_only_the_courses_owners_and_admins_get_in(app, make_user, course, trainer, role):
    question = question_set(banks.bank_for(course), trainer)[0]
    db.session.commit()
    other = make_user(roles=(role,), email="lain@example.go.id")
    client = app.test_client()
    assert client.post("/akun/masuk", data={"login": other.email, "password": PASSWORD}).status_code == 302
    base = f"/kelola/kursus/{course.id}/bank-soal"
    urls = [("GET", base), ("GET", f"{base}/baru?jenis=single"), ("GET", f"{base}/impor"),
            ("GET", f"{base}/ekspor?format=moodle"), ("GET", f"/kelola/soal/{question.id}"),
            ("GET", f"/kelola/soal/{question.id}/pratinjau"), ("GET", f"/kelola/soal/{question.id}/riwayat"),
            ("POST", f"{base}/bagikan"), ("POST", f"{base}/baru?jenis=single"), ("POST", f"{base}/impor"),
            ("POST", f"/kelola/soal/{question.id}"), ("POST", f"/kelola/soal/{question.id}/nilai-ulang")]
    before = snapshot()
    for method, url in urls:
        response = client.open(url, method=method, data=question_form("Soal", [{"text": "x", "fraction": "100"}],
                                                                      is_shared="y") if method == "POST" else None)
        assert response.status_code == 403, (method, url)
        response.close()
    assert snapshot() == before

    admin = make_user(roles=("admin",), email="admin@example.go.id")
    client = app.test_client()
    assert client.post("/akun/masuk", data={"login": admin.email, "password": PASSWORD}).status_code == 302
    assert client.get(base).status_code == 200
    assert client.get(f"/kelola/soal/{question.id}").status_code == 200


# ---------------------------------------------------------------- in a browser


@pytest.mark.browser
@needs_chromium
@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_rows_added_with_the_button_are_saved_and_the_pages_fit_a_phone(app, monkeypatch, live_server, new_page,
                                                                         course, trainer, viewport):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)  # the page sends its token, as in production
    base = f"/kelola/kursus/{course.id}/bank-soal"
    email = trainer.email
    db.session.close()  # the live server writes to the same database
    page = new_page(viewport)
    sign_in(page, live_server, email)
    page.goto(f"{live_server}{base}/baru?jenis=matching")
    assert page.locator("#answer-rows tbody tr").count() == 3
    page.fill("#name", "Lembaga")
    page.fill("#prompt", "Pasangkan lembaga dengan urusannya.")
    page.click("[data-add-row]")
    page.click("[data-add-row]")
    rows = page.locator("#answer-rows tbody tr")
    assert rows.count() == 5
    assert rows.nth(4).locator(".row-n").first.text_content() == "5"
    assert page.evaluate("document.activeElement.name") == "answers-4-text", "the new row has the focus"
    pairs = [("BKN", "Kepegawaian"), ("LAN", "Administrasi"), ("BPKP", "Pengawasan"), ("KemenPAN-RB", "Reformasi"),
             ("", "Keuangan")]
    for index, (item, match) in enumerate(pairs):
        if item:
            rows.nth(index).locator("input[name$='-text']").fill(item)
        rows.nth(index).locator("input[name$='-match_text']").fill(match)
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    page.click("form.form button[type=submit]")
    page.wait_for_url(f"{live_server}{base}")
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    assert page.errors == []

    (question,) = banks.current_questions(banks.bank_for(course))
    assert [(a.text_html, a.match_text) for a in question.answers] == pairs
    db.session.close()
    for path in (f"/kelola/soal/{question.id}", f"/kelola/soal/{question.id}/pratinjau",
                 f"/kelola/soal/{question.id}/riwayat", f"{base}/impor"):
        page.goto(live_server + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], path
