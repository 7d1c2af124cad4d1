"""Certificates on the web: public verification, the learner's certificates, HR revocation and correction,
and the certificate API."""

from __future__ import annotations

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
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import or_, select
from werkzeug.exceptions import MethodNotAllowed
from wtforms import PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from certificates import services
from certificates.forms import IssuerForm, TemplateForm
from certificates.models import DEFAULT_NUMBER_TEMPLATE, Certificate, CertificateTemplate, Issuer
from lms import api
from lms.extensions import csrf, db, limiter
from lms.forms import options
from lms.models import User
from lms.permissions import role_required
from lms.services import ValidationFailed
from lms.storage import TooLarge, sniff, store

bp = Blueprint("certificates", __name__)
api_bp = Blueprint("certificates_api", __name__, url_prefix="/api/v1")
csrf.exempt(api_bp)

PUBLIC_LIMIT = "60 per minute"


class ReasonForm(FlaskForm):
    # Stripped first, as the services count it: "  ab  " is not a reason of five characters.
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(min=5, max=500)],
                           filters=[lambda value: value.strip() if isinstance(value, str) else value])


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


class SigningForm(FlaskForm):
    passphrase = PasswordField(_l("Signing passphrase"), validators=[DataRequired(), Length(max=200)],
                               description=_l("The passphrase of your BSrE electronic certificate. It is sent to "
                                              "the signing gateway for this batch only and never stored."))


SIGNING_BATCH = 50


@bp.route("/kelola/sertifikat/tanda-tangan", methods=["GET", "POST"])
@role_required("hr", "admin")
def signing_queue():
    """Certificates waiting for the signatory's electronic signature (BSrE), signed in batches."""
    from certificates import jobs, signing

    waiting = select(Certificate).where(Certificate.pdf_sha256.is_(None), Certificate.revoked_at.is_(None)) \
        .order_by(Certificate.id)
    form = SigningForm()
    if form.validate_on_submit():
        signed, failed = 0, []
        for certificate in db.session.scalars(waiting.limit(SIGNING_BATCH)).all():
            try:
                jobs.produce_pdf(certificate.id, passphrase=form.passphrase.data)
                signed += 1
            except signing.SigningError as exc:
                failed.append(f"{certificate.number}: {exc}")
                if len(failed) >= 3:  # a wrong passphrase fails every one: stop early
                    break
            except Exception as exc:  # noqa: BLE001 - reported per certificate, the batch goes on
                failed.append(f"{certificate.number}: {type(exc).__name__}")
        form.passphrase.data = None
        if signed:
            flash(_("%(n)s certificate(s) signed and stored.", n=signed), "success")
        for message in failed:
            flash(message, "error")
        return redirect(url_for("certificates.signing_queue"))
    page = db.paginate(waiting, per_page=50, error_out=False)
    signer = signing.signer_for_app(current_app)
    return render_template("certificates/signing_queue.html", form=form, page=page, signer=signer,
                           batch=SIGNING_BATCH)


# ---------------------------------------------------------------- issuers and print templates (admin)


def _template_choices():
    return options([(None, _("Default template (STTPP)")), *[(t.id, t.name) for t in db.session.scalars(
        select(CertificateTemplate).order_by(CertificateTemplate.name))]])


def _apply(form, errors) -> None:
    for field, message in errors.items():
        (form[field].errors.append(message) if field in form else flash(str(message), "error"))


@bp.route("/kelola/penerbit")
@role_required("admin")
def issuers():
    return render_template("certificates/issuers.html",
                           issuers=db.session.scalars(select(Issuer).order_by(Issuer.code)).all(),
                           templates=db.session.scalars(select(CertificateTemplate)
                                                        .order_by(CertificateTemplate.name)).all())


@bp.route("/kelola/penerbit/baru", methods=["GET", "POST"], defaults={"issuer_id": None})
@bp.route("/kelola/penerbit/<int:issuer_id>", methods=["GET", "POST"])
@role_required("admin")
def issuer_edit(issuer_id: int | None):
    issuer = db.get_or_404(Issuer, issuer_id) if issuer_id else None
    form = IssuerForm(obj=issuer)
    form.template_id.choices = _template_choices()
    if issuer is None and request.method == "GET":
        form.number_template.data = DEFAULT_NUMBER_TEMPLATE
    if form.validate_on_submit():
        fields = {name: form[name].data for name in ("code", "name", "city", "number_template", "signatory_name",
                                                     "signatory_nip", "signatory_title", "signatory_nik",
                                                     "template_id", "is_default")}
        fields["logo_sha256"] = None
        try:
            if form.logo.data:
                head = form.logo.data.stream.read(64)
                form.logo.data.stream.seek(0)
                if sniff(head) not in ("image/png", "image/jpeg"):
                    raise ValidationFailed({"logo": _("The logo must be a PNG or JPEG image.")})
                fields["logo_sha256"], _size = store().put(form.logo.data.stream, max_bytes=1024 * 1024)
            issuer = services.save_issuer(issuer, actor=current_user, **fields)
        except TooLarge:
            db.session.rollback()
            form.logo.errors.append(_("The logo is larger than 1 MB."))
        except ValidationFailed as exc:
            db.session.rollback()
            _apply(form, exc.errors)
        else:
            db.session.commit()
            flash(_("Issuer %(code)s saved.", code=issuer.code), "success")
            return redirect(url_for("certificates.issuers"))
    return render_template("certificates/issuer_form.html", form=form, issuer=issuer)


@bp.route("/kelola/templat-sertifikat/baru", methods=["GET", "POST"], defaults={"template_id": None})
@bp.route("/kelola/templat-sertifikat/<int:template_id>", methods=["GET", "POST"])
@role_required("admin")
def template_edit(template_id: int | None):
    from certificates import pdf

    template = db.get_or_404(CertificateTemplate, template_id) if template_id else None
    form = TemplateForm(obj=template)
    if template is None and request.method == "GET":
        form.html.data, form.css.data = pdf.default_template()
        form.name.data = _("STTPP (copy)")
    if form.validate_on_submit():
        if request.form.get("action") == "preview":
            try:
                document = pdf.preview_certificate(form.html.data, form.css.data or "")
            except pdf.TemplateError as exc:
                form.html.errors.append(str(exc))
            else:
                response = make_response(document)
                response.headers["Content-Type"] = "application/pdf"
                response.headers["Content-Disposition"] = 'inline; filename="pratinjau-sertifikat.pdf"'
                return response
        else:
            try:
                template = services.save_template(template, actor=current_user, name=form.name.data,
                                                  html=form.html.data, css=form.css.data or "")
            except pdf.TemplateError as exc:
                db.session.rollback()
                form.html.errors.append(str(exc))
            else:
                db.session.commit()
                flash(_("Template saved."), "success")
                return redirect(url_for("certificates.template_edit", template_id=template.id))
    return render_template("certificates/template_form.html", form=form, template=template)


# ---------------------------------------------------------------- API


@api_bp.get("/certificates/<path:certificate_code>")
@limiter.limit(PUBLIC_LIMIT)
def api_certificate(certificate_code: str):
    if certificate_code in ("verify", "verify-batch"):  # those paths take POST only
        raise MethodNotAllowed(valid_methods=["POST"])
    body = services.public_lookup(certificate_code, full_nip=api.has_scope("certificates:read"))
    if body is None:
        return jsonify(status="unknown"), 404
    return jsonify(body)


api.document("/certificates/{certificate_code}", "get", {
    "summary": "A certificate by its public code (or number)",
    "parameters": [{"name": "certificate_code", "in": "path", "required": True, "schema": {"type": "string"}}],
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


def _csv_cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _batch_csv(lines) -> Response:
    import csv
    import io

    def rows():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(services.BATCH_COLUMNS)
        for count, row in enumerate(services.verify_batch_rows(lines)):
            if count >= services.BATCH_LIMIT:
                break
            writer.writerow([_csv_cell(row[c]) for c in services.BATCH_COLUMNS])
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue()

    return Response(rows(), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="verifikasi-sertifikat.csv"'})


MAX_VERIFY_BYTES = 20 * 1024 * 1024


@api_bp.post("/certificates/verify")
@limiter.limit(PUBLIC_LIMIT)
def api_verify():
    upload = request.files.get("file")
    if upload is None:
        abort(400, description=_("Send the PDF as the multipart field “file”."))
    data = upload.read(MAX_VERIFY_BYTES + 1)
    if len(data) > MAX_VERIFY_BYTES:
        abort(413)
    return jsonify(services.verify_document(data, full_nip=api.has_scope("certificates:read")))


@api_bp.post("/certificates/verify-batch")
@api.token_required("certificates:read")
def api_verify_batch():
    if request.content_length and request.content_length > 2 * 1024 * 1024:
        abort(413)
    return _batch_csv(request.get_data(as_text=True).splitlines())


api.document("/certificates/verify", "post", {
    "summary": "Check an uploaded PDF: signature, integrity and the register",
    "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "properties": {"file": {"type": "string", "format": "binary"}}, "required": ["file"]}}}},
    "security": [{}, {"bearer": []}],
    "responses": {
        "200": {"description": "The verdict", "content": {"application/json": {"schema": {
            "type": "object", "required": ["authentic", "signature", "registered", "certificate", "reason"],
            "properties": {"authentic": {"type": "boolean"}, "signature": {"enum": ["valid", "invalid", "absent"]},
                           "registered": {"type": "boolean"},
                           "certificate": {"oneOf": [{"type": "null"},
                                                     {"$ref": "#/components/schemas/Certificate"}]},
                           "reason": {"type": "string"}}}}}},
        "400": {"description": "No file", "content": {"application/json": {"schema": {
            "$ref": "#/components/schemas/Error"}}}},
        "413": {"description": "Larger than 20 MB", "content": {"application/json": {"schema": {
            "$ref": "#/components/schemas/Error"}}}},
    },
})
api.document("/certificates/verify-batch", "post", {
    "summary": "Check many certificates: one number or code per line in, CSV out",
    "requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}},
    "security": [{"bearer": []}],
    "responses": {
        "200": {"description": "input,status,number,holder_name,nip,course_title,jp,issued_at",
                "content": {"text/csv": {"schema": {"type": "string"}}}},
        "401": {"description": "No or bad token", "content": {"application/json": {"schema": {
            "$ref": "#/components/schemas/Error"}}}},
        "403": {"description": "The token lacks certificates:read", "content": {"application/json": {"schema": {
            "$ref": "#/components/schemas/Error"}}}},
    },
})


class VerifyForm(FlaskForm):
    file = FileField(_l("Certificate PDF"))
    numbers = TextAreaField(_l("Numbers or codes"), validators=[Optional(), Length(max=500_000)],
                            description=_l("One per line; a CSV with one column works too."))
    numbers_file = FileField(_l("…or a CSV file"))


@bp.route("/kelola/sertifikat/periksa", methods=["GET", "POST"])
@role_required("hr", "admin")
def check():
    """HR: check an uploaded PDF, or hundreds of certificates at once (CSV back)."""
    form = VerifyForm()
    verdict = None
    if form.validate_on_submit():
        if form.file.data:
            data = form.file.data.read(MAX_VERIFY_BYTES + 1)
            if len(data) > MAX_VERIFY_BYTES:
                form.file.errors.append(_("The file is larger than 20 MB."))
            else:
                verdict = services.verify_document(data, full_nip=True)
        elif form.numbers_file.data or form.numbers.data:
            raw = form.numbers_file.data.read(2 * 1024 * 1024).decode("utf-8-sig", "replace") \
                if form.numbers_file.data else form.numbers.data
            return _batch_csv([line.split(",")[0].split(";")[0] for line in raw.splitlines()])
        else:
            flash(_("Upload a PDF, or give numbers or codes."), "error")
    return render_template("certificates/check.html", form=form, verdict=verdict)


class CohortForm(FlaskForm):
    nips = TextAreaField(_l("Participants' NIPs"), validators=[Optional(), Length(max=500_000)],
                         description=_l("One per line (spaces inside a NIP are fine)."))
    csv_file = FileField(_l("…or a CSV file with a “nip” column"))
    reason = StringField(_l("Class and reason"), validators=[DataRequired(), Length(min=5, max=300)],
                         description=_l("e.g. “Kelas tatap muka 10–12 November 2026, Semarang”. Kept in the audit log."))


def _cohort_nips(form: CohortForm) -> list[str]:
    import csv
    import io

    nips = [line.strip().replace(" ", "").replace(".", "") for line in (form.nips.data or "").splitlines()]
    if form.csv_file.data:
        text = form.csv_file.data.read(5 * 1024 * 1024).decode("utf-8-sig", "replace")
        reader = csv.reader(io.StringIO(text), delimiter=";" if text.count(";") > text.count(",") else ",")
        header = [h.strip().lower() for h in next(reader, [])]
        if "nip" not in header:
            raise ValidationFailed({"csv_file": _("The CSV has no “nip” column in its header row.")})
        column = header.index("nip")
        nips += [row[column].strip().replace(" ", "") for row in reader if len(row) > column]
    return [n for n in dict.fromkeys(nips) if n]


@bp.route("/kelola/kursus/<int:course_id>/sertifikat", methods=["GET", "POST"])
@role_required("trainer", "admin")
def cohort(course_id: int):
    """A trainer records a classroom cohort's completion and issues all its certificates at once."""
    from courses import services as course_services
    from courses.models import Course

    course = db.get_or_404(Course, course_id)
    if not course_services.can_manage_course(current_user, course):
        abort(403)
    form = CohortForm()
    issued = []
    if form.validate_on_submit():
        try:
            nips = _cohort_nips(form)
            users = {n: db.session.scalar(select(User).where(User.nip == n)) for n in nips}
            unknown = [n for n, u in users.items() if u is None or not u.is_active]
            if not nips:
                raise ValidationFailed({"nips": _("Give at least one NIP.")})
            if unknown:
                raise ValidationFailed({"nips": _("Unknown or inactive NIP: %(list)s. Nothing was issued.",
                                                  list=", ".join(unknown[:30]))})
            if services.default_issuer() is None:
                raise ValidationFailed({"nips": _("No certificate issuer is configured.")})
            for user in users.values():
                enrolment = course_services.record_completion(user, course, actor=current_user,
                                                              reason=form.reason.data)
                issued.append(services.issue(enrolment, actor=current_user, reason=form.reason.data))
        except ValidationFailed as exc:
            db.session.rollback()
            issued = []
            for field, message in exc.errors.items():
                (form[field].errors.append(message) if field in form else flash(str(message), "error"))
        else:
            db.session.commit()
            flash(_("%(n)s certificate(s) issued; their PDFs are being prepared.", n=len(issued)), "success")
            return redirect(url_for("certificates.cohort", course_id=course.id,
                                    batch=",".join(str(c.id) for c in issued)))
    batch_ids = [int(i) for i in request.args.get("batch", "").split(",") if i.isdigit()][:2000]
    batch = db.session.scalars(select(Certificate).where(Certificate.id.in_(batch_ids),
                                                         Certificate.course_id == course.id)
                               .order_by(Certificate.id)).all() if batch_ids else []
    ready = sum(1 for c in batch if c.is_ready)
    return render_template("certificates/cohort.html", course=course, form=form, batch=batch, ready=ready)


def init_app(app) -> None:
    import logging

    from certificates import jobs  # noqa: F401 - registers the PDF tasks with the queue, also in the worker

    # An uploaded PDF whose signer we do not trust is an answer for the user, not an error for the log.
    logging.getLogger("pyhanko.sign.validation").setLevel(logging.CRITICAL)
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
    web.add_admin_section(app, "certificates.issuers", _l("Issuers and certificate templates"),
                          _l("Who issues certificates, their numbering, signatory, logo and print template."))
    from certificates import demo

    app.extensions.setdefault("bangkom.worker_warmups", []).append(jobs.warm_up)
    from certificates.records import views as records_views

    records_views.init_app(app)
    # Before the courses' demo: its completed enrolments get their certificates from this issuer.
    app.extensions.setdefault("bangkom.demo_seeders", []).insert(0, demo.seed)
