"""The review of a draft: draft → submitted → changes requested / approved → published by an owner. Nobody
edits a submitted or approved draft; every step is audited and tells the people concerned."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from courses import services
from courses.authoring import services as authoring
from courses.authoring.models import ReviewComment, TeamNotification
from courses.models import Enrolment
from lms.extensions import db
from lms.models import AuditEvent
from lms.services import ServiceError, ValidationFailed
from tests.courses.helpers import mails


def lesson_of(course):
    return course.draft.lessons()[0]


def test_the_whole_review_by_services(team_course, trainer, coauthor, reviewer):
    draft = team_course.draft
    assert draft.review_state == "draft"
    authoring.transition(draft, "submit", actor=coauthor)
    assert draft.review_state == "submitted"
    assert draft.is_locked
    with pytest.raises(services.NotEditable):
        services.update_lesson(lesson_of(team_course), title="Diubah saat ditelaah")
    with pytest.raises(services.NotEditable):
        services.add_module(draft, title="Modul baru")
    with pytest.raises(ValidationFailed):
        authoring.transition(draft, "request_changes", actor=reviewer, comment="  ")
    authoring.transition(draft, "request_changes", actor=reviewer, comment="Tambahkan contoh proyek daerah.")
    assert draft.review_state == "changes_requested"
    assert not draft.is_locked
    services.update_lesson(lesson_of(team_course), body_markdown="Contoh: proyek aplikasi antrean.")
    authoring.transition(draft, "submit", actor=coauthor)
    authoring.transition(draft, "approve", actor=reviewer)
    assert draft.review_state == "approved"
    assert draft.is_locked
    published = services.publish(draft, actor=trainer, change_summary="Contoh proyek daerah.")
    assert published.number == 2
    assert published.state == "published"
    actions = [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))
               if e.action.startswith("course.review_")]
    assert actions == ["course.review_submit", "course.review_request_changes", "course.review_submit",
                       "course.review_approve"]
    decision = db.session.scalar(select(ReviewComment).where(ReviewComment.is_decision.is_(True)))
    assert decision.body == "Tambahkan contoh proyek daerah."


def test_each_step_tells_the_people_concerned_in_the_app_and_by_email(team_course, trainer, coauthor, reviewer):
    before = mails()
    authoring.transition(team_course.draft, "submit", actor=coauthor)
    db.session.commit()
    told = {(n.user_id, n.event) for n in db.session.scalars(select(TeamNotification))}
    assert told == {(trainer.id, "submit"), (reviewer.id, "submit")}, "everyone but the one who acted"
    sent = [path.read_text() for path in mails() - before]
    assert len(sent) == 2
    assert any("To: penelaah@example.go.id" in mail and "submitted the draft for review" in mail for mail in sent)
    before = mails()
    authoring.transition(team_course.draft, "request_changes", actor=reviewer, comment="Perbaiki judul.")
    db.session.commit()
    sent = [path.read_text() for path in mails() - before]
    assert sorted(m.split("To: ")[1].split()[0] for m in sent) == sorted([trainer.email, coauthor.email])
    assert all("Perbaiki judul." in m for m in sent)


def test_no_mail_leaves_when_the_step_is_rolled_back(team_course, coauthor):
    before = mails()
    authoring.transition(team_course.draft, "submit", actor=coauthor)
    db.session.rollback()
    db.session.commit()
    assert mails() == before
    assert db.session.scalar(select(TeamNotification)) is None


def test_who_may_take_which_step(team_course, trainer, coauthor, reviewer):
    draft = team_course.draft
    with pytest.raises(ServiceError):
        authoring.transition(draft, "submit", actor=reviewer)  # reviewers do not submit
    authoring.transition(draft, "submit", actor=coauthor)
    for actor in (coauthor, trainer):
        with pytest.raises(ServiceError):
            authoring.transition(draft, "approve", actor=actor)  # authors do not approve their own work
    with pytest.raises(ServiceError):
        authoring.transition(draft, "reopen", actor=coauthor)  # only an owner withdraws a submitted draft
    with pytest.raises(ServiceError, match="not possible"):
        authoring.transition(draft, "submit", actor=coauthor)
    authoring.transition(draft, "reopen", actor=trainer)
    assert draft.review_state == "draft"


def test_submitting_needs_a_reviewer_on_the_team(make_course, trainer):
    course = make_course(code="SO-01", publish=False)
    with pytest.raises(ServiceError, match="no reviewer"):
        authoring.transition(course.draft, "submit", actor=trainer)


def test_a_course_with_reviewers_publishes_only_an_approved_draft(team_course, trainer, coauthor):
    with pytest.raises(ValidationFailed) as refused:
        services.publish(team_course.draft, actor=trainer)
    assert "must approve" in str(refused.value.errors["publish"])
    authoring.transition(team_course.draft, "submit", actor=coauthor)
    with pytest.raises(ValidationFailed):
        services.publish(team_course.draft, actor=trainer)


def test_through_the_pages(team_course, trainer, coauthor, reviewer, browser_for):
    url = f"/kelola/kursus/{team_course.id}/telaah"
    author = browser_for(coauthor)
    assert author.post(url + "/langkah", data={"transition": "submit"}).status_code == 302
    # Locked: the co-author's edit form and edits answer 409 with the reason.
    lesson = lesson_of(team_course)
    response = author.get(f"/kelola/pelajaran/{lesson.id}")
    assert response.status_code == 409
    assert "submitted for review" in response.get_data(as_text=True)
    assert author.post(f"/kelola/kursus/{team_course.id}/modul", data={"title": "Baru"}).status_code == 409
    # The co-author cannot approve, even by posting the step by hand.
    assert author.post(url + "/langkah", data={"transition": "approve"}).status_code == 403
    review = browser_for(reviewer)
    page = review.get(url).get_data(as_text=True)
    assert "Ask for changes" in page
    assert "Approve" in page
    response = review.post(url + "/langkah", data={"transition": "request_changes", "comment": ""})
    assert response.status_code == 200
    assert "Say what should change." in response.get_data(as_text=True)
    assert review.post(url + "/langkah", data={"transition": "request_changes",
                                               "comment": "Lengkapi studi kasus."}).status_code == 302
    db.session.expire_all()
    assert team_course.draft.review_state == "changes_requested"
    assert "Lengkapi studi kasus." in author.get(url).get_data(as_text=True)
    # The reviewer edits nothing.
    assert review.get(f"/kelola/pelajaran/{lesson.id}").status_code == 403


def test_learners_of_the_published_version_stay_on_it(team_course, trainer, coauthor, reviewer, learner, enrol):
    enrolment = enrol(learner, team_course)
    v1 = team_course.published_version
    services.update_lesson(lesson_of(team_course), body_markdown="Teks baru.")
    authoring.transition(team_course.draft, "submit", actor=coauthor)
    authoring.transition(team_course.draft, "approve", actor=reviewer)
    services.publish(team_course.draft, actor=trainer)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Enrolment, enrolment.id).version_id == v1.id
    assert team_course.published_version.number == 2
    assert "Teks baru." not in v1.lessons()[0].body_markdown
