"""Forms of the training records pages; they validate, the services decide."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from certificates.records.models import MAX_RECORD_JP, RECORD_JALUR
from certificates.records.services import JALUR_LABELS, KIND_LABELS
from courses.models import COMPETENCY_KINDS
from lms.forms import options


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class ExternalRecordForm(FlaskForm):
    title = StringField(_l("Name of the training"), validators=[DataRequired(), Length(max=300)],
                        filters=[_strip], description=_l("As written on the certificate."))
    organiser = StringField(_l("Organiser (institusi penyelenggara)"), validators=[DataRequired(), Length(max=200)],
                            filters=[_strip])
    place = StringField(_l("Place"), validators=[Optional(), Length(max=150)], filters=[_strip],
                        description=_l("City, or “daring” for online training."))
    jalur = SelectField(_l("Route (jalur)"), choices=options([(j, JALUR_LABELS[j]) for j in RECORD_JALUR]))
    jenis_diklat = SelectField(_l("Kind of training (jenis diklat)"))
    latihan_struktural = SelectField(_l("Leadership training level"), validators=[Optional()],
                                     description=_l("Only for leadership (structural) training."))
    competency_kind = SelectField(_l("Competency kind"),
                                  choices=options([(k, KIND_LABELS[k]) for k in COMPETENCY_KINDS]))
    certificate_number = StringField(_l("Certificate number"), validators=[Optional(), Length(max=120)],
                                     filters=[_strip])
    start_date = DateField(_l("First day"), validators=[InputRequired()])
    end_date = DateField(_l("Last day"), validators=[InputRequired()])
    jp = IntegerField(_l("JP (jam pelajaran)"), validators=[InputRequired(), NumberRange(min=1, max=MAX_RECORD_JP)],
                      description=_l("As stated on the certificate; 1 JP is 45 minutes."))
    file = FileField(_l("Certificate file"), description=_l("PDF, PNG or JPEG, at most 10 MB."))


class RejectForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(min=5, max=500)], filters=[_strip],
                           description=_l("The employee reads this: say what is missing or wrong."))


class AssignForm(FlaskForm):
    course_id = SelectField(_l("Course"), coerce=lambda value: int(value) if value not in ("", None) else None,
                            validators=[DataRequired()])
    due_on = DateField(_l("Due date"), validators=[Optional()])


class UploadForm(FlaskForm):
    file = FileField(_l("CSV file"), description=_l("UTF-8 with a header row: nip,pnsOrangId (“;” works too)."))


class ReferenceForm(FlaskForm):
    kind = SelectField(_l("List"), choices=options([("jenis_diklat", "jenisDiklatId"),
                                                    ("latihan_struktural", "latihanStrukturalId")]))
    code = StringField(_l("SIASN id"), validators=[DataRequired(), Length(max=10)], filters=[_strip])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)], filters=[_strip])
    kursus_kind = SelectField(_l("jenisKursusSertipikat"), validators=[Optional()],
                              choices=options([("", "—"), ("F", "F"), ("T", "T"), ("P", "P")]),
                              description=_l("For jenis diklat only: F fungsional, T teknis, P other."))
    is_active = BooleanField(_l("In use"), default=True)
