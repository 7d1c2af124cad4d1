"""HR exports at the size of a provincial government: 60,000 employees with 600,000 training records (300,000
certificates and 300,000 verified external records), on a fresh database in a throw-away instance folder.

Measured, each streamed to the end as a client would read it: the full SIASN feed (JSON lines, one payload per
record), the compliance report of every employee (CSV and XLSX, JP by kind and route), and the per-unit
compliance dashboard. Memory is sampled while the rows stream: "flat" means it does not grow with the rows.

Budget (DESIGN.md §6): promotion/HR export of 60,000 employees and 600,000 records < 10 s, memory flat
(growth while streaming under 100 MB).
"""

from __future__ import annotations

import datetime as dt
import gc
import os
import random
import secrets
import time

from sqlalchemy import insert, select

from bench import Result
from bench._support import Stopwatch, application, database_kind, say

EMPLOYEES = 60_000
CERTIFICATES_EACH = 5
EXTERNALS_EACH = 5
BUDGET_SECONDS = 10.0
BUDGET_GROWTH_MB = 100.0
CHUNK = 20_000
COURSES = 50
DINAS = 40
BIDANG_EACH = 4


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1024 / 1024


def _chunks(rows: list[dict]):
    for start in range(0, len(rows), CHUNK):
        yield rows[start:start + CHUNK]


def _populate(rng: random.Random) -> int:
    """Bulk-insert units, employees, courses, enrolments with their certificates and external records."""
    from certificates.models import Certificate, Issuer
    from certificates.records.models import ExternalRecord
    from courses.models import Course, CourseVersion, Enrolment
    from lms.extensions import db
    from lms.models import OrgUnit, User

    session = db.session
    now = dt.datetime.now(dt.UTC)
    year = now.year
    top = session.execute(insert(OrgUnit).returning(OrgUnit.id), [
        {"code": "PROV", "name": "Pemerintah Provinsi", "kind": "instansi"}]).scalar_one()
    dinas = session.execute(insert(OrgUnit).returning(OrgUnit.id), [
        {"code": f"DINAS-{i:02d}", "name": f"Dinas {i:02d}", "kind": "unit", "parent_id": top}
        for i in range(DINAS)]).scalars().all()
    bidang = session.execute(insert(OrgUnit).returning(OrgUnit.id), [
        {"code": f"BIDANG-{d:02d}-{b}", "name": f"Bidang {b} Dinas {d:02d}", "kind": "unit", "parent_id": parent}
        for d, parent in enumerate(dinas) for b in range(BIDANG_EACH)]).scalars().all()
    units = list(dinas) + list(bidang)
    people = []
    for n in range(EMPLOYEES):
        kind = rng.choices(["PNS", "CPNS", "PPPK"], weights=[80, 5, 15])[0]
        people.append({"email": f"pegawai{n}@bench.example", "full_name": f"Pegawai {n}",
                       "nip": f"1980010120050{n:05d}", "employee_type": kind,
                       "golongan": rng.choice(["II/c", "III/a", "III/b", "III/c", "IV/a"]) if kind != "PPPK" else "VII",
                       "jabatan_type": rng.choice(["pelaksana", "fungsional", "pengawas", "administrator"]),
                       "jabatan_name": "Pengelola Data", "unit_id": rng.choice(units)})
    user_ids = []
    for chunk in _chunks(people):
        user_ids += session.execute(insert(User).returning(User.id), chunk).scalars().all()
    say(f"{len(user_ids):,} employees in {len(units) + 1} units")

    issuer = session.execute(insert(Issuer).returning(Issuer.id), [
        {"code": "BPSDM", "name": "BPSDM Provinsi", "city": "Semarang", "is_default": True}]).scalar_one()
    course_ids = session.execute(insert(Course).returning(Course.id), [
        {"code": f"K-{i:03d}", "title": f"Pelatihan {i:03d}", "jp": rng.choice([2, 4, 6, 8]),
         "jalur": rng.choice(["klasikal", "nonklasikal", "blended"]), "jenis_diklat": rng.choice(["2", "3", "8"]),
         "competency_kind": rng.choice(["teknis", "manajerial", "sosial_kultural"])}
        for i in range(COURSES)]).scalars().all()
    versions = dict(session.execute(insert(CourseVersion).returning(CourseVersion.course_id, CourseVersion.id), [
        {"course_id": c, "number": 1, "state": "published", "published_at": now} for c in course_ids]).tuples().all())
    courses = {c.id: c for c in session.execute(select(Course.id, Course.title, Course.jp))}

    enrolments, certificates, seq = [], [], 0
    for user_id in user_ids:
        for course_id in rng.sample(course_ids, CERTIFICATES_EACH):
            done = now - dt.timedelta(days=rng.randrange(0, 500))
            enrolments.append({"user_id": user_id, "course_id": course_id, "version_id": versions[course_id],
                               "state": "completed", "progress_percent": 100, "enrolled_at": done,
                               "completed_at": done})
    enrolment_ids = []
    for chunk in _chunks(enrolments):
        enrolment_ids += session.execute(insert(Enrolment).returning(Enrolment.id), chunk).scalars().all()
    for enrolment_id, enrolment in zip(enrolment_ids, enrolments, strict=True):
        seq += 1
        code = secrets.token_hex(16)
        course = courses[enrolment["course_id"]]
        day = enrolment["completed_at"].date().isoformat()
        certificates.append({
            "enrolment_id": enrolment_id, "user_id": enrolment["user_id"], "course_id": enrolment["course_id"],
            "issuer_id": issuer, "year": year, "seq": seq, "number": f"893.3/{seq:06d}/BPSDM/{year}", "code": code,
            "jp": course.jp, "issued_at": enrolment["completed_at"],
            "snapshot": {"course": {"title": course.title, "start": day, "end": day},
                         "issuer": {"name": "BPSDM Provinsi"}, "verify_url": f"https://bangkom.example/verify/{code}",
                         "holder": {"name": f"Pegawai {enrolment['user_id']}"}}})
    for chunk in _chunks(certificates):
        session.execute(insert(Certificate), chunk)
    del enrolments, certificates
    say(f"{seq:,} certificates")

    externals = []
    for user_id in user_ids:
        for k in range(EXTERNALS_EACH):
            end = (now - dt.timedelta(days=rng.randrange(1, 500))).date()
            externals.append({"user_id": user_id, "title": f"Seminar {k}", "organiser": "Kementerian",
                              "jalur": rng.choice(["klasikal", "nonklasikal", "pendidikan"]),
                              "jenis_diklat": rng.choice(["4", "7", "9", "10"]),
                              "competency_kind": rng.choice(["teknis", "manajerial"]),
                              "certificate_number": f"EXT/{user_id}/{k}", "start_date": end, "end_date": end,
                              "jp": rng.choice([2, 3, 4, 8]), "file_sha256": "0" * 64, "file_name": "s.pdf",
                              "file_type": "application/pdf", "file_size": 1000, "state": "diverifikasi",
                              "submitted_at": now, "decided_at": now})
    for chunk in _chunks(externals):
        session.execute(insert(ExternalRecord), chunk)
    say(f"{len(externals):,} verified external records")
    session.commit()
    # As autovacuum would have by then: the planner needs row counts to pick hash joins over nested loops.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("ANALYZE")
    session.expunge_all()
    return seq + len(externals)


def _stream(path: str, chunks, expected_lines: int | None = None) -> tuple[Result, float]:
    """Read a stream to its end, sampling memory; the time and the growth while streaming."""
    gc.collect()
    start_rss = rss_mb()
    peak = start_rss
    size = lines = 0
    cpu = time.process_time()
    with Stopwatch() as clock:
        for n, chunk in enumerate(chunks):
            size += len(chunk)
            if isinstance(chunk, str):
                lines += chunk.count("\n")
            if n % 20 == 0:
                peak = max(peak, rss_mb())
    peak = max(peak, rss_mb())
    growth = peak - start_rss
    if expected_lines is not None and lines != expected_lines:
        return Result.failed(path, f"{lines:,} lines, expected {expected_lines:,}", f"< {BUDGET_SECONDS:g} s"), growth
    # CPU time of this process too: on a busy machine the wall clock also counts other processes' turns.
    detail = (f"CPU {time.process_time() - cpu:,.1f} s, {size / 1024 / 1024:,.0f} MB out, "
              f"memory +{growth:,.0f} MB, peak RSS {peak:,.0f} MB")
    passed = clock.seconds < BUDGET_SECONDS and growth < BUDGET_GROWTH_MB
    return Result(path, f"{clock.seconds:,.2f} s ({detail})",
                  f"< {BUDGET_SECONDS:g} s, < {BUDGET_GROWTH_MB:g} MB growth", passed), growth


def run() -> list[Result]:
    rng = random.Random(2026)
    kind = database_kind()
    with application("hr-export") as app:
        from certificates.records import exports, services, siasn
        from certificates.records.cli import ConsoleActor

        with Stopwatch() as clock:
            records = _populate(rng)
        say(f"{records:,} records ready in {clock.seconds:.0f} s on {kind}")
        actor = ConsoleActor()
        year = services.this_year()
        results = []
        with app.test_request_context():
            result, _ = _stream(f"SIASN feed, {records:,} records ({kind})", siasn.feed_lines(), records)
            results.append(result)
            result, _ = _stream(f"compliance report CSV, {EMPLOYEES:,} employees ({kind})",
                                exports.write_csv(exports.people_report(year, actor=actor, status="all")),
                                EMPLOYEES + 1)
            results.append(result)
            result, _ = _stream(f"compliance report XLSX, {EMPLOYEES:,} employees ({kind})",
                                exports.write_xlsx(exports.people_report(year, actor=actor, status="all")))
            results.append(result)
            with Stopwatch() as dashboard:
                rows, overall = services.compliance(year, actor=actor)
                services.compliance(year, actor=actor, parent=rows[0].unit)
            if overall.employees + overall.pppk != EMPLOYEES:
                results.append(Result.failed("compliance dashboard", f"counted {overall.employees + overall.pppk:,}"))
            else:
                results.append(Result.at_most(f"compliance per unit, two levels ({kind})", dashboard.seconds,
                                              BUDGET_SECONDS, detail=f"{overall.rate} % reached"))
        return results
