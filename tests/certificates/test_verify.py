"""Verifying certificates in public (the page and the API, rate limited, masked NIP), and who may download,
revoke and correct them."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from flask_babel import force_locale, format_date
from flask_babel import gettext as babel_gettext
from sqlalchemy import func, select, update

from certificates import services as cert_services
from certificates.models import Certificate
from courses import services as course_services
from lms import services as lms_services
from lms.extensions import db
from lms.models import AuditEvent
from lms.nip import format_nip
from lms.storage import store
from tests.certificates.conftest import HOLDER_NIP, OTHER_NIP, certificate_count, study_all

PDF_BYTES = b"%PDF-1.7\n% Bangkom test certificate\n%%EOF\n"
# INTERFACES.md: the certificate JSON, plus superseded_by for a replaced certificate.
CERTIFICATE_KEYS = {"number", "code", "status", "holder", "course", "issuer", "issued_at", "valid_until", "revoked",
                    "pdf_sha256", "verify_url"}


def say(app, message, locale="id", **params) -> str:
    """``message`` as a page in ``locale`` shows it."""
    with app.test_request_context(), force_locale(locale):
        return babel_gettext(message, **params)


def long_date(app, value, locale="id") -> str:
    with app.test_request_context(), force_locale(locale):
        return format_date(value, "d MMMM y")


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def fresh(certificate) -> Certificate:
    db.session.expire_all()
    return db.session.get(Certificate, certificate.id)


def audit_count(action: str) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action))


@pytest.fixture
def other(make_user, units):
    return make_user(full_name="Siti Aminah", nip=OTHER_NIP, email="siti@example.go.id", unit_id=units.dinas.id)


@pytest.fixture
def newer(certificate, hr):
    """A corrected certificate replacing ``certificate``."""
    new = cert_services.reissue(certificate, reason="Gelar salah tulis", actor=hr)
    db.session.commit()
    return new


def with_pdf(certificate) -> Certificate:
    certificate.pdf_sha256 = store().put_bytes(PDF_BYTES)
    certificate.pdf_size = len(PDF_BYTES)
    db.session.commit()
    return certificate


def make_expired(certificate) -> Certificate:
    db.session.execute(update(Certificate).where(Certificate.id == certificate.id)
                       .values(valid_until=dt.date.today() - dt.timedelta(days=3)))
    db.session.commit()
    return fresh(certificate)


# ---------------------------------------------------------------- the verification page


def assert_no_full_nip(page: str) -> None:
    assert HOLDER_NIP not in page
    assert format_nip(HOLDER_NIP) not in page
    assert HOLDER_NIP[:8] + " " + HOLDER_NIP[8:14] not in page


def test_verify_page_shows_a_valid_certificate_without_signing_in(app, client, certificate, issuer):
    response = client.get(f"/verify/{certificate.code}")
    assert response.status_code == 200
    page = text(response)
    assert say(app, "Valid certificate") in page
    assert "Dr. Budi Santoso, S.Kom., M.T." in page
    assert cert_services.mask_nip(HOLDER_NIP) in page
    assert_no_full_nip(page)
    assert "Manajemen Proyek Pemerintahan (PM-01)" in page
    assert certificate.number in page
    assert issuer.name in page
    assert "Universitas Diponegoro" in page
    assert re.search(r"<dt>JP</dt><dd>20</dd>", page)
    assert "/akun/masuk" not in response.headers.get("Location", "")
    # No PDF yet: no link to it.
    assert f"/verify/{certificate.code}/pdf" not in page


def test_the_masked_nip_hides_birth_day_and_sequence_as_everywhere_else(certificate):
    from lms.nip import mask

    masked = cert_services.mask_nip(HOLDER_NIP)
    # One masking for every public answer: two different ones would together reveal the whole NIP.
    assert masked == mask(HOLDER_NIP)
    assert len(masked) == 18
    assert masked[4:8] == "****"
    assert masked[15:] == "***"
    assert cert_services.mask_nip(None) is None


def test_verify_page_speaks_indonesian_by_default(app, client, certificate):
    page = text(client.get(f"/verify/{certificate.code}"))
    assert '<html lang="id"' in page
    for message in ("Certificate verification", "Valid certificate", "Holder", "Issuer"):
        indonesian = say(app, message)
        assert indonesian != message, f"no Indonesian translation for {message!r}"
        assert indonesian in page
    assert "Valid certificate" not in page

    english = text(client.get(f"/verify/{certificate.code}", headers={"Accept-Language": "en"}))
    assert "Valid certificate" in english


def test_verify_page_for_a_signed_in_stranger_is_the_same(client, login, other, certificate):
    login(other)
    page = text(client.get(f"/verify/{certificate.code}"))
    assert "Dr. Budi Santoso, S.Kom., M.T." in page
    assert_no_full_nip(page)


def test_verify_page_shows_a_revocation_with_reason_and_date(app, client, certificate, hr):
    cert_services.revoke(certificate, reason="Peserta tidak memenuhi syarat kehadiran", actor=hr)
    db.session.commit()
    response = client.get(f"/verify/{certificate.code}")
    assert response.status_code == 200
    page = text(response)
    assert say(app, "Revoked certificate") in page
    assert say(app, "Valid certificate") not in page
    when = long_date(app, fresh(certificate).revoked_at)
    assert say(app, "Revoked on %(date)s. Reason: %(reason)s", date=when,
               reason="Peserta tidak memenuhi syarat kehadiran") in page
    assert_no_full_nip(page)


def test_verify_page_shows_an_expired_certificate(app, client, certificate):
    expired = make_expired(certificate)
    page = text(client.get(f"/verify/{certificate.code}"))
    assert say(app, "Expired certificate") in page
    assert say(app, "It was valid until %(date)s.", date=long_date(app, expired.valid_until)) in page
    assert say(app, "Valid certificate") not in page


def test_verify_page_of_a_replaced_certificate_links_to_the_newer_one(app, client, certificate, newer):
    page = text(client.get(f"/verify/{certificate.code}"))
    assert say(app, "Replaced certificate") in page
    assert say(app, "A newer certificate replaces this one: %(number)s.", number=newer.number) in page
    assert f'href="/verify/{newer.code}"' in page
    assert say(app, "Valid certificate") in text(client.get(f"/verify/{newer.code}"))


@pytest.mark.parametrize("code", ["well-formed", "malformed", "uppercase-of-unknown"])
def test_verify_page_for_an_unknown_code_is_a_404_in_the_same_layout(app, client, certificate, code):
    unknown = {"well-formed": cert_services.new_code(), "malformed": "abc'; drop table certificates; --",
               "uppercase-of-unknown": cert_services.new_code().upper()}[code]
    response = client.get(f"/verify/{unknown}")
    assert response.status_code == 404
    page = text(response)
    assert say(app, "Certificate not found") in page
    known = text(client.get(f"/verify/{certificate.code}"))
    # The same page: the verification layout, not the generic error page.
    for marker in ('<div class="verify">', 'class="panel verdict', "<title>"):
        assert marker in page
        assert marker in known
    assert say(app, "Page not found") not in page
    assert "Budi" not in page


def test_verify_pdf_link_serves_the_stored_pdf_to_anyone_with_the_code(client, certificate):
    assert client.get(f"/verify/{certificate.code}/pdf").status_code == 404  # not rendered yet
    with_pdf(certificate)
    page = text(client.get(f"/verify/{certificate.code}"))
    assert f"/verify/{certificate.code}/pdf" in page
    assert certificate.pdf_sha256 in page
    with client.get(f"/verify/{certificate.code}/pdf") as response:
        assert response.status_code == 200
        assert response.mimetype == "application/pdf"
        assert response.data == PDF_BYTES
    assert client.get(f"/verify/{cert_services.new_code()}/pdf").status_code == 404


# ---------------------------------------------------------------- the API


def test_api_answers_the_certificate_json_of_the_contract(app, client, certificate, issuer):
    response = client.get(f"/api/v1/certificates/{certificate.code}")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == CERTIFICATE_KEYS | {"superseded_by"}
    assert body["number"] == certificate.number
    assert body["code"] == certificate.code
    assert body["status"] == "valid"
    assert body["superseded_by"] is None
    assert body["holder"] == {"name": "Dr. Budi Santoso, S.Kom., M.T.", "nip": cert_services.mask_nip(HOLDER_NIP)}
    assert body["course"] == {"code": "PM-01", "title": "Manajemen Proyek Pemerintahan", "jp": 20}
    assert body["issuer"] == issuer.name
    assert body["issued_at"] == certificate.issued_at.date().isoformat()
    assert dt.date.fromisoformat(body["issued_at"])
    assert body["valid_until"] is None
    assert body["revoked"] is None
    assert body["pdf_sha256"] is None
    assert body["verify_url"] == f"{app.config['BASE_URL']}/verify/{certificate.code}"
    assert HOLDER_NIP not in response.get_data(as_text=True)


def test_api_gives_the_full_nip_only_with_the_certificates_read_scope(client, certificate, hr):
    _token, reader = lms_services.create_api_token(hr, name="SIMPEG", scopes=["certificates:read"], actor=None)
    _token, records = lms_services.create_api_token(hr, name="SIASN", scopes=["records:read"], actor=None)
    db.session.commit()
    url = f"/api/v1/certificates/{certificate.code}"

    full = client.get(url, headers={"Authorization": f"Bearer {reader}"})
    assert full.status_code == 200
    assert full.get_json()["holder"]["nip"] == HOLDER_NIP

    other_scope = client.get(url, headers={"Authorization": f"Bearer {records}"})
    assert other_scope.status_code == 200
    assert other_scope.get_json()["holder"]["nip"] == cert_services.mask_nip(HOLDER_NIP)

    bad = client.get(url, headers={"Authorization": "Bearer bkm_not-a-real-token"})
    assert bad.status_code == 401
    assert HOLDER_NIP not in bad.get_data(as_text=True)


@pytest.mark.parametrize("code", ["well-formed", "malformed", "number-like"])
def test_api_unknown_code_is_404_status_unknown(client, certificate, code):
    unknown = {"well-formed": cert_services.new_code(), "malformed": "x",
               "number-like": certificate.number.replace("00001", "00999")}[code]
    response = client.get(f"/api/v1/certificates/{unknown}")
    assert response.status_code == 404
    assert response.get_json() == {"status": "unknown"}


def test_api_looks_certificates_up_by_number(client, certificate):
    assert "/" in certificate.number
    response = client.get(f"/api/v1/certificates/{certificate.number}")
    assert response.status_code == 200
    assert response.get_json()["code"] == certificate.code


def test_api_statuses_are_valid_revoked_or_expired(client, certificate, newer, hr):
    def status_of(cert):
        return client.get(f"/api/v1/certificates/{cert.code}").get_json()

    replaced = status_of(certificate)
    assert replaced["status"] == "valid"
    assert replaced["superseded_by"] == newer.number
    assert status_of(newer)["superseded_by"] is None

    make_expired(certificate)
    replaced = status_of(certificate)
    assert (replaced["status"], replaced["superseded_by"]) == ("expired", newer.number)

    cert_services.revoke(newer, reason="Peserta tidak hadir", actor=hr)
    db.session.commit()
    revoked = status_of(newer)
    assert revoked["status"] == "revoked"
    assert revoked["revoked"]["reason"] == "Peserta tidak hadir"
    assert dt.datetime.fromisoformat(revoked["revoked"]["at"]) == fresh(newer).revoked_at
    assert set(revoked["revoked"]) == {"at", "reason"}


def test_api_reports_the_pdf_digest_once_rendered(client, certificate):
    with_pdf(certificate)
    body = client.get(f"/api/v1/certificates/{certificate.code}").get_json()
    assert body["pdf_sha256"] == certificate.pdf_sha256
    assert re.fullmatch(r"[0-9a-f]{64}", body["pdf_sha256"])


def test_openapi_describes_the_certificate_endpoint_and_schema(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/certificates/{certificate_code}"]["get"]
    assert {"200", "404", "429"} <= set(operation["responses"])
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == \
        {"$ref": "#/components/schemas/Certificate"}
    schema = spec["components"]["schemas"]["Certificate"]
    assert set(schema["required"]) == CERTIFICATE_KEYS
    assert CERTIFICATE_KEYS | {"superseded_by"} == set(schema["properties"])
    assert schema["properties"]["status"]["enum"] == ["valid", "revoked", "expired"]


# ---------------------------------------------------------------- rate limits


@pytest.mark.parametrize("path", ["/verify/{code}", "/api/v1/certificates/{code}", "/verify/{unknown}",
                                  "/api/v1/certificates/{unknown}"])
def test_public_endpoints_allow_60_requests_a_minute(app, client, certificate, path):
    assert app.config["RATELIMIT_ENABLED"], "the suite's app keeps the limiter on"
    url = path.format(code=certificate.code, unknown=cert_services.new_code())
    expected = 404 if "unknown" in path else 200
    codes = [client.get(url).status_code for _ in range(60)]
    assert codes == [expected] * 60
    limited = client.get(url)
    assert limited.status_code == 429
    assert "Retry-After" in limited.headers
    if url.startswith("/api/"):
        assert set(limited.get_json()) == {"error", "message"}
    # Another visitor (address) is not affected.
    other = client.get(url, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other.status_code == expected


# ---------------------------------------------------------------- the learner's certificates and downloads


def test_my_certificates_lists_only_mine(client, login, certificate, other, course, complete):
    theirs = complete(other, course)
    their_certificate = db.session.scalar(select(Certificate).where(Certificate.enrolment_id == theirs.id))
    login(other)
    page = text(client.get("/sertifikat"))
    assert their_certificate.number in page
    assert certificate.number not in page


def test_a_learner_cannot_download_another_persons_certificate(client, login, certificate, other, make_user):
    with_pdf(certificate)
    url = f"/sertifikat/{certificate.id}/unduh"
    login(other)
    assert client.get(url).status_code == 404
    assert client.get(f"/sertifikat/{certificate.id + 1}/unduh").status_code == 404
    assert client.get("/sertifikat/999999/unduh").status_code == 404
    client.post("/akun/keluar")

    trainer = make_user(roles=("trainer",))
    login(trainer)
    assert client.get(url).status_code == 404


def test_the_holder_hr_and_admin_can_download(client, login, certificate, holder, hr, admin):
    url = f"/sertifikat/{certificate.id}/unduh"
    login(holder)
    assert client.get(url).status_code == 202  # being prepared
    with_pdf(certificate)
    for user in (holder, hr, admin):
        client.post("/akun/keluar")
        login(user)
        with client.get(url) as response:
            assert response.status_code == 200, user
            assert response.data == PDF_BYTES
            assert response.headers["Content-Disposition"].startswith("attachment")


def test_anonymous_downloads_go_to_sign_in(client, certificate):
    with_pdf(certificate)
    response = client.get(f"/sertifikat/{certificate.id}/unduh")
    assert response.status_code == 302
    assert "/akun/masuk" in response.headers["Location"]


# ---------------------------------------------------------------- revoking and correcting on the web


def test_hr_revokes_with_a_reason(client, login, certificate, hr):
    login(hr)
    response = client.post(f"/kelola/sertifikat/{certificate.id}/cabut",
                           data={"reason": "Peserta tidak memenuhi syarat"})
    assert response.status_code == 302
    revoked = fresh(certificate)
    assert revoked.status() == "revoked"
    assert (revoked.revoked_reason, revoked.revoked_by_id) == ("Peserta tidak memenuhi syarat", hr.id)
    assert audit_count("certificate.revoke") == 1


@pytest.mark.parametrize("reason", ["", "abc", "     ", "  ab  "])
def test_revoking_without_a_real_reason_changes_nothing(client, login, certificate, admin, reason):
    login(admin)
    response = client.post(f"/kelola/sertifikat/{certificate.id}/cabut", data={"reason": reason})
    assert response.status_code == 302
    assert fresh(certificate).status() == "valid"
    assert audit_count("certificate.revoke") == 0


def test_admin_corrects_and_reissues(client, login, certificate, holder, admin):
    lms_services.update_user(holder, actor=admin, birth_place="Kota Semarang")
    db.session.commit()
    login(admin)
    response = client.post(f"/kelola/sertifikat/{certificate.id}/koreksi",
                           data={"fix-reason": "Tempat lahir salah tulis"})
    assert response.status_code == 302
    old = fresh(certificate)
    new = db.session.get(Certificate, old.superseded_by_id)
    assert response.headers["Location"].endswith(f"/kelola/sertifikat/{new.id}")
    assert new.snapshot["holder"]["birth_place"] == "Kota Semarang"
    assert old.snapshot["holder"]["birth_place"] == "Semarang"
    assert new.number != old.number
    assert new.code != old.code

    # The same form submitted again finds the certificate replaced: nothing more is issued.
    again = client.post(f"/kelola/sertifikat/{certificate.id}/koreksi",
                        data={"fix-reason": "Tempat lahir salah tulis"})
    assert again.status_code == 302
    assert certificate_count() == 2


@pytest.mark.parametrize("who", ["learner", "holder", "trainer", "coauthor"])
def test_only_hr_and_admin_revoke_or_correct(client, login, make_user, holder, certificate, who):
    user = holder if who == "holder" else make_user(roles=(who,))
    login(user)
    revoke = client.post(f"/kelola/sertifikat/{certificate.id}/cabut", data={"reason": "Dicabut tanpa hak"})
    reissue = client.post(f"/kelola/sertifikat/{certificate.id}/koreksi", data={"fix-reason": "Koreksi tanpa hak"})
    assert (revoke.status_code, reissue.status_code) == (403, 403)
    assert client.get(f"/kelola/sertifikat/{certificate.id}").status_code == 403
    assert client.get("/kelola/sertifikat").status_code == 403
    unchanged = fresh(certificate)
    assert unchanged.status() == "valid"
    assert unchanged.revoked_reason is None
    assert certificate_count() == 1
    assert audit_count("certificate.revoke") == 0


def test_anonymous_revoke_or_correct_goes_to_sign_in_and_changes_nothing(client, certificate):
    for path, data in (("cabut", {"reason": "Dicabut tanpa hak"}), ("koreksi", {"fix-reason": "Koreksi tanpa hak"})):
        response = client.post(f"/kelola/sertifikat/{certificate.id}/{path}", data=data)
        assert response.status_code == 302
        assert "/akun/masuk" in response.headers["Location"]
    assert fresh(certificate).status() == "valid"
    assert certificate_count() == 1


def test_hr_finds_certificates_by_number_code_nip_or_name(client, login, certificate, other, course, complete, hr):
    complete(other, course)
    login(hr)
    for term in (certificate.number, certificate.code, HOLDER_NIP, "budi santoso"):
        page = text(client.get("/kelola/sertifikat", query_string={"q": term}))
        assert certificate.number in page, term
        assert "Siti Aminah" not in page, term


def test_the_revocation_shows_at_once_on_the_public_page(app, client, login, certificate, hr):
    assert say(app, "Valid certificate") in text(client.get(f"/verify/{certificate.code}"))
    login(hr)
    client.post(f"/kelola/sertifikat/{certificate.id}/cabut", data={"reason": "Data peserta palsu"})
    client.post("/akun/keluar")
    page = text(client.get(f"/verify/{certificate.code}"))
    assert say(app, "Revoked certificate") in page
    assert "Data peserta palsu" in page
    assert client.get(f"/api/v1/certificates/{certificate.code}").get_json()["status"] == "revoked"


def test_course_renewal_is_reflected_on_the_public_page(app, client, holder, make_course, issuer, complete):
    course = make_course(code="K3-01", title="Keselamatan Kerja", validity_years=2)
    first = complete(holder, course)
    renewal = course_services.renew(holder, course)
    db.session.commit()
    study_all(renewal)
    old = db.session.scalar(select(Certificate).where(Certificate.enrolment_id == first.id))
    new = db.session.scalar(select(Certificate).where(Certificate.enrolment_id == renewal.id))
    page = text(client.get(f"/verify/{old.code}"))
    assert say(app, "Replaced certificate") in page
    assert f'href="/verify/{new.code}"' in page
