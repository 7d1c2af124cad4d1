"""Credit: co-authoring institutions and authors on the course page and on the certificate snapshot."""

from __future__ import annotations

from sqlalchemy import select

from certificates.models import Certificate, Issuer
from courses import services
from courses.authoring import services as authoring
from lms.extensions import db


def publish_v2(course, trainer, coauthor, reviewer):
    authoring.transition(course.draft, "submit", actor=coauthor)
    authoring.transition(course.draft, "approve", actor=reviewer)
    services.publish(course.draft, actor=trainer)
    db.session.commit()


def test_the_course_page_names_authors_and_institutions(team_course, learner, browser_for):
    page = browser_for(learner).get("/kursus/PM-01").get_data(as_text=True)
    assert "Widyaiswara Utama" in page
    assert "Dr. Hendra Wijaya, S.Kom., M.T." in page
    assert "Universitas Diponegoro" in page
    assert "Ratna Penelaah" not in page, "reviewers are not authors"


def test_the_certificate_snapshot_credits_the_authors(team_course, trainer, coauthor, reviewer, learner, enrol):
    db.session.add(Issuer(code="BPSDM", name="BPSDM Provinsi", city="Semarang", is_default=True))
    publish_v2(team_course, trainer, coauthor, reviewer)
    enrolment = enrol(learner, team_course)
    services.record_completion(learner, team_course, actor=trainer, reason="Kelas tatap muka")
    db.session.commit()
    certificate = db.session.scalar(select(Certificate).where(Certificate.enrolment_id == enrolment.id))
    assert certificate.snapshot["institutions"] == ["Universitas Diponegoro"]
    assert certificate.snapshot["authors"] == ["Widyaiswara Utama",
                                               "Dr. Hendra Wijaya, S.Kom., M.T. (Universitas Diponegoro)"]
