"""Certificates on the web: public verification, the learner's certificates, HR revocation and correction,
and the certificate API."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import or_, select
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from certificates import services
from certificates.models import Certificate
from lms import api
from lms.extensions import csrf, db, limiter
from lms.models import User
from lms.permissions import role_required
from lms.storage import store

bp = Blueprint("certificates", __name__)
api_bp = Blueprint("certificates_api", __name__, url_prefix="/api/v1")
csrf.exempt(api_bp)

PUBLIC_LIMIT = "60 per minute"


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(min=5, max=500)])


class SearchForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Number, code, name or NIP"), validators=[Optional(), Length(max=120)])


def _pdf_response(certificate: Certificate, *, inline: bool = False):
    if not certificate.pdf_sha256 or not store().exists(certificate.pdf_sha256):
        return None
    filename = f"sertifikat-{certificate.snapshot['course']['code']}-{certificate.code[:8]}.pdf"
    response = send_file(store().path(certificate.pdf_sha256), mimetype="application/pdf",
                         as_attachment=not inline, download_name=filename, conditional=True,
                         etag=certificate.pdf_sha256)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


# ---------------------------------------------------------------- public verification


@bp.route("/verify/<certificate_code>")
@limiter.limit(PUBLIC_LIMIT)
def verify(certificate_code: str):
    certificate = services.by_code(certificate_code)
    status = 404 if certificate is None else 200
    return render_template("certificates/verify.html", certificate=certificate,
                           status=certificate.status() if certificate else "unknown",
                           masked_nip=services.mask_nip(certificate.snapshot["holder"]["nip"]) if certificate
                           else None), status


@bp.route("/verify/<certificate_code>/pdf")
@limiter.limit(PUBLIC_LIMIT)
def verify_pdf(certificate_code: str):
    """The signed PDF for whoever holds the code (it is printed on the certificate and its QR)."""
    certificate = services.by_code(certificate_code)
    if certificate is None:
        abort(404)
    response = _pdf_response(certificate, inline=True)
    if response is None:
        abort(404)
    return response


# ---------------------------------------------------------------- the learner's certificates


@bp.route("/sertifikat")
@login_required
def mine():
    return render_template("certificates/mine.html", certificates=services.for_user(current_user))


@bp.route("/sertifikat/<int:certificate_id>/unduh")
@login_required
def download(certificate_id: int):
    certificate = db.get_or_404(Certificate, certificate_id)
    if not services.can_download(current_user, certificate):
        abort(404)  # another person's certificate does not exist for you
    response = _pdf_response(certificate)
    if response is None:
        return render_template("certificates/preparing.html", certificate=certificate), 202
    return response


# ---------------------------------------------------------------- HR and admin


@bp.route("/kelola/sertifikat")
@role_required("hr", "admin")
def manage():
    form = SearchForm(request.args)
    query = select(Certificate).join(User, User.id == Certificate.user_id)
    if form.validate() and form.q.data:
        term = form.q.data.strip()
        like = f"%{term.lower()}%"
        query = query.where(or_(Certificate.number == term, Certificate.code == term.lower(),
                                User.nip == term.replace(" ", ""), db.func.lower(User.full_name).like(like),
                                db.func.lower(User.email).like(like)))
    page = db.paginate(query.order_by(Certificate.issued_at.desc(), Certificate.id.desc()), per_page=50,
                       error_out=False)
    return render_template("certificates/manage.html", form=form, page=page)


@bp.route("/kelola/sertifikat/<int:certificate_id>")
@role_required("hr", "admin")
def detail(certificate_id: int):
    certificate = db.get_or_404(Certificate, certificate_id)
    return render_template("certificates/detail.html", certificate=certificate, revoke_form=ReasonForm(),
                           reissue_form=ReasonForm(prefix="fix"))


@bp.route("/kelola/sertifikat/<int:certificate_id>/cabut", methods=["POST"])
@role_required("hr", "admin")
def revoke(certificate_id: int):
    certificate = db.get_or_404(Certificate, certificate_id)
    form = ReasonForm()
    if form.validate_on_submit():
        services.revoke(certificate, reason=form.reason.data, actor=current_user)
        db.session.commit()
        flash(_("Certificate %(number)s is revoked; its verification page says so from now on.",
                number=certificate.number), "success")
    else:
        flash(_("Say why the certificate is revoked (at least 5 characters)."), "error")
    return redirect(url_for("certificates.detail", certificate_id=certificate.id))


@bp.route("/kelola/sertifikat/<int:certificate_id>/koreksi", methods=["POST"])
@role_required("hr", "admin")
def reissue(certificate_id: int):
    certificate = db.get_or_404(Certificate, certificate_id)
    form = ReasonForm(prefix="fix")
    if form.validate_on_submit():
        try:
            new = services.reissue(certificate, reason=form.reason.data, actor=current_user)
        except services.ServiceError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("Corrected certificate %(number)s issued; the old one is marked as replaced.",
                    number=new.number), "success")
            return redirect(url_for("certificates.detail", certificate_id=new.id))
    else:
        flash(_("Say what is corrected (at least 5 characters)."), "error")
    return redirect(url_for("certificates.detail", certificate_id=certificate.id))


# ---------------------------------------------------------------- API


@api_bp.get("/certificates/<path:certificate_code>")
@limiter.limit(PUBLIC_LIMIT)
def api_certificate(certificate_code: str):
    certificate = services.by_code(certificate_code)
    if certificate is None:
        # Look the number up too: HR systems know certificates by number (numbers contain slashes).
        certificate = db.session.scalar(select(Certificate).where(Certificate.number == certificate_code))
    body = services.public_json(certificate, full_nip=api.has_scope("certificates:read"))
    return jsonify(body), (200 if certificate else 404)


api.document("/certificates/{code}", "get", {
    "summary": "A certificate by its public code (or number)",
    "parameters": [{"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}],
    "security": [{}, {"bearer": []}],
    "responses": {
        "200": {"description": "The certificate; the full NIP only with certificates:read",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Certificate"}}}},
        "404": {"description": "Unknown code", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"status": {"const": "unknown"}}, "required": ["status"]}}}},
        "429": {"description": "Too many requests",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
    },
})
api.schema("Certificate", {
    "type": "object",
    "required": ["number", "code", "status", "holder", "course", "issuer", "issued_at", "valid_until", "revoked",
                 "pdf_sha256", "verify_url"],
    "properties": {
        "number": {"type": "string"}, "code": {"type": "string"},
        "status": {"enum": ["valid", "revoked", "expired"]},
        "superseded_by": {"type": ["string", "null"]},
        "holder": {"type": "object", "properties": {"name": {"type": "string"},
                                                    "nip": {"type": ["string", "null"]}}},
        "course": {"type": "object", "properties": {"code": {"type": "string"}, "title": {"type": "string"},
                                                    "jp": {"type": "integer"}}},
        "issuer": {"type": "string"}, "issued_at": {"type": "string", "format": "date"},
        "valid_until": {"type": ["string", "null"], "format": "date"},
        "revoked": {"oneOf": [{"type": "null"}, {"type": "object", "properties": {
            "at": {"type": "string"}, "reason": {"type": "string"}}}]},
        "pdf_sha256": {"type": ["string", "null"]}, "verify_url": {"type": "string"},
    },
})


def init_app(app) -> None:
    from certificates.cli import certificates_cli
    from courses.signals import course_completed
    from lms import web

    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
    app.cli.add_command(certificates_cli)
    course_completed.connect(services.on_course_completed)
    web.add_navigation(app, "certificates.mine", _l("My certificates"), ("learner",), position=2)
    web.add_navigation(app, "certificates.manage", _l("Certificates"), ("hr", "admin"), position=3)
    web.add_admin_section(app, "certificates.manage", _l("Certificates"),
                          _l("Search, revoke and correct issued certificates."))
    from certificates import demo

    # Before the courses' demo: its completed enrolments get their certificates from this issuer.
    app.extensions.setdefault("bangkom.demo_seeders", []).insert(0, demo.seed)
