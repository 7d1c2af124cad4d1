"""Issuing certificates for a classroom cohort, end to end: 500 participants' completions and certificates
written in one transaction, then every PDF rendered, signed and stored by the background worker
(``flask worker``, as ``make run`` starts it), timed from the first database write to the last stored PDF.

Against it, in the same run, the naive loop: one fresh WeasyPrint render and one pyHanko signature per
certificate, in one process, for a sample of the same certificates.

Budget (DESIGN.md §6): at least 5× the naive throughput.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, insert, select

from bench import Result
from bench._support import application, database_kind, say

PARTICIPANTS = int(os.environ.get("BENCH_COHORT", "500"))
NAIVE_SAMPLE = 20
WORKERS = 2
BUDGET = 5.0
TIMEOUT = 900


def _setup():
    """A published course with one module and lesson, an issuer, and the cohort's accounts."""
    from certificates.models import Issuer
    from courses import services as courses
    from lms import services as people
    from lms.extensions import db
    from lms.models import User, UserRole

    db.session.add(Issuer(code="BPSDM", name="Badan Pengembangan Sumber Daya Manusia Provinsi Jawa Tengah",
                          city="Semarang", signatory_name="Dr. Ir. Sri Wahyuni, M.Si.",
                          signatory_nip="196805121994032005", signatory_title="Kepala BPSDM Provinsi Jawa Tengah",
                          is_default=True))
    trainer = people.create_user(roles=["trainer"], email="pelatih@bench.example", full_name="Pelatih")
    course = courses.create_course(actor=trainer, code="PM-01", title="Dasar-Dasar Manajemen Proyek Pemerintah",
                                   jp=6, competency_kind="teknis", jalur="klasikal", competencies={"M.04": 2})
    for title in ("Mengenal proyek", "Perencanaan", "Pengendalian"):
        module = courses.add_module(course.draft, title=title)
        for n in range(3):
            courses.add_lesson(module, kind="text", title=f"{title}: bagian {n + 1}", body_markdown="Materi",
                               minutes=30)
    courses.publish(course.draft, actor=trainer)
    users = db.session.execute(insert(User).returning(User.id), [
        {"email": f"peserta{i}@bench.example", "full_name": f"Peserta Pelatihan {i}", "title_back": "S.Kom.",
         "nip": f"19850312201001{1 + i % 2}{i:03d}"[:18], "golongan": "III/b",
         "jabatan_name": "Pengelola Data"} for i in range(PARTICIPANTS)]).scalars().all()
    db.session.execute(insert(UserRole), [{"user_id": u, "role": "learner"} for u in users])
    db.session.commit()
    return course.id, trainer.id, users


def _sample_snapshots() -> list[dict]:
    from certificates import pdf

    snapshot = pdf.sample_snapshot()
    return [{**snapshot, "number": f"893.3/{n:05d}/BPSDM/PM-01/XI/2026"} for n in range(NAIVE_SAMPLE)]


def _naive(snapshots: list[dict], p12: str, password: str) -> float:
    """Certificates per second of the plain loop: a new render and a new signature each time."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers
    from weasyprint import CSS, HTML

    from certificates import pdf

    html_source, css_source = pdf.default_template()
    template = pdf._compile(html_source)
    signer = signers.SimpleSigner.load_pkcs12(p12, passphrase=password.encode())
    started = time.perf_counter()
    for snapshot in snapshots:
        document = HTML(string=pdf._run_template(template, snapshot), base_url=pdf._BASE_URL).write_pdf(
            stylesheets=[CSS(string=css_source, base_url=pdf._BASE_URL)], pdf_variant="pdf/a-3b")
        out = io.BytesIO()
        signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(document)),
                         signers.PdfSignatureMetadata(field_name="Tanda tangan"), signer=signer, output=out)
        assert out.getvalue().startswith(b"%PDF")
    return len(snapshots) / (time.perf_counter() - started)


def run() -> list[Result]:
    kind = database_kind()
    # PDFs are rendered by the worker, not in the request (as in production).
    with application("cohort_issue", {"CERTIFICATE_PDF_AUTO": True}) as app:
        from certificates import services as certificates
        from certificates import signing
        from certificates.models import Certificate
        from courses import services as courses
        from courses.models import Course
        from lms.extensions import db
        from lms.models import User

        say(f"cohort_issue: {PARTICIPANTS} participants; starting {WORKERS} worker processes")
        course_id, trainer_id, user_ids = _setup()
        p12, password = signing.ensure_dev_signer(app.instance_path)
        # The naive loop runs before and after ours and counts as the mean, so a neighbour's load on this
        # shared machine weighs on both sides alike.
        naive_before = _naive(_sample_snapshots(), p12, password)
        root = Path(__file__).resolve().parent.parent
        env = {**os.environ, "LMS_ENV": "development", "LMS_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
               "LMS_INSTANCE_PATH": app.instance_path, "PYTHONPATH": str(root)}
        worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--workers",
                                   str(WORKERS)], cwd=root, env=env, stdout=subprocess.DEVNULL,
                                  stderr=open(os.environ.get("BENCH_WORKER_LOG", os.devnull), "w"))  # noqa: SIM115
        try:
            time.sleep(4)  # the worker is long-lived in production; its start-up is not part of issuing
            course = db.session.get(Course, course_id)
            trainer = db.session.get(User, trainer_id)
            started = time.perf_counter()
            for user in db.session.scalars(select(User).where(User.id.in_(user_ids))):
                enrolment = courses.record_completion(user, course, actor=trainer, reason="Kelas tatap muka")
                certificates.issue(enrolment, actor=trainer, reason="Kelas tatap muka")
            db.session.commit()
            written = time.perf_counter() - started
            say(f"cohort_issue: {PARTICIPANTS} certificates written in {written:.1f} s; waiting for the PDFs")
            while True:
                done = db.session.scalar(select(func.count()).select_from(Certificate)
                                         .where(Certificate.pdf_sha256.is_not(None)))
                db.session.rollback()
                if done >= PARTICIPANTS or time.perf_counter() - started > TIMEOUT:
                    break
                time.sleep(0.2)
            elapsed = time.perf_counter() - started
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
        if done < PARTICIPANTS:
            return [Result.failed(f"cohort issuing ({PARTICIPANTS}), {kind}",
                                  f"only {done} of {PARTICIPANTS} PDFs after {TIMEOUT} s")]
        ours = PARTICIPANTS / elapsed
        sample = [c.snapshot for c in db.session.scalars(select(Certificate).limit(NAIVE_SAMPLE))]
        say(f"cohort_issue: ours {ours:.1f}/s; measuring the naive loop on {len(sample)} certificates")
        naive = (naive_before + _naive(sample, p12, password)) / 2
    detail = f"{ours:.1f} vs naive {naive:.1f} certificates/s, {PARTICIPANTS} in {elapsed:.0f} s"
    return [Result.at_least(f"cohort issuing (DB+render+sign+store) / naive loop, {kind}", ours / naive,
                            BUDGET, "×", detail)]
