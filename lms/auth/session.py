"""How a session cookie maps to a user (Flask-Login), with a per-user nonce that ends old sessions."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from lms.extensions import db, login_manager
from lms.models import User


def init_login(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to open this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"


# Every signed-in request loads its user: the statement is built once, and roles come in the same round trip.
_USER_WITH_ROLES = select(User).options(joinedload(User.role_rows)).where(User.id == bindparam("user_id"))


@login_manager.user_loader
def load_user(cookie_id: str) -> User | None:
    user_id, _, nonce = (cookie_id or "").partition(":")
    if not user_id.isdigit():
        return None
    user = db.session.execute(_USER_WITH_ROLES, {"user_id": int(user_id)}).unique().scalar_one_or_none()
    # A changed nonce (password change, deactivation, "sign out everywhere") invalidates old cookies.
    if user is None or not user.is_active or user.session_nonce != nonce:
        return None
    return user
