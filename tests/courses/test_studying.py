"""A learner through the pages: find a course, enrol, study, leave, resume where they stopped, finish, and see
the course completed and its JP counted on the home page."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from courses import services, signals
from courses.models import Enrolment, LessonProgress
from lms.extensions import db


def path_of(response) -> str:
    assert response.status_code in (302, 303), response.status_code
    return response.headers["Location"]


def test_learner_finds_enrols_studies_resumes_and_completes(client, login, learner, make_course, issuer):
    course = make_course(code="PM-01", title="Manajemen Proyek Dasar", jp=4,
                         lessons=("Pengantar", "Perencanaan", "Penutup"))
    first, second, third = course.published_version.lessons()
    completed = []

    def receiver(sender, enrolment):
        completed.append(enrolment.id)

    login(learner)
    page = client.get("/").get_data(as_text=True)
    assert "You are not enrolled in any course yet." in page
    assert "0 / 20" in page

    page = client.get("/kursus", query_string={"q": "proyek"}).get_data(as_text=True)
    assert "Manajemen Proyek Dasar" in page
    page = client.get("/kursus/PM-01").get_data(as_text=True)
    assert "Enrol in this course" in page
    assert "Menyusun rencana proyek." in page
    assert f"/kursus/PM-01/pelajaran/{first.id}" not in page, "lessons are not links before enrolling"

    assert path_of(client.post("/kursus/PM-01/ikuti")) == "/kursus/PM-01/lanjut"
    enrolment = db.session.scalar(select(Enrolment).where(Enrolment.user_id == learner.id))
    assert (enrolment.source, enrolment.state) == ("self", "active")
    assert path_of(client.get("/kursus/PM-01/lanjut")) == f"/kursus/PM-01/pelajaran/{first.id}"

    page = client.get(f"/kursus/PM-01/pelajaran/{first.id}").get_data(as_text=True)
    assert "Isi Pengantar." in page
    assert "Lesson done" in page
    assert f'href="/kursus/PM-01/pelajaran/{second.id}"' in page  # next
    page = client.get(f"/kursus/PM-01/pelajaran/{second.id}").get_data(as_text=True)
    assert "67%" in page
    # The learner leaves; later "continue" brings them back to the lesson they were on.
    client.post("/akun/keluar")
    login(learner)
    assert "Continue learning" in client.get("/").get_data(as_text=True)
    assert path_of(client.get("/kursus/PM-01/lanjut")) == f"/kursus/PM-01/pelajaran/{second.id}"

    with signals.course_completed.connected_to(receiver):
        page = client.get(f"/kursus/PM-01/pelajaran/{third.id}").get_data(as_text=True)
        assert "You have completed this course." in page
        client.get(f"/kursus/PM-01/pelajaran/{third.id}")  # opening it again completes nothing twice
    db.session.expire_all()
    enrolment = db.session.get(Enrolment, enrolment.id)
    assert enrolment.state == "completed"
    assert enrolment.progress_percent == 100
    assert completed == [enrolment.id]

    page = client.get("/").get_data(as_text=True)
    assert "Completed" in page
    assert "Manajemen Proyek Dasar" in page
    assert "4 JP" in page
    assert "4 / 20" in page
    assert "16 JP to go this year." in page
    assert '<progress max="20" value="4"' in page
    assert "Completed" in client.get("/kursus/PM-01").get_data(as_text=True)
    assert services.jp_earned(learner, dt.date.today().year) == 4


def test_enrolling_twice_through_the_page_makes_one_enrolment(client, login, learner, make_course):
    make_course(code="PM-01")
    login(learner)
    client.post("/kursus/PM-01/ikuti")
    client.post("/kursus/PM-01/ikuti")
    assert len(db.session.scalars(select(Enrolment)).all()) == 1


def test_missing_prerequisite_is_explained_and_nothing_is_enrolled(client, login, learner, make_course, trainer):
    basic = make_course(code="PM-01", title="Dasar")
    advanced = make_course(code="PM-02", title="Lanjutan")
    services.set_prerequisites(advanced, [basic], actor=trainer)
    db.session.commit()
    login(learner)
    page = client.get("/kursus/PM-02").get_data(as_text=True)
    assert "Complete these courses first:" in page
    assert "Enrol in this course" not in page
    page = client.post("/kursus/PM-02/ikuti", follow_redirects=True).get_data(as_text=True)
    assert "Complete these courses first: PM-01 Dasar." in page
    assert db.session.scalars(select(Enrolment)).all() == []


def test_heartbeat_completes_a_min_time_lesson(client, login, learner, make_course, enrol):
    course = make_course(code="PM-01", lessons=({"title": "Bacaan wajib", "completion_rule": "min_time",
                                                 "completion_value": 2},))
    enrolment = enrol(learner, course)
    lesson = course.published_version.lessons()[0]
    login(learner)
    page = client.get(f"/kursus/PM-01/pelajaran/{lesson.id}").get_data(as_text=True)
    assert "counts as done after 2 minutes" in page
    url = f"/kursus/PM-01/pelajaran/{lesson.id}/aktivitas"
    answer = client.post(url, data={"seconds": "60"}, headers={"Accept": "application/json"}).get_json()
    assert answer == {"state": "in_progress", "seconds": 60, "course_state": "active", "percent": 0}
    answer = client.post(url, data={"seconds": "60"}, headers={"Accept": "application/json"}).get_json()
    assert answer == {"state": "done", "seconds": 120, "course_state": "completed", "percent": 100}
    db.session.expire_all()
    assert db.session.get(Enrolment, enrolment.id).state == "completed"


def test_heartbeat_rejects_nonsense(client, login, learner, make_course, enrol):
    course = make_course(code="PM-01", lessons=({"title": "Bacaan", "completion_rule": "min_time",
                                                 "completion_value": 2},))
    enrolment = enrol(learner, course)
    lesson = course.published_version.lessons()[0]
    login(learner)
    url = f"/kursus/PM-01/pelajaran/{lesson.id}/aktivitas"
    assert client.post(url, data={"seconds": "-5"}).status_code == 400
    assert client.post(url, data={"seconds": "999999"}).status_code == 400
    assert client.post(url, data={"seconds": "lama"}).status_code == 400
    assert db.session.scalars(select(LessonProgress).where(LessonProgress.enrolment_id == enrolment.id)).all() == []


def test_learner_on_v1_keeps_seeing_v1_after_v2_is_published(client, login, learner, trainer, make_course, enrol):
    course = make_course(code="PM-01", lessons=("Pengantar", "Penutup"))
    enrol(learner, course)
    v1_first = course.published_version.lessons()[0]
    draft = services.ensure_draft(course, actor=trainer)
    services.update_lesson(draft.lessons()[0], title="Pengantar Edisi Baru")
    services.add_lesson(draft.modules[0], kind="text", title="Studi Kasus Baru")
    v2 = services.publish(draft, actor=trainer)
    db.session.commit()
    v2_new = v2.lessons()[2]

    login(learner)
    page = client.get("/kursus/PM-01").get_data(as_text=True)
    assert "Pengantar" in page
    assert "Edisi Baru" not in page
    assert "Studi Kasus Baru" not in page
    assert client.get(f"/kursus/PM-01/pelajaran/{v1_first.id}").status_code == 200
    assert client.get(f"/kursus/PM-01/pelajaran/{v2_new.id}").status_code == 404
    assert path_of(client.get("/kursus/PM-01/lanjut")) == f"/kursus/PM-01/pelajaran/{v1_first.id}"

    # The trainer moves the learners; now the learner studies v2 and keeps the unchanged lesson done.
    client.post("/akun/keluar")
    login(trainer)
    client.post(f"/kelola/kursus/{course.id}/pindahkan")
    client.post("/akun/keluar")
    login(learner)
    page = client.get("/kursus/PM-01").get_data(as_text=True)
    assert "Edisi Baru" in page
    assert "Studi Kasus Baru" in page
    assert client.get(f"/kursus/PM-01/pelajaran/{v1_first.id}").status_code == 404
    assert client.get(f"/kursus/PM-01/pelajaran/{v2_new.id}").status_code == 200
