"""Administration: users (with bulk import), org units, partner institutions, API tokens, audit log."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import String, cast, func, or_, select

from lms import imports, services
from lms.admin.forms import (
    AuditFilterForm,
    ImportForm,
    InstitutionForm,
    TokenForm,
    UnitForm,
    UserFilterForm,
    UserForm,
)
from lms.extensions import db
from lms.forms import EmptyForm, options
from lms.mail import send_mail
from lms.models import ApiToken, AuditEvent, Institution, OrgUnit, User, UserRole
from lms.permissions import can_manage_token, can_manage_user, role_required

bp = Blueprint("admin", __name__, url_prefix="/admin")

USER_FIELDS = ("email", "title_front", "full_name", "title_back", "nip", "nip_lama", "employee_type",
               "birth_place", "birth_date", "gender", "golongan", "jabatan_type", "jabatan_name", "unit_id",
               "institution_id", "phone", "locale")


@bp.before_request
@role_required("admin")
def require_admin():
    """Every page here is for administrators only."""


def _apply_errors(form, errors) -> None:
    for field, message in errors.items():
        if field in form:
            form[field].errors.append(message)
        else:
            flash(str(message), "error")


def _user_form(user: User | None = None) -> UserForm:
    form = UserForm(obj=user)
    if user is not None and request.method == "GET":
        form.roles.data = sorted(user.roles)
    form.unit_id.choices = options([(None, "—"), *services.unit_choices()])
    form.institution_id.choices = options([(None, "—"), *[
        (i.id, i.name) for i in db.session.scalars(
            select(Institution).where(Institution.is_active.is_(True)).order_by(Institution.name))]])
    return form


def _form_fields(form: UserForm) -> dict:
    fields = {name: form[name].data for name in USER_FIELDS}
    for name in ("employee_type", "gender", "golongan", "jabatan_type"):
        fields[name] = fields[name] or None
    return fields


# ---------------------------------------------------------------- users


@bp.route("/")
def index():
    from lms import web

    return render_template("admin/index.html", sections=web.admin_sections())


@bp.route("/pengguna")
def users():
    form = UserFilterForm(request.args)
    form.unit.choices = options([(None, _("All units")), *services.unit_choices(active_only=False)])
    query = select(User)
    if form.validate():
        if form.q.data:
            term = form.q.data.strip()
            digits = term.replace(" ", "")
            like = f"%{term.lower()}%"
            query = query.where(or_(func.lower(User.full_name).like(like), User.email.like(like),
                                    User.nip.like(f"{digits}%")))
        if form.unit.data:
            query = query.where(User.unit_id.in_(services.unit_subtree_ids(form.unit.data)))
        if form.role.data:
            query = query.where(User.id.in_(select(UserRole.user_id).where(UserRole.role == form.role.data)))
        if form.status.data:
            query = query.where(User.is_active.is_(form.status.data == "active"))
    page = db.paginate(query.order_by(User.full_name, User.id), per_page=current_app.config["USERS_PER_PAGE"],
                       error_out=False)
    return render_template("admin/users.html", form=form, page=page)


@bp.route("/pengguna/baru", methods=["GET", "POST"])
def user_new():
    form = _user_form()
    if request.method == "GET":
        form.roles.data = ["learner"]
    if form.validate_on_submit():
        try:
            user = services.create_user(roles=form.roles.data, actor=current_user, **_form_fields(form))
        except services.ValidationFailed as exc:
            db.session.rollback()
            _apply_errors(form, exc.errors)
        else:
            db.session.commit()
            flash(_("Account %(email)s created. Send a password link so the person can sign in.",
                    email=user.email), "success")
            return redirect(url_for("admin.user_edit", user_id=user.id))
    return render_template("admin/user_form.html", form=form, user=None)


@bp.route("/pengguna/<int:user_id>", methods=["GET", "POST"])
def user_edit(user_id: int):
    user = db.get_or_404(User, user_id)
    if not can_manage_user(current_user, user):
        abort(403)
    form = _user_form(user)
    if form.validate_on_submit():
        try:
            services.update_user(user, actor=current_user, roles=form.roles.data, **_form_fields(form))
        except services.ValidationFailed as exc:
            db.session.rollback()
            _apply_errors(form, exc.errors)
        else:
            db.session.commit()
            flash(_("Changes saved."), "success")
            return redirect(url_for("admin.user_edit", user_id=user.id))
    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.object_type == "users", AuditEvent.object_id == str(user.id)
    ).order_by(AuditEvent.id.desc()).limit(10)).all()
    return render_template("admin/user_form.html", form=form, user=user, action_form=EmptyForm(),
                           events=events)


@bp.route("/pengguna/<int:user_id>/status", methods=["POST"])
def user_set_active(user_id: int):
    user = db.get_or_404(User, user_id)
    if not can_manage_user(current_user, user):
        abort(403)
    form = EmptyForm()
    if form.validate_on_submit():
        activate = request.form.get("active") == "1"
        try:
            services.set_active(user, activate, actor=current_user)
        except services.ServiceError as exc:
            db.session.rollback()
            flash(str(exc.message), "error")
        else:
            db.session.commit()
            flash(_("Account reactivated.") if activate else
                  _("Account deactivated; the person has been signed out everywhere."), "success")
    return redirect(url_for("admin.user_edit", user_id=user.id))


@bp.route("/pengguna/<int:user_id>/tautan-sandi", methods=["POST"])
def user_send_reset(user_id: int):
    user = db.get_or_404(User, user_id)
    if not can_manage_user(current_user, user):
        abort(403)
    form = EmptyForm()
    if form.validate_on_submit():
        found = services.request_password_reset(user.email)
        if found is None:
            flash(_("Deactivated accounts cannot get a password link."), "error")
        else:
            services.audit("user.reset_sent", user, actor=current_user, summary=user.email)
            db.session.commit()
            token = found[1]
            link = f"{current_app.config['BASE_URL']}{url_for('auth.reset_password', token=token)}"
            with force_locale(user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]):  # the recipient's
                body = render_template("mail/password_reset.txt", user=user, link=link,
                                       hours=current_app.config["PASSWORD_RESET_HOURS"])
                subject = _("Reset your Bangkom password")
            send_mail(user.email, subject, body)
            flash(_("A password link was sent to %(email)s.", email=user.email), "success")
    return redirect(url_for("admin.user_edit", user_id=user.id))


@bp.route("/pengguna/impor", methods=["GET", "POST"])
def users_import():
    form = ImportForm()
    report = None
    if form.validate_on_submit():
        upload = form.file.data
        try:
            report = imports.import_users(upload.stream, actor=current_user, dry_run=form.dry_run.data,
                                          filename=upload.filename or "")
        except imports.ImportRefused as exc:
            db.session.rollback()
            form.file.errors.append(exc.message)
        else:
            if report.ok and not report.dry_run:
                db.session.commit()
                flash(_("Imported: %(created)s new, %(updated)s updated.", created=report.created,
                        updated=report.updated), "success")
            else:
                db.session.rollback()
    return render_template("admin/import.html", form=form, report=report)


# ---------------------------------------------------------------- org units


@bp.route("/unit")
def units():
    units = db.session.scalars(select(OrgUnit)).all()
    counts = dict(db.session.execute(select(User.unit_id, func.count()).group_by(User.unit_id)).tuples().all())
    order = [uid for uid, _ in services.unit_choices(active_only=False)]
    by_id = {u.id: u for u in units}
    depth = {}
    for unit_id in order:
        unit = by_id[unit_id]
        depth[unit_id] = depth.get(unit.parent_id, -1) + 1 if unit.parent_id in by_id else 0
    rows = [(by_id[uid], depth[uid], counts.get(uid, 0)) for uid in order]
    return render_template("admin/units.html", rows=rows)


def _unit_form(unit: OrgUnit | None) -> UnitForm:
    form = UnitForm(obj=unit)
    excluded = services.unit_subtree_ids(unit.id) if unit is not None else set()
    form.parent_id.choices = options([(None, "—"), *[(uid, label) for uid, label in services.unit_choices()
                                               if uid not in excluded]])
    return form


@bp.route("/unit/baru", methods=["GET", "POST"], defaults={"unit_id": None})
@bp.route("/unit/<int:unit_id>", methods=["GET", "POST"])
def unit_edit(unit_id: int | None):
    unit = db.get_or_404(OrgUnit, unit_id) if unit_id is not None else None
    form = _unit_form(unit)
    if form.validate_on_submit():
        try:
            services.save_unit(unit, code=form.code.data, name=form.name.data, kind=form.kind.data,
                               parent_id=form.parent_id.data, is_active=form.is_active.data, actor=current_user)
        except services.ValidationFailed as exc:
            db.session.rollback()
            _apply_errors(form, exc.errors)
        else:
            db.session.commit()
            flash(_("Unit saved."), "success")
            return redirect(url_for("admin.units"))
    return render_template("admin/unit_form.html", form=form, unit=unit)


# ---------------------------------------------------------------- institutions


@bp.route("/institusi")
def institutions():
    rows = db.session.scalars(select(Institution).order_by(Institution.name)).all()
    counts = dict(db.session.execute(
        select(User.institution_id, func.count()).group_by(User.institution_id)).tuples().all())
    return render_template("admin/institutions.html", rows=rows, counts=counts)


@bp.route("/institusi/baru", methods=["GET", "POST"], defaults={"institution_id": None})
@bp.route("/institusi/<int:institution_id>", methods=["GET", "POST"])
def institution_edit(institution_id: int | None):
    inst = db.get_or_404(Institution, institution_id) if institution_id is not None else None
    form = InstitutionForm(obj=inst)
    if form.validate_on_submit():
        try:
            services.save_institution(inst, code=form.code.data, name=form.name.data, kind=form.kind.data,
                                      city=form.city.data, website=form.website.data,
                                      is_active=form.is_active.data, actor=current_user)
        except services.ValidationFailed as exc:
            db.session.rollback()
            _apply_errors(form, exc.errors)
        else:
            db.session.commit()
            flash(_("Institution saved."), "success")
            return redirect(url_for("admin.institutions"))
    return render_template("admin/institution_form.html", form=form, inst=inst)


# ---------------------------------------------------------------- API tokens


@bp.route("/token", methods=["GET", "POST"])
def tokens():
    form = TokenForm()
    created_secret = None
    if form.validate_on_submit():
        owner = db.session.scalar(select(User).where(User.email == services.normalise_email(form.email.data)))
        if owner is None:
            form.email.errors.append(_("No account uses this e-mail address."))
        else:
            expires = None
            if form.expires_at.data:
                if form.expires_at.data <= dt.date.today():
                    form.expires_at.errors.append(_("Choose a date in the future."))
                expires = dt.datetime.combine(form.expires_at.data, dt.time(), tzinfo=dt.UTC)
            if not form.expires_at.errors:
                try:
                    _token, created_secret = services.create_api_token(
                        owner, name=form.name.data, scopes=form.scopes.data, actor=current_user,
                        expires_at=expires)
                except services.ServiceError as exc:
                    db.session.rollback()
                    _apply_errors(form, getattr(exc, "errors", {"email": exc.message}))
                else:
                    db.session.commit()
                    form = TokenForm(formdata=None)
    page = db.paginate(select(ApiToken).order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc()),
                       per_page=50, error_out=False)
    return render_template("admin/tokens.html", form=form, page=page, created_secret=created_secret,
                           action_form=EmptyForm())


@bp.route("/token/<int:token_id>/cabut", methods=["POST"])
def token_revoke(token_id: int):
    token = db.get_or_404(ApiToken, token_id)
    if not can_manage_token(current_user, token):
        abort(403)
    if EmptyForm().validate_on_submit():
        services.revoke_api_token(token, actor=current_user)
        db.session.commit()
        flash(_("Token \"%(name)s\" revoked; it no longer works.", name=token.name), "success")
    return redirect(url_for("admin.tokens"))


# ---------------------------------------------------------------- audit log


@bp.route("/audit")
def audit():
    form = AuditFilterForm(request.args)
    query = select(AuditEvent)
    if form.validate():
        if form.q.data:
            like = f"%{form.q.data.strip().lower()}%"
            query = query.where(or_(func.lower(AuditEvent.summary).like(like),
                                    func.lower(AuditEvent.actor_label).like(like),
                                    func.lower(cast(AuditEvent.ip_address, String)).like(like)))
        if form.action.data:
            query = query.where(AuditEvent.action.like(f"{form.action.data.strip()}%"))
        if form.object_type.data:
            query = query.where(AuditEvent.object_type == form.object_type.data.strip())
        if form.object_id.data:
            query = query.where(AuditEvent.object_id == form.object_id.data.strip())
        if form.since.data:
            query = query.where(AuditEvent.at >= dt.datetime.combine(form.since.data, dt.time(), tzinfo=dt.UTC))
        if form.until.data:
            end = dt.datetime.combine(form.until.data + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
            query = query.where(AuditEvent.at < end)
    page = db.paginate(query.order_by(AuditEvent.id.desc()), per_page=50, error_out=False)
    return render_template("admin/audit.html", form=form, page=page)
