"""Small files that pass (or fail) the content checks of uploads, and helpers shared by the course tests."""

from __future__ import annotations

import html.parser
import io
from pathlib import Path

from flask import current_app

from courses import services
from lms.extensions import db

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))
ZIP = b"PK\x03\x04" + b"\x14\x00" * 40
VTT = b"WEBVTT\n\n00:00.000 --> 00:02.000\nSelamat datang\n"
# An MP4 header followed by 1,000 distinct-looking bytes, so byte ranges can be checked exactly.
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(i % 251 for i in range(1000))
PASSWORD = "correct horse 1"


def upload(data: bytes, name: str) -> tuple[io.BytesIO, str]:
    return io.BytesIO(data), name


def stored_files() -> set[Path]:
    """Every file in the content-addressed store (temporary upload files included)."""
    root = Path(current_app.instance_path) / "files"
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def mails() -> set[Path]:
    outbox = Path(current_app.instance_path) / "mail"
    return set(outbox.glob("*.eml")) if outbox.exists() else set()


class Tags(html.parser.HTMLParser):
    """The tags and attributes of an HTML fragment, as a browser would build them."""

    def __init__(self, source: str):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(source)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def names(self) -> set[str]:
        return {tag for tag, _attrs in self.tags}

    def attributes(self) -> set[str]:
        return {name for _tag, attrs in self.tags for name in attrs}

    def values(self, attribute: str) -> list[str]:
        return [attrs[attribute] or "" for _tag, attrs in self.tags if attribute in attrs]


def study(enrolment, lessons=None) -> None:
    """Open each lesson (by default all of the enrolment's version) once, as a learner would."""
    for lesson in lessons if lessons is not None else enrolment.version.lessons():
        services.record_visit(enrolment, lesson)
    db.session.commit()


def lesson_titles(version) -> list[str]:
    return [lesson.title for lesson in version.lessons()]
