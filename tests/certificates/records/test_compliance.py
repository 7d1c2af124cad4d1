"""Unit compliance, who is behind, assigning training to them, and the exports (one builder, three writers,
formulas neutralised, the caller's units only)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from sqlalchemy import select

from certificates.records import exports, services
from courses.models import Enrolment
from lms.extensions import db

YEAR = dt.date.today().year


@pytest.fixture
def staffed(make_employee, units, sibling_unit, unit_hr, submit):
    """Bidang: two PNS (one reached 20 JP), one PPPK over the cap; dinas itself: one CPNS behind;
    the sibling unit: one PNS who reached it."""
    reached = make_employee(unit=units.bidang, full_name="Ani Reached")
    submit(reached, jp=20, state="diverifikasi", by=unit_hr)
    behind = make_employee(unit=units.bidang, full_name="=HYPERLINK(\"http://x\")", golongan="II/c")
    submit(behind, jp=5, state="diverifikasi", by=unit_hr)
    pppk = make_employee(unit=units.bidang, employee_type="PPPK", full_name="Putu PPPK")
    submit(pppk, jp=30, state="diverifikasi", by=unit_hr)
    cpns = make_employee(unit=units.dinas, employee_type="CPNS", full_name="Citra CPNS")
    elsewhere = make_employee(unit=sibling_unit, full_name="Dedi Elsewhere")
    submit(elsewhere, jp=24, state="diverifikasi", by=unit_hr)
    return {"reached": reached, "behind": behind, "pppk": pppk, "cpns": cpns, "elsewhere": elsewhere}


def test_compliance_per_unit_drills_down_the_tree(staffed, admin, units):
    rows, overall = services.compliance(YEAR, actor=admin)
    assert [r.unit for r in rows] == [units.top]
    assert (overall.employees, overall.reached, overall.pppk, overall.pppk_over_cap) == (4, 2, 1, 1)
    rows, overall = services.compliance(YEAR, actor=admin, parent=units.top)
    by_label = {r.unit.code if r.unit else None: r for r in rows}
    assert (by_label["DISDUKCAPIL"].employees, by_label["DISDUKCAPIL"].reached) == (3, 1)
    assert (by_label["DISHUB"].employees, by_label["DISHUB"].rate) == (1, 100.0)
    rows, _overall = services.compliance(YEAR, actor=admin, parent=units.dinas)
    direct, bidang = rows
    assert direct.unit is None
    assert direct.employees == 1
    assert bidang.unit == units.bidang
    assert (bidang.employees, bidang.reached, bidang.rate) == (2, 1, 50.0)


def test_hr_sees_only_their_units(staffed, unit_hr, units):
    rows, overall = services.compliance(YEAR, actor=unit_hr)
    assert [r.unit for r in rows] == [units.dinas]
    assert overall.employees == 3
    people = db.session.scalars(services.people_statement(YEAR, actor=unit_hr, status="all")[0]).all()
    assert staffed["elsewhere"] not in people
    assert staffed["pppk"] in people


def test_filters_narrow_the_population(staffed, admin):
    _rows, overall = services.compliance(YEAR, actor=admin, filters=services.Filters(employee_type="CPNS"))
    assert (overall.employees, overall.reached) == (1, 0)
    _rows, overall = services.compliance(YEAR, actor=admin, filters=services.Filters(golongan="II/c"))
    assert overall.employees == 1


def test_the_behind_list_is_ordered_by_jp(staffed, admin):
    behind = db.session.scalars(services.people_statement(YEAR, actor=admin)[0]).all()
    assert behind == [staffed["cpns"], staffed["behind"]]


def test_assigning_training_to_those_behind(staffed, unit_hr, make_course, client, login):
    course = make_course(code="PP-01", jp=20, is_open=False)
    login(unit_hr)
    page = client.get("/kelola/kepatuhan/tugaskan").get_data(as_text=True)
    assert "2" in page
    response = client.post("/kelola/kepatuhan/tugaskan", data={"course_id": course.id})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assigned = {e.user_id for e in db.session.scalars(select(Enrolment).where(Enrolment.course_id == course.id))}
    assert assigned == {staffed["behind"].id, staffed["cpns"].id}


def test_the_dashboard_draws_a_chart_and_drills_down(staffed, admin, client, login, units):
    login(admin)
    page = client.get(f"/kelola/kepatuhan?unit={units.top.code}").get_data(as_text=True)
    assert "<svg" in page
    assert 'role="img"' in page
    assert "Dinas Kependudukan dan Pencatatan Sipil" in page
    assert f"unit={units.dinas.code}" in page


def test_hr_cannot_open_another_units_pages(staffed, unit_hr, sibling_unit, client, login):
    login(unit_hr)
    assert client.get(f"/kelola/kepatuhan?unit={sibling_unit.code}").status_code == 404
    assert client.get(f"/kelola/kepatuhan/ekspor?unit={sibling_unit.code}").status_code == 404
    assert client.get(f"/kelola/pegawai/{staffed['elsewhere'].id}").status_code == 404
    assert client.get(f"/pegawai/{staffed['elsewhere'].id}/berkas-pengembangan-kompetensi.pdf").status_code == 404


# ---------------------------------------------------------------- exports


def test_csv_export_neutralises_formulas_and_keeps_the_scope(staffed, unit_hr, client, login):
    login(unit_hr)
    response = client.get("/kelola/kepatuhan/ekspor?laporan=pegawai&status=all&format=csv")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    names = {r["nama"] for r in rows}
    assert "'=HYPERLINK(\"http://x\")" in names
    assert "Dedi Elsewhere" not in names
    pppk = next(r for r in rows if r["nama"] == "Putu PPPK")
    assert (pppk["jp_total"], pppk["batas"], pppk["status"]) == ("30", "24", "melebihi_batas")


def test_the_three_writers_stream_the_same_rows(staffed, admin):
    def report():
        return exports.people_report(YEAR, actor=admin, status="all")

    as_csv = list(csv.reader(io.StringIO("".join(exports.write_csv(report())))))
    as_json = [json.loads(line) for line in "".join(exports.write_jsonl(report())).splitlines()]
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(b"".join(exports.write_xlsx(report()))), read_only=True)
    as_xlsx = [list(row) for row in workbook.active.iter_rows(values_only=True)]
    workbook.close()
    assert as_csv[0] == list(exports.PEOPLE_COLUMNS) == as_xlsx[0] == list(as_json[0])
    assert len(as_csv) - 1 == len(as_json) == len(as_xlsx) - 1 == 5
    assert [r[0] for r in as_csv[1:]] == [r["nip"] for r in as_json] == [r[0] for r in as_xlsx[1:]]
    totals = {r["nip"]: r["jp_total"] for r in as_json}
    assert [totals[r[0]] for r in as_xlsx[1:]] == [r[9] for r in as_xlsx[1:]]  # numbers stay numbers
    names = [r[1] for r in as_xlsx[1:]]
    assert "'=HYPERLINK(\"http://x\")" in names  # text, never a formula


def test_units_and_promotion_reports(staffed, admin, units):
    rows = list(exports.units_report(YEAR, actor=admin, parent=units.top).rows)
    assert rows[-1][0] == "TOTAL"
    assert rows[-1][3] == 4
    period = services.next_period()
    report = exports.promotion_report(period, actor=admin)
    lines = [dict(zip(report.columns, row, strict=True)) for row in report.rows]
    assert {line["nama"] for line in lines} >= {"Ani Reached", "Citra CPNS"}
    assert "Putu PPPK" not in {line["nama"] for line in lines}  # promotion files are for PNS


def test_export_of_a_report_nobody_knows_is_404(admin, client, login):
    login(admin)
    assert client.get("/kelola/kepatuhan/ekspor?laporan=gaji&format=csv").status_code == 404
    assert client.get("/kelola/kepatuhan/ekspor?format=exe").status_code == 404


def test_the_cli_uses_the_same_builder(staffed, cli, tmp_path):
    target = tmp_path / "jp.csv"
    result = cli("records", "export", "--report", "pegawai", "--status", "behind", "--output", str(target))
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert {r["nama"] for r in rows} == {"Citra CPNS", "'=HYPERLINK(\"http://x\")"}
