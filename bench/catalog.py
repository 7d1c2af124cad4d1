"""Catalog search and the learner's home page with 5,000 published courses, 20,000 learners and
100,000 enrolments: each page requested through the whole web stack (routing, session, queries,
templates), p95 of the response time per page.

Budget (DESIGN.md §6): p95 < 100 ms for the catalog and for "my learning".
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import time
import uuid

from sqlalchemy import insert, select

from bench import Result
from bench._support import application, database_kind, say

COURSES = 5_000
LEARNERS = 20_000
PER_LEARNER = 5  # enrolments: 100,000 in all
REQUESTS = 200
BUDGET_MS = 100.0

WORDS = ["manajemen", "proyek", "pelayanan", "publik", "prima", "digital", "keamanan", "informasi", "data",
         "kepemimpinan", "integritas", "antikorupsi", "keuangan", "anggaran", "pengadaan", "arsip", "statistik",
         "kebijakan", "komunikasi", "perencanaan", "evaluasi", "kinerja", "inovasi", "layanan", "aplikasi",
         "jaringan", "kesehatan", "pendidikan", "perhubungan", "kependudukan", "hukum", "audit", "risiko",
         "etika", "budaya", "organisasi", "strategi", "teknologi", "analisis", "penulisan"]


def _populate(rng: random.Random) -> int:
    """Bulk-insert the catalog and the enrolments; returns the id of the learner whose home is measured."""
    from courses.models import (
        Category,
        Course,
        CourseOwner,
        CourseVersion,
        Enrolment,
        Lesson,
        LessonProgress,
        Module,
    )
    from lms.extensions import db
    from lms.models import User, UserRole
    from lms.security import hash_password

    now = dt.datetime.now(dt.UTC)
    session = db.session
    session.execute(insert(Category), [{"name": f"Kategori {i}", "position": i} for i in range(12)])
    trainer = session.execute(insert(User).returning(User.id), [{
        "email": "pelatih@bench.example", "full_name": "Pelatih", "password_hash": None}]).scalar_one()
    session.execute(insert(UserRole), [{"user_id": trainer, "role": "trainer"}])

    courses = []
    for i in range(COURSES):
        title_words = rng.sample(WORDS, 4)
        title = " ".join(w.capitalize() for w in title_words)
        summary = " ".join(rng.sample(WORDS, 12))
        courses.append({"code": f"K-{i:05d}", "title": title, "summary": summary, "category_id": 1 + i % 12,
                        "competency_kind": rng.choice(["teknis", "manajerial", "sosial_kultural"]),
                        "jp": rng.randrange(2, 40), "jalur": rng.choice(["klasikal", "nonklasikal", "blended"]),
                        "search_text": f"k-{i:05d} {title} {summary} modul pelajaran".lower()})
    course_ids = session.execute(insert(Course).returning(Course.id), courses).scalars().all()
    session.execute(insert(CourseOwner), [{"course_id": c, "user_id": trainer} for c in course_ids])
    version_ids = session.execute(insert(CourseVersion).returning(CourseVersion.id, CourseVersion.course_id), [
        {"course_id": c, "number": 1, "state": "published", "published_at": now} for c in course_ids]).all()
    by_course = {course: version for version, course in version_ids}
    session.execute(Course.__table__.update().where(Course.id == Course.id).values(
        published_version_id=select(CourseVersion.id).where(CourseVersion.course_id == Course.id)
        .scalar_subquery()))
    module_ids = session.execute(insert(Module).returning(Module.id, Module.version_id), [
        {"version_id": v, "title": "Modul 1", "position": 0} for v in by_course.values()]).all()
    lessons = []
    for module_id, _version in module_ids:
        for position in range(4):
            lessons.append({"module_id": module_id, "key": uuid.uuid4().hex, "position": position, "kind": "text",
                            "title": f"Pelajaran {position + 1}", "body_html": "<p>Materi</p>"})
    session.execute(insert(Lesson), lessons)

    password = hash_password("bench-password-1")
    learners = session.execute(insert(User).returning(User.id), [
        {"email": f"peserta{i}@bench.example", "full_name": f"Peserta {i}",
         "password_hash": password if i == 0 else None} for i in range(LEARNERS)]).scalars().all()
    session.execute(insert(UserRole), [{"user_id": u, "role": "learner"} for u in learners])
    enrolments = []
    for user_id in learners:
        for course_id in rng.sample(course_ids, PER_LEARNER):
            done = rng.random() < 0.4
            enrolments.append({
                "user_id": user_id, "course_id": course_id, "version_id": by_course[course_id], "cycle": 1,
                "source": rng.choice(["self", "self", "assigned"]), "state": "completed" if done else "active",
                "progress_percent": 100 if done else rng.randrange(0, 100),
                "enrolled_at": now - dt.timedelta(days=rng.randrange(1, 300)),
                "last_activity_at": now - dt.timedelta(hours=rng.randrange(1, 2000)),
                "completed_at": now - dt.timedelta(days=rng.randrange(0, 200)) if done else None,
                "due_on": (now + dt.timedelta(days=rng.randrange(-10, 60))).date() if rng.random() < 0.3 else None})
    for start in range(0, len(enrolments), 20_000):
        session.execute(insert(Enrolment), enrolments[start:start + 20_000])
    first = session.scalars(select(Enrolment.id).where(Enrolment.user_id == learners[0])).all()
    session.execute(insert(LessonProgress), [
        {"enrolment_id": e, "lesson_key": uuid.uuid4().hex, "state": "done"} for e in first])
    session.commit()
    return learners[0]


def _p95(client, paths: list[str]) -> tuple[float, float]:
    for path in paths[:10]:  # warm caches and connection pools
        assert client.get(path).status_code == 200, path
    samples = []
    for path in paths:
        started = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    samples.sort()
    return samples[int(len(samples) * 0.95) - 1], statistics.median(samples)


def run() -> list[Result]:
    rng = random.Random(20261123)
    kind = database_kind()
    # CSRF off only so the benchmark can sign in by a plain POST; the measured pages are GETs.
    with application("catalog", {"RATELIMIT_ENABLED": False, "WTF_CSRF_ENABLED": False}) as app:
        say(f"catalog: inserting {COURSES:,} courses, {LEARNERS:,} learners, {LEARNERS * PER_LEARNER:,} "
            "enrolments …")
        started = time.perf_counter()
        _populate(rng)
        say(f"catalog: data ready in {time.perf_counter() - started:.0f} s; measuring {REQUESTS} requests per page")
        client = app.test_client()
        response = client.post("/akun/masuk", data={"login": "peserta0@bench.example",
                                                     "password": "bench-password-1"})
        if response.status_code != 302:
            return [Result.failed("catalog", f"sign-in failed ({response.status_code})")]
        searches = [f"/kursus?q={rng.choice(WORDS)}" + (f"+{rng.choice(WORDS)}" if i % 3 == 0 else "")
                    for i in range(REQUESTS)]
        filtered = [f"/kursus?category={1 + i % 12}&kind=teknis&jp_min=4&sort=" + rng.choice(["jp", "newest", "title"])
                    + f"&page={1 + i % 5}" for i in range(REQUESTS)]
        home = ["/"] * REQUESTS
        results = []
        for label, paths in (("search", searches), ("filters + sort + page", filtered), ("learner home", home)):
            p95, median = _p95(client, paths)
            path = f"catalog: {label}" if label != "learner home" else "my learning (home)"
            results.append(Result.at_most(f"{path} p95, {kind}", p95, BUDGET_MS, "ms",
                                          f"median {median:.1f} ms"))
        return results
