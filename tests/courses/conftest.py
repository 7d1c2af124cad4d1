"""Factories for the course tests: trainers, learners and published courses built through the services."""

from __future__ import annotations

import pytest
from flask import g, request_started

from courses import services
from courses.models import Course, Enrolment
from lms.extensions import db
from lms.storage import store
from tests.courses.helpers import PDF


@pytest.fixture(autouse=True)
def _fresh_request_globals():
    """A fresh ``g`` per request, as in production (conftest keeps one app context per test)."""

    def clear(_sender, **_extra):
        for name in list(g):
            g.pop(name, None)

    with request_started.connected_to(clear):
        yield


@pytest.fixture
def trainer(make_user):
    return make_user(roles=("trainer",), full_name="Widyaiswara Utama", email="trainer@example.go.id", locale="en")


@pytest.fixture
def learner(make_user):
    return make_user(full_name="Budi Santoso", email="budi@example.go.id", locale="en")


def lesson_fields(spec) -> dict:
    """A lesson from a title (a text lesson) or a dict of add_lesson arguments."""
    if isinstance(spec, str):
        return {"kind": "text", "title": spec, "body_markdown": f"Isi {spec}."}
    fields = dict(spec)
    fields.setdefault("kind", "text")
    if fields["kind"] in ("pdf", "video", "file") and "file_sha256" not in fields:
        fields.update(file_sha256=store().put_bytes(PDF), file_name="materi.pdf", file_type="application/pdf",
                      file_size=len(PDF))
    return fields


@pytest.fixture
def make_course(trainer):
    """``make_course(owner=trainer, code=..., lessons=[...] or modules={title: [...]}, publish=True, **fields)``.

    Lessons are titles (text lessons) or dicts of ``add_lesson`` arguments. The course is committed."""
    counter = iter(range(1, 1000))

    def make(owner=None, *, code=None, title=None, lessons=("Pengantar", "Perencanaan", "Penutup"),
             modules=None, publish=True, objectives="Menyusun rencana proyek.", **fields) -> Course:
        owner = owner or trainer
        n = next(counter)
        fields = {"summary": "", "competency_kind": "teknis", "jp": 2, "jalur": "nonklasikal",
                  "jenis_diklat": "3", "language": "id", "is_open": True} | fields
        course = services.create_course(actor=owner, code=code or f"TS-{n:02d}", title=title or f"Kursus {n}",
                                        objectives=objectives, **fields)
        draft = course.draft
        for module_title, specs in (modules if modules is not None else {"Modul 1": lessons}).items():
            module = services.add_module(draft, title=module_title)
            for spec in specs:
                services.add_lesson(module, **lesson_fields(spec))
        if publish:
            services.publish(draft, actor=owner)
        db.session.commit()
        return course

    return make


@pytest.fixture
def enrol():
    def do(user, course, **kwargs) -> Enrolment:
        enrolment = services.enrol(user, course, **kwargs)
        db.session.commit()
        return enrolment

    return do



@pytest.fixture
def issuer():
    """A default certificate issuer: completions then produce certificates, which the JP ledger counts."""
    from certificates.models import Issuer

    issuer = Issuer(code="BPSDM", name="Badan Pengembangan Sumber Daya Manusia", city="Semarang",
                    signatory_name="Dr. Sri Wahyuni, M.Si.", signatory_nip="196805121994032005",
                    signatory_title="Kepala Badan", is_default=True)
    db.session.add(issuer)
    db.session.commit()
    return issuer
