"""Signing in and out, throttling, password reset and change, session and CSRF protection."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import html
import re
from pathlib import Path

import pytest
from flask_babel import force_locale
from flask_babel import gettext as babel_gettext
from limits import parse as parse_limit
from sqlalchemy import func, select

import lms.security
import lms.services
from lms import create_app, jobs, services
from lms.extensions import db
from lms.models import AuditEvent, PasswordReset, User

PASSWORD = "correct horse 1"
NIP = "198503122010011003"  # PNS born 12 March 1985, appointed January 2010, male, sequence 3


def retire(other, app) -> None:
    """Close a second app's database connections and give the process-wide job queue back to ``app``."""
    with other.app_context():
        db.engine.dispose()
    jobs.init_app(app)


def say(app, message, locale="id", **params):
    """``message`` as a page in ``locale`` shows it (whatever the state of the translations)."""
    with app.test_request_context(), force_locale(locale):
        return babel_gettext(message, **params)


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def sign_in(client, login, password=PASSWORD, **extra):
    return client.post("/akun/masuk", data={"login": login, "password": password, **extra})


def is_signed_in(client) -> bool:
    response = client.get("/profil")
    assert response.status_code in (200, 302)
    return response.status_code == 200


def limit_amount(app, key) -> int:
    return parse_limit(app.config[key]).amount


def mail_dir(app) -> Path:
    return Path(app.instance_path) / "mail"


def mails_since(app, before: set[Path]) -> list[email.message.EmailMessage]:
    folder = mail_dir(app)
    new = sorted(set(folder.glob("*.eml")) - before) if folder.exists() else []
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in new]


def mail_snapshot(app) -> set[Path]:
    folder = mail_dir(app)
    return set(folder.glob("*.eml")) if folder.exists() else set()


@pytest.fixture
def en_client(app):
    """A browser asking for English, so messages can be compared as written."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


# ---------------------------------------------------------------- signing in


def test_sign_in_by_email_any_case_opens_the_home_page(client, make_user):
    user = make_user(email="budi@example.go.id", full_name="Budi Santoso")
    response = sign_in(client, "  BUDI@Example.go.id ")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "Budi Santoso" in client.get("/").get_data(as_text=True)
    assert db.session.get(User, user.id).last_login_at is not None


@pytest.mark.parametrize("typed", [NIP, "19850312 201001 1 003", "19850312.201001.1.003"])
def test_sign_in_by_nip_as_people_write_it(client, make_user, typed):
    make_user(nip=NIP, full_name="Siti Rahayu")
    response = sign_in(client, typed)
    assert response.status_code == 302, text(response)[:500]
    assert is_signed_in(client)


def test_wrong_password_is_refused_with_a_clear_message(app, client, make_user):
    user = make_user()
    response = sign_in(client, user.email, "not the password")
    assert response.status_code == 200
    assert say(app, "The NIP/e-mail or password is not correct.") in text(response)
    assert not is_signed_in(client)
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.object_id == str(user.id))
                             .order_by(AuditEvent.id.desc())) == "auth.failed"


def test_unknown_account_gets_the_same_message_as_a_wrong_password(app, client, make_user):
    make_user()
    response = sign_in(client, "nobody@example.go.id", "not the password")
    assert response.status_code == 200
    assert say(app, "The NIP/e-mail or password is not correct.") in text(response)


def test_deactivated_account_is_refused_with_an_explanation(app, en_client, make_user):
    user = make_user()
    services.set_active(user, False, actor=None)
    db.session.commit()
    response = sign_in(en_client, user.email)
    assert response.status_code == 403
    assert "This account has been deactivated. Contact your administrator." in text(response)
    assert not is_signed_in(en_client)


def test_sign_in_starts_a_fresh_session(client, make_user):
    user = make_user()
    with client.session_transaction() as sess:
        sess["planted"] = "attacker-chosen"
        sess["_fresh"] = "stale"
    assert sign_in(client, user.email).status_code == 302
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert sess["_user_id"] == db.session.get(User, user.id).get_id()


@pytest.mark.parametrize("target", [
    "https://evil.example/phish", "//evil.example/phish", "/\\evil.example", "javascript:alert(1)",
    "http:/evil.example",
])
def test_sign_in_never_redirects_off_site(client, make_user, target):
    user = make_user()
    response = sign_in(client, user.email, next=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    client.post("/akun/keluar")
    response = client.post("/akun/masuk", query_string={"next": target},
                           data={"login": user.email, "password": PASSWORD})
    assert response.headers["Location"] == "/"


def test_sign_in_returns_to_the_page_asked_for(client, make_user):
    user = make_user()
    response = client.get("/akun/ganti-sandi")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/akun/masuk?next=")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'value="/akun/ganti-sandi"' in page
    response = sign_in(client, user.email, next="/akun/ganti-sandi")
    assert response.headers["Location"] == "/akun/ganti-sandi"


def test_sign_out_is_post_only(client, make_user, login):
    login(make_user())
    assert client.get("/akun/keluar").status_code == 405
    assert is_signed_in(client)
    response = client.post("/akun/keluar")
    assert response.status_code == 302
    assert response.headers["Location"] == "/akun/masuk"
    assert not is_signed_in(client)


def test_session_cookie_is_httponly_and_samesite(client, make_user):
    user = make_user()
    cookie = sign_in(client, user.email).headers["Set-Cookie"]
    assert cookie.startswith("bangkom_session=")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_production_sends_the_session_cookie_only_over_https(app, database_url, monkeypatch, make_user):
    import config as settings

    monkeypatch.setenv("LMS_SECRET_KEY", "p" * 48)
    monkeypatch.delenv("LMS_SIGNING_P12", raising=False)
    monkeypatch.setenv("LMS_BSRE_URL", "https://bsre.example.go.id/api")
    monkeypatch.delenv("LMS_DEBUG", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    cfg = settings.load("production")
    assert cfg.SESSION_COOKIE_SECURE
    assert cfg.REMEMBER_COOKIE_SECURE
    assert cfg.SESSION_COOKIE_HTTPONLY
    assert cfg.SESSION_COOKIE_SAMESITE == "Lax"

    user = make_user()
    production = create_app("production", {"SQLALCHEMY_DATABASE_URI": database_url})
    try:
        browser = production.test_client()
        page = browser.get("/akun/masuk", base_url="https://bangkom.example").get_data(as_text=True)
        response = browser.post("/akun/masuk", base_url="https://bangkom.example",
                                headers={"Referer": "https://bangkom.example/akun/masuk"}, data={
            "login": user.email, "password": PASSWORD, "csrf_token": csrf_token(page)})
        assert response.status_code == 302
        cookie = response.headers["Set-Cookie"]
        assert "Secure" in cookie
        assert "HttpOnly" in cookie
        assert "SameSite=Lax" in cookie
    finally:
        retire(production, app)


# ---------------------------------------------------------------- throttling


def test_account_is_locked_after_repeated_failures_and_says_when_to_retry(app, client, make_user, monkeypatch):
    user = make_user(nip=NIP)
    allowed = limit_amount(app, "LOGIN_LIMIT_PER_ACCOUNT")
    for _ in range(allowed):
        assert sign_in(client, user.email, "guess guess").status_code == 200

    calls = []
    real = lms.security.verify_password

    def spy(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(lms.security, "verify_password", spy)
    monkeypatch.setattr(lms.services, "verify_password", spy)

    response = sign_in(client, user.email, PASSWORD)  # even the right password is refused while locked
    assert response.status_code == 429
    retry = int(response.headers["Retry-After"])
    assert 0 < retry <= 15 * 60
    minutes = (retry + 59) // 60
    assert say(app, "Too many attempts. Try again in %(minutes)s minute(s).", minutes=minutes) in text(response)
    assert calls == [], "the password was hashed although the account is locked"
    assert not is_signed_in(client)

    # The lock is on the account however it is typed, not on the string typed.
    assert sign_in(client, "19850312 201001 1 003", PASSWORD).status_code == 429
    assert calls == []


def test_account_lock_counts_failures_by_email_and_by_nip_together(app, client, make_user):
    user = make_user(nip=NIP)
    allowed = limit_amount(app, "LOGIN_LIMIT_PER_ACCOUNT")
    for n in range(allowed):
        login = user.email if n % 2 else "19850312 201001 1 003"
        assert sign_in(client, login, "guess guess").status_code == 200
    assert sign_in(client, NIP, PASSWORD).status_code == 429


def test_successful_sign_ins_do_not_count_towards_the_lock(app, client, make_user):
    user = make_user()
    for _ in range(limit_amount(app, "LOGIN_LIMIT_PER_ACCOUNT") + 2):
        assert sign_in(client, user.email).status_code == 302
        client.post("/akun/keluar")


def test_lock_of_one_account_leaves_other_accounts_alone(app, client, make_user):
    victim, other = make_user(), make_user()
    for _ in range(limit_amount(app, "LOGIN_LIMIT_PER_ACCOUNT")):
        sign_in(client, victim.email, "guess guess")
    assert sign_in(client, victim.email).status_code == 429
    assert sign_in(client, other.email).status_code == 302


def test_one_address_guessing_many_accounts_is_stopped(app, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_LIMIT_PER_ADDRESS", "4 per 15 minutes")
    users = [make_user() for _ in range(6)]
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    for user in users[:4]:
        assert sign_in(attacker, user.email, "guess guess").status_code == 200
    response = sign_in(attacker, users[4].email, PASSWORD)
    assert response.status_code == 429
    assert "Retry-After" in response.headers

    office = app.test_client()
    office.environ_base["REMOTE_ADDR"] = "198.51.100.20"
    assert sign_in(office, users[5].email).status_code == 302


def test_password_reset_requests_are_throttled_per_address(app, client, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "RESET_LIMIT_PER_ADDRESS", "2 per hour")
    user = make_user()
    for _ in range(2):
        assert client.post("/akun/lupa-sandi", data={"email": user.email}).status_code == 302
    assert client.post("/akun/lupa-sandi", data={"email": user.email}).status_code == 429


# ---------------------------------------------------------------- password reset


def request_reset_link(app, client, address) -> str:
    before = mail_snapshot(app)
    response = client.post("/akun/lupa-sandi", data={"email": address})
    assert response.status_code == 302
    mails = mails_since(app, before)
    assert len(mails) == 1
    assert mails[0]["To"] == address
    body = mails[0].get_body(preferencelist=("plain",)).get_content()
    found = re.search(re.escape(app.config["BASE_URL"]) + r"(/akun/atur-sandi/[A-Za-z0-9_\-]+)", body)
    assert found, body
    return found.group(1)


def choose_password(client, link, password):
    return client.post(link, data={"password": password, "confirm": password})


def test_password_reset_mails_a_link_that_works_once(app, client, make_user):
    user = make_user(email="lupa@example.go.id")
    link = request_reset_link(app, client, "lupa@example.go.id")

    assert client.get(link).status_code == 200
    response = choose_password(client, link, "a brand new secret 2")
    assert response.status_code == 302
    assert response.headers["Location"] == "/akun/masuk"
    assert sign_in(client, user.email, "a brand new secret 2").status_code == 302
    client.post("/akun/keluar")
    assert sign_in(client, user.email, PASSWORD).status_code == 200  # old password no longer works

    # The same link a second time: refused, and the password stays what was chosen.
    assert client.get(link).status_code == 404
    assert choose_password(client, link, "attacker choice 3").status_code == 404
    assert sign_in(client, user.email, "a brand new secret 2").status_code == 302


def test_using_one_reset_link_voids_the_others(app, client, make_user):
    make_user(email="lupa@example.go.id")
    first = request_reset_link(app, client, "lupa@example.go.id")
    second = request_reset_link(app, client, "lupa@example.go.id")
    assert choose_password(client, second, "a brand new secret 2").status_code == 302
    assert client.get(first).status_code == 404


def test_expired_reset_link_is_refused(app, client, make_user):
    user = make_user(email="lupa@example.go.id")
    link = request_reset_link(app, client, "lupa@example.go.id")
    reset = db.session.scalar(select(PasswordReset).where(PasswordReset.user_id == user.id))
    lifetime = reset.expires_at - reset.created_at
    assert abs(lifetime - dt.timedelta(hours=app.config["PASSWORD_RESET_HOURS"])) < dt.timedelta(seconds=5)
    reset.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    db.session.commit()

    response = client.get(link)
    assert response.status_code == 404
    assert say(app, "This link no longer works") in text(response)
    assert choose_password(client, link, "a brand new secret 2").status_code == 404
    assert sign_in(client, user.email, PASSWORD).status_code == 302


def test_reset_link_refuses_a_weak_password_and_stays_usable(app, en_client, make_user):
    user = make_user(email="lupa@example.go.id")
    link = request_reset_link(app, en_client, "lupa@example.go.id")
    response = choose_password(en_client, link, "short")
    assert response.status_code == 200
    assert "Use at least 10 characters." in text(response)
    assert sign_in(en_client, user.email, PASSWORD).status_code == 302
    en_client.post("/akun/keluar")
    assert choose_password(en_client, link, "a brand new secret 2").status_code == 302


@pytest.mark.parametrize("case", ["unknown", "deactivated"])
def test_reset_answer_does_not_reveal_whether_an_account_exists(app, client, make_user, case):
    known = make_user(email="ada@example.go.id")
    hidden = "tidak-ada@example.go.id"
    if case == "deactivated":
        services.set_active(make_user(email=hidden), False, actor=None)
        db.session.commit()

    def ask(address):
        response = client.post("/akun/lupa-sandi", data={"email": address})
        with client.session_transaction() as sess:
            flashes = sess.pop("_flashes", [])
        return response.status_code, response.headers.get("Location"), flashes

    before = mail_snapshot(app)
    assert ask(hidden) == ask(known.email)
    mails = mails_since(app, before)
    assert [m["To"] for m in mails] == [known.email]
    assert db.session.scalar(select(func.count(PasswordReset.id))) == 1


# ---------------------------------------------------------------- password change


def test_changing_the_password_signs_out_other_devices(app, make_user):
    user = make_user()
    phone, office = app.test_client(), app.test_client()
    assert sign_in(phone, user.email).status_code == 302
    assert sign_in(office, user.email).status_code == 302
    assert is_signed_in(office)

    response = office.post("/akun/ganti-sandi", data={
        "current_password": PASSWORD, "password": "a brand new secret 2", "confirm": "a brand new secret 2"})
    assert response.status_code == 302

    assert is_signed_in(office), "the device that changed the password stays signed in"
    assert not is_signed_in(phone)
    assert phone.get("/").get_data(as_text=True).count('action="/akun/keluar"') == 0
    assert sign_in(phone, user.email, PASSWORD).status_code == 200
    assert sign_in(phone, user.email, "a brand new secret 2").status_code == 302


def test_changing_the_password_needs_the_current_one(app, en_client, make_user):
    user = make_user(locale="en")
    sign_in(en_client, user.email)
    response = en_client.post("/akun/ganti-sandi", data={
        "current_password": "not it at all", "password": "a brand new secret 2", "confirm": "a brand new secret 2"})
    assert response.status_code == 200
    assert "Your current password is not correct." in text(response)
    en_client.post("/akun/keluar")
    assert sign_in(en_client, user.email, PASSWORD).status_code == 302


def test_deactivation_ends_open_sessions(client, make_user, login):
    user = make_user()
    login(user)
    assert is_signed_in(client)
    services.set_active(db.session.get(User, user.id), False, actor=None)
    db.session.commit()
    assert not is_signed_in(client)


# ---------------------------------------------------------------- CSRF


@pytest.fixture
def csrf_app(app, database_url):
    strict = create_app("testing", {"WTF_CSRF_ENABLED": True, "SQLALCHEMY_DATABASE_URI": database_url})
    yield strict
    retire(strict, app)


def csrf_token(page: str) -> str:
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert found, "no CSRF token in the form"
    return found.group(1)


def strict_sign_in(client, user):
    token = csrf_token(client.get("/akun/masuk").get_data(as_text=True))
    response = client.post("/akun/masuk", data={"login": user.email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302


@pytest.mark.parametrize("forged", [None, "", "forged-token-value"])
def test_forms_without_a_valid_csrf_token_are_refused_and_change_nothing(csrf_app, make_user, forged):
    user = make_user(full_name="Nama Asli", locale="en")
    browser = csrf_app.test_client()
    strict_sign_in(browser, user)

    data = {"full_name": "Nama Palsu", "locale": "en"}
    if forged is not None:
        data["csrf_token"] = forged
    response = browser.post("/profil", data=data)
    assert response.status_code == 400
    assert "The form had expired or was not sent from this site" in text(response)
    assert "nothing was changed" in text(response)
    db.session.expire_all()
    assert db.session.get(User, user.id).full_name == "Nama Asli"

    response = browser.post("/akun/keluar", data=data)
    assert response.status_code == 400
    assert is_signed_in(browser)

    # The same form with the page's own token goes through.
    token = csrf_token(browser.get("/profil").get_data(as_text=True))
    assert browser.post("/profil", data={**data, "csrf_token": token}).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).full_name == "Nama Palsu"


def test_sign_in_form_needs_its_csrf_token(csrf_app, make_user):
    user = make_user()
    browser = csrf_app.test_client()
    response = browser.post("/akun/masuk", data={"login": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert not is_signed_in(browser)
