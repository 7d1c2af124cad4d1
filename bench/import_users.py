"""Bulk employee import: 50,000 valid employees through ``flask users import`` (dry run, then for real,
then the same file again, which updates every row), on a fresh database in a throw-away instance folder.

Budget (admin bulk CSV import of thousands, DESIGN.md §1): under 60 s for 50,000 rows.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path

from bench import Result
from bench._support import Stopwatch, application, database_kind, say

ROWS = 50_000
BUDGET_SECONDS = 60.0
EXTRA_UNITS = 40  # besides the demo's ten

FIRST_NAMES = ["Budi", "Siti", "Agus", "Dewi", "Eko", "Rina", "Hendra", "Sri", "Joko", "Wahyu", "Ayu", "Dian",
               "Rudi", "Fitri", "Bambang", "Lestari", "Andi", "Nur", "Yuli", "Slamet", "Putri", "Arif", "Indah",
               "Teguh", "Ratna", "Bayu", "Wulan", "Hadi", "Sari", "Yusuf", "Kartika", "Imam", "Mega", "Rizky"]
LAST_NAMES = ["Santoso", "Rahmawati", "Prasetyo", "Lestari", "Saputra", "Kusumawati", "Wijaya", "Hidayat",
              "Nugroho", "Setiawan", "Wibowo", "Susanti", "Purnomo", "Handayani", "Siregar", "Nasution",
              "Hasibuan", "Utami", "Firmansyah", "Kurniawan", "Pratama", "Maharani", "Gunawan", "Suryani"]
FRONT_TITLES = ["", "", "", "", "", "", "Dr.", "Ir.", "Drs.", "H.", "Hj."]
BACK_TITLES = ["", "", "S.Kom.", "S.E.", "S.H.", "S.Sos.", "S.T.", "S.Pd.", "A.Md.", "M.M.", "S.E., M.M.",
               "S.Kom., M.T.", "S.H., M.H."]
JABATAN = ["Pengelola Data", "Analis Kebijakan Ahli Pertama", "Pranata Komputer Terampil", "Arsiparis Ahli Muda",
           "Pengadministrasi Umum", "Perencana Ahli Muda", "Auditor Ahli Pertama", "Widyaiswara Ahli Madya",
           "Penyuluh Kesehatan", "Analis Sumber Daya Manusia Aparatur"]
PNS_GOLONGAN = ["II/a", "II/b", "II/c", "II/d", "III/a", "III/b", "III/c", "III/d", "IV/a", "IV/b", "IV/c"]
PPPK_GOLONGAN = ["V", "VII", "IX", "X", "XI"]
HEADER = ["nip", "nama", "email", "jenis_pegawai", "golongan", "jabatan", "unit", "tanggal_lahir", "jenis_kelamin",
          "telepon"]


def random_date(rng: random.Random, first: dt.date, last: dt.date) -> dt.date:
    return first + dt.timedelta(days=rng.randrange((last - first).days + 1))


def employee_nip(rng: random.Random, kind: str, today: dt.date) -> tuple[str, dt.date, str]:
    """A NIP that follows lms/nip.py: (nip, birth date, gender digit)."""
    born = random_date(rng, dt.date(1966, 1, 1), dt.date(2001, 12, 31))
    gender = rng.choice("12")
    sequence = rng.randrange(1, 1000)
    earliest = born.year + 18
    if kind == "PPPK":
        year = rng.randrange(max(2019, earliest), today.year + 1)
        middle = f"{year}{rng.randrange(1, 4):02d}"
    elif kind == "CPNS":
        year = today.year - rng.randrange(0, 2)
        middle = f"{year}{rng.randrange(1, today.month + 1 if year == today.year else 13):02d}"
    else:
        year = rng.randrange(earliest, min(today.year, born.year + 40) + 1)
        middle = f"{year}{rng.randrange(1, 13):02d}"
    return f"{born:%Y%m%d}{middle}{gender}{sequence:03d}", born, gender


def write_employees(path: Path, rows: int, unit_codes: list[str], seed: int = 2026) -> None:
    """``rows`` valid, distinct employees, the way a BKD export looks (every optional column filled)."""
    rng = random.Random(seed)
    today = dt.date.today()
    nips: set[str] = set()
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        for n in range(1, rows + 1):
            kind = rng.choices(["PNS", "CPNS", "PPPK"], weights=[80, 5, 15])[0]
            nip, born, gender = employee_nip(rng, kind, today)
            while nip in nips:
                nip, born, gender = employee_nip(rng, kind, today)
            nips.add(nip)
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            front, back = rng.choice(FRONT_TITLES), rng.choice(BACK_TITLES)
            name = " ".join(p for p in (front, first, last) if p) + (f", {back}" if back else "")
            writer.writerow([
                nip if n % 7 else f"{nip[:8]} {nip[8:14]} {nip[14]} {nip[15:]}",  # some typed with spaces
                name,
                f"{first}.{last}.{n}@pegawai.jatengprov.go.id".lower(),
                kind,
                rng.choice(PPPK_GOLONGAN if kind == "PPPK" else PNS_GOLONGAN),
                rng.choice(JABATAN),
                rng.choice(unit_codes),
                born.isoformat() if n % 3 else f"{born:%d-%m-%Y}",
                "L" if gender == "1" else "P",
                f"08{rng.randrange(11, 99)}-{rng.randrange(1000, 9999)}-{rng.randrange(1000, 9999)}",
            ])


def create_units() -> list[str]:
    from lms import demo, services
    from lms.extensions import db

    ids: dict[str, int] = {}
    for code, name, kind, parent in demo.UNITS:
        ids[code] = services.save_unit(None, code=code, name=name, kind=kind,
                                       parent_id=ids[parent] if parent else None, actor=None).id
    for n in range(1, EXTRA_UNITS + 1):
        code = f"UPT-{n:02d}"
        ids[code] = services.save_unit(None, code=code, name=f"Unit Pelaksana Teknis {n}", kind="unit",
                                       parent_id=ids["PROV-JATENG"], actor=None).id
    db.session.commit()
    return sorted(ids)


def import_file(app, path: Path, *, dry_run: bool) -> tuple[float, str]:
    """``flask users import FILE [--dry-run]``, exactly as an operator runs it; (seconds, output).

    Each command starts on new database connections, as a new ``flask`` process would (a reused
    PostgreSQL connection would carry query plans prepared while the table was still empty)."""
    from lms.extensions import db

    db.session.remove()
    db.engine.dispose()
    runner = app.test_cli_runner()
    args = ["users", "import", str(path)] + (["--dry-run"] if dry_run else [])
    with Stopwatch() as clock:
        outcome = runner.invoke(args=args)
    if outcome.exception is not None and not isinstance(outcome.exception, SystemExit):
        raise outcome.exception
    if outcome.exit_code != 0:
        raise RuntimeError(f"users import exited {outcome.exit_code}: {outcome.output[-500:]}")
    return clock.seconds, outcome.output.strip()


def run() -> list[Result]:
    from sqlalchemy import func, select

    from lms.extensions import db
    from lms.models import User, UserRole

    kind = database_kind()
    results = []
    with application("import-users") as app:
        units = create_units()
        csv_path = Path(app.instance_path) / "employees.csv"
        with Stopwatch() as clock:
            write_employees(csv_path, ROWS, units)
        say(f"{ROWS:,} employees written to CSV in {clock.seconds:.1f} s "
            f"({csv_path.stat().st_size / 1e6:.1f} MB), {len(units)} units")

        seconds, output = import_file(app, csv_path, dry_run=True)
        say(f"dry run: {seconds:.1f} s - {output}")
        imported = db.session.scalar(select(func.count(User.id)))
        if imported != 0 or "Nothing was imported" not in output:
            return [Result.failed(f"users import --dry-run, {ROWS:,} rows", "the dry run wrote rows")]
        results.append(Result.at_most(f"users import --dry-run, {ROWS:,} rows ({kind})", seconds, BUDGET_SECONDS,
                                      detail=f"{ROWS / seconds:,.0f} rows/s"))

        seconds, output = import_file(app, csv_path, dry_run=False)
        say(f"import: {seconds:.1f} s - {output}")
        db.session.expire_all()
        users = db.session.scalar(select(func.count(User.id)))
        learners = db.session.scalar(select(func.count()).select_from(UserRole).where(UserRole.role == "learner"))
        with_unit = db.session.scalar(select(func.count(User.id)).where(User.unit_id.is_not(None)))
        if not users == learners == with_unit == ROWS:
            results.append(Result.failed(f"users import, {ROWS:,} new employees ({kind})",
                                         f"wrong outcome: {users} users, {learners} learners, {with_unit} in units"))
            return results
        results.append(Result.at_most(f"users import, {ROWS:,} new employees ({kind})", seconds, BUDGET_SECONDS,
                                      detail=f"{ROWS / seconds:,.0f} rows/s"))

        seconds, output = import_file(app, csv_path, dry_run=False)
        say(f"re-import: {seconds:.1f} s - {output}")
        if f"0 new, {ROWS} updated" not in output:
            results.append(Result.failed(f"users import, {ROWS:,} known employees updated ({kind})",
                                         f"unexpected outcome: {output[-80:]}"))
            return results
        results.append(Result.at_most(f"users import, {ROWS:,} known employees updated ({kind})", seconds,
                                      BUDGET_SECONDS, detail=f"{ROWS / seconds:,.0f} rows/s"))
    return results
