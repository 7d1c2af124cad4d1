"""Language choice and Indonesian formatting of dates and numbers."""

from __future__ import annotations

from flask import Flask, current_app, has_request_context, request, session
from flask_babel import format_date, format_datetime, format_decimal, get_locale
from flask_login import current_user

from lms.extensions import babel
from lms.nip import format_nip


def select_locale() -> str:
    """The signed-in person's choice, else this browser's choice, else Accept-Language, else Indonesian."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    if session.get("lang") in languages:
        return session["lang"]
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals.update(get_locale=get_locale)
    app.jinja_env.filters.update(
        date=lambda value, fmt="long": format_date(value, fmt) if value else "—",
        datetime=lambda value, fmt="medium": format_datetime(value, fmt) if value else "—",
        number=lambda value: format_decimal(value) if value is not None else "—",
        nip=format_nip,
    )
