"""Background jobs in the embedded shape: Huey on SQLite in the instance folder. A queued job survives in
that file until a worker takes it, runs inside an application context, and leaves nothing half-written
when it fails."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from flask import current_app, has_app_context
from huey import SqliteHuey
from sqlalchemy import func, select

from lms import ROOT, jobs, mail, services
from lms.extensions import db
from lms.models import User


@jobs.task()
def describe_context(marker: str) -> dict:
    """What a job sees: the application, its database and whether a request is around."""
    return {
        "marker": marker,
        "database": current_app.config["SQLALCHEMY_DATABASE_URI"],
        "emails": sorted(db.session.scalars(select(User.email))),
    }


FLUSHED: list[int] = []


@jobs.task(retries=1)
def create_then_fail(email: str) -> None:
    user = services.create_user(email=email, full_name="Setengah Jadi", roles=("learner",))
    db.session.flush()
    FLUSHED.append(user.id)
    raise RuntimeError("the job broke after writing")


def jobs_file(app) -> Path:
    return Path(app.instance_path) / "jobs.db"


def queued_rows(path: Path) -> int:
    """Counted with a separate connection, as another process would see the file."""
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT count(*) FROM task WHERE queue = ?", (jobs.huey.name,)).fetchone()[0]


def run_in_worker_thread(fn):
    """Runs ``fn`` where a consumer thread runs jobs: a thread without any application context."""
    outcome: dict = {}

    def target():
        outcome["had_context"] = has_app_context()
        try:
            outcome["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            outcome["error"] = exc
        outcome["context_left_behind"] = has_app_context()

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive()
    if "error" in outcome:
        raise outcome["error"]
    return outcome


@pytest.fixture
def queued(app):
    """JOBS_IMMEDIATE off, as in development and production: jobs go to the SQLite queue file."""
    app.config["JOBS_IMMEDIATE"] = False
    jobs.init_app(app)
    jobs.huey.flush()
    try:
        yield jobs.huey
    finally:
        jobs.huey.flush()
        jobs.huey.storage.close()
        app.config["JOBS_IMMEDIATE"] = True
        jobs.init_app(app)


def outbox(app) -> Path:
    return Path(app.instance_path) / "mail"


def messages_with_subject(app, subject: str) -> list:
    found = []
    for path in sorted(outbox(app).glob("*.eml")) if outbox(app).exists() else []:
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        if message["Subject"] == subject:
            found.append(message)
    return found


def test_the_job_queue_lives_in_the_instance_folder(app, queued):
    assert isinstance(queued, SqliteHuey)
    assert Path(queued.storage.filename) == jobs_file(app)
    assert Path(app.instance_path) == Path(os.environ["LMS_INSTANCE_PATH"]).resolve()


def test_a_queued_job_is_kept_in_the_sqlite_file_until_it_is_dequeued(app, queued, make_user):
    user = make_user(email="antrian@example.go.id")
    result = describe_context("first")

    assert queued_rows(jobs_file(app)) == 1, "the job must be on disk, where the worker process finds it"
    assert queued.pending_count() == 1

    outcome = run_in_worker_thread(lambda: queued.execute(queued.dequeue()))
    assert outcome["value"]["marker"] == "first"
    assert queued_rows(jobs_file(app)) == 0
    assert result.get(blocking=True, timeout=5)["emails"] == [user.email]


def test_a_job_runs_inside_an_application_context(app, queued, make_user, database_url):
    make_user(email="konteks@example.go.id")
    describe_context("context")
    outcome = run_in_worker_thread(lambda: queued.execute(queued.dequeue()))

    assert outcome["had_context"] is False
    assert outcome["value"]["database"] == database_url
    assert outcome["value"]["emails"] == ["konteks@example.go.id"]
    assert outcome["context_left_behind"] is False


def test_a_failing_job_writes_nothing_and_is_retried(app, queued):
    FLUSHED.clear()
    create_then_fail("setengah@example.go.id")
    run_in_worker_thread(lambda: queued.execute(queued.dequeue()))
    assert FLUSHED, "the job should have written its row before failing"

    db.session.expire_all()
    assert db.session.scalar(select(func.count(User.id))) == 0, "a failed job must not commit half its work"
    retry = queued.dequeue()
    assert retry is not None, "the failed job is queued once more for its retry"
    assert retry.retries == 0, "and only once"


def test_mail_without_an_smtp_server_is_written_as_an_eml_file(app):
    assert not app.config["MAIL_SERVER"]
    subject = f"Sertifikat Anda sudah terbit {uuid.uuid4().hex[:8]}"
    mail.send_mail("budi.santoso@example.go.id", subject, "Selamat, Budi.\nUnduh di tautan berikut.")

    [message] = messages_with_subject(app, subject)
    assert message["To"] == "budi.santoso@example.go.id"
    assert message["From"] == app.config["MAIL_SENDER"]
    assert message.get_content().strip() == "Selamat, Budi.\nUnduh di tautan berikut."


def test_a_password_reset_request_leaves_its_link_in_the_outbox(app, client, make_user):
    make_user(email="lupa@example.go.id")
    before = set(outbox(app).glob("*.eml")) if outbox(app).exists() else set()
    response = client.post("/akun/lupa-sandi", data={"email": "lupa@example.go.id"})
    assert response.status_code == 302

    [path] = set(outbox(app).glob("*.eml")) - before
    message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    assert message["To"] == "lupa@example.go.id"
    assert f"{app.config['BASE_URL']}/akun/atur-sandi/" in message.get_content()


def test_the_worker_command_delivers_a_mail_queued_by_the_web_app(app, queued, database_url):
    """The embedded shape end to end: the web process queues, ``flask --app wsgi worker`` (another
    process) finds the job in the instance folder and writes the message."""
    subject = f"Pengingat ujian {uuid.uuid4().hex[:8]}"
    mail.send_mail("sari@example.go.id", subject, "Ujian dimulai pukul 09.00 WIB.")
    assert queued_rows(jobs_file(app)) == 1
    assert messages_with_subject(app, subject) == [], "queued mail must not be sent by the web process"

    env = {key: value for key, value in os.environ.items() if not key.startswith(("LMS_", "FLASK_"))}
    env.update(LMS_ENV="testing", LMS_INSTANCE_PATH=app.instance_path, LMS_DATABASE_URL=database_url)
    worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--workers", "1"],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while not messages_with_subject(app, subject) and time.monotonic() < deadline:
            assert worker.poll() is None, worker.stdout.read().decode(errors="replace")
            time.sleep(0.2)
    finally:
        worker.send_signal(signal.SIGINT)
        try:
            output, _ = worker.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            output, _ = worker.communicate()
    [message] = messages_with_subject(app, subject)
    assert message["To"] == "sari@example.go.id"
    assert queued_rows(jobs_file(app)) == 0, output.decode(errors="replace")
