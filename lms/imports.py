"""Bulk import of employees from CSV: everything validated first, then all rows written or none."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, insert, select, text, update

from lms import nip as nip_rules
from lms.extensions import db
from lms.models import PANGKAT, PPPK_GOLONGAN, OrgUnit, User, UserRole, new_session_nonce
from lms.services import PHONE_RE, audit, normalise_golongan

REQUIRED_COLUMNS = ("nip", "nama", "email")
OPTIONAL_COLUMNS = ("jenis_pegawai", "golongan", "jabatan", "unit", "tanggal_lahir", "jenis_kelamin", "telepon")
GENDER_WORDS = {"L": "L", "P": "P", "1": "L", "2": "P", "LAKI-LAKI": "L", "PEREMPUAN": "P", "PRIA": "L",
                "WANITA": "P", "M": "L", "F": "P"}
# Academic and religious titles written before the name (PermenPAN and Kemdikbud usage).
FRONT_TITLES = {"prof.", "dr.", "drs.", "dra.", "ir.", "h.", "hj.", "drg.", "apt.", "ns.", "kh."}
DATE_FORMATS = ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y")
CHUNK = 900  # stays below SQLite's bound-parameter limit in IN (...) look-ups


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    dry_run: bool = False
    errors: list[tuple[int, Any]] = field(default_factory=list)
    notices: list[Any] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class ImportRefused(Exception):
    """The file as a whole cannot be read (encoding, header); ``message`` says why."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def split_titles(text: str) -> tuple[str | None, str, str | None]:
    """``Dr. Ir. Budi Santoso, M.T., M.Sc.`` → (``Dr. Ir.``, ``Budi Santoso``, ``M.T., M.Sc.``)."""
    name, _, back = text.partition(",")
    words = name.split()
    front = []
    while len(words) > 1 and words[0].lower() in FRONT_TITLES:
        front.append(words.pop(0))
    return (" ".join(front) or None), " ".join(words), (back.strip() or None)


def parse_date(value: str) -> dt.date:
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise ValueError(value)


def _refusing_csv_errors(reader) -> Iterator[list[str]]:
    """The reader's records; one the csv module cannot read (typically a quote mark never closed, which
    swallows the rest of the file into one huge cell) refuses the file instead of crashing."""
    while True:
        start = reader.line_num + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ImportRefused(_l("Line %(line)s cannot be read (%(why)s). Look for a quote mark (\") that is "
                                   "never closed.", line=start, why=str(exc))) from None
        yield values


def read_rows(stream: IO[bytes]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) pairs of a UTF-8 CSV with a header; ``;`` or ``,`` separated."""
    raw = stream.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRefused(_l("The file is not UTF-8 text. Save it from your spreadsheet as "
                               "\"CSV UTF-8\" and try again.")) from None
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = _refusing_csv_errors(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise ImportRefused(_l("The file is empty.")) from None
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise ImportRefused(_l("The header row lacks the required columns: %(cols)s.", cols=", ".join(missing)))
    for number, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue
        if len(values) > len(header):
            yield number, {"__error__": "columns"}
            continue
        yield number, {key: (values[i].strip() if i < len(values) else "") for i, key in enumerate(header)}


def _existing(column, values: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(values), CHUNK):
        chunk = values[start:start + CHUNK]
        found.update(db.session.execute(select(column, User.id).where(column.in_(chunk))).tuples().all())
    return found


def import_users(stream: IO[bytes], *, actor: User | None, dry_run: bool = False,
                 filename: str = "") -> ImportReport:
    """Validate every row; when all are good (and not a dry run) create new employees and update known NIPs."""
    report = ImportReport(dry_run=dry_run)
    today = dt.date.today()
    units = {code.lower(): uid for code, uid in db.session.execute(select(OrgUnit.code, OrgUnit.id)).tuples()}
    max_rows = current_app.config["IMPORT_MAX_ROWS"]
    parsed: list[tuple[int, dict[str, Any]]] = []
    seen_nip: dict[str, int] = {}
    seen_email: dict[str, int] = {}
    header_checked = False

    for line, row in read_rows(stream):
        if not header_checked:
            extra = sorted(set(row) - set(REQUIRED_COLUMNS) - set(OPTIONAL_COLUMNS) - {"__error__"})
            if extra:
                report.notices.append(_l("Columns ignored: %(cols)s.", cols=", ".join(extra)))
            header_checked = True
        report.rows += 1
        if report.rows > max_rows:
            raise ImportRefused(_l("At most %(n)s rows can be imported at once.", n=max_rows))
        if "__error__" in row:
            report.errors.append((line, _l("This row has more values than the header has columns.")))
            continue
        reasons: list[Any] = []
        values: dict[str, Any] = {}

        raw_name = row.get("nama", "")
        if not raw_name:
            reasons.append(_l("nama is empty"))
        else:
            values["title_front"], values["full_name"], values["title_back"] = split_titles(raw_name)
            if len(values["full_name"]) > 150:
                reasons.append(_l("nama is longer than 150 characters"))

        email = row.get("email", "").strip().lower()
        try:
            email = validate_email(email, check_deliverability=False, globally_deliverable=False).normalized.lower()
        except EmailNotValidError:
            reasons.append(_l("e-mail \"%(v)s\" is not valid", v=email))
        else:
            if email in seen_email:
                reasons.append(_l("e-mail is also on line %(line)s", line=seen_email[email]))
            seen_email.setdefault(email, line)
        values["email"] = email

        etype = row.get("jenis_pegawai", "").upper() or None
        if etype is not None and etype not in ("PNS", "CPNS", "PPPK"):
            reasons.append(_l("jenis_pegawai must be PNS, CPNS or PPPK"))
            etype = None
        birth = None
        if row.get("tanggal_lahir"):
            try:
                birth = parse_date(row["tanggal_lahir"])
            except ValueError:
                reasons.append(_l("tanggal_lahir \"%(v)s\" is not a date (YYYY-MM-DD)", v=row["tanggal_lahir"]))
        gender = None
        if row.get("jenis_kelamin"):
            gender = GENDER_WORDS.get(row["jenis_kelamin"].upper())
            if gender is None:
                reasons.append(_l("jenis_kelamin must be L or P"))
        nip = nip_rules.normalise(row.get("nip", ""))
        try:
            info = nip_rules.parse(nip, employee_type=etype, birth_date=birth, gender=gender, today=today)
        except nip_rules.InvalidNip as exc:
            reasons.append(_l("NIP %(nip)s: %(why)s", nip=nip or "-", why=exc.message))
        else:
            if nip in seen_nip:
                reasons.append(_l("NIP is also on line %(line)s", line=seen_nip[nip]))
            seen_nip.setdefault(nip, line)
            etype = etype or info.layout
            birth, gender = info.birth_date, info.gender
        values.update(nip=nip, employee_type=etype, birth_date=birth, gender=gender)

        golongan = normalise_golongan(row.get("golongan"))
        if golongan and golongan not in (PPPK_GOLONGAN if etype == "PPPK" else PANGKAT):
            reasons.append(_l("golongan \"%(v)s\" is not valid for %(t)s", v=row["golongan"], t=etype or "PNS"))
        values["golongan"] = golongan
        values["jabatan_name"] = row.get("jabatan") or None
        if values["jabatan_name"] and len(values["jabatan_name"]) > 200:
            reasons.append(_l("jabatan is longer than 200 characters"))
        if row.get("unit"):
            values["unit_id"] = units.get(row["unit"].lower())
            if values["unit_id"] is None:
                reasons.append(_l("unit \"%(v)s\" is not a known unit code", v=row["unit"]))
        phone = row.get("telepon") or None
        if phone and not PHONE_RE.match(phone):
            reasons.append(_l("telepon \"%(v)s\" is not a phone number", v=phone))
        values["phone"] = phone

        if reasons:
            report.errors.append((line, "; ".join(str(r) for r in reasons)))
        else:
            parsed.append((line, values))

    if report.rows == 0:
        raise ImportRefused(_l("The file has a header but no rows."))

    by_nip = _existing(User.nip, [v["nip"] for _, v in parsed])
    by_email = _existing(User.email, [v["email"] for _, v in parsed])
    for line, values in parsed:
        owner = by_email.get(values["email"])
        if owner is not None and owner != by_nip.get(values["nip"]):
            report.errors.append((line, str(_l("e-mail %(v)s belongs to another account", v=values["email"]))))
    report.errors.sort(key=lambda item: item[0])
    if report.errors or dry_run:
        report.created = sum(1 for _, v in parsed if v["nip"] not in by_nip)
        report.updated = len(parsed) - report.created
        return report

    new_rows, changed_rows = [], []
    for _, values in parsed:
        values = {k: v for k, v in values.items()}
        if values["nip"] in by_nip:
            values["id"] = by_nip[values["nip"]]
            changed_rows.append({k: v for k, v in values.items() if v is not None})
        else:
            values["session_nonce"] = new_session_nonce()
            new_rows.append(values)
    keys = {"title_front", "full_name", "title_back", "email", "nip", "employee_type", "birth_date", "gender",
            "golongan", "jabatan_name", "unit_id", "phone", "session_nonce"}
    for start in range(0, len(new_rows), 5000):
        batch = [{k: row.get(k) for k in keys} for row in new_rows[start:start + 5000]]
        # render_nulls keeps every row the same shape, so each batch is one statement (without it, rows
        # are split by which columns are empty and re-spliced, quadratic in the number of rows).
        statement = insert(User).returning(User.id).execution_options(render_nulls=True)
        ids = db.session.scalars(statement, batch).all()
        db.session.execute(insert(UserRole), [{"user_id": uid, "role": "learner"} for uid in ids])
    if new_rows and db.session.get_bind().dialect.name == "postgresql":
        # Plans cached by long-lived connections assumed the table as it was; fresh statistics keep the
        # next import (on the same web worker's connection) from running on empty-table plans.
        db.session.execute(text("ANALYZE users"))
    # Updates grouped by the set of columns they carry, as executemany needs one statement shape.
    shapes: dict[frozenset, list[dict]] = {}
    for row in changed_rows:
        shapes.setdefault(frozenset(row), []).append(row)
    for rows in shapes.values():
        db.session.execute(update(User), rows)
    report.created, report.updated = len(new_rows), len(changed_rows)
    audit("user.import", actor=actor, object_type="users", summary=filename or "CSV",
          created=report.created, updated=report.updated, rows=report.rows)
    return report


def count_users() -> int:
    return db.session.scalar(select(func.count(User.id))) or 0
