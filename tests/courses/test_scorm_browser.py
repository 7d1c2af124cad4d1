"""The "Golf Explained" SCORM samples played in headless Chromium: a learner signs in through the real form,
opens the lesson, pages through the package (its bookmark is committed to the server), reloads and is offered
to resume where they stopped, then answers the quiz: the package reports status and score, the server stores
them and the lesson and the course are done.

The application runs on a live server on http://127.0.0.1:<port>; the package is served from the other loopback
name, http://localhost:<port>, a different origin that never sees the application's cookies: script in the
package reaches the server only through the runtime. The package is framed only once that runtime listens, so
its first calls are not lost when the runtime's script arrives late.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import select

from courses import services
from courses.models import Enrolment, LessonProgress, ScormState
from lms.extensions import db
from tests.browser_support import BROWSER, sign_in, wait_for

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "scorm"
PAGES = ["Playing/Playing.html", "Playing/Par.html", "Playing/Scoring.html", "Playing/OtherScoring.html",
         "Playing/RulesOfGolf.html", "Etiquette/Course.html", "Etiquette/Distracting.html", "Etiquette/Play.html",
         "Handicapping/Overview.html", "Handicapping/CalculatingHandicap.html",
         "Handicapping/CalculatingScore.html", "Handicapping/Example.html", "HavingFun/HowToHaveFun.html",
         "HavingFun/MakeFriends.html", "shared/assessmenttemplate.html?questions=Playing&questions=Etiquette"
         "&questions=Handicapping&questions=HavingFun"]
# Where each SCORM version keeps what the golf course reports.
KEYS = {
    "1.2": {"location": "cmi.core.lesson_location", "status": "cmi.core.lesson_status",
            "score": "cmi.core.score.raw"},
    "2004": {"location": "cmi.location", "status": "cmi.success_status", "score": "cmi.score.raw"},
}

# live_server and browser are the shared fixtures of tests/browser_support.py.
pytestmark = BROWSER


@pytest.fixture
def golf_course(make_course, trainer, learner):
    """``golf_course(file name)`` → (enrolment id, lesson id, learner's e-mail): the learner is enrolled in a
    course whose only lesson is the package; the test's session is closed so the live server can write."""

    def make(name: str):
        path = SAMPLES / name
        if not path.is_file():
            pytest.fail(f"the SCORM sample {path} is missing (see tests/fixtures/README.md)")
        course = make_course(code="GL-01", title="Golf", modules={"Modul SCORM": []}, publish=False)
        with path.open("rb") as stream:
            services.add_scorm_lesson(course.draft.modules[0], stream, file_name=name)
        services.publish(course.draft, actor=trainer)
        enrolment = services.enrol(learner, course)
        db.session.commit()
        ids = enrolment.id, course.published_version.lessons()[0].id, learner.email
        db.session.close()
        return ids

    return make


def stored_cmi(enrolment_id: int) -> dict:
    state = db.session.scalar(select(ScormState).where(ScormState.enrolment_id == enrolment_id))
    return dict(state.cmi) if state else {}


def lesson_row(enrolment_id: int) -> tuple | None:
    row = db.session.scalar(select(LessonProgress).where(LessonProgress.enrolment_id == enrolment_id))
    enrolment = db.session.get(Enrolment, enrolment_id)
    return (row.state, row.score, enrolment.state) if row else None


def frame_at(page, suffix: str, timeout: float = 8.0):
    """The page's frame whose URL path ends with ``suffix``, once it exists."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [f for f in page.frames if f.url.split("?")[0].endswith(suffix)]
        if found:
            return found[0]
        page.wait_for_timeout(100)
    pytest.fail(f"no frame {suffix} in {[f.url for f in page.frames]}")


def play(browser, base: str, email: str, enrolment_id: int, lesson_id: int, version: str) -> None:
    from playwright.sync_api import expect

    keys = KEYS[version]
    page = browser.new_page()
    page.set_default_timeout(8000)
    dialogs: list[str] = []
    errors: list[str] = []

    def accept(dialog):
        dialogs.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    page.on("pageerror", lambda error: errors.append(str(error)))

    sign_in(page, base, email)
    page.goto(f"{base}/kursus/GL-01/pelajaran/{lesson_id}")
    frame = page.locator("#scorm-frame")
    content = base.replace("127.0.0.1", "localhost")
    assert frame.get_attribute("src").startswith(f"{content}/scorm/")
    sco = page.frame_locator("#scorm-frame").frame_locator("iframe")
    shown = sco.locator("#contentFrame")
    expect(shown).to_have_attribute("src", "../" + PAGES[0])
    assert dialogs == [], "a first visit starts at the beginning without asking"
    for number in (1, 2, 3):
        sco.locator("#butNext").click()
        expect(shown).to_have_attribute("src", "../" + PAGES[number])

    # The runtime commits by itself (every 3 s after a change): the bookmark reaches the server.
    cmi = wait_for(lambda: stored_cmi(enrolment_id), lambda cmi: cmi.get(keys["location"]) == "3",
                   what="the bookmark")
    assert not any(key in cmi for key in ("cmi.core.student_id", "cmi.learner_id", "cmi.core.entry", "cmi.entry"))
    assert lesson_row(enrolment_id)[0] == "in_progress"

    # Leaving and coming back: the package offers to resume and lands on the stored page.
    page.reload()
    expect(shown).to_have_attribute("src", "../" + PAGES[3])
    assert dialogs == ["Would you like to resume from where you previously left off?"]
    expect(sco.locator("#butPrevious")).to_be_enabled()

    # To the end: the last page is the quiz; the right answers are marked in its markup.
    for number in range(4, len(PAGES)):
        sco.locator("#butNext").click()
        expect(shown).to_have_attribute("src", "../" + PAGES[number])
    quiz = sco.frame_locator("#contentFrame")
    expect(quiz.locator("h1")).to_have_text("Knowledge Check")
    answered = quiz.locator("#frmTest").evaluate("""form => {
        const inputs = [...form.querySelectorAll(".correctAnswer input")];
        for (const input of inputs) {
            if (input.type === "radio") { input.checked = true; }
            else { input.value = /\\((\\d+)\\)/.exec(input.parentNode.textContent)[1]; }
        }
        return inputs.length;
    }""")
    assert answered >= 10
    quiz.locator("input[value='Submit Answers']").click()
    expect(quiz.locator("h3").first).to_have_text("Score: 100")
    # Exit: the package finishes (LMSFinish / Terminate), which commits at once.
    sco.locator("#butExit").click()

    cmi = wait_for(lambda: stored_cmi(enrolment_id), lambda cmi: cmi.get(keys["status"]) == "passed",
                   timeout=2.5, what="the quiz result, committed when the package finishes")
    assert float(cmi[keys["score"]]) == 100
    if version == "1.2":
        assert cmi["cmi.core.score.max"] == "100"
    else:
        assert (cmi["cmi.completion_status"], float(cmi["cmi.score.scaled"])) == ("completed", 1)
    assert lesson_row(enrolment_id) == ("done", 100, "completed")
    expect(page.locator(".scorm-status")).to_have_text("Your progress in this package has been saved.")
    assert errors == [], errors
    page.close()


@pytest.mark.parametrize(("name", "version"), [
    pytest.param("RuntimeBasicCalls_SCORM12.zip", "1.2", id="scorm-1.2"),
    pytest.param("RuntimeBasicCalls_SCORM20043rdEdition.zip", "2004", id="scorm-2004"),
])
def test_golf_plays_reports_and_resumes(live_server, browser, golf_course, name, version):
    enrolment_id, lesson_id, email = golf_course(name)
    play(browser, live_server, email, enrolment_id, lesson_id, version)


def test_the_package_cannot_reach_the_application(live_server, browser, golf_course):
    """Script in the package frame runs on the content origin: no cookies, no application pages, and the
    runtime it talks to is the only way to the server."""
    enrolment_id, lesson_id, email = golf_course("RuntimeBasicCalls_SCORM12.zip")
    page = browser.new_page()
    page.set_default_timeout(8000)
    sign_in(page, live_server, email)
    page.goto(f"{live_server}/kursus/GL-01/pelajaran/{lesson_id}")
    sco_frame = frame_at(page, "/shared/launchpage.html")
    assert sco_frame.url.startswith(live_server.replace("127.0.0.1", "localhost"))
    probe = sco_frame.evaluate("""async (app) => {
        const out = {cookie: document.cookie};
        try { out.parent = window.top.document.title; } catch (e) { out.parent = "blocked"; }
        try {
            const r = await fetch(app + "/", {credentials: "include"});
            out.fetch = r.status;
        } catch (e) { out.fetch = "blocked"; }
        out.api = typeof window.parent.API.LMSSetValue;
        return out;
    }""", live_server)
    assert probe == {"cookie": "", "parent": "blocked", "fetch": "blocked", "api": "function"}
    # Setting values through the API is the one way in, and it lands in the learner's own record.
    sco_frame.evaluate("""() => {
        const api = window.parent.API;
        api.LMSSetValue("cmi.core.lesson_status", "passed");
        api.LMSSetValue("cmi.core.score.raw", "88");
        api.LMSSetValue("cmi.core.score.max", "100");
        api.LMSCommit("");
    }""")
    cmi = wait_for(lambda: stored_cmi(enrolment_id), lambda cmi: cmi.get("cmi.core.lesson_status") == "passed",
                   what="the commit")
    assert cmi["cmi.core.score.raw"] == "88"
    assert lesson_row(enrolment_id) == ("done", 88, "completed")
    page.close()


def test_the_package_starts_only_when_the_runtime_listens(live_server, browser, golf_course):
    """On a slow connection the lesson page's runtime script may arrive after the package has loaded; the
    package's first calls (LMSInitialize) must not be lost, or nothing it stores afterwards is kept."""
    from playwright.sync_api import expect

    enrolment_id, lesson_id, email = golf_course("RuntimeBasicCalls_SCORM12.zip")
    page = browser.new_page()
    page.set_default_timeout(8000)
    sign_in(page, live_server, email)
    held = []
    page.route("**/vendor/scorm-again/scorm12.min.js", lambda route: held.append(route))
    page.goto(f"{live_server}/kursus/GL-01/pelajaran/{lesson_id}", wait_until="commit")
    page.wait_for_timeout(2000)  # the package would load meanwhile
    assert held, "the runtime script was requested and held"
    for route in held:
        route.continue_()
    sco = page.frame_locator("#scorm-frame").frame_locator("iframe")
    shown = sco.locator("#contentFrame")
    expect(shown).to_have_attribute("src", "../" + PAGES[0])
    sco.locator("#butNext").click()
    sco.locator("#butNext").click()
    expect(shown).to_have_attribute("src", "../" + PAGES[2])
    wait_for(lambda: stored_cmi(enrolment_id), lambda cmi: cmi.get("cmi.core.lesson_location") == "2",
             what="the bookmark")
    page.close()
