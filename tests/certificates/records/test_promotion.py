"""The promotion file: identity, the training history with a QR per certificate that opens its verification
page, JP per year, the certificates attached unchanged; the ZIP of certificates; the unit/period list."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess
import zipfile

import pytest
from sqlalchemy import select

from certificates.models import Certificate
from certificates.records import promotion, services
from lms.extensions import db
from lms.storage import store
from tests.certificates.records.conftest import PDF

SIGNED = b"%PDF-1.7\n% a signed certificate stands here\n%%EOF\n"


@pytest.fixture
def person_with_history(employee, unit_hr, submit, issuer, make_course, complete):
    enrolment = complete(employee, make_course(code="PM-01", jp=6, competencies={"M.04": 2}))
    certificate = db.session.scalar(select(Certificate).where(Certificate.enrolment_id == enrolment.id))
    certificate.pdf_sha256 = store().put_bytes(SIGNED)
    db.session.commit()
    record = submit(employee, jp=16, state="diverifikasi", by=unit_hr)
    submit(employee, jp=3, title="Ditolak", certificate_number="R/1", state="ditolak", by=unit_hr)
    return employee, certificate, record


def embedded_files(document: bytes) -> dict[str, bytes]:
    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(document))
    names = reader.root["/Names"]["/EmbeddedFiles"]["/Names"]
    files = {}
    for index in range(0, len(names), 2):
        spec = names[index + 1]
        files[str(names[index])] = spec["/EF"]["/F"].data
    return files


def test_the_promotion_file_attaches_the_certificates_unchanged(person_with_history):
    person, _certificate, _record = person_with_history
    document = promotion.render(person, services.next_period())
    assert document.startswith(b"%PDF-")
    files = embedded_files(document)
    assert sorted(files.values()) == sorted([SIGNED, PDF])
    snapshot = promotion.snapshot(person, services.next_period())
    # Oldest first; the rejected record is not in a promotion file.
    assert [r["title"] for r in snapshot["records"]] == ["Bimtek Tata Naskah Dinas Elektronik",
                                                         "Manajemen Proyek Pemerintahan"]
    # The years shown run back from the period's year; in October to December the next period is in
    # the new year, so the training of this year is the second row, not the first.
    this_year = dt.datetime.now(services.WIB).year
    assert {y["year"]: y["total"] for y in snapshot["years"]}[this_year] == 22
    assert snapshot["competencies"][0]["code"] == "M.04"


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler's pdftoppm is missing")
def test_every_qr_in_the_promotion_file_opens_a_verification_page(person_with_history, tmp_path, client):
    import zxingcpp
    from PIL import Image

    person, certificate, _record = person_with_history
    (tmp_path / "file.pdf").write_bytes(promotion.render(person, services.next_period()))
    subprocess.run([shutil.which("pdftoppm"), "-r", "200", "-png", str(tmp_path / "file.pdf"),  # noqa: S603
                    str(tmp_path / "page")], check=True, timeout=60)
    found = []
    for page in sorted(tmp_path.glob("page-*.png")):
        with Image.open(page) as image:
            found += [result.text for result in zxingcpp.read_barcodes(image)]
    assert found == [certificate.snapshot["verify_url"]]
    path = found[0].split("://", 1)[1].split("/", 1)[1]
    assert client.get(f"/{path}").status_code == 200


def test_only_records_before_the_period_are_in_it(person_with_history):
    person, _certificate, record = person_with_history
    earlier = services.parse_period(f"{record.end_date.year - 1}-12")
    assert promotion.snapshot(person, earlier)["records"] == []


def test_the_zip_holds_every_certificate(person_with_history, client, login):
    person, _certificate, _record = person_with_history
    login(person)
    response = client.get(f"/pegawai/{person.id}/sertifikat.zip")
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        contents = sorted(archive.read(name) for name in archive.namelist())
    assert contents == sorted([SIGNED, PDF])


def test_the_promotion_file_through_the_page(person_with_history, unit_hr, client, login):
    person, _certificate, _record = person_with_history
    login(unit_hr)
    period = services.next_period().strftime("%Y-%m")
    response = client.get(f"/pegawai/{person.id}/berkas-pengembangan-kompetensi.pdf?periode={period}")
    assert response.status_code == 200
    assert response.data.startswith(b"%PDF-")
    assert client.get(f"/pegawai/{person.id}/berkas-pengembangan-kompetensi.pdf?periode=2026-13").status_code == 404
    page = client.get("/kelola/kenaikan-pangkat").get_data(as_text=True)
    assert person.display_name in page
