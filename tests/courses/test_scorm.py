"""SCORM 1.2 and 2004: packages are checked before anything is stored (the real "Golf Explained" samples
import, the malformed samples and hostile zips built here are refused with their reasons and leave nothing
behind), the ``courses import-scorm`` command, and the runtime over HTTP: the lesson page frames the package
from the content origin under a signed token, commits are stored per enrolment, complete the lesson and
resume it."""

from __future__ import annotations

import io
import json
import re
import stat
import zipfile
from pathlib import Path

import pytest
from flask import current_app
from itsdangerous import TimestampSigner
from sqlalchemy import select

from courses import scorm, services
from courses.models import Enrolment, LessonProgress, ScormState
from lms.extensions import db
from lms.storage import store
from tests.courses.helpers import Tags, stored_files

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "scorm"
GOLF_12 = SAMPLES / "RuntimeBasicCalls_SCORM12.zip"
GOLF_2004 = SAMPLES / "RuntimeBasicCalls_SCORM20043rdEdition.zip"
GOLF_TITLE = "Golf Explained - Run-time Basic Calls"


def sample(path: Path) -> bytes:
    if not path.is_file():
        pytest.fail(f"the SCORM sample {path} is missing (see tests/fixtures/README.md)")
    return path.read_bytes()


# ---------------------------------------------------------------- packages built in the tests

NAMESPACES = {
    "1.2": 'xmlns="http://www.imsproject.org/xsd/imscp_rootv1p1p2" '
           'xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_rootv1p2"',
    "2004": 'xmlns="http://www.imsglobal.org/xsd/imscp_v1p1" xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_v1p3"',
}
ONE_ITEM = '<item identifier="item_1" identifierref="res_1"><title>Pengantar</title></item>'
ONE_RESOURCE = ('<resource identifier="res_1" type="webcontent" adlcp:scormtype="sco" href="index.html">'
                '<file href="index.html"/></resource>')
PAGE = b"<!doctype html><title>Pengantar</title><p>Selamat belajar.</p>"


def manifest(*, items: str = ONE_ITEM, resources: str = ONE_RESOURCE, version: str = "1.2", prolog: str = "",
             title: str = "Paket Uji") -> bytes:
    schemaversion = "1.2" if version == "1.2" else "2004 4th Edition"
    return (f'<?xml version="1.0" encoding="UTF-8"?>{prolog}\n'
            f'<manifest identifier="paket.uji" version="1" {NAMESPACES[version]}>'
            f"<metadata><schema>ADL SCORM</schema><schemaversion>{schemaversion}</schemaversion></metadata>"
            f'<organizations default="org_1"><organization identifier="org_1"><title>{title}</title>'
            f"{items}</organization></organizations><resources>{resources}</resources></manifest>").encode()


def package(files: dict | None = None, *, with_manifest: bytes | None = b"", extra=()) -> bytes:
    """A zip in memory: the manifest (default: one SCO at index.html), ``files`` and ``extra`` members
    given as (ZipInfo, data) pairs."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if with_manifest is not None:
            archive.writestr("imsmanifest.xml", with_manifest or manifest())
        for name, data in ({"index.html": PAGE} if files is None else files).items():
            archive.writestr(name, data)
        for info, data in extra:
            archive.writestr(info, data)
    return buffer.getvalue()


def scorm_dirs() -> set[str]:
    root = Path(current_app.instance_path) / "scorm"
    return {p.name for p in root.iterdir()} if root.exists() else set()


def refused(data: bytes) -> str:
    """Import ``data``: it must be refused and leave nothing in the store or in instance/scorm."""
    files, dirs = stored_files(), scorm_dirs()
    with pytest.raises(scorm.PackageRefused) as caught:
        scorm.import_package(io.BytesIO(data))
    assert stored_files() == files, "a refused package left files in the store"
    assert scorm_dirs() == dirs, "a refused package left files in instance/scorm"
    return str(caught.value)


# ---------------------------------------------------------------- package checks


@pytest.mark.parametrize(("path", "version"), [(GOLF_12, "1.2"), (GOLF_2004, "2004")])
def test_the_golf_samples_import(path, version):
    digest, size, info = scorm.import_package(io.BytesIO(sample(path)))
    assert (info.version, info.title) == (version, GOLF_TITLE)
    assert [(s.identifier, s.title, s.href) for s in info.scos] == [("item_1", "Golf Explained",
                                                                     "shared/launchpage.html")]
    assert size == path.stat().st_size
    root = scorm.package_root(digest)
    assert (root / "imsmanifest.xml").is_file()
    assert (root / "shared" / "launchpage.html").is_file()
    assert (root / "shared" / "assessmenttemplate.html").is_file()
    assert info.files == sum(1 for p in root.rglob("*") if p.is_file())
    assert not list(root.parent.glob(".unpack-*")), "no staging folder is left behind"
    with store().open(digest) as stored:
        assert stored.read() == path.read_bytes(), "the package itself is kept in the store"
    # The same package again is the same digest and the same folder.
    assert scorm.import_package(io.BytesIO(sample(path)))[0] == digest


def test_the_malformed_samples_are_refused_with_their_reasons():
    message = refused(sample(SAMPLES / "MalformedXml_SCORM12.zip"))
    assert message.startswith("imsmanifest.xml is not well-formed XML: mismatched tag")
    message = refused(sample(SAMPLES / "MissingLaunchUrl_SCORM12.zip"))
    assert message == "Item “Test Item” has no launch file: its resource resource_1 has no href."


def symlink(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


@pytest.mark.parametrize(("data", "reason"), [
    pytest.param(package({"index.html": PAGE, "../evil.html": b"x"}),
                 "The package contains a path leaving the package (../evil.html).", id="dot-dot"),
    pytest.param(package({"index.html": PAGE, "konten/../../evil.html": b"x"}),
                 "The package contains a path leaving the package (konten/../../evil.html).", id="dot-dot-inside"),
    pytest.param(package({"index.html": PAGE, "/etc/cron.d/evil": b"x"}),
                 "The package contains an absolute path (/etc/cron.d/evil).", id="absolute"),
    pytest.param(package({"index.html": PAGE, "C:/evil.html": b"x"}),
                 "The package contains an absolute path (C:/evil.html).", id="drive-letter"),
    pytest.param(package(extra=[(symlink("shared/passwd.html"), "/etc/passwd")]),
                 "The package contains a symbolic link (shared/passwd.html).", id="symlink"),
    pytest.param(package({"index.html": PAGE, "setup.exe": b"MZ\x90\x00"}),
                 "Files of type .exe are not allowed in a package (setup.exe).", id="exe"),
    pytest.param(package({"index.html": PAGE, "api/shell.PHP": b"<?php system($_GET['c']); ?>"}),
                 "Files of type .php are not allowed in a package (api/shell.PHP).", id="php"),
    pytest.param(package({"index.html": PAGE, "konten/.htaccess": b"AddHandler php .html"}),
                 "Files of type .htaccess are not allowed in a package (konten/.htaccess).", id="htaccess"),
    pytest.param(package(with_manifest=None),
                 "imsmanifest.xml is missing at the top of the package; is this a SCORM package?", id="no-manifest"),
    pytest.param(package({"paket/imsmanifest.xml": manifest(), "paket/index.html": PAGE}, with_manifest=None),
                 "imsmanifest.xml is missing at the top of the package; is this a SCORM package?",
                 id="manifest-in-a-folder"),
    pytest.param(package({}), "The launch file index.html of “Pengantar” is not in the package.",
                 id="launch-file-missing"),
    pytest.param(package(with_manifest=manifest(resources=ONE_RESOURCE.replace('href="index.html"',
                                                                                'href="../index.html"', 1))),
                 "The launch file ../index.html is outside the package.", id="launch-outside"),
    pytest.param(package(with_manifest=manifest(resources=ONE_RESOURCE.replace(
        'href="index.html"', 'href="https://evil.example/index.html"', 1))),
        "The launch file https://evil.example/index.html is outside the package.", id="launch-elsewhere"),
    pytest.param(package(with_manifest=manifest(items=ONE_ITEM.replace("res_1", "res_9"))),
                 "Item “Pengantar” refers to resource res_9, which the manifest does not define.",
                 id="unknown-resource"),
    pytest.param(package(with_manifest=manifest(items="")), "The package has no launchable item.", id="no-sco"),
    pytest.param(package(with_manifest=manifest().replace(b"<schemaversion>1.2", b"<schemaversion>9.9")
                         .replace(b"adlcp_rootv1p2", b"adlcp_unknown")),
                 "The manifest says neither SCORM 1.2 nor SCORM 2004 (schemaversion “9.9”).", id="version"),
    pytest.param(b"PK\x03\x04 this is not really a zip",
                 "This is not a ZIP file; a SCORM package is a ZIP with imsmanifest.xml.", id="not-a-zip"),
    pytest.param(b"%PDF-1.4\n%%EOF\n",
                 "This is not a ZIP file; a SCORM package is a ZIP with imsmanifest.xml.", id="pdf"),
])
def test_hostile_or_broken_packages_are_refused_and_nothing_is_kept(data, reason):
    assert refused(data) == reason


def test_a_zip_bomb_is_refused():
    bomb = package({"index.html": PAGE, "shared/background.jpg": bytes(8 * 1024 * 1024)})
    assert len(bomb) < 100 * 1024
    assert refused(bomb) == "shared/background.jpg is compressed suspiciously well (a zip bomb?)."


def test_many_small_members_that_compress_too_well_are_a_zip_bomb_too():
    # No member is above the per-member threshold; together they are.
    files = {"index.html": PAGE} | {f"data/{n}.txt": bytes(1024 * 1024) for n in range(12)}
    assert refused(package(files)) == "The package is compressed suspiciously well (a zip bomb?)."


def test_too_many_files_and_too_large_are_refused(monkeypatch):
    files = {"index.html": PAGE} | {f"halaman/{n}.html": PAGE for n in range(4)}
    monkeypatch.setattr(scorm, "MAX_FILES", 5)
    assert refused(package(files)) == "The package has 6 files; at most 5 are allowed."
    monkeypatch.setattr(scorm, "MAX_FILES", 7)
    monkeypatch.setattr(scorm, "MAX_UNPACKED_BYTES", 1024)
    assert refused(package(files | {"video.txt": bytes(range(256)) * 8})).startswith(
        "Unpacked, the package would take 0 MB")
    monkeypatch.setattr(scorm, "MAX_PACKAGE_BYTES", 1000)
    assert refused(package(files)) == "The package is larger than 0 MB."


def test_entity_expansion_in_the_manifest_is_refused():
    laughs = ('<!DOCTYPE manifest [<!ENTITY lol "lol">'
              '<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
              '<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">]>')
    data = package(with_manifest=manifest(prolog=laughs, title="&lol2;"))
    assert refused(data) == "imsmanifest.xml uses forbidden XML features: EntitiesForbidden."
    external = '<!DOCTYPE manifest [<!ENTITY rahasia SYSTEM "file:///etc/passwd">]>'
    assert refused(package(with_manifest=manifest(prolog=external, title="&rahasia;"))) == (
        "imsmanifest.xml uses forbidden XML features: EntitiesForbidden.")


def test_an_encrypted_member_is_refused():
    data = bytearray(package())
    # Set the "encrypted" flag of index.html in its local header and in the central directory.
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (start := data.find(signature, start)) != -1:
            name_length = int.from_bytes(data[start + (26 if offset == 6 else 28):][:2], "little")
            name_at = start + (30 if offset == 6 else 46)
            if bytes(data[name_at:name_at + name_length]) == b"index.html":
                data[start + offset] |= 0x1
            start += 4
    assert refused(bytes(data)) == "The package contains an encrypted file (index.html)."


@pytest.mark.parametrize(("compression", "flip", "error"), [
    pytest.param(zipfile.ZIP_DEFLATED, range(1), "Error -3 while decompressing data: invalid code lengths set",
                 id="deflate-broken"),
    pytest.param(zipfile.ZIP_DEFLATED, range(4, 12), "Bad CRC-32 for file 'index.html'", id="deflate-crc"),
    pytest.param(zipfile.ZIP_STORED, range(4, 12), "Bad CRC-32 for file 'index.html'", id="stored-crc"),
])
def test_a_damaged_member_is_refused_and_nothing_is_kept(compression, flip, error):
    """The directory of the zip looks fine; the data of a member does not decompress or fails its CRC."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        archive.writestr("imsmanifest.xml", manifest())
        archive.writestr("index.html", PAGE * 20)
    data = bytearray(buffer.getvalue())
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("index.html")
    body = info.header_offset + 30 + len(info.filename) + len(info.extra)
    for offset in flip:
        data[body + offset] ^= 0xFF
    assert refused(bytes(data)) == f"The ZIP file is damaged: {error}."


def test_a_multi_sco_package_lists_its_scos_in_order_with_parameters():
    items = ('<item identifier="item_a" identifierref="res_a" parameters="?bab=1"><title>Bab 1</title></item>'
             '<item identifier="folder"><title>Bagian 2</title>'
             '<item identifier="item_b" identifierref="res_b" parameters="bab=2&amp;mode=latihan">'
             "<title>Bab 2</title></item></item>")
    resources = ('<resource identifier="res_a" type="webcontent" adlcp:scormtype="sco" href="bab1/index.html"/>'
                 '<resource identifier="res_b" type="webcontent" adlcp:scormtype="sco" href="index.html?x=1"'
                 ' xml:base="bab2/"/>'
                 '<resource identifier="res_c" type="webcontent" adlcp:scormtype="asset" href="aset.css"/>')
    data = package({"bab1/index.html": PAGE, "bab2/index.html": PAGE},
                   with_manifest=manifest(items=items, resources=resources, version="2004"))
    info = scorm.inspect(zipfile.ZipFile(io.BytesIO(data)))
    assert info.version == "2004"
    assert [(s.identifier, s.title, s.href) for s in info.scos] == [
        ("item_a", "Bab 1", "bab1/index.html?bab=1"),
        ("item_b", "Bab 2", "bab2/index.html?x=1&bab=2&mode=latihan"),
    ]


def test_the_default_organization_is_the_one_played():
    items = ('</organization><organization identifier="org_2"><title>Versi Lain</title>'
             '<item identifier="item_2" identifierref="res_1"><title>Lain</title></item>')
    data = manifest(items=ONE_ITEM + items).replace(b'default="org_1"', b'default="org_2"')
    info = scorm.inspect(zipfile.ZipFile(io.BytesIO(package(with_manifest=data))))
    assert (info.title, [s.identifier for s in info.scos]) == ("Versi Lain", ["item_2"])


def test_status_and_score_as_the_package_reports_them():
    assert scorm.status_of({}, "1.2") == (False, None)
    assert scorm.status_of({"cmi.core.lesson_status": "incomplete"}, "1.2") == (False, None)
    assert scorm.status_of({"cmi.core.lesson_status": "completed"}, "1.2") == (True, None)
    assert scorm.status_of({"cmi.core.lesson_status": "failed", "cmi.core.score.raw": "40"}, "1.2") == (False, 40)
    assert scorm.status_of({"cmi.core.lesson_status": "passed", "cmi.core.score.raw": "18",
                            "cmi.core.score.max": "20"}, "1.2") == (True, 90)
    assert scorm.status_of({"cmi.completion_status": "completed"}, "2004") == (True, None)
    assert scorm.status_of({"cmi.completion_status": "incomplete", "cmi.success_status": "passed",
                            "cmi.score.scaled": "0.85", "cmi.score.raw": "1"}, "2004") == (True, 85)
    assert scorm.status_of({"cmi.completion_status": "incomplete", "cmi.score.raw": "7",
                            "cmi.score.max": "10"}, "2004") == (False, 70)
    assert scorm.status_of({"cmi.core.lesson_status": "passed", "cmi.core.score.raw": "abc"}, "1.2") == (True, None)
    assert scorm.status_of({"cmi.core.score.raw": "250"}, "1.2") == (False, 100)


def test_the_content_origin(app, monkeypatch):
    with app.test_request_context(base_url="http://127.0.0.1:5000"):
        assert scorm.content_origin() == "http://localhost:5000"
    with app.test_request_context(base_url="http://localhost"):
        assert scorm.content_origin() == "http://127.0.0.1"
        assert scorm.content_origin("http://localhost:8080") == "http://127.0.0.1:8080"
    with app.test_request_context(base_url="https://bangkom.example"):
        assert scorm.content_origin() == "", "no separate origin: packages run in an opaque sandbox"
    monkeypatch.setitem(app.config, "CONTENT_URL", "https://konten.bangkom.example/")
    with app.test_request_context(base_url="https://bangkom.example"):
        assert scorm.content_origin() == "https://konten.bangkom.example"


def test_a_trainer_uploads_a_package_in_the_authoring_form(client, login, trainer, make_course):
    course = make_course(code="GL-03", publish=False, lessons=())
    module = course.draft.modules[0]
    login(trainer)
    url = f"/kelola/modul/{module.id}/pelajaran/baru/scorm"
    assert client.get(url).status_code == 200
    files, dirs = stored_files(), scorm_dirs()
    response = client.post(url, data={"title": "", "completion_rule": "package", "is_required": "y",
                                      "file": (io.BytesIO(sample(SAMPLES / "MissingLaunchUrl_SCORM12.zip")),
                                               "paket.zip")})
    assert response.status_code == 200
    assert "Item “Test Item” has no launch file: its resource resource_1 has no href." in response.get_data(
        as_text=True)
    assert (stored_files(), scorm_dirs()) == (files, dirs)
    db.session.expire_all()
    assert course.draft.lessons() == []

    response = client.post(url, data={"title": "", "completion_rule": "package", "is_required": "y",
                                      "file": (io.BytesIO(sample(GOLF_2004)), "golf 2004.zip")})
    assert response.status_code == 302
    db.session.expire_all()
    (lesson,) = course.draft.lessons()
    assert (lesson.kind, lesson.title, lesson.completion_rule) == ("scorm", GOLF_TITLE, "package")
    assert (lesson.file_name, lesson.file_size) == ("golf 2004.zip", GOLF_2004.stat().st_size)
    assert lesson.package["version"] == "2004"
    assert lesson.package["scos"] == [{"identifier": "item_1", "title": "Golf Explained",
                                       "href": "shared/launchpage.html"}]


# ---------------------------------------------------------------- the command line


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()

    def run(*args):
        return runner.invoke(args=["courses", *map(str, args)])

    return run


def test_import_scorm_adds_the_package_to_the_draft(cli, make_course, trainer):
    course = make_course(code="GL-01", lessons=("Pengantar",))
    result = cli("import-scorm", GOLF_12, "--course", "gl-01")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Imported “Golf Explained - Run-time Basic Calls” (SCORM 1.2, 1 SCO, 44 files) "
                                    "into the draft of GL-01, module “Modul 1”.")
    db.session.expire_all()
    draft = course.draft
    assert draft is not None
    assert draft.id != course.published_version_id
    lesson = draft.lessons()[-1]
    assert (lesson.kind, lesson.title, lesson.completion_rule) == ("scorm", GOLF_TITLE, "package")
    assert lesson.package["version"] == "1.2"
    assert lesson.file_name == GOLF_12.name
    assert scorm.package_root(lesson.file_sha256).is_dir()
    assert [lesson.title for lesson in course.published_version.lessons()] == ["Pengantar"], \
        "the published version is not touched"


@pytest.mark.parametrize(("name", "reason"), [
    ("MalformedXml_SCORM12.zip", "imsmanifest.xml is not well-formed XML: mismatched tag"),
    ("MissingLaunchUrl_SCORM12.zip", "Item “Test Item” has no launch file"),
])
def test_import_scorm_refuses_a_bad_package(cli, make_course, name, reason):
    course = make_course(code="GL-02", lessons=("Pengantar",))
    files, dirs = stored_files(), scorm_dirs()
    result = cli("import-scorm", SAMPLES / name, "--course", "GL-02")
    assert result.exit_code == 1
    assert f"Error: {name} refused: {reason}" in result.output
    db.session.expire_all()
    assert course.draft is None, "nothing is stored, not even an empty draft"
    assert (stored_files(), scorm_dirs()) == (files, dirs)


def test_import_scorm_needs_a_known_course(cli):
    result = cli("import-scorm", GOLF_12, "--course", "XX-99")
    assert result.exit_code == 1
    assert "Error: No course has the code XX-99." in result.output


# ---------------------------------------------------------------- the runtime over HTTP


@pytest.fixture
def scorm_course(make_course, trainer):
    """``scorm_course(data, code=..., **lesson fields)`` → (course, lesson): a published course whose only
    lesson is the package."""

    def make(data: bytes, *, code: str = "SC-01", **fields):
        course = make_course(code=code, modules={"Modul SCORM": []}, publish=False)
        services.add_scorm_lesson(course.draft.modules[0], io.BytesIO(data), file_name="paket.zip", **fields)
        services.publish(course.draft, actor=trainer)
        db.session.commit()
        return course, course.published_version.lessons()[0]

    return make


def player_of(page: str) -> tuple[str, dict]:
    """The framed URL and the initial CMI of a lesson page. The frame gets its ``src`` from the player script
    once the runtime listens (the browser test proves why), so the page carries it as ``data-src``."""
    frames = [attrs for tag, attrs in Tags(page).tags if tag == "iframe" and attrs.get("id") == "scorm-frame"]
    assert len(frames) == 1, page
    assert "src" not in frames[0], "the package must not load before the runtime listens"
    cmi = re.search(r'<script type="application/json" id="scorm-cmi">(.*?)</script>', page, re.S)
    return frames[0]["data-src"], json.loads(cmi.group(1))


def get(client, url: str, **kwargs):
    """GET and read the whole body (package files are streamed; the response must be closed)."""
    response = client.get(url, **kwargs)
    response.get_data()
    response.close()
    return response


def commit(client, course, lesson, data, sco="item_1"):
    return client.post(f"/kursus/{course.code}/pelajaran/{lesson.id}/scorm/{sco}?csrf=x", json=data)


def state_of(enrolment, lesson, sco="item_1") -> ScormState | None:
    db.session.expire_all()
    return db.session.scalar(select(ScormState).where(ScormState.enrolment_id == enrolment.id,
                                                      ScormState.lesson_key == lesson.key, ScormState.sco == sco))


def progress_of(enrolment, lesson) -> LessonProgress:
    db.session.expire_all()
    return db.session.scalar(select(LessonProgress).where(LessonProgress.enrolment_id == enrolment.id,
                                                          LessonProgress.lesson_key == lesson.key))


def test_the_lesson_frames_the_package_from_the_content_origin(client, login, learner, enrol, scorm_course):
    course, lesson = scorm_course(sample(GOLF_12))
    enrolment = enrol(learner, course)
    login(learner)
    response = client.get(f"/kursus/SC-01/pelajaran/{lesson.id}")  # served to http://localhost
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    src, cmi = player_of(page)
    match = re.fullmatch(r"http://127\.0\.0\.1/scorm/([^/]+)/__bangkom__/player\.html", src)
    assert match, src
    token = match.group(1)
    assert "frame-src 'self' http://127.0.0.1" in response.headers["Content-Security-Policy"]
    frame = next(attrs for tag, attrs in Tags(page).tags if attrs.get("id") == "scorm-frame")
    assert "allow-scripts" in frame["sandbox"]
    assert "allow-top-navigation" not in frame["sandbox"]
    assert cmi["cmi.core.student_name"] == "Budi Santoso"
    assert cmi["cmi.core.entry"] == "ab-initio"
    assert f'data-commit="/kursus/SC-01/pelajaran/{lesson.id}/scorm/item_1?csrf=' in page

    # The player page on the content origin: it loads the runtime and frames the SCO.
    player = client.get(src)
    assert player.status_code == 200
    assert "frame-ancestors 'self' http://localhost" in player.headers["Content-Security-Policy"]
    assert player.headers.get("X-Frame-Options", "") == ""
    tags = Tags(player.get_data(as_text=True))
    assert tags.values("src") == [f"/scorm/{token}/__bangkom__/runtime.js", f"/scorm/{token}/shared/launchpage.html"]

    runtime = get(client, f"http://127.0.0.1/scorm/{token}/__bangkom__/runtime.js")
    assert runtime.status_code == 200
    assert runtime.mimetype == "text/javascript"
    script = runtime.get_data(as_text=True)
    assert 'new CrossFrameAPI("http://localhost",window.parent)' in script
    assert '"cmi.core.student_name": "Budi Santoso"' in script

    launch = get(client, f"http://127.0.0.1/scorm/{token}/shared/launchpage.html")
    assert launch.status_code == 200
    assert launch.mimetype == "text/html"
    assert b"<title>Course Launch Page</title>" in launch.data
    assert "frame-ancestors 'self' http://localhost" in launch.headers["Content-Security-Policy"]
    assert "sandbox" not in launch.headers["Content-Security-Policy"]
    image = get(client, f"http://127.0.0.1/scorm/{token}/Playing/par.jpg")
    assert (image.status_code, image.mimetype) == (200, "image/jpeg")
    assert get(client, f"http://127.0.0.1/scorm/{token}/Playing/tidak-ada.html").status_code == 404

    # Never on the application's own origin, where the package's scripts would see its cookies.
    for path in ("shared/launchpage.html", "__bangkom__/player.html", "__bangkom__/runtime.js"):
        assert get(client, f"/scorm/{token}/{path}").status_code == 404, path
    assert enrolment.id


def test_package_files_need_a_valid_token_and_stay_in_the_package(client, login, learner, enrol, scorm_course,
                                                                    monkeypatch):
    course, lesson = scorm_course(sample(GOLF_12))
    enrol(learner, course)
    login(learner)
    src, _cmi = player_of(client.get(f"/kursus/SC-01/pelajaran/{lesson.id}").get_data(as_text=True))
    token = src.split("/")[4]
    base = "http://127.0.0.1/scorm"
    assert get(client, f"{base}/{token}/shared/launchpage.html").status_code == 200

    forged = token[:-3] + ("AAA" if token[-3:] != "AAA" else "BBB")
    assert get(client, f"{base}/{forged}/shared/launchpage.html").status_code == 404
    assert get(client, f"{base}/not-a-token/shared/launchpage.html").status_code == 404
    other_lesson = scorm.make_token(lesson_id=lesson.id + 999, enrolment_id=None, sco="item_1",
                                    app_origin="http://localhost")
    assert get(client, f"{base}/{other_lesson}/shared/launchpage.html").status_code == 404

    # Out of the package: the stored zip is two folders up, the instance folder three.
    digest = lesson.file_sha256
    for path in (f"../../files/{digest[:2]}/{digest[2:4]}/{digest}", "%2e%2e/%2e%2e/files",
                 f"..%2F..%2Ffiles%2F{digest[:2]}%2F{digest[2:4]}%2F{digest}", "shared/../../../test.db",
                 "shared/"):
        assert get(client, f"{base}/{token}/{path}").status_code == 404, path

    # Tokens expire.
    later = TimestampSigner.get_timestamp

    def in_13_hours(self):
        return later(self) + 13 * 3600

    monkeypatch.setattr(TimestampSigner, "get_timestamp", in_13_hours)
    assert get(client, f"{base}/{token}/shared/launchpage.html").status_code == 404
    monkeypatch.setattr(scorm, "TOKEN_HOURS", 24)
    assert get(client, f"{base}/{token}/shared/launchpage.html").status_code == 200


def test_commits_are_stored_and_complete_the_lesson_12(client, login, learner, enrol, scorm_course):
    course, lesson = scorm_course(sample(GOLF_12))
    enrolment = enrol(learner, course)
    login(learner)
    client.get(f"/kursus/SC-01/pelajaran/{lesson.id}")

    response = commit(client, course, lesson, {
        "cmi.core.lesson_location": "3", "cmi.suspend_data": "halaman=3", "cmi.core.lesson_status": "incomplete",
        "cmi.core.session_time": "0000:01:10", "cmi.core.exit": "suspend",
        "cmi.core.student_id": "orang-lain", "cmi.core.student_name": "Orang Lain", "cmi.core.entry": "ab-initio",
        "cmi.core.credit": "no-credit", "cmi.launch_data": "x",
        "bukan.cmi": "abaikan", "cmi.objectives": {"nested": "objects are ignored"},
    })
    assert response.status_code == 200
    assert response.json == {"result": True, "errorCode": 0, "lesson_state": "in_progress",
                             "course_state": "active", "percent": 0}
    state = state_of(enrolment, lesson)
    assert state.cmi == {"cmi.core.lesson_location": "3", "cmi.suspend_data": "halaman=3",
                         "cmi.core.lesson_status": "incomplete", "cmi.core.session_time": "0000:01:10",
                         "cmi.core.exit": "suspend", "cmi.launch_data": "x"}
    assert state.commits == 1

    # Coming back: what was saved, who the learner is (not what the package claimed), and "resume".
    page = client.get(f"/kursus/SC-01/pelajaran/{lesson.id}").get_data(as_text=True)
    src, cmi = player_of(page)
    assert cmi["cmi.core.lesson_location"] == "3"
    assert cmi["cmi.suspend_data"] == "halaman=3"
    assert cmi["cmi.core.entry"] == "resume"
    assert (cmi["cmi.core.student_id"], cmi["cmi.core.student_name"]) == (str(learner.id), "Budi Santoso")
    assert "cmi.core.session_time" not in cmi
    assert "cmi.core.exit" not in cmi
    token = src.split("/")[4]
    script = get(client, f"http://127.0.0.1/scorm/{token}/__bangkom__/runtime.js").get_data(as_text=True)
    assert '"cmi.core.lesson_location": "3"' in script
    assert '"cmi.core.entry": "resume"' in script

    response = commit(client, course, lesson, {"cmi.core.lesson_status": "failed", "cmi.core.score.raw": "40",
                                               "cmi.core.score.max": "100"})
    assert response.json["lesson_state"] == "in_progress"
    assert progress_of(enrolment, lesson).score == 40
    response = commit(client, course, lesson, {"cmi.core.lesson_status": "passed", "cmi.core.score.raw": "85",
                                               "cmi.core.score.min": "0", "cmi.core.score.max": "100"})
    assert response.json == {"result": True, "errorCode": 0, "lesson_state": "done", "course_state": "completed",
                             "percent": 100}
    row = progress_of(enrolment, lesson)
    assert (row.state, row.score) == ("done", 85)
    state = state_of(enrolment, lesson)
    assert state.commits == 3
    assert state.cmi["cmi.core.lesson_location"] == "3", "a commit keeps what earlier commits stored"
    assert db.session.get(Enrolment, enrolment.id).state == "completed"

    # A later "incomplete" does not undo the lesson.
    commit(client, course, lesson, {"cmi.core.lesson_status": "incomplete"})
    assert progress_of(enrolment, lesson).state == "done"


def test_commits_complete_the_lesson_2004(client, login, learner, enrol, scorm_course):
    course, lesson = scorm_course(sample(GOLF_2004))
    enrolment = enrol(learner, course)
    login(learner)
    page = client.get(f"/kursus/SC-01/pelajaran/{lesson.id}").get_data(as_text=True)
    assert "vendor/scorm-again/scorm2004.min.js" in page
    _src, cmi = player_of(page)
    assert (cmi["cmi.learner_name"], cmi["cmi.entry"]) == ("Budi Santoso", "ab-initio")

    response = commit(client, course, lesson, {"cmi.location": "5", "cmi.suspend_data": "s",
                                               "cmi.completion_status": "incomplete", "cmi.learner_id": "x",
                                               "cmi.session_time": "PT1M", "cmi.exit": "suspend"})
    assert response.json["lesson_state"] == "in_progress"
    _src, cmi = player_of(client.get(f"/kursus/SC-01/pelajaran/{lesson.id}").get_data(as_text=True))
    assert (cmi["cmi.location"], cmi["cmi.suspend_data"], cmi["cmi.entry"]) == ("5", "s", "resume")
    assert cmi["cmi.learner_id"] == str(learner.id)
    assert "cmi.session_time" not in cmi
    assert "cmi.exit" not in cmi

    response = commit(client, course, lesson, {"cmi.completion_status": "completed", "cmi.success_status": "unknown",
                                               "cmi.score.scaled": "0.9", "cmi.score.raw": "90"})
    assert response.json["lesson_state"] == "done"
    assert (progress_of(enrolment, lesson).state, progress_of(enrolment, lesson).score) == ("done", 90)


def test_a_2004_package_that_only_reports_success_completes(client, login, learner, enrol, scorm_course):
    course, lesson = scorm_course(sample(GOLF_2004))
    enrolment = enrol(learner, course)
    login(learner)
    commit(client, course, lesson, {"cmi.completion_status": "incomplete", "cmi.success_status": "failed",
                                    "cmi.score.scaled": "0.5"})
    assert (progress_of(enrolment, lesson).state, progress_of(enrolment, lesson).score) == ("in_progress", 50)
    commit(client, course, lesson, {"cmi.success_status": "passed", "cmi.score.scaled": "0.75"})
    assert (progress_of(enrolment, lesson).state, progress_of(enrolment, lesson).score) == ("done", 75)


def test_commits_are_checked(client, login, learner, enrol, scorm_course, make_course, monkeypatch):
    course, lesson = scorm_course(sample(GOLF_12))
    enrolment = enrol(learner, course)
    login(learner)
    assert commit(client, course, lesson, {"cmi.core.lesson_status": "passed"}, sco="item_9").status_code == 404
    assert commit(client, course, lesson, ["cmi.core.lesson_status", "passed"]).status_code == 400
    response = client.post(f"/kursus/SC-01/pelajaran/{lesson.id}/scorm/item_1?csrf=x", data=b"{not json",
                           content_type="application/json")
    assert response.status_code == 400
    # A beacon sends its JSON as text/plain.
    response = client.post(f"/kursus/SC-01/pelajaran/{lesson.id}/scorm/item_1?csrf=x",
                           data=json.dumps({"cmi.core.lesson_location": "7"}), content_type="text/plain")
    assert response.status_code == 200
    assert state_of(enrolment, lesson).cmi == {"cmi.core.lesson_location": "7"}
    monkeypatch.setattr(scorm, "MAX_CMI_BYTES", 100)
    assert commit(client, course, lesson, {"cmi.suspend_data": "x" * 200}).status_code == 413
    assert state_of(enrolment, lesson).cmi == {"cmi.core.lesson_location": "7"}
    # Not a SCORM lesson.
    text = make_course(code="TX-01", lessons=("Pengantar",))
    enrol(learner, text)
    assert commit(client, text, text.published_version.lessons()[0], {}).status_code == 404


def test_the_csrf_token_in_the_url_is_checked(app, client, login, learner, enrol, scorm_course, monkeypatch):
    course, lesson = scorm_course(sample(GOLF_12))
    enrolment = enrol(learner, course)
    login(learner)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    page = client.get(f"/kursus/SC-01/pelajaran/{lesson.id}").get_data(as_text=True)
    url = re.search(r'data-commit="([^"]+)"', page).group(1).replace("&amp;", "&")
    bad = client.post(url.split("?")[0] + "?csrf=palsu", json={"cmi.core.lesson_location": "1"})
    assert bad.status_code == 400
    assert client.post(url.split("?")[0], json={"cmi.core.lesson_location": "1"}).status_code == 400
    assert state_of(enrolment, lesson) is None
    assert client.post(url, json={"cmi.core.lesson_location": "2"}).status_code == 200
    assert state_of(enrolment, lesson).cmi == {"cmi.core.lesson_location": "2"}


def test_others_cannot_read_or_write_a_learners_package(app, client, login, learner, make_user, enrol,
                                                         scorm_course):
    course, lesson = scorm_course(sample(GOLF_12))
    other_course, _other_lesson = scorm_course(sample(GOLF_12), code="SC-02")
    enrolment = enrol(learner, course)
    stranger = make_user(full_name="Siti Aminah", locale="en")
    enrol(stranger, other_course)
    login(learner)
    commit(client, course, lesson, {"cmi.core.lesson_location": "4", "cmi.suspend_data": "rahasia"})

    other = app.test_client()
    other.post("/akun/masuk", data={"login": stranger.email, "password": "correct horse 1"})
    assert other.get(f"/kursus/SC-01/pelajaran/{lesson.id}").status_code == 404
    assert commit(other, course, lesson, {"cmi.core.lesson_status": "passed"}).status_code == 404
    # Through the course they are enrolled in, with the other course's lesson: still no.
    assert commit(other, other_course, lesson, {"cmi.core.lesson_status": "passed"}).status_code == 404
    assert state_of(enrolment, lesson).cmi == {"cmi.core.lesson_location": "4", "cmi.suspend_data": "rahasia"}
    assert progress_of(enrolment, lesson).state == "in_progress"

    # Enrolled in the same course, they get their own data, not the first learner's.
    theirs = enrol(stranger, course)
    src, cmi = player_of(other.get(f"/kursus/SC-01/pelajaran/{lesson.id}").get_data(as_text=True))
    assert "cmi.suspend_data" not in cmi
    assert cmi["cmi.core.entry"] == "ab-initio"
    script = get(other, src.replace("player.html", "runtime.js")).get_data(as_text=True)
    assert "rahasia" not in script
    assert "Siti Aminah" in script
    assert commit(other, course, lesson, {"cmi.core.lesson_status": "passed"}).json["lesson_state"] == "done"
    assert progress_of(theirs, lesson).state == "done"
    assert progress_of(enrolment, lesson).state == "in_progress"

    # Signed out: nothing.
    anonymous = app.test_client()
    response = commit(anonymous, course, lesson, {"cmi.core.lesson_status": "passed"})
    assert response.status_code in (302, 401)
    assert progress_of(enrolment, lesson).state == "in_progress"


def test_a_trainer_previews_without_storing(client, login, trainer, scorm_course):
    course, lesson = scorm_course(sample(GOLF_12))
    login(trainer)
    page = client.get(f"/kursus/SC-01/pelajaran/{lesson.id}").get_data(as_text=True)
    src, cmi = player_of(page)
    assert src.startswith("http://127.0.0.1/scorm/")
    response = commit(client, course, lesson, {"cmi.core.lesson_status": "passed"})
    assert response.json == {"result": True, "errorCode": 0, "preview": True}
    assert db.session.scalar(select(ScormState)) is None
    assert "Preview" in get(client, src.replace("player.html", "runtime.js")).get_data(as_text=True)


def test_a_multi_sco_lesson_completes_when_every_sco_does(client, login, learner, enrol, scorm_course):
    items = ('<item identifier="item_a" identifierref="res_a" parameters="bab=1"><title>Bab 1</title></item>'
             '<item identifier="item_b" identifierref="res_b"><title>Bab 2</title></item>')
    resources = ('<resource identifier="res_a" type="webcontent" adlcp:scormtype="sco" href="bab1/index.html"/>'
                 '<resource identifier="res_b" type="webcontent" adlcp:scormtype="sco" href="bab2/index.html"/>')
    data = package({"bab1/index.html": PAGE, "bab2/index.html": PAGE},
                   with_manifest=manifest(items=items, resources=resources))
    course, lesson = scorm_course(data)
    enrolment = enrol(learner, course)
    login(learner)
    page = client.get(f"/kursus/SC-01/pelajaran/{lesson.id}").get_data(as_text=True)
    assert "Bab 1" in page
    assert "Bab 2" in page
    src_a, _cmi = player_of(page)
    src_b, _cmi = player_of(client.get(f"/kursus/SC-01/pelajaran/{lesson.id}?sco=item_b").get_data(as_text=True))
    assert src_a != src_b
    assert Tags(get(client, src_a).get_data(as_text=True)).values("src")[1].endswith("/bab1/index.html?bab=1")
    assert Tags(get(client, src_b).get_data(as_text=True)).values("src")[1].endswith("/bab2/index.html")

    assert commit(client, course, lesson, {"cmi.core.lesson_status": "passed", "cmi.core.score.raw": "60"},
                  sco="item_a").json["lesson_state"] == "in_progress"
    assert commit(client, course, lesson, {"cmi.core.lesson_status": "completed", "cmi.core.score.raw": "80"},
                  sco="item_b").json["lesson_state"] == "done"
    assert progress_of(enrolment, lesson).score == 70


@pytest.mark.parametrize(("rule", "value"), [("score", 80), ("viewed", None), ("min_time", 1)])
def test_a_trainer_chosen_rule_for_packages_that_never_report(client, login, learner, enrol, scorm_course,
                                                               rule, value):
    course, lesson = scorm_course(package(), completion_rule=rule, completion_value=value)
    enrolment = enrol(learner, course)
    login(learner)
    client.get(f"/kursus/SC-01/pelajaran/{lesson.id}")
    if rule == "viewed":
        assert progress_of(enrolment, lesson).state == "done"
        return
    # The package's own status does not decide under these rules.
    commit(client, course, lesson, {"cmi.core.lesson_status": "completed", "cmi.core.score.raw": "70"})
    assert progress_of(enrolment, lesson).state == "in_progress"
    if rule == "score":
        commit(client, course, lesson, {"cmi.core.score.raw": "80"})
    else:
        services.record_visit(enrolment, lesson, seconds=60)
        db.session.commit()
    assert progress_of(enrolment, lesson).state == "done"


@pytest.mark.parametrize("setup", ["content-url", "no-separate-origin"])
def test_a_configured_content_origin_or_an_opaque_sandbox(app, learner, enrol, scorm_course, monkeypatch, setup):
    """Production names its content origin (LMS_CONTENT_URL); with none, and no loopback name to switch to,
    the package runs in an opaque sandbox (iframe and CSP) on the application's own host."""
    if setup == "content-url":
        monkeypatch.setitem(app.config, "CONTENT_URL", "https://konten.bangkom.example")
    course, lesson = scorm_course(sample(GOLF_12))
    enrol(learner, course)
    client = app.test_client()
    client.environ_base.update({"HTTP_HOST": "bangkom.example", "wsgi.url_scheme": "https"})
    client.post("https://bangkom.example/akun/masuk", data={"login": learner.email, "password": "correct horse 1"})
    response = client.get(f"https://bangkom.example/kursus/SC-01/pelajaran/{lesson.id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    src, _cmi = player_of(page)
    sandbox = next(attrs for tag, attrs in Tags(page).tags if attrs.get("id") == "scorm-frame")["sandbox"]
    token = src.split("/scorm/")[1].split("/")[0]
    launch = f"/scorm/{token}/shared/launchpage.html"
    if setup == "content-url":
        assert src == f"https://konten.bangkom.example/scorm/{token}/__bangkom__/player.html"
        assert "allow-same-origin" in sandbox
        assert "frame-src 'self' https://konten.bangkom.example" in response.headers["Content-Security-Policy"]
        served = get(client, "https://konten.bangkom.example" + launch, environ_overrides={
            "HTTP_HOST": "konten.bangkom.example"})
        assert served.status_code == 200
        assert served.headers["Content-Security-Policy"].endswith("frame-ancestors 'self' https://bangkom.example")
        assert get(client, "https://bangkom.example" + launch).status_code == 404
    else:
        assert src == f"/scorm/{token}/__bangkom__/player.html"
        assert "allow-same-origin" not in sandbox, "an opaque origin: no cookies, no storage of the application"
        served = get(client, "https://bangkom.example" + launch)
        assert served.status_code == 200
        assert "; sandbox allow-scripts" in served.headers["Content-Security-Policy"]
        assert "allow-same-origin" not in served.headers["Content-Security-Policy"]
