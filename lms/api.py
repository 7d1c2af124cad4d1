"""The machine API under ``/api/v1``: bearer tokens with scopes, JSON errors, an OpenAPI description.

Endpoints of later features register on ``bp`` and describe themselves with ``document()`` so the
OpenAPI file stays the single description of what the API answers.
"""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, g, jsonify, request
from flask_babel import gettext as _

from lms import services
from lms.extensions import csrf, db

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # the API authenticates with bearer tokens, never with the session cookie

_PATHS: dict[str, dict] = {}
_SCHEMAS: dict[str, dict] = {}


def document(path: str, method: str, spec: dict) -> None:
    """Add one operation to the OpenAPI description (``path`` in OpenAPI form, e.g. ``/x/{code}``)."""
    _PATHS.setdefault(path, {})[method.lower()] = spec


def schema(name: str, spec: dict) -> None:
    """Add a named schema to the OpenAPI components (referenced as ``#/components/schemas/<name>``)."""
    _SCHEMAS[name] = spec


def bearer_secret() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _sep, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return secret.strip()


def current_token():
    """The token this request carries, or None; a token that is given but unusable is refused (401)."""
    if "api_token" not in g:
        secret = bearer_secret()
        token = None
        if secret is not None:
            token = services.token_for_secret(secret)
            if token is None:
                abort(401, description=_("The API token is unknown, revoked or expired."))
            services.touch_token(token)
            db.session.commit()
        g.api_token = token
    return g.api_token


def has_scope(scope: str) -> bool:
    token = current_token()
    return token is not None and scope in (token.scopes or [])


def token_required(scope: str):
    """Refuse with 401 when no usable token is sent and with 403 when it lacks ``scope``."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            token = current_token()
            if token is None:
                abort(401, description=_("This endpoint needs an API token (Authorization: Bearer …)."))
            if scope not in (token.scopes or []):
                abort(403, description=_("The API token lacks the scope %(scope)s.", scope=scope))
            return view(*args, **kwargs)

        return wrapped

    return decorator


@bp.after_request
def no_cookies(response):
    response.headers["Cache-Control"] = "no-store"
    response.headers.setdefault("Vary", "Authorization")
    return response


ERROR_SCHEMA = {
    "type": "object",
    "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
    "required": ["error", "message"],
}


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())


def openapi_document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Bangkom API",
            "version": "1",
            "description": "Certificates, training records and compliance for agencies' HR systems.",
        },
        "servers": [{"url": "/api/v1"}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": ERROR_SCHEMA, **_SCHEMAS},
        },
        "paths": {
            "/openapi.json": {
                "get": {
                    "summary": "This description",
                    "responses": {"200": {"description": "OpenAPI 3.1 document",
                                          "content": {"application/json": {"schema": {"type": "object"}}}}},
                }
            },
            **_PATHS,
        },
    }
