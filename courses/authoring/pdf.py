"""The curriculum document as an A4 PDF, laid out by WeasyPrint from our own template.

Like ``certificates/pdf.py`` (which ``courses`` must not import, DESIGN.md §2), WeasyPrint fetches through a
restricted fetcher that serves ``data:`` URIs and files under ``static/`` and refuses everything else
(DESIGN.md §5): the document holds text typed by co-authors, and a typed URL must never make the server
fetch anything. The template is rendered with autoescape from plain values (``curriculum_document``).
"""

from __future__ import annotations

import base64
import binascii
import functools
import mimetypes
import threading
from pathlib import Path
from urllib.parse import unquote, unquote_to_bytes, urlsplit

from flask import render_template
from flask_babel import force_locale
from weasyprint import HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

STATIC_DIR = (Path(__file__).resolve().parents[2] / "static").resolve()
MAX_FILE_BYTES = 5 * 1024 * 1024


class ResourceRefused(Exception):
    """The document asked for something other than ``data:`` or our static files."""


def _static_file(url: str) -> Path | None:
    parts = urlsplit(url)
    if parts.scheme not in ("", "file") or parts.netloc not in ("", "localhost"):
        return None
    raw = unquote(parts.path)
    if "\x00" in raw:
        return None
    candidate = STATIC_DIR / raw[len("/static/"):] if raw.startswith("/static/") else Path(raw)
    try:
        resolved = candidate.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not resolved.is_relative_to(STATIC_DIR) or not resolved.is_file():
        return None
    return resolved


def fetch(url: str) -> tuple[bytes, str, str]:
    """(body, content type, URL it came from) for a ``data:`` URI or a static file; anything else refused."""
    if url[:5].lower() == "data:":
        header, sep, payload = url[5:].partition(",")
        if not sep or len(url) > MAX_FILE_BYTES:
            raise ResourceRefused(url[:80])
        params = header.split(";")
        mime_type = (params[0] or "text/plain").strip().lower()
        try:
            body = (base64.b64decode(unquote(payload)) if any(p.strip().lower() == "base64" for p in params[1:])
                    else unquote_to_bytes(payload))
        except (binascii.Error, ValueError):
            raise ResourceRefused(url[:80]) from None
        return body, mime_type, url
    path = _static_file(url)
    if path is None or path.stat().st_size > MAX_FILE_BYTES:
        raise ResourceRefused(url[:80])
    mime_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return path.read_bytes(), mime_type, path.as_uri()


class _Fetcher(URLFetcher):
    def __init__(self):
        super().__init__(fail_on_errors=True, allow_redirects=False)

    def fetch(self, url, headers=None):
        body, mime_type, source = fetch(url)
        return URLFetcherResponse(source, body, {"Content-Type": mime_type})


_LOCK = threading.Lock()  # WeasyPrint's font configuration is shared; one layout at a time.


@functools.lru_cache(maxsize=1)
def _font_config() -> FontConfiguration:
    return FontConfiguration()


def render_curriculum(document: dict) -> bytes:
    """The curriculum of ``services.curriculum_document`` as A4 PDF bytes, in Bahasa Indonesia."""
    with force_locale("id"):
        source = render_template("authoring/curriculum_pdf.html", d=document)
    with _LOCK:
        return HTML(string=source, base_url=STATIC_DIR.as_uri() + "/", url_fetcher=_Fetcher()).write_pdf(
            font_config=_font_config())
