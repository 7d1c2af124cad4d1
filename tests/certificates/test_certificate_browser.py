"""A certificate from end to end in headless Chromium, on the demo data (``flask demo seed``): a learner finishes
the demo course TI-01, its certificate is issued, rendered and signed; the learner downloads the PDF from
"Sertifikat saya"; its pages are rendered to PNG (poppler) and look like a certificate; the QR code on page 1
decodes to the public verification address, which says the certificate is valid; an HR officer revokes it
from the HR page and the verification page says so, with the reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from certificates import jobs
from certificates.models import Certificate
from lms.demo import DEMO_PASSWORD
from lms.extensions import db
from lms.models import User
from tests.browser_support import BROWSER, DESKTOP, PHONE, open_menu, say, sign_in, snap

pytestmark = BROWSER

LEARNER = "eko@demo.bangkom.id"  # no enrolment in the demo
HR = "hr@demo.bangkom.id"
REASON = "Peserta tidak mengikuti pelatihan sendiri (akun dipakai orang lain)."
A4_AT_150_DPI = (1240, 1754)  # 210 × 297 mm; poppler rounds up by a pixel


def certificate_of(email: str) -> Certificate | None:
    return db.session.scalar(select(Certificate).join(User, User.id == Certificate.user_id)
                             .where(User.email == email))


def render_pages(pdf, folder) -> list:
    """Every page of the PDF as a PNG at 150 dpi, by poppler's pdftoppm; returns the Pillow images."""
    from PIL import Image

    subprocess.run([shutil.which("pdftoppm") or "/usr/bin/pdftoppm", "-r", "150", "-png", str(pdf),  # noqa: S603
                    str(folder / "page")], check=True, timeout=60)
    return [Image.open(path) for path in sorted(folder.glob("page-*.png"))]


def produce_pdf(app, certificate_id: int) -> str | None:
    """Render, sign and store the PDF as the worker would: in a thread of its own, with its own app context
    (pyHanko signs with ``asyncio.run``, which refuses to run where Playwright's loop runs)."""

    def work():
        with app.app_context():
            try:
                return jobs.produce_pdf(certificate_id)
            finally:
                db.session.remove()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(work).result(timeout=60)


def ink(image) -> float:
    """The share of pixels that are not (near) white."""
    grey = image.convert("L")
    histogram = grey.histogram()
    return 1 - sum(histogram[245:]) / (grey.width * grey.height)


def test_a_learner_downloads_a_certificate_whose_qr_leads_to_a_page_that_tells_the_truth(
        app, live_server, new_page, tmp_path):
    from playwright.sync_api import expect

    if shutil.which("pdftoppm") is None:
        pytest.fail("poppler's pdftoppm is missing (apt-get install poppler-utils)")
    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    db.session.close()
    base = live_server

    # The learner finishes the demo course TI-01: its two required lessons (the SCORM example is optional).
    page = new_page(DESKTOP)
    sign_in(page, base, LEARNER, DEMO_PASSWORD)
    page.goto(f"{base}/kursus?q=literasi")
    page.locator(".course-card").get_by_role("link", name="Literasi Digital dan Keamanan Informasi").click()
    page.wait_for_url(f"{base}/kursus/TI-01")
    page.get_by_role("button", name=say(app, "Enrol in this course")).click()
    page.wait_for_url(f"{base}/kursus/TI-01/pelajaran/*")
    expect(page.locator("#lesson-title")).to_have_text("Kata sandi dan phishing")
    page.locator(".lesson-nav a[rel=next]").click()
    expect(page.locator("#lesson-title")).to_have_text("Pelindungan data pribadi")
    expect(page.locator(".lesson-status .flash-success")).to_be_visible()

    # Issued at once, in the completion's transaction; the PDF job is run here (the suite does not queue it).
    certificate = certificate_of(LEARNER)
    assert certificate is not None
    assert certificate.pdf_sha256 is None
    certificate_id, code, number = certificate.id, certificate.code, certificate.number
    db.session.close()
    assert produce_pdf(app, certificate_id)

    # "Sertifikat saya": the download.
    mine = page.locator("#main-nav a[href='/sertifikat']")
    expect(mine).to_have_text(say(app, "My certificates"))
    mine.click()
    page.wait_for_url(f"{base}/sertifikat")
    entry = page.locator(".certificate-list li").filter(has_text=number)
    expect(entry).to_contain_text("Literasi Digital dan Keamanan Informasi")
    expect(entry.locator(".badge.ok")).to_have_text(say(app, "Valid"))
    with page.expect_download() as download_info:
        entry.get_by_role("link", name=say(app, "Download PDF")).click()
    download = download_info.value
    assert download.suggested_filename.startswith("sertifikat-TI-01-")
    assert download.suggested_filename.endswith(".pdf")
    pdf = tmp_path / "sertifikat.pdf"
    download.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF-")

    # Page 1 the certificate, page 2 the course outline: A4, with something printed on them.
    pages = render_pages(pdf, tmp_path)
    assert len(pages) == 2, [p.size for p in pages]
    for image in pages:
        short, long = sorted(image.size)
        assert abs(short - A4_AT_150_DPI[0]) <= 2, image.size
        assert abs(long - A4_AT_150_DPI[1]) <= 2, image.size
        assert 0.02 < ink(image) < 0.6, ink(image)
    if os.environ.get("LMS_TEST_SCREENSHOTS"):  # to look at them
        for n, image in enumerate(pages, 1):
            image.save(Path(os.environ["LMS_TEST_SCREENSHOTS"]) / f"certificate-page-{n}.png")

    # The QR code on page 1 is the public verification address of this certificate.
    import zxingcpp

    codes = [found for found in zxingcpp.read_barcodes(pages[0]) if found.format == zxingcpp.BarcodeFormat.QRCode]
    assert len(codes) == 1, [(found.format, found.text) for found in codes]
    assert codes[0].text == f"{app.config['BASE_URL']}/verify/{code}"
    path = urlsplit(codes[0].text).path

    # Anyone opening it (signed out, on a phone: it is scanned) reads that it is valid.
    visitor = new_page(PHONE)
    visitor.goto(f"{base}{path}")
    verdict = visitor.locator(".verdict")
    expect(verdict).to_have_class("panel verdict verdict-valid")
    expect(verdict.locator("h1")).to_contain_text(say(app, "Valid certificate"))
    expect(visitor.locator(".verify-facts")).to_contain_text(number)
    expect(visitor.locator(".verify-facts")).to_contain_text("Eko Saputra")
    snap(visitor, "verify-valid-360px")
    # A visitor who reads English finds the language switch behind the phone's menu button.
    open_menu(visitor)
    visitor.locator(".lang-switch button").click()
    expect(verdict.locator("h1")).to_contain_text("Valid certificate")

    # HR finds the certificate and revokes it with a reason, confirming the question the button asks.
    hr = new_page(DESKTOP)
    questions = []

    def accept(dialog):
        questions.append(dialog.message)
        dialog.accept()

    hr.on("dialog", accept)
    sign_in(hr, base, HR, DEMO_PASSWORD)
    hr.locator("#main-nav a[href='/kelola/sertifikat']").click()
    hr.fill("#q", "Eko Saputra")
    hr.get_by_role("button", name=say(app, "Search"), exact=True).click()
    hr.get_by_role("link", name=number).click()
    hr.wait_for_url(f"{base}/kelola/sertifikat/{certificate_id}")
    hr.fill("#reason", REASON)
    hr.get_by_role("button", name=say(app, "Revoke"), exact=True).click()
    hr.wait_for_url(f"{base}/kelola/sertifikat/{certificate_id}")
    expect(hr.locator(".flash-success")).to_contain_text(number)
    assert questions == [say(app, "Revoke this certificate? Its verification page will say so at once.")]

    # The same address now says revoked, when and why (in the visitor's English).
    visitor.reload()
    expect(verdict).to_have_class("panel verdict verdict-revoked")
    expect(verdict.locator("h1")).to_contain_text("Revoked certificate")
    expect(verdict).to_contain_text(REASON)
    snap(visitor, "verify-revoked-360px")
    page.reload()
    expect(entry.locator(".badge.off")).to_have_text(say(app, "Revoked"))
    for each in (page, visitor, hr):
        assert each.errors == [], each.errors
