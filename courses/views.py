"""Catalog, course pages and studying (``/kursus``), and course authoring for trainers (``/kelola``)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf.csrf import ValidationError, generate_csrf, validate_csrf
from sqlalchemy import func, select

from courses import scorm, services
from courses.authoring import permissions as authoring_permissions
from courses.authoring import services as authoring_services
from courses.authoring import views as authoring_views
from courses.forms import (
    JALUR_LABELS,
    KIND_LABELS,
    LESSON_KIND_LABELS,
    RULE_LABELS,
    AssignForm,
    CatalogForm,
    CategoryForm,
    CourseForm,
    HeartbeatForm,
    LessonForm,
    ModuleForm,
    PublishForm,
    TeamForm,
)
from courses.models import (
    MANAGERIAL_COMPETENCIES,
    Category,
    Course,
    CourseVersion,
    Enrolment,
    Lesson,
    Module,
)
from lms import services as people
from lms.extensions import db
from lms.forms import EmptyForm, options
from lms.models import Institution, User
from lms.permissions import role_required
from lms.storage import TooLarge, sniff, store

bp = Blueprint("courses", __name__)

CATALOG_PER_PAGE = 20
# Upload limits and accepted types per lesson kind, decided by the file's content.
UPLOAD_RULES = {
    "pdf": ({"application/pdf"}, 50 * 1024 * 1024),
    "video": ({"video/mp4", "video/webm"}, 500 * 1024 * 1024),
    "file": ({"application/pdf", "application/zip", "application/x-ole-storage", "image/png", "image/jpeg",
              "image/gif", "image/webp"}, 100 * 1024 * 1024),
    "captions": ({"text/vtt"}, 1024 * 1024),
    "image": ({"image/png", "image/jpeg", "image/gif", "image/webp"}, 5 * 1024 * 1024),
}
AUTHORING_KINDS = ("text", "pdf", "video", "file", "link", "scorm", "quiz")


def _labels():
    return {"kind_labels": KIND_LABELS, "jalur_labels": JALUR_LABELS, "lesson_kind_labels": LESSON_KIND_LABELS,
            "rule_labels": RULE_LABELS, "competency_names": MANAGERIAL_COMPETENCIES}


def _apply_errors(form, errors) -> None:
    for field, message in errors.items():
        if field in form:
            form[field].errors.append(message)
        elif isinstance(message, list):
            for item in message:
                flash(str(item), "error")
        else:
            flash(str(message), "error")


def _course_by_code(code: str) -> Course:
    course = db.session.scalar(select(Course).where(Course.code == code.upper()))
    if course is None:
        abort(404)
    return course


def _authoring(*, coauthors: bool = False) -> None:
    """Authoring is for trainers and admins (and, where ``coauthors``, for co-authors on a course team):
    others are refused before any object is looked up, so that 403 and 404 do not tell them which ids exist."""
    if current_user.has_role("trainer", "admin"):
        return
    if coauthors and current_user.has_role("coauthor") and authoring_permissions.is_on_any_team(current_user):
        return
    abort(403)


def _manage(course_id: int) -> Course:
    _authoring()
    course = db.get_or_404(Course, course_id)
    if not services.can_manage_course(current_user, course):
        abort(403)
    return course


def _edit(course_id: int) -> Course:
    """The course whose draft the current user may edit: an owner, an admin or a co-author of its team."""
    _authoring(coauthors=True)
    course = db.get_or_404(Course, course_id)
    if not authoring_permissions.can_edit_draft(current_user, course):
        abort(403)
    return course


def _store_upload(storage, kind: str) -> tuple[str, str, int]:
    """Store an upload after checking its content; returns (digest, detected type, size)."""
    accepted, limit = UPLOAD_RULES[kind]
    head = storage.stream.read(64)
    storage.stream.seek(0)
    detected = sniff(head)
    if detected is None and head[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        detected = "application/x-ole-storage"
    if detected not in accepted:
        raise people.ValidationFailed({"file": _("This file is not an accepted type (%(types)s); the name "
                                                 "does not matter, its content does.",
                                                 types=", ".join(sorted(t.split("/")[1] for t in accepted)))})
    try:
        digest, size = store().put(storage.stream, max_bytes=limit)
    except TooLarge:
        raise people.ValidationFailed({"file": _("The file is larger than %(mb)s MB.",
                                                 mb=limit // (1024 * 1024))}) from None
    return digest, detected, size


def _safe_name(name: str | None) -> str:
    name = (name or "berkas").replace("\\", "/").rsplit("/", 1)[-1]
    return re.sub(r"[^\w.\- ]+", "_", name).strip()[:200] or "berkas"


# ---------------------------------------------------------------- catalog and course page


@bp.route("/kursus")
@login_required
def catalog():
    form = CatalogForm(request.args)
    categories = db.session.scalars(select(Category).where(Category.is_active.is_(True))
                                    .order_by(Category.position, Category.name)).all()
    form.category.choices = options([(None, _("All categories")), *[(c.id, c.name) for c in categories]])
    filters = {}
    if form.validate():
        filters = dict(q=form.q.data or "", category_id=form.category.data, competency_kind=form.kind.data or None,
                       competency=form.competency.data or None, jalur=form.jalur.data or None,
                       jp_min=form.jp_min.data, jp_max=form.jp_max.data, sort=form.sort.data or "title")
    page = db.paginate(services.catalog_query(**filters), per_page=CATALOG_PER_PAGE, error_out=False,
                       count=True)
    enrolled = {}
    if page.items:
        enrolled = dict(db.session.execute(
            select(Enrolment.course_id, Enrolment.state).where(
                Enrolment.user_id == current_user.id, Enrolment.state != "withdrawn",
                Enrolment.course_id.in_([c.id for c in page.items]))).tuples().all())
    return render_template("courses/catalog.html", form=form, page=page, enrolled=enrolled, **_labels())


@bp.route("/kursus/<code>")
@login_required
def course(code: str):
    course = _course_by_code(code)
    if not services.can_view_course(current_user, course):
        abort(404)
    enrolment = services.current_enrolment(current_user, course)
    version = enrolment.version if enrolment else (course.published_version or course.draft)
    if version is None:
        abort(404)
    states = services.outline_progress(enrolment, version)
    missing = services.missing_prerequisites(current_user, course) if enrolment is None else []
    return render_template("courses/course.html", course=course, version=version, enrolment=enrolment,
                           states=states, missing=missing, form=EmptyForm(),
                           can_manage=services.can_manage_course(current_user, course), **_labels())


@bp.route("/kursus/<code>/ikuti", methods=["POST"])
@login_required
def enrol(code: str):
    course = _course_by_code(code)
    if not services.can_view_course(current_user, course):
        abort(404)
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        enrolment = services.enrol(current_user, course)
    except services.NotEligible as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("courses.course", code=course.code))
    db.session.commit()
    flash(_("You are enrolled in %(title)s. Happy learning!", title=course.title), "success")
    return redirect(url_for("courses.resume", code=course.code) if enrolment else url_for("courses.course",
                                                                                          code=course.code))


@bp.route("/kursus/<code>/lanjut")
@login_required
def resume(code: str):
    course = _course_by_code(code)
    enrolment = services.current_enrolment(current_user, course)
    if enrolment is None:
        return redirect(url_for("courses.course", code=course.code))
    lesson = services.resume_lesson(enrolment)
    if lesson is None:
        return redirect(url_for("courses.course", code=course.code))
    return redirect(url_for("courses.lesson", code=course.code, lesson_id=lesson.id))


def _lesson_access(code: str, lesson_id: int) -> tuple[Course, Lesson, Enrolment | None]:
    """The lesson if the user studies its version, or manages the course (preview); else 404."""
    course = _course_by_code(code)
    lesson = db.get_or_404(Lesson, lesson_id)
    version = lesson.module.version
    if version.course_id != course.id:
        abort(404)
    enrolment = services.current_enrolment(current_user, course)
    if enrolment is not None and enrolment.version_id == version.id:
        return course, lesson, enrolment
    if services.can_manage_course(current_user, course) or authoring_permissions.can_read_draft(current_user, course):
        return course, lesson, None
    abort(404)


@bp.route("/kursus/<code>/pelajaran/<int:lesson_id>")
@login_required
def lesson(code: str, lesson_id: int):
    course, lesson, enrolment = _lesson_access(code, lesson_id)
    version = lesson.module.version
    row = None
    if enrolment is not None and enrolment.state != "withdrawn":
        row = services.record_visit(enrolment, lesson)
        db.session.commit()
    lessons = version.lessons()
    index = next(i for i, item in enumerate(lessons) if item.id == lesson.id)
    states = services.outline_progress(enrolment, version)
    player = _scorm_player(course, lesson, enrolment) if lesson.kind == "scorm" and lesson.package else None
    quiz = None
    if lesson.kind == "quiz":
        from courses.quizzes.views import intro

        quiz = intro(course, lesson, enrolment if enrolment is not None and enrolment.state != "withdrawn" else None)
    response = make_response(render_template(
        "courses/lesson.html", course=course, version=version, lesson=lesson, enrolment=enrolment, row=row,
        states=states, previous=lessons[index - 1] if index > 0 else None,
        next=lessons[index + 1] if index + 1 < len(lessons) else None, preview=enrolment is None,
        heartbeat=HeartbeatForm(), player=player, quiz=quiz, **_labels()))
    if player is not None:
        from lms.web import CSP

        response.headers["Content-Security-Policy"] = f"{CSP}; frame-src 'self' {player['origin'] or ''}".rstrip()
    return response


def _scorm_player(course: Course, lesson: Lesson, enrolment: Enrolment | None) -> dict:
    """What the lesson page needs to run a SCO: the framed URL, the saved CMI and where commits go."""
    package = lesson.package
    scos = package["scos"]
    wanted = request.args.get("sco")
    sco = next((s for s in scos if s["identifier"] == wanted), scos[0])
    origin = scorm.content_origin()
    token = scorm.make_token(lesson_id=lesson.id, enrolment_id=enrolment.id if enrolment else None,
                             sco=sco["identifier"], app_origin=scorm.app_origin())
    state = scorm.load_state(enrolment.id if enrolment else None, lesson.key, sco["identifier"])
    cmi = scorm.initial_cmi(state, package["version"], learner_id=current_user.nip or str(current_user.id),
                            learner_name=current_user.full_name)
    return {"version": package["version"], "sco": sco, "scos": scos, "origin": origin, "cmi": cmi,
            "src": f"{origin}{url_for('courses.package_file', token=token, path='__bangkom__/player.html')}",
            "commit": url_for("courses.scorm_commit", code=course.code, lesson_id=lesson.id, sco=sco["identifier"],
                              csrf=generate_csrf())}


@bp.route("/kursus/<code>/pelajaran/<int:lesson_id>/scorm/<path:sco>", methods=["POST"])
@login_required
def scorm_commit(code: str, lesson_id: int, sco: str):
    """The runtime in the lesson page commits CMI data here (JSON, flattened ``cmi.*`` keys).

    The CSRF token travels in the URL: the last commit, sent while the page closes, goes as a beacon,
    which cannot carry headers.
    """
    if current_app.config.get("WTF_CSRF_ENABLED", True):
        try:
            validate_csrf(request.args.get("csrf"))
        except ValidationError:
            return jsonify(result=False, errorCode=101, message="expired page; reload"), 400
    course, lesson, enrolment = _lesson_access(code, lesson_id)
    if lesson.kind != "scorm" or not lesson.package:
        abort(404)
    if sco not in {s["identifier"] for s in lesson.package["scos"]}:
        abort(404)
    if request.content_length and request.content_length > scorm.MAX_CMI_BYTES:
        return jsonify(result=False, errorCode=101, message="too large"), 413
    # A beacon may label its JSON text/plain; the token above already proves where it comes from.
    data = request.get_json(silent=True, force=True)
    if not isinstance(data, dict):
        return jsonify(result=False, errorCode=101, message="JSON object expected"), 400
    if enrolment is None or enrolment.state == "withdrawn":
        return jsonify(result=True, errorCode=0, preview=True)
    row = services.record_scorm_commit(enrolment, lesson, sco, data)
    db.session.commit()
    return jsonify(result=True, errorCode=0, lesson_state=row.state, course_state=enrolment.state,
                   percent=enrolment.progress_percent)


CONTENT_CSP = ("default-src 'self' data: blob: 'unsafe-inline' 'unsafe-eval'; connect-src 'self'; "
               "form-action 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'self' {ancestor}")


@bp.route("/scorm/<token>/<path:path>")
def package_file(token: str, path: str):
    """Package files, on the content origin only, for whoever holds the lesson page's signed token."""
    claims = scorm.read_token(token)
    if claims is None:
        abort(404)
    lesson_id, _enrolment_id, sco_id, ancestor = claims
    origin = scorm.content_origin(ancestor)
    if origin and scorm.app_origin() != origin:
        abort(404)  # never run package scripts on the application's own origin
    lesson = db.session.get(Lesson, lesson_id)
    if lesson is None or lesson.kind != "scorm" or not lesson.package:
        abort(404)
    if path == "__bangkom__/runtime.js":
        return _runtime_script(lesson, sco_id, claims[1], ancestor)
    sco = next((s for s in lesson.package["scos"] if s["identifier"] == sco_id), None)
    if path == "__bangkom__/player.html" and sco is not None:
        # The package's pages look for the API in their parent windows: this page holds it and frames
        # the SCO, both on the content origin.
        launch = url_for("courses.package_file", token=token, path=sco["href"].split("?")[0])
        if "?" in sco["href"]:
            launch += "?" + sco["href"].split("?", 1)[1]
        response = make_response(render_template(
            "courses/scorm_frame.html", launch=launch,
            runtime=url_for("courses.package_file", token=token, path="__bangkom__/runtime.js")))
    else:
        root = scorm.package_root(lesson.file_sha256)
        target = (root / path).resolve()
        if root.resolve() not in target.parents or not target.is_file():
            abort(404)
        response = send_file(target, conditional=True, max_age=3600)
    response.headers["Content-Security-Policy"] = CONTENT_CSP.format(ancestor=ancestor) + (
        "" if origin else "; sandbox allow-scripts allow-forms allow-popups allow-downloads")
    response.headers["X-Frame-Options"] = ""
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


def _runtime_script(lesson: Lesson, sco_id: str, enrolment_id: int | None, ancestor: str) -> Response:
    """The SCORM API the package finds in its own window: it relays to the lesson page by postMessage."""
    import json

    enrolment = db.session.get(Enrolment, enrolment_id) if enrolment_id else None
    user = enrolment.user if enrolment else None
    state = scorm.load_state(enrolment_id, lesson.key, sco_id)
    cmi = scorm.initial_cmi(state, lesson.package["version"],
                            learner_id=(user.nip or str(user.id)) if user else "preview",
                            learner_name=user.full_name if user else "Preview")
    library = (Path(current_app.static_folder) / "vendor/scorm-again/cross-frame-api.min.js").read_text("utf-8")
    body = (library + "\n;(function(){var api=new CrossFrameAPI(" + json.dumps(ancestor)
            + ",window.parent);var seed=" + json.dumps(cmi)
            + ";Object.keys(seed).forEach(function(k){api._cache.set(k,String(seed[k]));});"
            + "window.API=api;window.API_1484_11=api;})();\n")
    response = Response(body, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/kursus/<code>/pelajaran/<int:lesson_id>/aktivitas", methods=["POST"])
@login_required
def heartbeat(code: str, lesson_id: int):
    """Time spent on a lesson, sent every minute by the page (and on leaving it)."""
    course, lesson, enrolment = _lesson_access(code, lesson_id)
    form = HeartbeatForm()
    if not form.validate_on_submit():
        return jsonify(error="bad request"), 400
    if enrolment is None or enrolment.state == "withdrawn":
        return jsonify(state="preview")
    row = services.record_visit(enrolment, lesson, seconds=form.seconds.data or 0)
    db.session.commit()
    if request.accept_mimetypes.best == "application/json" or request.is_json:
        return jsonify(state=row.state, seconds=row.seconds_spent, course_state=enrolment.state,
                       percent=enrolment.progress_percent)
    return redirect(url_for("courses.lesson", code=course.code, lesson_id=lesson.id))


@bp.route("/kursus/<code>/pelajaran/<int:lesson_id>/berkas")
@bp.route("/kursus/<code>/pelajaran/<int:lesson_id>/<any(teks):part>")
@login_required
def lesson_file(code: str, lesson_id: int, part: str = "berkas"):
    _course, lesson, _enrolment = _lesson_access(code, lesson_id)
    if part == "teks":
        digest, mimetype, name, inline = lesson.captions_sha256, "text/vtt", "captions.vtt", True
    else:
        digest, mimetype, name = lesson.file_sha256, lesson.file_type, lesson.file_name
        inline = lesson.kind in ("pdf", "video")
    if not digest or not store().exists(digest):
        abort(404)
    response = send_file(store().path(digest), mimetype=mimetype or "application/octet-stream",
                         as_attachment=not inline, download_name=_safe_name(name), conditional=True,
                         etag=digest, max_age=3600)
    response.headers["Cache-Control"] = "private, max-age=3600"
    if inline:
        # The PDF viewer runs in a frame of our own page; nothing in the file may run scripts.
        response.headers["Content-Security-Policy"] = ("default-src 'none'; style-src 'unsafe-inline'; "
                                                       "img-src data:; frame-ancestors 'self'")
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


@bp.route("/kursus/<int:course_id>/gambar/<digest>")
@login_required
def image(course_id: int, digest: str):
    course = db.get_or_404(Course, course_id)
    if not services.can_view_course(current_user, course) or not re.fullmatch(r"[0-9a-f]{64}", digest):
        abort(404)
    if not store().exists(digest):
        abort(404)
    with store().open(digest) as fh:
        mimetype = sniff(fh.read(64))
    if mimetype not in UPLOAD_RULES["image"][0]:
        abort(404)
    response = send_file(store().path(digest), mimetype=mimetype, conditional=True, etag=digest, max_age=86400)
    response.headers["Cache-Control"] = "private, max-age=86400, immutable"
    return response


@bp.route("/kursus/<int:course_id>/sampul")
@login_required
def cover(course_id: int):
    course = db.get_or_404(Course, course_id)
    if not course.cover_sha256 or not services.can_view_course(current_user, course):
        abort(404)
    return image(course.id, course.cover_sha256)


# ---------------------------------------------------------------- authoring


def _course_form(course: Course | None = None) -> CourseForm:
    form = CourseForm(obj=course)
    categories = db.session.scalars(select(Category).order_by(Category.position, Category.name)).all()
    form.category_id.choices = options([(None, "—"), *[(c.id, c.name) for c in categories]])
    if course is not None and request.method == "GET":
        for comp in course.competencies:
            field = form._fields.get("comp_" + comp.code.replace(".", "_"))
            if field is not None:
                field.data = comp.level
        version = course.draft or course.published_version
        form.objectives.data = version.objectives if version else ""
    return form


def _course_fields(form: CourseForm) -> tuple[dict, dict]:
    fields = {name: form[name].data for name in ("code", "title", "summary", "category_id", "competency_kind",
                                                  "jp", "jalur", "jenis_diklat", "language", "validity_years",
                                                  "is_open")}
    fields["summary"] = fields["summary"] or ""
    competencies = {code: form["comp_" + code.replace(".", "_")].data for code in MANAGERIAL_COMPETENCIES}
    return fields, competencies


@bp.route("/kelola/kursus")
@role_required("trainer", "admin")
def manage_list():
    page = db.paginate(services.owned_courses(current_user), per_page=25, error_out=False)
    counts = {}
    if page.items:
        counts = dict(db.session.execute(
            select(Enrolment.course_id, func.count(Enrolment.id)).where(
                Enrolment.course_id.in_([c.id for c in page.items]), Enrolment.state != "withdrawn")
            .group_by(Enrolment.course_id)).tuples().all())
    return render_template("courses/manage_list.html", page=page, counts=counts, **_labels())


@bp.route("/kelola/kursus/baru", methods=["GET", "POST"])
@role_required("trainer", "admin")
def course_new():
    form = _course_form()
    if form.validate_on_submit():
        fields, competencies = _course_fields(form)
        try:
            if form.cover.data:
                fields["cover_sha256"] = _store_upload(form.cover.data, "image")[0]
            course = services.create_course(actor=current_user, competencies=competencies,
                                            objectives=form.objectives.data or "", **fields)
            if fields.get("cover_sha256"):
                course.cover_sha256 = fields["cover_sha256"]
        except people.ValidationFailed as exc:
            db.session.rollback()
            _apply_errors(form, {"cover" if k == "file" else k: v for k, v in exc.errors.items()})
        else:
            db.session.commit()
            flash(_("Course %(code)s created. Add modules and lessons to its draft.", code=course.code), "success")
            return redirect(url_for("courses.draft", course_id=course.id))
    return render_template("courses/course_form.html", form=form, course=None)


@bp.route("/kelola/kursus/<int:course_id>", methods=["GET", "POST"])
@login_required
def course_edit(course_id: int):
    course = _manage(course_id)
    form = _course_form(course)
    if form.validate_on_submit():
        fields, competencies = _course_fields(form)
        try:
            if form.cover.data:
                fields["cover_sha256"] = _store_upload(form.cover.data, "image")[0]
            cover = fields.pop("cover_sha256", None)
            services.update_course(course, actor=current_user, competencies=competencies, **fields)
            if cover:
                course.cover_sha256 = cover
            draft = course.draft
            if draft is not None:
                draft.objectives = form.objectives.data or ""
        except people.ValidationFailed as exc:
            db.session.rollback()
            _apply_errors(form, {"cover" if k == "file" else k: v for k, v in exc.errors.items()})
        else:
            db.session.commit()
            flash(_("The course has been saved."), "success")
            return redirect(url_for("courses.course_edit", course_id=course.id))
    return render_template("courses/course_form.html", form=form, course=course, action_form=EmptyForm(),
                           team_form=_team_form(course))


def _team_form(course: Course, formdata=None) -> TeamForm:
    form = TeamForm(formdata=formdata)
    form.institutions.choices = options([(i.id, i.name) for i in db.session.scalars(
        select(Institution).where(Institution.is_active.is_(True)).order_by(Institution.name))])
    form.prerequisites.choices = options([(c.id, f"{c.code} {c.title}") for c in db.session.scalars(
        select(Course).where(Course.id != course.id, Course.published_version_id.is_not(None))
        .order_by(Course.code))])
    if formdata is None:
        form.owners.data = "\n".join(u.email for u in course.owners)
        form.institutions.data = [i.id for i in course.institutions]
        form.prerequisites.data = [c.id for c in course.prerequisites]
    return form


@bp.route("/kelola/kursus/<int:course_id>/tim", methods=["POST"])
@login_required
def course_team(course_id: int):
    course = _manage(course_id)
    form = _team_form(course, formdata=request.form)
    if form.validate_on_submit():
        owners, unknown = [], []
        # One per line or separated by commas; a NIP may be written with spaces ("19850312 201001 1 003").
        for item in (x.strip() for x in re.split(r"[\r\n\t,;]+", form.owners.data or "")):
            if item:
                user = people.find_by_login(item)
                (owners.append(user) if user is not None else unknown.append(item))
        try:
            if unknown:
                raise people.ValidationFailed({"owners": _("Unknown: %(items)s.", items=", ".join(unknown))})
            institutions = [db.session.get(Institution, i) for i in form.institutions.data or []]
            required = [db.session.get(Course, i) for i in form.prerequisites.data or []]
            services.set_team(course, owners=owners, institutions=[i for i in institutions if i],
                              actor=current_user)
            services.set_prerequisites(course, [c for c in required if c], actor=current_user)
        except people.ValidationFailed as exc:
            db.session.rollback()
            for message in exc.errors.values():
                flash(str(message), "error")
        else:
            db.session.commit()
            flash(_("Owners, institutions and prerequisites saved."), "success")
            if not services.can_manage_course(current_user, course):
                return redirect(url_for("courses.manage_list"))
    else:
        flash(_("The form was not valid; nothing was changed."), "error")
    return redirect(url_for("courses.course_edit", course_id=course.id) + "#team")


@bp.route("/kelola/kategori", methods=["GET", "POST"])
@role_required("admin")
def categories():
    """The editable list of catalog categories."""
    form = CategoryForm()
    if form.validate_on_submit():
        try:
            services.save_category(None, name=form.name.data, position=form.position.data or 0,
                                   is_active=form.is_active.data, actor=current_user)
        except people.ValidationFailed as exc:
            db.session.rollback()
            _apply_errors(form, exc.errors)
        else:
            db.session.commit()
            flash(_("Category added."), "success")
            return redirect(url_for("courses.categories"))
    rows = db.session.execute(
        select(Category, func.count(Course.id)).join(Course, Course.category_id == Category.id, isouter=True)
        .group_by(Category.id).order_by(Category.position, Category.name)).tuples().all()
    return render_template("courses/categories.html", form=form, rows=rows)


@bp.route("/kelola/kategori/<int:category_id>", methods=["GET", "POST"])
@role_required("admin")
def category_edit(category_id: int):
    category = db.get_or_404(Category, category_id)
    form = CategoryForm(obj=category)
    if form.validate_on_submit():
        try:
            services.save_category(category, name=form.name.data, position=form.position.data or 0,
                                   is_active=form.is_active.data, actor=current_user)
        except people.ValidationFailed as exc:
            db.session.rollback()
            _apply_errors(form, exc.errors)
        else:
            db.session.commit()
            flash(_("Category saved."), "success")
            return redirect(url_for("courses.categories"))
    return render_template("courses/category_form.html", form=form, category=category)


@bp.route("/kelola/kursus/<int:course_id>/draf")
@login_required
def draft(course_id: int):
    course = _edit(course_id)
    version = course.draft
    return render_template("courses/draft.html", course=course, version=version,
                           checklist=services.draft_checklist(version) if version else [],
                           module_form=ModuleForm(formdata=None), publish_form=PublishForm(formdata=None),
                           action_form=EmptyForm(), kinds=AUTHORING_KINDS, **_labels())


@bp.route("/kelola/kursus/<int:course_id>/draf/buka", methods=["POST"])
@login_required
def draft_open(course_id: int):
    course = _edit(course_id)
    if EmptyForm().validate_on_submit():
        services.ensure_draft(course, actor=current_user)
        db.session.commit()
        flash(_("A draft is open. Learners keep seeing the published version until you publish."), "success")
    return redirect(url_for("courses.draft", course_id=course.id))


def _draft_of(course: Course) -> CourseVersion:
    if course.draft is None:
        flash(_("Open a draft first; published versions do not change."), "error")
        abort(redirect(url_for("courses.draft", course_id=course.id)))
    return course.draft


@bp.route("/kelola/kursus/<int:course_id>/modul", methods=["POST"])
@login_required
def module_add(course_id: int):
    course = _edit(course_id)
    version = _draft_of(course)
    form = ModuleForm()
    if form.validate_on_submit():
        services.add_module(version, title=form.title.data, summary=form.summary.data or "")
        db.session.commit()
        flash(_("Module added."), "success")
    else:
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "error")
    return redirect(url_for("courses.draft", course_id=course.id) + "#modules")


def _module(module_id: int) -> tuple[Course, Module]:
    _authoring(coauthors=True)
    module = db.get_or_404(Module, module_id)
    course = _edit(module.version.course_id)
    if not module.version.is_draft:
        abort(409)
    if module.version.is_locked:
        raise services.NotEditable(services.locked_message())
    return course, module


@bp.route("/kelola/modul/<int:module_id>", methods=["GET", "POST"])
@login_required
def module_edit(module_id: int):
    course, module = _module(module_id)
    form = ModuleForm(obj=module)
    if form.validate_on_submit():
        services.update_module(module, title=form.title.data, summary=form.summary.data or "")
        db.session.commit()
        flash(_("Module saved."), "success")
        return redirect(url_for("courses.draft", course_id=course.id) + f"#module-{module.id}")
    return render_template("courses/module_form.html", form=form, course=course, module=module,
                           action_form=EmptyForm())


@bp.route("/kelola/modul/<int:module_id>/hapus", methods=["POST"])
@login_required
def module_delete(module_id: int):
    course, module = _module(module_id)
    if EmptyForm().validate_on_submit():
        services.delete_module(module)
        db.session.commit()
        flash(_("Module deleted."), "success")
    return redirect(url_for("courses.draft", course_id=course.id) + "#modules")


@bp.route("/kelola/<any(modul,pelajaran):what>/<int:item_id>/geser", methods=["POST"])
@login_required
def move(what: str, item_id: int):
    """Move up or down by buttons (the keyboard-accessible way; drag and drop posts to ``reorder``)."""
    if what == "modul":
        course, item = _module(item_id)
    else:
        course, item = _lesson_for_edit(item_id)
    delta = -1 if request.form.get("arah") == "naik" else 1
    if EmptyForm().validate_on_submit():
        services.move(item, delta)
        db.session.commit()
    anchor = f"#module-{item.id}" if what == "modul" else f"#lesson-{item.id}"
    return redirect(url_for("courses.draft", course_id=course.id) + anchor)


@bp.route("/kelola/kursus/<int:course_id>/urutan", methods=["POST"])
@login_required
def reorder(course_id: int):
    """Drag and drop: ``module`` (optional) and ``order`` (comma-separated ids) in the new order."""
    course = _edit(course_id)
    version = _draft_of(course)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        ids = [int(x) for x in (request.form.get("order") or "").split(",") if x.strip()]
    except ValueError:
        abort(400)
    parent = version
    if request.form.get("module"):
        parent = db.get_or_404(Module, int(request.form["module"]))
        if parent.version_id != version.id:
            abort(404)
    try:
        services.reorder(parent, ids)
    except people.ValidationFailed as exc:
        db.session.rollback()
        return jsonify(error=str(exc.errors.get("order"))), 409
    db.session.commit()
    return jsonify(ok=True)


def _lesson_for_edit(lesson_id: int) -> tuple[Course, Lesson]:
    _authoring(coauthors=True)
    lesson = db.get_or_404(Lesson, lesson_id)
    course = _edit(lesson.module.version.course_id)
    if not lesson.module.version.is_draft:
        abort(409)
    if lesson.module.version.is_locked:
        raise services.NotEditable(services.locked_message())
    return course, lesson


def _lesson_fields(form: LessonForm, kind: str, lesson: Lesson | None) -> dict:
    fields = {"title": form.title.data, "body_markdown": form.body_markdown.data or "",
              "url": (form.url.data or "").strip() or None, "minutes": form.minutes.data or 0,
              "is_required": form.is_required.data, "completion_rule": form.completion_rule.data,
              "completion_value": form.completion_value.data}
    if form.file.data and kind == "scorm":
        try:
            digest, size, info = scorm.import_package(form.file.data.stream)
        except scorm.PackageRefused as exc:
            raise people.ValidationFailed({"file": str(exc)}) from None
        fields.update(file_sha256=digest, file_size=size, file_type="application/zip",
                      file_name=_safe_name(form.file.data.filename), package=info.as_json())
        if not (fields["title"] or "").strip():
            fields["title"] = info.title
    elif form.file.data:
        upload_kind = "image" if kind == "text" else kind
        digest, detected, size = _store_upload(form.file.data, upload_kind)
        if kind == "text":
            # An image uploaded with a text lesson is appended to the text where the author can move it.
            src = url_for("courses.image", course_id=lesson.module.version.course_id if lesson else 0,
                          digest=digest) if lesson else None
            fields["_image"] = digest
            if src:
                fields["body_markdown"] += f"\n\n![{_safe_name(form.file.data.filename)}]({src})\n"
        else:
            fields.update(file_sha256=digest, file_type=detected, file_size=size,
                          file_name=_safe_name(form.file.data.filename))
    if form.captions.data and kind == "video":
        fields["captions_sha256"] = _store_upload(form.captions.data, "captions")[0]
    return fields


@bp.route("/kelola/modul/<int:module_id>/pelajaran/baru/<any(text,pdf,video,file,link,scorm,quiz):kind>",
          methods=["GET", "POST"])
@login_required
def lesson_new(module_id: int, kind: str):
    course, module = _module(module_id)
    form = LessonForm()
    if request.method == "GET":
        form.completion_rule.data = "package" if kind in ("scorm", "quiz") else "viewed"
    if form.validate_on_submit():
        try:
            fields = _lesson_fields(form, kind, None)
            image = fields.pop("_image", None)
            lesson = services.add_lesson(module, kind=kind, **fields)
            if image:
                src = url_for("courses.image", course_id=course.id, digest=image)
                services.update_lesson(lesson, body_markdown=lesson.body_markdown + f"\n\n![]({src})\n")
            authoring_services.created(lesson, actor=current_user)
        except people.ValidationFailed as exc:
            db.session.rollback()
            _apply_errors(form, exc.errors)
        else:
            db.session.commit()
            flash(_("Lesson added."), "success")
            if kind == "quiz":
                return redirect(url_for("quizzes.settings", lesson_id=lesson.id))
            return redirect(url_for("courses.draft", course_id=course.id) + f"#lesson-{lesson.id}")
    return render_template("courses/lesson_form.html", form=form, course=course, module=module, lesson=None,
                           kind=kind, **_labels())


@bp.route("/kelola/pelajaran/<int:lesson_id>", methods=["GET", "POST"])
@login_required
def lesson_edit(lesson_id: int):
    course, lesson = _lesson_for_edit(lesson_id)
    form = LessonForm(obj=lesson)
    conflict = None
    if request.method == "GET":
        form.base_revision.data = authoring_services.revision_number(lesson)
    if form.validate_on_submit():
        try:
            fields = _lesson_fields(form, lesson.kind, lesson)
            fields.pop("_image", None)
            authoring_services.save_lesson(lesson, actor=current_user, base_revision=form.base_revision.data or 0,
                                           **fields)
        except authoring_services.Conflict as exc:
            db.session.rollback()
            # Theirs is shown with a diff against what this person typed, which stays in the form; the form
            # is now based on their revision, so saving again (after merging) is accepted.
            conflict = authoring_views.conflict_context(lesson, exc.current, form)
            form.base_revision.data = exc.current.number if exc.current else 0
            form.base_revision.raw_data = [str(form.base_revision.data)]  # rendered from raw_data when set
            flash(str(exc), "error")
        except people.ValidationFailed as exc:
            db.session.rollback()
            _apply_errors(form, exc.errors)
        else:
            db.session.commit()
            flash(_("Lesson saved."), "success")
            return redirect(url_for("courses.draft", course_id=course.id) + f"#lesson-{lesson.id}")
    return render_template("courses/lesson_form.html", form=form, course=course, module=lesson.module,
                           lesson=lesson, kind=lesson.kind, action_form=EmptyForm(), conflict=conflict,
                           **_labels())


@bp.route("/kelola/pelajaran/<int:lesson_id>/hapus", methods=["POST"])
@login_required
def lesson_delete(lesson_id: int):
    course, lesson = _lesson_for_edit(lesson_id)
    if EmptyForm().validate_on_submit():
        services.delete_lesson(lesson)
        db.session.commit()
        flash(_("Lesson deleted."), "success")
    return redirect(url_for("courses.draft", course_id=course.id) + "#modules")


@bp.route("/kelola/kursus/<int:course_id>/terbitkan", methods=["POST"])
@login_required
def publish(course_id: int):
    course = _manage(course_id)
    version = _draft_of(course)
    form = PublishForm()
    if form.validate_on_submit():
        try:
            published = services.publish(version, actor=current_user, change_summary=form.change_summary.data or "")
        except people.ValidationFailed as exc:
            db.session.rollback()
            _apply_errors(form, exc.errors)
        else:
            db.session.commit()
            flash(_("Version %(n)s of %(code)s is published.", n=published.number, code=course.code), "success")
            return redirect(url_for("courses.course_edit", course_id=course.id))
    return redirect(url_for("courses.draft", course_id=course.id))


@bp.route("/kelola/kursus/<int:course_id>/pindahkan", methods=["POST"])
@login_required
def move_learners(course_id: int):
    course = _manage(course_id)
    if EmptyForm().validate_on_submit():
        moved = services.move_learners(course, actor=current_user)
        db.session.commit()
        flash(_("%(n)s learner(s) moved to version %(v)s; progress on unchanged lessons was kept.", n=moved,
                v=course.published_version.number if course.published_version else "-"), "success")
    return redirect(url_for("courses.course_edit", course_id=course.id))


@bp.route("/kelola/kursus/<int:course_id>/peserta")
@login_required
def learners(course_id: int):
    course = _manage(course_id)
    if request.args.get("format") == "csv":
        return _learners_csv(course)
    page = db.paginate(services.learner_report(course), per_page=50, error_out=False)
    return render_template("courses/learners.html", course=course, page=page,
                           stuck=services.stuck_points(course))


def _neutral(value) -> str:
    text = "" if value is None else str(value)
    # A cell starting with = + - @ would run as a formula in a spreadsheet.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _learners_csv(course: Course) -> Response:
    def rows():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["nip", "nama", "email", "versi", "sumber", "status", "progres_persen", "tenggat",
                         "terdaftar", "aktivitas_terakhir", "selesai"])
        yield buffer.getvalue()
        for enrolment in db.session.scalars(services.learner_report(course).execution_options(yield_per=500)):
            buffer.seek(0)
            buffer.truncate()
            user = enrolment.user
            writer.writerow([_neutral(v) for v in (
                user.nip, user.display_name, user.email, enrolment.version.number, enrolment.source,
                enrolment.state, enrolment.progress_percent, enrolment.due_on,
                enrolment.enrolled_at.date(), enrolment.last_activity_at and enrolment.last_activity_at.date(),
                enrolment.completed_at and enrolment.completed_at.date())])
            yield buffer.getvalue()

    filename = f"peserta-{course.code}-{dt.date.today().isoformat()}.csv"
    return Response(rows(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.route("/kursus/<code>/tugaskan", methods=["GET", "POST"])
@role_required("hr", "admin")
def assign(code: str):
    """Mandatory training: HR or an admin assigns a course to people or to whole units with a due date."""
    course = _course_by_code(code)
    if course.published_version_id is None:
        abort(404)
    form = AssignForm()
    form.unit_id.choices = options([(None, "—"), *people.unit_choices()])
    if form.validate_on_submit():
        # One per line or separated by commas; spaces stay, NIPs are often written "19850312 201001 1 003".
        wanted = [x.strip() for x in re.split(r"[\r\n\t,;]+", form.nips.data or "") if x.strip()]
        users, unknown = [], []
        for item in wanted:
            user = people.find_by_login(item)
            (users.append(user) if user is not None and user.is_active else unknown.append(item))
        if form.unit_id.data:
            subtree = people.unit_subtree_ids(form.unit_id.data)
            users += db.session.scalars(select(User).where(User.unit_id.in_(subtree),
                                                           User.is_active.is_(True))).all()
        if unknown:
            form.nips.errors.append(_("Unknown or inactive: %(items)s. Nothing was assigned.",
                                      items=", ".join(unknown[:20])))
        elif not users:
            form.nips.errors.append(_("Name at least one person or a unit."))
        elif form.due_on.data and form.due_on.data < dt.date.today():
            form.due_on.errors.append(_("The due date is in the past."))
        else:
            unique = list({u.id: u for u in users}.values())
            services.assign(course, unique, due_on=form.due_on.data, actor=current_user)
            db.session.commit()
            from lms.mail import send_mail

            link = current_app.config["BASE_URL"] + url_for("courses.course", code=course.code)
            for user in unique:
                with force_locale(user.locale or "id"):  # in the recipient's language, not the sender's
                    send_mail(user.email, _("Mandatory training: %(title)s", title=course.title),
                              render_template("mail/assignment.txt", user=user, course=course,
                                              due_on=form.due_on.data, link=link))
            flash(_("%(n)s person(s) assigned to %(code)s.", n=len(unique), code=course.code), "success")
            return redirect(url_for("courses.course", code=course.code))
    return render_template("courses/assign.html", form=form, course=course)


def filesize(size: int | None) -> str:
    from flask_babel import format_decimal

    if not size:
        return "0 KB"
    if size < 1024 * 1024:
        return f"{format_decimal(max(1, round(size / 1024)))} KB"
    return f"{format_decimal(round(size / (1024 * 1024), 1))} MB"


# ---------------------------------------------------------------- home sections


def learner_home_section() -> str:
    overview = services.learner_overview(current_user)
    year = dt.date.today().year
    # The JP ledger of certificates (completed courses plus HR-verified external training) when it is wired in.
    ledger = current_app.extensions.get("bangkom.jp_ledger")
    jp = ledger(current_user, year) if ledger else {"jp": services.jp_earned(current_user, year), "target": 20}
    return render_template("courses/_home_learner.html", overview=overview, year=year, jp=jp["jp"],
                           target=jp["target"], jp_cap=jp.get("cap"), jp_link=jp.get("link"),
                           today=dt.date.today())


def trainer_home_section() -> str:
    courses = db.session.scalars(services.owned_courses(current_user).limit(8)).all()
    return render_template("courses/_home_trainer.html", courses=courses)


def init_app(app) -> None:
    from flask_babel import lazy_gettext as _l

    from lms.extensions import csrf

    csrf.exempt(scorm_commit)  # checked in the view, from the URL (see its docstring)

    from lms import web

    app.register_blueprint(bp)
    from courses.quizzes import views as quiz_views

    app.register_blueprint(quiz_views.bp)
    app.add_template_filter(filesize)
    from courses.cli import courses_cli

    app.cli.add_command(courses_cli)
    web.add_navigation(app, "courses.catalog", _l("Courses"), None, position=1)
    web.add_navigation(app, "courses.manage_list", _l("My courses"), ("trainer", "admin"), position=2)
    web.add_admin_section(app, "courses.categories", _l("Categories"),
                          _l("The catalog's categories, their order and visibility."))
    web.add_home_section(app, "learner", learner_home_section)
    web.add_home_section(app, "trainer", trainer_home_section)
    from courses import demo

    app.extensions.setdefault("bangkom.demo_seeders", []).append(demo.seed)
    authoring_views.init_app(app)  # after the demo courses: its demo puts a team on PM-01



