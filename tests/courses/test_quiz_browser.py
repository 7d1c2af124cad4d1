"""A timed quiz taken in headless Chromium, on a desktop and on a phone: the learner answers questions of
every type, each answer saved as it is given; the connection drops (devtools "offline") and the learner
answers on, told that the answers are kept on the device; the tab is closed while offline; back online,
the attempt page sends what the device kept, the server holds every answer, and the submitted attempt is
graded with all of them.

Also: the countdown reaching zero submits the attempt; an attempt left open past its deadline is closed by
the server; and the page without JavaScript saves and submits with its plain form.
"""

from __future__ import annotations

import datetime as dt
import re
from types import SimpleNamespace

import pytest
from sqlalchemy import select, update

from courses import services
from courses.quizzes.models import Attempt, AttemptItem
from lms.extensions import db
from lms.models import aware_utcnow
from tests.browser_support import BROWSER, DESKTOP, PASSWORD, VIEWPORTS, say, sign_in, snap, wait_for
from tests.courses.quiz_helpers import make_quiz_course

pytestmark = BROWSER

# Positions of make_quiz_course's questions (fixed order, options not shuffled).
SINGLE, MULTI, TRUEFALSE, SHORT, NUMERIC, ORDERING, MATCHING, ESSAY = range(8)
ESSAY_TEXT = "Integritas berarti bertindak jujur dan konsisten, juga saat tidak ada yang melihat."
# Every answer the learner gives, as the server stores it.
ANSWERS = {
    SINGLE: {"choice": 0},
    MULTI: {"choices": [0, 1]},
    TRUEFALSE: {"choice": 0},
    SHORT: {"text": "ASN"},
    NUMERIC: {"text": "20"},
    ORDERING: {"order": [0, 1, 2]},
    MATCHING: {"pairs": {"0": "Kepegawaian", "1": "Administrasi"}},
    ESSAY: {"text": ESSAY_TEXT},
}
KEY_ORDER = ["Rencana", "Laksana", "Evaluasi"]  # the ordering question's items, in the right order
REVIEW_ALL = {"answers": "after_attempt", "correct": "after_attempt", "feedback": "after_attempt"}


@pytest.fixture(autouse=True)
def _csrf_on(app, monkeypatch):
    """The browser sends the CSRF token with every save and submit, as in production."""
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)


@pytest.fixture
def timed_quiz(make_course, trainer, make_user):
    """A published course with a 10-minute post-test asking one question of every type (and an essay), a
    learner enrolled in it; answers and the key are shown after each attempt. The session is closed."""
    course, (lesson,) = make_quiz_course(
        make_course, trainer, code="QZ-01", essay=True,
        quizzes=(("Post-test pelayanan publik", {"kind": "post", "time_limit": 10, "review": REVIEW_ALL}),))
    learner = make_user(full_name="Sari Rahayu", email="sari@example.go.id", locale="id")
    services.enrol(learner, course)
    db.session.commit()
    info = SimpleNamespace(code=course.code, lesson_id=lesson.id, email=learner.email)
    db.session.close()
    return info


def responses(attempt_id: int) -> dict[int, dict | None]:
    return dict(db.session.execute(select(AttemptItem.position, AttemptItem.response)
                                   .where(AttemptItem.attempt_id == attempt_id)).all())


def attempt_row(attempt_id: int) -> Attempt:
    return db.session.get(Attempt, attempt_id, populate_existing=True)


def start_quiz(app, page, base: str, quiz, *, shot: str | None = None) -> int:
    """From the quiz lesson, start the quiz; the attempt's id."""
    page.goto(f"{base}/kursus/{quiz.code}/pelajaran/{quiz.lesson_id}")
    if shot:
        snap(page, f"quiz-intro-{shot}")
    page.get_by_role("button", name=say(app, "Start the quiz")).click()
    page.wait_for_url(re.compile(r"/percobaan/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


def question(page, position: int):
    return page.locator(f"fieldset.question[data-position='{position}']")


def expect_saved(app, page, position: int) -> None:
    from playwright.sync_api import expect

    state = question(page, position).locator(".save-state")
    expect(state).to_have_attribute("data-state", "saved")
    expect(state).to_have_text(say(app, "Saved"))


def put_in_order(page, position: int, texts: list[str]) -> None:
    """Move the items of an ordering question with the ↑ buttons until they read ``texts``, top to bottom
    (as a learner does: by what they say; the page numbers them as first shown, not by the key)."""
    items = question(page, position).locator(".ordering-item")
    for place, text in enumerate(texts):
        while True:
            current = [t.strip() for t in items.locator(".ordering-text").all_inner_texts()]
            if current.index(text) == place:
                break
            items.filter(has_text=text).locator("[data-move='-1']").click()


def pending_on_device(page) -> dict:
    return page.evaluate("""() => {
        const key = Object.keys(localStorage).find(k => k.startsWith("bangkom-quiz-"));
        return key ? JSON.parse(localStorage.getItem(key)) : {};
    }""")


def no_horizontal_scroll(page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"the page is {width} px wide"


def small_or_unlabelled(page) -> list[str]:
    """Controls of the attempt smaller than a 44 px finger (radios and boxes count by their label), and
    fields without a label."""
    return page.evaluate("""() => {
        const found = [];
        const targets = ".quiz a, .quiz button, .quiz select, .quiz textarea, .quiz .option, "
            + ".quiz input:not([type=hidden]):not([type=radio]):not([type=checkbox])";
        for (const el of document.querySelectorAll(targets)) {
            const box = el.getBoundingClientRect();
            if (el.getClientRects().length && (box.width < 44 || box.height < 44)) {
                found.push(`${el.outerHTML.slice(0, 60)} is ${Math.round(box.width)}×${Math.round(box.height)}`);
            }
        }
        for (const el of document.querySelectorAll(".quiz input:not([type=hidden]), .quiz select, .quiz textarea")) {
            if (!el.labels.length && !el.getAttribute("aria-labelledby")) found.push(`${el.outerHTML.slice(0, 60)} has no label`);
        }
        return found;
    }""")


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_answers_given_offline_survive_a_closed_tab_and_are_all_graded(app, live_server, new_page, timed_quiz,
                                                                      viewport):
    from playwright.sync_api import expect

    base, quiz = live_server, timed_quiz
    shot = f"{viewport['width']}px"
    page = new_page(viewport)
    context = page.context
    sign_in(page, base, quiz.email)
    attempt_id = start_quiz(app, page, base, quiz, shot=shot)
    attempt_url = page.url
    expect(page.locator(".quiz-timer [data-timer]")).to_have_text(re.compile(r"^(10:00|9:[0-5]\d)$"))
    expect(page.locator("[data-plain-save]")).to_be_hidden()
    no_horizontal_scroll(page)
    assert small_or_unlabelled(page) == []
    # The page carries no part of the key: no option feedback, no accepted answers.
    html = page.content()
    for key in ("Benar.", "Itu Jatim.", say(app, "Accepted answers"), say(app, "correct")):
        assert key not in html
    snap(page, f"quiz-attempt-start-{shot}")

    # Online: a radio (first a wrong choice, corrected offline below), check boxes, typed text (saved after
    # the typing pause), the ordering buttons, and the matching lists.
    question(page, SINGLE).get_by_label("Semarang").check()
    expect_saved(app, page, SINGLE)
    for label in ("2", "3"):
        question(page, MULTI).get_by_label(label, exact=True).check()
    expect_saved(app, page, MULTI)
    question(page, SHORT).get_by_label(say(app, "Your answer")).press_sequentially("ASN", delay=50)
    expect_saved(app, page, SHORT)
    put_in_order(page, ORDERING, KEY_ORDER)
    expect_saved(app, page, ORDERING)
    assert question(page, ORDERING).locator(".rank").evaluate_all("els => els.map(el => el.value)") == [
        "1", "2", "3"]
    question(page, MATCHING).get_by_label("BKN").select_option("Kepegawaian")
    question(page, MATCHING).get_by_label("LAN").select_option("Administrasi")
    expect_saved(app, page, MATCHING)
    expect(page.locator("[data-connection]")).to_be_empty()
    held = wait_for(lambda: responses(attempt_id),
                    lambda r: all(r[p] == ANSWERS[p] for p in (MULTI, SHORT, ORDERING, MATCHING))
                    and r[SINGLE] == {"choice": 2}, what="the answers given online")
    assert held[TRUEFALSE] is None
    for position in (SINGLE, MULTI, SHORT, ORDERING, MATCHING):
        expect(page.locator(f".quiz-map [data-map='{position}']")).to_have_class(re.compile(r"\banswered\b"))
    no_horizontal_scroll(page)
    snap(page, f"quiz-attempt-saved-{shot}")
    # From the keyboard, the focused option is outlined.
    question(page, MULTI).get_by_label("4", exact=True).focus()
    page.keyboard.press("Tab")
    assert question(page, TRUEFALSE).locator(".option").first.evaluate(
        "el => el.contains(document.activeElement) && getComputedStyle(el).outlineStyle") == "solid"

    # The connection drops for a moment: the page says the answer is kept here, and sends it by itself
    # when the connection is back.
    banner = page.locator("[data-connection]")
    offline_text = say(app, "Not saved yet: no connection. Your answer is kept on this device and sent when the "
                            "connection returns.")
    context.set_offline(True)
    question(page, SINGLE).get_by_label("Surabaya").check()
    expect(banner).to_have_text(offline_text)
    expect(question(page, SINGLE).locator(".save-state")).to_have_attribute("data-state", "offline")
    expect(question(page, SINGLE).locator(".save-state")).to_have_text(say(app, "Not saved yet: kept on this device."))
    context.set_offline(False)
    expect_saved(app, page, SINGLE)
    expect(banner).to_be_empty()
    wait_for(lambda: responses(attempt_id)[SINGLE], lambda r: r == {"choice": 1}, what="the answer sent on return")

    # It drops again. The learner corrects the first answer and answers the rest: each is kept on the device.
    context.set_offline(True)
    question(page, SINGLE).get_by_label("Bandung").check()
    expect(banner).to_have_text(offline_text)
    expect(question(page, SINGLE).locator(".save-state")).to_have_attribute("data-state", "offline")
    question(page, TRUEFALSE).get_by_label(say(app, "True")).check()
    question(page, NUMERIC).get_by_label(say(app, "Your answer")).fill("20")
    question(page, ESSAY).get_by_label(say(app, "Your answer")).fill(ESSAY_TEXT)
    for position in (TRUEFALSE, NUMERIC, ESSAY):
        expect(question(page, position).locator(".save-state")).to_have_attribute("data-state", "offline")
    kept = pending_on_device(page)
    assert {int(p): entry["response"] for p, entry in kept.items()} == {
        p: ANSWERS[p] for p in (SINGLE, TRUEFALSE, NUMERIC, ESSAY)}
    # The banner stays in sight while the learner scrolls to the last question.
    question(page, ESSAY).scroll_into_view_if_needed()
    expect(banner).to_be_in_viewport()
    expect(page.locator(".quiz-timer")).to_be_in_viewport()
    snap(page, f"quiz-attempt-offline-{shot}")
    # The question map brings a question into view below the bar, however tall the banner makes it.
    page.locator(".quiz-map [data-map='0']").click()
    page.wait_for_function("() => location.hash === '#soal-1'")
    bar = page.locator(".quiz-bar").bounding_box()
    assert question(page, SINGLE).bounding_box()["y"] >= bar["y"] + bar["height"], bar
    still = responses(attempt_id)
    db.session.rollback()
    assert still[SINGLE] == {"choice": 1}
    assert [still[p] for p in (TRUEFALSE, NUMERIC, ESSAY)] == [None, None, None]

    # The tab is closed while offline (the page asks nothing: closing a tab is the learner's right).
    page.close()
    context.set_offline(False)

    # Back online, the attempt page sends what this device kept, and shows every answer.
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(attempt_url)
    wait_for(lambda: responses(attempt_id), lambda r: r == ANSWERS, what="every answer on the server")
    for position in (SINGLE, TRUEFALSE, NUMERIC, ESSAY):
        expect_saved(app, page, position)
    expect(question(page, SINGLE).get_by_label("Bandung")).to_be_checked()
    expect(question(page, TRUEFALSE).get_by_label(say(app, "True"))).to_be_checked()
    expect(question(page, NUMERIC).get_by_label(say(app, "Your answer"))).to_have_value("20")
    expect(question(page, ESSAY).get_by_label(say(app, "Your answer"))).to_have_value(ESSAY_TEXT)
    expect(page.locator(".quiz-map a.answered")).to_have_count(len(ANSWERS))
    page.wait_for_function("() => !Object.keys(localStorage).some(k => k.startsWith('bangkom-quiz-'))")
    expect(page.locator("[data-connection]")).to_be_empty()

    # Finish: nothing is unanswered; submit once; the result lists every answer.
    page.get_by_role("button", name=say(app, "Finish and submit…")).click()
    page.wait_for_url(f"{attempt_url}/selesai")
    expect(page.locator("main")).to_contain_text(say(app, "All %(total)s questions have an answer.", total=8))
    no_horizontal_scroll(page)
    snap(page, f"quiz-finish-{shot}")
    page.get_by_role("button", name=say(app, "Submit"), exact=True).click()
    page.wait_for_url(f"{attempt_url}/hasil")
    expect(page.locator(".quiz-result")).to_contain_text(
        say(app, "Submitted. Some answers are graded by the trainer; your score appears here when they are."))
    review = page.locator(".review-item")
    expect(review).to_have_count(8)
    expect(review.nth(SINGLE).locator("li.chosen")).to_contain_text("Bandung")
    expect(review.nth(SHORT).locator(".answer-given")).to_have_text("ASN")
    expect(review.nth(ESSAY).locator(".answer-given")).to_have_text(ESSAY_TEXT)
    no_horizontal_scroll(page)
    snap(page, f"quiz-result-{shot}")

    attempt = attempt_row(attempt_id)
    assert (attempt.state, attempt.closed_by) == ("needs_grading", "learner")
    graded = {item.position: item for item in attempt.items}
    assert {p: item.response for p, item in graded.items()} == ANSWERS
    assert all(graded[p].mark == graded[p].max_mark for p in graded if p != ESSAY), {
        p: item.mark for p, item in graded.items()}
    assert graded[ESSAY].needs_grading
    assert page.errors == [], page.errors


def test_the_countdown_reaching_zero_submits_the_attempt_once_the_kept_answers_are_sent(app, live_server, new_page,
                                                                                        timed_quiz):
    from playwright.sync_api import expect

    base, quiz = live_server, timed_quiz
    page = new_page(DESKTOP)
    sign_in(page, base, quiz.email)
    attempt_id = start_quiz(app, page, base, quiz)
    attempt_url = page.url
    # Eight seconds are left: the server's deadline, not this device's clock, is what the page counts to.
    db.session.execute(update(Attempt).where(Attempt.id == attempt_id)
                       .values(deadline_at=aware_utcnow() + dt.timedelta(seconds=8)))
    db.session.commit()
    db.session.close()
    page.reload()
    timer = page.locator(".quiz-timer")
    expect(timer).to_have_class(re.compile(r"\burgent\b"))
    expect(timer.locator("[data-timer]")).to_have_text(re.compile(r"^0:0[0-8]$"))
    question(page, SINGLE).get_by_label("Bandung").check()
    expect_saved(app, page, SINGLE)
    snap(page, "quiz-attempt-urgent-1280px")

    # The connection drops just before the end; the last answer stays on the device. At zero the questions
    # close and the page waits for the connection instead of posting into the void.
    page.context.set_offline(True)
    question(page, TRUEFALSE).get_by_label(say(app, "True")).check()
    expect(question(page, TRUEFALSE).locator(".save-state")).to_have_attribute("data-state", "offline")
    expect(timer.locator("[data-timer]")).to_have_text("0:00", timeout=10000)
    expect(question(page, SINGLE).get_by_label("Surabaya")).to_be_disabled()
    expect(page.locator("[data-connection]")).to_have_text(say(
        app, "Not saved yet: no connection. Your answer is kept on this device and sent when the connection returns."))
    assert page.url == attempt_url
    assert responses(attempt_id)[TRUEFALSE] is None
    db.session.rollback()

    # Back within the server's grace: the kept answer is taken, then the attempt is submitted.
    page.context.set_offline(False)
    page.wait_for_url(f"{attempt_url}/hasil", timeout=15000)
    expect(page.locator(".quiz-result .stat-value")).to_be_visible()
    snap(page, "quiz-result-finished-1280px")
    attempt = attempt_row(attempt_id)
    assert attempt.state == "finished"
    assert attempt.submitted_at is not None
    given = {item.position: item.response for item in attempt.items}
    assert (given[SINGLE], given[TRUEFALSE]) == (ANSWERS[SINGLE], ANSWERS[TRUEFALSE])
    assert attempt.marks == 2
    assert page.errors == [], page.errors


def test_an_attempt_left_past_its_deadline_is_closed_by_the_server(app, live_server, new_page, timed_quiz):
    from playwright.sync_api import expect

    base, quiz = live_server, timed_quiz
    page = new_page(DESKTOP)
    sign_in(page, base, quiz.email)
    attempt_id = start_quiz(app, page, base, quiz)
    attempt_url = page.url
    question(page, TRUEFALSE).get_by_label(say(app, "True")).check()
    expect_saved(app, page, TRUEFALSE)
    page.goto(f"{base}/kursus/{quiz.code}/pelajaran/{quiz.lesson_id}")
    # The learner went away; the deadline and the grace for answers in flight passed.
    db.session.execute(update(Attempt).where(Attempt.id == attempt_id)
                       .values(deadline_at=aware_utcnow() - dt.timedelta(minutes=1)))
    db.session.commit()
    db.session.close()
    page.goto(attempt_url)
    page.wait_for_url(f"{attempt_url}/hasil")
    expect(page.locator(".flash-info")).to_have_text(
        say(app, "Time was up: your attempt was submitted with the answers saved."))
    expect(page.locator(".quiz-result")).to_contain_text(say(app, "closed by the server when time was up"))
    attempt = attempt_row(attempt_id)
    assert (attempt.state, attempt.closed_by) == ("finished", "deadline")
    assert {item.position: item.response for item in attempt.items}[TRUEFALSE] == {"choice": 0}
    assert page.errors == [], page.errors


def test_without_javascript_the_plain_form_saves_and_submits(app, live_server, browser, timed_quiz):
    from playwright.sync_api import expect

    base, quiz = live_server, timed_quiz
    context = browser.new_context(viewport={"width": 360, "height": 760}, locale="id-ID",
                                  java_script_enabled=False)
    context.set_default_timeout(8000)
    try:
        page = context.new_page()
        sign_in(page, base, quiz.email, PASSWORD)
        attempt_id = start_quiz(app, page, base, quiz)
        attempt_url = page.url
        expect(page.locator("[data-plain-save]")).to_be_visible()
        expect(page.locator(".ordering-move").first).to_be_hidden()
        no_horizontal_scroll(page)
        question(page, SINGLE).get_by_label("Bandung").check()
        question(page, MULTI).get_by_label("2", exact=True).check()
        question(page, MULTI).get_by_label("3", exact=True).check()
        question(page, SHORT).get_by_label(say(app, "Your answer")).fill("ASN")
        ordering = question(page, ORDERING)
        for rank, text in enumerate(KEY_ORDER, start=1):
            ordering.locator(".ordering-item").filter(has_text=text).locator(".rank").fill(str(rank))
        question(page, MATCHING).get_by_label("BKN").select_option("Kepegawaian")
        snap(page, "quiz-attempt-nojs-360px")
        page.get_by_role("button", name=say(app, "Save answers")).click()
        page.wait_for_url(attempt_url)
        expect(page.locator(".flash-success")).to_have_text(say(app, "Your answers are saved."))
        held = responses(attempt_id)
        db.session.rollback()
        assert held[SINGLE] == ANSWERS[SINGLE]
        assert held[MULTI] == ANSWERS[MULTI]
        assert held[SHORT] == ANSWERS[SHORT]
        assert held[ORDERING] == ANSWERS[ORDERING]
        assert held[MATCHING] == {"pairs": {"0": "Kepegawaian"}}
        assert held[TRUEFALSE] is None
        # The page shows what was saved; the ranks follow the saved order.
        expect(question(page, SINGLE).get_by_label("Bandung")).to_be_checked()
        expect(ordering.locator(".ordering-item").first).to_contain_text(KEY_ORDER[0])

        question(page, TRUEFALSE).get_by_label(say(app, "True")).check()
        page.get_by_role("button", name=say(app, "Finish and submit…")).click()
        page.wait_for_url(f"{attempt_url}/selesai")
        expect(page.locator(".notice")).to_have_text(say(
            app, "%(n)s of %(total)s questions have no answer: %(list)s.", n=2, total=8, list="5, 8"))
        page.get_by_role("button", name=say(app, "Submit"), exact=True).click()
        page.wait_for_url(f"{attempt_url}/hasil")
        expect(page.locator(".quiz-result .stat-value")).to_be_visible()
        attempt = attempt_row(attempt_id)
        assert attempt.state == "finished"  # the unanswered essay needs no grader
        given = {item.position: item.response for item in attempt.items}
        assert given[TRUEFALSE] == ANSWERS[TRUEFALSE]
        assert [given[NUMERIC], given[ESSAY]] == [None, None]
    finally:
        context.close()

