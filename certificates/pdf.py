"""Certificate PDFs: a sandboxed Jinja template over a frozen snapshot, laid out by WeasyPrint as PDF/A-3b.

This is the only module that imports WeasyPrint (STYLE.md rule 10). Templates come from us (the default
STTPP in ``certificates/templates/``) or from an issuer's admin, so they are treated as untrusted:

* Jinja runs in an ``ImmutableSandboxedEnvironment`` with autoescape; the template sees the snapshot
  (plain dicts, lists, strings and numbers) as ``c`` and a few formatting helpers, nothing else.
* WeasyPrint fetches through :func:`url_fetcher`, which serves ``data:`` URIs and files under the
  project's ``static/`` folder and refuses everything else (DESIGN.md §5). A refusal stops the render
  (WeasyPrint's ``fail_on_errors``) and surfaces as :class:`TemplateError`, never as a silently
  missing image.

Speed (issue 5 asks for ≥5× the naive loop when issuing a cohort): one ``FontConfiguration`` and one
sRGB profile for the process, stylesheets parsed once per CSS text, templates compiled once per HTML
text, one image cache (logos) across documents, and pages that are the same for a whole cohort (the
default template's page 2, the course outline) laid out once and reused: see :func:`_split`.
:func:`render_many` also lays out the certificates' own pages as one HTML document.
"""

from __future__ import annotations

import base64
import binascii
import copy
import datetime as dt
import functools
import io
import json
import mimetypes
import re
import sys
import threading
from collections import OrderedDict
from importlib import resources
from pathlib import Path
from urllib.parse import unquote, unquote_to_bytes, urlsplit
from xml.sax.saxutils import escape as xml_escape

import segno
from flask_babel import lazy_gettext as _l
from jinja2 import TemplateError as JinjaTemplateError
from jinja2 import TemplateSyntaxError, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from weasyprint import CSS, HTML
from weasyprint.css import ColorProfile
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

from lms.nip import format_nip

ROOT = Path(__file__).resolve().parent.parent
STATIC_DIR = ROOT / "static"
TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"

PDF_VARIANT = "pdf/a-3b"

# Size caps. A template is a page of HTML and CSS, a logo is at most a few hundred kilobytes; anything
# far larger is a mistake or an attempt to exhaust the worker.
MAX_TEMPLATE_CHARS = 256 * 1024
MAX_STYLESHEET_BYTES = 128 * 1024
MAX_DATA_URI_CHARS = 3 * 1024 * 1024
MAX_STATIC_FILE_BYTES = 5 * 1024 * 1024
MAX_RENDERED_HTML_CHARS = 4 * 1024 * 1024

# Where the default template reserves the visible signature field (certificates/templates/sttpp.css,
# .signature-box: 121–181 mm from the left, 226–250 mm from the top of an A4 page), in PDF points from
# the bottom-left corner as signers expect: (x1, y1, x2, y2), on page SIGNATURE_PAGE (0-based).
_MM = 72 / 25.4
_A4_HEIGHT = 297 * _MM
SIGNATURE_PAGE = 0
SIGNATURE_BOX = (
    round(121 * _MM, 2), round(_A4_HEIGHT - 250 * _MM, 2),
    round(181 * _MM, 2), round(_A4_HEIGHT - 226 * _MM, 2),
)
SIGNATURE_ELEMENT_ID = "signature-box"

# A template may mark where its flowing text ends (#content-end) and where it must end (#content-limit,
# on page 1); while it runs over, the template is rendered again with a larger `fit` (denser type).
FIT_END_ID = "content-end"
FIT_LIMIT_ID = "content-limit"
MAX_FIT = 3

XMP_NAMESPACE = "urn:x-bangkom:certificate:1/"

MONTHS_ID = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September",
             "Oktober", "November", "Desember")


class TemplateError(Exception):
    """A certificate template that cannot be rendered; the message is safe to show to its admin."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


class ResourceRefused(TemplateError):
    """The template asked for something outside ``data:`` and our static files."""


# ---------------------------------------------------------------- template helpers


def terbilang(number: int) -> str:
    """An integer in Indonesian words, as official documents spell amounts: 45 → "empat puluh lima"."""
    n = int(number)
    if n < 0:
        return "minus " + terbilang(-n)
    ones = ("nol", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan",
            "sepuluh", "sebelas")
    if n < 12:
        return ones[n]
    if n < 20:
        return f"{ones[n - 10]} belas"
    for size, word, one_word in ((10**12, " triliun", None), (10**9, " miliar", None), (10**6, " juta", None),
                                 (1000, " ribu", "seribu"), (100, " ratus", "seratus"), (10, " puluh", None)):
        if n >= size:
            head, rest = divmod(n, size)
            words = one_word if (head == 1 and one_word) else terbilang(head) + word
            return words if rest == 0 else f"{words} {terbilang(rest)}"
    raise AssertionError("unreachable")  # pragma: no cover


def jp(value) -> str:
    """JP written as on a certificate: ``6 (enam) Jam Pelajaran``; empty when unknown."""
    if value is None or isinstance(value, bool):
        return ""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return ""
    if not number.is_integer():
        return f"{number:g}".replace(".", ",") + " Jam Pelajaran"
    return f"{int(number)} ({terbilang(int(number))}) Jam Pelajaran"


def date_id(value) -> str:
    """An ISO date as Indonesian documents write it: ``2026-11-22`` → ``22 November 2026``."""
    if not value:
        return ""
    if isinstance(value, dt.datetime):
        value = value.date()
    if not isinstance(value, dt.date):
        try:
            value = dt.date.fromisoformat(str(value)[:10])
        except ValueError:
            return str(value)
    return f"{value.day} {MONTHS_ID[value.month - 1]} {value.year}"


def nip(value) -> str:
    """A NIP grouped as HR documents print it (``19850312 201001 1 003``)."""
    return format_nip(str(value)) if value else ""


@functools.lru_cache(maxsize=2048)
def qr_svg(url) -> str:
    """A vector QR code for ``url`` as an SVG ``data:`` URI (for ``<img src>``)."""
    if not url:
        return ""
    # omitsize adds a viewBox instead of a fixed pixel size, so CSS scales it without resampling.
    return segno.make(str(url), error="m", micro=False).svg_data_uri(border=0, omitsize=True)


# ---------------------------------------------------------------- the sandbox


class _Sandbox(ImmutableSandboxedEnvironment):
    def unsafe_undefined(self, obj, attribute):
        # Jinja's default yields an Undefined that prints as "" and only fails when called; an admin
        # probing ``c.__class__`` should hear "no" at once.
        raise SecurityError(str(_l("%(name)s is not available in a certificate template.", name=repr(attribute))))


def _finalize(value):
    # Optional snapshot fields are None; a certificate must never print the word "None".
    return "" if value is None else value


@functools.lru_cache(maxsize=1)
def _environment() -> _Sandbox:
    env = _Sandbox(autoescape=True, finalize=_finalize, undefined=Undefined, auto_reload=False)
    env.globals.update(qr_svg=qr_svg, date_id=date_id, jp=jp, nip=nip, terbilang=terbilang)
    return env


@functools.lru_cache(maxsize=32)
def _compile(source: str):
    try:
        return _environment().from_string(source)
    except TemplateSyntaxError as exc:
        raise TemplateError(_l("Template error on line %(line)s: %(message)s",
                               line=exc.lineno, message=exc.message)) from None


def _template_line(traceback) -> int | None:
    line = None
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == "<template>":
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line


def _run_template(template, snapshot: dict, fit: int = 0) -> str:
    try:
        output = template.render(c=snapshot, fit=fit)
    except (JinjaTemplateError, ArithmeticError, LookupError, TypeError, ValueError, AttributeError,
            RecursionError) as exc:
        line = _template_line(sys.exc_info()[2])
        message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        if line is None:
            raise TemplateError(_l("Template error: %(message)s", message=message)) from None
        raise TemplateError(_l("Template error on line %(line)s: %(message)s",
                               line=line, message=message)) from None
    if len(output) > MAX_RENDERED_HTML_CHARS:
        raise TemplateError(_l("The template produces too much HTML."))
    return output


_PLAIN_SCALARS = (str, int, float, bool, type(None))


_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _plain(value, path="c"):
    """A deep copy of the snapshot made of plain values only (rule 10: no live ORM objects), without
    control characters (no font draws them, and XML metadata cannot hold them)."""
    if isinstance(value, str):
        return _CONTROL_CHARACTERS.sub("", value)
    if isinstance(value, _PLAIN_SCALARS):
        return value
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{path} has a non-string key {key!r}")
            out[key] = _plain(item, f"{path}.{key}")
        return out
    if isinstance(value, list | tuple):
        return [_plain(item, f"{path}[{index}]") for index, item in enumerate(value)]
    raise TypeError(f"{path} is a {type(value).__name__}; a certificate snapshot holds plain values only")


# ---------------------------------------------------------------- the URL fetcher


def _refuse(url: str):
    shown = url if len(url) <= 80 else url[:77] + "..."
    raise ResourceRefused(_l("A certificate template may only use data: URIs and files under /static/; "
                             "%(url)s is refused.", url=shown))


def _is_stylesheet(mime_type: str, name: str = "") -> bool:
    return mime_type == "text/css" or name.lower().endswith(".css")


def _fetch_data_uri(url: str) -> dict:
    if len(url) > MAX_DATA_URI_CHARS:
        raise ResourceRefused(_l("An embedded data: resource is larger than the template allows."))
    header, sep, payload = url[5:].partition(",")
    if not sep:
        _refuse(url)
    params = header.split(";")
    mime_type = (params[0] or "text/plain").strip().lower()
    is_base64 = any(part.strip().lower() == "base64" for part in params[1:])
    charset = next((part.split("=", 1)[1].strip() for part in params[1:]
                    if part.strip().lower().startswith("charset=")), None)
    try:
        body = base64.b64decode(unquote(payload), validate=False) if is_base64 else unquote_to_bytes(payload)
    except (binascii.Error, ValueError):
        _refuse(url)
    if _is_stylesheet(mime_type) and len(body) > MAX_STYLESHEET_BYTES:
        raise ResourceRefused(_l("A stylesheet is larger than %(size)s KB.", size=MAX_STYLESHEET_BYTES // 1024))
    return {"string": body, "mime_type": mime_type, "encoding": charset, "redirected_url": url}


def _static_file(url: str) -> Path | None:
    """The file under static/ that a ``file:`` URL or a ``/static/…`` path names, or None."""
    parts = urlsplit(url)
    if parts.scheme not in ("", "file") or parts.netloc not in ("", "localhost"):
        return None
    raw = unquote(parts.path)
    if "\x00" in raw:
        return None
    static_root = STATIC_DIR.resolve()
    if raw.startswith("/static/"):
        candidate = static_root / raw[len("/static/"):]
    else:
        candidate = Path(raw)
        if not candidate.is_absolute():
            candidate = static_root / candidate
    try:
        resolved = candidate.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not resolved.is_relative_to(static_root) or not resolved.is_file():
        return None
    return resolved


def url_fetcher(url: str, timeout=10, ssl_context=None) -> dict:
    """Serve ``data:`` URIs and files under static/; refuse everything else with :class:`ResourceRefused`.

    Returns WeasyPrint's classic fetcher dict (``string``, ``mime_type``, ``encoding``,
    ``redirected_url``). ``timeout`` and ``ssl_context`` are accepted for signature compatibility: no
    network is ever used.
    """
    if url[:5].lower() == "data:":
        return _fetch_data_uri(url)
    path = _static_file(url)
    if path is None:
        _refuse(url)
    size = path.stat().st_size
    mime_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if _is_stylesheet(mime_type, path.name) and size > MAX_STYLESHEET_BYTES:
        raise ResourceRefused(_l("A stylesheet is larger than %(size)s KB.", size=MAX_STYLESHEET_BYTES // 1024))
    if size > MAX_STATIC_FILE_BYTES:
        raise ResourceRefused(_l("A file used by the template is too large."))
    encoding = "utf-8" if mime_type.startswith("text/") or mime_type == "image/svg+xml" else None
    return {"string": path.read_bytes(), "mime_type": mime_type, "encoding": encoding,
            "redirected_url": path.as_uri()}


class _RestrictedFetcher(URLFetcher):
    """Adapts :func:`url_fetcher` to WeasyPrint 70's fetcher class; any failure stops the render."""

    def __init__(self):
        super().__init__(fail_on_errors=True, allow_redirects=False)

    def fetch(self, url, headers=None):
        result = url_fetcher(url)
        content_type = result["mime_type"]
        if result.get("encoding"):
            content_type += f"; charset={result['encoding']}"
        return URLFetcherResponse(result["redirected_url"], result["string"], {"Content-Type": content_type})


# ---------------------------------------------------------------- WeasyPrint state, shared per process

_LOCK = threading.RLock()  # WeasyPrint shares the font map and caches below; one render at a time.
_BASE_URL = STATIC_DIR.as_uri() + "/"
_IMAGE_CACHE: dict = {}
_IMAGE_CACHE_LIMIT = 512  # QR codes differ per certificate, logos repeat; see _layout.
_BATCH_ID = "bangkom-batch-"


@functools.lru_cache(maxsize=1)
def _font_config() -> FontConfiguration:
    return FontConfiguration()


@functools.lru_cache(maxsize=1)
def _fetcher() -> _RestrictedFetcher:
    return _RestrictedFetcher()


_OUTPUT_INTENT = "bangkom-srgb"


class _SharedColorProfile(ColorProfile):
    """An ICC profile read once; it embeds its original bytes (Pillow re-serialises a profile differently
    after the first time, which would make the same certificate render to different bytes)."""

    def __init__(self, icc: bytes, name: str):
        super().__init__(io.BytesIO(icc), name, "relative-colorimetric", (["r"], ["g"], ["b"]))
        self._icc = icc

    @property
    def content(self):
        return self._icc


@functools.lru_cache(maxsize=1)
def _srgb_profile() -> ColorProfile:
    # PDF/A needs an sRGB output intent. WeasyPrint's own ("srgb") reopens its ICC file for every PDF
    # and never closes it (a ResourceWarning each time); this one is read once and shared.
    return _SharedColorProfile((resources.files("weasyprint") / "pdf" / "sRGB2014.icc").read_bytes(), "sRGB2014.icc")


@functools.lru_cache(maxsize=16)
def _stylesheet(css: str) -> CSS:
    # Parsed once per CSS text: the @font-face rules it loads live in the shared FontConfiguration.
    return CSS(string=css, base_url=_BASE_URL, url_fetcher=_fetcher(), font_config=_font_config())


@functools.lru_cache(maxsize=1)
def default_template() -> tuple[str, str]:
    """The default STTPP template as ``(html, css)``."""
    return ((TEMPLATE_DIR / "sttpp.html").read_text(encoding="utf-8"),
            (TEMPLATE_DIR / "sttpp.css").read_text(encoding="utf-8"))


def _sources(html: str | None, css: str | None) -> tuple[str, str, bool]:
    default_html, default_css = default_template()
    custom = html is not None or css is not None
    html = default_html if html is None else html
    css = default_css if css is None else css
    if len(html) > MAX_TEMPLATE_CHARS:
        raise TemplateError(_l("The template HTML is larger than %(size)s KB.", size=MAX_TEMPLATE_CHARS // 1024))
    if len(css.encode("utf-8")) > MAX_STYLESHEET_BYTES:
        raise TemplateError(_l("A stylesheet is larger than %(size)s KB.", size=MAX_STYLESHEET_BYTES // 1024))
    return html, css, custom


# ---------------------------------------------------------------- metadata


_XMP_PROPERTIES = (
    # name, XMP value type, description
    ("number", "Text", "Certificate number"),
    ("code", "Text", "Public verification code"),
    ("verifyUrl", "URI", "Verification page"),
    ("holder", "Text", "Holder's name with titles"),
    ("nip", "Text", "Holder's NIP"),
    ("course", "Text", "Course title"),
    ("courseCode", "Text", "Course code"),
    ("courseVersion", "Integer", "Course version"),
    ("jp", "Real", "Jam pelajaran (45 minutes each)"),
    ("start", "Text", "First day of the course (ISO 8601)"),
    ("end", "Text", "Last day of the course (ISO 8601)"),
    ("predicate", "Text", "Result predicate"),
    ("score", "Real", "Result score"),
    ("issuer", "Text", "Issuing institution"),
    ("issued", "Text", "Date of issue (ISO 8601)"),
    ("validUntil", "Text", "End of validity (ISO 8601)"),
    ("snapshot", "Text", "Everything the certificate states, as JSON"),
)

# PDF/A requires custom XMP properties to be described by an extension schema (ISO 19005-2, 6.6.2.3).
_XMP_SCHEMA = (
    '<rdf:Description rdf:about="" xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/"'
    ' xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#"'
    ' xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#">'
    "<pdfaExtension:schemas><rdf:Bag><rdf:li rdf:parseType=\"Resource\">"
    "<pdfaSchema:schema>Bangkom certificate</pdfaSchema:schema>"
    f"<pdfaSchema:namespaceURI>{XMP_NAMESPACE}</pdfaSchema:namespaceURI>"
    "<pdfaSchema:prefix>bangkom</pdfaSchema:prefix>"
    "<pdfaSchema:property><rdf:Seq>"
    + "".join(
        '<rdf:li rdf:parseType="Resource">'
        f"<pdfaProperty:name>{name}</pdfaProperty:name>"
        f"<pdfaProperty:valueType>{value_type}</pdfaProperty:valueType>"
        "<pdfaProperty:category>external</pdfaProperty:category>"
        f"<pdfaProperty:description>{description}</pdfaProperty:description>"
        "</rdf:li>"
        for name, value_type, description in _XMP_PROPERTIES)
    + "</rdf:Seq></pdfaSchema:property></rdf:li></rdf:Bag></pdfaExtension:schemas></rdf:Description>"
).encode()


def _xmp_values(snapshot: dict) -> dict:
    holder = snapshot.get("holder") or {}
    course = snapshot.get("course") or {}
    result = snapshot.get("result") or {}
    issuer = snapshot.get("issuer") or {}
    # The logo is a picture, not a statement; it would only bloat the metadata.
    frozen = {**snapshot, "issuer": {key: value for key, value in issuer.items() if key != "logo"}}
    return {
        "number": snapshot.get("number"), "code": snapshot.get("code"), "verifyUrl": snapshot.get("verify_url"),
        "holder": holder.get("name"), "nip": holder.get("nip"),
        "course": course.get("title"), "courseCode": course.get("code"), "courseVersion": course.get("version"),
        "jp": course.get("jp"), "start": course.get("start"), "end": course.get("end"),
        "predicate": result.get("predicate"), "score": result.get("score"),
        "issuer": issuer.get("name"), "issued": snapshot.get("issued_at"), "validUntil": snapshot.get("valid_until"),
        "snapshot": json.dumps(frozen, ensure_ascii=False, sort_keys=True, separators=(",", ":")),
    }


def _xmp_description(snapshot: dict) -> bytes:
    values = _xmp_values(snapshot)
    fields = "".join(f"<bangkom:{name}>{xml_escape(str(values[name]))}</bangkom:{name}>"
                     for name, _, _ in _XMP_PROPERTIES if values.get(name) is not None)
    return _XMP_SCHEMA + (f'<rdf:Description rdf:about="" xmlns:bangkom="{XMP_NAMESPACE}">{fields}'
                          "</rdf:Description>").encode()


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _set_metadata(document, snapshot: dict) -> None:
    holder = snapshot.get("holder") or {}
    course = snapshot.get("course") or {}
    issuer = snapshot.get("issuer") or {}
    metadata = copy.copy(document.metadata)
    metadata.title = f"Sertifikat {snapshot.get('number') or ''}".strip()
    metadata.authors = [issuer["name"]] if issuer.get("name") else []
    metadata.description = " — ".join(part for part in (holder.get("name"), course.get("title")) if part) or None
    metadata.keywords = [word for word in ("sertifikat", "STTPP", course.get("code"), snapshot.get("code")) if word]
    metadata.generator = "Bangkom"
    # Dated by the certificate, not the clock: the same snapshot renders to the same document.
    issued = snapshot.get("issued_at")
    metadata.created = metadata.modified = issued if isinstance(issued, str) and _ISO_DATE.match(issued) else None
    metadata.lang = "id"
    document.metadata = metadata


def _object_number(reference) -> int:
    text = reference.decode("ascii") if isinstance(reference, bytes) else str(reference)
    return int(text.split()[0])


def _xmp_finisher(snapshot: dict):
    description = _xmp_description(snapshot)

    def finish(document, pdf):
        # WeasyPrint writes one rdf:RDF with its own descriptions (pdfaid, dc, xmp); ours go inside it,
        # since an XMP packet holds a single rdf:RDF.
        stream = pdf.objects[_object_number(pdf.catalog["Metadata"])]
        content = b"".join(part if isinstance(part, bytes) else str(part).encode() for part in stream.stream)
        stream.stream = [content.replace(b"</rdf:RDF>", description + b"</rdf:RDF>", 1)]

    return finish


# ---------------------------------------------------------------- rendering


_BODY = re.compile(r"(<body\b[^>]*>)(.*)(</body\s*>)", re.IGNORECASE | re.DOTALL)
_SHARED_SECTION = re.compile(r"<section\b[^>]*\bdata-shared\b[^>]*>.*?</section\s*>", re.IGNORECASE | re.DOTALL)
_PER_DOCUMENT_HEAD = re.compile(r"<title\b.*?</title\s*>|<meta\b[^>]*>", re.IGNORECASE | re.DOTALL)
# Pages whose look depends on their place in the document or on earlier pages cannot be laid out apart.
_POSITION_DEPENDENT = re.compile(r":first\b|:left\b|:right\b|:blank\b|:nth\(|counters?\(|string\(|element\(|"
                                 r"target-counter|target-text", re.IGNORECASE)
_BATCH_CSS = ".bangkom-batch-item { break-before: page; }"
_SHARED_DOCUMENTS: OrderedDict = OrderedDict()
_SHARED_DOCUMENTS_LIMIT = 8


def _split(source: str, splittable: bool) -> tuple[str, str | None]:
    """The certificate's own HTML and, apart, a document of its trailing ``data-shared`` sections.

    Shared sections (the default template's page 2: the course outline) are the same for every
    certificate of a course, so their pages are laid out once and reused (see :func:`_shared_pages`).
    The cache is keyed by their HTML, so a section that does differ is simply laid out again.
    """
    body = _BODY.search(source) if splittable else None
    if body is None:
        return source, None
    inner = body.group(2)
    first = _SHARED_SECTION.search(inner)
    if first is None or _SHARED_SECTION.sub("", inner[first.start():]).strip():
        return source, None  # only trailing shared sections keep the page order
    personal = source[:body.start(2)] + inner[:first.start()] + source[body.end(2):]
    shared = (_PER_DOCUMENT_HEAD.sub("", source[:body.start(1)]) + body.group(1)
              + "".join(_SHARED_SECTION.findall(inner)) + body.group(3) + "</html>")
    return personal, shared


def _layout(source: str, stylesheets: list):
    global _IMAGE_CACHE
    if len(_IMAGE_CACHE) > _IMAGE_CACHE_LIMIT:
        # Rebound, not cleared: pages kept in _SHARED_DOCUMENTS still read their images from the old one.
        _IMAGE_CACHE = {}
    return HTML(string=source, base_url=_BASE_URL, url_fetcher=_fetcher()).render(
        font_config=_font_config(), color_profiles={_OUTPUT_INTENT: _srgb_profile()}, stylesheets=stylesheets,
        pdf_variant=PDF_VARIANT, output_intent=_OUTPUT_INTENT, cache=_IMAGE_CACHE)


def _shared_pages(shared: str, css_source: str) -> list:
    key = (shared, css_source)
    document = _SHARED_DOCUMENTS.get(key)
    if document is None:
        document = _layout(shared, [_stylesheet(css_source)])
        _SHARED_DOCUMENTS[key] = document
        while len(_SHARED_DOCUMENTS) > _SHARED_DOCUMENTS_LIMIT:
            _SHARED_DOCUMENTS.popitem(last=False)
    else:
        _SHARED_DOCUMENTS.move_to_end(key)
    return document.pages


def _write(document, snapshot: dict, shared: str | None, css_source: str) -> bytes:
    if shared is not None:
        # Pages of several renderings make one PDF (WeasyPrint's documented Document.copy use).
        document = document.copy([*document.pages, *_shared_pages(shared, css_source)])
    _set_metadata(document, snapshot)
    return document.write_pdf(pdf_variant=PDF_VARIANT, output_intent=_OUTPUT_INTENT,
                              finisher=_xmp_finisher(snapshot))


@functools.lru_cache(maxsize=1)
def _batch_stylesheet() -> CSS:
    return CSS(string=_BATCH_CSS, url_fetcher=_fetcher(), font_config=_font_config())


def _overflows(page) -> bool:
    """Whether the flowing text of a page runs past the template's ``#content-limit`` marker."""
    limit = page.anchors.get(FIT_LIMIT_ID)
    if limit is None:
        return False
    end = page.anchors.get(FIT_END_ID)
    return end is None or end[1] > limit[1]


def _guarded(custom: bool, render):
    """Run a WeasyPrint step, turning refusals (and, for admin templates, layout failures) into TemplateError."""
    try:
        return render()
    except FatalURLFetchingError as exc:
        if isinstance(exc.__cause__, TemplateError):
            raise exc.__cause__ from None
        raise TemplateError(_l("A resource of the template could not be loaded.")) from None
    except TemplateError:
        raise
    except Exception as exc:
        if not custom:
            raise
        raise TemplateError(_l("The template could not be laid out: %(error)s",
                               error=f"{type(exc).__name__}: {exc}")) from exc


def _splittable(html_source: str, css_source: str) -> bool:
    return not (_POSITION_DEPENDENT.search(css_source) or _POSITION_DEPENDENT.search(html_source))


def _render_one(template, css_source: str, splittable: bool, custom: bool, snapshot: dict,
                first_fit: int = 0) -> bytes:
    def render():
        for fit in range(min(first_fit, MAX_FIT), MAX_FIT + 1):
            personal, shared = _split(_run_template(template, snapshot, fit), splittable)
            document = _layout(personal, [_stylesheet(css_source)])
            if fit == MAX_FIT or not document.pages or not _overflows(document.pages[0]):
                return _write(document, snapshot, shared, css_source)
        raise AssertionError("unreachable")  # pragma: no cover

    with _LOCK:
        return _guarded(custom, render)


def render_certificate(snapshot: dict, *, html: str | None = None, css: str | None = None) -> bytes:
    """PDF/A-3b bytes of one certificate from a plain snapshot (the default template when html/css are None).

    Raises :class:`TemplateError` for template syntax or runtime errors and for any resource the URL
    fetcher refuses. The snapshot and its essentials are embedded as XMP metadata (``bangkom:`` namespace).
    """
    html_source, css_source, custom = _sources(html, css)
    return _render_one(_compile(html_source), css_source, _splittable(html_source, css_source), custom,
                       _plain(snapshot))


def render_many(snapshots, *, html: str | None = None, css: str | None = None) -> list[bytes]:
    """One standalone PDF/A-3b per snapshot, in order; the certificates' own pages are laid out together
    as one HTML document, then each certificate's pages are written as its own PDF with its own metadata.
    Templates whose pages depend on their place in the document are rendered one by one."""
    html_source, css_source, custom = _sources(html, css)
    template = _compile(html_source)
    splittable = _splittable(html_source, css_source)
    frozen = [_plain(snapshot) for snapshot in snapshots]
    parts = [_split(_run_template(template, snapshot), splittable) for snapshot in frozen]
    bodies = [_BODY.search(personal) for personal, _ in parts]
    if len(frozen) < 2 or not splittable or not all(bodies):
        return [_render_one(template, css_source, splittable, custom, snapshot) for snapshot in frozen]
    first = parts[0][0]
    combined = (first[:bodies[0].start(2)]
                + "".join(f'<div id="{_BATCH_ID}{index}" class="bangkom-batch-item">{body.group(2)}</div>'
                          for index, body in enumerate(bodies))
                + first[bodies[0].end(2):])

    def render():
        document = _layout(combined, [_stylesheet(css_source), _batch_stylesheet()])
        starts = {}
        for page_index, page in enumerate(document.pages):
            for anchor in page.anchors:
                if anchor.startswith(_BATCH_ID):
                    starts.setdefault(int(anchor[len(_BATCH_ID):]), page_index)
        order = [starts.get(index) for index in range(len(frozen))]
        if None in order or order != sorted(order) or order[0] != 0:
            return None
        bounds = [*order, len(document.pages)]
        results = []
        for index, (snapshot, (_, shared)) in enumerate(zip(frozen, parts, strict=True)):
            pages = document.pages[bounds[index]:bounds[index + 1]]
            if pages and _overflows(pages[0]):
                results.append(None)  # laid out again on its own, with denser type
            else:
                results.append(_write(document.copy(pages), snapshot, shared, css_source))
        return results

    with _LOCK:
        results = _guarded(custom, render)
    if results is None:
        return [_render_one(template, css_source, splittable, custom, snapshot) for snapshot in frozen]
    return [result if result is not None
            else _render_one(template, css_source, splittable, custom, snapshot, first_fit=1)
            for result, snapshot in zip(results, frozen, strict=True)]


def preview_certificate(html: str, css: str) -> bytes:
    """An admin's template rendered with :func:`sample_snapshot`, for the template editor's preview."""
    return render_certificate(sample_snapshot(), html=html, css=css)


def signature_box(html: str | None = None, css: str | None = None) -> tuple[int, tuple[float, ...]] | None:
    """Where a template puts ``#signature-box``: ``(page index, (x1, y1, x2, y2))`` in PDF points from the
    bottom-left corner, measured on the sample certificate; None when the template has no such element."""
    html_source, css_source, custom = _sources(html, css)
    source = _run_template(_compile(html_source), _plain(sample_snapshot()))
    with _LOCK:
        document = _guarded(custom, lambda: _layout(source, [_stylesheet(css_source)]))
    points = 0.75  # CSS px → PDF pt
    for page_index, page in enumerate(document.pages):
        # WeasyPrint has no public API for element boxes; this walks its layout tree (pinned 70.0).
        for box in page._page_box.descendants():
            element = getattr(box, "element", None)
            if element is not None and element.get("id") == SIGNATURE_ELEMENT_ID and box.element_tag:
                x, y = box.border_box_x(), box.border_box_y()
                width, height = box.border_width(), box.border_height()
                page_height = page.height
                return page_index, (round(x * points, 2), round((page_height - y - height) * points, 2),
                                    round((x + width) * points, 2), round((page_height - y) * points, 2))
    return None


# ---------------------------------------------------------------- sample data

_SAMPLE_LOGO = "data:image/svg+xml," + (
    "%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 100 120'%3E"
    "%3Cpath d='M50 2 L96 18 V60 C96 90 74 108 50 118 C26 108 4 90 4 60 V18 Z' fill='%2317325c'/%3E"
    "%3Cpath d='M50 12 L86 25 V60 C86 84 69 99 50 107 C31 99 14 84 14 60 V25 Z' fill='%23f3e3b0'/%3E"
    "%3Cpath d='M50 28 L58 50 L81 50 L62 63 L69 86 L50 72 L31 86 L38 63 L19 50 L42 50 Z' fill='%23a8842c'/%3E"
    "%3C/svg%3E"
)


def sample_snapshot() -> dict:
    """A realistic snapshot (a provincial BPSDM, an e-learning course) for previews and tests."""
    return {
        "number": "893.3/00042/BPSDM/PM-01/XI/2026",
        "code": "k7qx2mzpr4tvbnwc3hj6ldsfa2qe7uyg",
        "verify_url": "https://bangkom.jatengprov.go.id/verify/k7qx2mzpr4tvbnwc3hj6ldsfa2qe7uyg",
        "holder": {
            "name": "Budi Santoso, S.Kom.", "nip": "198503122010011003",
            "birth_place": "Semarang", "birth_date": "1985-03-12",
            "pangkat": "Penata Muda Tingkat I", "golongan": "III/b",
            "jabatan": "Pengelola Data Kependudukan",
            "instansi": "Pemerintah Provinsi Jawa Tengah",
            "unit": "Dinas Kependudukan dan Pencatatan Sipil",
        },
        "course": {
            "code": "PM-01", "title": "Manajemen Proyek Pemerintahan bagi ASN", "version": 2, "jp": 6,
            "jalur": "nonklasikal", "jenis_diklat": "Teknis",
            "start": "2026-11-02", "end": "2026-11-20", "place": "daring",
            "competencies": [
                {"code": "M.04", "name": "Orientasi pada Hasil", "level": 2},
                {"code": "M.08", "name": "Pengambilan Keputusan", "level": 2},
                {"code": "T.PM.01", "name": "Perencanaan dan Pengendalian Proyek", "level": 2},
            ],
            "outline": [
                {"title": "Mengenal proyek", "lessons": [
                    {"title": "Apa itu proyek?", "minutes": 15},
                    {"title": "Siklus hidup proyek pemerintah", "minutes": 30},
                    {"title": "Peran dan tanggung jawab tim proyek", "minutes": 25}]},
                {"title": "Perencanaan proyek", "lessons": [
                    {"title": "Menyusun lingkup dan struktur rincian kerja", "minutes": 40},
                    {"title": "Jadwal, anggaran, dan risiko", "minutes": 45},
                    {"title": "Latihan: rencana proyek sederhana", "minutes": 30}]},
                {"title": "Pelaksanaan dan pengendalian", "lessons": [
                    {"title": "Memantau kemajuan dan kinerja", "minutes": 35},
                    {"title": "Mengelola perubahan dan pemangku kepentingan", "minutes": 30},
                    {"title": "Evaluasi akhir (post-test)", "minutes": 20}]},
            ],
        },
        "result": {"score": 87, "predicate": "Baik"},
        "issuer": {
            "name": "Badan Pengembangan Sumber Daya Manusia Provinsi Jawa Tengah", "short": "BPSDM",
            "city": "Semarang", "logo": _SAMPLE_LOGO,
        },
        "signatory": {
            "name": "Dr. Ir. Sri Wahyuni, M.Si.", "nip": "197004151995032002",
            "title": "Kepala BPSDM Provinsi Jawa Tengah",
        },
        "institutions": ["Universitas Diponegoro"],
        "issued_at": "2026-11-22",
        "valid_until": None,
        "signature": {"kind": "bsre", "box": list(SIGNATURE_BOX)},
    }


# ---------------------------------------------------------------- other documents of ours


def render_document(html: str, css: str, *, title: str, attachments: list[tuple[str, bytes, str]] = ()) -> bytes:
    """A PDF/A-3b of our own HTML and print CSS (e.g. the promotion file, rendered from a plain snapshot by
    ``certificates.records``), through the same restricted URL fetcher. ``attachments`` are embedded files
    ``(name, bytes, description)``: a signed certificate is attached whole, so its signature stays valid."""
    from weasyprint import Attachment

    def render():
        document = _layout(html, [_stylesheet(css)])
        metadata = copy.copy(document.metadata)
        metadata.title, metadata.generator, metadata.lang = title, "Bangkom", "id"
        document.metadata = metadata
        files = [Attachment(string=data, name=name, description=description, relationship="Supplement",
                            url_fetcher=_fetcher()) for name, data, description in attachments]
        return document.write_pdf(pdf_variant=PDF_VARIANT, output_intent=_OUTPUT_INTENT, attachments=files)

    with _LOCK:
        return _guarded(False, render)
