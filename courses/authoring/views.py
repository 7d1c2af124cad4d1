"""Co-authoring pages (``/kelola/...``): the course team and its invitations, the review of a draft with its
comments, lesson history with diffs and restore, version comparison, the curriculum document and its PDF."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user
from sqlalchemy import select

from courses import services as course_services
from courses.authoring import permissions, services
from courses.authoring.forms import (
    PART_LABELS,
    TEAM_ROLE_LABELS,
    AcceptNewAccountForm,
    CommentForm,
    CurriculumForm,
    InvitationForm,
    InviteForm,
    MemberForm,
    ResolveForm,
    RestoreForm,
    TopicActionForm,
    TopicForm,
    TransitionForm,
)
from courses.authoring.models import (
    CourseInvitation,
    CurriculumTopic,
    LessonRevision,
    ReviewComment,
    TeamNotification,
)
from courses.models import Course, CourseVersion, Lesson
from lms import services as people
from lms.extensions import db
from lms.forms import EmptyForm, options
from lms.models import Institution, User
from lms.permissions import role_required

bp = Blueprint("authoring", __name__)

# Who reaches co-authoring pages at all; learners are refused before any object is looked up.
TEAM_AREA_ROLES = ("trainer", "coauthor", "hr", "admin")


def _labels() -> dict:
    return {"role_names": services.ROLE_LABELS, "state_labels": services.REVIEW_STATE_LABELS,
            "part_labels": PART_LABELS, "team_role_labels": TEAM_ROLE_LABELS}


def _apply_errors(form, errors) -> None:
    for field, message in errors.items():
        if field in form:
            form[field].errors.append(message)
        else:
            for item in message if isinstance(message, list) else [message]:
                flash(str(item), "error")


def _area() -> None:
    if not current_user.is_authenticated or not current_user.has_role(*TEAM_AREA_ROLES):
        abort(403)


def _course(course_id: int, allowed) -> Course:
    """Load (404), then authorise on the course (403)."""
    _area()
    course = db.get_or_404(Course, course_id)
    if not allowed(current_user, course):
        abort(403)
    return course


def _read(course_id: int) -> Course:
    return _course(course_id, permissions.can_read_draft)


def _editor(course_id: int) -> Course:
    return _course(course_id, permissions.can_edit_draft)


def _owner(course_id: int) -> Course:
    return _course(course_id, course_services.can_manage_course)


def _back(course: Course, anchor: str = "") -> str:
    return url_for("authoring.review", course_id=course.id) + anchor


def _current_version(course: Course) -> CourseVersion | None:
    return course.draft or course.published_version


def _version_arg(course: Course, name: str = "versi") -> CourseVersion | None:
    """The version named in the query string (of this course only), else the draft or the published one."""
    wanted = request.args.get(name, type=int)
    if wanted is None:
        return _current_version(course)
    version = db.session.get(CourseVersion, wanted)
    if version is None or version.course_id != course.id:
        abort(404)
    return version


# ---------------------------------------------------------------- my teams, notifications


@bp.route("/kelola/penyusunan")
@role_required(*TEAM_AREA_ROLES)
def my_teams():
    rows = services.team_courses(current_user)
    owned = db.session.scalars(course_services.owned_courses(current_user).limit(200)).all() \
        if current_user.has_role("trainer", "admin") else []
    return render_template("authoring/my_teams.html", rows=rows, owned=owned, **_labels())


@bp.route("/kelola/notifikasi", methods=["GET", "POST"])
@login_required
def notifications():
    form = EmptyForm()
    if request.method == "POST":
        if form.validate_on_submit():
            services.mark_read(current_user)
            db.session.commit()
        return redirect(url_for("authoring.notifications"))
    rows = db.session.scalars(select(TeamNotification).where(TeamNotification.user_id == current_user.id)
                              .order_by(TeamNotification.created_at.desc(), TeamNotification.id.desc())
                              .limit(100)).all()
    return render_template("authoring/notifications.html", rows=rows, form=form, text=services.notification_text)


# ---------------------------------------------------------------- the team


def _invite_form(formdata=None) -> InviteForm:
    form = InviteForm(formdata=formdata)
    form.institution_id.choices = options([(None, "—"), *[(i.id, i.name) for i in db.session.scalars(
        select(Institution).where(Institution.is_active.is_(True)).order_by(Institution.name))]])
    return form


def _team_page(course: Course, form: InviteForm, status: int = 200):
    invitations = db.session.scalars(select(CourseInvitation).where(
        CourseInvitation.course_id == course.id, CourseInvitation.accepted_at.is_(None),
        CourseInvitation.revoked_at.is_(None)).order_by(CourseInvitation.created_at.desc())).all()
    return render_template("authoring/team.html", course=course, form=form, members=services.members(course),
                           invitations=invitations, action_form=EmptyForm(), **_labels()), status


@bp.route("/kelola/kursus/<int:course_id>/penyusun")
@login_required
def team(course_id: int):
    course = _owner(course_id)
    return _team_page(course, _invite_form())


@bp.route("/kelola/kursus/<int:course_id>/penyusun/undang", methods=["POST"])
@login_required
def invite(course_id: int):
    course = _owner(course_id)
    form = _invite_form(request.form)
    if form.validate_on_submit():
        try:
            services.invite(course, email=form.email.data, role=form.role.data,
                            institution_id=form.institution_id.data, actor=current_user)
        except people.ValidationFailed as exc:
            db.session.rollback()
            _apply_errors(form, exc.errors)
        else:
            db.session.commit()
            flash(_("The invitation to %(email)s is on its way; the link works once, within %(days)s days.",
                    email=form.email.data.strip().lower(), days=services.INVITATION_DAYS), "success")
            return redirect(url_for("authoring.team", course_id=course.id))
    return _team_page(course, form, 200)


@bp.route("/kelola/kursus/<int:course_id>/penyusun/hapus", methods=["POST"])
@login_required
def remove_member(course_id: int):
    course = _owner(course_id)
    form = MemberForm()
    if form.validate_on_submit():
        user = db.session.get(User, form.user_id.data)
        try:
            if user is None:
                raise people.ServiceError(_("This person is not on the team."))
            services.remove_member(course, user, actor=current_user)
        except people.ServiceError as exc:
            db.session.rollback()
            flash(str(exc.message), "error")
        else:
            db.session.commit()
            flash(_("%(name)s is no longer on the team.", name=user.display_name), "success")
    return redirect(url_for("authoring.team", course_id=course.id))


@bp.route("/kelola/kursus/<int:course_id>/penyusun/batal", methods=["POST"])
@login_required
def revoke_invitation(course_id: int):
    course = _owner(course_id)
    form = InvitationForm()
    if form.validate_on_submit():
        invitation = db.session.get(CourseInvitation, form.invitation_id.data)
        if invitation is None or invitation.course_id != course.id:
            abort(404)
        services.revoke_invitation(invitation, actor=current_user)
        db.session.commit()
        flash(_("The invitation to %(email)s is withdrawn.", email=invitation.email), "success")
    return redirect(url_for("authoring.team", course_id=course.id))


@bp.route("/undangan/<token>", methods=["GET", "POST"])
def accept(token: str):
    """The link of an invitation e-mail: join the team, signed in as the invited address or with a new account."""
    invitation = services.find_invitation(token)
    if invitation is None:
        return render_template("authoring/invitation_invalid.html"), 404
    existing = db.session.scalar(select(User).where(User.email == invitation.email))
    form = AcceptNewAccountForm() if existing is None else EmptyForm()
    wrong_account = current_user.is_authenticated and current_user.email != invitation.email
    if request.method == "POST" and not wrong_account and form.validate_on_submit():
        if existing is not None and not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.path))
        try:
            if existing is None:
                member = services.accept_invitation(token, full_name=form.full_name.data, password=form.password.data)
            else:
                member = services.accept_invitation(token, user=current_user)
        except people.ValidationFailed as exc:
            db.session.rollback()
            _apply_errors(form, {"full_name" if k == "email" else k: v for k, v in exc.errors.items()})
        except people.ServiceError as exc:
            db.session.rollback()
            flash(str(exc.message), "error")
            return redirect(url_for("lms.home"))
        else:
            course = member.course
            user = member.user
            db.session.commit()
            if existing is None:
                # A fresh session for the new account, as at every sign-in (auth.login).
                lang = session.get("lang")
                session.clear()
                login_user(user)
                session["lang"] = user.locale or lang
            flash(_("Welcome to the team of %(code)s %(title)s.", code=course.code, title=course.title), "success")
            if member.role == "coauthor":
                return redirect(url_for("courses.draft", course_id=course.id))
            return redirect(url_for("authoring.review", course_id=course.id))
    return render_template("authoring/accept.html", invitation=invitation, form=form, existing=existing,
                           wrong_account=wrong_account, **_labels())


# ---------------------------------------------------------------- review


def _comment_form(version: CourseVersion, formdata=None) -> CommentForm:
    form = CommentForm(formdata=formdata)
    form.lesson_id.choices = options([(None, _("The whole version")),
                                      *[(lesson.id, lesson.title) for lesson in version.lessons()]])
    return form


def _review_page(course: Course, version: CourseVersion | None, *, comment_form=None, transition_form=None,
                 status: int = 200):
    role = permissions.team_role(current_user, course)
    comments = services.comments(version) if version else []
    by_lesson: dict[str | None, list[ReviewComment]] = {}
    for comment in comments:
        by_lesson.setdefault(comment.lesson_key, []).append(comment)
    actions = []
    if version is not None and version.is_draft:
        actions = [name for name, (starts, _to, _who) in services.TRANSITIONS.items()
                   if version.review_state in starts and services.may_transition(current_user, version, name)]
    return render_template(
        "authoring/review.html", course=course, version=version, role=role, comments=comments,
        by_lesson=by_lesson, actions=actions, team=services.team(course),
        history=services.review_history(version) if version else [],
        comment_form=comment_form or (_comment_form(version) if version else None),
        transition_form=transition_form or TransitionForm(formdata=None), resolve_form=ResolveForm(formdata=None),
        versions=[v for v in course.versions], marked=_marked, **_labels()), status


def _marked(lesson: Lesson, quotes: list[str]):
    """The lesson's text, escaped, with the quoted passages marked."""
    from markupsafe import Markup, escape

    text = escape(lesson.body_markdown or "")
    for quote in sorted({q for q in quotes if q}, key=len, reverse=True):
        # Markup.replace escapes its arguments and returns Markup: the text stays escaped.
        text = text.replace(escape(quote), Markup("<mark>%s</mark>") % quote)
    return text


@bp.route("/kelola/kursus/<int:course_id>/telaah")
@login_required
def review(course_id: int):
    course = _read(course_id)
    return _review_page(course, _version_arg(course))


@bp.route("/kelola/kursus/<int:course_id>/telaah/langkah", methods=["POST"])
@login_required
def transition(course_id: int):
    course = _read(course_id)
    version = course.draft
    if version is None:
        abort(409)
    form = TransitionForm()
    if not form.validate_on_submit() or form.transition.data not in services.TRANSITIONS:
        flash(_("The form was not valid; nothing was changed."), "error")
        return redirect(_back(course))
    if not services.may_transition(current_user, version, form.transition.data):
        abort(403)
    try:
        services.transition(version, form.transition.data, actor=current_user, comment=form.comment.data or "")
    except people.ValidationFailed as exc:
        db.session.rollback()
        _apply_errors(form, exc.errors)
        return _review_page(course, course.draft, transition_form=form, status=200)
    except people.ServiceError as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
        return redirect(_back(course))
    db.session.commit()
    flash({"submit": _("The draft is submitted for review. It cannot be edited until the reviewer answers."),
           "request_changes": _("Changes are requested; the co-authors can edit the draft again."),
           "approve": _("The draft is approved. An owner can publish it now."),
           "reopen": _("The draft is open for editing again.")}[form.transition.data], "success")
    return redirect(_back(course))


@bp.route("/kelola/kursus/<int:course_id>/telaah/komentar", methods=["POST"])
@login_required
def comment(course_id: int):
    course = _read(course_id)
    version = course.draft
    if version is None:
        abort(409)
    form = _comment_form(version, request.form)
    if form.validate_on_submit():
        lesson = None
        if form.lesson_id.data:
            lesson = db.session.get(Lesson, form.lesson_id.data)
            if lesson is None or lesson.module.version_id != version.id:
                abort(404)
        try:
            created = services.add_comment(version, actor=current_user, body=form.body.data, lesson=lesson,
                                           quote=form.quote.data or "")
        except people.ValidationFailed as exc:
            db.session.rollback()
            _apply_errors(form, exc.errors)
        else:
            db.session.commit()
            flash(_("Comment added."), "success")
            return redirect(_back(course, f"#comment-{created.id}"))
    return _review_page(course, version, comment_form=form)


@bp.route("/kelola/kursus/<int:course_id>/telaah/komentar/selesai", methods=["POST"])
@login_required
def resolve(course_id: int):
    course = _read(course_id)
    form = ResolveForm()
    if form.validate_on_submit():
        item = db.session.get(ReviewComment, form.comment_id.data)
        if item is None or item.version.course_id != course.id:
            abort(404)
        services.resolve_comment(item, actor=current_user, resolved=form.resolved.data != "0")
        db.session.commit()
        return redirect(_back(course, f"#comment-{item.id}"))
    return redirect(_back(course))


# ---------------------------------------------------------------- history, diffs, restore


def _lesson(lesson_id: int, allowed) -> tuple[Course, Lesson]:
    _area()
    lesson = db.get_or_404(Lesson, lesson_id)
    course = lesson.module.version.course
    if not allowed(current_user, course):
        abort(403)
    return course, lesson


@bp.route("/kelola/pelajaran/<int:lesson_id>/riwayat")
@login_required
def history(lesson_id: int):
    course, lesson = _lesson(lesson_id, permissions.can_read_draft)
    revisions = services.revisions(lesson.key)
    numbers = {r.number: r for r in revisions}
    a, b = request.args.get("a", type=int), request.args.get("b", type=int)
    comparison = None
    if revisions:
        newer = numbers.get(b) if b else revisions[0]
        older = numbers.get(a) if a else (revisions[1] if len(revisions) > 1 else None)
        if (a and a not in numbers) or (b and b not in numbers):
            abort(404)
        if older is not None and newer is not None:
            comparison = {"old": older, "new": newer,
                          "diff": services.revision_diff(services.content_of(older), services.content_of(newer))}
    return render_template("authoring/history.html", course=course, lesson=lesson, revisions=revisions,
                           comparison=comparison, restore_form=RestoreForm(formdata=None),
                           can_edit=permissions.can_edit_draft(current_user, course) and lesson.module.version.is_draft
                           and not lesson.module.version.is_locked, **_labels())


@bp.route("/kelola/pelajaran/<int:lesson_id>/riwayat/pulihkan", methods=["POST"])
@login_required
def restore(lesson_id: int):
    course, lesson = _lesson(lesson_id, permissions.can_edit_draft)
    if not lesson.module.version.is_draft:
        abort(409)
    form = RestoreForm()
    if not form.validate_on_submit():
        flash(_("Choose the revision to restore."), "error")
        return redirect(url_for("authoring.history", lesson_id=lesson.id))
    revision = services.get_revision(lesson.key, form.number.data)
    if revision is None:
        abort(404)
    try:
        services.restore_revision(lesson, revision, actor=current_user)
    except people.ValidationFailed as exc:
        db.session.rollback()
        for message in exc.errors.values():
            flash(str(message), "error")
    except people.ServiceError as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
    else:
        db.session.commit()
        flash(_("Revision %(n)s is restored into the draft as a new revision.", n=revision.number), "success")
    return redirect(url_for("authoring.history", lesson_id=lesson.id))


@bp.route("/kelola/kursus/<int:course_id>/bandingkan")
@login_required
def compare(course_id: int):
    course = _read(course_id)
    versions = list(course.versions)
    new = _version_arg(course, "b")
    old = None
    if request.args.get("a", type=int) is not None:
        old = _version_arg(course, "a")
    elif new is not None:
        old = db.session.get(CourseVersion, new.based_on_id) if new.based_on_id else None
        if old is None:
            earlier = [v for v in versions if v.id < new.id]
            old = earlier[-1] if earlier else None
    entries = services.version_diff(old, new) if old is not None and new is not None else []
    return render_template("authoring/compare.html", course=course, versions=versions, old=old, new=new,
                           entries=entries, **_labels())


def conflict_context(lesson: Lesson, current: LessonRevision | None, form) -> dict:
    """For a refused save: their revision, and what differs between theirs and the text being saved."""
    theirs = services.content_of(current) if current is not None else services.content_of(lesson)
    mine = {"title": form.title.data or "", "body_markdown": form.body_markdown.data or "",
            "fields": theirs["fields"]}
    return {"revision": current, "theirs": theirs, "diff": services.revision_diff(theirs, mine)}


# ---------------------------------------------------------------- the curriculum document


def _curriculum_page(course: Course, version: CourseVersion | None, *, form=None, topic_form=None, status=200):
    curriculum = services.curriculum_of(version) if version else None
    editable = (version is not None and version.is_draft and not version.is_locked
                and permissions.can_edit_draft(current_user, course))
    if form is None:
        form = CurriculumForm(formdata=None, obj=curriculum)
        if curriculum is None and version is not None:
            form.objectives.data = version.objectives
            form.competencies.data = "\n".join(f"{c.code} {c.name} (level {c.level})" for c in course.competencies)
    if topic_form is None:
        topic_form = TopicForm(formdata=None)
        wanted = request.args.get("topik", type=int)
        if wanted and curriculum is not None:
            topic = next((t for t in curriculum.topics if t.id == wanted), None)
            if topic is None:
                abort(404)
            topic_form = TopicForm(formdata=None, obj=topic)
            topic_form.topic_id.data = str(topic.id)
    document = services.curriculum_document(version) if version else None
    return render_template("authoring/curriculum.html", course=course, version=version, curriculum=curriculum,
                           document=document, form=form, topic_form=topic_form, editable=editable,
                           action_form=TopicActionForm(formdata=None), **_labels()), status


@bp.route("/kelola/kursus/<int:course_id>/kurikulum", methods=["GET", "POST"])
@login_required
def curriculum(course_id: int):
    if request.method == "GET":
        course = _read(course_id)
        return _curriculum_page(course, _version_arg(course))
    course = _editor(course_id)
    version = course.draft
    if version is None:
        abort(409)
    form = CurriculumForm()
    if form.validate_on_submit():
        try:
            services.save_curriculum(version, actor=current_user,
                                     **{k: form[k].data or "" for k in services.CURRICULUM_FIELDS})
        except people.ValidationFailed as exc:
            db.session.rollback()
            _apply_errors(form, exc.errors)
        else:
            db.session.commit()
            flash(_("The curriculum is saved."), "success")
            return redirect(url_for("authoring.curriculum", course_id=course.id))
    return _curriculum_page(course, version, form=form)


@bp.route("/kelola/kursus/<int:course_id>/kurikulum/topik", methods=["POST"])
@login_required
def topic_save(course_id: int):
    course = _editor(course_id)
    version = course.draft
    if version is None:
        abort(409)
    form = TopicForm()
    if form.validate_on_submit():
        topic = None
        if form.topic_id.data:
            topic = db.session.get(CurriculumTopic, int(form.topic_id.data)) if form.topic_id.data.isdigit() else None
            if topic is None or topic.curriculum.version_id != version.id:
                abort(404)
        try:
            saved = services.save_topic(version, actor=current_user, topic=topic,
                                        **{k: form[k].data for k in services.TOPIC_FIELDS})
        except people.ValidationFailed as exc:
            db.session.rollback()
            _apply_errors(form, exc.errors)
        else:
            db.session.commit()
            flash(_("Topic “%(title)s” is saved.", title=saved.title), "success")
            return redirect(url_for("authoring.curriculum", course_id=course.id) + "#topics")
    return _curriculum_page(course, version, topic_form=form)


@bp.route("/kelola/kursus/<int:course_id>/kurikulum/topik/ubah", methods=["POST"])
@login_required
def topic_action(course_id: int):
    course = _editor(course_id)
    version = course.draft
    if version is None:
        abort(409)
    form = TopicActionForm()
    if form.validate_on_submit():
        topic = db.session.get(CurriculumTopic, form.topic_id.data)
        if topic is None or topic.curriculum.version_id != version.id:
            abort(404)
        if request.form.get("action") == "hapus":
            services.delete_topic(version, topic, actor=current_user)
            flash(_("Topic “%(title)s” is deleted.", title=topic.title), "success")
        else:
            services.move_topic(version, topic, -1 if request.form.get("action") == "naik" else 1, actor=current_user)
        db.session.commit()
    return redirect(url_for("authoring.curriculum", course_id=course.id) + "#topics")


@bp.route("/kelola/kursus/<int:course_id>/kurikulum.pdf")
@login_required
def curriculum_pdf(course_id: int):
    course = _read(course_id)
    version = _version_arg(course)
    if version is None:
        abort(404)
    from courses.authoring import pdf

    data = pdf.render_curriculum(services.curriculum_document(version))
    response = make_response(data)
    response.headers["Content-Type"] = "application/pdf"
    name = f"kurikulum-{course.code}-{version.label}-{dt.date.today().isoformat()}.pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# ---------------------------------------------------------------- wiring


def team_home_section() -> str:
    return render_template("authoring/_home_coauthor.html", rows=services.team_courses(current_user), **_labels())


def _template_helpers() -> dict:
    def authoring_role(course):
        return permissions.team_role(current_user, course)

    def unread_notifications():
        if not current_user.is_authenticated:
            return 0
        return services.unread_count(current_user)

    return {"authoring_role": authoring_role, "course_credits": services.course_credits,
            "review_state_labels": services.REVIEW_STATE_LABELS, "unread_notifications": unread_notifications,
            "can_manage_course": course_services.can_manage_course}


def init_app(app) -> None:
    from flask_babel import lazy_gettext as _l

    from lms import errors, web

    app.register_blueprint(bp)
    app.context_processor(_template_helpers)

    @app.errorhandler(course_services.NotEditable)
    def not_editable(error):
        db.session.rollback()
        return errors.render_error(409, str(error.message))

    web.add_navigation(app, "authoring.my_teams", _l("Co-authoring"), ("coauthor", "hr"), position=2)
    web.add_home_section(app, "coauthor", team_home_section)
    from courses.authoring import demo

    app.extensions.setdefault("bangkom.demo_seeders", []).append(demo.seed)
