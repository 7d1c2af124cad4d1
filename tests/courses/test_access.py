"""Who may open what in courses: learners only study what they are enrolled in, only trainers and admins reach
authoring, a trainer only edits their own courses, published versions cannot be edited through any URL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from courses import services
from courses.models import Course, LessonProgress
from lms.extensions import db
from lms.storage import store
from tests.courses.helpers import PASSWORD, PDF, VTT, ZIP


def snapshot() -> dict:
    """Every row of every table, to prove that a refused request changed nothing."""
    db.session.expire_all()
    return {table.name: sorted(map(repr, db.session.execute(select(table)).all()))
            for table in db.metadata.sorted_tables}


def browser(app, user):
    client = app.test_client()
    response = client.post("/akun/masuk", data={"login": user.email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def status(client, method, url, **kwargs) -> int:
    response = client.open(url, method=method, **kwargs)
    response.get_data()
    response.close()
    return response.status_code


@pytest.fixture
def course(make_course):
    """PM-01: published with a text, a PDF, a captioned video and a file lesson, and a draft open."""
    put = store().put_bytes
    course = make_course(code="PM-01", modules={"Modul 1": [
        "Pengantar",
        {"kind": "pdf", "title": "Perpres", "file_sha256": put(PDF), "file_name": "perpres.pdf",
         "file_type": "application/pdf", "file_size": len(PDF)},
        {"kind": "video", "title": "Video", "file_sha256": put(PDF), "file_name": "video.mp4",
         "file_type": "video/mp4", "file_size": len(PDF), "captions_sha256": put(VTT)},
        {"kind": "file", "title": "Templat", "file_sha256": put(ZIP), "file_name": "templat.zip",
         "file_type": "application/zip", "file_size": len(ZIP)},
    ], "Modul 2": ["Penutup"]})
    return course


def study_urls(course) -> list[str]:
    urls = []
    for lesson in course.published_version.lessons():
        base = f"/kursus/{course.code}/pelajaran/{lesson.id}"
        urls.append(base)
        if lesson.kind in ("pdf", "video", "file"):
            urls.append(base + "/berkas")
        if lesson.captions_sha256:
            urls.append(base + "/teks")
    return urls


def test_a_learner_cannot_open_lessons_or_files_of_a_course_they_are_not_enrolled_in(app, course, learner, enrol,
                                                                                    make_user):
    urls = study_urls(course)
    lesson = course.published_version.lessons()[0]
    stranger = browser(app, learner)
    before = snapshot()
    for url in urls:
        assert status(stranger, "GET", url) == 404, url
    assert status(stranger, "POST", f"/kursus/PM-01/pelajaran/{lesson.id}/aktivitas", data={"seconds": "60"}) == 404
    assert snapshot() == before
    # The positive control: once enrolled, the same URLs open.
    enrol(learner, course)
    for url in urls:
        assert status(stranger, "GET", url) in (200, 206), url


def test_a_lesson_id_of_another_course_is_not_reachable_through_my_course(app, course, make_course, learner, enrol):
    other = make_course(code="TI-01", lessons=("Rahasia",))
    enrol(learner, course)
    foreign = other.published_version.lessons()[0]
    client = browser(app, learner)
    assert status(client, "GET", f"/kursus/PM-01/pelajaran/{foreign.id}") == 404
    assert status(client, "GET", f"/kursus/TI-01/pelajaran/{foreign.id}") == 404


def test_draft_lessons_are_not_reachable_by_enrolled_learners(app, course, learner, enrol, trainer):
    enrol(learner, course)
    draft = services.ensure_draft(course, actor=trainer)
    db.session.commit()
    client = browser(app, learner)
    for lesson in draft.lessons():
        assert status(client, "GET", f"/kursus/PM-01/pelajaran/{lesson.id}") == 404


def test_a_closed_course_is_hidden_from_learners_who_are_not_enrolled(app, make_course, learner, make_user):
    closed = make_course(code="RHS-01", title="Pengamanan Rahasia Negara", is_open=False)
    client = browser(app, learner)
    assert status(client, "GET", "/kursus/RHS-01") == 404
    assert status(client, "POST", "/kursus/RHS-01/ikuti") == 404
    assert "Pengamanan Rahasia" not in client.get("/kursus", query_string={"q": "rahasia"}).get_data(as_text=True)
    assert status(client, "GET", f"/kursus/{closed.id}/sampul") == 404
    assert db.session.scalars(select(LessonProgress)).all() == []
    # Once assigned, it opens for this learner.
    services.assign(closed, [learner], due_on=None, actor=make_user(roles=("hr",)))
    db.session.commit()
    assert status(client, "GET", "/kursus/RHS-01") == 200


def test_an_unpublished_course_page_is_hidden_from_learners(app, make_course, learner, trainer):
    make_course(code="DRF-01", publish=False)
    assert status(browser(app, learner), "GET", "/kursus/DRF-01") == 404
    assert status(browser(app, trainer), "GET", "/kursus/DRF-01") == 200


def authoring_urls(course) -> list[tuple[str, str, dict]]:
    """Every authoring URL of the course, with a form that would succeed for its owner."""
    draft = course.draft
    module = draft.modules[0]
    lesson = module.lessons[0]
    lesson_form = {"title": "Diganti", "completion_rule": "viewed", "is_required": "y", "minutes": "5",
                   "body_markdown": "Isi diganti."}
    ids = ",".join(str(m.id) for m in reversed(draft.modules))
    return [
        ("GET", f"/kelola/kursus/{course.id}", {}),
        ("POST", f"/kelola/kursus/{course.id}", {"code": "PM-01", "title": "Diganti", "jp": "9",
                                                 "competency_kind": "teknis", "jalur": "klasikal",
                                                 "jenis_diklat": "3", "language": "id", "is_open": "y"}),
        ("GET", f"/kelola/kursus/{course.id}/draf", {}),
        ("POST", f"/kelola/kursus/{course.id}/draf/buka", {}),
        ("POST", f"/kelola/kursus/{course.id}/urutan", {"order": ids}),
        ("POST", f"/kelola/kursus/{course.id}/urutan", {"module": str(module.id),
                                                        "order": ",".join(str(x.id) for x in module.lessons)}),
        ("POST", f"/kelola/kursus/{course.id}/modul", {"title": "Modul Penyusup"}),
        ("GET", f"/kelola/modul/{module.id}", {}),
        ("POST", f"/kelola/modul/{module.id}", {"title": "Diganti"}),
        ("POST", f"/kelola/modul/{module.id}/geser", {"arah": "turun"}),
        ("GET", f"/kelola/modul/{module.id}/pelajaran/baru/text", {}),
        ("POST", f"/kelola/modul/{module.id}/pelajaran/baru/text", lesson_form),
        ("GET", f"/kelola/pelajaran/{lesson.id}", {}),
        ("POST", f"/kelola/pelajaran/{lesson.id}", lesson_form),
        ("POST", f"/kelola/pelajaran/{lesson.id}/geser", {"arah": "turun"}),
        ("POST", f"/kelola/pelajaran/{lesson.id}/hapus", {}),
        ("POST", f"/kelola/modul/{module.id}/hapus", {}),
        ("POST", f"/kelola/kursus/{course.id}/terbitkan", {"change_summary": "Penyusup"}),
        ("POST", f"/kelola/kursus/{course.id}/pindahkan", {}),
        ("GET", f"/kelola/kursus/{course.id}/peserta", {}),
        ("GET", f"/kelola/kursus/{course.id}/peserta?format=csv", {}),
    ]


@pytest.fixture
def draft_course(course, trainer, learner, enrol):
    services.ensure_draft(course, actor=trainer)
    db.session.commit()
    enrol(learner, course)
    return course


def test_a_trainer_cannot_edit_a_course_they_do_not_own(app, draft_course, make_user):
    rival = browser(app, make_user(roles=("trainer",)))
    before = snapshot()
    for method, url, data in authoring_urls(draft_course):
        assert status(rival, method, url, data=data) == 403, f"{method} {url}"
    assert snapshot() == before


def test_learners_hr_and_coauthors_cannot_reach_authoring(app, draft_course, learner, make_user):
    clients = [browser(app, learner), browser(app, make_user(roles=("hr",))),
               browser(app, make_user(roles=("coauthor",)))]
    before = snapshot()
    for client in clients:
        for url in ("/kelola/kursus", "/kelola/kursus/baru"):
            assert status(client, "GET", url) == 403, url
        assert status(client, "POST", "/kelola/kursus/baru", data={"code": "X-1", "title": "X", "jp": "1"}) == 403
        for method, url, data in authoring_urls(draft_course):
            assert status(client, method, url, data=data) == 403, f"{method} {url}"
        # Ids that do not exist are refused the same way: nothing tells which ids exist.
        for url in ("/kelola/kursus/999999", "/kelola/modul/999999", "/kelola/pelajaran/999999"):
            assert status(client, "GET", url) == 403, url
    assert snapshot() == before


def test_the_owner_and_an_admin_can_use_the_same_urls(app, draft_course, trainer, make_user):
    """The positive control of the refusals above."""
    urls = authoring_urls(draft_course)
    for user in (trainer, make_user(roles=("admin",))):
        client = browser(app, user)
        for method, url, data in [u for u in urls if u[0] == "GET"] + [urls[1]]:
            assert status(client, method, url, data=data) in (200, 302), f"{method} {url}"
    db.session.expire_all()
    assert db.session.scalar(select(Course.title).where(Course.id == draft_course.id)) == "Diganti"


def test_the_owner_walks_every_authoring_url(app, draft_course, trainer):
    client = browser(app, trainer)
    for method, url, data in authoring_urls(draft_course):
        assert status(client, method, url, data=data) in (200, 302), f"{method} {url}"
    db.session.expire_all()
    assert draft_course.title == "Diganti"
    # Publishing was refused (the new module has no lessons); the draft shows every edit.
    assert draft_course.published_version.number == 1
    assert [m.title for m in draft_course.draft.modules] == ["Modul 2", "Modul Penyusup"]


def test_editing_urls_of_a_published_version_answer_409(app, course, trainer):
    version = course.published_version
    module = version.modules[0]
    lesson = module.lessons[0]
    owner = browser(app, trainer)
    before = snapshot()
    for method, url, data in [
        ("GET", f"/kelola/modul/{module.id}", {}),
        ("POST", f"/kelola/modul/{module.id}", {"title": "Diganti"}),
        ("POST", f"/kelola/modul/{module.id}/hapus", {}),
        ("POST", f"/kelola/modul/{module.id}/geser", {"arah": "turun"}),
        ("GET", f"/kelola/modul/{module.id}/pelajaran/baru/text", {}),
        ("POST", f"/kelola/modul/{module.id}/pelajaran/baru/text", {"title": "Baru", "completion_rule": "viewed"}),
        ("GET", f"/kelola/pelajaran/{lesson.id}", {}),
        ("POST", f"/kelola/pelajaran/{lesson.id}", {"title": "Diganti", "completion_rule": "viewed"}),
        ("POST", f"/kelola/pelajaran/{lesson.id}/hapus", {}),
        ("POST", f"/kelola/pelajaran/{lesson.id}/geser", {"arah": "turun"}),
    ]:
        assert status(owner, method, url, data=data) == 409, f"{method} {url}"
    assert snapshot() == before


def test_reorder_cannot_move_another_courses_module(app, course, make_course, trainer, make_user):
    """The reorder endpoint of my course, naming a module of a course I do not own."""
    services.ensure_draft(course, actor=trainer)
    rival = make_course(code="TI-01", owner=make_user(roles=("trainer",)), publish=False)
    db.session.commit()
    foreign = rival.draft.modules[0]
    order = ",".join(str(x.id) for x in reversed(foreign.lessons))
    client = browser(app, trainer)
    before = snapshot()
    response = client.post(f"/kelola/kursus/{course.id}/urutan", data={"module": str(foreign.id), "order": order})
    assert response.status_code == 404
    assert snapshot() == before


def test_a_learners_progress_changes_only_by_their_own_heartbeat(app, make_course, learner, make_user, enrol):
    course = make_course(code="PM-01", lessons=({"title": "Bacaan", "completion_rule": "min_time",
                                                 "completion_value": 5},))
    lesson = course.published_version.lessons()[0]
    mine = enrol(learner, course)
    other = make_user()
    theirs = enrol(other, course)
    services.record_visit(theirs, lesson, seconds=30)
    db.session.commit()
    url = f"/kursus/PM-01/pelajaran/{lesson.id}/aktivitas"
    client = browser(app, learner)
    for _ in range(2):
        assert status(client, "POST", url, data={"seconds": "120"}) == 302
    db.session.expire_all()
    rows = {row.enrolment_id: row.seconds_spent for row in db.session.scalars(select(LessonProgress))}
    assert rows == {mine.id: 240, theirs.id: 30}
    # Naming the other person anywhere in the request does not help.
    assert status(client, "POST", url, data={"seconds": "120", "user_id": str(other.id),
                                              "enrolment_id": str(theirs.id)}) == 302
    db.session.expire_all()
    rows = {row.enrolment_id: row.seconds_spent for row in db.session.scalars(select(LessonProgress))}
    assert rows == {mine.id: 360, theirs.id: 30}


def test_only_hr_and_admins_assign(app, course, learner, make_user):
    for user in (learner, make_user(roles=("trainer",)), make_user(roles=("coauthor",))):
        client = browser(app, user)
        before = snapshot()
        assert status(client, "GET", "/kursus/PM-01/tugaskan") == 403
        assert status(client, "POST", "/kursus/PM-01/tugaskan", data={"nips": learner.email}) == 403
        assert snapshot() == before
    assert status(browser(app, make_user(roles=("hr",))), "GET", "/kursus/PM-01/tugaskan") == 200


def test_signed_out_visitors_are_sent_to_sign_in(client, course):
    lesson = course.published_version.lessons()[0]
    for url in ("/kursus", "/kursus/PM-01", f"/kursus/PM-01/pelajaran/{lesson.id}",
                f"/kursus/PM-01/pelajaran/{lesson.id + 1}/berkas", "/kelola/kursus"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/akun/masuk" in response.headers["Location"], url
