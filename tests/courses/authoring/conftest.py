"""Co-authoring fixtures. The course factories (trainer, learner, make_course, enrol) come from
tests/courses/conftest.py, which pytest applies to this folder too."""

from __future__ import annotations

import pytest

from courses.authoring import services as authoring
from lms import services as people
from lms.extensions import db
from tests.courses.helpers import PASSWORD


@pytest.fixture
def undip():
    institution = people.save_institution(None, code="UNDIP", name="Universitas Diponegoro", kind="universitas",
                                          actor=None)
    db.session.commit()
    return institution


@pytest.fixture
def coauthor(make_user, undip):
    """Dr. Hendra Wijaya of Universitas Diponegoro, a university co-author (no NIP, no unit)."""
    return make_user(roles=("coauthor",), email="hendra.wijaya@undip.example", full_name="Hendra Wijaya",
                     title_front="Dr.", title_back="S.Kom., M.T.", institution_id=undip.id, locale="en")


@pytest.fixture
def reviewer(make_user):
    return make_user(roles=("trainer",), email="penelaah@example.go.id", full_name="Ratna Penelaah", locale="en")


@pytest.fixture
def team_course(make_course, trainer, coauthor, reviewer, undip):
    """PM-01 published (v1) with a draft open; Hendra co-authors it for UNDIP, Ratna reviews it."""
    course = make_course(code="PM-01", title="Manajemen Proyek", lessons=(
        {"title": "Pengantar", "body_markdown": "Proyek adalah kegiatan sementara.\nProyek memiliki tujuan."},
        "Perencanaan"))
    authoring.add_member(course, coauthor, role="coauthor", institution=undip, actor=trainer)
    authoring.add_member(course, reviewer, role="reviewer", actor=trainer)
    from courses import services

    services.ensure_draft(course, actor=trainer)
    db.session.commit()
    return course


@pytest.fixture
def browser_for(app):
    """``browser_for(user)`` → a test client signed in as ``user``."""

    def make(user):
        client = app.test_client()
        response = client.post("/akun/masuk", data={"login": user.email, "password": PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return client

    return make
