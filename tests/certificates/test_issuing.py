"""Issuing certificates: exactly once per enrolment cycle in the completion's transaction, gap-free numbers
from the issuer's template, unguessable codes, a frozen snapshot, expiry, renewal, correction, revocation,
the background render only after commit, and the ``certificates`` command line."""

from __future__ import annotations

import base64
import datetime as dt
import logging
import multiprocessing
import os
import re
import threading

import pytest
from sqlalchemy import event, select, update
from sqlalchemy.exc import IntegrityError

from certificates import jobs
from certificates import services as cert_services
from certificates.models import Certificate, Issuer, NumberCounter
from courses import services as course_services
from courses.models import Enrolment
from courses.signals import course_completed
from lms import services as lms_services
from lms.extensions import db
from lms.models import AuditEvent, User
from tests.certificates.conftest import HOLDER_NIP, OTHER_NIP, certificate_count, last_seq, study_all

ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"]
CODE_RE = re.compile(r"[a-z2-7]{32}")
# Further valid PNS NIPs (birth date, TMT, gender, sequence) for cohorts.
COHORT_NIPS = ["198701012010011001", "198802022011012002", "198903032012011003", "199004042013012004"]


def expected_number(seq: int, program: str = "PM-01", issuer: str = "BPSDM", day: dt.date | None = None) -> str:
    day = day or dt.date.today()
    return f"893.3/{seq:05d}/{issuer}/{program}/{ROMAN[day.month - 1]}/{day.year}"


def certificates_of(enrolment_id: int) -> list[Certificate]:
    db.session.expire_all()
    return list(db.session.scalars(select(Certificate).where(Certificate.enrolment_id == enrolment_id)
                                   .order_by(Certificate.id)))


def audit_actions(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


@pytest.fixture
def cohort(make_user, units):
    """Four more civil servants with NIPs, for numbering and cohort tests."""
    return [make_user(full_name=f"Peserta {n}", nip=nip, unit_id=units.dinas.id)
            for n, nip in enumerate(COHORT_NIPS, start=1)]


# ---------------------------------------------------------------- exactly once, in the completion's transaction


def test_completing_online_writes_the_certificate_in_the_same_transaction(holder, course, issuer):
    enrolment = course_services.enrol(holder, course)
    db.session.commit()
    enrolment_id = enrolment.id

    study_all(enrolment, commit=False)
    assert enrolment.state == "completed"
    pending = db.session.scalars(select(Certificate)).all()
    assert [c.enrolment_id for c in pending] == [enrolment_id]
    assert pending[0].seq == 1

    # The completion is undone (say the request failed after it): the certificate and its number go too.
    db.session.rollback()
    assert certificate_count() == 0
    assert last_seq(issuer.id) in (None, 0)
    enrolment = db.session.get(Enrolment, enrolment_id)
    assert enrolment.state == "active"

    study_all(enrolment)
    [certificate] = certificates_of(enrolment_id)
    assert certificate.seq == 1
    assert certificate.number == expected_number(1)
    assert (certificate.user_id, certificate.course_id, certificate.issuer_id) == (holder.id, course.id, issuer.id)
    assert certificate.jp == 20
    assert certificate.status() == "valid"
    assert [e.object_id for e in audit_actions("certificate.issue")] == [str(certificate.id)]


def test_completing_again_issuing_again_and_double_submits_give_one_certificate(
        client, login, holder, course, issuer, trainer):
    enrolment = course_services.enrol(holder, course)
    db.session.commit()
    login(holder)
    lessons = enrolment.version.lessons()
    for lesson in lessons:
        assert client.get(f"/kursus/{course.code}/pelajaran/{lesson.id}").status_code == 200
    # The last lesson submitted twice more, and the page's heartbeat after completion.
    last = lessons[-1]
    assert client.get(f"/kursus/{course.code}/pelajaran/{last.id}").status_code == 200
    assert client.get(f"/kursus/{course.code}/pelajaran/{last.id}").status_code == 200
    client.post(f"/kursus/{course.code}/pelajaran/{last.id}/aktivitas", data={"seconds": 60},
                headers={"Accept": "application/json"})
    [first] = certificates_of(enrolment.id)
    enrolment = db.session.get(Enrolment, enrolment.id)
    assert enrolment.state == "completed"

    assert course_services.evaluate_completion(enrolment) is False
    assert cert_services.issue(enrolment).id == first.id
    course_completed.send(enrolment, enrolment=enrolment)  # a second announcement of the same completion
    course_services.record_completion(holder, course, actor=trainer, reason="Koreksi data kelas")
    db.session.commit()

    assert [c.id for c in certificates_of(enrolment.id)] == [first.id]
    assert certificate_count() == 1
    assert last_seq(issuer.id) == 1
    assert len(audit_actions("certificate.issue")) == 1


def test_completion_without_an_issuer_completes_and_writes_no_certificate(holder, course, complete, caplog,
                                                                          make_issuer):
    with caplog.at_level(logging.WARNING):
        enrolment = complete(holder, course)
    assert db.session.get(Enrolment, enrolment.id).state == "completed"
    assert certificate_count() == 0
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "issuer" in r.getMessage().lower()]
    assert warnings, caplog.text
    assert str(enrolment.id) in warnings[0].getMessage()
    assert db.session.scalar(select(NumberCounter)) is None

    # Once an issuer exists, the completed enrolment gets its certificate (e.g. from `certificates issue`).
    with pytest.raises(cert_services.NotIssuable):
        cert_services.issue(enrolment)
    make_issuer()
    certificate = cert_services.issue(enrolment)
    db.session.commit()
    assert certificate.number == expected_number(1)


def test_an_unfinished_enrolment_is_not_issuable(holder, course, issuer):
    enrolment = course_services.enrol(holder, course)
    db.session.commit()
    course_services.record_visit(enrolment, enrolment.version.lessons()[0])
    db.session.commit()
    with pytest.raises(cert_services.NotIssuable):
        cert_services.issue(enrolment)
    db.session.rollback()
    assert certificate_count() == 0


def test_the_pdf_is_not_rendered_on_completion_in_testing(app, holder, course, issuer, complete, monkeypatch):
    assert app.config["CERTIFICATE_PDF_AUTO"] is False
    calls = []
    monkeypatch.setattr(jobs, "render_certificate", lambda certificate_id: calls.append(certificate_id))
    monkeypatch.setattr(jobs, "produce_pdf", lambda certificate_id: calls.append(certificate_id))
    complete(holder, course)
    assert certificate_count() == 1
    assert calls == []


def test_with_auto_render_on_the_pdf_is_queued_once_and_only_after_commit(app, holder, make_user, course, issuer,
                                                                          complete, monkeypatch):
    calls = []
    monkeypatch.setitem(app.config, "CERTIFICATE_PDF_AUTO", True)
    monkeypatch.setattr(jobs, "render_certificate", lambda certificate_id: calls.append(certificate_id))

    other = make_user(nip=OTHER_NIP)
    complete(other, course, commit=False)
    assert calls == []  # not before commit …
    db.session.rollback()
    assert calls == []  # … and never for a rolled-back issue

    enrolment = complete(holder, course)
    [certificate] = certificates_of(enrolment.id)
    assert calls == [certificate.id]


# ---------------------------------------------------------------- numbers


def test_numbers_follow_the_template_and_are_sequential(holder, cohort, course, issuer, complete):
    enrolments = [complete(user, course) for user in [holder, *cohort[:2]]]
    numbers = [certificates_of(e.id)[0].number for e in enrolments]
    assert numbers == [expected_number(1), expected_number(2), expected_number(3)]
    today = dt.date.today()
    assert re.fullmatch(rf"893\.3/0000[123]/BPSDM/PM-01/[IVX]+/{today.year}", numbers[0])
    assert last_seq(issuer.id) == 3


def test_a_custom_template_and_the_program_code(holder, make_course, make_issuer, complete):
    make_issuer(code="BKD", number_template="{seq:04d}/DIKLAT/{issuer}/{program}/{month}/{year}")
    course = make_course(code="TI-01", title="Literasi Digital")
    enrolment = complete(holder, course)
    today = dt.date.today()
    assert certificates_of(enrolment.id)[0].number == f"0001/DIKLAT/BKD/TI-01/{today.month}/{today.year}"


def test_number_templates_without_a_sequence_or_with_unknown_fields_are_refused():
    for bad in ("893.3/BPSDM/{year}", "{seq}/{nip}/{year}", "{seq"):
        with pytest.raises(lms_services.ValidationFailed):
            cert_services.check_number_template(bad)
    cert_services.check_number_template("893.3/{seq:05d}/{issuer}/{program}/{month_roman}/{year}")


def test_numbers_are_counted_per_issuer_and_per_year(holder, cohort, course, issuer, make_issuer, complete):
    this_year = dt.date.today().year
    db.session.add(NumberCounter(issuer_id=issuer.id, year=this_year - 1, last_seq=57))
    db.session.commit()
    first = complete(holder, course)
    assert certificates_of(first.id)[0].seq == 1  # last year's counter does not continue into this one

    # Another issuer becomes the default: it counts from 1 on its own.
    db.session.execute(update(Issuer).values(is_default=False))
    other = make_issuer(code="BKPSDM", name="BKPSDM Kota Semarang")
    second = complete(cohort[0], course)
    assert certificates_of(second.id)[0].number == expected_number(1, issuer="BKPSDM")
    assert last_seq(issuer.id) == 1
    assert last_seq(other.id) == 1
    assert last_seq(issuer.id, this_year - 1) == 57


def test_a_rolled_back_issue_gives_its_number_back(holder, cohort, course, issuer, complete):
    complete(holder, course)
    complete(cohort[0], course, commit=False)
    assert db.session.scalars(select(Certificate.seq).order_by(Certificate.seq)).all() == [1, 2]
    db.session.rollback()
    third = complete(cohort[1], course)
    assert certificates_of(third.id)[0].number == expected_number(2)
    assert sorted(db.session.scalars(select(Certificate.seq))) == [1, 2]
    assert last_seq(issuer.id) == 2


def _clone(certificate: Certificate, **changes) -> Certificate:
    """A second row like ``certificate``, different in every unique column unless ``changes`` say otherwise."""
    fields = {"enrolment_id": certificate.enrolment_id, "user_id": certificate.user_id,
              "course_id": certificate.course_id, "issuer_id": certificate.issuer_id, "year": certificate.year,
              "seq": certificate.seq + 100, "number": certificate.number + "-B", "code": cert_services.new_code(),
              "snapshot": certificate.snapshot, "jp": certificate.jp, "reissue_of_id": certificate.id}
    return Certificate(**(fields | changes))


@pytest.mark.parametrize("duplicate", ["number", "code", "seq", "original_for_enrolment"])
def test_the_database_refuses_duplicates(certificate, duplicate):
    changes = {"number": {"number": certificate.number}, "code": {"code": certificate.code},
               "seq": {"seq": certificate.seq}, "original_for_enrolment": {"reissue_of_id": None}}[duplicate]
    db.session.add(_clone(certificate, **changes))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    assert certificate_count() == 1


def test_a_correction_row_for_the_same_enrolment_is_allowed(certificate):
    # The control for the test above: only a second *original* per enrolment is refused.
    db.session.add(_clone(certificate))
    db.session.commit()
    assert certificate_count() == 2


def _issue_in_another_process(database_url: str, enrolment_ids: list[int], ready, start, results) -> None:
    """Runs in a spawned process: its own application and connection pool on the same database."""
    from lms import create_app

    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database_url})
    issued, error = [], None
    with app.app_context():
        try:
            ready.put(os.getpid())
            if not start.wait(120):
                raise TimeoutError("the start signal never came")
            for enrolment_id in enrolment_ids:
                certificate = cert_services.issue(db.session.get(Enrolment, enrolment_id))
                db.session.commit()
                issued.append((certificate.seq, certificate.number))
        except Exception as exc:  # noqa: BLE001 - reported to the test
            error = f"{type(exc).__name__}: {exc}"
        finally:
            db.session.remove()
            db.engine.dispose()
    results.put({"pid": os.getpid(), "issued": issued, "error": error})


@pytest.mark.skipif(os.environ.get("LMS_TEST_DB", "sqlite") != "postgresql",
                    reason="two processes issuing at once is the PostgreSQL set-up; SQLite has one writer")
def test_two_processes_issuing_at_once_get_gap_free_distinct_numbers(database_url, make_user, course,
                                                                     make_issuer):
    # Forty completed classroom participants without certificates yet (no issuer was configured).
    enrolment_ids = [course_services.record_completion(make_user(full_name=f"Peserta {n}"), course,
                                                       actor=course.owners[0], reason="Kelas angkatan I").id
                     for n in range(40)]
    db.session.commit()
    assert certificate_count() == 0
    issuer = make_issuer()

    context = multiprocessing.get_context("spawn")
    ready, start, results = context.Queue(), context.Event(), context.Queue()
    workers = [context.Process(target=_issue_in_another_process,
                               args=(database_url, enrolment_ids[i::2], ready, start, results)) for i in range(2)]
    for worker in workers:
        worker.start()
    for _worker in workers:  # both applications are up before either issues anything
        ready.get(timeout=120)
    start.set()
    reports = [results.get(timeout=180) for _ in workers]
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    assert [r["error"] for r in reports] == [None, None]
    assert len({r["pid"] for r in reports}) == 2
    seqs = sorted(seq for r in reports for seq, _number in r["issued"])
    assert seqs == list(range(1, 41))
    numbers = {number for r in reports for _seq, number in r["issued"]}
    assert numbers == {expected_number(seq) for seq in range(1, 41)}
    assert certificate_count() == 40
    assert last_seq(issuer.id) == 40
    # Both processes really took turns, rather than one running after the other.
    firsts = [r["issued"][0][0] for r in reports]
    assert max(firsts) < 20, reports


@pytest.mark.skipif(os.environ.get("LMS_TEST_DB", "sqlite") != "postgresql",
                    reason="concurrent writers are the PostgreSQL set-up; SQLite has one writer")
def test_two_threads_completing_the_same_enrolment_give_one_certificate(app, holder, course, issuer):
    enrolment = course_services.enrol(holder, course)
    db.session.commit()
    *first, last = enrolment.version.lessons()  # the last lesson is left for the threads
    for lesson in first:
        course_services.record_visit(enrolment, lesson)
    db.session.commit()
    enrolment_id, lesson_id = enrolment.id, last.id

    barrier, errors, completed = threading.Barrier(2), [], []

    def finish():
        from courses.models import Lesson

        with app.app_context():
            try:
                mine = db.session.get(Enrolment, enrolment_id)
                lesson = db.session.get(Lesson, lesson_id)
                barrier.wait(10)
                course_services.record_visit(mine, lesson)
                db.session.commit()
                completed.append(mine.state)
            except Exception as exc:  # noqa: BLE001 - reported to the test
                errors.append(f"{type(exc).__name__}: {exc}")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=finish) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert completed == ["completed", "completed"]
    assert len(certificates_of(enrolment_id)) == 1
    assert certificate_count() == 1
    assert last_seq(issuer.id) == 1
    assert len(audit_actions("course.complete")) == 1


# ---------------------------------------------------------------- codes


def test_codes_are_32_base32_characters_with_160_random_bits(certificate):
    assert CODE_RE.fullmatch(certificate.code)
    assert len(base64.b32decode(certificate.code.upper())) == 20
    codes = {cert_services.new_code() for _ in range(2000)}
    assert len(codes) == 2000
    assert all(CODE_RE.fullmatch(code) for code in codes)
    # Every base32 letter turns up in every position over 2000 codes: nothing is fixed or counted.
    for position in (0, 15, 31):
        assert len({code[position] for code in codes}) == 32


def test_codes_are_unique_and_share_no_structure(holder, cohort, course, issuer, complete):
    certificates = [certificates_of(complete(user, course).id)[0] for user in [holder, *cohort]]
    codes = [c.code for c in certificates]
    assert len(set(codes)) == len(codes)
    for a, b in zip(codes, codes[1:], strict=False):
        same_positions = sum(x == y for x, y in zip(a, b, strict=True))
        assert same_positions < 10, (a, b)
        assert len(os.path.commonprefix([a, b])) < 6, (a, b)
        assert len(os.path.commonprefix([a[::-1], b[::-1]])) < 6, (a, b)
    for c in certificates:
        assert str(c.seq).zfill(5) not in c.code
        assert c.number not in c.code


def test_a_code_is_not_derived_from_the_row_id(holder, course, issuer):
    enrolment = course_services.enrol(holder, course)
    db.session.commit()
    enrolment_id = enrolment.id
    study_all(enrolment, commit=False)
    [before] = db.session.scalars(select(Certificate)).all()
    first_id, first_code, first_number = before.id, before.code, before.number
    db.session.rollback()

    study_all(db.session.get(Enrolment, enrolment_id))
    [after] = certificates_of(enrolment_id)
    if db.engine.dialect.name == "sqlite":
        assert after.id == first_id  # SQLite hands out the same row id again …
    assert after.number == first_number  # … and the same number comes back,
    assert after.code != first_code  # but never the same code


def test_by_code_rejects_malformed_input_without_a_query(certificate):
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        for bad in ("", "   ", "abc", certificate.code[:31], certificate.code + "a", certificate.code[:31] + "1",
                    certificate.code[:31] + "!", "' or 1=1 --" + "a" * 21, certificate.number, None):
            assert cert_services.by_code(bad) is None
        assert statements == []
        assert cert_services.by_code(f"  {certificate.code.upper()} ").id == certificate.id
        assert len(statements) == 1
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


# ---------------------------------------------------------------- the snapshot


def test_the_snapshot_freezes_everything_the_certificate_states(app, certificate, holder, course, issuer, units):
    snap = certificate.snapshot
    enrolment = certificate.enrolment
    assert snap["number"] == certificate.number
    assert snap["code"] == certificate.code
    assert snap["verify_url"] == f"{app.config['BASE_URL']}/verify/{certificate.code}"
    assert snap["holder"] == {
        "name": "Dr. Budi Santoso, S.Kom., M.T.", "nip": HOLDER_NIP, "birth_place": "Semarang",
        "birth_date": "1985-03-12", "pangkat": "Penata Muda Tingkat I", "golongan": "III/b",
        "jabatan": "Analis Kebijakan Ahli Muda", "instansi": "Pemerintah Provinsi Jawa Tengah",
        "unit": "Bidang Pelayanan Pendaftaran Penduduk",
    }
    course_part = snap["course"]
    assert (course_part["code"], course_part["title"], course_part["version"], course_part["jp"]) == \
        ("PM-01", "Manajemen Proyek Pemerintahan", 1, 20)
    assert course_part["start"] == enrolment.enrolled_at.date().isoformat()
    assert course_part["end"] == enrolment.completed_at.date().isoformat()
    assert course_part["place"] == "daring"
    assert course_part["jenis_diklat"] == "Teknis"
    assert course_part["competencies"] == [{"code": "M.01", "name": "Integritas", "level": 2},
                                           {"code": "M.04", "name": "Orientasi pada Hasil", "level": 3}]
    assert [len(m["lessons"]) for m in course_part["outline"]] == [3]
    assert snap["issuer"]["name"] == issuer.name
    assert snap["issuer"]["short"] == "BPSDM"
    assert snap["issuer"]["city"] == "Semarang"
    assert snap["signatory"] == {"name": "Dr. Ir. Sri Wahyuni, M.Si.", "nip": "196805121994032005",
                                 "title": issuer.signatory_title}
    assert snap["institutions"] == ["Universitas Diponegoro"]
    assert snap["issued_at"] == dt.date.today().isoformat()
    assert snap["valid_until"] is None
    assert snap["result"] == {"score": None, "predicate": None}


def test_classroom_courses_state_the_issuers_city_and_newer_versions_their_number(
        make_user, make_course, issuer, complete, trainer):
    course = make_course(code="PP-01", title="Pelayanan Prima", jalur="klasikal")
    course_services.ensure_draft(course, actor=trainer)
    course_services.publish(course.draft, actor=trainer, change_summary="Materi diperbarui")
    db.session.commit()
    enrolment = complete(make_user(), course)
    snap = certificates_of(enrolment.id)[0].snapshot
    assert snap["course"]["place"] == "Semarang"
    assert snap["course"]["version"] == 2
    assert snap["institutions"] == []
    assert snap["holder"]["nip"] is None  # a person without a NIP still gets a certificate


def test_score_and_predicate_follow_the_grade_bands(holder, course, issuer):
    enrolment = course_services.enrol(holder, course)
    db.session.commit()
    *first, last = enrolment.version.lessons()
    for lesson in first:
        course_services.record_visit(enrolment, lesson)
    course_services.record_result(enrolment, last, completed=True, score=88)
    db.session.commit()
    assert certificates_of(enrolment.id)[0].snapshot["result"] == {"score": 88, "predicate": "Baik"}
    bands = {100: "Sangat Baik", 90: "Sangat Baik", 89: "Baik", 75: "Baik", 74: "Cukup", 65: "Cukup",
             64: "Kurang", 55: "Kurang", 54: "Sangat Kurang", 0: "Sangat Kurang"}
    assert {score: cert_services.predicate(score) for score in bands} == bands


def test_later_changes_do_not_touch_the_snapshot(certificate, holder, course, issuer, units, trainer):
    frozen = dict(certificate.snapshot)
    lms_services.update_user(db.session.get(User, holder.id), actor=None, full_name="Budi Santosa",
                             title_back="S.T.", golongan="III/c", jabatan_name="Perencana Ahli Muda",
                             unit_id=units.top.id)
    course_services.update_course(course, actor=trainer, title="Manajemen Proyek (baru)", jp=30)
    issuer.signatory_name = "Drs. Pengganti"
    issuer.name = "Nama Baru"
    db.session.commit()
    db.session.expire_all()
    again = db.session.get(Certificate, certificate.id)
    assert again.snapshot == frozen
    assert again.jp == 20
    assert again.snapshot["holder"]["name"] == "Dr. Budi Santoso, S.Kom., M.T."


# ---------------------------------------------------------------- correction, renewal, expiry, revocation


def test_reissue_takes_the_corrected_profile_with_a_new_number_and_code(certificate, holder, hr, issuer):
    lms_services.update_user(db.session.get(User, holder.id), actor=hr, title_back="S.Kom., M.Kom.",
                             golongan="III/c")
    db.session.commit()
    old_snapshot = dict(certificate.snapshot)

    new = cert_services.reissue(certificate, reason="Gelar belakang salah tulis", actor=hr)
    db.session.commit()
    db.session.expire_all()
    old = db.session.get(Certificate, certificate.id)
    assert new.id != old.id
    assert (new.seq, new.number) == (2, expected_number(2))
    assert new.code != old.code
    assert CODE_RE.fullmatch(new.code)
    assert new.snapshot["holder"]["name"] == "Dr. Budi Santoso, S.Kom., M.Kom."
    assert new.snapshot["holder"]["pangkat"] == "Penata"
    assert new.snapshot["number"] == new.number
    assert new.snapshot["course"]["end"] == old_snapshot["course"]["end"]  # the same training
    assert new.enrolment_id == old.enrolment_id
    assert new.reissue_of_id == old.id
    assert (new.issued_by_id, new.issue_reason) == (hr.id, "Gelar belakang salah tulis")
    assert old.superseded_by_id == new.id
    assert old.status() == "superseded"
    assert new.status() == "valid"
    assert old.snapshot == old_snapshot
    [event_] = [e for e in audit_actions("certificate.issue") if e.object_id == str(new.id)]
    assert event_.actor_id == hr.id
    assert event_.details["reason"] == "Gelar belakang salah tulis"
    assert event_.details["supersedes"] == [old.number]


def test_a_reissue_needs_a_reason_and_a_live_certificate(certificate, hr):
    for reason in ("", "   ", "abc", "  ab  "):
        with pytest.raises(lms_services.ValidationFailed):
            cert_services.reissue(certificate, reason=reason, actor=hr)
    db.session.rollback()
    assert certificate_count() == 1

    cert_services.revoke(certificate, reason="Peserta tidak hadir", actor=hr)
    db.session.commit()
    with pytest.raises(cert_services.NotIssuable):
        cert_services.reissue(certificate, reason="Nama salah tulis", actor=hr)
    db.session.rollback()
    assert certificate_count() == 1


def test_a_replaced_certificate_is_not_corrected_twice(certificate, hr):
    """A double submit of the correction form: the second one finds the certificate already replaced."""
    new = cert_services.reissue(certificate, reason="Nama salah tulis", actor=hr)
    db.session.commit()
    with pytest.raises(cert_services.NotIssuable):
        cert_services.reissue(db.session.get(Certificate, certificate.id), reason="Nama salah tulis", actor=hr)
    db.session.rollback()
    assert certificate_count() == 2
    assert db.session.get(Certificate, new.id).status() == "valid"


@pytest.mark.skipif(os.environ.get("LMS_TEST_DB", "sqlite") != "postgresql",
                    reason="concurrent writers are the PostgreSQL set-up; SQLite has one writer")
def test_two_simultaneous_corrections_of_one_certificate_issue_one(app, certificate, hr):
    certificate_id, hr_id = certificate.id, hr.id
    barrier, outcomes = threading.Barrier(2), []

    def correct():
        with app.app_context():
            try:
                old = db.session.get(Certificate, certificate_id)
                actor = db.session.get(User, hr_id)
                barrier.wait(10)
                cert_services.reissue(old, reason="Nama salah tulis", actor=actor)
                db.session.commit()
                outcomes.append("issued")
            except cert_services.NotIssuable:
                db.session.rollback()
                outcomes.append("refused")
            except Exception as exc:  # noqa: BLE001 - reported to the test
                outcomes.append(f"{type(exc).__name__}: {exc}")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=correct) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["issued", "refused"]
    db.session.expire_all()
    everything = db.session.scalars(select(Certificate).order_by(Certificate.id)).all()
    assert [c.status() for c in everything] == ["superseded", "valid"]


def test_renewal_supersedes_the_old_certificate(holder, make_course, issuer, complete):
    course = make_course(code="K3-01", title="Keselamatan Kerja", validity_years=2)
    first_enrolment = complete(holder, course)
    [old] = certificates_of(first_enrolment.id)
    assert old.valid_until == cert_services.add_years(dt.date.today(), 2)
    assert old.snapshot["valid_until"] == old.valid_until.isoformat()

    renewal = course_services.renew(db.session.get(User, holder.id), course)
    db.session.commit()
    assert renewal.cycle == 2
    assert renewal.id != first_enrolment.id
    study_all(renewal)
    [new] = certificates_of(renewal.id)
    old = db.session.get(Certificate, old.id)
    assert old.superseded_by_id == new.id
    assert old.status() == "superseded"
    assert new.status() == "valid"
    assert new.reissue_of_id is None  # a renewal is an original of its own cycle
    assert new.seq == 2
    assert certificate_count() == 2


def test_validity_gives_valid_until_and_expiry(holder, make_course, issuer, complete):
    course = make_course(code="K3-01", title="Keselamatan Kerja", validity_years=3)
    enrolment = complete(holder, course)
    [certificate] = certificates_of(enrolment.id)
    today = dt.date.today()
    assert certificate.valid_until == cert_services.add_years(today, 3)
    assert certificate.status() == "valid"
    assert certificate.status(today=certificate.valid_until) == "valid"  # valid through its last day
    assert certificate.status(today=certificate.valid_until + dt.timedelta(days=1)) == "expired"

    db.session.execute(update(Certificate).where(Certificate.id == certificate.id)
                       .values(valid_until=today - dt.timedelta(days=1)))
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Certificate, certificate.id).status() == "expired"
    assert cert_services.add_years(dt.date(2024, 2, 29), 1) == dt.date(2025, 2, 28)


def test_correcting_an_expired_certificate_does_not_extend_its_validity(holder, make_course, issuer, complete, hr):
    course = make_course(code="K3-01", title="Keselamatan Kerja", validity_years=2)
    enrolment = complete(holder, course)
    [certificate] = certificates_of(enrolment.id)
    lapsed = dt.date.today() - dt.timedelta(days=30)
    certificate.valid_until = lapsed
    db.session.commit()
    new = cert_services.reissue(certificate, reason="Tempat lahir salah", actor=hr)
    db.session.commit()
    assert new.valid_until == lapsed
    assert new.snapshot["valid_until"] == lapsed.isoformat()
    assert new.status() == "expired"


def test_status_precedence_is_revoked_superseded_expired_valid(certificate, holder, cohort, course, issuer):
    other = cert_services.issue(course_services.record_completion(cohort[0], course, actor=course.owners[0],
                                                                  reason="Kelas klasikal"))
    db.session.commit()
    yesterday = dt.date.today() - dt.timedelta(days=1)
    certificate.valid_until = yesterday
    assert certificate.status() == "expired"
    certificate.superseded_by_id = other.id
    assert certificate.status() == "superseded"
    certificate.revoked_at = dt.datetime.now(dt.UTC)
    assert certificate.status() == "revoked"
    db.session.rollback()


def test_revoke_needs_a_reason_of_five_characters(certificate, hr):
    for reason in ("", "    ", "abcd", "  abc  ", None):
        with pytest.raises(lms_services.ValidationFailed):
            cert_services.revoke(certificate, reason=reason, actor=hr)
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(Certificate, certificate.id).status() == "valid"
    assert audit_actions("certificate.revoke") == []


def test_revoke_records_who_when_and_why_once(certificate, hr, admin):
    cert_services.revoke(certificate, reason="  Peserta tidak memenuhi syarat kehadiran  ", actor=hr)
    db.session.commit()
    db.session.expire_all()
    revoked = db.session.get(Certificate, certificate.id)
    assert revoked.status() == "revoked"
    assert revoked.revoked_reason == "Peserta tidak memenuhi syarat kehadiran"
    assert revoked.revoked_by_id == hr.id
    at = revoked.revoked_at
    assert abs((dt.datetime.now(dt.UTC) - at).total_seconds()) < 60
    [event_] = audit_actions("certificate.revoke")
    assert (event_.actor_id, event_.object_id) == (hr.id, str(certificate.id))

    cert_services.revoke(revoked, reason="Alasan kedua yang lain", actor=admin)
    db.session.commit()
    db.session.expire_all()
    again = db.session.get(Certificate, certificate.id)
    assert (again.revoked_reason, again.revoked_by_id, again.revoked_at) == \
        ("Peserta tidak memenuhi syarat kehadiran", hr.id, at)
    assert len(audit_actions("certificate.revoke")) == 1


def test_revoking_a_renewed_certificate_keeps_the_newer_one_valid(holder, make_course, issuer, complete, hr):
    course = make_course(code="K3-01", title="Keselamatan Kerja", validity_years=2)
    first = complete(holder, course)
    renewal = course_services.renew(db.session.get(User, holder.id), course)
    db.session.commit()
    study_all(renewal)
    [old], [new] = certificates_of(first.id), certificates_of(renewal.id)
    cert_services.revoke(new, reason="Ujian diulang", actor=hr)
    db.session.commit()
    assert (old.status(), new.status()) == ("superseded", "revoked")


# ---------------------------------------------------------------- command line


def output_lines(result) -> list[tuple[str, str]]:
    return [tuple(line.split("\t")) for line in result.stdout.splitlines() if line.strip()]


@pytest.fixture
def classroom(make_course):
    return make_course(code="PP-01", title="Pelayanan Prima", jalur="klasikal", lessons=2)


def test_cli_issue_records_completion_and_prints_number_and_code(cli, holder, cohort, classroom, issuer):
    result = cli("certificates", "issue", "--course", "pp-01", "--nip", HOLDER_NIP, "--nip", COHORT_NIPS[0],
                 "--reason", "Kelas angkatan I, 3-5 November")
    assert result.exit_code == 0, result.output
    lines = output_lines(result)
    assert len(lines) == 2
    db.session.expire_all()
    for (number, code), user in zip(lines, [holder, cohort[0]], strict=True):
        certificate = db.session.scalar(select(Certificate).where(Certificate.user_id == user.id))
        assert (number, code) == (certificate.number, certificate.code)
        assert certificate.enrolment.state == "completed"
        assert certificate.issue_reason == "Kelas angkatan I, 3-5 November"
    assert [n for n, _c in lines] == [expected_number(1, "PP-01"), expected_number(2, "PP-01")]
    recorded = audit_actions("course.complete_recorded")
    assert len(recorded) == 2
    assert all(e.details["reason"] == "Kelas angkatan I, 3-5 November" for e in recorded)

    again = cli("certificates", "issue", "--course", "PP-01", "--nip", HOLDER_NIP, "--nip", COHORT_NIPS[0])
    assert again.exit_code == 0, again.output
    assert output_lines(again) == lines
    assert certificate_count() == 2
    assert last_seq(issuer.id) == 2


def test_cli_issue_for_someone_who_completed_online_prints_the_existing_certificate(
        cli, holder, classroom, issuer, complete):
    enrolment = complete(holder, classroom)
    [certificate] = certificates_of(enrolment.id)
    result = cli("certificates", "issue", "--course", "PP-01", "--nip", "19850312 201001 1 003")
    assert result.exit_code == 0, result.output
    assert output_lines(result) == [(certificate.number, certificate.code)]
    assert certificate_count() == 1


@pytest.mark.parametrize("content", [
    "nip\n{a}\n{b}\n",
    "nama;nip;jabatan\nBudi;{a};Analis\nPeserta;{b};Pelaksana\n",
    "\ufeffNama,NIP\nBudi,{a}\nPeserta,{b}\n\n",
])
def test_cli_issue_from_csv(cli, tmp_path, holder, cohort, classroom, issuer, content):
    path = tmp_path / "kelas.csv"
    path.write_text(content.format(a=HOLDER_NIP, b=COHORT_NIPS[1]), encoding="utf-8")
    result = cli("certificates", "issue", "--course", "PP-01", "--from-csv", str(path))
    assert result.exit_code == 0, result.output
    lines = output_lines(result)
    db.session.expire_all()
    by_user = {c.user_id: (c.number, c.code) for c in db.session.scalars(select(Certificate))}
    assert lines == [by_user[holder.id], by_user[cohort[1].id]]


def test_cli_issue_refuses_a_csv_without_a_nip_column(cli, tmp_path, holder, classroom, issuer):
    path = tmp_path / "kelas.csv"
    path.write_text(f"nama,nomor\nBudi,{HOLDER_NIP}\n", encoding="utf-8")
    result = cli("certificates", "issue", "--course", "PP-01", "--from-csv", str(path))
    assert result.exit_code == 1
    assert "nip" in result.stderr
    assert certificate_count() == 0


@pytest.mark.parametrize("problem", ["unknown_nip", "unknown_course", "inactive", "no_participants"])
def test_cli_issue_refuses_and_issues_nothing(cli, holder, cohort, classroom, issuer, problem):
    args = {"unknown_nip": ["--course", "PP-01", "--nip", HOLDER_NIP, "--nip", "199912312020121001"],
            "unknown_course": ["--course", "XX-99", "--nip", HOLDER_NIP],
            "inactive": ["--course", "PP-01", "--nip", HOLDER_NIP, "--nip", COHORT_NIPS[2]],
            "no_participants": ["--course", "PP-01"]}[problem]
    if problem == "inactive":
        lms_services.set_active(db.session.get(User, cohort[2].id), False, actor=None)
        db.session.commit()
    result = cli("certificates", "issue", *args)
    assert result.exit_code == 1, result.output
    assert result.stdout.strip() == ""
    assert result.stderr.strip()
    if problem == "unknown_nip":
        assert "199912312020121001" in result.stderr
    assert certificate_count() == 0
    assert last_seq(issuer.id) in (None, 0)
    assert db.session.scalars(select(Enrolment.state)).all() == []


def test_cli_issue_without_an_issuer_is_refused(cli, holder, classroom):
    result = cli("certificates", "issue", "--course", "PP-01", "--nip", HOLDER_NIP)
    assert result.exit_code == 1
    assert certificate_count() == 0
    assert db.session.scalars(select(Enrolment)).all() == []


def test_cli_revoke(cli, certificate):
    short = cli("certificates", "revoke", certificate.code, "--reason", "abc")
    assert short.exit_code == 1
    db.session.expire_all()
    assert db.session.get(Certificate, certificate.id).status() == "valid"

    unknown = cli("certificates", "revoke", cert_services.new_code(), "--reason", "Data tidak benar")
    assert unknown.exit_code == 1

    result = cli("certificates", "revoke", certificate.code, "--reason", "Data peserta tidak benar")
    assert result.exit_code == 0, result.output
    assert certificate.number in result.stdout
    db.session.expire_all()
    revoked = db.session.get(Certificate, certificate.id)
    assert revoked.status() == "revoked"
    assert revoked.revoked_reason == "Data peserta tidak benar"
    assert [e.object_id for e in audit_actions("certificate.revoke")] == [str(certificate.id)]


def test_cli_revoke_by_number(cli, certificate):
    result = cli("certificates", "revoke", certificate.number, "--reason", "Sertifikat ganda")
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert db.session.get(Certificate, certificate.id).status() == "revoked"
