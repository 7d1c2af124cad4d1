"""Checking documents: an uploaded PDF (signature, integrity, register) and many certificates at once."""

from __future__ import annotations

import csv
import io

import pytest

from certificates import jobs, signing
from certificates.models import Certificate
from lms import services as people
from lms.extensions import db
from lms.storage import store


@pytest.fixture
def signed(certificate):
    """The certificate with its signed PDF produced and stored."""
    jobs.produce_pdf(certificate.id)
    db.session.expire_all()
    stored = db.session.get(Certificate, certificate.id)
    return stored, store().path(stored.pdf_sha256).read_bytes()


def upload(client, data: bytes, headers=None):
    return client.post("/api/v1/certificates/verify", data={"file": (io.BytesIO(data), "sertifikat.pdf")},
                       headers=headers or {}, content_type="multipart/form-data")


def test_the_registered_signed_pdf_is_authentic(client, signed):
    certificate, pdf = signed
    answer = upload(client, pdf).get_json()
    assert answer["authentic"] is True
    assert answer["signature"] == "valid"
    assert answer["registered"] is True
    assert answer["certificate"]["number"] == certificate.number
    assert "*" in answer["certificate"]["holder"]["nip"], "the public answer masks the NIP"
    assert set(answer) == {"authentic", "signature", "registered", "certificate", "reason"}


def test_one_changed_byte_makes_the_pdf_not_authentic(client, signed):
    _certificate, pdf = signed
    tampered = bytearray(pdf)
    at = tampered.find(b"/Title")
    assert at > 0
    tampered[at + 8] ^= 0x01
    answer = upload(client, bytes(tampered)).get_json()
    assert answer["authentic"] is False
    assert answer["registered"] is False, "a changed file no longer matches the registered digest"
    assert answer["signature"] in ("invalid", "absent")


def test_a_revoked_certificate_is_authentic_but_says_revoked(client, signed, hr):
    from certificates import services

    certificate, pdf = signed
    services.revoke(certificate, reason="Data peserta keliru", actor=hr)
    db.session.commit()
    answer = upload(client, pdf).get_json()
    assert answer["authentic"] is True
    assert answer["certificate"]["status"] == "revoked"
    assert answer["certificate"]["revoked"]["reason"] == "Data peserta keliru"


def test_a_pdf_signed_by_us_but_not_registered_is_not_authentic(app, client, signed):
    from certificates import pdf as pdf_module

    _certificate, _pdf = signed
    other = signing.signer_for_app(app).sign(pdf_module.preview_certificate(*pdf_module.default_template()),
                                             signatory="Penguji", reason="uji", location="Semarang")
    answer = upload(client, other).get_json()
    assert (answer["authentic"], answer["signature"], answer["registered"]) == (False, "valid", False)
    assert answer["certificate"] is None


@pytest.mark.parametrize("data", [b"", b"not a pdf at all", b"%PDF-1.7\n garbage"])
def test_garbage_gets_a_verdict_not_an_error(client, data):
    response = upload(client, data)
    assert response.status_code == 200
    assert response.get_json()["authentic"] is False
    assert response.get_json()["signature"] == "absent"


def test_an_upload_without_a_file_is_a_json_error(client):
    response = client.post("/api/v1/certificates/verify", data={})
    assert response.status_code == 400
    assert set(response.get_json()) == {"error", "message"}


def test_the_full_nip_needs_a_certificates_read_token(client, signed, make_user):
    _certificate, pdf = signed
    owner = make_user(roles=("hr",))
    _token, secret = people.create_api_token(owner, name="SIMPEG", scopes=["certificates:read"], actor=None)
    db.session.commit()
    answer = upload(client, pdf, headers={"Authorization": f"Bearer {secret}"}).get_json()
    assert "*" not in answer["certificate"]["holder"]["nip"]


def test_the_batch_answers_each_line_in_order_as_csv(client, signed, make_user):
    certificate, _pdf = signed
    owner = make_user(roles=("hr",))
    _token, secret = people.create_api_token(owner, name="SIMPEG", scopes=["certificates:read"], actor=None)
    db.session.commit()
    body = f"number\n{certificate.number}\n\n{certificate.code}\nNO/SUCH/NUMBER\n=cmd|' /C calc'!A0\n"
    response = client.post("/api/v1/certificates/verify-batch", data=body, content_type="text/csv",
                           headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["input", "status", "number", "holder_name", "nip", "course_title", "jp", "issued_at"]
    assert [row[:3] for row in rows[1:3]] == [[certificate.number, "valid", certificate.number],
                                              [certificate.code, "valid", certificate.number]]
    assert rows[3][:2] == ["NO/SUCH/NUMBER", "unknown"]
    assert rows[4][0].startswith("'="), "a formula in the input is neutralised in the answer"
    assert rows[1][4] == certificate.snapshot["holder"]["nip"]


def test_the_batch_needs_a_token_with_the_scope(client, make_user):
    assert client.post("/api/v1/certificates/verify-batch", data="x", content_type="text/csv").status_code == 401
    owner = make_user(roles=("hr",))
    _token, secret = people.create_api_token(owner, name="SIMPEG", scopes=["records:read"], actor=None)
    db.session.commit()
    response = client.post("/api/v1/certificates/verify-batch", data="x", content_type="text/csv",
                           headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 403


def test_hr_checks_a_pdf_and_a_list_in_the_page(client, login, hr, signed):
    certificate, pdf = signed
    login(hr)
    page = client.post("/kelola/sertifikat/periksa", data={"file": (io.BytesIO(pdf), "s.pdf")},
                       content_type="multipart/form-data")
    assert page.status_code == 200
    assert "verdict-valid" in page.get_data(as_text=True)
    listing = client.post("/kelola/sertifikat/periksa", data={"numbers": f"{certificate.number}\nXX"})
    rows = list(csv.reader(io.StringIO(listing.get_data(as_text=True))))
    assert [row[1] for row in rows[1:]] == ["valid", "unknown"]
