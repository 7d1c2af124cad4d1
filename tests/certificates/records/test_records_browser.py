"""HR verifies an external record in headless Chromium, on the demo data: the employee's JP and the unit's
compliance change on the pages; the promotion file downloads, and every QR in it opens a verification page
that says the certificate is valid. At desktop width and on a 360-px phone."""

from __future__ import annotations

import shutil
import subprocess
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from certificates.records.models import ExternalRecord
from lms.demo import DEMO_PASSWORD
from lms.extensions import db
from lms.models import User
from tests.browser_support import BROWSER, PHONE, VIEWPORTS, open_menu, say, sign_in, snap

pytestmark = BROWSER

HR = "hr.dukcapil@demo.bangkom.id"  # looks after Dinas Kependudukan dan Pencatatan Sipil
EMPLOYEE = "budi@demo.bangkom.id"
WAITING = "Bimbingan Teknis Aplikasi SIAK Terpusat"  # 12 JP, submitted in the demo


def qr_codes(pdf, folder) -> list[str]:
    import zxingcpp
    from PIL import Image

    subprocess.run([shutil.which("pdftoppm") or "/usr/bin/pdftoppm", "-r", "200", "-png", str(pdf),  # noqa: S603
                    str(folder / "page")], check=True, timeout=60)
    found = []
    for path in sorted(folder.glob("page-*.png")):
        with Image.open(path) as image:
            found += [code.text for code in zxingcpp.read_barcodes(image)
                      if code.format == zxingcpp.BarcodeFormat.QRCode]
    return found


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_hr_verifies_a_record_and_the_jp_and_compliance_follow(app, live_server, new_page, tmp_path, viewport):
    from playwright.sync_api import expect

    if shutil.which("pdftoppm") is None:
        pytest.fail("poppler's pdftoppm is missing (apt-get install poppler-utils)")
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo", "seed"]).exit_code == 0
    budi = db.session.scalar(select(User).where(User.email == EMPLOYEE))
    # Budi also finished a classroom course, so his promotion file carries a certificate with its QR.
    issued = runner.invoke(args=["certificates", "issue", "--course", "PP-01", "--nip", budi.nip])
    assert issued.exit_code == 0, issued.output
    budi_id = budi.id
    record_id = db.session.scalar(select(ExternalRecord.id).where(ExternalRecord.title == WAITING))
    db.session.close()
    base = live_server

    page = new_page(viewport)
    sign_in(page, base, HR, DEMO_PASSWORD)
    open_menu(page)
    page.locator("#main-nav a[href='/kelola/kepatuhan']").click()
    page.wait_for_url(f"{base}/kelola/kepatuhan")
    reached = page.locator(".compliance-summary li").nth(1).locator(".stat-value")
    expect(reached).to_have_text("0")
    expect(page.locator("svg.bar-chart")).to_be_visible()
    snap(page, f"compliance-before-{viewport['width']}")

    page.goto(f"{base}/kelola/pegawai/{budi_id}")
    expect(page.locator(".ledger-figure")).to_contain_text("12 / 20 JP")

    # The queue → the record → Verify.
    page.goto(f"{base}/kelola/verifikasi-diklat")
    page.get_by_role("link", name=WAITING).click()
    page.wait_for_url(f"{base}/riwayat-diklat/{record_id}")
    with page.expect_download() as download:
        page.get_by_role("link", name=say(app, "Download the certificate file")).click()
    assert download.value.suggested_filename == "sertifikat.pdf"
    page.get_by_role("button", name=say(app, "Verify"), exact=True).click()
    page.wait_for_url(f"{base}/kelola/verifikasi-diklat")
    expect(page.locator(".flash-success")).to_contain_text("12 JP")
    expect(page.get_by_role("link", name=WAITING)).to_have_count(0)

    # The employee's JP and the unit's compliance changed.
    page.goto(f"{base}/kelola/pegawai/{budi_id}")
    expect(page.locator(".ledger-figure")).to_contain_text("24 / 20 JP")
    page.goto(f"{base}/kelola/kepatuhan")
    expect(reached).to_have_text("1")
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    snap(page, f"compliance-after-{viewport['width']}")

    # The promotion file: downloaded from the employee page; every QR in it opens a page saying "valid".
    page.goto(f"{base}/kelola/pegawai/{budi_id}")
    with page.expect_download() as download:
        page.get_by_role("button", name=say(app, "Promotion file (PDF)")).click()
    pdf = tmp_path / "berkas.pdf"
    download.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF-")
    codes = qr_codes(pdf, tmp_path)
    assert len(codes) == 1, codes
    visitor = new_page(PHONE)
    for code in codes:
        visitor.goto(f"{base}{urlsplit(code).path}")
        expect(visitor.locator(".verdict")).to_have_class("panel verdict verdict-valid")
        expect(visitor.locator(".verify-facts")).to_contain_text("Budi Santoso")

    # Budi sees it too, on his home page and his training history.
    learner = new_page(viewport)
    sign_in(learner, base, EMPLOYEE, DEMO_PASSWORD)
    expect(learner.locator(".jp-meter")).to_contain_text("24 / 20")
    learner.goto(f"{base}/riwayat-diklat")
    expect(learner.locator(".records-table")).to_contain_text(WAITING)
    assert learner.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    for each in (page, visitor, learner):
        assert each.errors == [], each.errors
