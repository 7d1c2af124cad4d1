"""Reports as one builder each (columns and a stream of rows) and thin writers for CSV, XLSX and JSON lines.

The same builder serves the web page, the API and the command line. Rows are read with ``yield_per`` and
written as they come, so 60,000 employees cost the memory of a few thousand. Text cells that begin with
``= + - @`` (or a tab or carriage return) get a leading apostrophe: a spreadsheet would run them as formulas.
The XLSX writer streams too: the workbook is a ZIP written member by member (data descriptors, no seeking)
with inline strings, so nothing waits for the last row.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from xml.sax.saxutils import escape

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from certificates.records import services
from certificates.records.models import ExternalRecord
from courses.models import COMPETENCY_KINDS
from lms.extensions import db
from lms.models import OrgUnit, User

FORMATS = {"csv": ("text/csv; charset=utf-8", "csv"), "xlsx": (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "jsonl": ("application/jsonl; charset=utf-8", "jsonl")}


@dataclass
class Report:
    """What a builder returns: a file name stem, a sheet title, the column keys and the rows (tuples)."""

    name: str
    title: str
    columns: tuple[str, ...]
    rows: Iterable[tuple]


def neutral(value):
    """A cell as written to CSV or XLSX: formulas neutralised, dates as ISO text, numbers kept."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "ya" if value else "tidak"
    if isinstance(value, int | float):
        return value
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# ---------------------------------------------------------------- writers


def write_csv(report: Report) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(report.columns)
    for count, row in enumerate(report.rows, start=1):
        writer.writerow([neutral(v) for v in row])
        if count % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _jsonable(value):
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def write_jsonl(report: Report) -> Iterator[str]:
    """JSON lines keep values as they are (no formula risk in JSON); one object per row."""
    batch = []
    for row in report.rows:
        batch.append(json.dumps({key: _jsonable(value) for key, value in zip(report.columns, row, strict=True)},
                                ensure_ascii=False, separators=(",", ":")))
        if len(batch) >= 500:
            yield "\n".join(batch) + "\n"
            batch = []
    if batch:
        yield "\n".join(batch) + "\n"


class _Sink(io.RawIOBase):
    """Where zipfile writes; the chunks are taken out as they are written (it cannot seek, so zipfile
    writes data descriptors after each member)."""

    def __init__(self):
        self._chunks: list[bytes] = []
        self._position = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._chunks.append(bytes(data))
        self._position += len(data)
        return len(data)

    def tell(self) -> int:
        return self._position

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_STATIC_PARTS = {
    "[Content_Types].xml": _XML + (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>'),
    "_rels/.rels": _XML + (
        f'<Relationships xmlns="{_PKG_REL}"><Relationship Id="rId1" Type="{_REL}/officeDocument" '
        'Target="xl/workbook.xml"/></Relationships>'),
    "xl/_rels/workbook.xml.rels": _XML + (
        f'<Relationships xmlns="{_PKG_REL}">'
        f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{_REL}/styles" Target="styles.xml"/></Relationships>'),
    "xl/styles.xml": _XML + (
        f'<styleSheet xmlns="{_MAIN}"><fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
        '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'),
}
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _cell(ref: str, value, style: str = "") -> str:
    value = neutral(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f'<c r="{ref}"{style}><v>{value}</v></c>'
    text = escape(_NOT_XML.sub("", str(value)))
    return f'<c r="{ref}" t="inlineStr"{style}><is><t xml:space="preserve">{text}</t></is></c>'


def write_xlsx(report: Report) -> Iterator[bytes]:
    sink = _Sink()
    letters = [_column_letter(i) for i in range(len(report.columns))]
    sheet_name = escape(_NOT_XML.sub("", report.title))[:31] or "Data"
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in _STATIC_PARTS.items():
            archive.writestr(name, content)
        archive.writestr("xl/workbook.xml", _XML + (
            f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>'
            f'<sheet name="{sheet_name}" sheetId="1" r:id="rId1"/></sheets></workbook>'))
        yield sink.take()
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write((_XML + f'<worksheet xmlns="{_MAIN}"><sheetViews><sheetView workbookViewId="0">'
                         '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
                         '</sheetView></sheetViews><sheetData>').encode())
            header = "".join(_cell(f"{letter}1", name, ' s="1"') for letter, name in zip(
                letters, report.columns, strict=True))
            sheet.write(f'<row r="1">{header}</row>'.encode())
            parts: list[str] = []
            for number, row in enumerate(report.rows, start=2):
                cells = "".join(_cell(f"{letter}{number}", value) for letter, value in zip(letters, row, strict=True))
                parts.append(f'<row r="{number}">{cells}</row>')
                if len(parts) >= 500:
                    sheet.write("".join(parts).encode())
                    parts = []
                    yield sink.take()
            sheet.write(("".join(parts) + "</sheetData></worksheet>").encode())
    yield sink.take()


WRITERS: dict[str, Callable[[Report], Iterator]] = {"csv": write_csv, "xlsx": write_xlsx, "jsonl": write_jsonl}


def filename(report: Report, fmt: str) -> str:
    return f"{report.name}.{FORMATS[fmt][1]}"


# ---------------------------------------------------------------- builders

PEOPLE_COLUMNS = ("nip", "nama", "jenis_pegawai", "golongan", "jenis_jabatan", "jabatan", "unit_kode", "unit",
                  "tahun", "jp_total", *(f"jp_{kind}" for kind in COMPETENCY_KINDS),
                  *(f"jp_{jalur}" for jalur in services.LEDGER_JALUR), "target", "batas", "status")


def _status(employee_type: str | None, total: int, target: int, cap: int) -> str:
    if employee_type in services.target_types():
        return "tercapai" if total >= target else "kurang"
    if employee_type == "PPPK":
        return "melebihi_batas" if total > cap else "dalam_batas"
    return ""


def people_report(year: int, *, actor: User, unit: OrgUnit | None = None, filters=None,
                  status: str = "behind") -> Report:
    """One row per employee of the actor's units (or ``unit``): their JP of the year by kind and route."""
    stmt, totals = services.people_statement(year, actor=actor, unit=unit, filters=filters, status=status)
    jp_columns = [func.coalesce(totals.c[f"jp_{key}"], 0) for key in
                  (*COMPETENCY_KINDS, *services.LEDGER_JALUR)]
    stmt = stmt.with_only_columns(
        User.nip, User.full_name, User.title_front, User.title_back, User.employee_type, User.golongan,
        User.jabatan_type, User.jabatan_name, OrgUnit.code, OrgUnit.name, func.coalesce(totals.c.total, 0),
        *jp_columns, maintain_column_froms=False,
    ).outerjoin(OrgUnit, OrgUnit.id == User.unit_id)
    target, cap = services.jp_target(), services.pppk_cap()

    def rows():
        services.read_everything()
        for row in db.session.execute(stmt.execution_options(yield_per=2000)):
            (nip, name, front, back, employee_type, golongan, jabatan_type, jabatan, unit_code, unit_name,
             total, *by) = row
            display = f"{front} {name}" if front else name
            display = f"{display}, {back}" if back else display
            yield (nip, display, employee_type, golongan, jabatan_type, jabatan, unit_code, unit_name, year,
                   total, *by, target if employee_type in services.target_types() else None,
                   cap if employee_type == "PPPK" else None, _status(employee_type, total, target, cap))

    suffix = {"behind": "kurang", "reached": "tercapai"}.get(status, "semua")
    scope = unit.code if unit is not None else "semua-unit"
    return Report(f"jp-{year}-{scope}-{suffix}", str(_l("JP %(year)s", year=year)), PEOPLE_COLUMNS, rows())


UNIT_COLUMNS = ("unit_kode", "unit", "tahun", "pegawai_wajib_20_jp", "tercapai", "kurang", "persen_tercapai",
                "pppk", "pppk_melebihi_batas")


def units_report(year: int, *, actor: User, parent: OrgUnit | None = None, filters=None) -> Report:
    """One row per unit shown on the compliance dashboard, and the total."""
    rows, overall = services.compliance(year, actor=actor, parent=parent, filters=filters)

    def lines():
        for row in [*rows, overall]:
            yield (row.unit.code if row.unit is not None and row is not overall else ("" if row is not overall
                                                                                      else "TOTAL"),
                   row.label, year, row.employees, row.reached, row.behind, row.rate, row.pppk, row.pppk_over_cap)

    scope = parent.code if parent is not None else "semua-unit"
    return Report(f"kepatuhan-{year}-{scope}", str(_l("Compliance %(year)s", year=year)), UNIT_COLUMNS, lines())


PROMOTION_COLUMNS = ("periode", "nip", "nama", "golongan", "pangkat", "jenis_jabatan", "jabatan", "unit",
                     "jp_tahun_lalu", "jp_tahun_ini", "status_jp", "diklat_kepemimpinan", "menunggu_verifikasi",
                     "sertifikat_tanpa_pdf", "kekurangan")
LEADERSHIP_POSTS = ("jpt_utama", "jpt_madya", "jpt_pratama", "administrator", "pengawas")


def promotion_report(period: dt.date, *, actor: User, unit: OrgUnit | None = None) -> Report:
    """For a promotion period: every PNS of the units with their JP of the last two years and what their
    promotion file still lacks (the year's 20 JP, leadership training for a structural post, records waiting
    for verification, certificates whose PDF is not ready)."""
    from certificates.models import Certificate
    from courses.models import Course

    last_year = period.year - 1 if period.month > 1 else period.year - 2
    people = services.population(actor=actor, unit=unit, types=services.target_types())
    last = services.totals_subquery(last_year, people, name="jp_last")
    current = services.totals_subquery(last_year + 1, people, name="jp_current")
    pending = (select(ExternalRecord.user_id, func.count().label("n")).where(ExternalRecord.state == "diajukan")
               .group_by(ExternalRecord.user_id).subquery("pending"))
    counting = services.counting_certificates().add_columns(Course.__table__.c.jenis_diklat).subquery("counting")
    leadership = (select(counting.c.user_id).where(counting.c.jenis_diklat == services.STRUKTURAL)
                  .union(select(ExternalRecord.user_id).where(ExternalRecord.state == "diverifikasi",
                                                              ExternalRecord.jenis_diklat == services.STRUKTURAL))
                  .subquery("leadership"))
    no_pdf = (select(Certificate.user_id, func.count().label("n"))
              .where(Certificate.pdf_sha256.is_(None), Certificate.revoked_at.is_(None))
              .group_by(Certificate.user_id).subquery("no_pdf"))
    stmt = (select(User.nip, User.full_name, User.golongan, User.jabatan_type, User.jabatan_name, OrgUnit.name,
                   func.coalesce(last.c.total, 0), func.coalesce(current.c.total, 0),
                   leadership.c.user_id.is_not(None), func.coalesce(pending.c.n, 0), func.coalesce(no_pdf.c.n, 0))
            .select_from(User).outerjoin(OrgUnit, OrgUnit.id == User.unit_id)
            .outerjoin(last, last.c.user_id == User.id).outerjoin(current, current.c.user_id == User.id)
            .outerjoin(pending, pending.c.user_id == User.id).outerjoin(no_pdf, no_pdf.c.user_id == User.id)
            .outerjoin(leadership, leadership.c.user_id == User.id)
            .where(User.id.in_(people)).order_by(OrgUnit.name, User.full_name, User.id))
    target = services.jp_target()
    from lms.models import PANGKAT

    def rows():
        services.read_everything()
        for row in db.session.execute(stmt.execution_options(yield_per=2000)):
            nip, name, golongan, jabatan_type, jabatan, unit_name, jp_last, jp_now, led, waiting, unready = row
            missing = []
            if jp_last < target:
                missing.append(f"JP {last_year} {jp_last}/{target}")
            if jabatan_type in LEADERSHIP_POSTS and not led:
                missing.append("diklat kepemimpinan")
            if waiting:
                missing.append(f"{waiting} menunggu verifikasi")
            if unready:
                missing.append(f"{unready} PDF sertifikat belum siap")
            yield (period.strftime("%Y-%m"), nip, name, golongan, PANGKAT.get(golongan or ""), jabatan_type,
                   jabatan, unit_name, jp_last, jp_now, "tercapai" if jp_last >= target else "kurang",
                   bool(led), waiting, unready, "; ".join(missing))

    scope = unit.code if unit is not None else "semua-unit"
    return Report(f"kenaikan-pangkat-{period:%Y-%m}-{scope}", str(_l("Promotion %(period)s",
                                                                        period=period.strftime("%m-%Y"))),
                  PROMOTION_COLUMNS, rows())
