"""What the browser tests share: the app on a live HTTP server, headless Chromium, pages at desktop or phone
width, signing in through the real form, the words a page shows in its language, and screenshots.

The fixtures (``live_server``, ``browser``, ``new_page``) reach every test module through ``pytest_plugins``
in tests/conftest.py; the helpers are imported from here.

A test that fails leaves a screenshot of each page it opened in ``/tmp/bangkom-browser/``. With
``LMS_TEST_SCREENSHOTS=<folder>`` set, ``snap(page, name)`` also keeps the pictures a test takes on purpose.
"""

from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path

import pytest
from flask_babel import force_locale
from flask_babel import gettext as babel_gettext
from werkzeug.serving import make_server

from lms.extensions import db

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct horse 1"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 760}
VIEWPORTS = [pytest.param(DESKTOP, id="desktop"), pytest.param(PHONE, id="phone")]
FAILURE_SHOTS = Path("/tmp/bangkom-browser")  # noqa: S108 - debugging pictures, never committed

needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason=f"!!! BROWSER TESTS SKIPPED: {CHROMIUM} is missing (apt-get install chromium) !!!")
# ``pytestmark = BROWSER`` in a module of browser tests.
BROWSER = [pytest.mark.browser, needs_chromium]


@pytest.fixture
def live_server(app):
    """The test app on a real HTTP server in a thread, on the same test database: ``http://127.0.0.1:<port>``.

    The test's own session must not hold a write transaction while the browser works (SQLite locks the
    file): commit, or ``db.session.close()``, before driving the browser."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)
    server.server_close()


@pytest.fixture
def browser():
    """Headless Chromium (Debian's; Playwright never downloads a browser here)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser, request):
    """``new_page(viewport=DESKTOP, locale="id-ID")`` → a page in a fresh browser context (its own cookies),
    downloads accepted, 8 s default timeout. Script errors on the page are collected in ``page.errors``.

    When the test fails, every page still open is photographed into /tmp/bangkom-browser/."""
    contexts = []
    failed_before = request.session.testsfailed

    def make(viewport=None, *, locale="id-ID"):
        context = browser.new_context(viewport=viewport or DESKTOP, locale=locale, accept_downloads=True,
                                      is_mobile=(viewport or DESKTOP)["width"] < 600,
                                      has_touch=(viewport or DESKTOP)["width"] < 600)
        context.set_default_timeout(8000)
        contexts.append(context)
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        return page

    yield make
    # The test's report is in by now: the session counts it before fixtures are torn down.
    if request.session.testsfailed > failed_before:
        FAILURE_SHOTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        for n, page in enumerate(page for context in contexts for page in context.pages):
            try:
                path = FAILURE_SHOTS / f"{name}-{n}.png"
                page.screenshot(path=str(path), full_page=True)
                print(f"screenshot of {page.url}: {path}")  # noqa: T201 - shown with the failure
            except Exception as exc:  # noqa: BLE001 - a picture is a bonus, never a second failure
                print(f"no screenshot of page {n}: {exc}")  # noqa: T201
    for context in contexts:
        context.close()


def snap(page, name: str, *, settle_ms: int = 0) -> None:
    """Keep a full-page picture when LMS_TEST_SCREENSHOTS names a folder (to look at the pages); ``settle_ms``
    lets what paints late (Chromium's PDF viewer) finish first."""
    folder = os.environ.get("LMS_TEST_SCREENSHOTS")
    if folder:
        page.wait_for_timeout(settle_ms)
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def sign_in(page, base: str, login: str, password: str = PASSWORD) -> None:
    """Sign in through the real form and land on the home page."""
    page.goto(f"{base}/akun/masuk")
    page.fill("#login", login)
    page.fill("#password", password)
    page.click("form:has(#login) button[type=submit]")
    page.wait_for_url(f"{base}/")


def sign_out(page) -> None:
    """Sign out with the button in the navigation (opening the phone menu first when it is folded)."""
    open_menu(page)
    page.locator("#main-nav form[action$='/keluar'] button").click()
    page.wait_for_load_state()


def open_menu(page) -> None:
    """On a narrow screen the navigation is folded behind the menu button: open it (once)."""
    toggle = page.locator(".nav-toggle")
    if toggle.is_visible() and toggle.get_attribute("aria-expanded") != "true":
        toggle.click()
        page.locator("#main-nav.open").wait_for()


def say(app, message: str, locale: str = "id", **params) -> str:
    """``message`` as a page in ``locale`` shows it (the tests follow the catalogue, not a copy of it)."""
    with app.test_request_context(), force_locale(locale):
        return babel_gettext(message, **params)


def wait_for(read, check, *, timeout: float = 10.0, what: str = "the server"):
    """Poll ``read()`` against the database, in a fresh transaction each time, until ``check(value)`` holds."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        db.session.rollback()  # end the read transaction: the server writes between polls
        if check(value):
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout:.0f} s for {what}; last seen: {value!r}")
        time.sleep(0.2)
