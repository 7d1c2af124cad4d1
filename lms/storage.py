"""Content-addressed file storage: a file is stored once under its SHA-256 and never changes.

``LocalStore`` keeps files in the instance folder; a shared store (a network volume or an
S3-compatible bucket) implements the same four methods. Callers keep the digest, the original name
and the detected type in their own rows.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO, Protocol

from flask import Flask, current_app

CHUNK = 1024 * 1024
DIGEST_RE = re.compile(r"^[0-9a-f]{64}$")


class TooLarge(Exception):
    """The upload is bigger than the limit for its kind."""


class FileStore(Protocol):
    def put(self, stream: BinaryIO, *, max_bytes: int | None = None) -> tuple[str, int]: ...
    def path(self, digest: str) -> Path: ...
    def exists(self, digest: str) -> bool: ...
    def open(self, digest: str) -> BinaryIO: ...


class LocalStore:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def path(self, digest: str) -> Path:
        if not DIGEST_RE.match(digest):
            raise ValueError("not a SHA-256 digest")
        return self.root / digest[:2] / digest[2:4] / digest

    def exists(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def open(self, digest: str) -> BinaryIO:
        return self.path(digest).open("rb")

    def put(self, stream: BinaryIO, *, max_bytes: int | None = None) -> tuple[str, int]:
        """Stream into a temporary file while hashing, then move it into place; returns (digest, size)."""
        self.root.mkdir(parents=True, exist_ok=True)
        sha = hashlib.sha256()
        size = 0
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if max_bytes is not None and size > max_bytes:
                        raise TooLarge(size)
                    sha.update(chunk)
                    out.write(chunk)
            digest = sha.hexdigest()
            target = self.path(digest)
            if target.exists():
                os.unlink(tmp)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                os.chmod(tmp, 0o644)
                os.replace(tmp, target)  # atomic: readers never see a half-written file
            return digest, size
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def put_bytes(self, data: bytes) -> str:
        import io

        return self.put(io.BytesIO(data))[0]


def store() -> LocalStore:
    return current_app.extensions["bangkom.store"]


def init_app(app: Flask) -> None:
    app.extensions["bangkom.store"] = LocalStore(Path(app.instance_path) / "files")


# What a file is, decided by its first bytes and never by its name or the browser's claim.
_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"%PDF-", 0, "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"\x1a\x45\xdf\xa3", 0, "video/webm"),
    (b"PK\x03\x04", 0, "application/zip"),
    (b"WEBVTT", 0, "text/vtt"),
    (b"\xef\xbb\xbfWEBVTT", 0, "text/vtt"),
)


def sniff(head: bytes) -> str | None:
    """The MIME type of a file from its first bytes (at least 16), or None when unknown."""
    for magic, offset, mime in _SIGNATURES:
        if head[offset:offset + len(magic)] == magic:
            return mime
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"isom", b"iso2", b"mp41", b"mp42", b"avc1", b"M4V ", b"dash", b"iso5", b"iso6"):
            return "video/mp4"
    return None
