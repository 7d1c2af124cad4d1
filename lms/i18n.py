"""Language choice, Indonesian formatting of dates and numbers, and WTForms messages in both languages."""

from __future__ import annotations

from flask import Flask, current_app, has_request_context, request, session
from flask_babel import format_date, format_datetime, format_decimal, get_locale, get_translations
from flask_login import current_user
from flask_wtf import FlaskForm

from lms.extensions import babel
from lms.nip import format_nip


def select_locale() -> str:
    """The signed-in person's choice, else this browser's choice, else Accept-Language, else Indonesian;
    outside a request, CONSOLE_LOCALE (English)."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        # The command line and background jobs: operators read English, like the rest of the CLI's output;
        # mail to a person is written inside force_locale(person's language).
        return current_app.config.get("CONSOLE_LOCALE", "en")
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    if session.get("lang") in languages:
        return session["lang"]
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


def gettext_noop(message: str) -> str:
    """Marks ``message`` for extraction (babel.cfg names this keyword); it is translated where shown."""
    return message


def ngettext_noop(singular: str, plural: str) -> tuple[str, str]:
    """Marks a singular/plural pair for extraction, like ``gettext_noop``."""
    return singular, plural


# WTForms ships no Indonesian catalogue, so its own field and validator messages ("This field is
# required.") would stay English. They are marked here so that extraction copies them into our
# catalogue, and FormTranslations serves them to every form.
WTFORMS_MESSAGES = (
    gettext_noop("This field is required."),
    gettext_noop("Invalid input."),
    gettext_noop("Invalid email address."),
    gettext_noop("Invalid URL."),
    gettext_noop("Invalid IP address."),
    gettext_noop("Invalid UUID."),
    gettext_noop("Invalid Mac address."),
    gettext_noop("Field must be equal to %(other_name)s."),
    ngettext_noop("Field must be at least %(min)d character long.", "Field must be at least %(min)d characters long."),
    ngettext_noop("Field cannot be longer than %(max)d character.", "Field cannot be longer than %(max)d characters."),
    ngettext_noop("Field must be exactly %(max)d character long.", "Field must be exactly %(max)d characters long."),
    gettext_noop("Field must be between %(min)d and %(max)d characters long."),
    gettext_noop("Number must be at least %(min)s."),
    gettext_noop("Number must be at most %(max)s."),
    gettext_noop("Number must be between %(min)s and %(max)s."),
    gettext_noop("Date must be at least %(min)s."),
    gettext_noop("Date must be at most %(max)s."),
    gettext_noop("Date must be between %(min)s and %(max)s."),
    gettext_noop("Invalid value, must be one of: %(values)s."),
    gettext_noop("Invalid value, can't be any of: %(values)s."),
    gettext_noop("This field cannot be edited."),
    gettext_noop("This field is disabled and cannot have a value."),
    gettext_noop("Not a valid choice."),
    gettext_noop("Invalid Choice: could not coerce."),
    gettext_noop("Invalid choice(s): one or more data inputs could not be coerced."),
    ngettext_noop("'%(value)s' is not a valid choice for this field.", "'%(value)s' are not valid choices for this field."),
    gettext_noop("Not a valid datetime value."),
    gettext_noop("Not a valid date value."),
    gettext_noop("Not a valid time value."),
    gettext_noop("Not a valid week value."),
    gettext_noop("Not a valid integer value."),
    gettext_noop("Not a valid decimal value."),
    gettext_noop("Not a valid float value."),
)


class FormTranslations:
    """WTForms' messages from Bangkom's catalogue in the request's language (WTForms interpolates them)."""

    def gettext(self, string: str) -> str:
        return get_translations().ugettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return get_translations().ungettext(singular, plural, n)


FORM_TRANSLATIONS = FormTranslations()


def _form_translations(meta, form) -> FormTranslations:
    return FORM_TRANSLATIONS


DATE_PATTERNS = {"long": "d MMMM y", "medium": "d MMM y"}


def _as_date(value):
    """Dates also arrive as ISO strings (frozen certificate snapshots keep plain values)."""
    if isinstance(value, str):
        import datetime as dt

        return dt.date.fromisoformat(value[:10])
    return value


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
    # Every FlaskForm, including those of later modules, asks its Meta for translations.
    FlaskForm.Meta.get_translations = _form_translations
    app.jinja_env.globals.update(get_locale=get_locale)
    app.jinja_env.filters.update(
        # Indonesian day-month order in both languages: "22 November 2026", "22 August 2026" in English.
        date=lambda value, fmt="long": format_date(_as_date(value), DATE_PATTERNS.get(fmt, fmt)) if value else "—",
        datetime=lambda value, fmt="medium": format_datetime(value, fmt) if value else "—",
        number=lambda value: format_decimal(value) if value is not None else "—",
        # A quiz score: at most two decimals, in the locale's notation ("87,5").
        score=lambda value: format_decimal(value, "#,##0.##") if value is not None else "—",
        nip=format_nip,
    )
