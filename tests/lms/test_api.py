"""The machine API's shared rules: bearer tokens with scopes, JSON errors, the OpenAPI description."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Blueprint, jsonify
from flask_babel import force_locale
from flask_babel import gettext as babel_gettext

from lms import create_app, jobs, services
from lms.api import current_token, openapi_document, token_required
from lms.extensions import db
from lms.models import ApiToken, User


def retire(other, app) -> None:
    """Close a second app's database connections and give the process-wide job queue back to ``app``."""
    with other.app_context():
        db.engine.dispose()
    jobs.init_app(app)


def say(app, message, locale="id", **params):
    with app.test_request_context(), force_locale(locale):
        return babel_gettext(message, **params)


def test_openapi_description_is_valid_openapi_3_1(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    spec = response.get_json()
    assert spec["openapi"] == "3.1.0"
    assert spec["info"]["title"]
    assert spec["info"]["version"]
    assert spec["servers"] == [{"url": "/api/v1"}]
    assert spec["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    assert set(spec["components"]["schemas"]["Error"]["required"]) == {"error", "message"}
    assert "/openapi.json" in spec["paths"]
    for path, operations in spec["paths"].items():
        assert path.startswith("/"), path
        for method, operation in operations.items():
            assert method in {"get", "post", "put", "patch", "delete"}, (path, method)
            assert operation["responses"], (path, method)


def test_openapi_needs_no_token_and_is_not_cached(client):
    response = client.get("/api/v1/openapi.json")
    assert response.headers["Cache-Control"] == "no-store"
    assert "Authorization" in response.headers["Vary"]
    assert "Set-Cookie" not in response.headers


def test_openapi_document_paths_match_the_api_routes(app):
    """Every route of /api/v1 is described, and every description is of a route that exists."""
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = rule.rule.removeprefix("/api/v1")
            for converter in ("string:", "int:", "path:"):
                path = path.replace(f"<{converter}", "<")
            routes.add(path.replace("<", "{").replace(">", "}"))
    with app.test_request_context():
        described = set(openapi_document()["paths"])
    assert routes == described


# ---------------------------------------------------------------- token_required


@pytest.fixture
def api_app(app, database_url):
    """A separate app with one tiny endpoint behind ``token_required``."""
    other = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database_url})
    probe = Blueprint("api_probe", __name__, url_prefix="/api/v1/_probe")

    @probe.get("/records")
    @token_required("records:read")
    def records():
        token = current_token()
        return jsonify(owner=token.user.email, scopes=token.scopes)

    other.register_blueprint(probe)
    yield other
    retire(other, app)


@pytest.fixture
def hr_user(make_user):
    return make_user(roles=("hr",), email="bkd@example.go.id")


def mint(user, scopes=("records:read",), **fields):
    token, secret = services.create_api_token(user, name="SIMPEG", scopes=list(scopes), actor=None, **fields)
    db.session.commit()
    return token, secret


def call(api_app, secret=None, header=None, language="en"):
    headers = {"Accept-Language": language}
    if header is not None:
        headers["Authorization"] = header
    elif secret is not None:
        headers["Authorization"] = f"Bearer {secret}"
    return api_app.test_client().get("/api/v1/_probe/records", headers=headers)


def assert_json_error(response, status, message=None):
    assert response.status_code == status
    assert response.is_json, response.get_data(as_text=True)[:300]
    body = response.get_json()
    assert set(body) == {"error", "message"}
    assert body["error"]
    assert body["message"]
    if message is not None:
        assert body["message"] == message
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_right_scope_gets_the_answer(api_app, hr_user):
    _token, secret = mint(hr_user, scopes=("records:read", "certificates:read"))
    response = call(api_app, secret)
    assert response.status_code == 200
    assert response.get_json() == {"owner": "bkd@example.go.id", "scopes": ["certificates:read", "records:read"]}


def test_scheme_name_is_case_insensitive(api_app, hr_user):
    _token, secret = mint(hr_user)
    assert call(api_app, header=f"bearer {secret}").status_code == 200


def test_no_token_is_401_in_json(api_app):
    assert_json_error(call(api_app), 401, "This endpoint needs an API token (Authorization: Bearer …).")


@pytest.mark.parametrize("header", ["Basic YWRtaW46YWRtaW4=", "Bearer", "Bearer    ", "bkm_no_scheme"])
def test_malformed_authorization_is_401(api_app, header):
    assert_json_error(call(api_app, header=header), 401)


def test_unknown_token_is_401(api_app, hr_user):
    mint(hr_user)
    assert_json_error(call(api_app, "bkm_" + "x" * 40), 401, "The API token is unknown, revoked or expired.")
    assert_json_error(call(api_app, "not-even-our-format"), 401, "The API token is unknown, revoked or expired.")


def test_revoked_token_is_401(api_app, hr_user):
    token, secret = mint(hr_user)
    assert call(api_app, secret).status_code == 200
    services.revoke_api_token(token, actor=None)
    db.session.commit()
    assert_json_error(call(api_app, secret), 401, "The API token is unknown, revoked or expired.")


def test_expired_token_is_401(api_app, hr_user):
    token, secret = mint(hr_user, expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
    assert call(api_app, secret).status_code == 200
    token.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    db.session.commit()
    assert_json_error(call(api_app, secret), 401, "The API token is unknown, revoked or expired.")


def test_token_of_a_deactivated_account_is_401(api_app, hr_user):
    _token, secret = mint(hr_user)
    services.set_active(db.session.get(User, hr_user.id), False, actor=None)
    db.session.commit()
    assert_json_error(call(api_app, secret), 401)


def test_token_without_the_scope_is_403(api_app, hr_user):
    _token, secret = mint(hr_user, scopes=("certificates:read",))
    assert_json_error(call(api_app, secret), 403, "The API token lacks the scope records:read.")


def test_token_errors_speak_indonesian_by_default(app, api_app, hr_user):
    _token, secret = mint(hr_user, scopes=("certificates:read",))
    response = call(api_app, secret, language="id")
    assert_json_error(response, 403, say(app, "The API token lacks the scope %(scope)s.", scope="records:read"))
    assert_json_error(call(api_app, language="id"), 401,
                      say(app, "This endpoint needs an API token (Authorization: Bearer …)."))


def test_token_use_is_recorded(api_app, hr_user):
    token, secret = mint(hr_user)
    assert token.last_used_at is None
    assert call(api_app, secret).status_code == 200
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).last_used_at is not None


def test_session_cookie_does_not_open_token_routes(api_app, hr_user):
    """The API authenticates the token, never the browser session (so CSRF cannot ride on it)."""
    client = api_app.test_client()
    assert client.post("/akun/masuk", data={"login": hr_user.email, "password": "correct horse 1"}).status_code == 302
    assert client.get("/profil").status_code == 200
    assert_json_error(client.get("/api/v1/_probe/records"), 401)


def test_only_the_hash_of_a_token_is_stored(hr_user):
    token, secret = mint(hr_user)
    stored = db.session.get(ApiToken, token.id)
    assert secret.startswith("bkm_")
    assert secret not in (stored.token_hash, stored.prefix)
    assert stored.prefix == secret[:12]
    assert services.token_for_secret(secret).id == token.id
