"""What a co-author may not do: publish, move or see learners, touch other courses or the course details; and
what a reviewer may not do: edit. Refused requests change nothing."""

from __future__ import annotations

from sqlalchemy import select

from courses.models import Course
from lms.extensions import db
from tests.courses.test_access import snapshot


def test_a_coauthor_cannot_publish_manage_or_see_learners(team_course, coauthor, learner, enrol, browser_for):
    enrol(learner, team_course)
    client = browser_for(coauthor)
    before = snapshot()
    course_id = team_course.id
    for method, url, data in [
        ("POST", f"/kelola/kursus/{course_id}/terbitkan", {"change_summary": "Terbit!"}),
        ("POST", f"/kelola/kursus/{course_id}/pindahkan", {}),
        ("GET", f"/kelola/kursus/{course_id}/peserta", {}),
        ("GET", f"/kelola/kursus/{course_id}/peserta?format=csv", {}),
        ("GET", f"/kelola/kursus/{course_id}", {}),
        ("POST", f"/kelola/kursus/{course_id}", {"code": "PM-01", "title": "Diganti", "jp": "9"}),
        ("POST", f"/kelola/kursus/{course_id}/tim", {"owners": coauthor.email}),
        ("GET", f"/kelola/kursus/{course_id}/penyusun", {}),
        ("GET", "/kelola/kursus", {}),
        ("GET", f"/kursus/{team_course.code}/tugaskan", {}),
    ]:
        response = client.open(url, method=method, data=data)
        assert response.status_code == 403, f"{method} {url}"
        assert learner.email not in response.get_data(as_text=True)
    assert snapshot() == before
    page = client.get(f"/kelola/kursus/{course_id}/draf").get_data(as_text=True)
    assert learner.email not in page
    assert "Budi Santoso" not in page
    assert f"/kelola/kursus/{course_id}/terbitkan" not in page, "no publish button for a co-author"


def test_a_coauthor_cannot_touch_another_course(team_course, make_course, make_user, coauthor, browser_for):
    other = make_course(code="TI-01", owner=make_user(roles=("trainer",)))
    from courses import services

    draft = services.ensure_draft(other, actor=other.owners[0])
    db.session.commit()
    module, lesson = draft.modules[0], draft.lessons()[0]
    client = browser_for(coauthor)
    before = snapshot()
    for method, url in [
        ("GET", f"/kelola/kursus/{other.id}/draf"), ("POST", f"/kelola/kursus/{other.id}/modul"),
        ("GET", f"/kelola/modul/{module.id}"), ("POST", f"/kelola/modul/{module.id}/hapus"),
        ("GET", f"/kelola/pelajaran/{lesson.id}"), ("POST", f"/kelola/pelajaran/{lesson.id}"),
        ("POST", f"/kelola/pelajaran/{lesson.id}/hapus"), ("GET", f"/kelola/pelajaran/{lesson.id}/riwayat"),
        ("GET", f"/kelola/kursus/{other.id}/telaah"), ("POST", f"/kelola/kursus/{other.id}/telaah/langkah"),
        ("GET", f"/kelola/kursus/{other.id}/kurikulum"), ("POST", f"/kelola/kursus/{other.id}/kurikulum"),
        ("GET", f"/kelola/kursus/{other.id}/kurikulum.pdf"), ("GET", f"/kelola/kursus/{other.id}/bandingkan"),
    ]:
        assert client.open(url, method=method, data={"title": "Penyusup", "transition": "submit"}).status_code \
            == 403, f"{method} {url}"
    assert snapshot() == before
    # The positive control: the same kind of URL of their own course opens.
    assert client.get(f"/kelola/kursus/{team_course.id}/draf").status_code == 200


def test_a_coauthor_without_a_team_reaches_no_authoring_page(app, make_user, browser_for, team_course):
    client = browser_for(make_user(roles=("coauthor",)))
    for url in (f"/kelola/kursus/{team_course.id}/draf", "/kelola/modul/999999", "/kelola/pelajaran/999999"):
        assert client.get(url).status_code == 403, url


def test_the_coauthor_edits_the_draft_of_their_course(team_course, coauthor, browser_for):
    client = browser_for(coauthor)
    lesson = team_course.draft.lessons()[0]
    assert client.post(f"/kelola/kursus/{team_course.id}/modul", data={"title": "Studi kasus"}).status_code == 302
    assert client.post(f"/kelola/pelajaran/{lesson.id}", data={
        "title": "Pengantar proyek", "completion_rule": "viewed", "is_required": "y", "base_revision": "0",
        "body_markdown": "Teks Hendra."}).status_code == 302
    db.session.expire_all()
    assert [m.title for m in team_course.draft.modules] == ["Modul 1", "Studi kasus"]
    assert team_course.draft.lessons()[0].title == "Pengantar proyek"
    assert db.session.scalar(select(Course.title).where(Course.id == team_course.id)) == "Manajemen Proyek"


def test_a_reviewer_reads_but_does_not_edit(team_course, reviewer, browser_for):
    client = browser_for(reviewer)
    lesson = team_course.draft.lessons()[0]
    assert client.get(f"/kelola/kursus/{team_course.id}/telaah").status_code == 200
    assert client.get(f"/kursus/PM-01/pelajaran/{lesson.id}").status_code == 200  # preview of the draft
    before = snapshot()
    for method, url in [("GET", f"/kelola/kursus/{team_course.id}/draf"), ("POST", f"/kelola/pelajaran/{lesson.id}"),
                        ("POST", f"/kelola/kursus/{team_course.id}/kurikulum"),
                        ("POST", f"/kelola/pelajaran/{lesson.id}/riwayat/pulihkan")]:
        assert client.open(url, method=method, data={"title": "X", "number": "1"}).status_code == 403, url
    assert snapshot() == before
