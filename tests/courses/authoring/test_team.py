"""Course teams: owners invite co-authors and reviewers by e-mail; the link is single-use and expires; a person
without an account creates it on acceptance; only owners manage the team."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from courses.authoring import services as authoring
from courses.authoring.models import CourseInvitation, CourseMember
from lms.extensions import db
from lms.models import AuditEvent, User
from lms.services import ValidationFailed
from tests.browser_support import say
from tests.courses.helpers import mails


def invitation_link(before: set) -> str:
    """The invitation link of the one e-mail written since ``before``."""
    new = mails() - before
    assert len(new) == 1, new
    body = new.pop().read_text()
    match = re.search(r"http://\S+/undangan/(\S+)", body)
    assert match, body
    return "/undangan/" + match.group(1)


def test_an_owner_invites_a_new_university_coauthor_who_creates_the_account(app, client, make_course, trainer,
                                                                          undip, browser_for):
    course = make_course(code="PM-01", publish=False)
    owner = browser_for(trainer)
    before = mails()
    response = owner.post(f"/kelola/kursus/{course.id}/penyusun/undang", data={
        "email": "Sari.Dosen@UNDIP.example", "role": "coauthor", "institution_id": str(undip.id)})
    assert response.status_code == 302
    link = invitation_link(before)
    assert db.session.scalar(select(User).where(User.email == "sari.dosen@undip.example")) is None
    invitation = db.session.scalar(select(CourseInvitation))
    assert invitation.token_hash not in link, "only the hash of the secret is stored"

    page = client.get(link).get_data(as_text=True)
    assert say(app, "Create my account and join") in page
    response = client.post(link, data={"full_name": "Sari Dosen", "password": "kurikulum bersama 1",
                                       "confirm": "kurikulum bersama 1"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/kelola/kursus/{course.id}/draf")
    user = db.session.scalar(select(User).where(User.email == "sari.dosen@undip.example"))
    assert user.roles == {"coauthor"}
    assert user.institution_id == undip.id
    member = db.session.scalar(select(CourseMember))
    assert (member.user_id, member.role, member.institution_id) == (user.id, "coauthor", undip.id)
    db.session.refresh(course)
    assert undip in course.institutions, "the co-author's institution is credited on the course"
    # Signed in as the new account, which edits the draft.
    assert client.get(f"/kelola/kursus/{course.id}/draf").status_code == 200
    # Single use: the link is dead now, for everyone.
    assert app.test_client().get(link).status_code == 404
    assert app.test_client().post(link, data={"full_name": "X", "password": "kurikulum bersama 1",
                                              "confirm": "kurikulum bersama 1"}).status_code == 404
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"course.invite", "course.invite_accept", "course.member_add"} <= actions


def test_an_existing_account_accepts_only_when_signed_in_as_the_invited_address(app, make_course, trainer, coauthor,
                                                                                browser_for, make_user):
    course = make_course(code="PM-01", publish=False)
    _invitation, token = authoring.invite(course, email=coauthor.email, role="coauthor", actor=trainer)
    db.session.commit()
    link = f"/undangan/{token}"
    anonymous = app.test_client()
    assert anonymous.post(link).status_code == 302  # to sign in
    assert db.session.scalar(select(CourseMember)) is None
    stranger = browser_for(make_user(roles=("coauthor",), locale="en"))
    assert "but the invitation is for" in stranger.get(link).get_data(as_text=True)
    stranger.post(link)
    assert db.session.scalar(select(CourseMember)) is None
    invited = browser_for(coauthor)
    assert invited.post(link).status_code == 302
    assert db.session.scalar(select(CourseMember.user_id)) == coauthor.id


def test_an_expired_or_withdrawn_invitation_does_nothing(app, make_course, trainer):
    course = make_course(code="PM-01", publish=False)
    invitation, token = authoring.invite(course, email="baru@undip.example", role="coauthor", actor=trainer)
    invitation.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    other, other_token = authoring.invite(course, email="lain@undip.example", role="coauthor", actor=trainer)
    authoring.revoke_invitation(other, actor=trainer)
    db.session.commit()
    client = app.test_client()
    for secret in (token, other_token, "not-a-token"):
        page = client.post(f"/undangan/{secret}", data={"full_name": "Baru", "password": "kurikulum bersama 1",
                                                        "confirm": "kurikulum bersama 1"})
        assert page.status_code == 404
    assert db.session.scalar(select(User).where(User.email.in_(["baru@undip.example", "lain@undip.example"]))) is None


def test_a_new_invitation_replaces_the_open_one_for_the_same_address(make_course, trainer):
    course = make_course(code="PM-01", publish=False)
    _first, first_token = authoring.invite(course, email="baru@undip.example", role="coauthor", actor=trainer)
    authoring.invite(course, email="baru@undip.example", role="coauthor", actor=trainer)
    db.session.commit()
    assert authoring.find_invitation(first_token) is None


@pytest.mark.parametrize(("roles", "role", "reason"), [
    (None, "reviewer", "Reviewers are agency staff with an account"),
    (("learner",), "coauthor", "Co-authors are trainers or co-authors"),
    (("coauthor",), "reviewer", "Reviewers are agency staff"),
])
def test_who_cannot_be_invited_to_which_role(make_course, trainer, make_user, roles, role, reason):
    course = make_course(code="PM-01", publish=False)
    email = make_user(roles=roles).email if roles else "nobody@example.go.id"
    with pytest.raises(ValidationFailed) as refused:
        authoring.invite(course, email=email, role=role, actor=trainer)
    assert reason in str(refused.value.errors["email"])


def test_the_owner_cannot_join_their_own_team_twice(make_course, trainer, coauthor):
    course = make_course(code="PM-01", publish=False)
    with pytest.raises(ValidationFailed):
        authoring.invite(course, email=trainer.email, role="coauthor", actor=trainer)
    authoring.add_member(course, coauthor, role="coauthor", actor=trainer)
    with pytest.raises(ValidationFailed):
        authoring.add_member(course, coauthor, role="reviewer", actor=trainer)


def test_only_owners_open_and_change_the_team_page(team_course, coauthor, reviewer, browser_for, make_user):
    url = f"/kelola/kursus/{team_course.id}/penyusun"
    for user in (coauthor, reviewer, make_user(roles=("trainer",))):
        client = browser_for(user)
        assert client.get(url).status_code == 403
        assert client.post(url + "/undang", data={"email": "x@undip.example", "role": "coauthor"}).status_code == 403
        assert client.post(url + "/hapus", data={"user_id": str(reviewer.id)}).status_code == 403
    assert db.session.scalar(select(CourseInvitation)) is None
    assert len(authoring.members(team_course)) == 2


def test_the_owner_removes_a_member(team_course, trainer, reviewer, browser_for):
    owner = browser_for(trainer)
    page = owner.get(f"/kelola/kursus/{team_course.id}/penyusun").get_data(as_text=True)
    assert "Hendra Wijaya" in page
    assert "Ratna Penelaah" in page
    assert "Universitas Diponegoro" in page
    assert owner.post(f"/kelola/kursus/{team_course.id}/penyusun/hapus",
                      data={"user_id": str(reviewer.id)}).status_code == 302
    assert [m.user_id for m in authoring.members(team_course)] != []
    assert reviewer.id not in [
        m.user_id for m in authoring.members(team_course)]
    assert browser_for(reviewer).get(f"/kelola/kursus/{team_course.id}/telaah").status_code == 403
