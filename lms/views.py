"""Home pages per role, the language switch, one's own profile, and the health check."""

from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select, text

from lms import services, web
from lms.extensions import db
from lms.forms import LanguageForm, ProfileForm
from lms.models import AuditEvent, Institution, OrgUnit, User
from lms.urls import is_safe_next

bp = Blueprint("lms", __name__)


@bp.route("/")
def home():
    if not current_user.is_authenticated:
        return render_template("lms/landing.html")
    context = {"unit_size": None, "role_counts": None, "recent": None}
    if current_user.has_role("hr") and current_user.unit_id:
        subtree = services.unit_subtree_ids(current_user.unit_id)
        context["unit_size"] = db.session.scalar(
            select(func.count(User.id)).where(User.unit_id.in_(subtree), User.is_active.is_(True)))
    if current_user.has_role("admin"):
        context["role_counts"] = services.counts_by_role()
        context["unit_count"] = db.session.scalar(select(func.count(OrgUnit.id)))
        context["institution_count"] = db.session.scalar(select(func.count(Institution.id)))
        context["recent"] = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(8)).all()
    missing = [label for label, value in ((_("date of birth"), current_user.birth_date),
                                           (_("phone"), current_user.phone)) if not value]
    return render_template("lms/home.html", missing_profile=missing, sections=web.home_sections(), **context)


@bp.route("/bahasa", methods=["POST"])
def set_language():
    form = LanguageForm()
    if form.validate_on_submit():
        session["lang"] = form.lang.data
        if current_user.is_authenticated and current_user.locale != form.lang.data:
            current_user.locale = form.lang.data
            db.session.commit()
    target = form.next.data if is_safe_next(form.next.data) else url_for("lms.home")
    return redirect(target)


@bp.route("/profil", methods=["GET", "POST"])
@login_required
def profile():
    form = ProfileForm(obj=current_user)
    if form.validate_on_submit():
        fields = {name: form[name].data for name in
                  ("title_front", "full_name", "title_back", "birth_place", "birth_date", "gender", "phone",
                   "locale")}
        fields["gender"] = fields["gender"] or None
        try:
            services.update_user(current_user, actor=current_user, **fields)
        except services.ValidationFailed as exc:
            db.session.rollback()
            for field, message in exc.errors.items():
                if field in form:
                    form[field].errors.append(message)
                else:
                    flash(f"{message}", "error")
        else:
            db.session.commit()
            session["lang"] = current_user.locale
            flash(_("Your profile has been saved."), "success")
            return redirect(url_for("lms.profile"))
    return render_template("lms/profile.html", form=form)


@bp.route("/healthz")
def health():
    """For load balancers and monitoring: 200 when the database answers."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means unhealthy
        db.session.rollback()
        return jsonify(status="error", database=False), 503
    return jsonify(status="ok", database=True)


@bp.app_context_processor
def language_form():
    return {"language_form": LanguageForm(lang=str(_current_lang()), next=request.full_path.rstrip("?"))}


def _current_lang():
    from flask_babel import get_locale

    return get_locale() or "id"
