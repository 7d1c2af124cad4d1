"""Forms shared across the platform."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from lms.models import GENDERS


def options(pairs) -> list[SelectChoice]:
    """Select options from (value, label) pairs; ``None`` stands for "no choice"."""
    return [SelectChoice("" if value is None else value, label) for value, label in pairs]


ROLE_LABELS = {
    "learner": _l("Learner"), "trainer": _l("Trainer"), "coauthor": _l("Co-author"), "hr": _l("HR"),
    "admin": _l("Administrator"),
}


GENDER_LABELS = {"L": _l("Male (L)"), "P": _l("Female (P)")}


class EmptyForm(FlaskForm):
    """Guards a button-only action (deactivate, revoke, sign out) with a CSRF token."""


class LanguageForm(FlaskForm):
    lang = SelectField(_l("Language"), choices=options([("id", "Bahasa Indonesia"), ("en", "English")]))
    next = HiddenField()


class ProfileForm(FlaskForm):
    """What people keep up to date themselves; HR data (NIP, golongan, unit) is changed by admins."""

    title_front = StringField(_l("Title before name"), validators=[Optional(), Length(max=50)],
                              description=_l("For example Dr. or Ir."))
    full_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=150)])
    title_back = StringField(_l("Title after name"), validators=[Optional(), Length(max=80)],
                             description=_l("For example S.Kom., M.T."))
    birth_place = StringField(_l("Place of birth"), validators=[Optional(), Length(max=100)])
    birth_date = DateField(_l("Date of birth"), validators=[Optional()])
    gender = SelectField(_l("Gender"), choices=options([("", "—"), *[(g, GENDER_LABELS[g]) for g in GENDERS]]),
                         validators=[Optional()])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=30)])
    locale = SelectField(_l("Language"), choices=options([("id", "Bahasa Indonesia"), ("en", "English")]))
