"""Who may do what on a course team. Named predicates on objects, called in every view (STYLE.md rule 9)."""

from __future__ import annotations

from sqlalchemy import select

from courses.authoring.models import CourseMember
from courses.models import Course
from lms.extensions import db

# A co-author edits; the roles their account must have for it (a learner invited by mistake edits nothing).
EDITOR_ROLES = ("trainer", "coauthor", "admin")
# Reviewers are agency staff.
REVIEWER_ROLES = ("trainer", "hr", "admin")


def _signed_in(user) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and getattr(user, "is_active", False)


def membership(user, course: Course) -> CourseMember | None:
    if not _signed_in(user):
        return None
    return db.session.scalar(select(CourseMember).where(CourseMember.course_id == course.id,
                                                        CourseMember.user_id == user.id))


def team_role(user, course: Course) -> str | None:
    """"owner", "coauthor", "reviewer" or None; an admin counts as an owner."""
    if not _signed_in(user):
        return None
    if user.has_role("admin") or any(owner.id == user.id for owner in course.owners):
        return "owner"
    member = membership(user, course)
    if member is None:
        return None
    if member.role == "coauthor" and user.has_role(*EDITOR_ROLES):
        return "coauthor"
    if member.role == "reviewer" and user.has_role(*REVIEWER_ROLES):
        return "reviewer"
    return None


def can_edit_draft(user, course: Course) -> bool:
    """Owners and co-authors edit the draft's content (while the review allows it)."""
    return team_role(user, course) in ("owner", "coauthor")


def can_review(user, course: Course) -> bool:
    """Reviewers (and admins) decide on a submitted draft."""
    role = team_role(user, course)
    return role == "reviewer" or (role == "owner" and user.has_role("admin"))


def can_read_draft(user, course: Course) -> bool:
    """The whole team reads the draft, its comments and its history; learners' data is not part of it."""
    return team_role(user, course) is not None


def is_on_any_team(user) -> bool:
    if not _signed_in(user):
        return False
    return db.session.scalar(select(CourseMember.id).where(CourseMember.user_id == user.id).limit(1)) is not None
