"""Forms of quiz settings and grading; they validate input and nothing else."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    FloatField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from courses.quizzes.settings import KIND_LABELS, REVIEW_LABELS
from lms.forms import options


class QuizSettingsForm(FlaskForm):
    quiz_kind = SelectField(_l("Kind of test"), choices=options(KIND_LABELS.items()))
    shuffle_questions = BooleanField(_l("Shuffle the questions"))
    shuffle_options = BooleanField(_l("Shuffle the options of each question"), default=True)
    attempts = IntegerField(_l("Attempts allowed"), default=0, validators=[Optional(), NumberRange(0, 100)],
                            description=_l("0 for unlimited."))
    time_limit = IntegerField(_l("Time limit (minutes)"), validators=[Optional(), NumberRange(1, 600)],
                              description=_l("Empty for no limit. The server closes the attempt when time is up."))
    opens_at = DateTimeLocalField(_l("Opens"), format="%Y-%m-%dT%H:%M", validators=[Optional()],
                                  description=_l("Local time (WIB). Empty: open as soon as published."))
    closes_at = DateTimeLocalField(_l("Closes"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    pass_score = IntegerField(_l("Passing score"), default=65, validators=[DataRequired(), NumberRange(0, 100)])
    bands = TextAreaField(_l("Grade bands"), validators=[Optional(), Length(max=2000)],
                          description=_l("One per line, “lower bound label”, highest first, the last from 0. "
                                         "Empty: the usual bands (90 Sangat Baik … 0 Sangat Kurang)."))
    review_answers = SelectField(_l("Learners see their answers"), choices=options(REVIEW_LABELS.items()))
    review_correct = SelectField(_l("Learners see the correct answers"), choices=options(REVIEW_LABELS.items()))
    review_feedback = SelectField(_l("Learners see the feedback"), choices=options(REVIEW_LABELS.items()))


class AddQuestionsForm(FlaskForm):
    mark = FloatField(_l("Mark per question"), default=1.0, validators=[DataRequired(), NumberRange(0.01, 100)])


class AddDrawForm(FlaskForm):
    tag = SelectField(_l("Tag"), validators=[DataRequired()])
    count = IntegerField(_l("Number of questions drawn"), default=5, validators=[DataRequired(), NumberRange(1, 100)])
    mark = FloatField(_l("Mark per question"), default=1.0, validators=[DataRequired(), NumberRange(0.01, 100)])


class GradeForm(FlaskForm):
    # InputRequired, not DataRequired: 0 is a mark.
    mark = FloatField(_l("Mark"), validators=[InputRequired(message=_l("Give a mark.")), NumberRange(0, 1000)])
    comment = TextAreaField(_l("Comment for the learner (rubric)"), validators=[Optional(), Length(max=5000)])


class RegradeForm(FlaskForm):
    key = StringField(validators=[DataRequired(), Length(max=32)])
