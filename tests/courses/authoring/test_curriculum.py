"""The curriculum document of a course version: edited in forms, copied into new drafts, exported as an A4 PDF
in Bahasa Indonesia; its renderer fetches nothing but data: URIs and our static files."""

from __future__ import annotations

import subprocess

import pytest

from courses import services
from courses.authoring import pdf
from courses.authoring import services as authoring
from courses.authoring.models import CurriculumTopic
from lms.extensions import db

TOPIC = {"part": "inti", "title": "Perencanaan Proyek", "hours_teori": "2", "hours_penugasan": "1",
         "hours_praktik": "1", "objective": "Peserta mampu menyusun WBS.", "sub_topics": "WBS\nJadwal",
         "method": "Ceramah, studi kasus", "media": "Slide", "sources": "Perpres 12/2021"}


def text_of(data: bytes, tmp_path) -> str:
    path = tmp_path / "kurikulum.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True, text=True).stdout  # noqa: S603, S607
    return " ".join(out.split())


def test_coauthors_write_the_curriculum_in_forms(team_course, coauthor, browser_for):
    client = browser_for(coauthor)
    url = f"/kelola/kursus/{team_course.id}/kurikulum"
    assert client.post(url, data={"competencies": "M.04 Orientasi pada Hasil (level 2)",
                                  "objectives": "Menyusun WBS\nMengendalikan jadwal",
                                  "evaluation": "Pre-test dan post-test", "certification": "Nilai post-test ≥ 65",
                                  "participants": "ASN pengelola kegiatan"}).status_code == 302
    assert client.post(url + "/topik", data=TOPIC).status_code == 302
    assert client.post(url + "/topik", data=TOPIC | {"part": "dasar", "title": "Wawasan Kebangsaan",
                                                     "hours_teori": "2", "hours_penugasan": "0",
                                                     "hours_praktik": "0"}).status_code == 302
    response = client.post(url + "/topik", data=TOPIC | {"title": "", "hours_teori": "-1"})
    assert response.status_code == 200
    assert "curriculum-table" in response.get_data(as_text=True)
    document = authoring.curriculum_document(team_course.draft)
    assert document["totals"] == {"teori": 4, "penugasan": 1, "praktik": 1, "hours": 6}
    assert [(p["part"], [t["title"] for t in p["topics"]]) for p in document["parts"]] == [
        ("dasar", ["Wawasan Kebangsaan"]), ("inti", ["Perencanaan Proyek"]), ("penunjang", [])]
    topic = db.session.scalar(db.select(CurriculumTopic).where(CurriculumTopic.title == "Perencanaan Proyek"))
    assert client.post(url + "/topik", data=TOPIC | {"topic_id": str(topic.id), "hours_praktik": "3"}).status_code == 302
    db.session.expire_all()
    assert topic.hours == 6
    assert client.post(url + "/topik/ubah", data={"topic_id": str(topic.id), "action": "hapus"}).status_code == 302
    assert len(authoring.curriculum_of(team_course.draft).topics) == 1


def test_the_curriculum_is_copied_into_the_next_draft(team_course, trainer, coauthor, reviewer):
    draft = team_course.draft
    authoring.save_curriculum(draft, actor=coauthor, evaluation="Pre-test dan post-test")
    authoring.save_topic(draft, actor=coauthor, **{k: (int(v) if k.startswith("hours") else v)
                                                  for k, v in TOPIC.items()})
    authoring.transition(draft, "submit", actor=coauthor)
    with pytest.raises(services.NotEditable):
        authoring.save_curriculum(draft, actor=coauthor, evaluation="Diubah saat ditelaah")
    authoring.transition(draft, "approve", actor=reviewer)
    services.publish(draft, actor=trainer)
    new = services.ensure_draft(team_course, actor=trainer)
    copy = authoring.curriculum_of(new)
    assert copy.evaluation == "Pre-test dan post-test"
    assert [t.title for t in copy.topics] == ["Perencanaan Proyek"]
    authoring.save_topic(new, actor=trainer, topic=copy.topics[0], title="Perencanaan Proyek Daerah")
    assert authoring.curriculum_of(draft).topics[0].title == "Perencanaan Proyek", "v2 keeps its own"


def test_the_pdf_is_an_a4_curriculum_in_indonesian(team_course, coauthor, browser_for, tmp_path):
    authoring.save_curriculum(team_course.draft, actor=coauthor, evaluation="Pre-test dan post-test <b>ketat</b>")
    authoring.save_topic(team_course.draft, actor=coauthor, **{k: (int(v) if k.startswith("hours") else v)
                                                              for k, v in TOPIC.items()})
    db.session.commit()
    response = browser_for(coauthor).get(f"/kelola/kursus/{team_course.id}/kurikulum.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    data = response.get_data()
    assert data.startswith(b"%PDF")
    text = text_of(data, tmp_path)
    for words in ("KURIKULUM PELATIHAN", "STRUKTUR PROGRAM", "Materi Inti", "Perencanaan Proyek",
                  "GARIS-GARIS BESAR PROGRAM PEMBELAJARAN", "Perpres 12/2021", "EVALUASI", "SERTIFIKASI",
                  "TIM PENYUSUN", "Hendra Wijaya", "Universitas Diponegoro", "RANCANGAN",
                  "Pre-test dan post-test <b>ketat</b>"):
        assert words in text, words
    info = subprocess.run(["pdfinfo", str(tmp_path / "kurikulum.pdf")], check=True, capture_output=True,  # noqa: S603, S607
                          text=True).stdout
    assert "(A4)" in info


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/secret", "file:///etc/passwd", "/static/../config.py",
                                 "https://example.com/logo.png"])
def test_the_renderer_fetches_nothing_outside_static_files(url):
    with pytest.raises(pdf.ResourceRefused):
        pdf.fetch(url)
    body, mime_type, _source = pdf.fetch("/static/css/authoring.css")
    assert mime_type == "text/css"
    assert b".diff" in body
    assert pdf.fetch("data:text/plain,halo")[0] == b"halo"
