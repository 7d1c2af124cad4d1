"""Exam day: 2,000 learners take the same timed quiz on PostgreSQL, with Bangkom served by gunicorn exactly
as ``make run`` serves it (``--workers 2 --threads 4 --preload``), on a throw-away instance and database.

Load model, per learner (everything measured except signing in):

- signed in beforehand: the session cookie (with its CSRF secret) is minted with the app's own session
  interface and secret key, as a sign-in leaves it; 2,000 argon2 hashes and the sign-in rate limit are not
  part of the quiz path and are left out;
- presses "Mulai" at a moment drawn uniformly from the first OPENING seconds (60: the exam room opens),
  then loads the attempt page (the redirect, at once);
- answers the 10 questions it drew (10 of 12 drawn at random, questions and options shuffled) in its own
  order, one autosave each, after THINK seconds of thought (15–45, uniform); then changes 3 answers. A
  quarter of the learners change one answer twice within milliseconds (both saves in flight at once, so
  the server sees them in either order); a tenth have an old save arrive again late (a retried request:
  it must be refused as stale); sequence numbers are made the way ``static/js/quiz.js`` makes them;
- submits (one in twenty double-clicks: two submits at once), then loads the result page.

That is about 35,000 requests in about eight minutes. The exam is compressed: a real one gives a question
a minute or more (this quiz allows 30 minutes for 10), here one takes 30 seconds on average, so that the
bench stays short while every learner is still answering when the last ones start. The opening minute
(2,000 starts and attempt pages) is the hardest part. ``BENCH_QUIZ_THINK=8,16`` runs the exam at a
question every 12 seconds: about 170 requests a second for four minutes, which two cores shared with the
database and this load generator do not serve within the budget.
Learners still unfinished after 1.5 times the planned time (STOP_AFTER) are stopped and the bench fails. The
course does not complete on submit (its reading lesson is left unread), so certificate issuing, measured
by ``cohort_issue``, is not in these figures. BENCH_QUIZ_LEARNERS, BENCH_QUIZ_OPENING and
BENCH_QUIZ_THINK ("15,45") change the model.

The load generator is one asyncio thread in this process speaking HTTP/1.1, each learner over its own
connections as a browser does (kept alive between requests, opened again after gunicorn has closed an idle
one): a lean client that leaves the 2 shared cores to gunicorn and PostgreSQL (it reports its own CPU
time). Fresh connections also spread the learners over both gunicorn workers as real browsers do; a few
shared keep-alive connections would pin the load unevenly on one. A request's time runs from the moment the
learner sends it, including opening a connection, to the last byte of the answer. The machine is shared:
the report says how busy it was and how much of it went to other processes.

Checks after the run, against the database: for every attempt and position the stored answer equals,
exactly, the answer with the highest sequence number the server accepted, and that is the learner's last
answer; every late retry was refused; each learner has one attempt, finished once (one ``quiz.submit``
audit), with the score its answers earn.

Budget (DESIGN.md §6): no answer lost, no request failed, p95 per request < 300 ms. Afterwards, as
information without a budget, a pure burst: the same 2,000 learners press "Mulai" on a second quiz in the
same instant (no server answers 2,000 requests on 2 cores within 300 ms).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from bench import Result
from bench._support import application, say
from courses.quizzes.grading import from_display

LEARNERS = int(os.environ.get("BENCH_QUIZ_LEARNERS", "2000"))
ANSWERS = 10  # questions per attempt, all answered
BANK = 12  # single-choice questions tagged for the draw
OPTIONS = 4
CHANGES = 3  # answers every learner changes later
OPENING = float(os.environ.get("BENCH_QUIZ_OPENING", "60"))  # seconds in which everyone starts
THINK = tuple(float(v) for v in os.environ.get("BENCH_QUIZ_THINK", "15,45").split(","))  # seconds before an answer
QUICK_CHANGE, LATE_RETRY, DOUBLE_SUBMIT = 0.25, 0.10, 0.05  # shares of learners
# 1.5 times the planned length of the exam: learners still unfinished then are stopped, and the bench fails.
STOP_AFTER = 1.5 * (OPENING + (ANSWERS + CHANGES + 1) * sum(THINK) / 2)
BURST_LIMIT = 90.0  # seconds
KEEP_ALIVE = 1.5  # gunicorn closes a connection idle for 2 s (its default --keep-alive)
BUDGET_MS = 300.0
DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
USER_AGENT = "bangkom-bench/quiz_exam"
GUNICORN = ["--preload", "--workers", "2", "--threads", "4", "--timeout", "60", "--max-requests", "20000",
            "--max-requests-jitter", "2000"]
KINDS = ("start", "page", "save", "submit", "result")


# ---------------------------------------------------------------- the database server


def _server() -> str | None:
    """BENCH_DATABASE_URL, or the local PostgreSQL when it answers; None when there is none."""
    url = os.environ.get("BENCH_DATABASE_URL")
    if url:
        return url
    import psycopg

    try:
        with psycopg.connect(DEFAULT_SERVER.replace("+psycopg", ""), connect_timeout=3):
            return DEFAULT_SERVER
    except psycopg.Error:
        return None


@contextlib.contextmanager
def _on_postgresql(url: str):
    """``bench._support`` creates the fresh database on the server named by BENCH_DATABASE_URL."""
    previous = os.environ.get("BENCH_DATABASE_URL")
    os.environ["BENCH_DATABASE_URL"] = url
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("BENCH_DATABASE_URL", None)
        else:
            os.environ["BENCH_DATABASE_URL"] = previous


# ---------------------------------------------------------------- the course, the learners, their sessions


@dataclass
class Setup:
    code: str
    exam_id: int  # the timed quiz lesson
    burst_id: int  # a second quiz, for the burst
    learners: list[int]  # user ids
    right: dict[int, int]  # question id -> the position of its right option


def _populate() -> Setup:
    from sqlalchemy import insert, select

    from courses import services as courses
    from courses.models import Course, CourseVersion, Enrolment
    from courses.quizzes import services as banks
    from courses.quizzes.settings import save_quiz
    from lms import services as people
    from lms.extensions import db
    from lms.models import User, UserRole

    trainer = people.create_user(roles=["trainer"], email="widyaiswara@bench.example", full_name="Widyaiswara")
    course = courses.create_course(actor=trainer, code="UJI-01", title="Ujian Akhir Pelatihan Dasar CPNS", jp=2,
                                   competency_kind="teknis", jalur="nonklasikal", jenis_diklat="3", is_open=True,
                                   objectives="Menjawab ujian akhir.")
    module = courses.add_module(course.draft, title="Modul 1")
    courses.add_lesson(module, kind="text", title="Materi", body_markdown="Materi ujian.")
    bank = banks.bank_for(course)
    questions = []
    for n in range(BANK):
        right = n % OPTIONS
        questions.append(banks.create_question(
            bank, actor=trainer, type="single", name=f"Soal {n + 1}", tags=["ujian"],
            prompt_html=f"<p>Soal nomor {n + 1}: manakah jawaban yang benar menurut peraturan?</p>",
            answers=[{"text_html": f"<p>Pilihan {chr(65 + i)} untuk soal {n + 1}</p>",
                      "fraction": 1.0 if i == right else 0.0} for i in range(OPTIONS)]))
    draw = [{"tag": "ujian", "bank_id": bank.id, "count": ANSWERS, "mark": 1}]
    for title, kind in (("Ujian Akhir", "exam"), ("Pre-test", "pre")):
        lesson = courses.add_lesson(module, kind="quiz", title=title)
        save_quiz(lesson, {"kind": kind, "slots": draw, "shuffle_questions": True, "shuffle_options": True,
                           "attempts": 1, "time_limit": 30}, actor=trainer)
    courses.publish(course.draft, actor=trainer)
    db.session.commit()
    course = db.session.get(Course, course.id)
    learners = db.session.execute(insert(User).returning(User.id), [
        {"email": f"peserta{i}@bench.example", "full_name": f"Peserta Ujian {i}"} for i in range(LEARNERS)]
    ).scalars().all()
    db.session.execute(insert(UserRole), [{"user_id": u, "role": "learner"} for u in learners])
    db.session.execute(insert(Enrolment), [{"user_id": u, "course_id": course.id, "cycle": 1, "source": "self",
                                            "version_id": course.published_version_id, "state": "active"}
                                           for u in learners])
    db.session.commit()
    published = {lesson.title: lesson.id
                 for lesson in db.session.get(CourseVersion, course.published_version_id).lessons()}
    right = {q.id: next(i for i, a in enumerate(q.answers) if a.fraction == 1.0) for q in questions}
    assert len(db.session.scalars(select(Enrolment.id).where(Enrolment.course_id == course.id)).all()) == LEARNERS
    return Setup(course.code, published["Ujian Akhir"], published["Pre-test"], list(learners), right)


def _cookies(app, user_ids: list[int]) -> dict[int, tuple[str, str]]:
    """A signed-in session per learner (what a sign-in leaves: the user, the language, a CSRF secret),
    minted with the app's own session interface; returns user id -> (cookie value, CSRF token)."""
    from flask import session
    from flask_login import login_user
    from flask_wtf.csrf import generate_csrf
    from sqlalchemy import select

    from lms.extensions import db
    from lms.models import User

    serializer = app.session_interface.get_signing_serializer(app)
    minted = {}
    for user in db.session.scalars(select(User).where(User.id.in_(user_ids))):
        # A fresh app context each: ``g`` caches the CSRF token and the signed-in user.
        with app.app_context(), app.test_request_context("/", environ_base={"REMOTE_ADDR": "127.0.0.1"},
                                                         headers={"User-Agent": USER_AGENT}):
            session.clear()
            login_user(user)
            session["lang"] = user.locale
            token = generate_csrf()
            minted[user.id] = (serializer.dumps(dict(session)), token)
    return minted


# ---------------------------------------------------------------- a lean HTTP/1.1 client


class Reply:
    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes):
        self.status, self.headers, self.body = status, headers, body

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key == name), None)


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer
        self.used_at = time.monotonic()
        self.reused = False
        self.open = True

    def close(self) -> None:
        self.open = False
        self.writer.close()

    async def exchange(self, raw: bytes) -> Reply:
        self.writer.write(raw)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionResetError("closed before the answer")
        status = int(status_line.split(b" ", 2)[1])
        headers = []
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers.append((name.strip().lower(), value.strip()))
        known = dict(headers)
        if "content-length" in known:
            body = await self.reader.readexactly(int(known["content-length"]))
        elif known.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await self.reader.readline()).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readline()
                    break
                parts.append(await self.reader.readexactly(size))
                await self.reader.readline()
            body = b"".join(parts)
        else:
            body = await self.reader.read()
            self.close()
        if known.get("connection", "").lower() == "close":
            self.close()
        self.used_at = time.monotonic()
        self.reused = True
        return Reply(status, headers, body)


@dataclass
class Sample:
    kind: str
    ms: float
    connect_ms: float  # of which opening a connection (0 on a kept-alive one)
    at: float  # seconds since the load began


class Client:
    """Each learner's own connections, as a browser keeps them: kept alive between requests and opened
    again once the server has closed them (gunicorn closes one idle for 2 s); two requests at once use
    two. Every request is timed."""

    def __init__(self, port: int):
        self.port = port
        self.idle: dict[int, list[Connection]] = defaultdict(list)
        self.samples: list[Sample] = []
        self.connections = 0
        self.retries = 0
        self.began = time.perf_counter()

    async def _connect(self) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port, limit=1 << 20)
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.connections += 1
        return Connection(reader, writer)

    def _kept(self, owner: int) -> Connection | None:
        idle = self.idle[owner]
        while idle:
            conn = idle.pop()
            if conn.open and time.monotonic() - conn.used_at < KEEP_ALIVE:
                return conn
            conn.close()
        return None

    async def call(self, owner: int, kind: str, method: str, path: str, cookie: str, *, form: dict | None = None,
                   data: dict | None = None, csrf: str = "") -> Reply:
        head = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}", f"User-Agent: {USER_AGENT}",
                f"Cookie: bangkom_session={cookie}", "Accept-Language: id"]
        body = b""
        if form is not None:
            body = urlencode(form).encode()
            head.append("Content-Type: application/x-www-form-urlencoded")
        elif data is not None:
            body = json.dumps(data).encode()
            head += ["Content-Type: application/json", f"X-CSRFToken: {csrf}"]
        if method == "POST":
            head.append(f"Content-Length: {len(body)}")
        raw = ("\r\n".join(head) + "\r\n\r\n").encode() + body
        started = time.perf_counter()
        connecting = 0.0
        conn = self._kept(owner)
        try:
            for retry in (False, True):
                if conn is None:
                    before = time.perf_counter()
                    conn = await self._connect()
                    connecting += time.perf_counter() - before
                try:
                    reply = await conn.exchange(raw)
                    break
                except (ConnectionResetError, BrokenPipeError, asyncio.IncompleteReadError):
                    # The server closed a kept-alive connection as the request left: browsers resend then.
                    reused = conn.reused
                    conn.close()
                    conn = None
                    if retry or not reused:
                        raise
                    self.retries += 1
                except BaseException:
                    conn.close()
                    conn = None
                    raise
        finally:
            if conn is not None and conn.open:
                self.idle[owner].append(conn)
        done = time.perf_counter()
        self.samples.append(Sample(kind, (done - started) * 1000, connecting * 1000, started - self.began))
        return reply

    async def close(self) -> None:
        for idle in self.idle.values():
            for conn in idle:
                conn.close()
        self.idle.clear()


# ---------------------------------------------------------------- the learners


@dataclass
class Save:
    position: int
    seq: int
    response: dict
    deliberate_stale: bool = False  # a late retry of an answer already replaced
    racing: bool = False  # sent together with a newer save of the same position
    accepted: bool | None = None
    reason: str | None = None
    server_seq: int | None = None


@dataclass
class Learner:
    user_id: int
    cookie: str
    csrf: str
    rng: random.Random
    attempt_id: int | None = None
    saves: list[Save] = field(default_factory=list)
    last_seq: dict[int, int] = field(default_factory=dict)
    submitted: bool = False

    def next_seq(self, position: int) -> int:
        """As ``static/js/quiz.js`` numbers answers: above the last one, and at least the clock in ms."""
        seq = max(self.last_seq.get(position, 0) + 1, int(time.time() * 1000))
        self.last_seq[position] = seq
        return seq


class Exam:
    def __init__(self, client: Client, setup: Setup, learners: list[Learner]):
        self.client, self.setup, self.learners = client, setup, learners
        self.failures: list[str] = []
        self.unfinished = 0
        self.outcome = None  # what the run or the burst returned

    def fail(self, learner: Learner, what: str, reply: Reply | None = None) -> None:
        status = f" ({reply.status}: {reply.body[:120]!r})" if reply is not None else ""
        self.failures.append(f"learner {learner.user_id}: {what}{status}")

    def keep_cookie(self, learner: Learner, reply: Reply) -> None:
        for key, value in reply.headers:
            if key == "set-cookie" and value.startswith("bangkom_session="):
                learner.cookie = value.split(";", 1)[0].partition("=")[2]

    async def call(self, learner: Learner, kind: str, method: str, path: str, **kwargs) -> Reply | None:
        try:
            reply = await self.client.call(learner.user_id, kind, method, path, learner.cookie, **kwargs)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            self.fail(learner, f"{kind} {path}: {type(exc).__name__} {exc}")
            return None
        self.keep_cookie(learner, reply)
        return reply

    async def start(self, learner: Learner, lesson_id: int) -> int | None:
        reply = await self.call(learner, "start", "POST", f"/kursus/{self.setup.code}/pelajaran/{lesson_id}/mulai",
                                form={"csrf_token": learner.csrf})
        if reply is None:
            return None
        found = re.search(r"/percobaan/(\d+)$", reply.header("location") or "")
        if reply.status != 302 or found is None:
            self.fail(learner, "start did not lead to an attempt", reply)
            return None
        return int(found.group(1))

    async def save(self, learner: Learner, save: Save) -> None:
        learner.saves.append(save)
        reply = await self.call(learner, "save", "POST", f"/percobaan/{learner.attempt_id}/simpan",
                                data={"position": save.position, "seq": save.seq, "response": save.response},
                                csrf=learner.csrf)
        if reply is None:
            return
        if reply.status != 200:
            self.fail(learner, f"save of position {save.position}", reply)
            return
        try:
            body = json.loads(reply.body)
            save.accepted, save.reason, save.server_seq = body["accepted"], body["reason"], body["seq"]
        except (ValueError, KeyError):
            self.fail(learner, f"save of position {save.position} answered", reply)

    async def take(self, learner: Learner, opens_at: float) -> None:
        rng = learner.rng
        await asyncio.sleep(max(0.0, opens_at - time.perf_counter()))
        learner.attempt_id = await self.start(learner, self.setup.exam_id)
        if learner.attempt_id is None:
            return
        page = await self.call(learner, "page", "GET", f"/percobaan/{learner.attempt_id}")
        if page is None or page.status != 200:
            self.fail(learner, "attempt page", page)
            return
        html = page.body.decode()
        token = re.search(r'data-csrf="([^"]+)"', html)
        if token is None:
            self.fail(learner, "the attempt page has no CSRF token")
            return
        learner.csrf = token.group(1)
        options: dict[int, list[int]] = defaultdict(list)
        for position, value in re.findall(r'<input type="radio" name="q(\d+)" value="(\d+)"', html):
            options[int(position)].append(int(value))
        if sorted(options) != list(range(ANSWERS)) or any(len(v) != OPTIONS for v in options.values()):
            self.fail(learner, f"the page shows {len(options)} questions")
            return
        order = list(options)
        rng.shuffle(order)
        chosen: dict[int, int] = {}
        first: dict[int, Save] = {}
        for position in order:
            await asyncio.sleep(rng.uniform(*THINK))
            chosen[position] = rng.choice(options[position])
            first[position] = Save(position, learner.next_seq(position), {"choice": chosen[position]})
            await self.save(learner, first[position])
        changed = rng.sample(order, CHANGES)
        quick = changed[0] if rng.random() < QUICK_CHANGE else None
        for position in changed:
            await asyncio.sleep(rng.uniform(*THINK))
            others = [o for o in options[position] if o != chosen[position]]
            if position == quick:
                # Two clicks within milliseconds: both saves are in flight together.
                middle, chosen[position] = rng.sample(others, 2)
                older = Save(position, learner.next_seq(position), {"choice": middle}, racing=True)
                newer = Save(position, learner.next_seq(position), {"choice": chosen[position]})
                await asyncio.gather(self.save(learner, older), self.save(learner, newer))
            else:
                chosen[position] = rng.choice(others)
                await self.save(learner, Save(position, learner.next_seq(position), {"choice": chosen[position]}))
        if rng.random() < LATE_RETRY:
            # A save that was sent long ago (and replaced since) reaches the server again: it must be refused.
            old = first[changed[-1]]
            await self.save(learner, Save(old.position, old.seq, old.response, deliberate_stale=True))
        await asyncio.sleep(rng.uniform(*THINK) / 2)
        path = f"/percobaan/{learner.attempt_id}/selesai"
        clicks = 2 if rng.random() < DOUBLE_SUBMIT else 1
        replies = await asyncio.gather(*(self.call(learner, "submit", "POST", path, form={"csrf_token": learner.csrf})
                                         for _ in range(clicks)))
        for reply in replies:
            if reply is None or reply.status != 302 or not (reply.header("location") or "").endswith("/hasil"):
                self.fail(learner, "submit did not lead to the result", reply)
                return
        learner.submitted = True
        result = await self.call(learner, "result", "GET", f"/percobaan/{learner.attempt_id}/hasil")
        if result is None or result.status != 200:
            self.fail(learner, "result page", result)

    async def _all(self, work: list, limit: float) -> list:
        """Runs the learners' coroutines; those unfinished after ``limit`` seconds are stopped (an overloaded
        server, or a neighbour hogging the machine, must not keep the bench running for ever)."""
        tasks = [asyncio.ensure_future(coroutine) for coroutine in work]
        _done, pending = await asyncio.wait(tasks, timeout=limit)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        self.unfinished = len(pending)
        return [None if task.cancelled() else task.result() for task in tasks]

    async def run(self) -> None:
        now = time.perf_counter()
        self.client.began = now
        rng = random.Random(11)
        await self._all([self.take(learner, now + rng.uniform(0, OPENING)) for learner in self.learners],
                        STOP_AFTER)

    async def burst(self) -> list[int | None]:
        """Everyone presses "Mulai" on the second quiz in the same instant."""
        self.client.began = time.perf_counter()
        return await self._all([self.start(learner, self.setup.burst_id) for learner in self.learners],
                               BURST_LIMIT)


# ---------------------------------------------------------------- checking what the database holds


def _check(setup: Setup, learners: list[Learner]) -> tuple[list[str], dict[str, int]]:
    """What went wrong (empty when nothing did), and counts for the report."""
    from sqlalchemy import func, select

    from courses.quizzes.models import Attempt, AttemptItem
    from lms.extensions import db
    from lms.models import AuditEvent

    problems: list[str] = []
    counts = Counter()
    attempts = {a.id: a for a in db.session.scalars(select(Attempt).where(Attempt.lesson_id == setup.exam_id))}
    per_user = Counter(a.user_id for a in attempts.values())
    items: dict[int, dict[int, AttemptItem]] = defaultdict(dict)
    for item in db.session.scalars(select(AttemptItem).where(AttemptItem.attempt_id.in_(
            select(Attempt.id).where(Attempt.lesson_id == setup.exam_id)))):
        items[item.attempt_id][item.position] = item
    submits = Counter(db.session.scalars(select(AuditEvent.object_id).where(
        AuditEvent.action == "quiz.submit", AuditEvent.object_type == "quiz_attempts")))
    for learner in learners:
        if not learner.submitted:
            continue  # a failed request or an unfinished exam, reported as such
        attempt = attempts.get(learner.attempt_id)
        if attempt is None or attempt.user_id != learner.user_id or per_user[learner.user_id] != 1:
            problems.append(f"learner {learner.user_id}: {per_user[learner.user_id]} attempts")
            continue
        held = items[attempt.id]
        expected: dict[int, Save] = {}
        for save in learner.saves:
            counts["saves"] += 1
            if save.accepted is None:
                continue  # the failed request is reported already
            if save.accepted:
                counts["accepted"] += 1
                if save.deliberate_stale:
                    problems.append(f"attempt {attempt.id}: a late retry (seq {save.seq}) was accepted")
                if save.position not in expected or save.seq > expected[save.position].seq:
                    expected[save.position] = save
            elif save.reason == "stale" and (save.deliberate_stale or save.racing):
                counts["stale_refused"] += 1
                if save.server_seq is None or save.server_seq <= save.seq:
                    problems.append(f"attempt {attempt.id}: stale save answered with seq {save.server_seq}")
            else:
                problems.append(f"attempt {attempt.id}: save of position {save.position} refused ({save.reason})")
        last_sent = {}
        for save in learner.saves:
            if save.position not in last_sent or save.seq > last_sent[save.position].seq:
                last_sent[save.position] = save
        right = 0
        for position in range(ANSWERS):
            item, want = held.get(position), expected.get(position)
            counts["answers"] += 1
            if item is None or want is None:
                problems.append(f"attempt {attempt.id}: position {position} has no answer")
                counts["lost"] += 1
                continue
            # The page numbers options as shown; the server stores them by position in the question.
            stored = from_display(item.layout, want.response)
            if item.response != stored or item.seq != want.seq:
                counts["lost"] += 1
                problems.append(f"attempt {attempt.id} position {position}: holds {item.response} seq {item.seq}, "
                                f"the learner's last accepted answer is {want.response} seq {want.seq}")
            elif want is not last_sent[position] and last_sent[position].accepted is not None:
                problems.append(f"attempt {attempt.id} position {position}: the learner's last answer (seq "
                                f"{last_sent[position].seq}) was not taken")
            right += stored["choice"] == setup.right[item.question_id]
        if attempt.state != "finished" or attempt.closed_by != "learner":
            problems.append(f"attempt {attempt.id}: {attempt.state}, closed by {attempt.closed_by}")
        if submits[str(attempt.id)] != 1:
            problems.append(f"attempt {attempt.id}: graded {submits[str(attempt.id)]} times")
        if attempt.score is None or abs(attempt.score - round(100 * right / ANSWERS, 2)) > 1e-9:
            problems.append(f"attempt {attempt.id}: score {attempt.score}, its answers earn {100 * right / ANSWERS}")
    if not all(learner.submitted for learner in learners):
        return problems, dict(counts)
    others = db.session.scalar(select(func.count()).select_from(Attempt).where(
        Attempt.lesson_id == setup.exam_id, Attempt.id.not_in([a.attempt_id for a in learners if a.attempt_id])))
    if others:
        problems.append(f"{others} attempts nobody was given")
    return problems, dict(counts)


def _check_burst(setup: Setup, learners: list[Learner], started: list[int | None]) -> list[str]:
    from sqlalchemy import select

    from courses.quizzes.models import Attempt
    from lms.extensions import db

    rows = db.session.execute(select(Attempt.id, Attempt.user_id).where(Attempt.lesson_id == setup.burst_id)).all()
    mine = {user: attempt for attempt, user in rows}
    problems = [f"learner {learner.user_id}: no attempt" for learner, attempt in zip(learners, started, strict=True)
                if attempt is None or mine.get(learner.user_id) != attempt]
    if len(rows) != len(learners):
        problems.append(f"{len(rows)} attempts for {len(learners)} learners")
    return problems


# ---------------------------------------------------------------- serving and measuring


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(env: dict, cwd: Path, log) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--graceful-timeout", "2", *GUNICORN,
         "wsgi:app"], cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=log)
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


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        say("quiz_exam: gunicorn had to be killed")
        process.kill()
        process.wait()


def _cpu_ticks() -> tuple[int, int]:
    """Busy and total jiffies of the whole machine (every process, ours and the neighbours')."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def _cpu_by_process(parent: int) -> dict[int, tuple[str, float]]:
    """CPU seconds so far of gunicorn's workers (``parent``'s children) and of the PostgreSQL server's
    processes (serving every database on it, the neighbours' too)."""
    found = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
        kind = "gunicorn" if int(rest[1]) == parent else "postgres" if name == "postgres" else None
        if kind:
            found[int(entry.name)] = (kind, (int(rest[11]) + int(rest[12])) / tick)
    return found


def _cpu_used(before: dict, after: dict) -> tuple[dict[str, float], list[float]]:
    """CPU seconds by kind of process, and per gunicorn worker."""
    used: dict[str, float] = defaultdict(float)
    workers = []
    for pid, (kind, seconds) in after.items():
        spent = seconds - before.get(pid, (kind, 0.0))[1]
        used[kind] += spent
        if kind == "gunicorn":
            workers.append(spent)
    return used, sorted(workers, reverse=True)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def _figures(samples: list[Sample]) -> dict[str, tuple[int, float, float, float, float]]:
    """Per kind and overall: count, p50, p95, p99, max in ms."""
    by_kind = defaultdict(list)
    for sample in samples:
        by_kind[sample.kind].append(sample.ms)
    by_kind["all"] = [s.ms for s in samples]
    return {kind: (len(v), _percentile(v, .5), _percentile(v, .95), _percentile(v, .99), max(v))
            for kind, v in by_kind.items() if v}


def _table(samples: list[Sample], figures: dict) -> list[str]:
    """The figures per kind, with the time spent opening connections (the server accepting them)."""
    connects = defaultdict(list)
    for sample in samples:
        connects[sample.kind].append(sample.connect_ms)
        connects["all"].append(sample.connect_ms)
    lines = [f"    {'request':<8} {'count':>7} {'p50':>8} {'p95':>8} {'p99':>8} {'max':>8} "
             f"{'connect p95':>12}  (ms)"]
    for kind in (*KINDS, "all"):
        if kind in figures:
            n, p50, p95, p99, top = figures[kind]
            lines.append(f"    {kind:<8} {n:>7,} {p50:>8.1f} {p95:>8.1f} {p99:>8.1f} {top:>8.1f} "
                         f"{_percentile(connects[kind], .95):>12.1f}")
    return lines


def _phases(samples: list[Sample]) -> str:
    """p95 while everyone is starting, and afterwards."""
    opening = [s.ms for s in samples if s.at < OPENING]
    rest = [s.ms for s in samples if s.at >= OPENING]
    if not opening or not rest:
        return ""
    return (f"p95 {_percentile(opening, .95):,.0f} ms in the opening {OPENING:.0f} s ({len(opening):,} requests), "
            f"{_percentile(rest, .95):,.0f} ms afterwards ({len(rest):,})")


def _busiest(samples: list[Sample], width: float = 10.0) -> str:
    """The busiest window of the run: its request rate and p95."""
    windows = defaultdict(list)
    for sample in samples:
        windows[int(sample.at // width)].append(sample.ms)
    key = max(windows, key=lambda k: len(windows[k]))
    return (f"busiest {width:.0f} s: {len(windows[key]) / width:.0f} req/s, "
            f"p95 {_percentile(windows[key], .95):.0f} ms")


@dataclass
class Machine:
    """What the machine did while the exam ran: its 2 cores are shared with other engineers' work."""

    seconds: float
    load_before: float
    load_after: float
    busy: float  # share of both cores, every process
    gunicorn: float  # CPU seconds
    postgres: float  # CPU seconds of the whole server (the neighbours' databases too)
    generator: float  # CPU seconds of this process
    workers: list[float]  # CPU seconds of each gunicorn worker

    @property
    def others(self) -> float:
        return max(0.0, self.busy * 2 * self.seconds - self.gunicorn - self.postgres - self.generator)


def _measured(work, pid: int) -> tuple[object, Machine]:
    """Runs ``work()`` and says what it cost the machine."""
    load_before = os.getloadavg()[0]
    ticks_before, usage_before = _cpu_ticks(), resource.getrusage(resource.RUSAGE_SELF)
    processes_before = _cpu_by_process(pid)
    started = time.perf_counter()
    outcome = work()
    seconds = time.perf_counter() - started
    ticks_after, usage_after = _cpu_ticks(), resource.getrusage(resource.RUSAGE_SELF)
    used, workers = _cpu_used(processes_before, _cpu_by_process(pid))
    generator = (usage_after.ru_utime + usage_after.ru_stime) - (usage_before.ru_utime + usage_before.ru_stime)
    busy = (ticks_after[0] - ticks_before[0]) / max(1, ticks_after[1] - ticks_before[1])
    return outcome, Machine(seconds, load_before, os.getloadavg()[0], busy, used["gunicorn"], used["postgres"],
                            generator, workers)


def run() -> list[Result]:
    path = f"quiz: {LEARNERS:,} learners start, autosave, submit (PostgreSQL, gunicorn)"
    budget = f"p95 < {BUDGET_MS:g} ms"
    burst_path = f"quiz: burst of {LEARNERS:,} starts in one instant (information)"
    server = _server()
    if server is None:
        return [Result.failed(path, f"needs PostgreSQL: set BENCH_DATABASE_URL (nothing answers at "
                                    f"{DEFAULT_SERVER.split('@')[1]})", budget)]
    with _on_postgresql(server), application("quiz_exam") as app:
        say(f"quiz_exam: building the course and {LEARNERS:,} enrolled learners …")
        started = time.perf_counter()
        setup = _populate()
        minted = _cookies(app, setup.learners)
        say(f"quiz_exam: ready in {time.perf_counter() - started:.0f} s; serving with gunicorn")
        from lms.extensions import db

        db.session.remove()
        db.engine.dispose()
        root = Path(__file__).resolve().parent.parent
        env = {**os.environ, "LMS_ENV": "development", "LMS_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
               "LMS_INSTANCE_PATH": app.instance_path, "PYTHONPATH": str(root)}
        learners = [Learner(user_id, *minted[user_id], random.Random(user_id)) for user_id in setup.learners]
        burst = None
        with tempfile.TemporaryFile() as log:
            process, port = _serve(env, root, log)
            try:
                say(f"quiz_exam: the exam opens (load average {os.getloadavg()[0]:.2f}): everyone starts within "
                    f"{OPENING:.0f} s and answers after {THINK[0]:g}–{THINK[1]:g} s of thought each")
                exam, machine = _measured(lambda: asyncio.run(_session(port, setup, learners, Exam.run)),
                                          process.pid)
                if not exam.unfinished:
                    say(f"quiz_exam: exam over in {machine.seconds:.0f} s; now {LEARNERS:,} starts in one instant")
                    burst, burst_clock = _timed(lambda: asyncio.run(_session(port, setup, learners, Exam.burst)))
            finally:
                _stop(process)
                log.seek(0)
                server_log = log.read().decode(errors="replace")
        problems, counts = _check(setup, learners)
        burst_problems = _check_burst(setup, learners, burst.outcome) if burst is not None else []
    samples = exam.client.samples
    figures = _figures(samples)
    _report(exam, machine, figures, counts)
    failures = exam.failures + problems
    for line in failures[:15]:
        say(f"quiz_exam: ! {line}")
    if "Traceback" in server_log or "WORKER TIMEOUT" in server_log:
        say("quiz_exam: gunicorn's log ends:\n" + server_log[-3000:])
    if "all" not in figures:
        return [Result.failed(path, "no request was answered", budget)]
    _n, p50, p95, p99, top = figures["all"]
    lost = counts.get("lost", 0)
    shared = (f"CPU {100 * machine.busy:.0f} % busy, neighbours {machine.others / machine.seconds:.1f} cores, "
              f"load {machine.load_before:.1f}→{machine.load_after:.1f}")
    if exam.unfinished:
        results = [Result.failed(path, f"{exam.unfinished:,} learners unfinished after {STOP_AFTER:.0f} s; "
                                       f"p95 {p95:,.0f} ms; {shared}", budget)]
    elif failures:
        results = [Result.failed(path, f"{len(exam.failures)} failed requests, {len(problems)} wrong outcomes "
                                       f"({lost} answers lost); p95 {p95:,.0f} ms; {shared}", budget)]
    else:
        detail = (f"p50 {p50:.0f}, p99 {p99:,.0f}, max {top:,.0f} ms; p95 "
                  + ", ".join(f"{k} {figures[k][2]:,.0f}" for k in KINDS if k in figures)
                  + f"; {_phases(samples)}; {lost} of {counts.get('answers', 0):,} answers lost; "
                  f"{len(samples):,} req in {machine.seconds:.0f} s; {shared}")
        results = [Result.at_most(path, p95, BUDGET_MS, "ms", detail)]
    if burst is None:
        return results
    burst_figures = _figures(burst.client.samples)
    if burst.failures or burst.unfinished or burst_problems or "start" not in burst_figures:
        results.append(Result.failed(burst_path, f"{len(burst.failures)} failed, {burst.unfinished} unfinished, "
                                                 f"{len(burst_problems)} wrong"))
    else:
        n, p50, p95, _p99, top = burst_figures["start"]
        say(f"quiz_exam: burst: {n:,} starts served in {burst_clock:.1f} s, p50 {p50:,.0f} ms, p95 {p95:,.0f} ms, "
            f"max {top:,.0f} ms")
        results.append(Result(burst_path, f"all {n:,} served in {burst_clock:.1f} s: p50 {p50:,.0f}, "
                                          f"p95 {p95:,.0f}, max {top:,.0f} ms", "none", True))
    return results


def _report(exam: Exam, machine: Machine, figures: dict, counts: dict) -> None:
    samples = exam.client.samples
    if not samples:
        return
    say(f"quiz_exam: {len(samples):,} requests in {machine.seconds:.0f} s ({len(samples) / machine.seconds:.0f} "
        f"req/s on average, {_busiest(samples)}); {exam.client.connections:,} connections opened, "
        f"{exam.client.retries} requests resent after a keep-alive close")
    for line in _table(samples, figures):
        say(line)
    say(f"quiz_exam: {_phases(samples)}")
    say(f"quiz_exam: the machine was {100 * machine.busy:.0f} % busy (load average {machine.load_before:.2f} → "
        f"{machine.load_after:.2f}); CPU seconds: gunicorn workers {machine.gunicorn:.0f} "
        f"({' + '.join(f'{w:.0f}' for w in machine.workers)}; {1000 * machine.gunicorn / len(samples):.1f} ms "
        f"a request), PostgreSQL (all its databases) "
        f"{machine.postgres:.0f}, this load generator {machine.generator:.0f}, everything else "
        f"{machine.others:.0f}")
    say(f"quiz_exam: {counts.get('answers', 0):,} answers checked, {counts.get('lost', 0)} lost; "
        f"{counts.get('accepted', 0):,} of {counts.get('saves', 0):,} saves accepted, "
        f"{counts.get('stale_refused', 0)} stale ones refused as they should be")


def _timed(work) -> tuple[object, float]:
    started = time.perf_counter()
    outcome = work()
    return outcome, time.perf_counter() - started


async def _session(port: int, setup: Setup, learners: list[Learner], what):
    client = Client(port)
    exam = Exam(client, setup, learners)
    exam.outcome = await what(exam)
    await client.close()
    return exam
