"""Forms of the catalog and of course authoring; they validate input and nothing else."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import HiddenInput

from courses.models import JENIS_DIKLAT, MANAGERIAL_COMPETENCIES
from lms.admin.forms import MultiCheckboxField, optional_int
from lms.forms import options

KIND_LABELS = {"teknis": _l("Technical (teknis)"), "manajerial": _l("Managerial (manajerial)"),
               "sosial_kultural": _l("Socio-cultural (sosial kultural)")}
JALUR_LABELS = {"klasikal": _l("Classroom (klasikal)"), "nonklasikal": _l("Non-classroom (nonklasikal)"),
                "blended": _l("Blended")}
LESSON_KIND_LABELS = {
    "text": _l("Text"), "pdf": _l("PDF document"), "video": _l("Video"), "file": _l("Downloadable file"),
    "scorm": _l("SCORM package"), "link": _l("External link"), "quiz": _l("Quiz"),
}
RULE_LABELS = {"viewed": _l("Opened by the learner"), "min_time": _l("Minimum time spent"),
               "score": _l("Score at least"), "package": _l("As the package reports")}
SORT_LABELS = {"title": _l("Title"), "newest": _l("Newest"), "jp": _l("Most JP"), "code": _l("Code")}


class CatalogForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Search"), validators=[Optional(), Length(max=100)])
    category = SelectField(_l("Category"), coerce=optional_int, validators=[Optional()])
    kind = SelectField(_l("Competency"), validators=[Optional()],
                       choices=options([("", _l("All kinds")), *KIND_LABELS.items()]))
    competency = SelectField(_l("Managerial competency"), validators=[Optional()],
                             choices=options([("", _l("Any")), *[(code, f"{code} {name}") for code, name
                                                                 in MANAGERIAL_COMPETENCIES.items()]]))
    jalur = SelectField(_l("Route"), validators=[Optional()],
                        choices=options([("", _l("All routes")), *JALUR_LABELS.items()]))
    jp_min = IntegerField(_l("JP from"), validators=[Optional(), NumberRange(0, 1000)])
    jp_max = IntegerField(_l("JP to"), validators=[Optional(), NumberRange(0, 1000)])
    sort = SelectField(_l("Sort by"), choices=options(SORT_LABELS.items()), default="title")


class CourseForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=30)],
                       description=_l("Short and unique, printed on certificates, e.g. PM-01."))
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    summary = TextAreaField(_l("Summary"), validators=[Optional(), Length(max=4000)])
    objectives = TextAreaField(_l("What learners will be able to do"), validators=[Optional(), Length(max=4000)],
                               description=_l("One objective per line."))
    category_id = SelectField(_l("Category"), coerce=optional_int, validators=[Optional()])
    competency_kind = SelectField(_l("Competency kind"), choices=options(KIND_LABELS.items()))
    jp = IntegerField(_l("JP (45-minute lesson hours)"), validators=[DataRequired(), NumberRange(1, 1000)])
    jalur = SelectField(_l("Route (jalur)"), choices=options(JALUR_LABELS.items()))
    jenis_diklat = SelectField(_l("SIASN training type"),
                               choices=options([(k, f"{k} – {v}") for k, v in JENIS_DIKLAT.items()]))
    language = SelectField(_l("Language"), choices=options([("id", "Bahasa Indonesia"), ("en", "English")]))
    validity_years = IntegerField(_l("Certificate valid for (years)"), validators=[Optional(), NumberRange(1, 20)],
                                  description=_l("Leave empty when the certificate does not expire."))
    is_open = BooleanField(_l("Open for self-enrolment"), default=True)
    cover = FileField(_l("Cover image"), description=_l("PNG, JPEG or WebP, at most 2 MB."))


def competency_fields(form_class):
    """Add one level select (0 = not developed) per managerial competency."""
    for code, name in MANAGERIAL_COMPETENCIES.items():
        setattr(form_class, "comp_" + code.replace(".", "_"),
                SelectField(f"{code} {name}", coerce=int, default=0,
                            choices=options([(0, "—"), *[(level, str(level)) for level in range(1, 6)]])))
    return form_class


competency_fields(CourseForm)


class ModuleForm(FlaskForm):
    title = StringField(_l("Module title"), validators=[DataRequired(), Length(max=200)])
    summary = TextAreaField(_l("Summary"), validators=[Optional(), Length(max=2000)])


class LessonForm(FlaskForm):
    title = StringField(_l("Lesson title"), validators=[Optional(), Length(max=200)])
    body_markdown = TextAreaField(_l("Text"), validators=[Optional(), Length(max=200_000)],
                                  description=_l("Markdown: **bold**, *italic*, lists, tables, links "
                                                 "and images."))
    url = StringField(_l("Link"), validators=[Optional(), Length(max=1000)])
    file = FileField(_l("File"))
    captions = FileField(_l("Captions (WebVTT)"), description=_l("Optional subtitles for the video."))
    minutes = IntegerField(_l("Estimated minutes"), validators=[Optional(), NumberRange(0, 6000)])
    is_required = BooleanField(_l("Required for completion"), default=True)
    completion_rule = SelectField(_l("Completed when"), choices=options(RULE_LABELS.items()))
    completion_value = IntegerField(_l("Minutes or score"), validators=[Optional(), NumberRange(1, 600)],
                                    description=_l("For “minimum time”: minutes; for “score at least”: a "
                                                   "percentage."))
    # The lesson revision the form was opened on (courses.authoring): a save based on an older one is refused.
    base_revision = IntegerField(validators=[Optional()], widget=HiddenInput())


class PublishForm(FlaskForm):
    change_summary = TextAreaField(_l("What changed in this version"), validators=[Optional(), Length(max=2000)])


class AssignForm(FlaskForm):
    nips = TextAreaField(_l("NIPs or e-mail addresses"), validators=[Optional(), Length(max=200_000)],
                         description=_l("One per line, or separated by commas."))
    unit_id = SelectField(_l("Or everyone in a unit (and its sub-units)"), coerce=optional_int,
                          validators=[Optional()])
    due_on = DateField(_l("Due date"), validators=[Optional()])


class HeartbeatForm(FlaskForm):
    seconds = IntegerField(validators=[Optional(), NumberRange(0, 3600)])
    done = HiddenField()


class TeamForm(FlaskForm):
    owners = TextAreaField(_l("Owners"), validators=[Optional(), Length(max=5000)],
                           description=_l("E-mail addresses or NIPs of the trainers who manage this course, one "
                                          "per line."))
    institutions = MultiCheckboxField(_l("Co-authoring institutions"), coerce=int, validators=[Optional()])
    prerequisites = MultiCheckboxField(_l("Courses to complete first"), coerce=int, validators=[Optional()])


class CategoryForm(FlaskForm):
    name = StringField(_l("Category name"), validators=[DataRequired(), Length(max=120)])
    position = IntegerField(_l("Order"), validators=[Optional(), NumberRange(0, 1000)], default=0)
    is_active = BooleanField(_l("Shown in the catalog"), default=True)
