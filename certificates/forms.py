"""Forms of certificate administration: issuers and print templates."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from lms.admin.forms import optional_int


class IssuerForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=20), Regexp(r"^[A-Za-z0-9.\-]+$")],
                       description=_l("Printed in certificate numbers, e.g. BPSDM."))
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    city = StringField(_l("City"), validators=[Optional(), Length(max=100)])
    number_template = StringField(
        _l("Number template"), validators=[DataRequired(), Length(max=200)],
        description=_l("Fields: {seq:05d} (required), {issuer}, {program} (course code), {month_roman}, "
                       "{month}, {year}. Example: 893.3/{seq:05d}/{issuer}/{program}/{month_roman}/{year}"))
    signatory_name = StringField(_l("Signatory's name with titles"), validators=[DataRequired(), Length(max=150)])
    signatory_nip = StringField(_l("Signatory's NIP"), validators=[Optional(), Length(max=18)])
    signatory_title = StringField(_l("Signatory's position"), validators=[DataRequired(), Length(max=200)])
    signatory_nik = StringField(_l("Signatory's NIK (for the BSrE gateway)"),
                                validators=[Optional(), Regexp(r"^\d{16}$", message=_l("A NIK has 16 digits."))])
    template_id = SelectField(_l("Print template"), coerce=optional_int, validators=[Optional()])
    logo = FileField(_l("Logo"), description=_l("PNG or JPEG, at most 1 MB."))
    is_default = BooleanField(_l("Default issuer"))


class TemplateForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    html = TextAreaField(_l("HTML (Jinja)"), validators=[DataRequired(), Length(max=200_000)],
                         description=_l("The certificate's data is in c (c.holder.name, c.course.title, c.number…)."))
    css = TextAreaField(_l("CSS"), validators=[Optional(), Length(max=200_000)])
