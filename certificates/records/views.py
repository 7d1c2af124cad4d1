"""Training records on the web: the employee's own history and submissions, HR's verification queue,
compliance dashboard, lists of who is behind, employee pages, exports and promotion files; the SIASN
administration; and the HR API (INTERFACES.md)."""

from __future__ import annotations

import datetime as dt

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select

from certificates.records import exports, promotion, services, siasn
from certificates.records.forms import AssignForm, ExternalRecordForm, ReferenceForm, RejectForm, UploadForm
from certificates.records.models import ExternalRecord, SiasnPerson, SiasnPush, SiasnReference
from lms import api
from lms.extensions import csrf, db
from lms.forms import EmptyForm, options
from lms.models import EMPLOYEE_TYPES, JABATAN_TYPES, PANGKAT, PPPK_GOLONGAN, OrgUnit, User
from lms.permissions import role_required
from lms.services import ValidationFailed
from lms.storage import store

bp = Blueprint("records", __name__)
api_bp = Blueprint("records_api", __name__, url_prefix="/api/v1")
csrf.exempt(api_bp)

PER_PAGE = 50
ASSIGN_LIMIT = 5000
STATUS_CHOICES = ("behind", "reached", "all")


def _apply(form, errors) -> None:
    for key, message in errors.items():
        (form[key].errors.append(message) if key in form else flash(str(message), "error"))


def _year(value: str | None) -> int:
    """The year asked for, or this year for anything that is not a plausible year."""
    if value and value.isdigit() and 2000 <= int(value) <= 2100:
        return int(value)
    return services.this_year()


def _years() -> list[int]:
    now = services.this_year()
    return list(range(now, now - 5, -1))


def _unit_arg(name: str = "unit") -> OrgUnit | None:
    """The unit named by its code in the query string: 404 when unknown or outside the actor's units."""
    code = (request.args.get(name) or "").strip()
    if not code:
        return None
    unit = db.session.scalar(select(OrgUnit).where(OrgUnit.code == code))
    if unit is None or not services.unit_in_scope(current_user, unit):
        abort(404)
    return unit


def _filters() -> services.Filters:
    return services.check_filters(request.args.get("jenis"), request.args.get("golongan"),
                                  request.args.get("jabatan"))


def _filter_choices() -> dict:
    return {"types": EMPLOYEE_TYPES, "golongan": [*PANGKAT, *PPPK_GOLONGAN], "jabatan": JABATAN_TYPES}


def _load_record(record_id: int) -> ExternalRecord:
    record = db.get_or_404(ExternalRecord, record_id)
    if not services.can_view_records(current_user, record.user):
        abort(404)  # somebody else's record does not exist for you
    return record


def _record_form() -> ExternalRecordForm:
    form = ExternalRecordForm()
    form.jenis_diklat.choices = options([(code, f"{entry.name} ({code})") for code, entry in
                                         services.references("jenis_diklat").items()])
    form.latihan_struktural.choices = options([("", "—"), *[(code, entry.name) for code, entry in
                                                            services.references("latihan_struktural").items()]])
    return form


# ---------------------------------------------------------------- the employee's own records


@bp.route("/riwayat-diklat")
@login_required
def mine():
    entries = services.entries_of(current_user)
    years = services.ledger_years(current_user, entries)
    return render_template("records/mine.html", entries=entries, years=years, current=years[0],
                           competencies=services.competencies_developed(entries), person=current_user)


@bp.route("/riwayat-diklat/ajukan", methods=["GET", "POST"])
@login_required
def submit():
    form = _record_form()
    if form.validate_on_submit():
        upload = form.file.data
        try:
            record = services.submit_external(current_user, data={key: form[key].data for key in services.RECORD_FIELDS},
                                              stream=upload.stream if upload else None,
                                              file_name=upload.filename if upload else "")
        except ValidationFailed as exc:
            db.session.rollback()
            _apply(form, exc.errors)
        else:
            db.session.commit()
            flash(_("Your training record is submitted; HR will verify it. It counts once verified."), "success")
            return redirect(url_for("records.record", record_id=record.id))
    elif request.method == "POST" and not form.errors:
        flash(_("The form could not be read; please try again."), "error")
    return render_template("records/submit.html", form=form)


@bp.route("/riwayat-diklat/<int:record_id>")
@login_required
def record(record_id: int):
    record = _load_record(record_id)
    return render_template("records/record.html", record=record, entry=services.external_entry(record),
                           can_decide=services.can_decide(current_user, record), reject_form=RejectForm(),
                           form=EmptyForm(), jenis=services.jenis_name(record.jenis_diklat),
                           latihan=services.references("latihan_struktural", active_only=False))


@bp.route("/riwayat-diklat/<int:record_id>/berkas")
@login_required
def record_file(record_id: int):
    record = _load_record(record_id)
    if not store().exists(record.file_sha256):
        abort(404)
    # Served as a download (never inline): an uploaded file is the employee's, not ours.
    response = send_file(store().path(record.file_sha256), mimetype=record.file_type, as_attachment=True,
                         download_name=record.file_name, conditional=True, etag=record.file_sha256)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/riwayat-diklat/<int:record_id>/tarik", methods=["POST"])
@login_required
def withdraw(record_id: int):
    record = _load_record(record_id)
    if record.user_id != current_user.id:
        abort(404)  # only the employee withdraws; for anybody else there is nothing to withdraw here
    if EmptyForm().validate_on_submit():
        try:
            services.withdraw(record, actor=current_user)
        except services.RecordClosed as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return redirect(url_for("records.record", record_id=record_id))
        db.session.commit()
        flash(_("The submission is withdrawn."), "success")
    return redirect(url_for("records.mine"))


@bp.route("/riwayat-diklat/<int:record_id>/verifikasi", methods=["POST"])
@role_required("hr", "admin")
def verify(record_id: int):
    record = _load_record(record_id)
    if not services.can_decide(current_user, record):
        abort(403)
    if EmptyForm().validate_on_submit():
        try:
            services.verify(record, actor=current_user)
        except services.RecordClosed as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("Verified: %(jp)s JP now count for %(name)s.", jp=record.jp, name=record.user.display_name),
                  "success")
            return redirect(url_for("records.queue"))
    return redirect(url_for("records.record", record_id=record_id))


@bp.route("/riwayat-diklat/<int:record_id>/tolak", methods=["POST"])
@role_required("hr", "admin")
def reject(record_id: int):
    record = _load_record(record_id)
    if not services.can_decide(current_user, record):
        abort(403)
    form = RejectForm()
    if form.validate_on_submit():
        try:
            services.reject(record, reason=form.reason.data, actor=current_user)
        except (services.RecordClosed, ValidationFailed) as exc:
            db.session.rollback()
            flash(str(exc.message if isinstance(exc, services.RecordClosed) else
                      next(iter(exc.errors.values()))), "error")
        else:
            db.session.commit()
            flash(_("Rejected; %(name)s sees your reason.", name=record.user.display_name), "success")
            return redirect(url_for("records.queue"))
    else:
        flash(_("Say why the record is rejected (at least 5 characters)."), "error")
    return redirect(url_for("records.record", record_id=record_id))


# ---------------------------------------------------------------- HR


@bp.route("/kelola/verifikasi-diklat")
@role_required("hr", "admin")
def queue():
    page = db.paginate(services.queue_statement(current_user), per_page=PER_PAGE, error_out=False)
    return render_template("records/queue.html", page=page)


def _unit_path(unit: OrgUnit | None) -> list[OrgUnit]:
    """From the actor's top unit down to ``unit``, for the breadcrumb of the drill-down."""
    path = []
    roots = {u.id for u in services.scope_roots(current_user)}
    while unit is not None:
        path.append(unit)
        if unit.id in roots:
            break
        unit = unit.parent
    return list(reversed(path))


@bp.route("/kelola/kepatuhan")
@role_required("hr", "admin")
def compliance():
    year, unit, filters = _year(request.args.get("tahun")), _unit_arg(), _filters()
    rows, overall = services.compliance(year, actor=current_user, parent=unit, filters=filters)
    return render_template("records/compliance.html", year=year, years=_years(), unit=unit, rows=rows,
                           overall=overall, filters=filters, path=_unit_path(unit), choices=_filter_choices(),
                           target=services.jp_target(), chart=chart(rows))


def chart(rows: list[services.UnitCompliance]) -> dict:
    """Geometry of the horizontal bar chart (drawn as SVG by the template): one bar per unit, its share of
    people who reached the target. Sized for a phone first (the viewBox is about a phone's width)."""
    width, label_height, bar_height, gap, value_width = 320, 19, 16, 12, 62
    bars, y = [], 4
    for row in rows:
        if not row.employees:
            continue
        rate = row.rate or 0
        label = row.label if len(row.label) <= 36 else row.label[:34] + "…"
        bars.append({"label": label, "label_y": y + 14, "bar_y": y + label_height, "width": round(
            (width - value_width) * rate / 100, 1), "rate": rate, "reached": row.reached, "employees": row.employees,
            "text_y": y + label_height + 13})
        y += label_height + bar_height + gap
    return {"width": width, "height": y + 2, "track": width - value_width, "bar_height": bar_height, "bars": bars,
            "value_x": width - value_width + 6}


def _people_args() -> tuple[int, OrgUnit | None, services.Filters, str]:
    status = request.args.get("status")
    return (_year(request.args.get("tahun")), _unit_arg(), _filters(),
            status if status in STATUS_CHOICES else "behind")


def _search(stmt, q: str):
    q = (q or "").strip()[:100]
    if not q:
        return stmt
    digits = q.replace(" ", "")
    return stmt.where(or_(User.nip == digits, func.lower(User.full_name).contains(q.lower(), autoescape=True)))


@bp.route("/kelola/kepatuhan/pegawai")
@role_required("hr", "admin")
def people():
    year, unit, filters, status = _people_args()
    stmt, _totals = services.people_statement(year, actor=current_user, unit=unit, filters=filters, status=status)
    page = db.paginate(_search(stmt, request.args.get("q")), per_page=PER_PAGE, error_out=False)
    totals = services.totals_for([u.id for u in page.items], year)
    return render_template("records/people.html", year=year, years=_years(), unit=unit, filters=filters,
                           status=status, page=page, totals=totals, choices=_filter_choices(),
                           target=services.jp_target(), cap=services.pppk_cap(),
                           targeted=services.target_types(), q=request.args.get("q", ""))


REPORTS = ("pegawai", "unit", "kenaikan-pangkat")


@bp.route("/kelola/kepatuhan/ekspor")
@role_required("hr", "admin")
def export():
    """Every HR report as CSV, XLSX or JSON lines, limited to the caller's units."""
    fmt = request.args.get("format", "csv")
    kind = request.args.get("laporan", "pegawai")
    if fmt not in exports.WRITERS or kind not in REPORTS:
        abort(404)
    unit = _unit_arg()
    if kind == "kenaikan-pangkat":
        period = services.parse_period(request.args.get("periode")) or services.next_period()
        report = exports.promotion_report(period, actor=current_user, unit=unit)
    elif kind == "unit":
        report = exports.units_report(_year(request.args.get("tahun")), actor=current_user, parent=unit,
                                      filters=_filters())
    else:
        year, unit, filters, status = _people_args()
        report = exports.people_report(year, actor=current_user, unit=unit, filters=filters, status=status)
    return _download(report, fmt)


def _download(report: exports.Report, fmt: str) -> Response:
    return Response(stream_with_context(exports.WRITERS[fmt](report)), content_type=exports.FORMATS[fmt][0],
                    headers={"Content-Disposition": f'attachment; filename="{exports.filename(report, fmt)}"'})


def _course_choices():
    from courses.models import Course

    return options([(None, "—"), *[(c.id, f"{c.code} — {c.title} ({c.jp} JP)") for c in db.session.scalars(
        select(Course).where(Course.published_version_id.is_not(None)).order_by(Course.code))]])


@bp.route("/kelola/kepatuhan/tugaskan", methods=["GET", "POST"])
@role_required("hr", "admin")
def assign():
    """Mandatory training for everybody behind in the list the page was opened from."""
    from courses.models import Course

    year, unit, filters, _status = _people_args()
    stmt, _totals = services.people_statement(year, actor=current_user, unit=unit, filters=filters, status="behind")
    count = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    form = AssignForm()
    form.course_id.choices = _course_choices()
    if form.validate_on_submit():
        course = db.session.get(Course, form.course_id.data)
        if course is None or course.published_version_id is None:
            form.course_id.errors.append(_("Choose a published course."))
        elif form.due_on.data and form.due_on.data < dt.date.today():
            form.due_on.errors.append(_("The due date is in the past."))
        elif count == 0:
            flash(_("Nobody in this list is behind."), "error")
        elif count > ASSIGN_LIMIT:
            flash(_("More than %(n)s people: narrow the list with a unit or a filter first.", n=ASSIGN_LIMIT),
                  "error")
        else:
            users = db.session.scalars(stmt).all()
            try:
                services.assign_training(course, users, due_on=form.due_on.data, actor=current_user)
            except ValidationFailed as exc:
                db.session.rollback()
                _apply(form, exc.errors)
            else:
                db.session.commit()
                flash(_("%(n)s person(s) assigned to %(code)s.", n=len(users), code=course.code), "success")
                return redirect(url_for("records.people", tahun=year, unit=unit.code if unit else None,
                                        **filters.as_args()))
    return render_template("records/assign.html", form=form, year=year, unit=unit, filters=filters, count=count)


@bp.route("/kelola/pegawai/<int:user_id>")
@role_required("hr", "admin")
def employee(user_id: int):
    person = db.get_or_404(User, user_id)
    if not services.can_view_records(current_user, person):
        abort(404)
    entries = services.entries_of(person)
    years = services.ledger_years(person, entries)
    return render_template("records/employee.html", person=person, entries=entries, years=years,
                           competencies=services.competencies_developed(entries),
                           periods=services.period_choices())


def _period() -> dt.date:
    raw = request.args.get("periode")
    period = services.parse_period(raw)
    if raw and period is None:
        abort(404)
    return period or services.next_period()


@bp.route("/pegawai/<int:user_id>/berkas-pengembangan-kompetensi.pdf")
@login_required
def promotion_file(user_id: int):
    person = db.get_or_404(User, user_id)
    if not services.can_view_records(current_user, person):
        abort(404)
    return _promotion_pdf(person, _period())


def _promotion_pdf(person: User, period: dt.date) -> Response:
    document = promotion.render(person, period)
    name = f"berkas-pengembangan-kompetensi-{person.nip or person.id}-{period:%Y-%m}.pdf"
    return Response(document, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "private, no-store"})


@bp.route("/pegawai/<int:user_id>/sertifikat.zip")
@login_required
def certificates_zip(user_id: int):
    person = db.get_or_404(User, user_id)
    if not services.can_view_records(current_user, person):
        abort(404)
    name = f"sertifikat-{person.nip or person.id}.zip"
    return Response(stream_with_context(promotion.certificates_zip(person)), mimetype="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.route("/kelola/kenaikan-pangkat")
@role_required("hr", "admin")
def promotion_list():
    """A unit's employees for a promotion period with what their files lack; exported as CSV or XLSX."""
    unit = _unit_arg()
    raw = request.args.get("periode")
    period = services.parse_period(raw) or services.next_period()
    report = exports.promotion_report(period, actor=current_user, unit=unit)
    rows = []
    for row in report.rows:
        rows.append(dict(zip(report.columns, row, strict=True)))
        if len(rows) >= 200:
            break
    return render_template("records/promotion_list.html", period=period, periods=services.period_choices(),
                           unit=unit, rows=rows, units=_scope_units(), limit=200)


def _scope_units() -> list[tuple[str, str]]:
    from lms.services import unit_choices

    scope = services.scope_unit_ids(current_user)
    codes = dict(db.session.execute(select(OrgUnit.id, OrgUnit.code)).tuples().all())
    return [(codes[unit_id], label) for unit_id, label in unit_choices() if scope is None or unit_id in scope]


# ---------------------------------------------------------------- SIASN administration


@bp.route("/kelola/siasn/referensi", methods=["GET", "POST"])
@role_required("admin")
def references():
    form = ReferenceForm()
    if form.validate_on_submit():
        entry = None
        if request.form.get("entry_id", "").isdigit():
            entry = db.session.get(SiasnReference, int(request.form["entry_id"]))
        try:
            services.save_reference(entry, kind=form.kind.data, code=form.code.data, name=form.name.data,
                                    kursus_kind=form.kursus_kind.data, is_active=form.is_active.data,
                                    actor=current_user)
        except ValidationFailed as exc:
            db.session.rollback()
            _apply(form, exc.errors)
        else:
            db.session.commit()
            flash(_("Reference saved."), "success")
            return redirect(url_for("records.references"))
    lists = {kind: services.references(kind, active_only=False) for kind in ("jenis_diklat", "latihan_struktural")}
    stored = db.session.scalar(select(func.count(SiasnReference.id)))
    return render_template("records/references.html", form=form, lists=lists, stored=stored)


@bp.route("/kelola/siasn/pns-orang-id", methods=["GET", "POST"])
@role_required("admin")
def people_import():
    form = UploadForm()
    if form.validate_on_submit():
        if not form.file.data:
            form.file.errors.append(_("Choose a CSV file."))
        else:
            raw = form.file.data.read(20 * 1024 * 1024 + 1)
            try:
                if len(raw) > 20 * 1024 * 1024:
                    raise ValidationFailed({"file": _("The file is larger than 20 MB.")})
                try:
                    text = raw.decode("utf-8-sig")
                except UnicodeDecodeError:
                    raise ValidationFailed({"file": _("The file is not UTF-8 text.")}) from None
                count = siasn.import_people(text, actor=current_user)
            except ValidationFailed as exc:
                db.session.rollback()
                _apply(form, exc.errors)
            else:
                db.session.commit()
                flash(_("%(n)s pnsOrangId imported; nothing else changed.", n=count), "success")
                return redirect(url_for("records.people_import"))
    known = db.session.scalar(select(func.count()).select_from(SiasnPerson))
    return render_template("records/people_import.html", form=form, known=known)


@bp.route("/kelola/siasn/kirim")
@role_required("admin")
def outbox():
    state = request.args.get("status")
    stmt = select(SiasnPush).order_by(SiasnPush.id.desc())
    if state in ("pending", "sending", "sent", "failed"):
        stmt = stmt.where(SiasnPush.state == state)
    page = db.paginate(stmt, per_page=PER_PAGE, error_out=False)
    return render_template("records/outbox.html", page=page, counts=siasn.outbox_counts(), state=state,
                           enabled=siasn.push_enabled(), form=EmptyForm())


@bp.route("/kelola/siasn/kirim/<int:push_id>/ulang", methods=["POST"])
@role_required("admin")
def outbox_retry(push_id: int):
    push = db.get_or_404(SiasnPush, push_id)
    if EmptyForm().validate_on_submit():
        try:
            siasn.retry(push, actor=current_user)
        except ValidationFailed as exc:
            db.session.rollback()
            flash(str(next(iter(exc.errors.values()))), "error")
        else:
            db.session.commit()
            flash(_("The record will be sent again."), "success")
    return redirect(url_for("records.outbox"))


# ---------------------------------------------------------------- home sections


def hr_home_section() -> str:
    year = services.this_year()
    _rows, overall = services.compliance(year, actor=current_user)
    waiting = db.session.scalar(select(func.count()).select_from(
        services.queue_statement(current_user).order_by(None).subquery()))
    scope = services.scope_unit_ids(current_user)
    people = select(func.count(User.id)).where(User.is_active.is_(True))
    if scope is not None:
        people = people.where(User.unit_id.in_(scope or [-1]))
    return render_template("records/_home_hr.html", year=year, overall=overall, waiting=waiting,
                           roots=services.scope_roots(current_user), unit_size=db.session.scalar(people))


# ---------------------------------------------------------------- the HR API


def _api_year(required: bool = False) -> int | None:
    raw = request.args.get("year")
    if raw is None or raw == "":
        if required:
            abort(400, description=_("Give the year as ?year=YYYY."))
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) == 4 and 2000 <= int(raw) <= 2100):
        abort(400, description=_("The year must be written YYYY (2000–2100)."))
    return int(raw)


def _token_user() -> User:
    return api.current_token().user


def _api_person(nip: str) -> User:
    """The employee by NIP, if the token's owner may see them; 404 otherwise (no hint that they exist)."""
    person = db.session.scalar(select(User).where(User.nip == nip.strip())) if len(nip) <= 30 else None
    if person is None or not services.can_view_records(_token_user(), person):
        abort(404, description=_("No employee with this NIP in your units."))
    return person


@api_bp.get("/employees/<nip>/records")
@api.token_required("records:read")
def api_records(nip: str):
    person = _api_person(nip)
    year = _api_year()
    entries = services.entries_of(person, verified_only=True)
    years = sorted({e.year for e in entries if e.counts} | ({year} if year else {services.this_year()}),
                   reverse=True)
    shown = [e for e in entries if year is None or e.year == year]
    return jsonify({
        "nip": person.nip, "name": person.display_name, "employee_type": person.employee_type,
        "unit": {"code": person.unit.code, "name": person.unit.name} if person.unit else None,
        "year": year,
        "records": [e.as_json() for e in shown],
        "jp": [services.ledger_from(entries, y, person.employee_type).as_json()
               for y in ([year] if year else years)],
    })


@api_bp.get("/employees/<nip>/promotion-file.pdf")
@api.token_required("records:read")
def api_promotion_file(nip: str):
    person = _api_person(nip)
    raw = request.args.get("period")
    period = services.parse_period(raw)
    if raw and period is None:
        abort(400, description=_("The period must be YYYY-MM of a promotion month (02, 04, 06, 08, 10, 12)."))
    return _promotion_pdf(person, period or services.next_period())


@api_bp.get("/compliance")
@api.token_required("records:read")
def api_compliance():
    year = _api_year() or services.this_year()
    actor = _token_user()
    unit = None
    code = request.args.get("unit")
    if code:
        unit = db.session.scalar(select(OrgUnit).where(OrgUnit.code == code))
        if unit is None or not services.unit_in_scope(actor, unit):
            abort(404, description=_("No unit with this code in your units."))
    rows, overall = services.compliance(year, actor=actor, parent=unit)
    return jsonify({"year": year, "target": services.jp_target(), "pppk_cap": services.pppk_cap(),
                    "unit": {"code": unit.code, "name": unit.name} if unit else None,
                    "total": overall.as_json(), "units": [row.as_json() for row in rows]})


@api_bp.get("/feeds/siasn")
@api.token_required("records:read")
def api_siasn_feed():
    raw = request.args.get("since")
    since = None
    if raw:
        try:
            since = dt.date.fromisoformat(raw) if len(raw) == 10 else None
        except ValueError:
            since = None
        if since is None:
            abort(400, description=_("Give the date as ?since=YYYY-MM-DD."))
    lines = siasn.feed_lines(since=since, unit_ids=services.scope_unit_ids(_token_user()))
    return Response(stream_with_context(lines), content_type="application/jsonl; charset=utf-8",
                    headers={"Content-Disposition": 'inline; filename="siasn.jsonl"'})


# ---------------------------------------------------------------- the OpenAPI description

_ERRORS = {code: {"description": text, "content": {"application/json": {"schema": {
    "$ref": "#/components/schemas/Error"}}}}
    for code, text in (("400", "Bad parameter"), ("401", "No or bad token"),
                       ("403", "The token lacks records:read"), ("404", "Unknown, or outside the token's units"))}
_NIP = {"name": "nip", "in": "path", "required": True, "schema": {"type": "string"}, "example": "198503122010011003"}
_YEAR = {"name": "year", "in": "query", "required": False,
         "schema": {"type": "string", "pattern": "^[0-9]{4}$"}}
_LEDGER = {"type": "object", "required": ["year", "total", "counted", "target", "cap", "reached", "by_jalur",
                                          "by_competency_kind"],
           "properties": {"year": {"type": "integer"}, "total": {"type": "integer"}, "counted": {"type": "integer"},
                          "target": {"type": ["integer", "null"]}, "cap": {"type": ["integer", "null"]},
                          "reached": {"type": ["boolean", "null"]},
                          "by_jalur": {"type": "object", "additionalProperties": {"type": "integer"}},
                          "by_competency_kind": {"type": "object", "additionalProperties": {"type": "integer"}}}}
_UNIT_ROW = {"type": "object", "required": ["unit", "label", "employees", "reached", "behind", "rate", "pppk",
                                            "pppk_over_cap"],
             "properties": {"unit": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/UnitRef"}]},
                            "label": {"type": "string"}, "employees": {"type": "integer"},
                            "reached": {"type": "integer"}, "behind": {"type": "integer"},
                            "rate": {"type": ["number", "null"]}, "pppk": {"type": "integer"},
                            "pppk_over_cap": {"type": "integer"}}}


def _describe() -> None:
    api.schema("UnitRef", {"type": "object", "required": ["code", "name"],
                           "properties": {"code": {"type": "string"}, "name": {"type": "string"}}})
    api.schema("JpLedger", _LEDGER)
    api.schema("UnitCompliance", _UNIT_ROW)
    api.schema("TrainingRecord", {
        "type": "object", "required": ["kind", "id", "title", "organiser", "number", "start", "end", "year", "jp",
                                       "jalur", "competency_kind", "jenis_diklat", "status", "counts",
                                       "verify_url"],
        "properties": {"kind": {"enum": ["certificate", "external"]}, "id": {"type": "integer"},
                       "title": {"type": "string"}, "organiser": {"type": "string"},
                       "number": {"type": ["string", "null"]},
                       "start": {"type": ["string", "null"], "format": "date"},
                       "end": {"type": ["string", "null"], "format": "date"}, "year": {"type": "integer"},
                       "jp": {"type": "integer"}, "jalur": {"type": "string"},
                       "competency_kind": {"type": "string"}, "jenis_diklat": {"type": "string"},
                       "status": {"type": "string"}, "counts": {"type": "boolean"},
                       "verify_url": {"type": ["string", "null"]}}})
    secured = [{"bearer": []}]
    api.document("/employees/{nip}/records", "get", {
        "summary": "An employee's training records (certificates and HR-verified external records) with JP totals",
        "parameters": [_NIP, _YEAR], "security": secured,
        "responses": {"200": {"description": "Records and the JP ledger per year", "content": {"application/json": {
            "schema": {"type": "object", "required": ["nip", "name", "employee_type", "unit", "year", "records", "jp"],
                       "properties": {"nip": {"type": ["string", "null"]}, "name": {"type": "string"},
                                      "employee_type": {"type": ["string", "null"]},
                                      "unit": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/UnitRef"}]},
                                      "year": {"type": ["integer", "null"]},
                                      "records": {"type": "array",
                                                  "items": {"$ref": "#/components/schemas/TrainingRecord"}},
                                      "jp": {"type": "array", "items": {"$ref": "#/components/schemas/JpLedger"}}}}}}},
                      **_ERRORS}})
    api.document("/employees/{nip}/promotion-file.pdf", "get", {
        "summary": "The employee's promotion file (berkas pengembangan kompetensi) as PDF, certificates attached",
        "parameters": [_NIP, {"name": "period", "in": "query", "required": False,
                              "description": "Promotion period YYYY-MM (February, April, …, December); "
                                             "default the next one",
                              "schema": {"type": "string"}}],
        "security": secured,
        "responses": {"200": {"description": "PDF/A-3b",
                              "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}},
                      **_ERRORS}})
    api.document("/compliance", "get", {
        "summary": "20-JP compliance per unit for a year (the children of ?unit, or the token's top units)",
        "parameters": [_YEAR, {"name": "unit", "in": "query", "required": False, "schema": {"type": "string"}}],
        "security": secured,
        "responses": {"200": {"description": "Compliance per unit", "content": {"application/json": {"schema": {
            "type": "object", "required": ["year", "target", "pppk_cap", "unit", "total", "units"],
            "properties": {"year": {"type": "integer"}, "target": {"type": "integer"}, "pppk_cap": {"type": "integer"},
                           "unit": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/UnitRef"}]},
                           "total": {"$ref": "#/components/schemas/UnitCompliance"},
                           "units": {"type": "array", "items": {"$ref": "#/components/schemas/UnitCompliance"}}}}}}},
                      **_ERRORS}})
    api.document("/feeds/siasn", "get", {
        "summary": "JSON lines: one SIASN kursus/save or diklat/save payload per counting record",
        "description": "Each line is {endpoint, source, id, nip, at, payload}; payload holds the SIASN fields "
                       "(dates dd-mm-YYYY, pnsOrangId from the imported mapping or null).",
        "parameters": [{"name": "since", "in": "query", "required": False,
                        "schema": {"type": "string", "format": "date"}}],
        "security": secured,
        "responses": {"200": {"description": "One JSON object per line",
                              "content": {"application/jsonl": {"schema": {"type": "string"}}}},
                      **{k: v for k, v in _ERRORS.items() if k != "404"}}})


_describe()


# ---------------------------------------------------------------- wiring


def init_app(app) -> None:
    from certificates.records import jobs  # noqa: F401 - registers the outbox tasks, also in the worker
    from certificates.records.cli import records_cli
    from lms import web

    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
    app.cli.add_command(records_cli)
    app.extensions["bangkom.jp_ledger"] = services.home_jp
    web.add_navigation(app, "records.mine", _l("Training history"), ("learner",), position=3)
    web.add_navigation(app, "records.compliance", _l("Compliance"), ("hr", "admin"), position=4)
    web.add_home_section(app, "hr", hr_home_section)
    web.add_admin_section(app, "records.compliance", _l("20-JP compliance"),
                          _l("Per unit and year, who is behind, exports, promotion lists."))
    web.add_admin_section(app, "records.references", _l("SIASN reference lists"),
                          _l("jenisDiklatId and latihanStrukturalId as SIASN knows them."))
    web.add_admin_section(app, "records.people_import", _l("SIASN pnsOrangId"),
                          _l("Import BKN's NIP → pnsOrangId mapping."))
    web.add_admin_section(app, "records.outbox", _l("SIASN outbox"),
                          _l("Records sent to SIASN: pending, sent, failed with the answer."))
    from certificates.records import demo

    app.extensions.setdefault("bangkom.demo_seeders", []).append(demo.seed)
