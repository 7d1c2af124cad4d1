"""Quiz pages: taking a quiz (start, autosave, submit, result and review), quiz settings, grading essays.

Question-bank authoring (``bank_views``) and reports (``report_views``) register their routes on the same
blueprint. Learners only ever receive ``item_view`` dictionaries, never question rows: what the page can
show of the key is decided here, by the quiz's review settings.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import contains_eager, selectinload

from courses import services as course_services
from courses.models import Course, CourseVersion, Enrolment, Lesson, Module
from courses.quizzes import attempts as quiz
from courses.quizzes import grading
from courses.quizzes.models import Attempt, AttemptItem, Question, Tag
from courses.quizzes.quiz_forms import AddDrawForm, AddQuestionsForm, GradeForm, QuizSettingsForm
from courses.quizzes.services import current_questions, usable_banks
from courses.quizzes.settings import DEFAULT_BANDS, KIND_LABELS, QuizSettings, save_quiz
from lms.extensions import db
from lms.forms import EmptyForm
from lms.models import aware_utcnow
from lms.services import ServiceError, ValidationFailed

bp = Blueprint("quizzes", __name__)


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Asia/Jakarta"))


# ---------------------------------------------------------------- what a learner may see


def item_view(item: AttemptItem, *, answers: bool = True, correct: bool = False, feedback: bool = False) -> dict:
    """A question as the page shows it: prompt, options in the learner's order, the saved answer, and —
    only when ``correct`` / ``feedback`` allow — the key and the feedback."""
    question = item.question
    layout = item.layout or {}
    response = item.response if answers else None
    # Options and ordering items are numbered as shown (``pos`` is the index in the learner's layout,
    # never the answer's position, which for an ordering question is its place in the key).
    shown_response = grading.to_display(layout, response)
    view = {"id": item.id, "position": item.position, "number": item.position + 1, "type": question.type,
            "prompt_html": question.prompt_html, "max_mark": item.max_mark, "seq": item.seq,
            "saved_at": item.saved_at, "response": shown_response or {}, "mark": item.mark,
            "comment": item.comment, "needs_grading": item.needs_grading}
    opts = question.answers
    if question.type in grading.CHOICE_TYPES:
        shown = layout.get("options", list(range(len(opts))))
        view["options"] = [{"pos": i, "html": opts[p].text_html if question.type != "truefalse" else None,
                            "truth": opts[p].text_html if question.type == "truefalse" else None}
                           for i, p in enumerate(shown)]
    elif question.type == "ordering":
        shown = layout.get("items", [])
        index = {p: i for i, p in enumerate(shown)}
        order = (response or {}).get("order") or shown
        view["items"] = [{"pos": index[p], "html": opts[p].text_html} for p in order]
    elif question.type == "matching":
        view["items"] = [{"pos": p, "html": opts[p].text_html} for p in layout.get("items", [])]
        view["choices"] = layout.get("choices", [])
    if correct:
        view["correct"] = _key_of(question)
        if "positions" in view["correct"]:
            shown = layout.get("options", list(range(len(opts))))
            view["correct"]["positions"] = [i for i, p in enumerate(shown) if p in view["correct"]["positions"]]
    if feedback:
        chosen = []
        if response and "choice" in response:
            chosen = [response["choice"]]
        elif response and "choices" in response:
            chosen = response["choices"]
        view["feedback"] = [opts[p].feedback_html for p in chosen if opts[p].feedback_html]
        if question.general_feedback_html:
            view["feedback"].append(question.general_feedback_html)
    return view


def _key_of(question: Question) -> dict:
    opts = question.answers
    if question.type in grading.CHOICE_TYPES:
        return {"positions": [i for i, a in enumerate(opts) if a.fraction > 0]}
    if question.type in ("shortanswer", "numerical"):
        return {"texts": [a.text_html + (f" ± {a.tolerance:g}" if a.tolerance else "")
                          for a in opts if a.fraction > 0]}
    if question.type == "ordering":
        return {"items": [a.text_html for a in opts]}
    if question.type == "matching":
        return {"pairs": [(a.text_html, a.match_text) for a in opts if (a.text_html or "").strip()]}
    return {}


# ---------------------------------------------------------------- access


def _lesson_for_learner(code: str, lesson_id: int) -> tuple[Course, Lesson, Enrolment]:
    # The lesson with its module, version and course in one round trip: starting a quiz is exam day's
    # busiest page.
    lesson = db.session.scalar(
        select(Lesson).join(Module, Module.id == Lesson.module_id)
        .join(CourseVersion, CourseVersion.id == Module.version_id)
        .join(Course, Course.id == CourseVersion.course_id)
        .where(Lesson.id == lesson_id, Course.code == code.upper())
        .options(contains_eager(Lesson.module).contains_eager(Module.version).contains_eager(CourseVersion.course)))
    if lesson is None or lesson.kind != "quiz":
        abort(404)
    course = lesson.module.version.course
    enrolment = course_services.current_enrolment(current_user, course)
    if enrolment is None or enrolment.version_id != lesson.module.version_id:
        abort(404)
    return course, lesson, enrolment


def _attempt(attempt_id: int, *, own: bool = False) -> Attempt:
    """The attempt if the user may see it (their own; owners and admins too unless ``own``); else 404,
    so that nobody learns which attempt ids exist."""
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None:
        abort(404)
    if own and attempt.user_id != current_user.id:
        abort(404)
    if not quiz.can_view_attempt(current_user, attempt):
        abort(404)
    return attempt


def intro(course: Course, lesson: Lesson, enrolment: Enrolment | None) -> dict:
    """What the quiz lesson page shows above the start button (used by ``courses.lesson``)."""
    settings = quiz.settings_of(lesson)
    now = aware_utcnow()
    history = quiz.attempts_of(enrolment, lesson.key) if enrolment else []
    for attempt in history:
        if attempt.state == "in_progress" and quiz.close_if_overdue(attempt, now=now):
            db.session.commit()
    current = next((a for a in history if a.state == "in_progress"), None)
    used = len(history)
    reason = None
    if settings.opens and now < settings.opens:
        reason = _("The quiz opens on %(when)s.", when=_local(settings.opens))
    elif quiz.window_closed(settings, now):
        reason = _("The quiz closed on %(when)s.", when=_local(settings.closes))
    elif settings.attempts and used >= settings.attempts and current is None:
        reason = _("You have used all %(n)s attempts of this quiz.", n=settings.attempts)
    comparison = _pre_post(enrolment, lesson, settings) if enrolment else None
    return {"settings": settings, "history": history, "current": current, "blocked": reason,
            "kind_label": KIND_LABELS.get(settings.kind), "form": EmptyForm(), "comparison": comparison,
            "question_count": settings.question_count(), "closed": quiz.window_closed(settings, now)}


def _pre_post(enrolment: Enrolment, lesson: Lesson, settings: QuizSettings) -> dict | None:
    """On a post-test: the learner's pre-test score beside the post-test score, and the gain."""
    if settings.kind != "post":
        return None
    pre_lessons = [item for item in enrolment.version.lessons()
                   if item.kind == "quiz" and quiz.settings_of(item).kind == "pre"]
    if not pre_lessons:
        return None
    first_pre = db.session.scalar(select(Attempt).where(
        Attempt.enrolment_id == enrolment.id, Attempt.lesson_key == pre_lessons[0].key,
        Attempt.state == "finished").order_by(Attempt.number))
    post, _passed = quiz.best_result(enrolment, lesson.key)
    if first_pre is None:
        return {"pre": None, "post": post, "gain": None, "normalised": None}
    pre = first_pre.score
    gain = None if post is None else round(post - pre, 2)
    normalised = None if post is None or pre >= 100 else round((post - pre) / (100 - pre), 2)
    return {"pre": pre, "post": post, "gain": gain, "normalised": normalised}


def _local(moment: dt.datetime | None) -> str:
    from flask_babel import format_datetime

    return format_datetime(moment, "d MMMM yyyy HH:mm") if moment else ""


# ---------------------------------------------------------------- taking a quiz


@bp.route("/kursus/<code>/pelajaran/<int:lesson_id>/mulai", methods=["POST"])
@login_required
def start(code: str, lesson_id: int):
    course, lesson, enrolment = _lesson_for_learner(code, lesson_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        attempt = quiz.start(enrolment, lesson)
    except quiz.QuizUnavailable as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("courses.lesson", code=course.code, lesson_id=lesson.id))
    attempt_id = attempt.id  # read before the commit expires the row
    db.session.commit()
    return redirect(url_for("quizzes.attempt", attempt_id=attempt_id))


def _items(attempt: Attempt) -> list[AttemptItem]:
    return list(db.session.scalars(select(AttemptItem).where(AttemptItem.attempt_id == attempt.id)
                                   .order_by(AttemptItem.position)
                                   .options(selectinload(AttemptItem.question).selectinload(Question.answers))))


@bp.route("/percobaan/<int:attempt_id>")
@login_required
def attempt(attempt_id: int):
    attempt = _attempt(attempt_id, own=True)
    if quiz.close_if_overdue(attempt):
        db.session.commit()
        flash(_("Time was up: your attempt was submitted with the answers saved."), "info")
    if attempt.state != "in_progress":
        return redirect(url_for("quizzes.result", attempt_id=attempt.id))
    lesson = db.session.get(Lesson, attempt.lesson_id)
    course = db.session.get(Course, attempt.course_id)
    items = [item_view(item) for item in _items(attempt)]
    return render_template("quizzes/attempt.html", attempt=attempt, lesson=lesson, course=course, items=items,
                           settings=quiz.settings_of(lesson), now=aware_utcnow(), form=EmptyForm(),
                           grace=int(quiz.GRACE.total_seconds()))


@bp.route("/percobaan/<int:attempt_id>/simpan", methods=["POST"])
@login_required
def save(attempt_id: int):
    """Autosave of one answer (JSON): ``{"position", "seq", "response"}``. Answers 200 with what the
    server holds now; ``accepted`` false for a stale or late save (409 when the attempt is closed)."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not isinstance(data.get("position"), int):
        _attempt(attempt_id, own=True)  # 404 before 400, so that nobody learns which attempts exist
        return jsonify(error=_("The answer could not be read.")), 400
    try:
        saved = quiz.save(attempt_id, data["position"], seq=data.get("seq"), response=data.get("response"),
                          user_id=current_user.id, display=True)
    except LookupError:
        db.session.rollback()
        abort(404)
    except grading.BadResponse:
        db.session.rollback()
        return jsonify(error=_("The answer does not fit the question.")), 400
    db.session.commit()
    body = {"accepted": saved.accepted, "seq": saved.seq,
            "saved_at": saved.saved_at.isoformat() if saved.saved_at else None, "reason": saved.reason or None}
    return jsonify(body), 409 if saved.reason == "closed" else 200


def _form_response(item: AttemptItem) -> dict | None:
    """An answer posted by the plain form (no JavaScript)."""
    name = f"q{item.position}"
    qtype = item.layout.get("type")
    if qtype in ("single", "truefalse"):
        value = request.form.get(name)
        return {"choice": int(value)} if value and value.isdigit() else None
    if qtype == "multi":
        return {"choices": [int(v) for v in request.form.getlist(name) if v.isdigit()]}
    if qtype in ("shortanswer", "numerical", "essay"):
        return {"text": request.form.get(name, "")}
    if qtype == "ordering":  # fields are named by the item's index as first shown
        ranks = []
        for shown in range(len(item.layout.get("items", []))):
            rank = request.form.get(f"{name}_{shown}", "")
            ranks.append((int(rank) if rank.isdigit() else 999, shown))
        return {"order": [shown for _rank, shown in sorted(ranks)]}
    if qtype == "matching":
        return {"pairs": {str(pos): request.form.get(f"{name}_{pos}", "") for pos in item.layout.get("items", [])}}
    return None


@bp.route("/percobaan/<int:attempt_id>", methods=["POST"])
@login_required
def save_form(attempt_id: int):
    """The attempt form without JavaScript: saves every answer, then goes back or on to submitting."""
    attempt = _attempt(attempt_id, own=True)
    if not EmptyForm().validate_on_submit():
        abort(400)
    problems = stale = 0
    closed = False
    for item in sorted(attempt.items, key=lambda i: i.position):
        shown = request.form.get(f"seq{item.position}")
        if shown is None:
            continue
        # The number of the answer the page showed: an answer saved since (another tab, another device)
        # is newer than this form and stays, as with autosave. 0 is refused as unreadable.
        seq = int(shown) + 1 if shown.isascii() and shown.isdigit() else 0
        try:
            result = quiz.save(attempt.id, item.position, seq=seq, response=_form_response(item),
                               user_id=current_user.id, display=True)
        except grading.BadResponse:
            problems += 1
            continue
        if result.reason == "closed":
            closed = True
            break
        stale += result.reason == "stale"
    db.session.commit()
    if problems:
        flash(_("%(n)s answers could not be read and were not saved.", n=problems), "error")
    if closed:
        flash(_("The attempt is closed: these answers were not saved."), "error")
        return redirect(url_for("quizzes.attempt", attempt_id=attempt.id))
    if stale:
        flash(_("%(n)s answers were changed in another window after this page was opened; the newer answers "
                "are kept.", n=stale), "info")
    if request.form.get("action") == "finish":
        return redirect(url_for("quizzes.finish", attempt_id=attempt.id))
    flash(_("Your answers are saved."), "success")
    return redirect(url_for("quizzes.attempt", attempt_id=attempt.id))


@bp.route("/percobaan/<int:attempt_id>/selesai", methods=["GET", "POST"])
@login_required
def finish(attempt_id: int):
    """Confirm and submit. Submitting twice (double click, two tabs, a retry) grades once."""
    attempt = _attempt(attempt_id, own=True)
    form = EmptyForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        if attempt.state == "in_progress" and not quiz.close_if_overdue(attempt):
            # The page's clock submits at zero: that is the deadline closing it, not the learner.
            late = attempt.deadline_at is not None and aware_utcnow() >= attempt.deadline_at
            quiz.submit(attempt, by="deadline" if late else "learner")
        db.session.commit()
        return redirect(url_for("quizzes.result", attempt_id=attempt_id))
    if attempt.state != "in_progress":
        return redirect(url_for("quizzes.result", attempt_id=attempt.id))
    items = _items(attempt)
    unanswered = [item.position + 1 for item in items if item.response is None]
    return render_template("quizzes/finish.html", attempt=attempt, form=form, unanswered=unanswered,
                           total=len(items), lesson=db.session.get(Lesson, attempt.lesson_id),
                           course=db.session.get(Course, attempt.course_id))


@bp.route("/percobaan/<int:attempt_id>/hasil")
@login_required
def result(attempt_id: int):
    attempt = _attempt(attempt_id)
    if attempt.state == "in_progress" and attempt.user_id == current_user.id:
        return redirect(url_for("quizzes.attempt", attempt_id=attempt.id))
    lesson = db.session.get(Lesson, attempt.lesson_id)
    course = db.session.get(Course, attempt.course_id)
    settings = quiz.settings_of(lesson)
    staff = attempt.user_id != current_user.id
    closed = quiz.window_closed(settings)
    show = {part: staff or (attempt.state != "in_progress" and settings.may_review(part, closed=closed))
            for part in ("answers", "correct", "feedback")}
    items = [item_view(item, answers=show["answers"], correct=show["correct"], feedback=show["feedback"])
             for item in _items(attempt)] if show["answers"] or show["correct"] else []
    return render_template("quizzes/result.html", attempt=attempt, lesson=lesson, course=course, items=items,
                           settings=settings, band=settings.band(attempt.score), show=show, staff=staff,
                           kind_label=KIND_LABELS.get(attempt.quiz_kind))


# ---------------------------------------------------------------- quiz settings (trainers)


def _quiz_lesson(lesson_id: int) -> tuple[Course, Lesson]:
    if not current_user.has_role("trainer", "admin"):
        abort(403)
    lesson = db.get_or_404(Lesson, lesson_id)
    course = lesson.module.version.course
    if not course_services.can_manage_course(current_user, course):
        abort(403)
    if lesson.kind != "quiz":
        abort(404)
    return course, lesson


def _bands_text(bands) -> str:
    return "\n".join(f"{bound} {label}" for bound, label in (bands or DEFAULT_BANDS))


def _parse_bands(text: str) -> list[list] | None:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if not lines:
        return None
    bands = []
    for line in lines:
        bound, _sep, label = line.partition(" ")
        try:
            bands.append([int(bound), label.strip()])
        except ValueError:
            raise ValidationFailed({"bands": _("Each band is a number then a label, e.g. “75 Baik”.")}) from None
    return bands


def _to_utc(value: dt.datetime | None) -> str | None:
    return value.replace(tzinfo=_zone()).astimezone(dt.UTC).isoformat() if value else None


def _from_utc(value: dt.datetime | None) -> dt.datetime | None:
    return value.astimezone(_zone()).replace(tzinfo=None) if value else None


def _slot_rows(course: Course, settings: QuizSettings) -> list[dict]:
    keys = [slot["key"] for slot in settings.slots if "tag" not in slot]
    questions = {q.key: q for q in db.session.scalars(
        select(Question).where(Question.key.in_(keys), Question.is_current))} if keys else {}
    rows = []
    for index, slot in enumerate(settings.slots):
        if "tag" in slot:
            rows.append({"index": index, "draw": True, "tag": slot["tag"], "count": slot["count"],
                         "mark": slot.get("mark", 1)})
        else:
            question = questions.get(slot["key"])
            rows.append({"index": index, "draw": False, "question": question, "mark": slot.get("mark", 1)})
    return rows


@bp.route("/kelola/pelajaran/<int:lesson_id>/kuis", methods=["GET", "POST"])
@login_required
def settings(lesson_id: int):
    course, lesson = _quiz_lesson(lesson_id)
    current = QuizSettings.of(lesson.quiz)
    editable = lesson.module.version.is_draft
    form = QuizSettingsForm()
    if request.method == "GET":
        form.quiz_kind.data = current.kind
        form.shuffle_questions.data = current.shuffle_questions
        form.shuffle_options.data = current.shuffle_options
        form.attempts.data = current.attempts
        form.time_limit.data = current.time_limit
        form.opens_at.data = _from_utc(current.opens)
        form.closes_at.data = _from_utc(current.closes)
        form.pass_score.data = current.pass_score
        form.bands.data = _bands_text(current.bands) if current.bands else ""
        form.review_answers.data = current.review["answers"]
        form.review_correct.data = current.review["correct"]
        form.review_feedback.data = current.review["feedback"]
    elif not editable:
        abort(409)
    elif form.validate_on_submit():
        try:
            save_quiz(lesson, {
                "kind": form.quiz_kind.data, "shuffle_questions": form.shuffle_questions.data,
                "shuffle_options": form.shuffle_options.data, "attempts": form.attempts.data or 0,
                "time_limit": form.time_limit.data or None, "opens_at": _to_utc(form.opens_at.data),
                "closes_at": _to_utc(form.closes_at.data), "pass_score": form.pass_score.data,
                "bands": _parse_bands(form.bands.data),
                "review": {"answers": form.review_answers.data, "correct": form.review_correct.data,
                           "feedback": form.review_feedback.data}}, actor=current_user)
        except ValidationFailed as exc:
            db.session.rollback()
            for name, message in exc.errors.items():
                field = form._fields.get(name)
                (field.errors.append(message) if field is not None and isinstance(field.errors, list)
                 else flash(str(message), "error"))
        else:
            db.session.commit()
            flash(_("Quiz settings saved."), "success")
            return redirect(url_for("quizzes.settings", lesson_id=lesson.id))
    banks = usable_banks(course)
    questions = [(bank, current_questions(bank)) for bank in banks]
    tags = db.session.execute(select(Tag.id, Tag.name, Tag.bank_id).where(
        Tag.bank_id.in_([b.id for b in banks])).order_by(Tag.name)).all() if banks else []
    draw_form = AddDrawForm()
    draw_form.tag.choices = [(f"{t.bank_id}:{t.name}", t.name) for t in tags]
    in_quiz = {slot.get("key") for slot in current.slots}
    return render_template("quizzes/settings.html", course=course, lesson=lesson, form=form, editable=editable,
                           slots=_slot_rows(course, current), questions=questions, in_quiz=in_quiz,
                           add_form=AddQuestionsForm(), draw_form=draw_form, action_form=EmptyForm(),
                           total=current.question_count(),
                           max_marks=sum(s.get("mark", 1) * s.get("count", 1) for s in current.slots))


def _change_slots(lesson: Lesson, change) -> None:
    current = QuizSettings.of(lesson.quiz)
    slots = [dict(slot) for slot in current.slots]
    change(slots)
    save_quiz(lesson, {"slots": slots}, actor=current_user)


@bp.route("/kelola/pelajaran/<int:lesson_id>/kuis/soal", methods=["POST"])
@login_required
def add_questions(lesson_id: int):
    course, lesson = _quiz_lesson(lesson_id)
    if not lesson.module.version.is_draft:
        abort(409)
    form = AddQuestionsForm()
    keys = request.form.getlist("key")
    allowed = {q.key for bank in usable_banks(course) for q in current_questions(bank)}
    if not form.validate_on_submit() or not keys:
        flash(_("Choose at least one question and a mark above 0."), "error")
    elif not set(keys) <= allowed:
        abort(404)
    else:
        try:
            _change_slots(lesson, lambda slots: slots.extend(
                {"key": key, "mark": form.mark.data} for key in dict.fromkeys(keys)
                if key not in {s.get("key") for s in slots}))
        except ValidationFailed as exc:
            db.session.rollback()
            for message in exc.errors.values():
                flash(str(message), "error")
        else:
            db.session.commit()
            flash(_("Questions added to the quiz."), "success")
    return redirect(url_for("quizzes.settings", lesson_id=lesson.id) + "#slots")


@bp.route("/kelola/pelajaran/<int:lesson_id>/kuis/acak", methods=["POST"])
@login_required
def add_draw(lesson_id: int):
    course, lesson = _quiz_lesson(lesson_id)
    if not lesson.module.version.is_draft:
        abort(409)
    form = AddDrawForm()
    banks = {b.id for b in usable_banks(course)}
    tags = db.session.execute(select(Tag.name, Tag.bank_id).where(Tag.bank_id.in_(banks))).all() if banks else []
    form.tag.choices = [(f"{t.bank_id}:{t.name}", t.name) for t in tags]
    if not form.validate_on_submit():
        flash(_("Choose a tag, how many questions to draw (1–100) and a mark above 0."), "error")
    else:
        bank_id, _sep, tag = form.tag.data.partition(":")
        try:
            _change_slots(lesson, lambda slots: slots.append(
                {"tag": tag, "bank_id": int(bank_id), "count": form.count.data, "mark": form.mark.data}))
        except ValidationFailed as exc:
            db.session.rollback()
            for message in exc.errors.values():
                flash(str(message), "error")
        else:
            db.session.commit()
            flash(_("Random draw added to the quiz."), "success")
    return redirect(url_for("quizzes.settings", lesson_id=lesson.id) + "#slots")


@bp.route("/kelola/pelajaran/<int:lesson_id>/kuis/slot/<int:index>/<any(hapus,naik,turun):action>",
          methods=["POST"])
@login_required
def slot_action(lesson_id: int, index: int, action: str):
    _course, lesson = _quiz_lesson(lesson_id)
    if not lesson.module.version.is_draft:
        abort(409)
    if not EmptyForm().validate_on_submit():
        abort(400)
    count = len(QuizSettings.of(lesson.quiz).slots)
    if not 0 <= index < count:
        abort(404)

    def change(slots):
        if action == "hapus":
            slots.pop(index)
        else:
            other = index - 1 if action == "naik" else index + 1
            if 0 <= other < len(slots):
                slots[index], slots[other] = slots[other], slots[index]

    _change_slots(lesson, change)
    db.session.commit()
    return redirect(url_for("quizzes.settings", lesson_id=lesson.id) + "#slots")


# ---------------------------------------------------------------- grading essays


def _grader() -> None:
    if not current_user.has_role("trainer", "admin"):
        abort(403)


@bp.route("/kelola/penilaian")
@login_required
def grading_queue():
    _grader()
    page = max(1, request.args.get("page", 1, type=int))
    pagination = db.paginate(quiz.grading_queue(current_user).options(
        selectinload(AttemptItem.attempt).selectinload(Attempt.user),
        selectinload(AttemptItem.question)), page=page, per_page=25, error_out=False)
    courses = {c.id: c for c in db.session.scalars(select(Course).where(
        Course.id.in_({item.attempt.course_id for item in pagination.items})))} if pagination.items else {}
    return render_template("quizzes/grading_queue.html", pagination=pagination, courses=courses)


@bp.route("/kelola/penilaian/<int:item_id>", methods=["GET", "POST"])
@login_required
def grade(item_id: int):
    _grader()
    item = db.get_or_404(AttemptItem, item_id)
    attempt = item.attempt
    course = db.session.get(Course, attempt.course_id)
    if not course_services.can_manage_course(current_user, course):
        abort(403)
    if item.question.type != "essay" and not item.needs_grading:
        abort(404)
    form = GradeForm(obj=item if request.method == "GET" and item.graded_at else None)
    if form.validate_on_submit():
        try:
            quiz.grade_item(item, mark=form.mark.data, comment=form.comment.data or "", actor=current_user)
        except ValidationFailed as exc:
            db.session.rollback()
            form.mark.errors.append(exc.errors.get("mark"))
        except ServiceError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("Mark saved."), "success")
            following = db.session.scalar(quiz.grading_queue(current_user).limit(1))
            if following is not None and request.form.get("next"):
                return redirect(url_for("quizzes.grade", item_id=following.id))
            return redirect(url_for("quizzes.grading_queue"))
    return render_template("quizzes/grade.html", item=item, view=item_view(item, correct=True, feedback=True),
                           attempt=attempt, course=course, form=form)


# The other pages of this blueprint, and the periodic task (registered here, so also in the worker).
from courses.quizzes import bank_views, jobs, report_views  # noqa: E402,F401,I001
