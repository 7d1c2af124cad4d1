"""External training records and the JP ledger: submitting (checked by content), HR's decisions (audited, once,
never on one's own record), what counts in which year, the PPPK cap, and the learner's pages."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import func, select

from certificates import services as certificate_services
from certificates.records import services
from certificates.records.models import ExternalRecord
from lms.extensions import db
from lms.models import AuditEvent
from tests.certificates.records.conftest import PDF, PNG, record_data

YEAR = dt.date.today().year


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


# ---------------------------------------------------------------- submitting


def test_a_submission_waits_for_hr_and_does_not_count_yet(employee, submit):
    record = submit(employee, jp=12)
    assert record.state == "diajukan"
    assert services.ledger(employee, record.year).total == 0
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "record.submit"))
    assert event.actor_id == employee.id
    assert event.object_id == str(record.id)


@pytest.mark.parametrize(("fields", "field"), [
    ({"title": "  "}, "title"),
    ({"jp": 0}, "jp"),
    ({"jp": 5000}, "jp"),
    ({"jalur": "magang"}, "jalur"),
    ({"jenis_diklat": "99"}, "jenis_diklat"),
    ({"competency_kind": "rohani"}, "competency_kind"),
    ({"start_date": dt.date(2026, 3, 5), "end_date": dt.date(2026, 3, 1)}, "end_date"),
    ({"end_date": dt.date.today() + dt.timedelta(days=3)}, "end_date"),
    ({"jenis_diklat": "1", "latihan_struktural": None}, "latihan_struktural"),
])
def test_bad_input_is_refused_with_a_reason_and_changes_nothing(employee, fields, field):
    before = count(ExternalRecord), count(AuditEvent)
    data = record_data(**fields)
    if "end_date" in fields and "start_date" not in fields:
        data["start_date"] = min(data["start_date"], fields["end_date"])
    with pytest.raises(services.ValidationFailed) as refused:
        services.submit_external(employee, data=data, stream=io.BytesIO(PDF), file_name="s.pdf")
    assert field in refused.value.errors
    assert str(refused.value.errors[field])
    db.session.rollback()
    assert (count(ExternalRecord), count(AuditEvent)) == before


def test_the_file_is_judged_by_its_content_not_its_name(employee):
    with pytest.raises(services.ValidationFailed) as refused:
        services.submit_external(employee, data=record_data(), stream=io.BytesIO(b"<html>not a pdf</html>" * 5),
                                 file_name="sertifikat.pdf")
    assert "file" in refused.value.errors
    record = services.submit_external(employee, data=record_data(), stream=io.BytesIO(PNG), file_name="foto.pdf")
    assert record.file_type == "image/png"


def test_a_file_over_the_limit_is_refused(employee, monkeypatch):
    monkeypatch.setattr(services, "MAX_FILE_BYTES", 100)
    with pytest.raises(services.ValidationFailed) as refused:
        services.submit_external(employee, data=record_data(), stream=io.BytesIO(PDF * 3), file_name="s.pdf")
    assert "file" in refused.value.errors


def test_the_same_certificate_number_cannot_be_submitted_twice(employee, submit):
    submit(employee, certificate_number="X/1")
    with pytest.raises(services.ValidationFailed) as refused:
        submit(employee, certificate_number="X/1")
    assert "certificate_number" in refused.value.errors


# ---------------------------------------------------------------- deciding


def test_hr_verifies_and_the_jp_count_in_the_year_training_ended(employee, unit_hr, submit):
    record = submit(employee, jp=12)
    services.verify(record, actor=unit_hr)
    db.session.commit()
    assert record.state == "diverifikasi"
    assert record.decided_by_id == unit_hr.id
    ledger = services.ledger(employee, record.year)
    assert ledger.total == 12
    assert ledger.by_kind["teknis"] == 12
    assert ledger.by_jalur["klasikal"] == 12
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "record.verify")).actor_id == unit_hr.id


def test_hr_rejects_with_a_reason_the_employee_reads(employee, unit_hr, submit, client, login):
    record = submit(employee)
    with pytest.raises(services.ValidationFailed):
        services.reject(record, reason="no", actor=unit_hr)
    services.reject(record, reason="JP tidak tercantum di sertifikat.", actor=unit_hr)
    db.session.commit()
    assert services.ledger(employee, record.year).total == 0
    login(employee)
    page = client.get(f"/riwayat-diklat/{record.id}").get_data(as_text=True)
    assert "JP tidak tercantum di sertifikat." in page


def test_a_decision_is_taken_once(employee, unit_hr, make_hr, units, submit):
    record = submit(employee)
    services.verify(record, actor=unit_hr)
    db.session.commit()
    with pytest.raises(services.RecordClosed):
        services.reject(record, reason="Terlambat diperiksa.", actor=make_hr(units.top))
    db.session.rollback()
    assert db.session.get(ExternalRecord, record.id).state == "diverifikasi"


def test_nobody_decides_on_their_own_record_and_hr_only_in_their_units(make_employee, make_hr, units, sibling_unit,
                                                                       submit, admin):
    officer = make_hr(units.dinas)
    own = submit(officer)
    outside = submit(make_employee(unit=sibling_unit))
    inside = submit(make_employee(unit=units.bidang))
    assert not services.can_decide(officer, own)
    assert not services.can_decide(officer, outside)
    assert services.can_decide(officer, inside)
    assert services.can_decide(admin, outside)
    queue = db.session.scalars(services.queue_statement(officer)).all()
    assert queue == [inside]


def test_hr_scope_follows_assigned_units(make_employee, make_hr, units, sibling_unit, submit):
    officer = make_hr(units.bidang)
    outside = make_employee(unit=sibling_unit)
    assert not services.in_scope(officer, outside)
    services.set_hr_scopes(officer, [units.top.id], actor=None)
    db.session.commit()
    db.session.expire_all()
    from flask import g

    g.pop("records_scope", None)
    assert services.in_scope(officer, outside)


def test_the_employee_withdraws_an_undecided_submission(employee, submit, client, login):
    record = submit(employee)
    login(employee)
    response = client.post(f"/riwayat-diklat/{record.id}/tarik")
    assert response.status_code == 302
    assert count(ExternalRecord) == 0


# ---------------------------------------------------------------- what counts


@pytest.fixture
def completed(issuer, make_course, complete):
    """``completed(user, code, jp)`` → the certificate of a course the user completed online."""
    from certificates.models import Certificate

    def do(user, code="PM-01", jp=6, **fields):
        course = make_course(code=code, jp=jp, **fields)
        enrolment = complete(user, course)
        return db.session.scalar(select(Certificate).where(Certificate.enrolment_id == enrolment.id))

    return do


def test_certificates_count_revoked_ones_do_not_and_a_correction_counts_once(employee, completed, unit_hr, submit):
    first = completed(employee, "PM-01", jp=6)
    revoked = completed(employee, "PP-01", jp=4)
    certificate_services.revoke(revoked, reason="Peserta tidak hadir.", actor=unit_hr)
    corrected = certificate_services.reissue(first, reason="Nama salah ketik.", actor=unit_hr)
    submit(employee, jp=10, state="diverifikasi", by=unit_hr)
    submit(employee, jp=7, title="Belum diverifikasi", certificate_number="B/2")
    db.session.commit()
    ledger = services.ledger(employee, YEAR)
    assert ledger.total == 6 + 10
    assert corrected.jp == 6
    entries = services.entries_of(employee)
    assert {e.status for e in entries if e.kind == "certificate"} == {"valid", "revoked", "superseded"}


def test_the_sql_totals_agree_with_the_ledger(make_employee, completed, unit_hr, submit, units):
    people = [make_employee() for _ in range(3)]
    completed(people[0], "PM-01", jp=6)
    submit(people[0], jp=16, state="diverifikasi", by=unit_hr)
    submit(people[1], jp=3, state="diverifikasi", by=unit_hr, jalur="nonklasikal", competency_kind="manajerial")
    submit(people[2], jp=9, state="ditolak", by=unit_hr)
    totals = services.totals_for([p.id for p in people], YEAR)
    for person in people:
        assert totals.get(person.id, 0) == services.ledger(person, YEAR).total


def test_training_ending_on_new_years_eve_in_jakarta_counts_for_that_year(employee, unit_hr, submit):
    record = submit(employee, start_date=dt.date(YEAR - 1, 12, 31), end_date=dt.date(YEAR - 1, 12, 31),
                    state="diverifikasi", by=unit_hr)
    assert services.ledger(employee, YEAR - 1).total == record.jp
    assert services.ledger(employee, YEAR).total == 0


def test_pppk_have_a_cap_not_a_target(make_employee, unit_hr, submit):
    pppk = make_employee(employee_type="PPPK")
    submit(pppk, jp=30, state="diverifikasi", by=unit_hr)
    ledger = services.ledger(pppk, YEAR)
    assert ledger.target is None
    assert ledger.reached is None
    assert (ledger.cap, ledger.total, ledger.counted, ledger.over_cap) == (24, 30, 24, 6)


# ---------------------------------------------------------------- the learner's pages


def test_the_home_page_counts_verified_external_training(employee, unit_hr, submit, client, login):
    login(employee)
    assert "0 / 20" in client.get("/").get_data(as_text=True)
    submit(employee, jp=8, state="diverifikasi", by=unit_hr)
    submit(employee, jp=5, title="Masih diajukan", certificate_number="Z/9")
    page = client.get("/").get_data(as_text=True)
    assert "8 / 20" in page
    assert "/riwayat-diklat" in page


def test_the_learner_submits_through_the_form_and_sees_the_record(employee, client, login):
    login(employee)
    data = {key: value for key, value in record_data().items() if value is not None}
    data["start_date"], data["end_date"] = data["start_date"].isoformat(), data["end_date"].isoformat()
    data["file"] = (io.BytesIO(PDF), "sertifikat.pdf")
    response = client.post("/riwayat-diklat/ajukan", data=data, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    record = db.session.scalar(select(ExternalRecord))
    assert record.user_id == employee.id
    assert record.title == data["title"]
    page = client.get("/riwayat-diklat").get_data(as_text=True)
    assert data["title"] in page
    download = client.get(f"/riwayat-diklat/{record.id}/berkas")
    assert download.status_code == 200
    assert download.data == PDF
    assert download.headers["Content-Disposition"].startswith("attachment")
    download.close()


def test_a_bad_form_shows_the_reasons_and_stores_nothing(employee, client, login):
    login(employee)
    data = {key: value for key, value in record_data(jp="0").items() if value is not None}
    data["start_date"], data["end_date"] = data["start_date"].isoformat(), data["end_date"].isoformat()
    data["file"] = (io.BytesIO(b"MZ not a certificate" * 4), "sertifikat.pdf")
    response = client.post("/riwayat-diklat/ajukan", data=data, content_type="multipart/form-data")
    assert response.status_code == 200
    assert count(ExternalRecord) == 0
    data["jp"] = "8"
    data["file"] = (io.BytesIO(b"MZ not a certificate" * 4), "sertifikat.pdf")
    page = client.post("/riwayat-diklat/ajukan", data=data, content_type="multipart/form-data").get_data(as_text=True)
    assert "PDF, PNG" in page
    assert count(ExternalRecord) == 0


def test_learners_never_see_each_others_records(employee, make_employee, submit, client, login):
    record = submit(employee)
    login(make_employee())
    assert client.get(f"/riwayat-diklat/{record.id}").status_code == 404
    assert client.get(f"/riwayat-diklat/{record.id}/berkas").status_code == 404
    assert client.get(f"/pegawai/{employee.id}/sertifikat.zip").status_code == 404
    assert client.post(f"/riwayat-diklat/{record.id}/tarik").status_code == 404
    assert count(ExternalRecord) == 1


def test_hr_verifies_through_the_page_only_in_their_units(employee, make_hr, sibling_unit, unit_hr, submit, client,
                                                          login, app):
    record = submit(employee, jp=12)
    login(make_hr(sibling_unit))
    assert client.get(f"/riwayat-diklat/{record.id}").status_code == 404
    assert client.post(f"/riwayat-diklat/{record.id}/verifikasi").status_code == 404
    assert db.session.get(ExternalRecord, record.id).state == "diajukan"
    other = app.test_client()
    other.post("/akun/masuk", data={"login": unit_hr.email, "password": "correct horse 1"})
    assert record.title in other.get("/kelola/verifikasi-diklat").get_data(as_text=True)
    response = other.post(f"/riwayat-diklat/{record.id}/verifikasi")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(ExternalRecord, record.id).state == "diverifikasi"
    page = other.get(f"/kelola/pegawai/{employee.id}").get_data(as_text=True)
    assert "12 / 20 JP" in page
