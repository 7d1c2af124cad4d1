"""Factories for the training-records tests: employees with a full HR profile in the unit tree of
tests/certificates/conftest.py, HR officers of a unit, and external records submitted through the services."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from flask import g, request_started

from certificates.records import services
from lms import services as lms_services
from lms.extensions import db

# A small but real PDF (one empty page): the upload check reads the first bytes, the ZIP and the promotion
# file carry it as it is.
PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj "
       b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)


@pytest.fixture(autouse=True)
def _fresh_request_globals():
    """A fresh ``g`` per request, as in production (the suite keeps one app context per test)."""

    def clear(_sender, **_extra):
        for name in list(g):
            g.pop(name, None)

    with request_started.connected_to(clear):
        yield


@pytest.fixture
def make_employee(make_user, units):
    """``make_employee(unit=units.bidang, employee_type="PNS", **fields)`` → a learner with NIP and profile."""
    counter = iter(range(1, 900))

    def make(unit=None, employee_type="PNS", **fields):
        n = next(counter)
        nip = fields.pop("nip", None) or (f"19900115201503{1 + n % 2}{n:03d}" if employee_type != "PPPK"
                                          else f"19900115202102{1 + n % 2}{n:03d}")
        fields = {"full_name": f"Pegawai {n}", "nip": nip, "employee_type": employee_type,
                  "golongan": "III/a" if employee_type != "PPPK" else "VII", "jabatan_type": "pelaksana",
                  "jabatan_name": "Pengelola Data", "unit_id": (unit or units.bidang).id,
                  "email": f"pegawai{n}@example.go.id"} | fields
        return make_user(**fields)

    return make


@pytest.fixture
def employee(make_employee):
    return make_employee(full_name="Siti Aminah", email="siti@example.go.id")


@pytest.fixture
def make_hr(make_user):
    def make(unit, **fields):
        return make_user(roles=("hr",), unit_id=unit.id, **fields)

    return make


@pytest.fixture
def unit_hr(make_hr, units):
    """HR of the dinas (and so of its bidang)."""
    return make_hr(units.dinas, full_name="Petugas BKD Dinas", email="hr.dinas@example.go.id")


def record_data(**fields) -> dict:
    today = dt.date.today()
    start = today - dt.timedelta(days=3) if today.day > 3 or today.month > 1 else today
    return {"title": "Bimtek Tata Naskah Dinas Elektronik", "organiser": "Arsip Nasional RI", "place": "Jakarta",
            "jalur": "klasikal", "jenis_diklat": "8", "latihan_struktural": None, "competency_kind": "teknis",
            "certificate_number": f"ANRI/{today.year}/001", "start_date": start, "end_date": start, "jp": 8} | fields


@pytest.fixture
def submit():
    """``submit(user, data=..., content=PDF, state="diajukan", by=hr)`` → a committed external record."""

    def do(user, *, content=PDF, state="diajukan", by=None, **fields):
        record = services.submit_external(user, data=record_data(**fields), stream=io.BytesIO(content),
                                          file_name="sertifikat.pdf")
        if state == "diverifikasi":
            services.verify(record, actor=by)
        elif state == "ditolak":
            services.reject(record, reason="Sertifikat tidak terbaca.", actor=by)
        db.session.commit()
        return record

    return do


@pytest.fixture
def sibling_unit(units):
    other = lms_services.save_unit(None, code="DISHUB", name="Dinas Perhubungan", kind="unit",
                                   parent_id=units.top.id, actor=None)
    db.session.commit()
    return other
