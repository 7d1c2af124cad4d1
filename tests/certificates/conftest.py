"""Factories for the certificate tests: an org-unit tree, an issuer, a civil servant with a full profile,
and published courses completed through the course services (so ``course_completed`` really fires)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from certificates.models import Certificate, Issuer, NumberCounter
from courses import services as course_services
from lms import services as lms_services
from lms.extensions import db

HOLDER_NIP = "198503122010011003"  # PNS born 12 March 1985, appointed January 2010, male, sequence 3
OTHER_NIP = "199001152015032002"  # PNS born 15 January 1990, appointed March 2015, female, sequence 2


@pytest.fixture
def units():
    """Instansi → dinas → bidang: the certificate's instansi is the top of the tree."""
    top = lms_services.save_unit(None, code="JATENG", name="Pemerintah Provinsi Jawa Tengah", kind="instansi",
                                 parent_id=None, actor=None)
    dinas = lms_services.save_unit(None, code="DISDUKCAPIL", name="Dinas Kependudukan dan Pencatatan Sipil",
                                   kind="unit", parent_id=top.id, actor=None)
    bidang = lms_services.save_unit(None, code="DISDUKCAPIL.PDP", name="Bidang Pelayanan Pendaftaran Penduduk",
                                    kind="unit", parent_id=dinas.id, actor=None)
    db.session.commit()
    return SimpleNamespace(top=top, dinas=dinas, bidang=bidang)


@pytest.fixture
def make_issuer():
    def make(**fields) -> Issuer:
        fields = {"code": "BPSDM", "name": "Badan Pengembangan Sumber Daya Manusia Provinsi Jawa Tengah",
                  "city": "Semarang", "signatory_name": "Dr. Ir. Sri Wahyuni, M.Si.",
                  "signatory_nip": "196805121994032005",
                  "signatory_title": "Kepala Badan Pengembangan Sumber Daya Manusia Provinsi Jawa Tengah",
                  "is_default": True} | fields
        issuer = Issuer(**fields)
        db.session.add(issuer)
        db.session.commit()
        return issuer

    return make


@pytest.fixture
def issuer(make_issuer):
    return make_issuer()


@pytest.fixture
def holder(make_user, units):
    return make_user(full_name="Budi Santoso", title_front="Dr.", title_back="S.Kom., M.T.", nip=HOLDER_NIP,
                     birth_place="Semarang", golongan="III/b", jabatan_name="Analis Kebijakan Ahli Muda",
                     unit_id=units.bidang.id, email="budi@example.go.id")


@pytest.fixture
def trainer(make_user):
    return make_user(roles=("trainer",), full_name="Widyaiswara Utama", email="trainer@example.go.id")


@pytest.fixture
def hr(make_user):
    return make_user(roles=("hr",), full_name="Petugas BKD", email="bkd@example.go.id")


@pytest.fixture
def admin(make_user):
    return make_user(roles=("admin",), full_name="Admin Bangkom", email="admin@example.go.id")


@pytest.fixture
def institution():
    inst = lms_services.save_institution(None, code="UNDIP", name="Universitas Diponegoro", kind="universitas",
                                         city="Semarang", actor=None)
    db.session.commit()
    return inst


@pytest.fixture
def make_course(trainer):
    """``make_course(code="PM-01", lessons=3, institutions=[...], competencies={...}, **course fields)``:
    a published course of text lessons, committed."""

    def make(code="PM-01", title="Manajemen Proyek Pemerintahan", *, lessons=3, institutions=(),
             competencies=None, owner=None, **fields):
        owner = owner or trainer
        fields = {"summary": "", "competency_kind": "teknis", "jp": 20, "jalur": "nonklasikal",
                  "jenis_diklat": "3", "language": "id", "is_open": True} | fields
        course = course_services.create_course(actor=owner, code=code, title=title,
                                               objectives="Menyusun rencana proyek.",
                                               competencies=competencies or {}, **fields)
        if institutions:
            course_services.set_team(course, owners=[owner], institutions=list(institutions), actor=owner)
        module = course_services.add_module(course.draft, title="Modul 1")
        for n in range(1, lessons + 1):
            course_services.add_lesson(module, kind="text", title=f"Pelajaran {n}", body_markdown=f"Isi {n}.",
                                       minutes=45)
        course_services.publish(course.draft, actor=owner)
        db.session.commit()
        return course

    return make


@pytest.fixture
def course(make_course, institution):
    return make_course(institutions=[institution], competencies={"M.01": 2, "M.04": 3})


def study_all(enrolment, *, commit=True):
    """Open every lesson of the enrolment's version, as the learner would; the last one completes it."""
    for lesson in enrolment.version.lessons():
        course_services.record_visit(enrolment, lesson)
    if commit:
        db.session.commit()
    return enrolment


@pytest.fixture
def complete():
    """``complete(user, course)``: enrol and study every lesson online; the completion is committed."""

    def do(user, course, *, commit=True):
        enrolment = course_services.enrol(user, course)
        db.session.commit()
        return study_all(enrolment, commit=commit)

    return do


@pytest.fixture
def certificate(holder, course, issuer, complete):
    """The holder's certificate, issued by completing the course online."""
    enrolment = complete(holder, course)
    return db.session.scalar(select(Certificate).where(Certificate.enrolment_id == enrolment.id))


def certificate_count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Certificate))


def last_seq(issuer_id: int, year: int | None = None) -> int | None:
    """The issuer's counter for the year (None when no number was ever taken)."""
    return db.session.scalar(select(NumberCounter.last_seq).where(
        NumberCounter.issuer_id == issuer_id, NumberCounter.year == (year or dt.date.today().year)))


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()

    def invoke(*args):
        return runner.invoke(args=list(args))

    return invoke
