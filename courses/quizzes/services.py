"""Operations on question banks and questions, import and export. They flush; callers commit."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

from flask_babel import lazy_gettext as _l
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from courses.models import Course
from courses.quizzes import importers
from courses.quizzes.importers import PLUGINFILE, ImportRefused, ParsedAnswer, ParsedQuestion
from courses.quizzes.models import (
    PARTIAL_CREDIT_RULES,
    QUESTION_TYPES,
    Answer,
    Question,
    QuestionBank,
    Tag,
)
from courses.services import sanitise_html
from lms.extensions import db
from lms.models import User
from lms.services import ServiceError, ValidationFailed, audit
from lms.storage import sniff, store

__all__ = ["ImportRefused", "QuestionFrozen", "ServiceError", "ValidationFailed"]


class QuestionFrozen(ServiceError):
    """A question used in an attempt never changes; ``edit_question`` makes a new version instead."""


# ---------------------------------------------------------------- banks


def bank_for(course: Course) -> QuestionBank:
    """The course's own bank, created on first use."""
    bank = db.session.scalar(select(QuestionBank).where(QuestionBank.course_id == course.id))
    if bank is None:
        bank = QuestionBank(course=course)
        db.session.add(bank)
        db.session.flush()
    return bank


def set_shared(bank: QuestionBank, shared: bool, *, actor: User | None) -> None:
    bank.is_shared = shared
    audit("question_bank.share" if shared else "question_bank.unshare", bank, actor=actor,
          summary=bank.course.code)
    db.session.flush()


def usable_banks(course: Course) -> list[QuestionBank]:
    """The course's own bank and the shared banks of other courses with at least one owner in common."""
    owner_ids = {owner.id for owner in course.owners}
    banks = db.session.scalars(select(QuestionBank).join(Course).order_by(Course.code)).all()
    return [bank for bank in banks if bank.course_id == course.id
            or (bank.is_shared and owner_ids & {owner.id for owner in bank.course.owners})]


def current_questions(bank: QuestionBank) -> list[Question]:
    return list(db.session.scalars(select(Question).where(Question.bank_id == bank.id, Question.is_current)
                                   .order_by(Question.id)))


def tag_named(bank: QuestionBank, name: str) -> Tag:
    name = name.strip()[:255]
    tag = db.session.scalar(select(Tag).where(Tag.bank_id == bank.id, Tag.name == name))
    if tag is None:
        tag = Tag(bank=bank, name=name)
        db.session.add(tag)
        db.session.flush()
    return tag


def image_url(course_id: int, digest: str) -> str:
    """The path of the ``courses.image`` route, built by hand so importing works without a request."""
    return f"/kursus/{course_id}/gambar/{digest}"


IMAGE_URL_RE = re.compile(r"/kursus/(\d+)/gambar/([0-9a-f]{64})")


# ---------------------------------------------------------------- questions

QUESTION_FIELDS = ("type", "name", "prompt_html", "general_feedback_html", "default_mark", "partial_credit",
                   "case_sensitive", "use_wildcards")


def check_question(data: dict[str, Any], answers: list[dict[str, Any]]) -> dict[str, Any]:
    """Errors by field for a question and its answers (dicts of ``Answer`` columns)."""
    errors: dict[str, Any] = {}
    qtype = data.get("type")
    if qtype not in QUESTION_TYPES:
        errors["type"] = _l("Choose a question type.")
        return errors
    if not (data.get("name") or "").strip():
        errors["name"] = _l("Give the question a name.")
    mark = data.get("default_mark", 1.0)
    if not isinstance(mark, int | float) or not 0 <= mark <= 1000:
        errors["default_mark"] = _l("The mark is a number between 0 and 1000.")
    if data.get("partial_credit", "fractions") not in PARTIAL_CREDIT_RULES:
        errors["partial_credit"] = _l("Choose a partial-credit rule.")
    fractions = [a.get("fraction", 0.0) for a in answers]
    if any(not isinstance(f, int | float) or not -1 <= f <= 1 for f in fractions):
        errors["answers"] = _l("Each answer's fraction is between -100 and 100 percent.")
    elif qtype == "single" and (len(answers) < 2 or max(fractions) != 1):
        errors["answers"] = _l("A single-choice question needs at least two options, one of them fully right.")
    elif qtype == "multi" and (len(answers) < 2 or not any(f > 0 for f in fractions)):
        errors["answers"] = _l("A multiple-response question needs at least two options, some of them right.")
    elif qtype == "truefalse" and sorted(a.get("text_html") for a in answers) != ["false", "true"]:
        errors["answers"] = _l("A true/false question has the answers “true” and “false”.")
    elif qtype == "shortanswer" and not any(f > 0 and (a.get("text_html") or "").strip()
                                            for f, a in zip(fractions, answers, strict=True)):
        errors["answers"] = _l("A short-answer question needs at least one accepted answer.")
    elif qtype == "numerical":
        for answer in answers:
            try:
                float(answer.get("text_html", ""))
            except ValueError:
                errors["answers"] = _l("Each answer of a numerical question is a number.")
        if not answers:
            errors["answers"] = _l("A numerical question needs an answer.")
    elif qtype == "matching" and sum(1 for a in answers if (a.get("text_html") or "").strip()) < 2:
        errors["answers"] = _l("A matching question needs at least two pairs.")
    elif qtype == "matching" and any(a.get("match_text") in (None, "") for a in answers):
        errors["answers"] = _l("Every item of a matching question needs its match.")
    elif qtype == "ordering" and len(answers) < 2:
        errors["answers"] = _l("An ordering question needs at least two items.")
    elif qtype == "essay" and answers:
        errors["answers"] = _l("An essay question has no answers; a trainer grades it.")
    return errors


def _clean_answers(qtype: str, answers: list[dict[str, Any]]) -> list[Answer]:
    rows = []
    for position, answer in enumerate(answers):
        text = answer.get("text_html") or ""
        if qtype not in ("truefalse", "numerical"):
            text = sanitise_html(text)
        rows.append(Answer(position=position, text_html=text.strip(), fraction=float(answer.get("fraction", 0.0)),
                           feedback_html=sanitise_html(answer.get("feedback_html") or ""),
                           match_text=answer.get("match_text"), tolerance=answer.get("tolerance")))
    return rows


def create_question(bank: QuestionBank, *, actor: User | None, answers: list[dict[str, Any]] | None = None,
                    tags: Iterable[str] = (), **fields) -> Question:
    """Add a question (version 1, a new key) with its answers and tags to a bank."""
    answers = list(answers or [])
    errors = check_question(fields, answers)
    if errors:
        raise ValidationFailed(errors)
    question = Question(bank=bank, created_by=actor, **_question_columns(fields))
    question.answers = _clean_answers(question.type, answers)
    question.tags = [tag_named(bank, name) for name in dict.fromkeys(tags) if name.strip()]
    db.session.add(question)
    db.session.flush()
    return question


def _question_columns(fields: dict[str, Any]) -> dict[str, Any]:
    unknown = set(fields) - set(QUESTION_FIELDS)
    if unknown:
        raise TypeError(f"unknown question fields: {', '.join(sorted(unknown))}")
    columns = dict(fields)
    columns["name"] = columns["name"].strip()[:255]
    columns["prompt_html"] = sanitise_html(columns.get("prompt_html") or "")
    columns["general_feedback_html"] = sanitise_html(columns.get("general_feedback_html") or "")
    return columns


def edit_question(question: Question, *, actor: User | None, answers: list[dict[str, Any]] | None = None,
                  **fields) -> Question:
    """Change a question. An unused one changes in place; a used one gets a new version (same key,
    ``version + 1``) that becomes current, and the used row stays exactly as attempts saw it."""
    if not question.is_current:
        raise ServiceError(_l("Only the current version of a question can be edited."))
    data = {name: getattr(question, name) for name in QUESTION_FIELDS} | fields
    if answers is None:
        answers = [{"text_html": a.text_html, "fraction": a.fraction, "feedback_html": a.feedback_html,
                    "match_text": a.match_text, "tolerance": a.tolerance} for a in question.answers]
    errors = check_question(data, answers)
    if errors:
        raise ValidationFailed(errors)
    columns = _question_columns(data)
    if not question.is_used:
        for name, value in columns.items():
            setattr(question, name, value)
        question.answers = _clean_answers(question.type, answers)
        db.session.flush()
        return question
    question.is_current = False
    db.session.flush()  # the one-current-version index must see the old row retired first
    newer = Question(bank=question.bank, key=question.key, version=question.version + 1, created_by=actor,
                     **columns)
    newer.answers = _clean_answers(newer.type, answers)
    newer.tags = list(question.tags)
    db.session.add(newer)
    audit("question.new_version", newer, actor=actor, summary=f"{newer.name} v{newer.version}", key=newer.key)
    db.session.flush()
    return newer


def mark_used(question: Question) -> None:
    """Called when an attempt first shows the question: from now on the row is frozen."""
    if not question.is_used:
        question.is_used = True
        db.session.flush()


# Columns that may change on a used question: retiring it as current and marking it used.
_MUTABLE_WHEN_USED = {"is_current", "is_used"}


@event.listens_for(Session, "before_flush")
def _refuse_changes_to_used_questions(session, _context, _instances) -> None:
    """The database image of what a learner answered must not drift, whatever code path tries."""
    for obj in list(session.dirty) + list(session.deleted) + list(session.new):
        if isinstance(obj, Question) and obj in session.dirty:
            state = inspect(obj)
            was_used = state.attrs.is_used.history.deleted or [obj.is_used]
            if was_used[0] and any(state.attrs[column].history.has_changes()
                                   for column in (prop.key for prop in state.mapper.column_attrs)
                                   if column not in _MUTABLE_WHEN_USED):
                raise QuestionFrozen(_l("This question has been used in attempts; edit it to make a new version."))
        elif isinstance(obj, Answer):
            question = obj.question if obj.question is not None else (
                session.get(Question, obj.question_id) if obj.question_id else None)
            if question is not None and question.is_used and inspect(question).persistent and (
                    obj in session.new or obj in session.deleted or session.is_modified(obj)):
                raise QuestionFrozen(_l("This question has been used in attempts; edit it to make a new version."))


# ---------------------------------------------------------------- import


@dataclass
class ImportResult:
    format: str
    counts: Counter = field(default_factory=Counter)  # question type → number imported
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (question name, reason)
    tags: list[str] = field(default_factory=list)
    files: int = 0

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _store_files(question: ParsedQuestion, course: Course) -> tuple[ParsedQuestion, int]:
    if not question.files:
        return question, 0
    urls = {ref: image_url(course.id, store().put_bytes(data)) for ref, data in question.files.items()}

    def rewrite(html: str | None) -> str | None:
        if not html:
            return html
        return re.sub(re.escape(PLUGINFILE) + r'([^"\'\s<>)]+)',
                      lambda m: urls.get(unquote(m.group(1)), urls.get(m.group(1), m.group(0))), html)

    question.prompt = rewrite(question.prompt)
    question.general_feedback = rewrite(question.general_feedback)
    for answer in question.answers:
        answer.text, answer.feedback = rewrite(answer.text), rewrite(answer.feedback)
    return question, len(urls)


def _fields(question: ParsedQuestion) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    fields = {"type": question.type, "name": question.name, "prompt_html": question.prompt,
              "general_feedback_html": question.general_feedback, "default_mark": question.default_mark,
              "partial_credit": question.partial_credit, "case_sensitive": question.case_sensitive,
              "use_wildcards": question.use_wildcards}
    answers = [{"text_html": a.text, "fraction": a.fraction, "feedback_html": a.feedback,
                "match_text": a.match_text, "tolerance": a.tolerance} for a in question.answers]
    return fields, answers


def import_questions(course: Course, data: bytes, *, file_name: str = "", fmt: str | None = None,
                     actor: User | None) -> ImportResult:
    """Import a Moodle XML or GIFT file into the course's bank: all of it, or nothing (``ImportRefused``)."""
    parsed = importers.parse(data, file_name=file_name, fmt=fmt)
    result = ImportResult(format=parsed.format, skipped=list(parsed.skipped))
    accepted = []
    for question in parsed.questions:  # every check before anything is stored
        errors = check_question(*_fields(question))
        if errors:
            result.skipped.append((question.name, "; ".join(str(v) for v in errors.values())))
        else:
            accepted.append(question)
    bank = bank_for(course)
    for question in accepted:
        question, stored = _store_files(question, course)
        result.files += stored
        fields, answers = _fields(question)
        create_question(bank, actor=actor, answers=answers, tags=question.tags, **fields)
        result.counts[question.type] += 1
    result.tags = sorted({tag for q in accepted for tag in q.tags})
    audit("question_bank.import", bank, actor=actor, summary=f"{course.code}: {result.total} questions",
          file_name=file_name or None, format=parsed.format, counts=dict(result.counts),
          skipped=len(result.skipped) or None)
    db.session.flush()
    return result


# ---------------------------------------------------------------- export

_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}


def _export_question(question: Question, *, embed_files: bool) -> importers.ExportQuestion:
    files: dict[str, bytes] = {}

    def embed(html: str) -> str:
        if not embed_files or not html:
            return html

        def replace(match: re.Match) -> str:
            digest = match.group(2)
            if not store().exists(digest):
                return match.group(0)
            with store().open(digest) as fh:
                data = fh.read()
            name = f"{digest}.{_EXTENSIONS.get(sniff(data[:64]) or '', 'bin')}"
            files[name] = data
            return PLUGINFILE + quote(name)

        return IMAGE_URL_RE.sub(replace, html)

    answers = [ParsedAnswer(text=embed(a.text_html), fraction=a.fraction, feedback=embed(a.feedback_html),
                            match_text=a.match_text, tolerance=a.tolerance) for a in question.answers]
    return importers.ExportQuestion(
        type=question.type, name=question.name, prompt=embed(question.prompt_html),
        general_feedback=embed(question.general_feedback_html), default_mark=question.default_mark,
        answers=answers, tags=[t.name for t in question.tags], partial_credit=question.partial_credit,
        case_sensitive=question.case_sensitive, files=files)


def export_questions(bank: QuestionBank, fmt: str) -> bytes:
    """The bank's current questions as Moodle XML (images embedded) or GIFT (images stay links)."""
    if fmt == "moodle":
        return importers.write_moodle_xml([_export_question(q, embed_files=True) for q in current_questions(bank)])
    if fmt == "gift":
        return importers.write_gift([_export_question(q, embed_files=False) for q in current_questions(bank)])
    raise ValueError(f"unknown format {fmt}")
