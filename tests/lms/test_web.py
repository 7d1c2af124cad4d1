"""What every page shares: security headers, error pages, language, date format, home pages per role."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from flask import abort, render_template_string
from flask_babel import force_locale
from flask_babel import gettext as babel_gettext

from lms import create_app, jobs, services
from lms.extensions import db
from lms.models import User

PASSWORD = "correct horse 1"
ROLES = ("learner", "trainer", "coauthor", "hr", "admin")


def retire(other, app) -> None:
    """Close a second app's database connections and give the process-wide job queue back to ``app``."""
    with other.app_context():
        db.engine.dispose()
    jobs.init_app(app)


def say(app, message, locale="id", **params):
    with app.test_request_context(), force_locale(locale):
        return babel_gettext(message, **params)


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def page_lang(response) -> str:
    found = re.search(r'<html lang="([^"]+)"', response.get_data(as_text=True))
    assert found, "not an HTML page"
    return found.group(1)


def browser(app, language=None, address=None):
    client = app.test_client()
    if language:
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    if address:
        client.environ_base["REMOTE_ADDR"] = address
    return client


def sign_in(client, user, password=PASSWORD):
    response = client.post("/akun/masuk", data={"login": user.email, "password": password})
    assert response.status_code == 302
    return response


def csp_directives(response) -> dict[str, list[str]]:
    policy = response.headers["Content-Security-Policy"]
    directives = {}
    for part in policy.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def assert_security_headers(response):
    csp = csp_directives(response)
    script = csp.get("script-src", csp.get("default-src"))
    assert script == ["'self'"], f"script-src is {script}"
    assert "'unsafe-inline'" not in csp.get("style-src", csp.get("default-src"))
    assert csp["default-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] in ("strict-origin-when-cross-origin", "same-origin", "no-referrer")


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style\b|<[^>]+\sstyle\s*=", re.IGNORECASE)
JS_URL = re.compile(r"""(href|src|action)\s*=\s*["']\s*javascript:""", re.IGNORECASE)


def assert_works_under_csp(response):
    """The CSP blocks inline code and styles, so a page that had some would be silently broken."""
    page = response.get_data(as_text=True)
    for pattern in (INLINE_SCRIPT, INLINE_HANDLER, INLINE_STYLE, JS_URL):
        found = pattern.search(page)
        assert found is None, f"{response.request.path}: {found.group(0)[:120]} is blocked by the CSP"


# ---------------------------------------------------------------- security headers


def test_security_headers_on_every_kind_of_response(app, make_user):
    anonymous = browser(app)
    responses = [
        anonymous.get("/"),
        anonymous.get("/akun/masuk"),
        anonymous.get("/profil"),  # redirect to sign-in
        anonymous.get("/tidak-ada"),  # 404 page
        anonymous.get("/api/v1/openapi.json"),
        anonymous.get("/api/v1/tidak-ada"),
        anonymous.get("/healthz"),
        anonymous.get("/static/css/bangkom.css"),
    ]
    learner = browser(app)
    sign_in(learner, make_user())
    responses += [learner.get("/"), learner.get("/profil"), learner.get("/admin/pengguna")]
    for response in responses:
        assert_security_headers(response)
        response.close()


def test_pages_with_personal_data_are_not_cached(app, make_user, client, login):
    login(make_user())
    assert "no-store" in client.get("/profil").headers["Cache-Control"]
    assert "no-store" in client.get("/").headers["Cache-Control"]
    assert "no-store" in client.get("/api/v1/openapi.json").headers["Cache-Control"]


# ---------------------------------------------------------------- error pages


def test_not_found_page_is_indonesian_by_default_and_english_on_request(app):
    response = browser(app).get("/halaman-yang-tidak-ada")
    assert response.status_code == 404
    assert page_lang(response) == "id"
    title = say(app, "Page not found")
    assert title != "Page not found", "the error page title is not translated into Indonesian"
    assert title in text(response)

    response = browser(app, "en-US,en;q=0.9").get("/halaman-yang-tidak-ada")
    assert response.status_code == 404
    assert page_lang(response) == "en"
    assert "Page not found" in text(response)
    assert "The page you asked for does not exist or was moved." in text(response)


def test_access_denied_page_speaks_the_users_language(app, make_user):
    for locale, title in (("id", say(app, "Access denied")), ("en", "Access denied")):
        client = browser(app)
        sign_in(client, make_user(locale=locale))
        response = client.get("/admin/pengguna")
        assert response.status_code == 403
        assert page_lang(response) == locale
        assert title in text(response)
    assert say(app, "Access denied") != "Access denied"


@pytest.mark.parametrize("language", ["id", "en"])
def test_too_many_attempts_page_says_when_to_retry(app, make_user, language):
    user = make_user()
    client = browser(app, language)
    for _ in range(5):
        client.post("/akun/masuk", data={"login": user.email, "password": "not the password"})
    response = client.post("/akun/masuk", data={"login": user.email, "password": PASSWORD})
    assert response.status_code == 429
    assert page_lang(response) == language
    retry = int(response.headers["Retry-After"])
    minutes = (retry + 59) // 60
    assert say(app, "Too many attempts", language) in text(response)
    assert say(app, "Too many attempts. Try again in %(minutes)s minute(s).", language,
               minutes=minutes) in text(response)


@pytest.fixture
def failing_app(app, database_url):
    """An app with real error pages and two routes that fail the way a bug would."""
    other = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database_url, "ERROR_PAGES_IN_TESTS": True})

    def boom():
        raise RuntimeError("secret internal detail: password=hunter2")

    def teapot():
        abort(403)

    other.add_url_rule("/boom", "boom", boom)
    other.add_url_rule("/api/v1/boom", "api_boom", boom)
    other.add_url_rule("/forbidden", "forbidden", teapot)
    yield other
    retire(other, app)


@pytest.mark.parametrize("language", ["id", "en"])
def test_unexpected_error_shows_a_friendly_page_without_details(app, failing_app, language, caplog):
    response = browser(failing_app, language).get("/boom")
    assert response.status_code == 500
    assert page_lang(response) == language
    page = text(response)
    assert say(app, "Something went wrong", language) in page
    assert "Traceback" not in page
    assert "hunter2" not in page
    assert "RuntimeError" not in page
    assert_security_headers(response)
    assert "secret internal detail" in caplog.text, "the error is logged for the operator"
    if language == "id":
        assert say(app, "Something went wrong") != "Something went wrong"


def test_unexpected_api_error_is_json_without_details(failing_app):
    response = browser(failing_app, "en").get("/api/v1/boom")
    assert response.status_code == 500
    assert response.is_json
    body = response.get_json()
    assert set(body) == {"error", "message"}
    assert body["error"] == "Something went wrong"
    assert "hunter2" not in response.get_data(as_text=True)


def test_unexpected_error_rolls_back_half_done_work(app, failing_app, make_user):
    user_id = make_user(full_name="Nama Awal").id

    def half_done():
        db.session.get(User, user_id).full_name = "Setengah Jadi"
        db.session.flush()
        raise RuntimeError("stopped half way")

    failing_app.add_url_rule("/half", "half", half_done)
    assert browser(failing_app).get("/half").status_code == 500
    db.session.expire_all()
    assert db.session.get(User, user_id).full_name == "Nama Awal"


def test_api_errors_are_json_in_the_requests_language(app):
    response = browser(app, "en").get("/api/v1/tidak-ada")
    assert response.status_code == 404
    assert response.is_json
    assert response.get_json() == {"error": "Page not found",
                                   "message": "The page you asked for does not exist or was moved."}

    response = browser(app).get("/api/v1/tidak-ada")
    assert response.get_json()["error"] == say(app, "Page not found")

    response = browser(app, "en").post("/api/v1/openapi.json")
    assert response.status_code == 405
    assert response.is_json
    assert set(response.get_json()) == {"error", "message"}


# ---------------------------------------------------------------- language and dates


@pytest.mark.parametrize(("language", "november", "august"), [
    ("id", "22 November 2026", "22 Agustus 2026"),
    ("en", "22 November 2026", "22 August 2026"),
])
def test_date_filter_writes_day_month_year(app, language, november, august):
    with app.test_request_context(headers={"Accept-Language": language}):
        assert render_template_string("{{ d|date }}", d=dt.date(2026, 11, 22)) == november
        assert render_template_string("{{ d|date }}", d=dt.date(2026, 8, 22)) == august
        assert render_template_string("{{ d|date }}", d=None) == "—"


def test_dates_of_late_evening_are_jakarta_dates(app):
    # 20:00 UTC on 21 November is already 22 November in Jakarta (UTC+7).
    moment = dt.datetime(2026, 11, 21, 20, 0, tzinfo=dt.UTC)
    with app.test_request_context():
        assert render_template_string("{{ d|date }}", d=moment) == "22 November 2026"


def test_language_follows_the_browser_until_chosen(app):
    assert page_lang(browser(app).get("/")) == "id"
    assert page_lang(browser(app, "en-GB,en;q=0.8").get("/")) == "en"
    assert page_lang(browser(app, "fr-FR,fr;q=0.9").get("/")) == "id"

    client = browser(app, "en")
    response = client.post("/bahasa", data={"lang": "id", "next": "/akun/masuk"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/akun/masuk"
    assert page_lang(client.get("/")) == "id", "a chosen language beats the browser's"


def test_language_switch_refuses_to_redirect_off_site(app):
    response = browser(app).post("/bahasa", data={"lang": "en", "next": "https://evil.example/"})
    assert response.headers["Location"] == "/"


def test_language_choice_of_a_signed_in_user_follows_them_to_other_devices(app, make_user):
    user = make_user()
    laptop = browser(app)
    sign_in(laptop, user)
    assert page_lang(laptop.get("/")) == "id"
    response = laptop.post("/bahasa", data={"lang": "en", "next": "/profil"})
    assert response.headers["Location"] == "/profil"
    assert page_lang(laptop.get("/profil")) == "en"
    db.session.expire_all()
    assert db.session.get(User, user.id).locale == "en"

    phone = browser(app, "id-ID,id;q=0.9")
    sign_in(phone, user)
    assert page_lang(phone.get("/")) == "en"
    assert "My learning" in text(phone.get("/"))


def test_unknown_language_is_ignored(app, make_user):
    user = make_user()
    client = browser(app)
    sign_in(client, user)
    client.post("/bahasa", data={"lang": "xx"})
    assert page_lang(client.get("/")) == "id"
    db.session.expire_all()
    assert db.session.get(User, user.id).locale == "id"


# ---------------------------------------------------------------- home pages and navigation


HOME_CARDS = {
    "learner": ("My learning", "You are not enrolled in any course yet."),
    "trainer": ("My courses", "You do not own any course yet."),
    "coauthor": ("Curricula I co-author", "No course team has invited you yet."),
    "hr": ("My unit", "Your account is not linked to a unit."),
    "admin": ("Platform", "Import employees"),
}


@pytest.mark.parametrize("role", ROLES)
def test_home_page_shows_each_role_its_own_empty_state(app, make_user, role):
    client = browser(app)
    sign_in(client, make_user(roles=(role,), locale="en", full_name="Dewi Lestari"))
    response = client.get("/")
    assert response.status_code == 200
    page = text(response)
    assert "Welcome, Dewi Lestari" in page
    heading, empty = HOME_CARDS[role]
    assert heading in page
    assert empty in page
    for other, (_other_heading, other_empty) in HOME_CARDS.items():
        if other != role:
            assert other_empty not in page, f"a {role} sees the {other}'s card"


def test_hr_home_counts_the_active_people_of_their_unit_tree(app, make_user):
    province = services.save_unit(None, code="PROV", name="Pemerintah Provinsi", kind="instansi",
                                  parent_id=None, actor=None)
    bureau = services.save_unit(None, code="BKD", name="Badan Kepegawaian Daerah", kind="unit",
                                parent_id=province.id, actor=None)
    elsewhere = services.save_unit(None, code="LAIN", name="Instansi Lain", kind="instansi", parent_id=None,
                                   actor=None)
    db.session.commit()
    hr = make_user(roles=("hr",), unit_id=province.id, locale="en")
    make_user(unit_id=bureau.id)
    make_user(unit_id=bureau.id)
    gone = make_user(unit_id=bureau.id)
    services.set_active(gone, False, actor=None)
    make_user(unit_id=elsewhere.id)
    db.session.commit()
    client = browser(app)
    sign_in(client, hr)
    page = text(client.get("/"))
    assert re.search(r'<span class="stat-value">3</span> <span class="stat-label">active employees in '
                     r"Pemerintah Provinsi", page), "HR counts itself and the two active staff below"


def test_landing_page_for_visitors_leads_to_sign_in(app):
    response = browser(app, "en").get("/")
    assert response.status_code == 200
    page = text(response)
    assert 'href="/akun/masuk"' in page
    assert "Sign in with your NIP or e-mail" in page


def nav_links(response) -> list[str]:
    nav = re.search(r'<nav id="main-nav".*?</ul>', response.get_data(as_text=True), re.S)
    assert nav, "no main navigation"
    return re.findall(r'<a href="([^"]+)"', nav.group(0))


@pytest.mark.parametrize("locale", ["id", "en"])
@pytest.mark.parametrize("role", ROLES)
def test_every_navigation_link_of_every_role_opens_a_working_page(app, make_user, role, locale):
    unit = services.save_unit(None, code="BKD", name="Badan Kepegawaian Daerah", kind="unit", parent_id=None,
                              actor=None)
    db.session.commit()
    client = browser(app)
    sign_in(client, make_user(roles=(role,), locale=locale, unit_id=unit.id))
    home = client.get("/")
    links = nav_links(home)
    assert "/" in links
    assert ("/admin/pengguna" in links) == (role == "admin"), "admin links only for admins"
    pages = [*links, "/profil", "/akun/ganti-sandi"]
    for link in pages:
        response = client.get(link)
        assert response.status_code == 200, f"{role}: {link} answered {response.status_code}"
        assert page_lang(response) == locale
        assert_works_under_csp(response)
        assert_security_headers(response)


def test_public_pages_work_under_the_csp(app):
    client = browser(app)
    for path in ("/", "/akun/masuk", "/akun/lupa-sandi", "/tidak-ada"):
        assert_works_under_csp(client.get(path))
