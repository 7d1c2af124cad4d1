"""SCORM 1.2 and 2004 packages: safe inspection and unpacking, launch data, and runtime (CMI) state.

A package is checked member by member before anything is stored: no path may leave the package, no
links, no executables or server-side scripts, bounded file count, sizes and compression ratios, and a
well-formed ``imsmanifest.xml`` whose launchable items point at files that exist. A refused package
leaves nothing behind.

Packages are served from a separate content origin (``LMS_CONTENT_URL``) under a signed, expiring
token path, so their scripts never see the application's cookies and can reach the application only
through ``postMessage`` to the lesson page.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import shutil
import stat
import tempfile
import zipfile
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

from defusedxml import ElementTree
from flask import current_app, request
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from courses.models import ScormState  # noqa: F401 - re-exported for services
from lms.extensions import db
from lms.models import aware_utcnow
from lms.services import ServiceError
from lms.storage import store

MAX_PACKAGE_BYTES = 300 * 1024 * 1024
MAX_UNPACKED_BYTES = 1024 * 1024 * 1024
MAX_FILES = 10_000
MAX_RATIO = 100  # uncompressed / compressed, per member and overall: more is a zip bomb
FORBIDDEN_SUFFIXES = {
    ".exe", ".dll", ".com", ".bat", ".cmd", ".msi", ".scr", ".ps1", ".vbs", ".sh", ".jar", ".php", ".phtml",
    ".php5", ".asp", ".aspx", ".jsp", ".cgi", ".pl", ".py", ".htaccess",
}
NS_ADLCP_12 = "http://www.adlnet.org/xsd/adlcp_rootv1p2"
NS_ADLCP_2004 = "http://www.adlnet.org/xsd/adlcp_v1p3"


class PackageRefused(ServiceError):
    """The package cannot be used; the message says precisely why."""


@dataclass
class Sco:
    identifier: str
    title: str
    href: str  # path inside the package, with the item's parameters appended


@dataclass
class PackageInfo:
    version: str  # "1.2" or "2004"
    title: str
    scos: list[Sco] = field(default_factory=list)
    files: int = 0
    unpacked_bytes: int = 0

    def as_json(self) -> dict:
        return asdict(self)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element, name: str):
    return [child for child in element if _local(child.tag) == name]


def _text(element, name: str) -> str:
    found = _children(element, name)
    return (found[0].text or "").strip() if found else ""


def _check_member(info: zipfile.ZipInfo) -> str:
    name = info.filename
    if "\\" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise PackageRefused(_l("The package contains an absolute path (%(name)s).", name=name))
    normal = posixpath.normpath(name)
    if normal.startswith("../") or normal == ".." or "/../" in f"/{name}/":
        raise PackageRefused(_l("The package contains a path leaving the package (%(name)s).", name=name))
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise PackageRefused(_l("The package contains a symbolic link (%(name)s).", name=name))
    if info.flag_bits & 0x1:
        raise PackageRefused(_l("The package contains an encrypted file (%(name)s).", name=name))
    suffix = posixpath.splitext(name.lower())[1]
    if suffix in FORBIDDEN_SUFFIXES or posixpath.basename(name.lower()) == ".htaccess":
        raise PackageRefused(_l("Files of type %(suffix)s are not allowed in a package (%(name)s).",
                                suffix=suffix or posixpath.basename(name), name=name))
    if info.file_size > 1024 * 1024 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
        raise PackageRefused(_l("%(name)s is compressed suspiciously well (a zip bomb?).", name=name))
    return normal


def inspect(archive: zipfile.ZipFile) -> PackageInfo:
    """Check every member and the manifest; return what the package offers or raise PackageRefused."""
    members = [i for i in archive.infolist() if not i.is_dir()]
    if len(members) > MAX_FILES:
        raise PackageRefused(_l("The package has %(n)s files; at most %(max)s are allowed.", n=len(members),
                                max=MAX_FILES))
    names = set()
    total = compressed = 0
    for info in members:
        names.add(_check_member(info))
        total += info.file_size
        compressed += info.compress_size
    if total > MAX_UNPACKED_BYTES:
        raise PackageRefused(_l("Unpacked, the package would take %(mb)s MB; at most %(max)s MB are allowed.",
                                mb=total // (1024 * 1024), max=MAX_UNPACKED_BYTES // (1024 * 1024)))
    if total > 10 * 1024 * 1024 and total > MAX_RATIO * max(compressed, 1):
        raise PackageRefused(_l("The package is compressed suspiciously well (a zip bomb?)."))
    if "imsmanifest.xml" not in names:
        raise PackageRefused(_l("imsmanifest.xml is missing at the top of the package; is this a SCORM package?"))
    raw = archive.read("imsmanifest.xml")
    try:
        root = ElementTree.fromstring(raw)
    except ElementTree.ParseError as exc:
        raise PackageRefused(_l("imsmanifest.xml is not well-formed XML: %(error)s.", error=str(exc))) from None
    except Exception as exc:  # defusedxml refuses entities and external references
        raise PackageRefused(_l("imsmanifest.xml uses forbidden XML features: %(error)s.",
                                error=type(exc).__name__)) from None
    if _local(root.tag) != "manifest":
        raise PackageRefused(_l("imsmanifest.xml does not describe a manifest."))

    version = _version(root, raw)
    resources = {}
    for resources_el in _children(root, "resources"):
        base = resources_el.get("{http://www.w3.org/XML/1998/namespace}base", "")
        for res in _children(resources_el, "resource"):
            res_base = res.get("{http://www.w3.org/XML/1998/namespace}base", "")
            resources[res.get("identifier")] = (res, posixpath.join(base, res_base) if (base or res_base) else "")

    orgs = _children(root, "organizations")
    if not orgs:
        raise PackageRefused(_l("The manifest has no organizations."))
    organizations = _children(orgs[0], "organization")
    default = orgs[0].get("default")
    org = next((o for o in organizations if o.get("identifier") == default), organizations[0] if organizations else None)
    if org is None:
        raise PackageRefused(_l("The manifest has no organization."))
    info = PackageInfo(version=version, title=_text(org, "title") or "SCORM", files=len(members),
                       unpacked_bytes=total)

    def walk(item):
        ref = item.get("identifierref")
        if ref:
            if ref not in resources:
                raise PackageRefused(_l("Item “%(item)s” refers to resource %(ref)s, which the manifest does not "
                                        "define.", item=_text(item, "title") or item.get("identifier"), ref=ref))
            res, base = resources[ref]
            href = res.get("href")
            if not href:
                raise PackageRefused(_l("Item “%(item)s” has no launch file: its resource %(ref)s has no href.",
                                        item=_text(item, "title") or item.get("identifier"), ref=ref))
            path = posixpath.normpath(posixpath.join(base, urlsplit(href).path))
            if path.startswith("../") or urlsplit(href).scheme:
                raise PackageRefused(_l("The launch file %(href)s is outside the package.", href=href))
            if path not in names:
                raise PackageRefused(_l("The launch file %(href)s of “%(item)s” is not in the package.", href=path,
                                        item=_text(item, "title") or item.get("identifier")))
            query = urlsplit(href).query
            params = (item.get("parameters") or "").lstrip("?&")
            launch = path + ("?" + "&".join(p for p in (query, params) if p) if (query or params) else "")
            info.scos.append(Sco(identifier=item.get("identifier") or ref, title=_text(item, "title") or path,
                                 href=launch))
        for child in _children(item, "item"):
            walk(child)

    for item in _children(org, "item"):
        walk(item)
    if not info.scos:
        raise PackageRefused(_l("The package has no launchable item."))
    return info


def _version(root, raw: bytes) -> str:
    schemaversion = ""
    for metadata in _children(root, "metadata"):
        schemaversion = _text(metadata, "schemaversion")
    if schemaversion == "1.2" or NS_ADLCP_12.encode() in raw:
        return "1.2"
    if schemaversion.startswith(("2004", "CAM 1.3")) or NS_ADLCP_2004.encode() in raw:
        return "2004"
    raise PackageRefused(_l("The manifest says neither SCORM 1.2 nor SCORM 2004 (schemaversion “%(v)s”).",
                            v=schemaversion or "-"))


def package_root(digest: str) -> Path:
    return Path(current_app.instance_path) / "scorm" / digest


def import_package(stream: BinaryIO) -> tuple[str, int, PackageInfo]:
    """Check, store and unpack a package; returns (digest, size, info). Nothing is kept when refused."""
    with tempfile.TemporaryFile() as tmp:
        size = 0
        while chunk := stream.read(1024 * 1024):
            size += len(chunk)
            if size > MAX_PACKAGE_BYTES:
                raise PackageRefused(_l("The package is larger than %(mb)s MB.", mb=MAX_PACKAGE_BYTES // (1024 * 1024)))
            tmp.write(chunk)
        tmp.seek(0)
        if not zipfile.is_zipfile(tmp):
            raise PackageRefused(_l("This is not a ZIP file; a SCORM package is a ZIP with imsmanifest.xml."))
        tmp.seek(0)
        try:
            with zipfile.ZipFile(tmp) as archive:
                info = inspect(archive)
                tmp.seek(0)
                digest = hashlib.file_digest(tmp, "sha256").hexdigest()
                # Unpacked first: a member that fails to decompress refuses the package before it is stored.
                _unpack(archive, digest)
                tmp.seek(0)
                digest, size = store().put(tmp)
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise PackageRefused(_l("The ZIP file is damaged: %(error)s.", error=str(exc))) from None
    return digest, size, info


def _unpack(archive: zipfile.ZipFile, digest: str) -> None:
    target = package_root(digest)
    if target.is_dir():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".unpack-"))
    try:
        for info in archive.infolist():
            if info.is_dir():
                continue
            path = staging / posixpath.normpath(info.filename)
            if staging.resolve() not in path.resolve().parents:
                raise PackageRefused(_l("The package contains a path leaving the package (%(name)s).",
                                        name=info.filename))
            path.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as src, path.open("wb") as dst:
                shutil.copyfileobj(src, dst, 1024 * 1024)
        os.replace(staging, target)  # readers see the whole package or nothing
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


# ---------------------------------------------------------------- content origin and tokens


def content_origin(for_app: str | None = None) -> str:
    """Where package files are served: ``LMS_CONTENT_URL``; in development the other loopback name.

    ``for_app`` is the application origin the lesson page was served from (default: this request's).
    An empty answer means no separate origin: packages then run in an opaque sandbox.
    """
    configured = current_app.config.get("CONTENT_URL")
    if configured:
        return configured.rstrip("/")
    parts = urlsplit(for_app or app_origin())
    other = {"127.0.0.1": "localhost", "localhost": "127.0.0.1"}.get(parts.hostname or "")
    if other is None:
        return ""
    return f"{parts.scheme}://{other}{':' + str(parts.port) if parts.port else ''}"


def app_origin() -> str:
    return f"{request.scheme}://{request.host}"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="bangkom.scorm-content")


TOKEN_HOURS = 12


def make_token(*, lesson_id: int, enrolment_id: int | None, sco: str, app_origin: str) -> str:
    return _serializer().dumps([lesson_id, enrolment_id or 0, sco, app_origin])


def read_token(token: str) -> tuple[int, int | None, str, str] | None:
    try:
        lesson_id, enrolment_id, sco, origin = _serializer().loads(token, max_age=TOKEN_HOURS * 3600)
    except (BadSignature, ValueError, TypeError):
        return None
    return lesson_id, enrolment_id or None, sco, origin


# ---------------------------------------------------------------- runtime state


MAX_CMI_BYTES = 256 * 1024
# Never taken from the package: the LMS decides these.
READ_ONLY = {"cmi.core.student_id", "cmi.core.student_name", "cmi.learner_id", "cmi.learner_name",
             "cmi.core.entry", "cmi.entry", "cmi.core.credit", "cmi.credit", "cmi.mode", "cmi.core.lesson_mode"}


def load_state(enrolment_id: int | None, lesson_key: str, sco: str) -> ScormState | None:
    if enrolment_id is None:
        return None
    return db.session.scalar(select(ScormState).where(ScormState.enrolment_id == enrolment_id,
                                                      ScormState.lesson_key == lesson_key, ScormState.sco == sco))


def initial_cmi(state: ScormState | None, version: str, *, learner_id: str, learner_name: str) -> dict:
    """The flattened CMI a SCO starts with: what it saved, plus who the learner is and whether to resume."""
    saved = dict(state.cmi) if state else {}
    for key in ("cmi.core.session_time", "cmi.session_time", "cmi.core.exit", "cmi.exit"):
        saved.pop(key, None)
    resume = bool(saved.get("cmi.suspend_data") or saved.get("cmi.core.lesson_location")
                  or saved.get("cmi.location"))
    if version == "1.2":
        saved.update({"cmi.core.student_id": learner_id, "cmi.core.student_name": learner_name,
                      "cmi.core.entry": "resume" if resume else "ab-initio"})
    else:
        saved.update({"cmi.learner_id": learner_id, "cmi.learner_name": learner_name,
                      "cmi.entry": "resume" if resume else "ab-initio"})
    return saved


def save_state(enrolment_id: int, lesson_key: str, sco: str, flat: dict) -> ScormState:
    """Store a commit (the whole flattened CMI the runtime sent); the newest commit wins."""
    clean = {str(k): v for k, v in flat.items()
             if isinstance(k, str) and k.startswith("cmi.") and k not in READ_ONLY
             and isinstance(v, str | int | float | bool)}
    state = load_state(enrolment_id, lesson_key, sco)
    if state is None:
        state = ScormState(enrolment_id=enrolment_id, lesson_key=lesson_key, sco=sco, cmi={})
        # The autocommit and the closing beacon may both be a SCO's first commit: the unique key decides
        # which insert wins, the other updates that row.
        try:
            with db.session.begin_nested():
                db.session.add(state)
        except IntegrityError:
            state = load_state(enrolment_id, lesson_key, sco)
    state.cmi = {**(state.cmi or {}), **clean}
    state.commits = (state.commits or 0) + 1
    state.updated_at = aware_utcnow()
    db.session.flush()
    return state


def status_of(cmi: dict, version: str) -> tuple[bool, int | None]:
    """(completed, score in percent) as the package reported them."""
    if version == "1.2":
        completed = str(cmi.get("cmi.core.lesson_status", "")).lower() in ("completed", "passed")
        raw, top = cmi.get("cmi.core.score.raw"), cmi.get("cmi.core.score.max")
        scaled = None
    else:
        completed = (str(cmi.get("cmi.completion_status", "")).lower() == "completed"
                     or str(cmi.get("cmi.success_status", "")).lower() == "passed")
        raw, top = cmi.get("cmi.score.raw"), cmi.get("cmi.score.max")
        scaled = cmi.get("cmi.score.scaled")
    score = None
    try:
        if scaled not in (None, ""):
            score = round(float(scaled) * 100)
        elif raw not in (None, ""):
            score = round(float(raw) * 100 / float(top)) if top not in (None, "", 0, "0") else round(float(raw))
    except (TypeError, ValueError, ZeroDivisionError):
        score = None
    if score is not None:
        score = max(0, min(100, score))
    return completed, score
