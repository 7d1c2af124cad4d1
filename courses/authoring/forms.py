"""Forms of co-authoring; they validate input and nothing else."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, EqualTo, Length, NumberRange, Optional

from lms.admin.forms import optional_int
from lms.forms import options

PART_LABELS = {"dasar": _l("Materi dasar (basic)"), "inti": _l("Materi inti (core)"),
               "penunjang": _l("Materi penunjang (supporting)")}
TEAM_ROLE_LABELS = {"coauthor": _l("Co-author"), "reviewer": _l("Reviewer")}


class InviteForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)],
                       description=_l("A university lecturer without an account creates one when accepting."))
    role = SelectField(_l("Role on the team"), choices=options(TEAM_ROLE_LABELS.items()))
    institution_id = SelectField(_l("Partner institution"), coerce=optional_int, validators=[Optional()],
                                 description=_l("Credited on the course and its certificates."))


class MemberForm(FlaskForm):
    user_id = IntegerField(validators=[DataRequired()])


class InvitationForm(FlaskForm):
    invitation_id = IntegerField(validators=[DataRequired()])


class AcceptNewAccountForm(FlaskForm):
    full_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=150)],
                            render_kw={"autocomplete": "name"})
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)],
                             render_kw={"autocomplete": "new-password"},
                             description=_l("At least 10 characters. A short sentence is easy to remember."))
    confirm = PasswordField(_l("Repeat the password"),
                            validators=[DataRequired(), EqualTo("password", _l("The two passwords differ."))],
                            render_kw={"autocomplete": "new-password"})


class TransitionForm(FlaskForm):
    transition = HiddenField(validators=[DataRequired()])
    comment = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=5000)])


class CommentForm(FlaskForm):
    lesson_id = SelectField(_l("About"), coerce=optional_int, validators=[Optional()])
    quote = TextAreaField(_l("Quoted passage (optional)"), validators=[Optional(), Length(max=1000)],
                          description=_l("Copy the sentence you comment on from the lesson text."))
    body = TextAreaField(_l("Comment"), validators=[DataRequired(), Length(max=5000)])


class ResolveForm(FlaskForm):
    comment_id = IntegerField(validators=[DataRequired()])
    resolved = HiddenField(default="1")


class RestoreForm(FlaskForm):
    number = IntegerField(validators=[DataRequired(), NumberRange(1)])


class CurriculumForm(FlaskForm):
    description = TextAreaField(_l("Description of the training"), validators=[Optional(), Length(max=20_000)])
    competencies = TextAreaField(_l("Competencies"), validators=[Optional(), Length(max=20_000)],
                                 description=_l("The competencies the training develops, one per line."))
    objectives = TextAreaField(_l("Learning objectives"), validators=[Optional(), Length(max=20_000)],
                               description=_l("One per line: what participants will be able to do."))
    participants = TextAreaField(_l("Participants"), validators=[Optional(), Length(max=20_000)],
                                 description=_l("Who the training is for, and the requirements."))
    evaluation = TextAreaField(_l("Evaluation"), validators=[Optional(), Length(max=20_000)],
                               description=_l("E.g. pre-test and post-test, evaluation of the organisation, "
                                              "follow-up after the training."))
    certification = TextAreaField(_l("Certification rule"), validators=[Optional(), Length(max=20_000)],
                                  description=_l("When a participant receives the certificate (STTP)."))


class TopicForm(FlaskForm):
    topic_id = HiddenField()
    part = SelectField(_l("Part of the programme"), choices=options(PART_LABELS.items()))
    title = StringField(_l("Topic (mata pelatihan)"), validators=[DataRequired(), Length(max=200)])
    hours_teori = IntegerField(_l("Teori (JP)"), validators=[Optional(), NumberRange(0, 1000)], default=0)
    hours_penugasan = IntegerField(_l("Penugasan (JP)"), validators=[Optional(), NumberRange(0, 1000)], default=0)
    hours_praktik = IntegerField(_l("Praktik lapangan (JP)"), validators=[Optional(), NumberRange(0, 1000)],
                                 default=0)
    objective = TextAreaField(_l("Objective (indikator keberhasilan)"), validators=[Optional(), Length(max=20_000)])
    sub_topics = TextAreaField(_l("Sub-topics"), validators=[Optional(), Length(max=20_000)],
                               description=_l("One per line."))
    method = TextAreaField(_l("Method"), validators=[Optional(), Length(max=20_000)],
                           description=_l("E.g. ceramah, diskusi, studi kasus."))
    media = TextAreaField(_l("Media"), validators=[Optional(), Length(max=20_000)])
    sources = TextAreaField(_l("References"), validators=[Optional(), Length(max=20_000)])


class TopicActionForm(FlaskForm):
    topic_id = IntegerField(validators=[DataRequired()])
    delta = IntegerField(validators=[Optional()])
