"""PDF signing and its check: PAdES signatures made by the local PKCS#12 signer validate in pyHanko and in
poppler's ``pdfsig`` (trusted once the development CA is in the NSS database), a one-byte change fails in
both, the development key is created once, the signer is chosen from the settings, and the BSrE gateway
client is tested against a fake gateway served over HTTP that answers like the real one, errors included,
without the passphrase ever reaching a log or a message."""

from __future__ import annotations

import base64
import json
import logging
import os
import random
import re
import shutil
import stat
import subprocess
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

import pytest
from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers
from pyhanko.sign.timestamps import DummyTimeStamper
from weasyprint import HTML
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from certificates import signing
from certificates.signing import BsreSigner, LocalSigner, SigningError, verify_pdf

PDFSIG = shutil.which("pdfsig")
CERTUTIL = shutil.which("certutil")
BOX = (360.0, 60.0, 560.0, 130.0)


# ---------------------------------------------------------------- documents and keys


def minimal_pdf(text: str = "Sertifikat untuk Budi Santoso") -> bytes:
    """A one-page PDF written by hand, its content stream uncompressed so a test can change one letter."""
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


@pytest.fixture(scope="module")
def certificate_pdf() -> bytes:
    """Two A4 pages from WeasyPrint, like a rendered STTPP (certificate, then the course outline)."""
    html = """<style>@page { size: A4 } h1 { page-break-after: always }</style>
    <h1>SERTIFIKAT</h1><p>Nomor 893.3/00042/BPSDM/PM-01/XI/2026</p>
    <h2>Struktur kurikulum</h2><p>Manajemen Proyek Pemerintahan, 20 JP.</p>"""
    return HTML(string=html).write_pdf()


@pytest.fixture(scope="module")
def dev_key(tmp_path_factory):
    """The development CA and signer, created in a folder of their own: (p12 path, password, CA PEM)."""
    folder = tmp_path_factory.mktemp("instance")
    p12, password = signing.ensure_dev_signer(str(folder))
    return p12, password, (folder / "signing" / "dev-ca.pem").read_text()


@pytest.fixture(scope="module")
def local_signer(dev_key):
    return LocalSigner(dev_key[0], dev_key[1])


@pytest.fixture(scope="module")
def signed(local_signer, certificate_pdf) -> bytes:
    return local_signer.sign(certificate_pdf, signatory="Dr. Ir. Sri Wahyuni, M.Si.", reason="Sertifikat 893.3/00042",
                             location="Semarang", box=BOX, page=0)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_p12(tmp_path: Path, *, not_after: datetime, password: str = "rahasia-kunci") -> Path:
    """A self-signed EC signer in a PKCS#12 file (quick to make) valid until ``not_after``."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name("Penanda Tangan Uji")).issuer_name(_name("Penanda Tangan Uji"))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(not_after - timedelta(days=400)).not_valid_after(not_after)
            .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
            .sign(key, hashes.SHA256()))
    path = tmp_path / "signer.p12"
    path.write_bytes(pkcs12.serialize_key_and_certificates(
        b"uji", key, cert, None, serialization.BestAvailableEncryption(password.encode())))
    return path


# ---------------------------------------------------------------- poppler's pdfsig


def nss_db(folder: Path, ca_pem: str | None) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run([CERTUTIL, "-N", "-d", f"sql:{folder}", "--empty-password"],  # noqa: S603 - fixed argv
                   check=True, capture_output=True)
    if ca_pem:
        (folder / "ca.pem").write_text(ca_pem)
        subprocess.run([CERTUTIL, "-A", "-d", f"sql:{folder}", "-n", "Bangkom dev CA",  # noqa: S603 - fixed argv
                        "-t", "CT,C,C", "-i", str(folder / "ca.pem")], check=True, capture_output=True)
    return f"sql:{folder}"


def pdfsig(pdf: bytes, nssdir: str, tmp_path: Path) -> str:
    path = tmp_path / f"check-{time.monotonic_ns()}.pdf"
    path.write_bytes(pdf)
    result = subprocess.run([PDFSIG, "-nssdir", nssdir, str(path)],  # noqa: S603 - fixed argv
                            capture_output=True, text=True, check=False)
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def tools():
    # The system packages come from scripts/system-deps.sh (poppler-utils, libnss3-tools); without them
    # the signatures would go unchecked by an independent validator, so their absence is a failure.
    assert PDFSIG, "pdfsig is missing: install poppler-utils (scripts/system-deps.sh)"
    assert CERTUTIL, "certutil is missing: install libnss3-tools (scripts/system-deps.sh)"


@pytest.fixture(scope="module")
def trusted_nss(tools, dev_key, tmp_path_factory):
    return nss_db(tmp_path_factory.mktemp("nss-trusted"), dev_key[2])


@pytest.fixture(scope="module")
def empty_nss(tools, tmp_path_factory):
    return nss_db(tmp_path_factory.mktemp("nss-empty"), None)


def flip_letter(pdf: bytes, old: bytes, new: bytes, start: int = 0) -> bytes:
    at = pdf.index(old, start)
    return pdf[:at] + new + pdf[at + len(new):]


def signed_ranges(pdf: bytes) -> list[tuple[int, int]]:
    sig = PdfFileReader(BytesIO(pdf)).embedded_signatures[-1]
    br = list(sig.sig_object["/ByteRange"])
    return [(br[0], br[0] + br[1]), (br[2], br[2] + br[3])]


# ---------------------------------------------------------------- signing and checking


def test_signed_pdf_is_valid_and_intact(signed, dev_key):
    verdict = verify_pdf(signed, dev_key[2])

    assert verdict.signature == "valid", verdict.reason
    assert verdict.intact is True
    assert verdict.code == "valid"
    assert "NOT FOR PRODUCTION" in verdict.signer
    assert abs(verdict.signed_at - datetime.now(UTC)) < timedelta(minutes=5)


def test_signature_is_pades_with_a_visible_field_where_asked(signed):
    sig = PdfFileReader(BytesIO(signed)).embedded_signatures[-1]

    assert sig.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert sig.sig_object["/Reason"] == "Sertifikat 893.3/00042"
    assert sig.sig_object["/Location"] == "Semarang"
    widget = sig.sig_field
    assert [float(v) for v in widget["/Rect"]] == list(BOX)
    assert "/AP" in widget  # the stamp is drawn
    # PAdES B-B: the CMS carries signing-certificate-v2 and no signing-time attribute.
    attrs = {a["type"].native for a in sig.signer_info["signed_attrs"]}
    assert "signing_certificate_v2" in attrs
    assert "signing_time" not in attrs


def test_invisible_signature_and_a_box_on_another_page(local_signer, certificate_pdf, dev_key):
    invisible = local_signer.sign(certificate_pdf, signatory="A", reason="r", location="l")
    on_second = local_signer.sign(certificate_pdf, signatory="A", reason="r", location="l", box=BOX, page=1)

    widget = PdfFileReader(BytesIO(invisible)).embedded_signatures[-1].sig_field
    assert [float(v) for v in widget["/Rect"]] == [0, 0, 0, 0]
    reader = PdfFileReader(BytesIO(on_second))
    page_two = reader.root["/Pages"]["/Kids"][1]
    rects = [[float(v) for v in annot.get_object()["/Rect"]] for annot in page_two["/Annots"]]
    assert list(BOX) in rects
    for pdf in (invisible, on_second):
        assert verify_pdf(pdf, dev_key[2]).signature == "valid"


def test_pdfsig_finds_the_signature_valid_and_trusted_with_the_chain(signed, trusted_nss, empty_nss, tmp_path):
    trusted = pdfsig(signed, trusted_nss, tmp_path)
    assert "Signature is Valid" in trusted, trusted
    assert "Certificate is Trusted" in trusted, trusted
    assert "Total document signed" in trusted
    assert "ETSI.CAdES.detached" in trusted

    untrusted = pdfsig(signed, empty_nss, tmp_path)
    assert "Signature is Valid" in untrusted, untrusted
    assert "Certificate is Trusted" not in untrusted


def test_one_changed_byte_in_the_signed_range_fails_in_both_tools(local_signer, dev_key, trusted_nss, tmp_path):
    signed = local_signer.sign(minimal_pdf(), signatory="A", reason="r", location="l", box=BOX)
    tampered = flip_letter(signed, b"Budi Santoso", b"Bodi")
    at = signed.index(b"Budi Santoso") + 1
    assert any(start <= at < end for start, end in signed_ranges(signed))
    assert len(tampered) == len(signed)
    assert sum(a != b for a, b in zip(signed, tampered, strict=True)) == 1

    assert verify_pdf(signed, dev_key[2]).signature == "valid"
    verdict = verify_pdf(tampered, dev_key[2])
    assert verdict.signature == "invalid"
    assert verdict.intact is False
    assert verdict.code == "changed"
    assert "diubah" in verdict.reason

    assert "Signature is Valid" in pdfsig(signed, trusted_nss, tmp_path)
    report = pdfsig(tampered, trusted_nss, tmp_path)
    assert "Signature is Valid" not in report, report
    assert "Digest Mismatch" in report or "Signature is Invalid" in report, report


def test_a_changed_byte_in_the_second_signed_range_fails_too(signed, dev_key, trusted_nss, tmp_path):
    (_, _), (start, end) = signed_ranges(signed)
    # The signature dictionary's entries after /Contents are in the second range.
    at = signed.index(b"/Location (Semarang)", start)
    assert start <= at < end
    tampered = flip_letter(signed, b"/Location (Semarang)", b"/Location (Sumarang)", start)

    assert verify_pdf(tampered, dev_key[2]).intact is False
    assert verify_pdf(tampered, dev_key[2]).signature == "invalid"
    assert "Signature is Valid" not in pdfsig(tampered, trusted_nss, tmp_path)


def test_no_flipped_bit_in_the_signed_ranges_passes_and_none_makes_the_check_raise(signed, dev_key):
    rng = random.Random(20261122)
    ranges = signed_ranges(signed)
    for _ in range(60):
        start, end = rng.choice(ranges)
        at = rng.randrange(start, end)
        damaged = bytearray(signed)
        damaged[at] ^= 1 << rng.randrange(8)
        verdict = verify_pdf(bytes(damaged), dev_key[2])
        assert verdict.signature != "valid", at
        assert verdict.intact is False


def test_content_appended_after_signing_is_not_intact(signed, dev_key):
    writer = IncrementalPdfFileWriter(BytesIO(signed))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    page["/Rotate"] = generic.NumberObject(90)
    writer.update_container(page)
    out = BytesIO()
    writer.write(out)

    verdict = verify_pdf(out.getvalue(), dev_key[2])
    assert verdict.intact is False
    assert verdict.signature == "invalid"
    assert verdict.code == "changed"


def test_unsigned_and_garbage_input(certificate_pdf, signed, dev_key):
    assert verify_pdf(certificate_pdf, dev_key[2]).signature == "absent"
    assert verify_pdf(certificate_pdf, dev_key[2]).code == "no_signature"
    for garbage in (b"", b"garbage", os.urandom(5000), b"%PDF-1.7\n" + os.urandom(3000), signed[: len(signed) // 2]):
        verdict = verify_pdf(garbage, dev_key[2])
        assert verdict.signature in ("absent", "invalid"), garbage[:20]
        assert verdict.intact is False
        assert verdict.reason


def test_a_signer_outside_the_trust_roots_is_not_valid(signed, tmp_path):
    other_ca = Path(signing.ensure_dev_signer(str(tmp_path))[0]).with_name("dev-ca.pem").read_text()

    for roots in (other_ca, "", "not a certificate"):
        verdict = verify_pdf(signed, roots)
        assert verdict.signature == "invalid"
        assert verdict.code == "untrusted"
        assert verdict.intact is False
        assert "NOT FOR PRODUCTION" in verdict.signer


def test_local_signer_signs_many_pdfs_with_the_key_loaded_once(dev_key, certificate_pdf, monkeypatch):
    loads, key_parses = [], []
    load_pkcs12 = signers.SimpleSigner.load_pkcs12_data.__func__
    parse_key = serialization.load_der_private_key

    def counting_load(cls, *args, **kwargs):
        loads.append(1)
        return load_pkcs12(cls, *args, **kwargs)

    def counting_parse(*args, **kwargs):
        key_parses.append(1)
        return parse_key(*args, **kwargs)

    monkeypatch.setattr(signers.SimpleSigner, "load_pkcs12_data", classmethod(counting_load))
    monkeypatch.setattr(serialization, "load_der_private_key", counting_parse)

    signer = LocalSigner(dev_key[0], dev_key[1])
    assert (len(loads), len(key_parses)) == (1, 1)
    outputs = [signer.sign(certificate_pdf, signatory=f"Penanda Tangan {n}", reason=f"Sertifikat {n}",
                           location="Semarang", box=BOX) for n in range(20)]

    assert (len(loads), len(key_parses)) == (1, 1)
    assert len(set(outputs)) == 20
    for pdf in outputs:
        assert verify_pdf(pdf, dev_key[2]).signature == "valid"


def test_a_signature_larger_than_the_reserved_space_is_sized_afresh(dev_key, certificate_pdf):
    signer = LocalSigner(dev_key[0], dev_key[1])
    signer._reserve = 1000  # as if the first signature had been unusually small

    signed = signer.sign(certificate_pdf, signatory="A", reason="r", location="l")
    assert verify_pdf(signed, dev_key[2]).signature == "valid"


def test_local_signer_refuses_a_wrong_password_and_a_missing_file(dev_key, tmp_path):
    with pytest.raises(SigningError) as wrong:
        LocalSigner(dev_key[0], "tebakan-salah-123")
    assert wrong.value.code == "key_unreadable"
    assert "tebakan-salah-123" not in str(wrong.value)
    assert wrong.value.__cause__ is None

    with pytest.raises(SigningError) as missing:
        LocalSigner(str(tmp_path / "nothing.p12"), "x")
    assert missing.value.code == "key_unreadable"


def test_local_signer_refuses_an_expired_certificate_and_a_non_pdf(tmp_path):
    expired = LocalSigner(str(make_p12(tmp_path, not_after=datetime.now(UTC) - timedelta(days=1))), "rahasia-kunci")
    with pytest.raises(SigningError) as too_late:
        expired.sign(minimal_pdf(), signatory="A", reason="r", location="l")
    assert too_late.value.code == "certificate_expired"

    fine = LocalSigner(str(make_p12(tmp_path, not_after=datetime.now(UTC) + timedelta(days=30))), "rahasia-kunci")
    assert fine.label == "PKCS#12 CN=Penanda Tangan Uji"
    with pytest.raises(SigningError) as not_pdf:
        fine.sign(b"<html>bukan pdf</html>", signatory="A", reason="r", location="l")
    assert not_pdf.value.code == "bad_pdf"
    with pytest.raises(SigningError) as no_page:
        fine.sign(minimal_pdf(), signatory="A", reason="r", location="l", box=BOX, page=3)
    assert no_page.value.code == "bad_pdf"


# ---------------------------------------------------------------- PAdES B-T against a local timestamp server


@pytest.fixture(scope="module")
def fake_tsa():
    """An RFC 3161 server on 127.0.0.1 (pyHanko's DummyTimeStamper behind HTTP), with its own root."""
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = (x509.CertificateBuilder().subject_name(_name("Uji TSA Root")).issuer_name(_name("Uji TSA Root"))
            .public_key(root_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(datetime.now(UTC) - timedelta(days=1))
            .not_valid_after(datetime.now(UTC) + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(root_key, hashes.SHA256()))
    tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # DummyTimeStamper signs RSA only
    tsa_cert = (x509.CertificateBuilder().subject_name(_name("Uji TSA")).issuer_name(root.subject)
                .public_key(tsa_key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(datetime.now(UTC) - timedelta(days=1))
                .not_valid_after(datetime.now(UTC) + timedelta(days=30))
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
                .sign(root_key, hashes.SHA256()))
    der = serialization.Encoding.DER
    stamper = DummyTimeStamper(
        tsa_cert=asn1_x509.Certificate.load(tsa_cert.public_bytes(der)),
        tsa_key=asn1_keys.PrivateKeyInfo.load(tsa_key.private_bytes(
            der, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())),
        certs_to_embed=[asn1_x509.Certificate.load(root.public_bytes(der))])

    @Request.application
    def tsa(request):
        answer = stamper.request_tsa_response(tsp.TimeStampReq.load(request.get_data()))
        return Response(answer.dump(), content_type="application/timestamp-reply")

    with serve(tsa) as url:
        yield url, root.public_bytes(serialization.Encoding.PEM).decode()


def test_pades_b_t_with_a_timestamp_server(dev_key, fake_tsa, trusted_nss, tmp_path):
    url, tsa_root = fake_tsa
    signer = LocalSigner(dev_key[0], dev_key[1], url)
    pdfs = [signer.sign(minimal_pdf(), signatory="A", reason="r", location="l", box=BOX) for _ in range(3)]

    for pdf in pdfs:
        sig = PdfFileReader(BytesIO(pdf)).embedded_signatures[-1]
        assert "signature_time_stamp_token" in {a["type"].native for a in sig.signer_info["unsigned_attrs"]}
        token = next(a for a in sig.signer_info["unsigned_attrs"]
                     if a["type"].native == "signature_time_stamp_token")["values"][0]
        stamped_at = token["content"]["encap_content_info"]["content"].parsed["gen_time"].native
        verdict = verify_pdf(pdf, dev_key[2] + tsa_root)
        assert (verdict.signature, verdict.intact) == ("valid", True), verdict.reason
        assert verdict.signed_at == stamped_at
        # Without the TSA's root the signature stands; only the timestamp's time is not relied on.
        untrusted_tsa = verify_pdf(pdf, dev_key[2])
        assert untrusted_tsa.signature == "valid"
        assert untrusted_tsa.signed_at != stamped_at
    assert "Signature is Valid" in pdfsig(pdfs[-1], trusted_nss, tmp_path)


def test_an_unreachable_timestamp_server_is_a_signing_error(dev_key):
    signer = LocalSigner(dev_key[0], dev_key[1], f"http://127.0.0.1:{free_port()}/tsa", tsa_timeout=2)
    with pytest.raises(SigningError) as failed:
        signer.sign(minimal_pdf(), signatory="A", reason="r", location="l")
    assert failed.value.code == "tsa_failed"


# ---------------------------------------------------------------- development key and choice of signer


def test_ensure_dev_signer_is_idempotent_and_race_safe(tmp_path):
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: signing.ensure_dev_signer(str(tmp_path)), range(4)))
    folder = tmp_path / "signing"
    p12_bytes = (folder / "dev-signer.p12").read_bytes()

    assert len(set(results)) == 1
    assert signing.ensure_dev_signer(str(tmp_path)) == results[0]
    assert (folder / "dev-signer.p12").read_bytes() == p12_bytes
    path, password = results[0]
    assert path == str(folder / "dev-signer.p12")
    assert (folder / "dev-signer.password").read_text().strip() == password
    for name in ("dev-signer.p12", "dev-signer.password"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == [
        "dev-ca.pem", "dev-signer.p12", "dev-signer.password"]

    key, cert, extra = pkcs12.load_key_and_certificates(p12_bytes, password.encode())
    ca = x509.load_pem_x509_certificate((folder / "dev-ca.pem").read_bytes())
    assert key is not None
    assert [c.subject for c in extra] == [ca.subject]
    assert cert.issuer == ca.subject
    for name in (cert.subject, ca.subject):
        org = name.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value
        assert org == "Bangkom DEVELOPMENT — NOT FOR PRODUCTION"
        assert "NOT FOR PRODUCTION" in name.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert LocalSigner(path, password).label.startswith("PKCS#12 CN=Bangkom DEVELOPMENT")


def test_signer_for_app_uses_the_development_key_when_none_is_configured(app):
    signer = signing.signer_for_app(app)

    assert isinstance(signer, LocalSigner)
    assert signer.needs_passphrase is False
    assert "NOT FOR PRODUCTION" in signer.label
    assert signer.path == str(Path(app.instance_path) / "signing" / "dev-signer.p12")
    assert signing.signer_for_app(app) is signer
    assert isinstance(signer, signing.Signer)


def test_signer_for_app_picks_bsre_when_configured(app, monkeypatch):
    monkeypatch.setitem(app.config, "BSRE_URL", "https://bsre.example.go.id/")
    monkeypatch.setitem(app.config, "BSRE_USER", "bangkom")
    monkeypatch.setitem(app.config, "BSRE_PASSWORD", "rahasia-gateway")

    signer = signing.signer_for_app(app)
    assert isinstance(signer, BsreSigner)
    assert (signer.label, signer.needs_passphrase, signer.url) == ("BSrE gateway", True, "https://bsre.example.go.id")
    assert signing.signer_for_app(app) is signer
    assert "rahasia-gateway" not in repr(signer)
    text = signing.chain_text(app)
    assert text.startswith("#")
    assert "BSrE" in text

    monkeypatch.setitem(app.config, "BSRE_URL", "")
    assert isinstance(signing.signer_for_app(app), LocalSigner)


def test_signer_for_app_uses_the_configured_key_and_refuses_none_in_production(app, monkeypatch, tmp_path):
    path = make_p12(tmp_path, not_after=datetime.now(UTC) + timedelta(days=30))
    monkeypatch.setitem(app.config, "SIGNING_P12", str(path))
    monkeypatch.setitem(app.config, "SIGNING_P12_PASSWORD", "rahasia-kunci")
    assert signing.signer_for_app(app).label == "PKCS#12 CN=Penanda Tangan Uji"

    monkeypatch.setitem(app.config, "SIGNING_P12", "")
    monkeypatch.setitem(app.config, "ENV_NAME", "production")
    with pytest.raises(SigningError) as refused:
        signing.signer_for_app(app)
    assert refused.value.code == "config"


def test_chain_text_is_the_pem_chain_signing_certificate_first(app):
    text = signing.chain_text(app)
    certs = x509.load_pem_x509_certificates(text.encode())

    assert text.startswith("-----BEGIN CERTIFICATE-----")
    assert text.endswith("-----END CERTIFICATE-----\n")
    assert len(certs) == 2
    leaf, ca = certs
    assert leaf.issuer == ca.subject
    assert "signer" in leaf.subject.rfc4514_string()
    ca_file = Path(app.instance_path) / "signing" / "dev-ca.pem"
    assert ca.public_bytes(serialization.Encoding.PEM) == ca_file.read_bytes()


# ---------------------------------------------------------------- BSrE gateway client against a fake gateway


class serve:  # noqa: N801 - used as a context manager, reads as a verb
    """Serves a WSGI app on 127.0.0.1 on a free port in a thread, for the duration of a ``with``."""

    def __init__(self, wsgi_app):
        self.server = make_server("127.0.0.1", 0, wsgi_app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        return f"http://127.0.0.1:{self.server.server_port}"

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


GATEWAY_USER, GATEWAY_PASSWORD = "bangkom", "kunci-aplikasi-9"
PASSPHRASE = "Rahasia#TTE-2026"
NIK_OK = "3374011203850003"
NIK_EXPIRED = "3374011203850010"
NIK_REVOKED = "3374011203850011"
NIK_SLOW = "3374011203850020"
NIK_BROKEN = "3374011203850030"
NIK_ECHO = "3374011203850040"
NIK_HTML = "3374011203850050"


class FakeGateway:
    """Behaves like an agency's BSrE esign gateway: basic auth, the four fields required, the signed PDF
    back on success, JSON errors with BSrE's status codes otherwise."""

    def __init__(self, signer: LocalSigner):
        self.signer = signer
        self.requests: list[dict] = []
        self.release_slow = threading.Event()

    @Request.application
    def __call__(self, request: Request) -> Response:
        if request.path != "/api/sign/pdf" or request.method != "POST":
            return self.error(404, "Not found", 404)
        auth = request.authorization
        if not auth or (auth.username, auth.password) != (GATEWAY_USER, GATEWAY_PASSWORD):
            return self.error(401, "Unauthorized", 401)
        form, upload = request.form, request.files.get("file")
        self.requests.append({"form": form.to_dict(), "file": upload.read() if upload else None})
        if upload is None or not all(form.get(k) for k in ("nik", "passphrase", "tampilan")):
            return self.error(400, "Parameter tidak lengkap: file, nik, passphrase dan tampilan wajib diisi", 2000)
        if form["tampilan"] not in ("visible", "invisible"):
            return self.error(400, "Tampilan harus visible atau invisible", 2000)
        pdf = self.requests[-1]["file"]
        if not pdf.startswith(b"%PDF-"):
            return self.error(400, "Dokumen bukan PDF", 2001)
        nik = form["nik"]
        if nik == NIK_SLOW:
            self.release_slow.wait(5)
            return self.error(504, "Gateway Timeout", 504)
        if nik == NIK_BROKEN:
            return self.error(500, "Internal Server Error: koneksi ke server CA terputus", 500)
        if nik == NIK_HTML:
            return Response("<html><body>502 Bad Gateway</body></html>", status=200, content_type="text/html")
        if nik not in (NIK_OK, NIK_EXPIRED, NIK_REVOKED, NIK_ECHO):
            return self.error(400, "Pengguna tidak terdaftar", 2011)
        if nik == NIK_EXPIRED:
            return self.error(400, "Sertifikat pengguna sudah kadaluarsa (EXPIRED)", 2021)
        if nik == NIK_REVOKED:
            return self.error(400, "Status sertifikat pengguna REVOKED (dicabut)", 2021)
        if form["passphrase"] != PASSPHRASE:
            if nik == NIK_ECHO:
                return self.error(400, f"Passphrase '{form['passphrase']}' anda salah", 2031)
            return self.error(400, "Passphrase anda salah", 2031)
        box = None
        if form["tampilan"] == "visible":
            x, y = float(form.get("xAxis", 0)), float(form.get("yAxis", 0))
            box = (x, y, x + float(form.get("width", 100)), y + float(form.get("height", 50)))
        signed = self.signer.sign(pdf, signatory="Dr. Ir. Sri Wahyuni, M.Si.", reason=form.get("reason", ""),
                                  location=form.get("location", ""), box=box,
                                  page=int(form.get("page", 1)) - 1)
        return Response(signed, content_type="application/pdf", headers={"id_dokumen": "bsre-0001"})

    @staticmethod
    def error(http_status: int, message: str, status_code: int) -> Response:
        return Response(json.dumps({"error": message, "status_code": status_code}), status=http_status,
                        content_type="application/json")


@pytest.fixture(scope="module")
def gateway(local_signer):
    fake = FakeGateway(local_signer)
    with serve(fake) as url:
        fake.url = url
        yield fake


@pytest.fixture
def bsre(gateway):
    gateway.requests.clear()
    return BsreSigner(gateway.url, GATEWAY_USER, GATEWAY_PASSWORD, timeout=5)


def test_bsre_signs_visibly_through_the_gateway(bsre, gateway, certificate_pdf, dev_key, caplog):
    caplog.set_level(logging.DEBUG)
    signed = bsre.sign(certificate_pdf, signatory="Dr. Ir. Sri Wahyuni, M.Si.", reason="Sertifikat 893.3/00042",
                       location="Semarang", box=BOX, page=1, nik=NIK_OK, passphrase=PASSPHRASE)

    sent = gateway.requests[-1]
    assert sent["file"] == certificate_pdf
    assert sent["form"]["nik"] == NIK_OK
    assert sent["form"]["passphrase"] == PASSPHRASE
    assert sent["form"]["tampilan"] == "visible"
    assert sent["form"]["page"] == "2"
    verdict = verify_pdf(signed, dev_key[2])
    assert (verdict.signature, verdict.intact) == ("valid", True)
    reader = PdfFileReader(BytesIO(signed))
    assert "/Annots" in reader.root["/Pages"]["/Kids"][1]
    assert PASSPHRASE not in caplog.text
    assert NIK_OK not in caplog.text  # logged masked: it identifies a person


def test_bsre_signs_invisibly_without_a_box(bsre, gateway, certificate_pdf, dev_key):
    signed = bsre.sign(certificate_pdf, signatory="A", reason="r", location="l", nik=NIK_OK, passphrase=PASSPHRASE)

    assert gateway.requests[-1]["form"]["tampilan"] == "invisible"
    assert "xAxis" not in gateway.requests[-1]["form"]
    assert verify_pdf(signed, dev_key[2]).signature == "valid"


@pytest.mark.parametrize(("nik", "passphrase", "code", "words"), [
    (NIK_OK, "salah-ketik-123", "wrong_passphrase", "Passphrase salah"),
    (NIK_ECHO, "salah-ketik-456", "wrong_passphrase", "Passphrase salah"),
    ("3374019999999999", PASSPHRASE, "nik_not_registered", "tidak terdaftar"),
    (NIK_EXPIRED, PASSPHRASE, "certificate_expired", "kedaluwarsa"),
    (NIK_REVOKED, PASSPHRASE, "certificate_revoked", "dicabut"),
    (NIK_BROKEN, PASSPHRASE, "gateway_down", "coba lagi nanti"),
    (NIK_HTML, PASSPHRASE, "gateway_answer", "tidak dapat dipahami"),
])
def test_bsre_gateway_errors_become_clear_signing_errors(bsre, nik, passphrase, code, words, caplog):
    caplog.set_level(logging.DEBUG)
    with pytest.raises(SigningError) as failed:
        bsre.sign(minimal_pdf(), signatory="A", reason="r", location="l", nik=nik, passphrase=passphrase)

    error = failed.value
    assert error.code == code
    assert words in str(error)
    assert re.search(r"\(the .+\)", str(error))  # the English follows in brackets
    everything = "".join(traceback.format_exception(error)) + repr(error) + repr(error.args) + caplog.text
    assert passphrase not in everything
    assert "BSrE: refused" in caplog.text or code == "gateway_answer"


def test_bsre_gateway_that_does_not_answer_in_time(gateway, caplog):
    caplog.set_level(logging.DEBUG)
    slow = BsreSigner(gateway.url, GATEWAY_USER, GATEWAY_PASSWORD, timeout=0.3)
    started = time.monotonic()
    with pytest.raises(SigningError) as failed:
        slow.sign(minimal_pdf(), signatory="A", reason="r", location="l", nik=NIK_SLOW, passphrase=PASSPHRASE)

    assert time.monotonic() - started < 3
    assert failed.value.code == "gateway_timeout"
    gateway.release_slow.set()
    time.sleep(0.2)  # the handler answers the closed connection while this test still captures its log
    assert PASSPHRASE not in "".join(traceback.format_exception(failed.value)) + caplog.text


def test_bsre_gateway_down_or_refusing_our_credentials(gateway):
    with pytest.raises(SigningError) as down:
        BsreSigner(f"http://127.0.0.1:{free_port()}", GATEWAY_USER, GATEWAY_PASSWORD, timeout=2).sign(
            minimal_pdf(), signatory="A", reason="r", location="l", nik=NIK_OK, passphrase=PASSPHRASE)
    assert down.value.code == "gateway_unreachable"

    with pytest.raises(SigningError) as refused:
        BsreSigner(gateway.url, GATEWAY_USER, "bukan-kuncinya", timeout=5).sign(
            minimal_pdf(), signatory="A", reason="r", location="l", nik=NIK_OK, passphrase=PASSPHRASE)
    assert refused.value.code == "gateway_auth"
    assert "LMS_BSRE_USER" in str(refused.value)
    assert "bukan-kuncinya" not in str(refused.value)


def test_bsre_checks_nik_and_passphrase_before_calling(bsre, gateway):
    for nik, passphrase, code in ((None, PASSPHRASE, "bad_nik"), ("12345", PASSPHRASE, "bad_nik"),
                                  (NIK_OK, None, "passphrase_required"), (NIK_OK, "", "passphrase_required")):
        with pytest.raises(SigningError) as refused:
            bsre.sign(minimal_pdf(), signatory="A", reason="r", location="l", nik=nik, passphrase=passphrase)
        assert refused.value.code == code
    assert gateway.requests == []
    with pytest.raises(SigningError):
        BsreSigner("ftp://bsre.example.go.id", "u", "p")


def test_bsre_accepts_a_pdf_returned_as_base64_json(certificate_pdf, local_signer, dev_key):
    @Request.application
    def json_gateway(request):
        signed = local_signer.sign(request.files["file"].read(), signatory="A", reason="r", location="l")
        return Response(json.dumps({"file": [base64.b64encode(signed).decode()]}), content_type="application/json")

    with serve(json_gateway) as url:
        signed = BsreSigner(url, "u", "p").sign(certificate_pdf, signatory="A", reason="r", location="l",
                                                 nik=NIK_OK, passphrase=PASSPHRASE)
    assert verify_pdf(signed, dev_key[2]).signature == "valid"

