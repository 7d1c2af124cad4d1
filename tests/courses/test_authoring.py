"""Trainers build and publish courses through the pages; uploads are checked by content and size and served
safely; the learners' list exports to CSV; HR assigns mandatory training."""

from __future__ import annotations

import csv
import datetime as dt
import email
import email.policy
import io
import re

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import stream_encode_multipart

import courses.views
from courses import services
from courses.models import Course, Enrolment, Lesson
from lms import services as people
from lms.extensions import db
from lms.storage import store
from tests.courses.helpers import MP4, PDF, PNG, VTT, ZIP, mails, stored_files, upload

COURSE_FORM = {
    "code": "pm-02", "title": "Manajemen Proyek Pemerintah", "summary": "Dari rencana sampai serah terima.",
    "objectives": "Menyusun piagam proyek\nMengendalikan jadwal", "category_id": "",
    "competency_kind": "manajerial", "jp": "6", "jalur": "nonklasikal", "jenis_diklat": "3", "language": "id",
    "validity_years": "3", "is_open": "y", "comp_M_04": "3",
}


def lesson_form(title, **fields) -> dict:
    return {"title": title, "body_markdown": "", "minutes": "10", "is_required": "y",
            "completion_rule": "viewed", "completion_value": ""} | fields


def location(response) -> str:
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:3000]
    return response.headers["Location"]


def read(response) -> bytes:
    data = response.get_data()
    response.close()
    return data


def new_course(client, **fields) -> Course:
    location(client.post("/kelola/kursus/baru", data=COURSE_FORM | fields))
    return db.session.scalar(select(Course).where(Course.code == (fields.get("code") or "pm-02").upper()))


def test_trainer_builds_and_publishes_a_course(client, login, trainer, learner, enrol):
    login(trainer)
    assert client.get("/kelola/kursus/baru").status_code == 200
    response = client.post("/kelola/kursus/baru", data=COURSE_FORM)
    course = db.session.scalar(select(Course).where(Course.code == "PM-02"))
    assert course is not None, "the code is stored upper-case"
    assert location(response).endswith(f"/kelola/kursus/{course.id}/draf")
    assert [o.id for o in course.owners] == [trainer.id]
    assert {c.code: c.level for c in course.competencies} == {"M.04": 3}
    assert (course.jp, course.validity_years, course.competency_kind) == (6, 3, "manajerial")
    assert course.draft.objectives.startswith("Menyusun piagam proyek")

    location(client.post(f"/kelola/kursus/{course.id}/modul", data={"title": "Perencanaan", "summary": ""}))
    module = course.draft.modules[0]
    base = f"/kelola/modul/{module.id}/pelajaran/baru"
    assert client.get(f"{base}/pdf").status_code == 200
    location(client.post(f"{base}/text", data=lesson_form(
        "Piagam proyek", body_markdown="Piagam proyek **mengesahkan** proyek.",
        file=upload(PNG, "bagan.png"))))
    location(client.post(f"{base}/pdf", data=lesson_form("Peraturan LKPP", file=upload(PDF, "perpres 16.pdf"))))
    location(client.post(f"{base}/video", data=lesson_form(
        "Video pengantar", file=upload(MP4, "pengantar.mp4"), captions=upload(VTT, "pengantar.vtt"))))
    location(client.post(f"{base}/file", data=lesson_form("Templat RAB", file=upload(ZIP, "templat-rab.zip"))))
    location(client.post(f"{base}/link", data=lesson_form("JDIH", url="https://jdih.lkpp.go.id/")))

    db.session.expire_all()
    text, pdf, video, attachment, link = course.draft.lessons()
    assert [x.kind for x in course.draft.lessons()] == ["text", "pdf", "video", "file", "link"]
    image_sha = store().put_bytes(PNG)
    assert f"/kursus/{course.id}/gambar/{image_sha}" in text.body_html
    assert "<strong>mengesahkan</strong>" in text.body_html
    assert (pdf.file_type, pdf.file_name, pdf.file_size) == ("application/pdf", "perpres 16.pdf", len(PDF))
    with store().open(pdf.file_sha256) as fh:
        assert fh.read() == PDF
    assert (video.file_type, video.captions_sha256) == ("video/mp4", store().put_bytes(VTT))
    assert (attachment.file_type, attachment.file_name) == ("application/zip", "templat-rab.zip")
    assert link.url == "https://jdih.lkpp.go.id/"

    page = client.get(f"/kelola/kursus/{course.id}/draf").get_data(as_text=True)
    assert "Piagam proyek" in page
    assert "Templat RAB" in page
    # The trainer previews as a learner without being enrolled.
    page = client.get(f"/kursus/PM-02/pelajaran/{text.id}").get_data(as_text=True)
    assert "Preview as a learner" in page
    assert "mengesahkan" in page

    response = client.post(f"/kelola/kursus/{course.id}/terbitkan", data={"change_summary": "Versi pertama"})
    assert location(response).endswith(f"/kelola/kursus/{course.id}")
    db.session.expire_all()
    assert course.published_version.number == 1
    assert course.draft is None
    assert course.published_version.change_summary == "Versi pertama"

    # Learners see it in the catalog and can study the uploaded material.
    enrolment = enrol(learner, course)
    assert [x.title for x in enrolment.version.lessons()][0] == "Piagam proyek"


def test_course_form_shows_errors_and_creates_nothing(client, login, trainer, make_course):
    make_course(code="PM-01")
    login(trainer)
    response = client.post("/kelola/kursus/baru", data=COURSE_FORM | {"code": "pm-01", "title": ""})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Another course already uses this code." in page or "This field is required." in page
    assert db.session.scalar(select(func.count()).select_from(Course)) == 1


def test_trainer_opens_a_draft_edits_and_publishes_v2(client, login, trainer, make_course):
    course = make_course(lessons=("Pengantar", "Penutup"))
    login(trainer)
    page = client.get(f"/kelola/kursus/{course.id}/draf").get_data(as_text=True)
    assert "Open a draft" in page
    location(client.post(f"/kelola/kursus/{course.id}/draf/buka"))
    draft = course.draft
    first, second = draft.lessons()
    location(client.post(f"/kelola/pelajaran/{first.id}", data=lesson_form("Pengantar (revisi)")))
    location(client.post(f"/kelola/pelajaran/{second.id}/geser", data={"arah": "naik"}))
    response = client.post(f"/kelola/kursus/{course.id}/urutan",
                           data={"module": str(draft.modules[0].id), "order": f"{first.id},{second.id}"})
    assert response.get_json() == {"ok": True}
    location(client.post(f"/kelola/kursus/{course.id}/terbitkan", data={"change_summary": "Revisi"}))
    db.session.expire_all()
    assert course.published_version.number == 2
    assert [x.title for x in course.published_version.lessons()] == ["Pengantar (revisi)", "Penutup"]
    assert [x.title for x in course.versions[0].lessons()] == ["Pengantar", "Penutup"]


def test_publish_with_checklist_errors_changes_nothing(client, login, trainer, make_course):
    course = make_course(publish=False, lessons=())
    login(trainer)
    response = client.post(f"/kelola/kursus/{course.id}/terbitkan", data={"change_summary": ""},
                           follow_redirects=True)
    assert "has no lessons" in response.get_data(as_text=True)
    db.session.expire_all()
    assert course.published_version_id is None
    assert course.draft is not None


# ---------------------------------------------------------------- uploads


@pytest.fixture
def draft_module(make_course, trainer):
    course = make_course(publish=False, lessons=("Pengantar",))
    return course.draft.modules[0]


def test_a_pdf_that_is_not_a_pdf_is_refused_and_nothing_is_stored(client, login, trainer, draft_module):
    login(trainer)
    before = stored_files()
    fake = b"MZ\x90\x00 this is a Windows program renamed to .pdf" * 10
    response = client.post(f"/kelola/modul/{draft_module.id}/pelajaran/baru/pdf",
                           data=lesson_form("Peraturan", file=upload(fake, "peraturan.pdf")))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "This file is not an accepted type (pdf)" in page
    assert "its content does" in page
    assert stored_files() == before
    assert db.session.scalar(select(func.count()).select_from(Lesson)) == 1


def test_a_video_lesson_refuses_a_pdf(client, login, trainer, draft_module):
    login(trainer)
    response = client.post(f"/kelola/modul/{draft_module.id}/pelajaran/baru/video",
                           data=lesson_form("Video", file=upload(PDF, "video.mp4")))
    assert "This file is not an accepted type (mp4, webm)" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Lesson)) == 1


def test_a_file_larger_than_the_limit_is_refused_and_nothing_is_stored(client, login, trainer, draft_module,
                                                                      monkeypatch):
    monkeypatch.setitem(courses.views.UPLOAD_RULES, "pdf", ({"application/pdf"}, 2 * 1024 * 1024))
    login(trainer)
    before = stored_files()
    big = PDF + b"0" * (2 * 1024 * 1024)
    # Encoded in memory: the test client would spool a body this big to a file it never closes.
    body, length, boundary = stream_encode_multipart(
        MultiDict(lesson_form("Besar", file=FileStorage(io.BytesIO(big), "besar.pdf"))), use_tempfile=False)
    response = client.post(f"/kelola/modul/{draft_module.id}/pelajaran/baru/pdf", input_stream=body,
                           content_length=length, content_type=f'multipart/form-data; boundary="{boundary}"')
    assert response.status_code == 200
    assert "The file is larger than 2 MB." in response.get_data(as_text=True)
    assert stored_files() == before, "neither the file nor a temporary part of it stays"
    assert db.session.scalar(select(func.count()).select_from(Lesson)) == 1


def test_a_pdf_lesson_without_a_file_is_refused(client, login, trainer, draft_module):
    login(trainer)
    response = client.post(f"/kelola/modul/{draft_module.id}/pelajaran/baru/pdf", data=lesson_form("Kosong"))
    assert response.status_code == 200
    assert "Upload the file for this lesson." in response.get_data(as_text=True)


def test_a_link_lesson_needs_a_web_address(client, login, trainer, draft_module):
    login(trainer)
    response = client.post(f"/kelola/modul/{draft_module.id}/pelajaran/baru/link",
                           data=lesson_form("Tautan", url="javascript:alert(1)"))
    assert "A link starts with https:// or http://." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Lesson)) == 1


# ---------------------------------------------------------------- serving files


@pytest.fixture
def material(make_course, learner, enrol):
    """A published course with a PDF, a captioned video and a downloadable file; the learner is enrolled."""
    put = store().put_bytes
    course = make_course(code="PM-01", lessons=(
        {"kind": "pdf", "title": "Perpres", "file_sha256": put(PDF), "file_name": "perpres.pdf",
         "file_type": "application/pdf", "file_size": len(PDF)},
        {"kind": "video", "title": "Video", "file_sha256": put(MP4), "file_name": "video.mp4",
         "file_type": "video/mp4", "file_size": len(MP4), "captions_sha256": put(VTT)},
        {"kind": "file", "title": "Templat", "file_sha256": put(ZIP), "file_name": "templat rab.zip",
         "file_type": "application/zip", "file_size": len(ZIP)},
    ))
    enrol(learner, course)
    pdf, video, attachment = course.published_version.lessons()
    return {"pdf": f"/kursus/PM-01/pelajaran/{pdf.id}", "video": f"/kursus/PM-01/pelajaran/{video.id}",
            "file": f"/kursus/PM-01/pelajaran/{attachment.id}"}


def test_video_is_served_with_range_requests(client, login, learner, material):
    login(learner)
    response = client.get(material["video"] + "/berkas", headers={"Range": "bytes=0-99"})
    assert response.status_code == 206
    assert response.headers["Content-Range"] == f"bytes 0-99/{len(MP4)}"
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["Content-Type"] == "video/mp4"
    assert read(response) == MP4[:100]

    response = client.get(material["video"] + "/berkas", headers={"Range": f"bytes={len(MP4) - 10}-"})
    assert response.status_code == 206
    assert response.headers["Content-Range"] == f"bytes {len(MP4) - 10}-{len(MP4) - 1}/{len(MP4)}"
    assert read(response) == MP4[-10:]

    response = client.get(material["video"] + "/berkas")
    assert response.status_code == 200
    assert read(response) == MP4

    response = client.get(material["video"] + "/berkas", headers={"Range": f"bytes={len(MP4) + 5}-"})
    assert response.status_code == 416
    read(response)


def test_captions_are_served_as_webvtt(client, login, learner, material):
    login(learner)
    response = client.get(material["video"] + "/teks")
    assert response.status_code == 200
    assert response.mimetype == "text/vtt"
    assert read(response) == VTT


def test_a_file_lesson_is_served_as_an_attachment(client, login, learner, material):
    login(learner)
    response = client.get(material["file"] + "/berkas")
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "templat rab.zip" in disposition
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "private, max-age=3600"
    assert read(response) == ZIP


def test_the_pdf_is_shown_inline_under_a_restrictive_policy(client, login, learner, material):
    login(learner)
    response = client.get(material["pdf"] + "/berkas")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("inline")
    policy = {part.split()[0]: part.split()[1:] for part in response.headers["Content-Security-Policy"].split(";")
              if part.strip()}
    assert policy["default-src"] == ["'none'"]
    assert "script-src" not in policy, "scripts fall back to default-src 'none'"
    assert policy["frame-ancestors"] == ["'self'"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert read(response) == PDF


def test_the_lesson_page_embeds_the_pdf_and_the_captioned_video(client, login, learner, material):
    login(learner)
    page = client.get(material["pdf"]).get_data(as_text=True)
    assert f'src="{material["pdf"]}/berkas"' in page
    page = client.get(material["video"]).get_data(as_text=True)
    assert f'src="{material["video"]}/berkas"' in page
    assert f'src="{material["video"]}/teks"' in page


# ---------------------------------------------------------------- learners and their export


def test_learners_page_and_csv_export_neutralise_formulas(client, login, trainer, make_course, make_user, enrol):
    course = make_course(code="PM-01", lessons=("Pengantar", "Penutup"))
    names = ["=HYPERLINK(\"http://evil.example\",\"klik\")", "+62 811 000", "@SUM(A1:A2)", "-1+1",
             "Siti Aminah"]
    for name in names:
        enrolment = enrol(make_user(full_name=name), course)
        services.record_visit(enrolment, enrolment.version.lessons()[0])
    db.session.commit()
    login(trainer)
    page = client.get(f"/kelola/kursus/{course.id}/peserta").get_data(as_text=True)
    assert "Siti Aminah" in page
    assert "5 learners" in page
    assert "Pengantar" in page  # where learners stopped

    response = client.get(f"/kelola/kursus/{course.id}/peserta", query_string={"format": "csv"})
    assert response.mimetype == "text/csv"
    assert re.match(r'attachment; filename="peserta-PM-01-\d{4}-\d{2}-\d{2}\.csv"',
                    response.headers["Content-Disposition"])
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert sorted(row["nama"] for row in rows) == sorted(
        ["'=HYPERLINK(\"http://evil.example\",\"klik\")", "'+62 811 000", "'@SUM(A1:A2)", "'-1+1", "Siti Aminah"])
    for row in rows:
        assert row["nama"][:1] not in "=+-@", row
        assert (row["versi"], row["status"], row["progres_persen"], row["sumber"]) == ("1", "active", "50", "self")


# ---------------------------------------------------------------- assignment by HR


@pytest.fixture
def organisation(make_user):
    dinas = people.save_unit(None, code="DISKOMINFO", name="Dinas Kominfo", kind="unit", parent_id=None,
                             actor=None)
    bidang = people.save_unit(None, code="APTIKA", name="Bidang Aptika", kind="unit", parent_id=dinas.id,
                              actor=None)
    other = people.save_unit(None, code="DINKES", name="Dinas Kesehatan", kind="unit", parent_id=None,
                             actor=None)
    db.session.commit()
    inactive = make_user(unit_id=bidang.id)
    people.set_active(inactive, False, actor=None)
    db.session.commit()
    return {
        "hr": make_user(roles=("hr",), unit_id=dinas.id, locale="en"),
        "unit": dinas,
        "staff": [make_user(unit_id=dinas.id), make_user(unit_id=bidang.id)],
        "inactive": inactive,
        "outsider": make_user(unit_id=other.id, nip="198503122010011003"),
    }


def test_hr_assigns_a_course_to_a_unit_with_a_due_date(client, login, make_course, organisation):
    course = make_course(code="TI-01", title="Keamanan Informasi", is_open=False)
    hr = organisation["hr"]
    login(hr)
    assert client.get("/kursus/TI-01/tugaskan").status_code == 200
    due = dt.date.today() + dt.timedelta(days=30)
    sent_before = mails()
    response = client.post("/kursus/TI-01/tugaskan", data={"nips": "", "unit_id": str(organisation["unit"].id),
                                                           "due_on": due.isoformat()})
    assert location(response).endswith("/kursus/TI-01")
    enrolments = db.session.scalars(select(Enrolment).where(Enrolment.course_id == course.id)).all()
    assignees = {organisation["hr"].id} | {u.id for u in organisation["staff"]}
    assert {e.user_id for e in enrolments} == assignees, "the unit and its sub-units, active people only"
    for enrolment in enrolments:
        assert (enrolment.source, enrolment.due_on, enrolment.assigned_by_id) == ("assigned", due, hr.id)
        assert enrolment.version_id == course.published_version_id

    new = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in mails() - sent_before]
    staff = {u.email for u in organisation["staff"]} | {hr.email}
    assert sorted(m["To"] for m in new) == sorted(staff)
    assert all("Keamanan Informasi" in m["Subject"] for m in new)
    assert all("/kursus/TI-01" in m.get_content() for m in new)


def test_assignment_with_an_unknown_nip_assigns_nobody(client, login, make_course, organisation):
    make_course(code="TI-01")
    login(organisation["hr"])
    sent_before = mails()
    response = client.post("/kursus/TI-01/tugaskan", data={
        "nips": "19850312 201001 1 003\n199001012015032001", "unit_id": "", "due_on": ""})
    assert response.status_code == 200
    assert "Unknown or inactive: 199001012015032001. Nothing was assigned." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Enrolment)) == 0
    assert mails() == sent_before

    # The known NIP alone is assigned.
    response = client.post("/kursus/TI-01/tugaskan", data={"nips": "19850312 201001 1 003", "unit_id": "",
                                                           "due_on": ""})
    location(response)
    [enrolment] = db.session.scalars(select(Enrolment)).all()
    assert (enrolment.user_id, enrolment.source) == (organisation["outsider"].id, "assigned")


def test_assignment_refuses_a_due_date_in_the_past(client, login, make_course, organisation):
    make_course(code="TI-01")
    login(organisation["hr"])
    response = client.post("/kursus/TI-01/tugaskan", data={
        "nips": organisation["staff"][0].email, "due_on": (dt.date.today() - dt.timedelta(days=1)).isoformat()})
    assert "The due date is in the past." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Enrolment)) == 0


def test_assigned_course_shows_on_the_learners_home_with_its_due_date(client, login, make_course, organisation,
                                                                     make_user):
    course = make_course(code="TI-01", title="Keamanan Informasi")
    learner = make_user(locale="en", unit_id=organisation["unit"].id)
    due = dt.date.today() + dt.timedelta(days=10)
    services.assign(course, [learner], due_on=due, actor=organisation["hr"])
    db.session.commit()
    login(learner)
    page = client.get("/").get_data(as_text=True)
    assert "Assigned to me" in page
    assert "Keamanan Informasi" in page
    assert "due " in page


def test_owners_can_be_named_by_nip_written_with_spaces(client, login, trainer, make_user, make_course):
    course = make_course(code="PM-01")
    colleague = make_user(roles=("trainer",), nip="198503122010011003")
    login(trainer)
    response = client.post(f"/kelola/kursus/{course.id}/tim",
                           data={"owners": f"{trainer.email}\n19850312 201001 1 003"})
    assert location(response).endswith(f"/kelola/kursus/{course.id}#team")
    db.session.expire_all()
    assert {u.id for u in course.owners} == {trainer.id, colleague.id}
