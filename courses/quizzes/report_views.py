"""Quiz reports for trainers: attempts, pre/post learning gain and item analysis.

Reports are read-only pages for the course's owners and admins; each HTML table has a CSV twin built from
the same rows (``courses.quizzes.reports``) and streamed.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Iterable, Iterator

from flask import Response, abort, render_template, request, stream_with_context
from flask_babel import lazy_gettext as _l
from flask_babel import to_user_timezone
from flask_login import current_user, login_required

from courses import services as course_services
from courses.models import Course, Lesson
from courses.quizzes import reports
from courses.quizzes.models import ATTEMPT_STATES
from courses.quizzes.settings import KIND_LABELS, QuizSettings
from courses.quizzes.views import bp
from courses.views import _neutral  # the course exports' one rule for formula-like cells
from lms.extensions import db

PER_PAGE = 50
STATE_LABELS = {"in_progress": _l("In progress"), "needs_grading": _l("Waiting for grading"),
                "finished": _l("Finished")}
CLOSED_BY_LABELS = {"learner": _l("learner"), "deadline": _l("time limit"), "staff": _l("staff")}
PASSED_FILTER = {"yes": True, "no": False}


def _course(course_id: int) -> Course:
    # Role first, so that learners are refused before any lookup tells them which courses exist.
    if not current_user.has_role("trainer", "admin"):
        abort(403)
    course = db.get_or_404(Course, course_id)
    if not course_services.can_manage_course(current_user, course):
        abort(403)
    return course


def _quiz(course: Course, lesson_key: str) -> tuple[Lesson, list[Lesson]]:
    """The quiz's current lesson and all its versions' lessons; 404 unless it is a quiz of the course."""
    versions = reports.quiz_versions(course).get(lesson_key)
    if not versions:
        abort(404)
    return versions[0], versions


class ListPage:
    """A page of an already computed list, with what the pagination macro reads."""

    def __init__(self, rows: list, page: int, per_page: int):
        self.total = len(rows)
        self.pages = max(1, math.ceil(self.total / per_page))
        self.page = min(max(1, page), self.pages)
        self.items = rows[(self.page - 1) * per_page:self.page * per_page]
        self.has_prev, self.has_next = self.page > 1, self.page < self.pages
        self.prev_num, self.next_num = self.page - 1, self.page + 1


# ---------------------------------------------------------------- CSV


def _cell(value) -> str:
    # Numbers are written as numbers: only text can smuggle a formula, and "-10" is a (negative) gain.
    if isinstance(value, bool):
        return "ya" if value else "tidak"
    if isinstance(value, int | float):
        return f"{value:.10g}"
    if isinstance(value, dt.datetime):
        return to_user_timezone(value).strftime("%Y-%m-%d %H:%M")
    return _neutral(value)


def _csv(filename: str, header: list[str], rows: Iterable[list]) -> Response:
    def body() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        yield buffer.getvalue()
        for row in rows:
            buffer.seek(0)
            buffer.truncate()
            writer.writerow([_cell(value) for value in row])
            yield buffer.getvalue()

    # The rows are read from the database while the response streams: keep the app context until then.
    return Response(stream_with_context(body()), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _filename(prefix: str, course: Course) -> str:
    return f"{prefix}-{course.code}-{dt.date.today().isoformat()}.csv"


# ---------------------------------------------------------------- attempts


def _attempt_filters() -> dict:
    state = request.args.get("state")
    return {"state": state if state in ATTEMPT_STATES else None,
            "passed": PASSED_FILTER.get(request.args.get("passed", ""))}


@bp.route("/kelola/kursus/<int:course_id>/kuis/<lesson_key>/percobaan")
@login_required
def attempts(course_id: int, lesson_key: str):
    course = _course(course_id)
    lesson, versions = _quiz(course, lesson_key)
    filters = _attempt_filters()
    page = db.paginate(reports.attempts_query(course.id, lesson.key, **filters), per_page=PER_PAGE,
                       error_out=False)
    settings = reports.settings_by_lesson(versions)
    rows = list(reports.attempt_rows(page.items, settings, settings[lesson.id]))
    return render_template("quizzes/report_attempts.html", course=course, lesson=lesson, page=page, rows=rows,
                           kind_label=KIND_LABELS.get(settings[lesson.id].kind), state_labels=STATE_LABELS,
                           closed_by_labels=CLOSED_BY_LABELS, state=filters["state"] or "",
                           passed=request.args.get("passed") if filters["passed"] is not None else "")


@bp.route("/kelola/kursus/<int:course_id>/kuis/<lesson_key>/percobaan.csv")
@login_required
def attempts_csv(course_id: int, lesson_key: str):
    course = _course(course_id)
    lesson, versions = _quiz(course, lesson_key)
    settings = reports.settings_by_lesson(versions)
    query = reports.attempts_query(course.id, lesson.key, **_attempt_filters()).execution_options(yield_per=500)

    def rows():
        for row in reports.attempt_rows(db.session.scalars(query), settings, settings[lesson.id]):
            yield [row.nip, row.name, row.unit, row.number, row.started_at, row.submitted_at, row.state,
                   row.closed_by, row.score, row.band, row.passed]

    header = ["nip", "nama", "unit", "percobaan", "mulai", "dikumpulkan", "status", "ditutup_oleh", "nilai",
              "predikat", "lulus"]
    return _csv(_filename(f"percobaan-{lesson.key[:8]}", course), header, rows())


# ---------------------------------------------------------------- pre/post


@bp.route("/kelola/kursus/<int:course_id>/pre-post")
@login_required
def prepost(course_id: int):
    course = _course(course_id)
    report = reports.prepost(course)
    page = ListPage(report.rows, request.args.get("page", 1, type=int), PER_PAGE * 2)
    return render_template("quizzes/report_prepost.html", course=course, report=report, page=page)


@bp.route("/kelola/kursus/<int:course_id>/pre-post.csv")
@login_required
def prepost_csv(course_id: int):
    course = _course(course_id)
    report = reports.prepost(course)

    def rows():
        for row in report.rows:
            gain = row.normalised_gain
            yield [row.nip, row.name, row.unit, row.pre, row.post, row.gain,
                   None if gain is None else round(gain, 4)]

    header = ["nip", "nama", "unit", "nilai_pre", "nilai_post", "kenaikan", "gain_ternormalisasi"]
    return _csv(_filename("pre-post", course), header, rows())


# ---------------------------------------------------------------- item analysis


@bp.route("/kelola/kursus/<int:course_id>/kuis/<lesson_key>/analisis")
@login_required
def analysis(course_id: int, lesson_key: str):
    course = _course(course_id)
    lesson, _versions = _quiz(course, lesson_key)
    settings = QuizSettings.of(lesson.quiz)
    order = [slot["key"] for slot in settings.slots if "key" in slot]
    report = reports.item_analysis(course.id, lesson.key, order=order)
    return render_template("quizzes/report_analysis.html", course=course, lesson=lesson, report=report,
                           kind_label=KIND_LABELS.get(settings.kind), flag_labels=reports.FLAG_LABELS,
                           thresholds={"easy": reports.TOO_EASY, "hard": reports.TOO_HARD, "weak": reports.WEAK})
