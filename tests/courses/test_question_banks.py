"""Question banks: Moodle XML and GIFT import (all or nothing), export round trips, versions, sharing."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from flask import url_for
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from courses.quizzes import services as quizzes
from courses.quizzes.models import Answer, Question, QuestionBank, Tag
from lms.extensions import db
from lms.models import AuditEvent
from lms.storage import store
from tests.courses.helpers import PDF, PNG, stored_files

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "moodle-xml"
SAMPLE = FIXTURES / "nested_categories_with_questions.xml"


def rows(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def nothing_stored(files_before) -> bool:
    return (rows(Question), rows(Answer), rows(Tag), rows(QuestionBank)) == (0, 0, 0, 0) and \
        stored_files() == files_before


def moodle(*questions: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<quiz>\n' + "\n".join(questions) + "\n</quiz>\n").encode()


def mq(qtype: str, name: str, body: str = "", text: str = "<p>Teks</p>", files: str = "") -> str:
    return (f'<question type="{qtype}"><name><text>{name}</text></name>'
            f'<questiontext format="html"><text><![CDATA[{text}]]></text>{files}</questiontext>{body}</question>')


def answer(text: str, fraction: float, extra: str = "") -> str:
    return f'<answer fraction="{fraction}"><text>{text}</text><feedback><text></text></feedback>{extra}</answer>'


def summary(question: Question) -> tuple:
    """What a learner and a grader see of a question, with course ids taken out of image links."""
    def norm(html):
        return re.sub(r"/kursus/\d+/gambar/", "/kursus/*/gambar/", html or "")
    return (question.type, question.name, norm(question.prompt_html), norm(question.general_feedback_html),
            question.default_mark, question.case_sensitive, sorted(t.name for t in question.tags),
            [(norm(a.text_html), round(a.fraction, 5), norm(a.feedback_html), a.match_text, a.tolerance)
             for a in question.answers])


@pytest.fixture
def course(make_course):
    return make_course(code="QB-01", publish=False)


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(args=list(args))


# ---------------------------------------------------------------- Moodle XML


def test_the_moodle_sample_imports_completely_with_category_paths_as_tags(course, trainer):
    result = quizzes.import_questions(course, SAMPLE.read_bytes(), file_name=SAMPLE.name, actor=trainer)
    db.session.commit()

    assert dict(result.counts) == {"truefalse": 4, "essay": 1}
    assert result.skipped == []
    assert result.tags == ["Iota", "Iota/Kappa", "Iota/Kappa/Lambda", "Iota/Mu"]
    questions = quizzes.current_questions(quizzes.bank_for(course))
    by_name = {q.name: q for q in questions}
    assert set(by_name) == {"Iota Question", "Kappa Essay Question", "Kappa Question", "Lambda Question",
                            "Mu Question"}
    assert [t.name for t in by_name["Lambda Question"].tags] == ["Iota/Kappa/Lambda"]
    assert [t.name for t in by_name["Kappa Essay Question"].tags] == ["Iota/Kappa"]
    iota = by_name["Iota Question"]
    assert iota.prompt_html == "<p>Testing Iota Question</p>"
    assert [(a.text_html, a.fraction) for a in iota.answers] == [("true", 1.0), ("false", 0.0)]
    assert all(q.version == 1 and q.is_current and not q.is_used for q in questions)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "question_bank.import"))
    assert event.details["counts"] == {"truefalse": 4, "essay": 1}


def test_cli_imports_the_sample_and_prints_counts_per_type(cli, course):
    result = cli("courses", "import-questions", str(SAMPLE), "--course", "qb-01")

    assert result.exit_code == 0, result.output
    assert "Imported 5 questions into the bank of QB-01: 1 essay, 4 truefalse." in result.output
    assert "Tags: Iota, Iota/Kappa, Iota/Kappa/Lambda, Iota/Mu." in result.output
    db.session.rollback()
    assert rows(Question) == 5


def test_cli_refuses_a_malformed_file_with_the_reason_and_stores_nothing(cli, course, tmp_path):
    bad = tmp_path / "rusak.xml"
    bad.write_bytes(SAMPLE.read_bytes()[:-20])
    before = stored_files()

    result = cli("courses", "import-questions", str(bad), "--course", "QB-01")

    assert result.exit_code == 1
    assert "rusak.xml refused, nothing imported: the file is not well-formed XML" in result.output
    assert nothing_stored(before)


def test_every_moodle_type_is_imported_with_its_settings(course, trainer):
    data = moodle(
        '<question type="category"><category><text>$course$/top/Dasar</text></category></question>',
        mq("multichoice", "Satu", "<single>true</single>" + answer("A", 100) + answer("B", 0)),
        mq("multichoice", "Banyak", "<single>false</single>" + answer("A", 50) + answer("B", 50)
           + answer("C", -100)),
        mq("shortanswer", "Isian", "<usecase>1</usecase>" + answer("Jakarta", 100) + answer("Jak*", 50)),
        mq("numerical", "Angka", answer("3.14159", 100, "<tolerance>0.01</tolerance>")),
        mq("matching", "Pasangan", "<subquestion format='html'><text>Ibu kota</text><answer><text>Jakarta</text>"
           "</answer></subquestion><subquestion format='html'><text>Pulau</text><answer><text>Jawa</text></answer>"
           "</subquestion><subquestion format='html'><text></text><answer><text>Bali</text></answer></subquestion>"),
        mq("ordering", "Urutan", answer("Satu", 100) + answer("Dua", 100) + answer("Tiga", 100)),
        mq("essay", "Esai", "<defaultgrade>5</defaultgrade><tags><tag><text>esai</text></tag></tags>"),
    )
    result = quizzes.import_questions(course, data, actor=trainer)

    assert dict(result.counts) == {"single": 1, "multi": 1, "shortanswer": 1, "numerical": 1, "matching": 1,
                                   "ordering": 1, "essay": 1}
    by_name = {q.name: q for q in quizzes.current_questions(quizzes.bank_for(course))}
    assert [a.fraction for a in by_name["Banyak"].answers] == [0.5, 0.5, -1.0]
    assert by_name["Isian"].case_sensitive
    assert by_name["Isian"].use_wildcards
    assert [(a.text_html, a.tolerance) for a in by_name["Angka"].answers] == [("3.14159", 0.01)]
    assert [(a.text_html, a.match_text, a.fraction) for a in by_name["Pasangan"].answers] == [
        ("Ibu kota", "Jakarta", 1.0), ("Pulau", "Jawa", 1.0), ("", "Bali", 0.0)]
    assert [(a.text_html, a.position) for a in by_name["Urutan"].answers] == [("Satu", 0), ("Dua", 1),
                                                                               ("Tiga", 2)]
    assert by_name["Esai"].default_mark == 5
    assert sorted(t.name for t in by_name["Esai"].tags) == ["Dasar", "esai"]


def test_unsupported_types_are_listed_with_a_reason_and_the_rest_imported(course, trainer):
    data = moodle(mq("calculated", "Rumus"), mq("multianswer", "Cloze"), mq("description", "Keterangan"),
                  mq("ddwtos", "Seret"), mq("pemrograman", "Kode"),
                  mq("truefalse", "Benar", answer("true", 100) + answer("false", 0)))
    result = quizzes.import_questions(course, data, actor=trainer)

    assert dict(result.counts) == {"truefalse": 1}
    reasons = dict(result.skipped)
    assert set(reasons) == {"Rumus", "Cloze", "Keterangan", "Seret", "Kode"}
    assert "calculated" in reasons["Rumus"]
    assert "Cloze" in reasons["Cloze"]
    assert "“pemrograman” is not supported" in reasons["Kode"]


@pytest.mark.parametrize(("data", "reason"), [
    (b"<quiz><question type='truefalse'>", "not well-formed XML"),
    (b"<?xml version='1.0'?><html><body/></html>", "not a Moodle XML question file"),
    (b'<?xml version="1.0"?><!DOCTYPE quiz [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><quiz>&b;</quiz>',
     "forbidden construct"),
    (moodle(mq("truefalse", "Baik", answer("true", 100) + answer("false", 0)),
            mq("multichoice", "Rusak", answer("A", "banyak") + answer("B", 0))), "fraction “banyak” is not a number"),
    (moodle(mq("multichoice", "Lebih", answer("A", 150) + answer("B", 0))), "outside −100 … 100"),
])
def test_a_malformed_moodle_file_is_refused_and_nothing_is_stored(course, trainer, data, reason):
    before = stored_files()
    with pytest.raises(quizzes.ImportRefused, match=reason):
        quizzes.import_questions(course, data, actor=trainer)
    assert nothing_stored(before)


def test_embedded_images_are_stored_and_linked_to_the_course_image_route(app, course, trainer):
    encoded = base64.b64encode(PNG).decode()
    data = moodle(mq("truefalse", "Gambar", answer("true", 100) + answer("false", 0),
                     files=f'<file name="peta kota.png" path="/" encoding="base64">{encoded}</file>',
                     text='<p>Lihat <img src="@@PLUGINFILE@@/peta%20kota.png" alt="peta" onerror="alert(1)"></p>'
                          "<script>alert(2)</script>"))
    result = quizzes.import_questions(course, data, actor=trainer)

    assert result.files == 1
    question = quizzes.current_questions(quizzes.bank_for(course))[0]
    digest = re.search(r'src="/kursus/\d+/gambar/([0-9a-f]{64})"', question.prompt_html).group(1)
    with app.test_request_context():
        assert url_for("courses.image", course_id=course.id, digest=digest) in question.prompt_html
    assert "onerror" not in question.prompt_html
    assert "script" not in question.prompt_html
    assert any(path.name == digest for path in stored_files())


def test_a_question_with_a_bad_embedded_file_is_skipped_with_the_reason(course, trainer):
    encoded = base64.b64encode(PDF).decode()
    data = moodle(
        mq("truefalse", "Berkas PDF", answer("true", 100) + answer("false", 0),
           text='<a href="@@PLUGINFILE@@/a.pdf">unduh</a>',
           files=f'<file name="a.pdf" path="/" encoding="base64">{encoded}</file>'),
        mq("truefalse", "Hilang", answer("true", 100) + answer("false", 0), text='<img src="@@PLUGINFILE@@/x.png">'),
    )
    before = stored_files()
    result = quizzes.import_questions(course, data, actor=trainer)

    assert result.total == 0
    reasons = dict(result.skipped)
    assert "not a PNG, JPEG, GIF or WebP image" in reasons["Berkas PDF"]
    assert "“x.png”, which is not in the export" in reasons["Hilang"]
    assert stored_files() == before


# ---------------------------------------------------------------- GIFT

GIFT = r"""// Bank soal Latsar CPNS
// baris komentar tidak menjadi soal

$CATEGORY: $course$/Latsar/Nilai Dasar

::Ibu kota::Ibu kota Indonesia adalah? {
    =Jakarta#Benar.
    ~Bandung#Bukan, itu ibu kota Jawa Barat.
    ~Surabaya
    ####Jakarta ditetapkan dalam UU.
}

::BerAKHLAK::Nilai dasar ASN disingkat BerAKHLAK. {T#Salah, coba lagi.#Tepat.}

::Pilih banyak::Mana yang termasuk nilai BerAKHLAK? {
    ~%50%Akuntabel
    ~%50%Kompeten
    ~%-100%Korup
}

::Isian::Siapa proklamator kemerdekaan? {=Soekarno =%50%Hatta}

::Tahun::Tahun proklamasi? {#1945:0}

::Rentang::Nilai antara 1 dan 5? {#1..5}

::Pasangan::Pasangkan. {
    =Kemenpan -> Reformasi birokrasi
    =BKN -> Kepegawaian
    = -> Keuangan
}

::Esai::[markdown]Jelaskan **makna** pelayanan publik. {}

::Lolos::Rumus 2 \= 1 \+ 1 dan kurung \{ \} dengan titik dua\: dan pagar \# serta \~ tilde {=ya\: tentu ~tidak}

Soal missing word: ASN harus {=jujur ~malas} dalam bekerja.
"""


def test_gift_questions_of_every_kind_are_imported(course, trainer):
    result = quizzes.import_questions(course, GIFT.encode(), file_name="bank.gift", actor=trainer)

    assert result.format == "gift"
    assert dict(result.counts) == {"single": 3, "truefalse": 1, "multi": 1, "shortanswer": 1, "numerical": 2,
                                   "matching": 1, "essay": 1}
    assert result.skipped == []
    by_name = {q.name: q for q in quizzes.current_questions(quizzes.bank_for(course))}
    capital = by_name["Ibu kota"]
    assert [(a.text_html, a.fraction, a.feedback_html) for a in capital.answers] == [
        ("Jakarta", 1.0, "Benar."), ("Bandung", 0.0, "Bukan, itu ibu kota Jawa Barat."), ("Surabaya", 0.0, "")]
    assert capital.general_feedback_html == "Jakarta ditetapkan dalam UU."
    assert [t.name for t in capital.tags] == ["Latsar/Nilai Dasar"]
    assert [(a.text_html, a.fraction, a.feedback_html) for a in by_name["BerAKHLAK"].answers] == [
        ("true", 1.0, "Tepat."), ("false", 0.0, "Salah, coba lagi.")]
    assert [a.fraction for a in by_name["Pilih banyak"].answers] == [0.5, 0.5, -1.0]
    assert [(a.text_html, a.fraction) for a in by_name["Isian"].answers] == [("Soekarno", 1.0), ("Hatta", 0.5)]
    assert [(a.text_html, a.tolerance) for a in by_name["Tahun"].answers] == [("1945", 0.0)]
    assert [(a.text_html, a.tolerance) for a in by_name["Rentang"].answers] == [("3", 2.0)]
    assert [(a.text_html, a.match_text) for a in by_name["Pasangan"].answers] == [
        ("Kemenpan", "Reformasi birokrasi"), ("BKN", "Kepegawaian"), ("", "Keuangan")]
    assert "<strong>makna</strong>" in by_name["Esai"].prompt_html
    escaped = by_name["Lolos"]
    assert escaped.prompt_html == r"Rumus 2 = 1 \+ 1 dan kurung { } dengan titik dua: dan pagar # serta ~ tilde"
    assert [a.text_html for a in escaped.answers] == ["ya: tentu", "tidak"]
    missing = next(q for q in by_name.values() if q.name.startswith("Soal missing word"))
    assert missing.prompt_html == "Soal missing word: ASN harus _____ dalam bekerja."


@pytest.mark.parametrize(("source", "line", "reason"), [
    ("::A::Soal pertama {=a ~b}\n\n// komentar\n::B::Soal kedua {=a ~b\n", 4, "not closed"),
    ("::A::Soal {=a ~b}\n\n::B::Soal } lain {=a}\n", 3, "“}” without “{”"),
    ("::A::Soal {=a ~b} dan {=c}\n", 1, "only one answer block"),
    ("\n\n::A::Soal {#banyak}\n", 3, "“banyak” is not a number"),
    ("::A::Soal {\n=a ~%abc%b}\n", 1, "a weight is written %50%"),
    ("::A::Soal {=a -> 1 ~b}\n", 1, "matching"),
    ("::A::Soal {salah =a}\n", 1, "must start with “=” or “~”"),
    ("::Judul tanpa tutup Soal {=a}\n", 1, "title"),
])
def test_bad_gift_syntax_is_refused_with_the_line_and_nothing_is_stored(course, trainer, source, line, reason):
    before = stored_files()
    with pytest.raises(quizzes.ImportRefused, match=f"line {line}: .*{re.escape(reason)}"):
        quizzes.import_questions(course, source.encode(), file_name="bank.gift", actor=trainer)
    assert nothing_stored(before)


def test_gift_text_without_answers_is_a_description_and_skipped(course, trainer):
    result = quizzes.import_questions(course, b"::Info::Bagian 2: etika\n\n::T::Benar? {T}\n", actor=trainer)
    assert dict(result.counts) == {"truefalse": 1}
    assert result.skipped == [("Info", "a description is text, not a question")]


# ---------------------------------------------------------------- export and round trips


def _bank_with_every_type(course, trainer):
    bank = quizzes.bank_for(course)
    image = quizzes.image_url(course.id, store().put_bytes(PNG))
    specs = [
        dict(type="single", name="Pilih satu", prompt_html=f'<p>Peta: <img src="{image}" alt="peta"></p>',
             general_feedback_html="<p>Lihat modul 1.</p>", tags=["Latsar/Nilai Dasar", "mudah"],
             answers=[{"text_html": "<b>Jakarta</b>", "fraction": 1, "feedback_html": "Ya"},
                      {"text_html": "Bandung = kota", "fraction": 0, "feedback_html": "Bukan {x}"}]),
        dict(type="multi", name="Pilih banyak", prompt_html="Mana?", tags=["Latsar"],
             answers=[{"text_html": "A", "fraction": 0.5}, {"text_html": "B", "fraction": 0.5},
                      {"text_html": "C#~", "fraction": -1}]),
        dict(type="truefalse", name="Benar salah", prompt_html="Benar?", tags=["Latsar"],
             answers=[{"text_html": "true", "fraction": 0, "feedback_html": "Keliru"},
                      {"text_html": "false", "fraction": 1, "feedback_html": "Betul"}]),
        dict(type="shortanswer", name="Isian", prompt_html="Siapa?", case_sensitive=True, tags=["Latsar"],
             answers=[{"text_html": "Soekarno", "fraction": 1}, {"text_html": "Bung*", "fraction": 0.5}]),
        dict(type="numerical", name="Angka", prompt_html="Pi?", default_mark=2.5, tags=["Latsar"],
             answers=[{"text_html": "3.14159", "fraction": 1, "tolerance": 0.001},
                      {"text_html": "3", "fraction": 0.5, "tolerance": 0.5}]),
        dict(type="matching", name="Pasangan", prompt_html="Pasangkan: a:b", tags=["Latsar"],
             answers=[{"text_html": "BKN", "fraction": 1, "match_text": "Kepegawaian"},
                      {"text_html": "LAN", "fraction": 1, "match_text": "Pelatihan"}]),
        dict(type="essay", name="Esai", prompt_html="<p>Jelaskan.</p>", tags=["Latsar"]),
    ]
    for spec in specs:
        quizzes.create_question(bank, actor=trainer, **spec)
    quizzes.create_question(bank, actor=trainer, type="ordering", name="Urutan", prompt_html="Urutkan",
                            tags=["Latsar"], answers=[{"text_html": "Satu", "fraction": 1},
                                                      {"text_html": "Dua", "fraction": 1}])
    db.session.commit()
    return bank


@pytest.mark.parametrize("fmt", ["moodle", "gift"])
def test_export_then_import_gives_the_same_questions(make_course, trainer, fmt):
    source = make_course(code="QB-SRC", publish=False)
    bank = _bank_with_every_type(source, trainer)
    exported = quizzes.export_questions(bank, fmt)
    target = make_course(code="QB-DST", publish=False)

    result = quizzes.import_questions(target, exported, file_name=f"bank.{'xml' if fmt == 'moodle' else 'gift'}",
                                      actor=trainer)

    originals = sorted(map(summary, quizzes.current_questions(bank)))
    copies = sorted(map(summary, quizzes.current_questions(quizzes.bank_for(target))))
    if fmt == "gift":  # GIFT has no ordering, default marks, case sensitivity or tags beyond the category
        originals = [(*o[:4], o[6][:1], o[7]) for o in originals if o[0] != "ordering"]
        copies = [(*c[:4], c[6][:1], c[7]) for c in copies]
        assert result.total == 7
    else:
        assert result.files == 1
    assert copies == originals
    assert result.skipped == []


# ---------------------------------------------------------------- versions


def _question(course, trainer) -> Question:
    question = quizzes.create_question(
        quizzes.bank_for(course), actor=trainer, type="single", name="Soal", prompt_html="Apa?",
        answers=[{"text_html": "A", "fraction": 1}, {"text_html": "B", "fraction": 0}], tags=["Bab 1"])
    db.session.commit()
    return question


def test_editing_an_unused_question_changes_it_in_place(course, trainer):
    question = _question(course, trainer)
    edited = quizzes.edit_question(question, actor=trainer, prompt_html="<p>Apa itu?</p><script>x</script>")
    db.session.commit()

    assert edited is question
    assert (question.version, question.prompt_html) == (1, "<p>Apa itu?</p>")
    assert rows(Question) == 1


def test_editing_a_used_question_makes_a_new_version_and_keeps_the_old_one(course, trainer):
    question = _question(course, trainer)
    quizzes.mark_used(question)
    db.session.commit()

    newer = quizzes.edit_question(question, actor=trainer, name="Soal (perbaikan)",
                                  answers=[{"text_html": "A", "fraction": 0}, {"text_html": "B", "fraction": 1}])
    db.session.commit()

    assert newer.id != question.id
    assert (newer.key, newer.version, newer.is_current, newer.is_used) == (question.key, 2, True, False)
    assert (question.version, question.is_current, question.name) == (1, False, "Soal")
    assert [a.fraction for a in question.answers] == [1.0, 0.0]
    assert [a.fraction for a in newer.answers] == [0.0, 1.0]
    assert [t.name for t in newer.tags] == ["Bab 1"]
    assert quizzes.current_questions(quizzes.bank_for(course)) == [newer]
    with pytest.raises(quizzes.ServiceError, match="current version"):
        quizzes.edit_question(question, actor=trainer, name="lagi")


def test_a_used_question_row_refuses_direct_changes(course, trainer):
    question = _question(course, trainer)
    quizzes.mark_used(question)
    db.session.commit()

    question.prompt_html = "diam-diam diubah"
    with pytest.raises(quizzes.QuestionFrozen):
        db.session.flush()
    db.session.rollback()
    question.answers[0].fraction = 0
    with pytest.raises(quizzes.QuestionFrozen):
        db.session.flush()
    db.session.rollback()
    assert (question.prompt_html, question.answers[0].fraction) == ("Apa?", 1.0)


def test_the_database_allows_one_current_version_per_key(course, trainer):
    question = _question(course, trainer)
    db.session.add(Question(bank=question.bank, key=question.key, version=2, type="essay", name="Kembar"))
    with pytest.raises(IntegrityError):
        db.session.flush()


def test_invalid_questions_are_refused_with_reasons(course, trainer):
    bank = quizzes.bank_for(course)
    with pytest.raises(quizzes.ValidationFailed) as refused:
        quizzes.create_question(bank, actor=trainer, type="single", name=" ", prompt_html="?",
                                answers=[{"text_html": "A", "fraction": 0.5}, {"text_html": "B", "fraction": 2}])
    assert set(refused.value.errors) == {"name", "answers"}


# ---------------------------------------------------------------- sharing


def test_shared_banks_are_usable_by_other_courses_of_the_same_owner(make_course, make_user, trainer):
    mine, other_mine = make_course(code="QB-A", publish=False), make_course(code="QB-B", publish=False)
    stranger = make_user(roles=("trainer",))
    theirs = make_course(stranger, code="QB-C", publish=False)
    bank_a, bank_b, bank_c = quizzes.bank_for(mine), quizzes.bank_for(other_mine), quizzes.bank_for(theirs)
    assert quizzes.usable_banks(other_mine) == [bank_b]

    quizzes.set_shared(bank_a, True, actor=trainer)
    quizzes.set_shared(bank_c, True, actor=stranger)
    db.session.commit()

    assert quizzes.usable_banks(other_mine) == [bank_a, bank_b]
    assert bank_c not in quizzes.usable_banks(other_mine)
