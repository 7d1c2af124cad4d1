from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from lms.forms import ROLE_LABELS, options
from lms.models import INSTITUTION_KINDS, JABATAN_TYPES, PANGKAT, PPPK_GOLONGAN, ROLES, TOKEN_SCOPES

INSTITUTION_KIND_LABELS = {
    "universitas": _l("University"), "politeknik": _l("Polytechnic"), "lembaga": _l("Institute"),
    "lainnya": _l("Other"),
}


def optional_int(value):
    if value in (None, "", "None"):
        return None
    return int(value)


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class UserForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    title_front = StringField(_l("Title before name"), validators=[Optional(), Length(max=50)])
    full_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=150)])
    title_back = StringField(_l("Title after name"), validators=[Optional(), Length(max=80)])
    nip = StringField(_l("NIP"), validators=[Optional(), Length(max=30)],
                      description=_l("18 digits; spaces are allowed. Required for PNS, CPNS and PPPK."))
    nip_lama = StringField(_l("Old NIP"), validators=[Optional(), Length(max=9)])
    employee_type = SelectField(_l("Employee type"),
                                choices=options([("", _l("Not an ASN employee")), ("PNS", "PNS"), ("CPNS", "CPNS"),
                                         ("PPPK", "PPPK")]), validators=[Optional()])
    birth_place = StringField(_l("Place of birth"), validators=[Optional(), Length(max=100)])
    birth_date = DateField(_l("Date of birth"), validators=[Optional()])
    gender = SelectField(_l("Gender"), choices=options([("", "—"), ("L", _l("Male (L)")), ("P", _l("Female (P)"))]),
                         validators=[Optional()])
    golongan = SelectField(_l("Golongan"), validators=[Optional()], choices=options([
        ("", "—"), *[(g, f"{g} – {p}") for g, p in PANGKAT.items()], *[(g, f"PPPK {g}") for g in PPPK_GOLONGAN]]))
    jabatan_type = SelectField(_l("Jabatan type"), choices=options([("", "—"), *JABATAN_TYPES.items()]),
                               validators=[Optional()])
    jabatan_name = StringField(_l("Jabatan"), validators=[Optional(), Length(max=200)])
    unit_id = SelectField(_l("Unit"), coerce=optional_int, validators=[Optional()])
    institution_id = SelectField(_l("Partner institution"), coerce=optional_int, validators=[Optional()])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=30)])
    locale = SelectField(_l("Language"), choices=options([("id", "Bahasa Indonesia"), ("en", "English")]))
    roles = MultiCheckboxField(_l("Roles"), choices=options([(r, ROLE_LABELS[r]) for r in ROLES]))


class UserFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Search"), validators=[Optional(), Length(max=100)])
    unit = SelectField(_l("Unit"), coerce=optional_int, validators=[Optional()])
    role = SelectField(_l("Role"), choices=options([("", _l("All roles")), *[(r, ROLE_LABELS[r]) for r in ROLES]]),
                       validators=[Optional()])
    status = SelectField(_l("Status"), choices=options([("", _l("All")), ("active", _l("Active")),
                                                 ("inactive", _l("Deactivated"))]), validators=[Optional()])


class ImportForm(FlaskForm):
    file = FileField(_l("CSV file"), validators=[FileRequired(_l("Choose a CSV file."))])
    dry_run = BooleanField(_l("Only check the file, import nothing"), default=True)


class UnitForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=40)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("Kind"), choices=options([("instansi", _l("Agency (instansi)")), ("unit", _l("Unit kerja"))]))
    parent_id = SelectField(_l("Part of"), coerce=optional_int, validators=[Optional()])
    is_active = BooleanField(_l("Active"), default=True)


class InstitutionForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=40)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("Kind"), choices=options([(k, INSTITUTION_KIND_LABELS[k]) for k in INSTITUTION_KINDS]))
    city = StringField(_l("City"), validators=[Optional(), Length(max=100)])
    website = StringField(_l("Website"), validators=[Optional(), Length(max=200)])
    is_active = BooleanField(_l("Active"), default=True)


class TokenForm(FlaskForm):
    email = EmailField(_l("Account e-mail"), validators=[DataRequired(), Length(max=254)],
                       description=_l("The token acts for this account; usually an HR system's service account."))
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)],
                       description=_l("What uses this token, e.g. \"SIMPEG BKD\"."))
    scopes = MultiCheckboxField(_l("Scopes"), choices=options([(s, s) for s in TOKEN_SCOPES]),
                                validators=[DataRequired(_l("Choose at least one scope."))])
    expires_at = DateField(_l("Expires on"), validators=[Optional()])


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Search"), validators=[Optional(), Length(max=100)])
    action = StringField(_l("Action"), validators=[Optional(), Length(max=60)])
    object_type = StringField(_l("Object type"), validators=[Optional(), Length(max=40)])
    object_id = StringField(_l("Object id"), validators=[Optional(), Length(max=64)])
    since = DateField(_l("From"), validators=[Optional()])
    until = DateField(_l("Until"), validators=[Optional()])
