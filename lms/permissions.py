"""Who may do what: ``role_required`` for whole areas and named predicates for single objects."""

from __future__ import annotations

import functools

from flask import abort
from flask_login import current_user

from lms.models import ApiToken, User


def role_required(*roles: str):
    """Only signed-in users holding one of ``roles`` reach the view; others get 403 (anonymous: sign-in)."""

    def decorator(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            from lms.extensions import login_manager

            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_roles = roles
        return wrapped

    return decorator


def can_view_user(actor: User, user: User) -> bool:
    """A person sees their own profile; admins see everyone (HR scope by unit arrives with HR views)."""
    return actor.id == user.id or actor.has_role("admin")


def can_manage_user(actor: User, user: User) -> bool:
    return actor.has_role("admin")


def can_manage_token(actor: User, token: ApiToken) -> bool:
    return actor.has_role("admin")
