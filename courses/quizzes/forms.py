"""Forms of the question-bank pages; they validate input and nothing else."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    FieldList,
    FloatField,
    Form,
    FormField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import NumberInput

from courses.quizzes.models import PARTIAL_CREDIT_RULES
from lms.admin.forms import optional_int
from lms.forms import options

TYPE_LABELS = {
    "single": _l("Single choice"), "multi": _l("Multiple response"), "truefalse": _l("True/false"),
    "shortanswer": _l("Short answer"), "numerical": _l("Numerical"), "ordering": _l("Ordering"),
    "matching": _l("Matching"), "essay": _l("Essay"),
}
PARTIAL_CREDIT_LABELS = {
    "fractions": _l("Add up the percentages of the chosen options (never below 0)"),
    "all_or_nothing": _l("Full marks only for exactly the right options, otherwise 0"),
}
# The answer-table columns that mean something for each type, in the order they are shown.
ANSWER_COLUMNS = {
    "single": ("text", "fraction", "feedback"),
    "multi": ("text", "fraction", "feedback"),
    "truefalse": ("text", "fraction", "feedback"),
    "shortanswer": ("text", "fraction", "feedback"),
    "numerical": ("text", "tolerance", "fraction", "feedback"),
    "ordering": ("text",),
    "matching": ("text", "match_text"),
    "essay": (),
}
MAX_ANSWER_ROWS = 100


class BankFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Search"), validators=[Optional(), Length(max=100)],
                    description=_l("Words in the name or the question text."))
    tag = SelectField(_l("Tag"), coerce=optional_int, validators=[Optional()])
    type = SelectField(_l("Type"), validators=[Optional()],
                       choices=options([("", _l("All types")), *TYPE_LABELS.items()]))


class ShareForm(FlaskForm):
    is_shared = BooleanField(_l("Share this bank with the other courses of its owners"))


class ImportForm(FlaskForm):
    file = FileField(_l("Question file"), validators=[FileRequired(_l("Choose a Moodle XML or GIFT file."))],
                     description=_l("Moodle XML (.xml) or GIFT (.txt, .gift), at most 20 MB."))
    format = SelectField(_l("Format"), choices=options([("auto", _l("Recognise from the file")),
                                                        ("moodle", "Moodle XML"), ("gift", "GIFT")]))
    # Set when the form is shown; an import sent twice with the same value (a reload, a second click)
    # is not imported twice.
    once = HiddenField()


class AnswerForm(Form):
    """One row of the answer table; which columns a type uses is ``ANSWER_COLUMNS``."""

    text = StringField(_l("Answer"), validators=[Optional(), Length(max=20_000)])
    fraction = FloatField(_l("Percent"), widget=NumberInput(step="any", min=-100, max=100),
                          validators=[Optional(), NumberRange(-100, 100)])
    feedback = StringField(_l("Feedback"), validators=[Optional(), Length(max=20_000)])
    match_text = StringField(_l("Matches"), validators=[Optional(), Length(max=2000)])
    tolerance = FloatField(_l("Tolerance ±"), widget=NumberInput(step="any", min=0),
                           validators=[Optional(), NumberRange(min=0)])


class QuestionForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=255)],
                       description=_l("For you and the other trainers; learners do not see it."))
    text_format = SelectField(_l("Text format"), choices=options([("markdown", "Markdown"), ("html", "HTML")]),
                              default="markdown",
                              description=_l("Markdown: **bold**, *italic*, lists, ![image](address). HTML is "
                                             "cleaned of anything unsafe. Applies to the question text and "
                                             "the general feedback."))
    prompt = TextAreaField(_l("Question text"), validators=[DataRequired(), Length(max=200_000)],
                           render_kw={"rows": 8})
    general_feedback = TextAreaField(_l("General feedback"), validators=[Optional(), Length(max=200_000)],
                                     description=_l("Shown after answering, whatever the answer."),
                                     render_kw={"rows": 3})
    default_mark = FloatField(_l("Default mark"), default=1, widget=NumberInput(step="any", min=0, max=1000),
                              validators=[InputRequired(), NumberRange(0, 1000)])
    tags = StringField(_l("Tags"), validators=[Optional(), Length(max=2000)],
                       description=_l("Separated by commas. Quizzes can draw questions at random by tag."))
    # Fields a type does not show are absent from its POST: their defaults keep the form valid.
    partial_credit = SelectField(_l("Partly right answers"), default="fractions", choices=options(
        [(rule, PARTIAL_CREDIT_LABELS[rule]) for rule in PARTIAL_CREDIT_RULES]))
    case_sensitive = BooleanField(_l("Upper and lower case must match"))
    use_wildcards = BooleanField(_l("“*” in an accepted answer matches any text"))
    answers = FieldList(FormField(AnswerForm), max_entries=MAX_ANSWER_ROWS)
