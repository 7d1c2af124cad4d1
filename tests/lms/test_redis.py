"""Beyond one machine: with LMS_REDIS_URL, rate limits and the job queue live in Redis, so they hold across
any number of web and worker processes. Only keys these tests create are removed afterwards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid

import pytest
import redis
from flask import current_app
from huey import RedisHuey, SqliteHuey
from sqlalchemy import select

from lms import ROOT, jobs
from lms.extensions import db
from lms.models import User
from tests.conftest import REDIS_URL

PASSWORD = "correct horse 1"

# One web process: makes sign-in attempts (login, password, address) and reports what it answered.
SIGN_IN_PROCESS = """
import json, sys
from lms import create_app
attempts, prefix = json.loads(sys.argv[1]), sys.argv[2]
app = create_app("testing", {"RATELIMIT_KEY_PREFIX": prefix})
client = app.test_client()
codes = [client.post("/akun/masuk", data={"login": login, "password": password},
                     environ_base={"REMOTE_ADDR": address}).status_code for login, password, address in attempts]
print(json.dumps({"storage": app.config["RATELIMIT_STORAGE_URI"], "codes": codes}))
"""


@pytest.fixture
def redis_client():
    client = redis.Redis.from_url(REDIS_URL)
    try:
        yield client
    finally:
        client.close()
        client.connection_pool.disconnect()


@pytest.fixture
def token(redis_client):
    """A marker for every key a test creates; those keys, and only those, are deleted afterwards."""
    marker = uuid.uuid4().hex[:12]
    yield marker
    for key in list(redis_client.scan_iter(match=f"*{marker}*", count=1000)):
        redis_client.delete(key)


def web_process(database_url: str, key_prefix: str, attempts: list[tuple[str, str, str]]) -> dict:
    """Runs the attempts in a separate web process with LMS_REDIS_URL set, on the suite's database;
    ``key_prefix`` keeps its limiter keys apart from any other run's in the shared Redis."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("LMS_", "FLASK_"))}
    env.update(LMS_ENV="testing", LMS_INSTANCE_PATH=current_app.instance_path, LMS_DATABASE_URL=database_url,
               LMS_REDIS_URL=REDIS_URL)
    result = subprocess.run([sys.executable, "-c", SIGN_IN_PROCESS, json.dumps(attempts), key_prefix],  # noqa: S603
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.redis
def test_failed_sign_ins_are_counted_across_web_processes(app, make_user, database_url, redis_client, token):
    """Five wrong passwords through one process lock the account in another: an attacker cannot
    multiply the allowance by spreading guesses over gunicorn workers or machines."""
    assert app.config["LOGIN_LIMIT_PER_ACCOUNT"].startswith("5 per")
    user = make_user(email=f"target-{token}@example.go.id")
    colleague = make_user(email=f"colleague-{token}@example.go.id")
    address = "10.20.30.40"  # one office behind NAT

    first = web_process(database_url, f"test-{token}", [(user.email, f"wrong password {i}", address)
                                                        for i in range(5)])
    assert first["storage"] == REDIS_URL
    assert first["codes"] == [200] * 5
    assert any(token in key.decode() for key in redis_client.scan_iter(match="LIMITS:*", count=1000)), \
        "the counters must be in Redis"

    second = web_process(database_url, f"test-{token}", [
        (user.email, "wrong password 6", address),
        (user.email, PASSWORD, address),
        (colleague.email, "wrong password 1", address),
    ])
    assert second["codes"][0] == 429, "the sixth guess, made in another process, must be refused"
    assert second["codes"][1] == 429, "the right password must not get through a locked account either"
    assert second["codes"][2] == 200, "other accounts behind the same office address keep working"


@pytest.mark.redis
def test_lms_redis_url_puts_the_job_queue_in_redis(monkeypatch, redis_client):
    monkeypatch.setenv("LMS_REDIS_URL", REDIS_URL)
    queue = jobs._make_huey()
    try:
        assert isinstance(queue, RedisHuey)
        assert queue.name == "bangkom", "web and worker processes must agree on the queue name"
        wanted = redis_client.connection_pool.connection_kwargs
        used = queue.storage.pool.connection_kwargs
        assert (used["host"], used["port"], used["db"]) == (wanted["host"], wanted["port"], wanted["db"])
        assert queue.storage.conn.ping()
    finally:
        queue.storage.pool.disconnect()

    monkeypatch.delenv("LMS_REDIS_URL")
    assert isinstance(jobs._make_huey(), SqliteHuey)


def record_emails(marker: str) -> dict:
    return {"marker": marker, "emails": sorted(db.session.scalars(select(User.email)))}


@pytest.mark.redis
def test_a_job_queued_by_one_process_is_run_by_a_worker_elsewhere(app, make_user, monkeypatch, redis_client,
                                                                   token):
    """The web side queues into Redis; a worker with its own Huey (as on another machine) takes the job,
    runs it in an application context, and the result travels back through Redis."""
    name = f"bangkomtest_{token}"
    web = RedisHuey(name, url=REDIS_URL)
    worker = RedisHuey(name, url=REDIS_URL, read_timeout=1)
    try:
        monkeypatch.setattr(jobs, "huey", web)
        queued_task = jobs.task()(record_emails)
        monkeypatch.setattr(jobs, "huey", worker)
        jobs.task()(record_emails)  # the worker process registers the same task when it imports the code
        monkeypatch.setitem(app.config, "JOBS_IMMEDIATE", False)
        jobs.init_app(app)

        user = make_user(email=f"redis-{token}@example.go.id")
        result = queued_task("from the web")
        assert redis_client.llen(f"huey.redis.{name}") == 1, "the job must wait in Redis, not in the process"

        outcome: dict = {}

        def consume():
            job = worker.dequeue()
            outcome["value"] = worker.execute(job)

        thread = threading.Thread(target=consume)
        thread.start()
        thread.join(timeout=30)

        assert outcome["value"] == {"marker": "from the web", "emails": [user.email]}
        assert redis_client.llen(f"huey.redis.{name}") == 0
        assert result.get(blocking=True, timeout=10) == outcome["value"]
    finally:
        web.flush()
        jobs.init_app(app)
        for queue in (web, worker):
            queue.storage.pool.disconnect()
    assert list(redis_client.scan_iter(match=f"huey.*{name}*")) == []
