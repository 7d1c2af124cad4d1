"""Operations of co-authoring: teams and invitations, the review workflow, comments, lesson revisions with
optimistic concurrency, and the curriculum document. They flush and never commit; e-mails they write leave
only once the caller's transaction commits (and are dropped when it rolls back)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app, g
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from courses import services as course_services
from courses.authoring.models import (
    TEAM_ROLES,
    TOPIC_PARTS,
    CourseInvitation,
    CourseMember,
    Curriculum,
    CurriculumTopic,
    LessonRevision,
    ReviewComment,
    TeamNotification,
)
from courses.authoring.permissions import (
    EDITOR_ROLES,
    REVIEWER_ROLES,
    can_edit_draft,
    can_review,
    team_role,
)
from courses.models import Course, CourseVersion, Lesson
from lms import services as people
from lms.extensions import db
from lms.models import Institution, User, aware_utcnow
from lms.security import digest, new_token
from lms.services import ServiceError, ValidationFailed, audit

INVITATION_DAYS = 14
MAX_COMMENT_CHARS = 5000
MAX_QUOTE_CHARS = 1000


class Conflict(ServiceError):
    """Somebody saved the lesson after the form was opened; ``current`` is their revision."""

    def __init__(self, current: LessonRevision | None):
        super().__init__(_l("Somebody else saved this lesson while you were editing it. Your text is kept "
                            "below; compare it with theirs, merge, and save again."))
        self.current = current


ROLE_LABELS = {"owner": _l("Owner"), "coauthor": _l("Co-author"), "reviewer": _l("Reviewer")}
REVIEW_STATE_LABELS = {"draft": _l("Being written"), "submitted": _l("Submitted for review"),
                       "changes_requested": _l("Changes requested"), "approved": _l("Approved")}
# What the people concerned are told, in the app and as the e-mail's subject.
EVENT_TEXT = {
    "invited": _l("%(code)s: you are invited to the course team"),
    "joined": _l("%(code)s: %(actor)s joined the course team"),
    "submit": _l("%(code)s: %(actor)s submitted the draft for review"),
    "request_changes": _l("%(code)s: %(actor)s asked for changes to the draft"),
    "approve": _l("%(code)s: %(actor)s approved the draft"),
    "reopen": _l("%(code)s: %(actor)s reopened the draft for editing"),
    "publish": _l("%(code)s: %(actor)s published the draft"),
}


# ---------------------------------------------------------------- e-mail after commit

_MAIL_QUEUE = "bangkom.authoring_mail"


def _queue_mail(to: str, *, locale: str, subject: str, params: dict, template: str, **context) -> None:
    """Keep an e-mail (plain values only) until the session commits; see :func:`_send_queued_mail`."""
    db.session.info.setdefault(_MAIL_QUEUE, []).append(
        {"to": to, "locale": locale or "id", "subject": subject, "params": params, "template": template,
         "context": context})


@event.listens_for(Session, "after_commit")
def _send_queued_mail(session) -> None:
    queued = session.info.pop(_MAIL_QUEUE, None)
    if not queued:
        return
    from lms.mail import send_mail

    # flask-babel's force_locale does nothing while ``g`` is empty (outside a request, in the CLI).
    g.setdefault("authoring_mail", True)
    for item in queued:
        with force_locale(item["locale"]):
            subject = str(EVENT_TEXT[item["subject"]]) % item["params"]
            # The environment's own template, without the page context processors: they query the
            # database, which a session that has just committed must not do here.
            template = current_app.jinja_env.get_template(item["template"])
            body = template.render(subject=subject, **item["context"])
        send_mail(item["to"], subject, body)


@event.listens_for(Session, "after_soft_rollback")
def _drop_queued_mail(session, previous_transaction) -> None:
    if not previous_transaction.nested:
        session.info.pop(_MAIL_QUEUE, None)


def _link(endpoint: str, **values) -> str:
    """An absolute link for an e-mail, with or without a request (``url_for`` needs one)."""
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return current_app.config["BASE_URL"] + path


# ---------------------------------------------------------------- teams


def owners(course: Course) -> list[User]:
    return [u for u in course.owners if u.is_active]


def members(course: Course, role: str | None = None) -> list[CourseMember]:
    stmt = (select(CourseMember).join(User, User.id == CourseMember.user_id)
            .where(CourseMember.course_id == course.id).order_by(CourseMember.role, User.full_name))
    if role is not None:
        stmt = stmt.where(CourseMember.role == role)
    return list(db.session.scalars(stmt))


def team(course: Course) -> dict[str, list[User]]:
    """Active people of the team by role: owner, coauthor, reviewer."""
    people_by_role: dict[str, list[User]] = {"owner": owners(course), "coauthor": [], "reviewer": []}
    for member in members(course):
        if member.user.is_active:
            people_by_role[member.role].append(member.user)
    return people_by_role


def _check_member(course: Course, user: User, role: str) -> None:
    if role not in TEAM_ROLES:
        raise ValidationFailed({"role": _l("Choose co-author or reviewer.")})
    if not user.is_active:
        raise ValidationFailed({"email": _l("This account is deactivated.")})
    if any(o.id == user.id for o in course.owners):
        raise ValidationFailed({"email": _l("%(email)s already owns this course.", email=user.email)})
    existing = db.session.scalar(select(CourseMember).where(CourseMember.course_id == course.id,
                                                            CourseMember.user_id == user.id))
    if existing is not None:
        raise ValidationFailed({"email": _l("%(email)s is already on the team.", email=user.email)})
    if role == "coauthor" and not user.has_role(*EDITOR_ROLES):
        raise ValidationFailed({"email": _l("Co-authors are trainers or co-authors; %(email)s is neither. "
                                            "An administrator can give the account the co-author role.",
                                            email=user.email)})
    if role == "reviewer" and not user.has_role(*REVIEWER_ROLES):
        raise ValidationFailed({"email": _l("Reviewers are agency staff (trainers, HR or administrators); "
                                            "%(email)s is not.", email=user.email)})


def _institution(institution_id: int | None) -> Institution | None:
    if institution_id is None:
        return None
    institution = db.session.get(Institution, institution_id)
    if institution is None or not institution.is_active:
        raise ValidationFailed({"institution_id": _l("This choice does not exist.")})
    return institution


def add_member(course: Course, user: User, *, role: str, institution: Institution | None = None,
               actor: User | None) -> CourseMember:
    """Put a person on the team; a co-author's institution is credited on the course."""
    _check_member(course, user, role)
    member = CourseMember(course_id=course.id, user_id=user.id, role=role,
                          institution_id=institution.id if institution else None,
                          added_by_id=actor.id if actor else None)
    db.session.add(member)
    if role == "coauthor" and institution is not None and institution not in course.institutions:
        course.institutions.append(institution)
    db.session.flush()
    audit("course.member_add", course, actor=actor, summary=f"{course.code}: {user.email} ({role})",
          role=role, institution=institution.code if institution else None)
    return member


def remove_member(course: Course, user: User, *, actor: User) -> None:
    member = db.session.scalar(select(CourseMember).where(CourseMember.course_id == course.id,
                                                          CourseMember.user_id == user.id))
    if member is None:
        raise ServiceError(_l("This person is not on the team."))
    db.session.delete(member)
    db.session.flush()
    audit("course.member_remove", course, actor=actor, summary=f"{course.code}: {user.email} ({member.role})")


def invite(course: Course, *, email: str, role: str, institution_id: int | None = None,
           actor: User) -> tuple[CourseInvitation, str]:
    """A single-use invitation link for ``email``, valid for INVITATION_DAYS days, sent by e-mail on commit.

    Someone without an account yet is invited as a co-author and creates the account on acceptance;
    reviewers are agency staff and need an account already."""
    email = people.check_email(email)
    if role not in TEAM_ROLES:
        raise ValidationFailed({"role": _l("Choose co-author or reviewer.")})
    institution = _institution(institution_id)
    user = db.session.scalar(select(User).where(User.email == email))
    if user is not None:
        _check_member(course, user, role)
    elif role == "reviewer":
        raise ValidationFailed({"email": _l("Reviewers are agency staff with an account; no account uses "
                                            "%(email)s.", email=email)})
    now = aware_utcnow()
    # A new invitation replaces one still open for the same address.
    for old in db.session.scalars(select(CourseInvitation).where(
            CourseInvitation.course_id == course.id, CourseInvitation.email == email,
            CourseInvitation.accepted_at.is_(None), CourseInvitation.revoked_at.is_(None))):
        old.revoked_at = now
    token = new_token()
    invitation = CourseInvitation(course_id=course.id, email=email, role=role,
                                  institution_id=institution.id if institution else None, token_hash=digest(token),
                                  invited_by_id=actor.id, expires_at=now + dt.timedelta(days=INVITATION_DAYS))
    db.session.add(invitation)
    db.session.flush()
    audit("course.invite", course, actor=actor, summary=f"{course.code}: {email} ({role})", role=role,
          institution=institution.code if institution else None, new_account=user is None)
    _queue_mail(email, locale=user.locale if user else "id", subject="invited", params={
        "code": course.code, "actor": actor.display_name}, template="mail/authoring_invitation.txt",
        name=user.display_name if user else None, inviter=actor.display_name, course_code=course.code,
        course_title=course.title, role=role,
        institution=institution.name if institution else None, link=_link("authoring.accept", token=token),
        days=INVITATION_DAYS, new_account=user is None)
    return invitation, token


def find_invitation(token: str) -> CourseInvitation | None:
    """The invitation for this secret while it is unused, not withdrawn and unexpired."""
    invitation = db.session.scalar(select(CourseInvitation).where(CourseInvitation.token_hash == digest(token or "")))
    if invitation is None or not invitation.is_open:
        return None
    return invitation


def revoke_invitation(invitation: CourseInvitation, *, actor: User) -> None:
    if invitation.accepted_at is None and invitation.revoked_at is None:
        invitation.revoked_at = aware_utcnow()
        db.session.flush()
        audit("course.invite_revoke", invitation.course, actor=actor,
              summary=f"{invitation.course.code}: {invitation.email}")


def accept_invitation(token: str, *, user: User | None = None, full_name: str | None = None,
                      password: str | None = None) -> CourseMember:
    """Join the team: as the signed-in ``user`` whose address was invited, or, when no account uses the
    address, with a new co-author account made from ``full_name`` and ``password``."""
    invitation = find_invitation(token)
    if invitation is None:
        raise ServiceError(_l("This invitation is invalid, already used, withdrawn or expired. Ask the course "
                              "owner for a new one."))
    if user is None:
        if db.session.scalar(select(User.id).where(User.email == invitation.email)) is not None:
            raise ServiceError(_l("An account already uses this address: sign in to accept."))
        if not password:
            raise ValidationFailed({"password": _l("Choose a password.")})
        user = people.create_user(roles=("coauthor",), password=password, email=invitation.email,
                                  full_name=full_name, institution_id=invitation.institution_id, actor=None)
    elif user.email != invitation.email:
        raise ServiceError(_l("This invitation was sent to %(email)s; sign in with that account to accept it.",
                              email=invitation.email))
    # The conditional update is the single-use guard: of two acceptances at once, one wins.
    result = db.session.execute(
        update(CourseInvitation).where(CourseInvitation.id == invitation.id, CourseInvitation.accepted_at.is_(None),
                                       CourseInvitation.revoked_at.is_(None))
        .values(accepted_at=aware_utcnow(), accepted_by_id=user.id).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise ServiceError(_l("This invitation has just been used."))
    course = invitation.course
    member = add_member(course, user, role=invitation.role, institution=invitation.institution, actor=user)
    audit("course.invite_accept", course, actor=user, summary=f"{course.code}: {user.email} ({invitation.role})")
    notify(owners(course), event="joined", course=course, actor=user)
    return member


def team_courses(user: User) -> list[tuple[Course, str]]:
    """Courses the person co-authors or reviews, with their role."""
    rows = db.session.execute(select(Course, CourseMember.role).join(CourseMember, CourseMember.course_id == Course.id)
                              .where(CourseMember.user_id == user.id).order_by(Course.code)).tuples().all()
    return list(rows)


# ---------------------------------------------------------------- notifications


def notify(users, *, event: str, course: Course, actor: User | None, comment: str = "") -> list[TeamNotification]:
    """Tell each person (not the actor) in the app, and by e-mail once the transaction commits."""
    rows = []
    seen = set()
    actor_name = actor.display_name if actor else "Bangkom"
    for user in users:
        if user is None or user.id in seen or (actor is not None and user.id == actor.id) or not user.is_active:
            continue
        seen.add(user.id)
        row = TeamNotification(user_id=user.id, course_id=course.id, event=event, actor_name=actor_name,
                               comment=comment or "")
        db.session.add(row)
        rows.append(row)
        _queue_mail(user.email, locale=user.locale, subject=event, params={"code": course.code, "actor": actor_name},
                    template="mail/authoring_event.txt", name=user.display_name, comment=comment or "",
                    course_code=course.code, course_title=course.title,
                    link=_link("authoring.review", course_id=course.id))
    db.session.flush()
    return rows


def notification_text(row: TeamNotification) -> str:
    return str(EVENT_TEXT[row.event]) % {"code": row.course.code, "actor": row.actor_name}


def unread_count(user: User) -> int:
    return db.session.scalar(select(func.count(TeamNotification.id)).where(
        TeamNotification.user_id == user.id, TeamNotification.read_at.is_(None))) or 0


def mark_read(user: User) -> None:
    db.session.execute(update(TeamNotification).where(TeamNotification.user_id == user.id,
                                                      TeamNotification.read_at.is_(None))
                       .values(read_at=aware_utcnow()).execution_options(synchronize_session=False))


# ---------------------------------------------------------------- review workflow

# action → (states it starts from, state it leads to, who may take it)
TRANSITIONS = {
    "submit": (("draft", "changes_requested"), "submitted", "editor"),
    "request_changes": (("submitted",), "changes_requested", "reviewer"),
    "approve": (("submitted",), "approved", "reviewer"),
    "reopen": (("submitted", "approved"), "draft", "owner"),
}


def may_transition(user, version: CourseVersion, action: str) -> bool:
    _from, _to, who = TRANSITIONS[action]
    course = version.course
    if who == "editor":
        return can_edit_draft(user, course)
    if who == "reviewer":
        return can_review(user, course)
    return course_services.can_manage_course(user, course)


def transition(version: CourseVersion, action: str, *, actor: User, comment: str = "") -> CourseVersion:
    """Move the draft through the review; audited, and the people concerned are told."""
    if action not in TRANSITIONS:
        raise ServiceError(_l("Unknown step."))
    allowed_from, target, _who = TRANSITIONS[action]
    if not version.is_draft:
        raise course_services.NotEditable(_l("Version %(label)s is published and cannot change; edit the draft.",
                                             label=version.label))
    if not may_transition(actor, version, action):
        raise ServiceError(_l("You may not take this step on this course."))
    course = version.course
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT_CHARS:
        raise ValidationFailed({"comment": _l("A comment has at most %(n)s characters.", n=MAX_COMMENT_CHARS)})
    if action == "request_changes" and not comment:
        raise ValidationFailed({"comment": _l("Say what should change.")})
    people_by_role = team(course)
    if action == "submit" and not people_by_role["reviewer"]:
        raise ServiceError(_l("The team has no reviewer yet: an owner invites one on the team page."))
    before = version.review_state
    # A conditional update: of two people acting at once on the same state, one wins.
    result = db.session.execute(
        update(CourseVersion).where(CourseVersion.id == version.id, CourseVersion.state == "draft",
                                    CourseVersion.review_state.in_(allowed_from))
        .values(review_state=target).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.refresh(version)
        raise ServiceError(_l("The draft is now “%(state)s”; this step is not possible any more.",
                              state=REVIEW_STATE_LABELS[version.review_state]))
    db.session.refresh(version)
    if comment:
        db.session.add(ReviewComment(version_id=version.id, body=comment, author_id=actor.id,
                                     is_decision=action == "request_changes"))
    audit(f"course.review_{action}", version, actor=actor, summary=f"{course.code}: {before} → {target}",
          course_id=course.id, comment=comment or None)
    everyone = people_by_role["owner"] + people_by_role["coauthor"] + people_by_role["reviewer"]
    concerned = {"submit": everyone, "request_changes": people_by_role["owner"] + people_by_role["coauthor"],
                 "approve": people_by_role["owner"] + people_by_role["coauthor"], "reopen": everyone}[action]
    notify(concerned, event=action, course=course, actor=actor, comment=comment)
    return version


def review_checklist(version: CourseVersion) -> list[tuple[str, Any]]:
    """Publishing waits for the review: a course with reviewers publishes only an approved draft."""
    if version.review_state != "approved" and team(version.course)["reviewer"]:
        return [("error", _l("A reviewer must approve the draft before it is published."))]
    return []


def published(version: CourseVersion, *, actor: User) -> None:
    """Tell the team that their draft is now the published version."""
    people_by_role = team(version.course)
    notify(people_by_role["owner"] + people_by_role["coauthor"] + people_by_role["reviewer"], event="publish",
           course=version.course, actor=actor)


def review_history(version: CourseVersion):
    """The audited review steps of a version, oldest first."""
    from lms.models import AuditEvent

    return db.session.scalars(select(AuditEvent).where(
        AuditEvent.object_type == "course_versions", AuditEvent.object_id == str(version.id),
        AuditEvent.action.like("course.review_%")).order_by(AuditEvent.at, AuditEvent.id)).all()


# ---------------------------------------------------------------- comments


def _normalise(text: str) -> str:
    return " ".join((text or "").split())


def add_comment(version: CourseVersion, *, actor: User, body: str, lesson: Lesson | None = None,
                quote: str = "") -> ReviewComment:
    """A remark on the version or on one of its lessons, optionally on a passage quoted from its text."""
    errors: dict[str, Any] = {}
    body = (body or "").strip()
    quote = _normalise(quote)
    if not body:
        errors["body"] = _l("Write the comment.")
    elif len(body) > MAX_COMMENT_CHARS:
        errors["body"] = _l("A comment has at most %(n)s characters.", n=MAX_COMMENT_CHARS)
    if lesson is not None and lesson.module.version_id != version.id:
        errors["lesson_id"] = _l("This lesson is not part of the version.")
    if quote:
        if lesson is None:
            errors["quote"] = _l("Choose the lesson the passage is quoted from.")
        elif len(quote) > MAX_QUOTE_CHARS:
            errors["quote"] = _l("Quote at most %(n)s characters.", n=MAX_QUOTE_CHARS)
        elif quote not in _normalise(lesson.body_markdown):
            errors["quote"] = _l("The quoted passage is not in the lesson’s text; copy it exactly.")
    if errors:
        raise ValidationFailed(errors)
    comment = ReviewComment(version_id=version.id, lesson_key=lesson.key if lesson else None,
                            lesson_id=lesson.id if lesson else None, quote=quote, body=body, author_id=actor.id)
    db.session.add(comment)
    db.session.flush()
    audit("course.review_comment", version, actor=actor, summary=f"{version.course.code}: {body[:80]}",
          object_type="course_versions", lesson=lesson.title if lesson else None)
    return comment


def resolve_comment(comment: ReviewComment, *, actor: User, resolved: bool = True) -> ReviewComment:
    comment.resolved_at = aware_utcnow() if resolved else None
    comment.resolved_by_id = actor.id if resolved else None
    db.session.flush()
    return comment


def comments(version: CourseVersion) -> list[ReviewComment]:
    return list(db.session.scalars(select(ReviewComment).where(ReviewComment.version_id == version.id)
                                   .order_by(ReviewComment.created_at, ReviewComment.id)))


# ---------------------------------------------------------------- revisions

# What a revision keeps besides title and text, and what restoring one puts back.
REVISION_FIELDS = ("url", "minutes", "is_required", "completion_rule", "completion_value", "file_name")
RESTORED_FIELDS = ("title", "body_markdown", "url", "minutes", "is_required", "completion_rule", "completion_value")


def _content(lesson: Lesson) -> dict:
    return {"title": lesson.title, "body_markdown": lesson.body_markdown or "",
            "fields": {k: getattr(lesson, k) for k in REVISION_FIELDS}}


def _revision_content(revision: LessonRevision) -> dict:
    return {"title": revision.title, "body_markdown": revision.body_markdown or "",
            "fields": {k: (revision.fields or {}).get(k) for k in REVISION_FIELDS}}


def latest_revision(lesson_key: str) -> LessonRevision | None:
    return db.session.scalar(select(LessonRevision).where(LessonRevision.lesson_key == lesson_key)
                             .order_by(LessonRevision.number.desc()).limit(1))


def revision_number(lesson: Lesson) -> int:
    """The revision an edit form is based on (0 for a lesson never saved through the editor)."""
    return db.session.scalar(select(func.max(LessonRevision.number)).where(
        LessonRevision.lesson_key == lesson.key)) or 0


def revisions(lesson_key: str) -> list[LessonRevision]:
    return list(db.session.scalars(select(LessonRevision).where(LessonRevision.lesson_key == lesson_key)
                                   .order_by(LessonRevision.number.desc())))


def get_revision(lesson_key: str, number: int) -> LessonRevision | None:
    return db.session.scalar(select(LessonRevision).where(LessonRevision.lesson_key == lesson_key,
                                                          LessonRevision.number == number))


def record_revision(lesson: Lesson, *, actor: User | None, action: str, number: int | None = None,
                    restored_from: int | None = None) -> LessonRevision:
    """Store what the lesson looks like now as the next revision of its key."""
    if number is None:
        number = revision_number(lesson) + 1
    content = _content(lesson)
    revision = LessonRevision(lesson_key=lesson.key, number=number, version_id=lesson.module.version_id,
                              lesson_id=lesson.id, action=action, restored_from=restored_from,
                              author_id=actor.id if actor else None, title=content["title"],
                              body_markdown=content["body_markdown"], fields=content["fields"])
    # Two saves based on the same revision: the unique (key, number) lets only one of them in.
    try:
        with db.session.begin_nested():
            db.session.add(revision)
    except IntegrityError:
        raise Conflict(latest_revision(lesson.key)) from None
    return revision


def _lock_for_edit(lesson: Lesson) -> None:
    """Serialise saves of one lesson, and re-read the draft's review state under the same lock."""
    version = lesson.module.version
    db.session.execute(select(CourseVersion.id).where(CourseVersion.id == version.id).with_for_update())
    db.session.execute(select(Lesson.id).where(Lesson.id == lesson.id).with_for_update())
    db.session.refresh(version, ["state", "review_state"])


def created(lesson: Lesson, *, actor: User) -> LessonRevision:
    """A lesson added through the editor starts its history."""
    return record_revision(lesson, actor=actor, action="create")


def save_lesson(lesson: Lesson, *, actor: User, base_revision: int | None, action: str = "edit",
                restored_from: int | None = None, **fields) -> Lesson:
    """Save an edit made on a form that was based on revision ``base_revision``.

    Refused with :class:`Conflict` when another save came in since; ``None`` skips the check (a restore
    names its own source). A save that changes nothing stores no revision."""
    _lock_for_edit(lesson)
    course_services._editable(lesson.module.version)
    latest = latest_revision(lesson.key)
    latest_number = latest.number if latest else 0
    if base_revision is not None and base_revision != latest_number:
        raise Conflict(latest)
    before = _content(lesson)
    if latest is None:
        # The lesson was never saved through the editor: keep what it was, so the first change has a diff.
        record_revision(lesson, actor=None, action="original", number=1)
        latest_number = 1
    course_services.update_lesson(lesson, **fields)
    if _content(lesson) != before or action == "restore":
        record_revision(lesson, actor=actor, action=action, number=latest_number + 1, restored_from=restored_from)
    return lesson


def restore_revision(lesson: Lesson, revision: LessonRevision, *, actor: User) -> Lesson:
    """Put an old revision's title, text and settings back into the draft's lesson, as a new revision."""
    if revision.lesson_key != lesson.key:
        raise ServiceError(_l("This revision belongs to another lesson."))
    content = _revision_content(revision)
    fields = {"title": content["title"], "body_markdown": content["body_markdown"]}
    fields |= {k: content["fields"][k] for k in RESTORED_FIELDS if k in content["fields"]
               and content["fields"][k] is not None}
    save_lesson(lesson, actor=actor, base_revision=None, action="restore", restored_from=revision.number, **fields)
    audit("course.lesson_restore", lesson.module.version, actor=actor,
          summary=f"{lesson.module.version.course.code}: {lesson.title} ← r{revision.number}")
    return lesson


def revision_diff(old: dict, new: dict) -> dict:
    """What differs between two contents (of revisions or lessons): title, text rows and other fields."""
    from courses.authoring import diff

    fields = [(name, old["fields"].get(name), new["fields"].get(name)) for name in REVISION_FIELDS
              if old["fields"].get(name) != new["fields"].get(name)]
    return {"title": diff.inline(old["title"], new["title"]) if old["title"] != new["title"] else None,
            "rows": diff.side_by_side(old["body_markdown"], new["body_markdown"]),
            "same_text": old["body_markdown"] == new["body_markdown"], "fields": fields}


def content_of(item: Lesson | LessonRevision) -> dict:
    return _content(item) if isinstance(item, Lesson) else _revision_content(item)


def version_diff(old: CourseVersion, new: CourseVersion) -> list[dict]:
    """Lesson by lesson (matched by key), what changed from ``old`` to ``new``: added, removed, changed,
    moved or unchanged, with the differences of the changed ones."""
    def placed(version):
        return {lesson.key: (module, lesson) for module in version.modules for lesson in module.lessons}

    before, after = placed(old), placed(new)
    entries = []
    for key, (module, lesson) in after.items():
        if key not in before:
            entries.append({"status": "added", "lesson": lesson, "module": module.title,
                            "diff": revision_diff({"title": "", "body_markdown": "", "fields": {}}, _content(lesson))})
            continue
        old_module, old_lesson = before[key]
        if old_lesson.content_digest != lesson.content_digest or _content(old_lesson) != _content(lesson):
            status = "changed"
        elif old_module.title != module.title or old_module.position != module.position \
                or old_lesson.position != lesson.position:
            status = "moved"
        else:
            status = "unchanged"
        entries.append({"status": status, "lesson": lesson, "module": module.title, "old_module": old_module.title,
                        "diff": revision_diff(_content(old_lesson), _content(lesson)) if status == "changed" else None})
    for key, (module, lesson) in before.items():
        if key not in after:
            entries.append({"status": "removed", "lesson": lesson, "module": module.title, "diff": None})
    return entries


# ---------------------------------------------------------------- the curriculum document

CURRICULUM_FIELDS = ("description", "competencies", "objectives", "participants", "evaluation", "certification")
TOPIC_FIELDS = ("part", "title", "hours_teori", "hours_penugasan", "hours_praktik", "objective", "sub_topics",
                "method", "media", "sources")
MAX_TEXT_CHARS = 20_000


def curriculum_of(version: CourseVersion) -> Curriculum | None:
    return db.session.scalar(select(Curriculum).where(Curriculum.version_id == version.id))


def _curriculum_for_edit(version: CourseVersion, actor: User) -> Curriculum:
    course_services._editable(version)
    curriculum = curriculum_of(version)
    if curriculum is None:
        curriculum = Curriculum(version_id=version.id, objectives=version.objectives or "",
                                competencies="\n".join(f"{c.code} {c.name} (level {c.level})"
                                                       for c in version.course.competencies))
        db.session.add(curriculum)
    curriculum.updated_by_id = actor.id
    return curriculum


def save_curriculum(version: CourseVersion, *, actor: User, **fields) -> Curriculum:
    """Change the general parts of the draft's curriculum document."""
    errors = {k: _l("At most %(n)s characters.", n=MAX_TEXT_CHARS) for k in CURRICULUM_FIELDS
              if len(fields.get(k) or "") > MAX_TEXT_CHARS}
    if errors:
        raise ValidationFailed(errors)
    curriculum = _curriculum_for_edit(version, actor)
    for key in CURRICULUM_FIELDS:
        if key in fields:
            setattr(curriculum, key, (fields[key] or "").strip())
    curriculum.updated_at = aware_utcnow()
    db.session.flush()
    audit("course.curriculum", version, actor=actor, summary=version.course.code)
    return curriculum


def _check_topic(data: dict) -> dict:
    errors: dict[str, Any] = {}
    if data.get("part") not in TOPIC_PARTS:
        errors["part"] = _l("Choose materi dasar, inti or penunjang.")
    if not (data.get("title") or "").strip():
        errors["title"] = _l("Name the topic.")
    elif len(data["title"].strip()) > 200:
        errors["title"] = _l("At most %(n)s characters.", n=200)
    for name in ("hours_teori", "hours_penugasan", "hours_praktik"):
        value = data.get(name) or 0
        if not isinstance(value, int) or not 0 <= value <= 1000:
            errors[name] = _l("Hours are whole JP from 0 to 1000.")
    for name in ("objective", "sub_topics", "method", "media", "sources"):
        if len(data.get(name) or "") > MAX_TEXT_CHARS:
            errors[name] = _l("At most %(n)s characters.", n=MAX_TEXT_CHARS)
    return errors


def save_topic(version: CourseVersion, *, actor: User, topic: CurriculumTopic | None = None,
               **fields) -> CurriculumTopic:
    """Add a topic of the programme structure (with its GBPP row) or change one."""
    data = ({k: getattr(topic, k) for k in TOPIC_FIELDS} if topic is not None else {}) | fields
    errors = _check_topic(data)
    if errors:
        raise ValidationFailed(errors)
    curriculum = _curriculum_for_edit(version, actor)
    if topic is None:
        topic = CurriculumTopic(position=len(curriculum.topics))
        curriculum.topics.append(topic)
    elif topic.curriculum_id != curriculum.id:
        raise ServiceError(_l("This topic is not part of the draft."))
    for key in TOPIC_FIELDS:
        value = data.get(key)
        setattr(topic, key, (value or 0) if key.startswith("hours_") else (value or "").strip())
    curriculum.updated_at = aware_utcnow()
    db.session.flush()
    audit("course.curriculum_topic", version, actor=actor, summary=f"{version.course.code}: {topic.title}")
    return topic


def delete_topic(version: CourseVersion, topic: CurriculumTopic, *, actor: User) -> None:
    curriculum = _curriculum_for_edit(version, actor)
    if topic.curriculum_id != curriculum.id:
        raise ServiceError(_l("This topic is not part of the draft."))
    curriculum.topics.remove(topic)
    for position, item in enumerate(curriculum.topics):
        item.position = position
    db.session.flush()
    audit("course.curriculum_topic_delete", version, actor=actor, summary=f"{version.course.code}: {topic.title}")


def move_topic(version: CourseVersion, topic: CurriculumTopic, delta: int, *, actor: User) -> None:
    curriculum = _curriculum_for_edit(version, actor)
    items = list(curriculum.topics)
    if topic not in items:
        raise ServiceError(_l("This topic is not part of the draft."))
    index = items.index(topic)
    items.insert(max(0, min(len(items) - 1, index + delta)), items.pop(index))
    for position, item in enumerate(items):
        item.position = position
    db.session.flush()


def copy_into_draft(source: CourseVersion | None, draft: CourseVersion) -> None:
    """A new draft starts from the published version's curriculum document."""
    original = curriculum_of(source) if source is not None else None
    if original is None or curriculum_of(draft) is not None:
        return
    copy = Curriculum(version_id=draft.id, **{k: getattr(original, k) for k in CURRICULUM_FIELDS})
    for topic in original.topics:
        copy.topics.append(CurriculumTopic(position=topic.position, **{k: getattr(topic, k) for k in TOPIC_FIELDS}))
    db.session.add(copy)
    db.session.flush()


def curriculum_document(version: CourseVersion) -> dict:
    """The curriculum as plain values, grouped as agencies print it, with the hour totals."""
    course = version.course
    curriculum = curriculum_of(version)
    topics = list(curriculum.topics) if curriculum else []
    parts = []
    for part in TOPIC_PARTS:
        rows = [{k: getattr(t, k) for k in TOPIC_FIELDS} | {"id": t.id, "hours": t.hours}
                for t in topics if t.part == part]
        parts.append({"part": part, "topics": rows,
                      "teori": sum(r["hours_teori"] for r in rows), "penugasan": sum(r["hours_penugasan"] for r in rows),
                      "praktik": sum(r["hours_praktik"] for r in rows), "hours": sum(r["hours"] for r in rows)})
    credits = course_credits(course)
    return {
        "course": {"code": course.code, "title": course.title, "jp": course.jp, "summary": course.summary or ""},
        "version": version.label, "review_state": version.review_state,
        "general": {k: (getattr(curriculum, k) if curriculum else "") for k in CURRICULUM_FIELDS},
        "parts": parts,
        "totals": {k: sum(p[k] for p in parts) for k in ("teori", "penugasan", "praktik", "hours")},
        "authors": credits["authors"], "institutions": credits["institutions"],
    }


# ---------------------------------------------------------------- credit


def course_credits(course: Course) -> dict:
    """Who wrote the course: owners and co-authors (with their institution), and the co-authoring
    institutions, for the course page, the curriculum document and the certificate snapshot."""
    authors = [{"name": u.display_name, "institution": u.institution.name if u.institution else None,
                "role": "owner"} for u in course.owners]
    seen = {u.id for u in course.owners}
    for member in members(course, "coauthor"):
        if member.user_id in seen:
            continue
        seen.add(member.user_id)
        institution = member.institution or member.user.institution
        authors.append({"name": member.user.display_name, "institution": institution.name if institution else None,
                        "role": "coauthor"})
    return {"authors": authors, "institutions": [i.name for i in course.institutions]}


def credited_authors(course: Course) -> list[str]:
    """Author lines as a certificate prints them: "Name (Institution)"."""
    return [f"{a['name']} ({a['institution']})" if a["institution"] else a["name"]
            for a in course_credits(course)["authors"]]


def role_of(user, course: Course) -> str | None:
    return team_role(user, course)
