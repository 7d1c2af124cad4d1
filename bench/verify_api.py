"""Public verification under load: ``GET /api/v1/certificates/<code>`` with 1,000,000 certificates in the
database, served by gunicorn exactly as ``make run`` serves Bangkom, against a bare Flask endpoint that
returns a constant JSON body under the same gunicorn settings, in the same run.

Budget (DESIGN.md §6): at least 50 % of the bare endpoint's requests per second.
"""

from __future__ import annotations

import datetime as dt
import http.client
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from sqlalchemy import insert, select, text

from bench import Result
from bench._support import application, database_kind, say

CERTIFICATES = int(os.environ.get("BENCH_CERTIFICATES", "1000000"))
PER_USER = 20
SECONDS = 16.0
ROUNDS = 8
CLIENT_THREADS = 16
BUDGET = 0.5
GUNICORN = ["--preload", "--workers", "2", "--threads", "4", "--timeout", "60", "--max-requests", "20000",
            "--max-requests-jitter", "2000"]
BARE_APP = '''
from flask import Flask, jsonify
app = Flask(__name__)

@app.get("/api/v1/certificates/<code>")
def hello(code):
    return jsonify(status="valid", code=code)
'''


def _populate(rng: random.Random) -> list[str]:
    """1,000,000 certificates (with their users, enrolments, courses); returns a sample of codes."""
    from certificates.models import Certificate, Issuer
    from certificates.services import new_code
    from courses.models import Course, CourseVersion, Enrolment
    from lms.extensions import db
    from lms.models import User

    session = db.session
    now = dt.datetime.now(dt.UTC)
    issuer = session.execute(insert(Issuer).returning(Issuer.id), [{
        "code": "BPSDM", "name": "BPSDM Provinsi Jawa Tengah", "city": "Semarang", "is_default": True}]).scalar_one()
    courses = session.execute(insert(Course).returning(Course.id), [
        {"code": f"K-{i:02d}", "title": f"Pelatihan {i}", "jp": 2 + i % 30} for i in range(PER_USER)]).scalars().all()
    versions = session.execute(insert(CourseVersion).returning(CourseVersion.id), [
        {"course_id": c, "number": 1, "state": "published", "published_at": now} for c in courses]).scalars().all()
    users_needed = CERTIFICATES // PER_USER
    codes: list[str] = []
    seq = 0
    for start in range(0, users_needed, 5_000):
        count = min(5_000, users_needed - start)
        users = session.execute(insert(User).returning(User.id), [
            {"email": f"pegawai{start + i}@bench.example", "full_name": f"Pegawai {start + i}",
             "nip": f"1985{(start + i) % 10_000_000:08d}1{(start + i) % 1000:03d}"[:18]}
            for i in range(count)]).scalars().all()
        enrolment_rows = [{"user_id": u, "course_id": c, "version_id": v, "state": "completed", "cycle": 1,
                           "completed_at": now} for u in users for c, v in zip(courses, versions, strict=True)]
        enrolments = session.execute(insert(Enrolment).returning(Enrolment.id, Enrolment.user_id,
                                                                 Enrolment.course_id), enrolment_rows).all()
        certificates = []
        for enrolment_id, user_id, course_id in enrolments:
            seq += 1
            code = new_code()
            if rng.random() < 0.001:
                codes.append(code)
            number = f"893.3/{seq:07d}/BPSDM/K/XI/2026"
            certificates.append({
                "enrolment_id": enrolment_id, "user_id": user_id, "course_id": course_id, "issuer_id": issuer,
                "year": 2026, "seq": seq, "number": number, "code": code, "jp": 4, "issued_at": now,
                "snapshot": {"number": number, "holder": {"name": f"Pegawai {user_id}", "nip": "198503122010011003"},
                             "course": {"code": "K", "title": "Pelatihan", "jp": 4},
                             "issuer": {"name": "BPSDM Provinsi Jawa Tengah"}}})
        session.execute(insert(Certificate), certificates)
        session.commit()
        if (start // 5_000) % 2 == 0:
            say(f"verify_api: {seq:,} certificates")
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ANALYZE"))
        session.commit()
    assert session.scalar(select(Certificate.id).where(Certificate.code == codes[0])) is not None
    return codes


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(app_spec: str, env: dict, cwd: Path) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server process
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--graceful-timeout", "2", *GUNICORN,
         app_spec], cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process, port
        except OSError:
            if process.poll() is not None:
                log.seek(0)
                raise RuntimeError(log.read().decode(errors="replace")[-2000:]) from None
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("gunicorn did not start")


def _load(port: int, paths: list[str], seconds: float) -> tuple[float, int]:
    """Requests per second from CLIENT_THREADS keep-alive clients over ``seconds``; and the error count."""
    stop = time.perf_counter() + seconds
    done = [0] * CLIENT_THREADS
    errors = [0] * CLIENT_THREADS

    def client(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        i = index
        while time.perf_counter() < stop:
            path = paths[i % len(paths)]
            i += CLIENT_THREADS
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                if response.status == 200:
                    done[index] += 1
                else:
                    errors[index] += 1
            except (OSError, http.client.HTTPException):
                errors[index] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENT_THREADS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.perf_counter() - started), sum(errors)


def run() -> list[Result]:
    rng = random.Random(7)
    kind = database_kind()
    with application("verify_api") as app:
        say(f"verify_api: inserting {CERTIFICATES:,} certificates …")
        started = time.perf_counter()
        codes = _populate(rng)
        say(f"verify_api: data ready in {time.perf_counter() - started:.0f} s; serving both apps")
        from lms.extensions import db

        db.session.remove()
        db.engine.dispose()
        root = Path(__file__).resolve().parent.parent
        env = {**os.environ, "LMS_ENV": "development", "LMS_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
               "LMS_INSTANCE_PATH": app.instance_path, "LMS_RATELIMIT_ENABLED": "false", "PYTHONPATH": str(root)}
        paths = [f"/api/v1/certificates/{code}" for code in codes]
        with tempfile.TemporaryDirectory() as folder:
            Path(folder, "bare_app.py").write_text(BARE_APP)
            servers = {name: _serve(spec, run_env, cwd) for name, spec, run_env, cwd in (
                ("bare", "bare_app:app", {**env, "PYTHONPATH": folder}, Path(folder)),
                ("bangkom", "wsgi:app", env, root))}
            try:
                totals = {name: [0.0, 0] for name in servers}  # requests, errors
                for _process, port in servers.values():
                    _load(port, paths[:50], 1.0)  # warm up the workers
                # Short alternating rounds: a neighbour's load on this shared machine hits both alike.
                for _round in range(ROUNDS):
                    for name, (_process, port) in servers.items():
                        rate, errors = _load(port, paths, SECONDS / ROUNDS)
                        totals[name][0] += rate
                        totals[name][1] += errors
                results = {name: (rate / ROUNDS, errors) for name, (rate, errors) in totals.items()}
            finally:
                for process, _port in servers.values():
                    process.terminate()
                    try:
                        process.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        process.kill()
                        process.wait()
    (bare, _bare_errors), (ours, errors) = results["bare"], results["bangkom"]
    if errors:
        return [Result.failed(f"public verification JSON, {kind}", f"{errors} failed requests")]
    ratio = ours / bare
    detail = f"{ours:,.0f} vs bare {bare:,.0f} req/s, {CERTIFICATES:,} certificates"
    return [Result.at_least(f"public verification JSON / bare Flask, {kind}", ratio, BUDGET, "×", detail)]



