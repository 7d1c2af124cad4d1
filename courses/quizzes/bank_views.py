"""Question-bank pages for trainers: list, write and edit questions, import and export, share."""

from __future__ import annotations

import io
import random
import re
import secrets
from types import SimpleNamespace

from flask import abort, flash, redirect, render_template, request, send_file, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from courses import services as course_services
from courses.models import Course
from courses.quizzes import attempts as quiz
from courses.quizzes import grading, importers
from courses.quizzes import services as banks
from courses.quizzes.forms import (
    ANSWER_COLUMNS,
    MAX_ANSWER_ROWS,
    PARTIAL_CREDIT_LABELS,
    TYPE_LABELS,
    BankFilterForm,
    ImportForm,
    QuestionForm,
    ShareForm,
)
from courses.quizzes.models import QUESTION_TYPES, AttemptItem, Question, QuestionBank, QuestionTag
from courses.quizzes.views import bp, item_view
from lms.extensions import db
from lms.forms import EmptyForm, options
from lms.services import ServiceError, ValidationFailed, audit

PER_PAGE = 25
BLANK_ROWS = 3
EXPORTS = {"moodle": ("application/xml", "xml"), "gift": ("text/plain; charset=utf-8", "gift.txt")}
# Errors of the question services by their field, mapped to the form's field names.
FORM_FIELDS = {"prompt_html": "prompt", "general_feedback_html": "general_feedback"}


# ---------------------------------------------------------------- access


def _authoring() -> None:
    """Trainers and admins only, before any object is looked up (403 and 404 tell others nothing)."""
    if not current_user.has_role("trainer", "admin"):
        abort(403)


def _course(course_id: int) -> Course:
    _authoring()
    course = db.get_or_404(Course, course_id)
    if not course_services.can_manage_course(current_user, course):
        abort(403)
    return course


def _question(question_id: int) -> tuple[Course, Question]:
    _authoring()
    question = db.get_or_404(Question, question_id)
    course = question.bank.course
    if not course_services.can_manage_course(current_user, course):
        abort(403)
    return course, question


def _bank_of(course: Course) -> QuestionBank | None:
    """The course's bank if it has one; pages that only read never create it."""
    return db.session.scalar(select(QuestionBank).where(QuestionBank.course_id == course.id))


# ---------------------------------------------------------------- the bank


@bp.route("/kelola/kursus/<int:course_id>/bank-soal")
@login_required
def bank(course_id: int):
    course = _course(course_id)
    bank = _bank_of(course)
    form = BankFilterForm(request.args)
    form.tag.choices = options([(None, _("All tags")), *[(t.id, t.name) for t in (bank.tags if bank else [])]])
    stmt = (select(Question).where(Question.bank_id == (bank.id if bank else None), Question.is_current)
            .options(selectinload(Question.tags)).order_by(Question.name, Question.id))
    filtered = False
    if form.validate():
        for word in (form.q.data or "").lower().split():
            stmt = stmt.where(or_(func.lower(Question.name).contains(word, autoescape=True),
                                  func.lower(Question.prompt_html).contains(word, autoescape=True)))
            filtered = True
        if form.tag.data:
            stmt = stmt.where(Question.id.in_(select(QuestionTag.question_id)
                                              .where(QuestionTag.tag_id == form.tag.data)))
            filtered = True
        if form.type.data:
            stmt = stmt.where(Question.type == form.type.data)
            filtered = True
    page = db.paginate(stmt, page=max(1, request.args.get("page", 1, type=int)), per_page=PER_PAGE,
                       error_out=False, count=True)
    share_form = ShareForm(is_shared=bank.is_shared if bank else False)
    return render_template("quizzes/bank_list.html", course=course, bank=bank, form=form, page=page,
                           filtered=filtered, share_form=share_form, type_labels=TYPE_LABELS,
                           types=QUESTION_TYPES)


@bp.route("/kelola/kursus/<int:course_id>/bank-soal/bagikan", methods=["POST"])
@login_required
def bank_share(course_id: int):
    course = _course(course_id)
    form = ShareForm()
    if form.validate_on_submit():
        banks.set_shared(banks.bank_for(course), form.is_shared.data, actor=current_user)
        db.session.commit()
        flash(_("The question bank is now shared with the other courses of its owners.") if form.is_shared.data
              else _("The question bank is no longer shared; only this course uses it."), "success")
    return redirect(url_for("quizzes.bank", course_id=course.id))


@bp.route("/kelola/kursus/<int:course_id>/bank-soal/ekspor")
@login_required
def bank_export(course_id: int):
    course = _course(course_id)
    fmt = request.args.get("format", "moodle")
    if fmt not in EXPORTS:
        abort(404)
    bank = _bank_of(course)
    if bank is not None:
        data = banks.export_questions(bank, fmt)
    else:
        data = importers.write_moodle_xml([]) if fmt == "moodle" else importers.write_gift([])
    mimetype, extension = EXPORTS[fmt]
    return send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=True,
                     download_name=f"bank-soal-{_file_safe(course.code)}.{extension}", max_age=0)


def _file_safe(text: str) -> str:
    return re.sub(r"[^\w.\-]+", "_", text)[:80] or "kursus"


@bp.route("/kelola/kursus/<int:course_id>/bank-soal/impor", methods=["GET", "POST"])
@login_required
def bank_import(course_id: int):
    course = _course(course_id)
    form = ImportForm()
    result = None
    done = session.get("question_imports", [])
    if form.validate_on_submit():
        if form.once.data and form.once.data in done:
            flash(_("This file has already been imported (the form was sent twice); nothing was imported "
                    "again."), "info")
            return redirect(url_for("quizzes.bank", course_id=course.id))
        upload = form.file.data
        # Read one byte past the limit: enough to know the file is too large without reading all of it.
        data = upload.stream.read(importers.MAX_FILE_BYTES + 1)
        if len(data) > importers.MAX_FILE_BYTES:
            form.file.errors.append(_("The file is larger than %(mb)s MB; nothing was imported.",
                                      mb=importers.MAX_FILE_BYTES // (1024 * 1024)))
        else:
            try:
                result = banks.import_questions(course, data, file_name=upload.filename or "",
                                                fmt=None if form.format.data == "auto" else form.format.data,
                                                actor=current_user)
            except banks.ImportRefused as exc:
                db.session.rollback()
                form.file.errors.append(_("The file was refused and nothing was imported: %(reason)s",
                                          reason=exc.message))
            else:
                db.session.commit()
                if form.once.data:
                    session["question_imports"] = [*done[-4:], form.once.data]
    form.once.data = secrets.token_hex(8)
    return render_template("quizzes/bank_import.html", course=course, form=form, result=result,
                           type_labels=TYPE_LABELS)


# ---------------------------------------------------------------- writing questions


def _tag_names(text: str | None) -> list[str]:
    return list(dict.fromkeys(name.strip() for name in (text or "").split(",") if name.strip()))


def _html(form: QuestionForm, text: str | None) -> str:
    """The text as HTML: Markdown is rendered (the services sanitise HTML either way)."""
    if form.text_format.data == "markdown":
        return course_services.render_markdown(text or "")
    return text or ""


def _submitted(form: QuestionForm, qtype: str, question: Question | None) -> tuple[dict, list[dict]]:
    """The question's fields and answers as the services take them; rows left empty are dropped."""
    fields = {"type": qtype, "name": form.name.data or "", "prompt_html": _html(form, form.prompt.data),
              "general_feedback_html": _html(form, form.general_feedback.data),
              "default_mark": form.default_mark.data,
              "partial_credit": form.partial_credit.data if qtype == "multi" else (
                  question.partial_credit if question else "fractions"),
              "case_sensitive": qtype == "shortanswer" and form.case_sensitive.data,
              "use_wildcards": qtype == "shortanswer" and form.use_wildcards.data}
    columns = ANSWER_COLUMNS[qtype]
    answers, incomplete = [], []
    for number, entry in enumerate(form.answers.entries, start=1):
        row = {name: entry.form[name].data if name in columns else None
               for name in ("text", "fraction", "feedback", "match_text", "tolerance")}
        text, match, feedback = ((row[name] or "").strip() for name in ("text", "match_text", "feedback"))
        if not (text or match or feedback or row["fraction"] or row["tolerance"] is not None):
            continue
        if not text and not (qtype == "matching" and match):  # a matching item may be a distractor
            incomplete.append(number)
            continue
        if qtype == "numerical":
            text = text.replace(",", ".")  # Indonesian decimals are written with a comma
        answers.append({"text_html": text, "fraction": (row["fraction"] or 0.0) / 100, "feedback_html": feedback,
                        "match_text": match or None, "tolerance": row["tolerance"]})
    if incomplete:
        raise ValidationFailed({"answers": _("Row %(rows)s has no answer text: write one or clear the row.",
                                             rows=", ".join(map(str, incomplete)))})
    return fields, answers


def _apply_errors(form: QuestionForm, errors: dict) -> str | None:
    """Put each error next to its field; the answer table's error is returned, others are flashed."""
    answers_error = None
    for name, message in errors.items():
        name = FORM_FIELDS.get(name, name)
        if name == "answers":
            answers_error = str(message)
        elif name in form:
            form[name].errors = [*form[name].errors, message]
        else:
            flash(str(message), "error")
    return answers_error


def _number(value: float) -> float | int:
    """A whole number shown without ".0"."""
    return int(value) if value == int(value) else value


def _percent(fraction: float) -> float | int:
    return _number(round(fraction * 100, 5))


def _fill_rows(form: QuestionForm, qtype: str, question: Question | None) -> None:
    """The rows shown on a fresh form: the question's answers (or true/false), then empty rows to fill."""
    if qtype == "essay":
        return
    if question is not None:
        for answer in question.answers:
            form.answers.append_entry({"text": answer.text_html, "fraction": _percent(answer.fraction),
                                       "feedback": answer.feedback_html, "match_text": answer.match_text,
                                       "tolerance": answer.tolerance})
    elif qtype == "truefalse":
        form.answers.append_entry({"text": "true", "fraction": 100})
        form.answers.append_entry({"text": "false", "fraction": 0})
    if qtype != "truefalse":
        for _row in range(BLANK_ROWS):
            form.answers.append_entry()


def _form_page(form: QuestionForm, *, course: Course, qtype: str, question: Question | None,
               answers_error: str | None = None):
    used_items = 0
    if question is not None and question.is_used:
        used_items = db.session.scalar(select(func.count()).select_from(AttemptItem)
                                       .where(AttemptItem.question_id == question.id)) or 0
    return render_template("quizzes/bank_question_form.html", form=form, course=course, question=question,
                           qtype=qtype, type_label=TYPE_LABELS[qtype], columns=ANSWER_COLUMNS[qtype],
                           answers_error=answers_error, used_items=used_items, max_rows=MAX_ANSWER_ROWS,
                           partial_credit_labels=PARTIAL_CREDIT_LABELS)


@bp.route("/kelola/kursus/<int:course_id>/bank-soal/baru", methods=["GET", "POST"])
@login_required
def question_new(course_id: int):
    course = _course(course_id)
    qtype = request.args.get("jenis", "single")
    if qtype not in QUESTION_TYPES:
        abort(404)
    form = QuestionForm()
    answers_error = None
    if request.method == "GET":
        _fill_rows(form, qtype, None)
    elif form.validate_on_submit():
        try:
            fields, answers = _submitted(form, qtype, None)
            question = banks.create_question(banks.bank_for(course), actor=current_user, answers=answers,
                                             tags=_tag_names(form.tags.data), **fields)
            audit("question.create", question, actor=current_user, summary=f"{question.name} v1", key=question.key)
        except ValidationFailed as exc:
            db.session.rollback()
            answers_error = _apply_errors(form, exc.errors)
        else:
            db.session.commit()
            flash(_("Question “%(name)s” saved.", name=question.name), "success")
            return redirect(url_for("quizzes.bank", course_id=course.id))
    return _form_page(form, course=course, qtype=qtype, question=None, answers_error=answers_error)


@bp.route("/kelola/soal/<int:question_id>", methods=["GET", "POST"])
@login_required
def question_edit(question_id: int):
    course, question = _question(question_id)
    if not question.is_current:
        flash(_("Version %(v)s is an old version of this question and cannot be edited; edit the current one.",
                v=question.version), "error")
        return redirect(url_for("quizzes.question_history", question_id=question.id))
    form = QuestionForm()
    answers_error = None
    if request.method == "GET":
        form.name.data = question.name
        form.text_format.data = "html"
        form.prompt.data = question.prompt_html
        form.general_feedback.data = question.general_feedback_html
        form.default_mark.data = _number(question.default_mark)
        form.tags.data = ", ".join(tag.name for tag in question.tags)
        form.partial_credit.data = question.partial_credit
        form.case_sensitive.data = question.case_sensitive
        form.use_wildcards.data = question.use_wildcards
        _fill_rows(form, question.type, question)
    elif form.validate_on_submit():
        version = question.version
        try:
            fields, answers = _submitted(form, question.type, question)
            saved = banks.edit_question(question, actor=current_user, answers=answers, **fields)
            saved.tags = [banks.tag_named(saved.bank, name) for name in _tag_names(form.tags.data)]
            if saved is question:  # a new version is audited by the service
                audit("question.edit", saved, actor=current_user, summary=f"{saved.name} v{saved.version}",
                      key=saved.key)
        except ValidationFailed as exc:
            db.session.rollback()
            answers_error = _apply_errors(form, exc.errors)
        except ServiceError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            if saved.version != version:
                flash(_("Saved as version %(v)s. Attempts already made keep version %(old)s.", v=saved.version,
                        old=version), "success")
            else:
                flash(_("Question “%(name)s” saved.", name=saved.name), "success")
            return redirect(url_for("quizzes.bank", course_id=course.id))
    return _form_page(form, course=course, qtype=question.type, question=question, answers_error=answers_error)


# ---------------------------------------------------------------- preview and versions


@bp.route("/kelola/soal/<int:question_id>/pratinjau")
@login_required
def question_preview(question_id: int):
    course, question = _question(question_id)
    # The learner's view is built exactly as in an attempt, from an item that is never stored.
    item = SimpleNamespace(id=None, position=0, question=question, max_mark=question.default_mark, seq=0,
                           saved_at=None, response=None, mark=None, comment="", needs_grading=False,
                           layout=grading.layout_for(question, shuffle=False, rng=random.Random(question.id)))  # noqa: S311  (a layout, not a secret)
    return render_template("quizzes/bank_preview.html", course=course, question=question,
                           view=item_view(item, answers=False), type_label=TYPE_LABELS[question.type],
                           columns=ANSWER_COLUMNS[question.type], partial_credit_labels=PARTIAL_CREDIT_LABELS)


def _versions(question: Question) -> list[tuple[Question, int]]:
    """Every version of the question's key, newest first, with the number of attempt items using it."""
    versions = db.session.scalars(select(Question).where(Question.key == question.key)
                                  .options(selectinload(Question.created_by))
                                  .order_by(Question.version.desc())).all()
    counts = dict(db.session.execute(
        select(AttemptItem.question_id, func.count()).where(AttemptItem.question_key == question.key)
        .group_by(AttemptItem.question_id)).tuples().all())
    return [(version, counts.get(version.id, 0)) for version in versions]


@bp.route("/kelola/soal/<int:question_id>/riwayat")
@login_required
def question_history(question_id: int):
    course, question = _question(question_id)
    versions = _versions(question)
    current = next((v for v, _n in versions if v.is_current), None)
    older_items = sum(n for v, n in versions if not v.is_current)
    return render_template("quizzes/bank_history.html", course=course, question=question, versions=versions,
                           current=current, older_items=older_items, form=EmptyForm(),
                           type_label=TYPE_LABELS[question.type])


@bp.route("/kelola/soal/<int:question_id>/nilai-ulang", methods=["POST"])
@login_required
def question_regrade(question_id: int):
    _course, question = _question(question_id)
    if EmptyForm().validate_on_submit():
        try:
            report = quiz.regrade_question(question.key, actor=current_user)
        except ServiceError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("Regraded with the current version. Answers regraded: %(items)s; attempts whose grade "
                    "changed: %(attempts)s; now passing: %(passed)s; no longer passing: %(failed)s.",
                    items=report.items, attempts=report.attempts, passed=report.newly_passed,
                    failed=report.newly_failed), "success")
            for reason in report.skipped:
                flash(str(reason), "info")
    return redirect(url_for("quizzes.question_history", question_id=question.id))
