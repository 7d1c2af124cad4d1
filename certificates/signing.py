"""PAdES signatures on certificate PDFs, and the check of such signatures.

Two signers share one interface (``Signer``): ``LocalSigner`` signs with the issuer's PKCS#12 key, loaded
once per process because a cohort means hundreds of signatures in a row; ``BsreSigner`` sends the PDF to
the agency's BSrE gateway, where the signatory's own certificate signs it after they type its passphrase.
``signer_for_app`` picks one from the settings; ``verify_pdf`` checks the last signature of a PDF.

Messages in ``SigningError`` and ``Verdict.reason`` are shown to people as they are. They are written in
Indonesian with the English in brackets, because they reach signatories, HR staff and external
validators in either language and in contexts without a request locale (workers, the command line);
``code`` is stable, so a page can show its own translated wording instead.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import json
import logging
import os
import re
import secrets
import ssl
import threading
import unicodedata
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Protocol, runtime_checkable

from asn1crypto import pem as asn1_pem
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from pyhanko.keys import load_certs_from_pemder_data
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import attributes, fields, signers, timestamps
from pyhanko.sign.general import SigningError as PyhankoSigningError
from pyhanko.sign.general import as_signing_certificate_v2
from pyhanko.sign.validation import SignatureCoverageLevel, validate_pdf_signature
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko.stamp import TextStampStyle
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

log = logging.getLogger(__name__)

DEV_MARK = "Bangkom DEVELOPMENT — NOT FOR PRODUCTION"
DEV_DIR = "signing"
DEV_P12 = "dev-signer.p12"
DEV_PASSWORD_FILE = "dev-signer.password"  # noqa: S105 - a file name, not a password
DEV_CA = "dev-ca.pem"

# Courier, the stamp's built-in font, only has WinAnsi glyphs; the stamp text is folded to ASCII.
STAMP_STYLE = TextStampStyle(
    stamp_text="Ditandatangani secara elektronik\noleh %(signatory)s\n%(ts)s",
    timestamp_format="%Y-%m-%d %H:%M:%S UTC",
    border_width=1,
)


class SigningError(Exception):
    """Signing failed; ``str(error)`` is safe to show to the person who asked (never holds a secret)."""

    def __init__(self, message: str, code: str = "signing_failed"):
        super().__init__(message)
        self.message = message
        self.code = code


@runtime_checkable
class Signer(Protocol):
    label: str
    needs_passphrase: bool

    def sign(self, pdf: bytes, *, signatory: str, reason: str, location: str,
             box: tuple[float, float, float, float] | None = None, page: int = 0,
             nik: str | None = None, passphrase: str | None = None) -> bytes: ...

    def chain_pem(self) -> str: ...


# ---------------------------------------------------------------- local PKCS#12 signer


class _FixedAttribute(attributes.CMSAttributeProvider):
    def __init__(self, attribute_type: str, value):
        self.attribute_type = attribute_type
        self.value = value

    async def build_attr_value(self, dry_run=False):
        return self.value


class _KeptKeySigner(signers.SimpleSigner):
    """A SimpleSigner that does per key what pyHanko does per signature.

    Two costs dominate a naive loop of signatures. pyHanko parses the private key from DER for every
    signature, and parsing an RSA key runs OpenSSL's consistency checks. And it builds the
    signing-certificate-v2 attribute (a digest of the certificate plus its issuer's name) afresh:
    asn1crypto re-encodes freshly built structures at every level each time they are dumped, which for
    that deeply nested attribute means thousands of re-encodings per signature. Here the parsed key is
    kept, and the attribute is built once and frozen (re-parsed from its DER, so dumps reuse the bytes).
    """

    def __init__(self, *args, pyca_key, **kwargs):
        super().__init__(*args, **kwargs)
        self._pyca_key = pyca_key
        self._cert_attrs: dict[str, _FixedAttribute] = {}

    def _signed_attr_provider_spec(self, *args, **kwargs):
        # Internal pyHanko API (pinned version): should it change, signing falls back to the slow path.
        spec = super()._signed_attr_provider_spec(*args, **kwargs)
        outer = self

        class _Spec(attributes.SignedAttributeProviderSpec):
            def signed_attr_providers(self, data_digest, digest_algorithm):
                for provider in spec.signed_attr_providers(data_digest=data_digest,
                                                           digest_algorithm=digest_algorithm):
                    if type(provider) is attributes.SigningCertificateV2Provider:
                        provider = outer._signing_cert_attr(provider)
                    yield provider

        return _Spec()

    def _signing_cert_attr(self, provider) -> _FixedAttribute:
        key = provider.signing_cert.sha256.hex()
        if key not in self._cert_attrs:
            value = as_signing_certificate_v2(provider.signing_cert)
            self._cert_attrs[key] = _FixedAttribute(provider.attribute_type, type(value).load(value.dump()))
        return self._cert_attrs[key]

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        key = self._pyca_key
        try:
            mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
        except ValueError:
            return super().sign_raw(data, digest_algorithm)
        if mechanism == "rsassa_pkcs1v15" and isinstance(key, rsa.RSAPrivateKey):
            return key.sign(data, padding.PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))
        if mechanism == "ecdsa" and isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(data, ec.ECDSA(get_pyca_cryptography_hash(digest_algorithm)))
        if mechanism in ("ed25519", "ed448") and isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey):
            return key.sign(data)
        return super().sign_raw(data, digest_algorithm)


def _load_pkcs12(path: str, password: str) -> _KeptKeySigner:
    try:
        data = Path(path).read_bytes()
    except OSError:
        raise SigningError(
            f"Berkas kunci penandatangan tidak dapat dibaca: {path} (the signing key file cannot be read).",
            "key_unreadable") from None
    try:
        loaded = signers.SimpleSigner.load_pkcs12_data(data, other_certs=(), passphrase=password.encode())
        pyca_key = serialization.load_der_private_key(loaded.signing_key.dump(), password=None)
    except ValueError:
        # Deliberately no chained cause: it would only repeat OpenSSL's words, never the password, but
        # nothing about the password should travel further than this line.
        raise SigningError(
            f"Kunci penandatangan {path} tidak dapat dibuka; periksa kata sandinya "
            "(the signing key cannot be opened; check its password).", "key_unreadable") from None
    return _KeptKeySigner(signing_cert=loaded.signing_cert, signing_key=loaded.signing_key,
                          cert_registry=loaded.cert_registry, pyca_key=pyca_key)


def _common_name(cert) -> str:
    name = cert.subject.native
    return name.get("common_name") or cert.subject.human_friendly


def _stamp_text(value: str) -> str:
    folded = unicodedata.normalize("NFKD", value.replace("—", "-").replace("–", "-"))
    return folded.encode("ascii", "ignore").decode("ascii")


class LocalSigner:
    """Signs with a PKCS#12 key: PAdES B-B, or B-T with an RFC 3161 timestamp when ``tsa_url`` is given."""

    needs_passphrase = False

    def __init__(self, p12_path: str, password: str, tsa_url: str | None = None, *, tsa_timeout: float = 10):
        self._signer = _load_pkcs12(p12_path, password)
        self.path = str(p12_path)
        self.tsa_url = tsa_url or ""
        self._timestamper = timestamps.HTTPTimeStamper(self.tsa_url, timeout=tsa_timeout) if tsa_url else None
        cert = self._signer.signing_cert
        self.common_name = _common_name(cert)
        self.label = f"PKCS#12 CN={self.common_name}" + (" + TSA" if tsa_url else "")
        self.not_after = cert["tbs_certificate"]["validity"]["not_after"].native
        # pyHanko sizes the signature by producing a throw-away one first, which doubles the cost of every
        # signature. The size hardly changes between documents (same certificates, same key), so the
        # first real signature's size, with a margin, is reused.
        self._reserve: int | None = None
        self._lock = threading.Lock()

    def chain_pem(self) -> str:
        leaf = self._signer.signing_cert
        others = [c for c in self._signer.cert_registry if c.dump() != leaf.dump()]
        return "".join(asn1_pem.armor("CERTIFICATE", c.dump()).decode("ascii") for c in [leaf, *others])

    def sign(self, pdf: bytes, *, signatory: str, reason: str, location: str,
             box: tuple[float, float, float, float] | None = None, page: int = 0,
             nik: str | None = None, passphrase: str | None = None) -> bytes:
        if datetime.now(UTC) > self.not_after:
            raise SigningError(
                f"Sertifikat penandatangan ({self.common_name}) sudah kedaluwarsa sejak "
                f"{self.not_after:%Y-%m-%d} (the signing certificate has expired).", "certificate_expired")
        field_name = f"TTE_{uuid.uuid4().hex[:12]}"
        meta = signers.PdfSignatureMetadata(
            field_name=field_name,
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            reason=reason or None,
            location=location or None,
            name=signatory or None,
        )
        spec = fields.SigFieldSpec(sig_field_name=field_name, on_page=page,
                                   box=tuple(box) if box is not None else None)
        pdf_signer = signers.PdfSigner(meta, signer=self._signer, timestamper=self._timestamper,
                                       stamp_style=STAMP_STYLE, new_field_spec=spec)
        text = {"signatory": _stamp_text(signatory)}
        reserve = self._reserve
        while True:
            try:
                writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
            except Exception:
                raise SigningError("Berkas yang akan ditandatangani bukan PDF yang dapat dibaca "
                                   "(the file to sign is not a readable PDF).", "bad_pdf") from None
            try:
                signed = pdf_signer.sign_pdf(writer, bytes_reserved=reserve, appearance_text_params=text).getvalue()
                break
            except timestamps.TimestampRequestError as exc:
                raise SigningError(f"Server stempel waktu {self.tsa_url} tidak menjawab dengan benar "
                                   "(the timestamp server did not answer properly).", "tsa_failed") from exc
            except (PdfError, PyhankoSigningError) as exc:
                if reserve is not None and "larger than expected" in str(exc):
                    # An unusually large timestamp token: let pyHanko size this one itself.
                    log.info("Signature larger than the %d hex digits reserved; sizing it afresh", reserve)
                    reserve = None
                    continue
                # pyHanko's words about the document (a page that does not exist, a locked form) are safe.
                raise SigningError(f"PDF tidak dapat ditandatangani (the PDF cannot be signed): {exc}.",
                                   "bad_pdf") from exc
        if self._reserve is None:
            self._remember_reserve(signed)
        return signed

    def _remember_reserve(self, signed: bytes) -> None:
        with self._lock:
            if self._reserve is not None:
                return
            sig = PdfFileReader(BytesIO(signed), strict=False).embedded_signatures[-1]
            contents = sig.sig_object.raw_get("/Contents")
            used = len(sig.signed_data.dump())
            # Hex digits: two per byte. A timestamp token's size varies with the TSA's answer, so the
            # margin is larger then.
            margin = 8192 if self._timestamper else 1024
            self._reserve = max(len(contents.original_bytes), used + margin) * 2


# ---------------------------------------------------------------- BSrE gateway client


NIK_RE = re.compile(r"^\d{16}$")

# The gateway's own numbers, as agencies' integrations see them; matched before the words of the message,
# which differ between gateway versions.
BSRE_CODES = {
    2011: "nik_not_registered",
    2021: "certificate_inactive",
    2031: "wrong_passphrase",
}

BSRE_MESSAGES = {
    "wrong_passphrase": "Passphrase salah. Periksa lalu coba lagi (the passphrase is wrong; check it and "
                        "try again).",
    "nik_not_registered": "NIK penandatangan tidak terdaftar di BSrE (the signatory's NIK is not registered "
                          "with BSrE).",
    "certificate_expired": "Sertifikat elektronik penandatangan di BSrE sudah kedaluwarsa; perpanjang dulu "
                           "di BSrE (the signatory's BSrE certificate has expired; renew it first).",
    "certificate_revoked": "Sertifikat elektronik penandatangan di BSrE sudah dicabut (the signatory's BSrE "
                           "certificate has been revoked).",
    "certificate_inactive": "Sertifikat elektronik penandatangan di BSrE tidak aktif (the signatory's BSrE "
                            "certificate is not active).",
    "gateway_auth": "Aplikasi ditolak oleh gateway BSrE; periksa LMS_BSRE_USER dan LMS_BSRE_PASSWORD "
                    "(the BSrE gateway refused this application's credentials).",
    "gateway_down": "Gateway BSrE sedang bermasalah; coba lagi nanti (the BSrE gateway is not working; "
                    "try again later).",
    "gateway_timeout": "Gateway BSrE tidak menjawab tepat waktu; coba lagi nanti (the BSrE gateway did not "
                       "answer in time; try again later).",
    "gateway_unreachable": "Gateway BSrE tidak dapat dihubungi; coba lagi nanti (the BSrE gateway cannot be "
                           "reached; try again later).",
    "gateway_answer": "Jawaban gateway BSrE tidak dapat dipahami (the BSrE gateway's answer cannot be "
                      "understood).",
    "gateway_refused": "Gateway BSrE menolak permintaan (the BSrE gateway refused the request)",
}

# Words in the gateway's error text, for answers without a known number.
BSRE_WORDS = (
    ("wrong_passphrase", ("passphrase", "kata sandi")),
    ("nik_not_registered", ("tidak terdaftar", "not registered", "user not found", "nik tidak")),
    ("certificate_revoked", ("revoke", "dicabut")),
    ("certificate_expired", ("expired", "kadaluarsa", "kedaluwarsa", "kadaluwarsa")),
    ("certificate_inactive", ("tidak aktif", "not active", "inactive", "suspend")),
)


def _multipart(fields_: dict[str, str], file_name: str, file_data: bytes) -> tuple[bytes, str]:
    boundary = f"bangkom-{secrets.token_hex(16)}"
    parts = []
    for name, value in fields_.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
                     + value.encode() + b"\r\n")
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{file_name}"\r\n'
                 "Content-Type: application/pdf\r\n\r\n".encode() + file_data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _mask_nik(nik: str) -> str:
    return "*" * 12 + nik[-4:]


class BsreSigner:
    """Client of a BSrE signing gateway (``POST {url}/api/sign/pdf``); the passphrase is typed by the
    signatory for each signing and is neither logged, stored, nor put into any error."""

    needs_passphrase = True

    def __init__(self, url: str, user: str, password: str, *, timeout: float = 60, chain: str = ""):
        if not url.startswith(("https://", "http://")):
            raise SigningError("LMS_BSRE_URL harus alamat http(s) (LMS_BSRE_URL must be an http(s) URL).",
                               "config")
        self.url = url.rstrip("/")
        self.user = user
        self._password = password
        self.timeout = timeout
        self._chain = chain
        self.label = "BSrE gateway"

    def __repr__(self) -> str:
        return f"BsreSigner(url={self.url!r})"

    def chain_pem(self) -> str:
        return self._chain

    def sign(self, pdf: bytes, *, signatory: str, reason: str, location: str,
             box: tuple[float, float, float, float] | None = None, page: int = 0,
             nik: str | None = None, passphrase: str | None = None) -> bytes:
        nik = (nik or "").strip()
        if not NIK_RE.match(nik):
            raise SigningError("NIK penandatangan harus 16 angka (the signatory's NIK must be 16 digits).",
                               "bad_nik")
        if not passphrase:
            raise SigningError("Passphrase wajib diisi (the passphrase is required).", "passphrase_required")
        form = {"nik": nik, "passphrase": passphrase, "tampilan": "visible" if box else "invisible"}
        if box:
            # Optional fields of the gateway for a visible signature; it places and draws the stamp itself.
            x1, y1, x2, y2 = box
            form.update({"page": str(page + 1), "xAxis": f"{x1:g}", "yAxis": f"{y1:g}",
                         "width": f"{x2 - x1:g}", "height": f"{y2 - y1:g}"})
        if reason:
            form["reason"] = reason
        if location:
            form["location"] = location
        body, content_type = _multipart(form, "dokumen.pdf", pdf)
        auth = base64.b64encode(f"{self.user}:{self._password}".encode()).decode("ascii")
        request = urllib.request.Request(  # noqa: S310 - http(s) only, checked in __init__
            f"{self.url}/api/sign/pdf", data=body, method="POST",
            headers={"Authorization": f"Basic {auth}", "Content-Type": content_type,
                     "Accept": "application/pdf, application/json"})
        log.info("BSrE: signing %d bytes for NIK %s (%s)", len(pdf), _mask_nik(nik), request.full_url)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout,  # noqa: S310 - scheme checked in __init__
                                        context=ssl.create_default_context()) as response:
                status, headers, answer = response.status, response.headers, response.read()
        except urllib.error.HTTPError as exc:
            with exc:
                answer = exc.read()
            raise self._error(exc.code, answer, passphrase) from None
        except TimeoutError:
            log.warning("BSrE: no answer from %s within %s s", self.url, self.timeout)
            raise SigningError(BSRE_MESSAGES["gateway_timeout"], "gateway_timeout") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, TimeoutError):
                log.warning("BSrE: no answer from %s within %s s", self.url, self.timeout)
                raise SigningError(BSRE_MESSAGES["gateway_timeout"], "gateway_timeout") from None
            log.warning("BSrE: %s cannot be reached: %s", self.url, reason)
            raise SigningError(BSRE_MESSAGES["gateway_unreachable"], "gateway_unreachable") from None
        signed = self._pdf_from(status, headers.get("Content-Type", ""), answer, passphrase)
        log.info("BSrE: signed, %d bytes back", len(signed))
        return signed

    def _pdf_from(self, status: int, content_type: str, answer: bytes, passphrase: str) -> bytes:
        if answer.startswith(b"%PDF-"):
            return answer
        # Some gateway versions answer 200 with JSON: the PDF in base64, or an error after all.
        try:
            data = json.loads(answer)
        except ValueError:
            data = None
        if isinstance(data, dict):
            file = data.get("file") or data.get("base64_signed_file")
            if isinstance(file, list) and file:
                file = file[0]
            if isinstance(file, str):
                with contextlib.suppress(binascii.Error, ValueError):
                    decoded = base64.b64decode(file, validate=True)
                    if decoded.startswith(b"%PDF-"):
                        return decoded
            if data.get("error") or data.get("status_code"):
                raise self._error(status, answer, passphrase)
        log.warning("BSrE: unexpected answer (HTTP %s, %s, %d bytes)", status, content_type, len(answer))
        raise SigningError(BSRE_MESSAGES["gateway_answer"], "gateway_answer")

    def _error(self, status: int, answer: bytes, passphrase: str) -> SigningError:
        try:
            data = json.loads(answer)
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        text = str(data.get("error") or data.get("message") or data.get("deskripsi_status") or "")
        # A gateway that quotes the request back must not get the passphrase into our logs or messages.
        text = text.replace(passphrase, "***")[:300]
        try:
            number = int(data.get("status_code"))
        except (TypeError, ValueError):
            number = None
        code = BSRE_CODES.get(number)
        if code is None and status in (401, 403):
            code = "gateway_auth"
        lowered = text.lower()
        if code in (None, "certificate_inactive"):
            # "Inactive" from the number alone; the words say whether it expired or was revoked.
            code = next((c for c, words in BSRE_WORDS if any(w in lowered for w in words)), code)
        if code is None:
            code = "gateway_down" if status >= 500 else "gateway_refused"
        log.warning("BSrE: refused with HTTP %s, status_code %s, code %s: %s", status, number, code, text)
        message = BSRE_MESSAGES[code]
        if code == "gateway_refused":
            message = f"{message}: {text or f'HTTP {status}'}."
        return SigningError(message, code)


# ---------------------------------------------------------------- development CA and signer


def _name(common_name: str) -> cx509.Name:
    return cx509.Name([
        cx509.NameAttribute(NameOID.COUNTRY_NAME, "ID"),
        cx509.NameAttribute(NameOID.ORGANIZATION_NAME, DEV_MARK),
        cx509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def _make_dev_signer(folder: Path) -> None:
    now = datetime.now(UTC) - timedelta(minutes=5)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    ca_name = _name(f"Bangkom DEVELOPMENT test CA — NOT FOR PRODUCTION ({secrets.token_hex(3)})")
    ca_cert = (
        cx509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(cx509.random_serial_number())
        .not_valid_before(now).not_valid_after(now + timedelta(days=3650))
        .add_extension(cx509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(cx509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                      data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                      crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(cx509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (
        cx509.CertificateBuilder().subject_name(_name("Bangkom DEVELOPMENT signer — NOT FOR PRODUCTION"))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(cx509.random_serial_number())
        .not_valid_before(now).not_valid_after(now + timedelta(days=1825))
        .add_extension(cx509.BasicConstraints(ca=False, path_length=None), critical=True)
        # Both usages: pyHanko asks for non-repudiation, NSS (poppler) for digital signature. No extended
        # key usage, which NSS would otherwise have to find e-mail protection in.
        .add_extension(cx509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                      data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                      crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(cx509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(cx509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    password = secrets.token_urlsafe(24)
    p12 = pkcs12.serialize_key_and_certificates(
        b"bangkom-dev-signer", key, cert, [ca_cert], serialization.BestAvailableEncryption(password.encode()))
    # The CA's key is not kept: nothing else can ever be issued under this throw-away CA.
    # Written to temporary names and renamed, the .p12 last: its presence means the set is complete.
    tag = secrets.token_hex(4)
    staged = [(folder / f".{DEV_CA}.{tag}", folder / DEV_CA, ca_cert.public_bytes(serialization.Encoding.PEM)),
              (folder / f".{DEV_PASSWORD_FILE}.{tag}", folder / DEV_PASSWORD_FILE, password.encode() + b"\n"),
              (folder / f".{DEV_P12}.{tag}", folder / DEV_P12, p12)]
    for temp, _final, data in staged:
        _write_private(temp, data)
    for temp, final, _data in staged:
        os.replace(temp, final)


def ensure_dev_signer(instance_path: str) -> tuple[str, str]:
    """Create once (idempotent, race-safe) a local test CA and signer under <instance>/signing/ —
    dev-ca.pem, dev-signer.p12 (password in dev-signer.password) — whose subject says clearly
    "Bangkom DEVELOPMENT — NOT FOR PRODUCTION"; return (p12 path, password)."""
    folder = Path(instance_path) / DEV_DIR
    p12, password_file = folder / DEV_P12, folder / DEV_PASSWORD_FILE
    if not p12.exists():
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Web workers and the job worker start together; the lock makes one of them create the pair.
        fd = os.open(folder / ".lock", os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if not p12.exists():
                log.warning("Creating a development signing CA and key in %s: NOT FOR PRODUCTION", folder)
                _make_dev_signer(folder)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
    return str(p12), password_file.read_text().strip()


# ---------------------------------------------------------------- choosing the signer


_cache_lock = threading.Lock()


def signer_for_app(app) -> Signer:
    """BSrE when BSRE_URL is set; else LocalSigner(SIGNING_P12, SIGNING_P12_PASSWORD, TSA_URL); in
    development/testing with no key configured, ensure_dev_signer(app.instance_path). Cached per app."""
    cfg = app.config
    key = tuple(str(cfg.get(k) or "") for k in ("BSRE_URL", "BSRE_USER", "BSRE_PASSWORD", "SIGNING_P12",
                                                  "SIGNING_P12_PASSWORD", "TSA_URL", "ENV_NAME"))
    key += (app.instance_path,)
    cached = app.extensions.get("bangkom_signer")
    if cached and cached[0] == key:
        return cached[1]
    with _cache_lock:
        cached = app.extensions.get("bangkom_signer")
        if cached and cached[0] == key:
            return cached[1]
        signer = _make_signer(app)
        # Keyed by the settings, so a changed configuration (tests, a reloaded app) gets a fresh signer.
        app.extensions["bangkom_signer"] = (key, signer)
        return signer


def _make_signer(app) -> Signer:
    cfg = app.config
    if cfg.get("BSRE_URL"):
        return BsreSigner(cfg["BSRE_URL"], cfg.get("BSRE_USER") or "", cfg.get("BSRE_PASSWORD") or "")
    path, password = cfg.get("SIGNING_P12") or "", cfg.get("SIGNING_P12_PASSWORD") or ""
    if not path:
        if cfg.get("ENV_NAME") == "production":
            raise SigningError("Tidak ada kunci penandatangan: atur LMS_SIGNING_P12 atau LMS_BSRE_URL "
                               "(no signing key: set LMS_SIGNING_P12 or LMS_BSRE_URL).", "config")
        path, password = ensure_dev_signer(app.instance_path)
    return LocalSigner(path, password, cfg.get("TSA_URL") or None)


def chain_text(app) -> str:
    """What ``flask certificates signer-chain`` prints: the PEM chain (signing certificate first) to give
    validators, or, for a BSrE gateway whose chain is not known here, a note saying where it comes from."""
    signer = signer_for_app(app)
    pem = signer.chain_pem().strip()
    if pem:
        return pem + "\n"
    return (f"# PDFs are signed by the {signer.label} ({app.config.get('BSRE_URL')}) with each signatory's\n"
            "# BSrE certificate; validators need the BSrE root and intermediate CA certificates of BSSN.\n")


# ---------------------------------------------------------------- verifying


@dataclass
class Verdict:
    signature: str          # "valid" | "invalid" | "absent"
    intact: bool            # the signed byte range covers the whole file and is unchanged
    signer: str | None      # signer's subject common name
    signed_at: datetime | None
    reason: str             # in words, for people
    code: str = ""          # stable reason code, for a translated wording


REASONS = {
    "not_pdf": "Berkas ini bukan PDF yang dapat dibaca (this file is not a readable PDF).",
    "no_signature": "PDF ini tidak memiliki tanda tangan elektronik (this PDF carries no electronic signature).",
    "unreadable_signature": "Tanda tangan di PDF ini tidak dapat dibaca (the signature in this PDF cannot be "
                            "read).",
    "changed": "Isi dokumen telah diubah setelah ditandatangani (the document was changed after it was "
               "signed).",
    "bad_signature": "Nilai tanda tangan tidak cocok dengan sertifikat penandatangan (the signature value does "
                     "not match the signer's certificate).",
    "revoked": "Sertifikat penandatangan telah dicabut (the signer's certificate has been revoked).",
    "untrusted": "Sertifikat penandatangan tidak diterbitkan oleh otoritas yang dipercaya (the signer's "
                 "certificate was not issued by a trusted authority).",
    "expired": "Sertifikat penandatangan tidak berlaku pada waktu pemeriksaan (the signer's certificate is "
               "not valid at the time of checking).",
    "bad_timestamp": "Stempel waktu pada tanda tangan rusak (the signature's timestamp is damaged).",
    "appended": "Tanda tangan sah, tetapi dokumen ditambah setelah ditandatangani (the signature is valid, "
                "but the document was extended after signing).",
    "valid": "Tanda tangan sah dan dokumen tidak berubah sejak ditandatangani (the signature is valid and "
             "the document is unchanged since signing).",
}


def _verdict(signature: str, code: str, *, intact: bool = False, signer: str | None = None,
             signed_at: datetime | None = None, detail: str = "") -> Verdict:
    reason = REASONS[code] + (f" {detail}" if detail else "")
    return Verdict(signature, intact, signer, signed_at, reason, code)


def verify_pdf(pdf: bytes, trust_pem: str) -> Verdict:
    """Validate the (last) signature with pyHanko against the given trust roots; never raises for bad input
    (garbage bytes → signature 'absent' or 'invalid' with a reason)."""
    if not isinstance(pdf, bytes | bytearray) or not bytes(pdf[:1024]).lstrip().startswith(b"%PDF-"):
        return _verdict("absent", "not_pdf")
    try:
        reader = PdfFileReader(BytesIO(bytes(pdf)), strict=False)
        signatures = reader.embedded_regular_signatures
    except Exception:  # pyHanko raises many kinds for a damaged file; each one means "cannot read"
        log.info("verify_pdf: unreadable PDF", exc_info=True)
        return _verdict("absent", "not_pdf")
    if not signatures:
        return _verdict("absent", "no_signature")
    embedded = signatures[-1]
    try:
        roots = list(load_certs_from_pemder_data((trust_pem or "").encode())) if trust_pem else []
    except Exception:
        log.warning("verify_pdf: the trust roots given are not PEM certificates", exc_info=True)
        roots = []
    # Only the roots given, never the system's TLS list, and no network: checking must not depend on
    # (or leak to) CRL and OCSP servers; revocation of our own certificates is the registry's job.
    context = ValidationContext(trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail")
    usage = KeyUsageConstraints(key_usage={"digital_signature", "non_repudiation"}, match_all_key_usages=False)
    try:
        status = validate_pdf_signature(embedded, context, key_usage_settings=usage)
    except Exception:
        log.info("verify_pdf: signature could not be validated", exc_info=True)
        return _verdict("invalid", "unreadable_signature")
    signer = None
    with contextlib.suppress(Exception):
        signer = _common_name(status.signing_cert)
    signed_at = status.signer_reported_dt
    ts = status.timestamp_validity
    if ts is not None and ts.intact and ts.valid and ts.trusted:
        signed_at = ts.timestamp
    whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    facts = {"signer": signer, "signed_at": signed_at}
    if not status.intact:
        return _verdict("invalid", "changed", **facts)
    if not status.valid:
        return _verdict("invalid", "bad_signature", **facts)
    if status.revoked:
        return _verdict("invalid", "revoked", **facts)
    if not status.trusted:
        indication = getattr(status.trust_problem_indic, "name", "")
        code = "expired" if "EXPIRED" in indication or "OUT_OF_BOUNDS" in indication else "untrusted"
        return _verdict("invalid", code, **facts)
    if ts is not None and not (ts.intact and ts.valid):
        return _verdict("invalid", "bad_timestamp", **facts)
    if status.coverage not in (SignatureCoverageLevel.ENTIRE_FILE, SignatureCoverageLevel.ENTIRE_REVISION):
        return _verdict("invalid", "changed", **facts)
    if not whole:
        # Later revisions may only add signatures, timestamps or validation data (pyHanko's difference
        # analysis); anything else, such as new page content, counts as a change.
        level = status.modification_level
        if not status.docmdp_ok or level is None or level.name not in ("NONE", "LTA_UPDATES", "FORM_FILLING"):
            return _verdict("invalid", "changed", **facts)
        return _verdict("valid", "appended", **facts)
    return _verdict("valid", "valid", intact=True, **facts)
