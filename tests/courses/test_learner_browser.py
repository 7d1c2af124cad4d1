"""A learner in headless Chromium, on a desktop and on a phone: finds a course in the catalog, enrols, studies a
text lesson and a PDF, leaves, comes back with "Lanjutkan belajar" to the lesson where they stopped, watches
the video (with captions), plays the SCORM package to "passed", and sees the course completed and its JP
counted on the home page.

Then a trainer, in the browser, opens a draft, changes a lesson's text and publishes version 2: a learner who
completed version 1 and one half-way through it keep seeing version 1 until the trainer moves the enrolled
learners; the half-way learner then keeps what they did on the lessons that did not change.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from courses import services
from courses.demo import ASSETS
from courses.models import Course, Enrolment
from lms.extensions import db
from lms.models import User
from lms.storage import sniff, store
from tests.browser_support import (
    BROWSER,
    DESKTOP,
    PHONE,
    VIEWPORTS,
    open_menu,
    say,
    sign_in,
    snap,
    wait_for,
)

pytestmark = BROWSER

GOLF = Path(__file__).resolve().parents[1] / "fixtures" / "scorm" / "RuntimeBasicCalls_SCORM12.zip"
OLD_TEXT = "Arsip dinamis adalah arsip yang digunakan secara langsung dalam kegiatan pencipta arsip."
NEW_TEXT = "Arsip dinamis terdiri atas arsip vital, arsip aktif, dan arsip inaktif."


def _asset(name: str) -> dict:
    """A real file of the demo (a PDF, a WebM video, WebVTT captions) in the store, as lesson fields."""
    data = (ASSETS / name).read_bytes()
    return {"file_sha256": store().put_bytes(data), "file_name": name, "file_type": sniff(data[:64]),
            "file_size": len(data)}


@pytest.fixture
def archive_course(make_course, trainer):
    """AR-01 "Pengelolaan Arsip Digital", 6 JP, published: a text lesson and a PDF, then a video with captions
    and the golf SCORM 1.2 package (completed by the package's own status). Another course is published too,
    so that the search has something to leave out. The test's session is closed: the live server writes."""
    if not GOLF.is_file():
        pytest.fail(f"the SCORM sample {GOLF} is missing (see tests/fixtures/README.md)")
    make_course(code="KP-01", title="Kepemimpinan Pelayanan Publik", lessons=["Gaya kepemimpinan"])
    video = _asset("siklus-proyek.webm") | {
        "captions_sha256": store().put_bytes((ASSETS / "siklus-proyek.vtt").read_bytes())}
    course = make_course(code="AR-01", title="Pengelolaan Arsip Digital", jp=6, publish=False, modules={
        "Mengenal arsip": [
            {"kind": "text", "title": "Apa itu arsip dinamis?", "body_markdown": OLD_TEXT, "minutes": 10},
            {"kind": "pdf", "title": "Modul pengelolaan arsip (PDF)", "minutes": 20,
             **_asset("modul-pelayanan-prima.pdf")},
        ],
        "Praktik": [
            {"kind": "video", "title": "Siklus hidup arsip (video)", "minutes": 5, **video},
        ],
    })
    with GOLF.open("rb") as stream:
        services.add_scorm_lesson(course.draft.modules[1], stream, file_name=GOLF.name,
                                  title="Paket SCORM: Golf Explained", minutes=20)
    services.publish(course.draft, actor=trainer, change_summary="Versi pertama.")
    db.session.commit()
    lessons = course.published_version.lessons()
    info = SimpleNamespace(id=course.id, code=course.code, title=course.title, jp=course.jp,
                           lesson_ids=[lesson.id for lesson in lessons], titles=[lesson.title for lesson in lessons],
                           trainer_email=trainer.email)
    db.session.close()
    return info


def enrolment_of(email: str) -> tuple[str, int] | None:
    row = db.session.execute(select(Enrolment.state, Enrolment.progress_percent).join(User, User.id == Enrolment.user_id)
                             .where(User.email == email)).first()
    return tuple(row) if row else None


def wait_for_frame(page, check, *, what: str, timeout: float = 8.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [f for f in page.frames if check(f)]
        if found:
            return found[0]
        page.wait_for_timeout(100)
    pytest.fail(f"no frame for {what} in {[f.url for f in page.frames]}")


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_learner_finds_enrols_studies_resumes_and_completes(app, live_server, new_page, archive_course, issuer, make_user,
                                                              viewport):
    from playwright.sync_api import expect

    course = archive_course
    email = make_user(full_name="Ani Wulandari", email="ani@example.go.id", locale="id").email
    db.session.close()
    base = live_server
    shot = f"{viewport['width']}px"

    def lesson_url(n: int) -> str:
        return f"{base}/kursus/{course.code}/pelajaran/{course.lesson_ids[n]}"

    page = new_page(viewport)
    sign_in(page, base, email)

    # Find the course: the catalog is in the navigation, folded behind the menu button on a phone.
    toggle = page.locator(".nav-toggle")
    if viewport is PHONE:
        expect(page.locator("#main-nav")).to_be_hidden()
        open_menu(page)
        expect(toggle).to_have_attribute("aria-expanded", "true")
    else:
        expect(toggle).to_be_hidden()
    page.locator("#main-nav").get_by_role("link", name=say(app, "Courses"), exact=True).click()
    page.wait_for_url(f"{base}/kursus")
    expect(page.locator(".course-card")).to_have_count(2)
    page.fill("#q", "arsip")
    page.get_by_role("button", name=say(app, "Search"), exact=True).click()
    page.wait_for_url(re.compile(r"/kursus\?.*q=arsip"))
    cards = page.locator(".course-card")
    expect(cards).to_have_count(1)
    expect(cards).to_contain_text(f"{course.jp} JP")
    cards.get_by_role("link", name=course.title).click()
    page.wait_for_url(f"{base}/kursus/{course.code}")

    # Enrol with the button: the first lesson opens.
    page.get_by_role("button", name=say(app, "Enrol in this course")).click()
    page.wait_for_url(lesson_url(0))
    expect(page.locator(".flash-success")).to_contain_text(course.title)
    expect(page.locator("#lesson-title")).to_have_text(course.titles[0])
    expect(page.locator(".lesson .prose")).to_have_text(OLD_TEXT)
    expect(page.locator(".lesson-status .badge.ok")).to_have_text(say(app, "Lesson done"))

    # The PDF is shown in the page, from our own origin, as a PDF.
    page.locator(".lesson-nav a[rel=next]").click()
    page.wait_for_url(lesson_url(1))
    expect(page.locator("#lesson-title")).to_have_text(course.titles[1])
    frame = page.locator("iframe.pdf-frame")
    expect(frame).to_be_visible()
    box = frame.bounding_box()
    assert box["width"] > 0.8 * min(viewport["width"], 900) - 64, box
    assert box["height"] > 300, box
    pdf = page.request.get(base + frame.get_attribute("src"))
    assert pdf.ok, pdf.status
    assert pdf.headers["content-type"] == "application/pdf", pdf.headers
    assert pdf.body().startswith(b"%PDF")
    # Chromium shows it with its own viewer, inside the frame (a PDF the page could not show would not be).
    wait_for_frame(page, lambda f: f.url.startswith("chrome-extension://") and f.parent_frame is not None
                   and f.parent_frame.url.endswith(frame.get_attribute("src")), what="the PDF viewer in the frame")
    expect(page.locator("progress[aria-label]").first).to_have_attribute("value", "50")
    snap(page, f"lesson-pdf-{shot}", settle_ms=2000)

    # Leave mid-way; home lists the course in progress; "Lanjutkan belajar" returns to the PDF lesson.
    page.locator("a.brand").click()
    page.wait_for_url(f"{base}/")
    expect(page.locator(".enrolment-list")).to_contain_text(course.title)
    expect(page.locator(".enrolment-list")).to_contain_text("50%")
    assert enrolment_of(email) == ("active", 50)
    db.session.rollback()
    page.get_by_role("link", name=say(app, "Continue learning"), exact=True).click()
    page.wait_for_url(lesson_url(1))
    expect(page.locator("#lesson-title")).to_have_text(course.titles[1])

    # The video loads and plays from the server (which answers range requests), with its captions.
    page.locator(".lesson-nav a[rel=next]").click()
    page.wait_for_url(lesson_url(2))
    page.wait_for_function("""() => {
        const video = document.querySelector("video.video");
        const track = video && video.textTracks[0];
        return video.readyState >= 1 && video.duration > 0 && track && track.cues && track.cues.length > 0;
    }""")
    video = page.locator("video.video")
    expect(video.locator("track")).to_have_attribute("kind", "captions")
    assert video.evaluate("video => video.textTracks[0].mode") == "showing"
    ranged = page.request.get(base + video.get_attribute("src"), headers={"Range": "bytes=100-1099"})
    assert ranged.status == 206, ranged.status
    assert len(ranged.body()) == 1000
    video.evaluate("video => { video.muted = true; return video.play(); }")
    page.wait_for_function("() => document.querySelector('video.video').currentTime > 0.3")
    video.evaluate("video => video.pause()")
    snap(page, f"lesson-video-{shot}")

    # The SCORM package runs in its frame; the learner pages on, then its quiz reports "passed".
    page.locator(".lesson-nav a[rel=next]").click()
    page.wait_for_url(lesson_url(3))
    sco = page.frame_locator("#scorm-frame").frame_locator("iframe")
    shown = sco.locator("#contentFrame")
    expect(shown).to_have_attribute("src", "../Playing/Playing.html")
    sco.locator("#butNext").click()
    expect(shown).to_have_attribute("src", "../Playing/Par.html")
    # What the golf quiz does on "Submit Answers" (driving all 15 pages and the quiz is the SCORM tests' job).
    sco.locator("body").evaluate("""() => {
        const api = window.parent.API;
        api.LMSSetValue("cmi.core.score.raw", "90");
        api.LMSSetValue("cmi.core.score.max", "100");
        api.LMSSetValue("cmi.core.lesson_status", "passed");
        api.LMSCommit("");
    }""")
    wait_for(lambda: enrolment_of(email), lambda value: value == ("completed", 100),
             what="the package's result and the completion")
    expect(page.locator(".scorm-status")).to_have_text(say(app, "Your progress in this package has been saved."))
    snap(page, f"lesson-scorm-{shot}")

    # The course page says so, and the home page counts the JP of this year.
    page.get_by_role("link", name=say(app, "Back to the course")).click()
    page.wait_for_url(f"{base}/kursus/{course.code}")
    expect(page.locator(".course-action .badge.ok")).to_have_text(say(app, "Completed"))
    expect(page.locator(".outline .lesson-item.state-done")).to_have_count(4)
    page.locator("a.brand").click()
    page.wait_for_url(f"{base}/")
    meter = page.locator(".jp-meter")
    year = dt.date.today().year
    expect(meter).to_contain_text(f"{say(app, 'JP this year (%(year)s)', year=year)}: {course.jp} / 20")
    expect(meter.locator("progress")).to_have_attribute("value", str(course.jp))
    expect(page.locator(".enrolment-list").last).to_contain_text(course.title)
    expect(page.get_by_role("link", name=say(app, "Continue learning"), exact=True)).to_have_count(0)
    snap(page, f"home-{shot}")
    assert page.errors == [], page.errors


def test_a_new_version_leaves_enrolled_learners_on_theirs_until_they_are_moved(app, live_server, new_page,
                                                                               archive_course, make_user):
    from playwright.sync_api import expect

    course = archive_course
    base = live_server
    done = make_user(full_name="Ani Wulandari", email="ani@example.go.id", locale="id")
    midway = make_user(full_name="Rudi Hartono", email="rudi@example.go.id", locale="id")
    row = db.session.get(Course, course.id)
    lessons = row.published_version.lessons()
    finished = services.enrol(done, row)
    for lesson in lessons[:3]:
        services.record_visit(finished, lesson)
    services.record_result(finished, lessons[3], completed=True, score=100)
    studying = services.enrol(midway, row)
    for lesson in lessons[:2]:
        services.record_visit(studying, lesson)
    db.session.commit()
    assert (finished.state, studying.progress_percent) == ("completed", 50)
    done_email, midway_email = done.email, midway.email
    db.session.close()

    def accept(dialog):
        dialog.accept()

    # The trainer opens a draft, rewrites the text lesson and publishes version 2.
    desk = new_page(DESKTOP, locale="en-US")
    desk.on("dialog", accept)
    sign_in(desk, base, course.trainer_email)
    desk.goto(f"{base}/kelola/kursus/{course.id}/draf")
    desk.get_by_role("button", name="Open a draft").click()
    expect(desk.locator(".flash-success")).to_contain_text("A draft is open")
    desk.locator(".edit-lessons").get_by_role("link", name=course.titles[0]).click()
    desk.wait_for_url(re.compile(r"/kelola/pelajaran/\d+$"))
    expect(desk.locator("#body_markdown")).to_have_value(OLD_TEXT)
    desk.fill("#body_markdown", NEW_TEXT)
    desk.get_by_role("button", name="Save", exact=True).click()
    desk.wait_for_url(re.compile(rf"/kelola/kursus/{course.id}/draf#lesson-\d+$"))
    desk.fill("#change_summary", "Pengertian arsip dinamis diperbarui.")
    desk.get_by_role("button", name="Publish", exact=True).click()
    desk.wait_for_url(f"{base}/kelola/kursus/{course.id}")
    expect(desk.locator(".flash-success")).to_have_text(f"Version 2 of {course.code} is published.")

    # Both learners still study version 1: the old text, their progress as it was.
    ani = new_page(DESKTOP)
    sign_in(ani, base, done_email)
    ani.goto(f"{base}/kursus/{course.code}")
    expect(ani.locator(".course-head .eyebrow")).to_contain_text("v1")
    expect(ani.locator(".course-action .badge.ok")).to_have_text(say(app, "Completed"))
    ani.locator(".outline").get_by_role("link", name=course.titles[0]).click()
    ani.wait_for_url(f"{base}/kursus/{course.code}/pelajaran/{course.lesson_ids[0]}")
    expect(ani.locator(".lesson .prose")).to_have_text(OLD_TEXT)

    rudi = new_page(DESKTOP)
    sign_in(rudi, base, midway_email)
    rudi.get_by_role("link", name=say(app, "Continue learning"), exact=True).click()
    rudi.wait_for_url(f"{base}/kursus/{course.code}/pelajaran/{course.lesson_ids[1]}")
    rudi.locator(".study-outline").get_by_role("link", name=course.titles[0]).click()
    expect(rudi.locator(".lesson .prose")).to_have_text(OLD_TEXT)
    rudi.goto(f"{base}/kursus/{course.code}")
    expect(rudi.locator(".course-head .eyebrow")).to_contain_text("v1")
    expect(rudi.locator(".course-action strong")).to_have_text("50%")

    # The trainer moves the enrolled learners: the active one goes to version 2, the completed one stays.
    desk.get_by_role("button", name="Move enrolled learners to the current version").click()
    desk.wait_for_url(f"{base}/kelola/kursus/{course.id}")
    expect(desk.locator(".flash-success")).to_contain_text("1 learner(s) moved to version 2")

    rudi.reload()
    expect(rudi.locator(".course-head .eyebrow")).to_contain_text("v2")
    items = rudi.locator(".outline .lesson-item")
    # The changed text lesson is to be studied again; the unchanged PDF stays done.
    expect(items.nth(0)).to_have_class(re.compile(r"\bstate-not_started\b"))
    expect(items.nth(1)).to_have_class(re.compile(r"\bstate-done\b"))
    expect(rudi.locator(".course-action strong")).to_have_text("25%")
    items.nth(0).get_by_role("link").click()
    expect(rudi.locator(".lesson .prose")).to_have_text(NEW_TEXT)
    assert rudi.url != f"{base}/kursus/{course.code}/pelajaran/{course.lesson_ids[0]}"

    ani.reload()
    expect(ani.locator(".lesson .prose")).to_have_text(OLD_TEXT)
    ani.goto(f"{base}/kursus/{course.code}")
    expect(ani.locator(".course-head .eyebrow")).to_contain_text("v1")
    expect(ani.locator(".course-action .badge.ok")).to_have_text(say(app, "Completed"))
    for page in (desk, ani, rudi):
        assert page.errors == [], page.errors
