"""Error pages in the user's language, and JSON errors for the API; no stack trace reaches a user."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from lms.extensions import db


def _messages():
    return {
        400: (_("Bad request"), _("The request could not be understood. Go back and try again.")),
        401: (_("Sign-in required"), _("Sign in to continue.")),
        403: (_("Access denied"), _("Your account does not have access to this page.")),
        404: (_("Page not found"), _("The page you asked for does not exist or was moved.")),
        405: (_("Not allowed"), _("This action is not allowed here.")),
        413: (_("File too large"), _("The file is larger than this page accepts.")),
        429: (_("Too many attempts"), _("You have tried too often. Wait a moment and try again.")),
        500: (_("Something went wrong"), _("An unexpected error happened. It has been logged; please try "
                                           "again later.")),
    }


def wants_json() -> bool:
    return request.path.startswith("/api/")


def render_error(code: int, message: str | None = None, retry_after: int | None = None):
    title, default = _messages().get(code, (str(code), ""))
    message = message or default
    if wants_json():
        response = jsonify(error=title, message=message)
        if code == 401:
            # RFC 9110: a 401 names the scheme that would be accepted.
            response.headers["WWW-Authenticate"] = 'Bearer realm="Bangkom API"'
    else:
        response = render_template("errors/error.html", code=code, title=title, message=message,
                                   retry_after=retry_after)
    response = (response, code)
    return response


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_error(400, _("The form had expired or was not sent from this site. Reload the page "
                                   "and try again; nothing was changed."))

    @app.errorhandler(429)
    def too_many(error):
        limit = getattr(error, "limit", None)
        retry = None
        if limit is not None:
            from lms.extensions import limiter

            current = limiter.current_limit
            if current is not None:
                import time

                retry = max(1, int(current.reset_at - time.time()))
        message = None
        if retry is not None:
            minutes = (retry + 59) // 60
            message = _("Too many attempts. Try again in %(minutes)s minute(s).", minutes=minutes)
        body, code = render_error(429, message, retry_after=retry)
        headers = {"Retry-After": str(retry)} if retry else {}
        return body, code, headers

    @app.errorhandler(HTTPException)
    def http_error(error):
        custom = error.description if error.description != type(error).description else None
        return render_error(error.code or 500, custom)

    @app.errorhandler(Exception)
    def unexpected(error):
        db.session.rollback()
        if app.testing and not app.config.get("ERROR_PAGES_IN_TESTS"):
            raise error
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        return render_error(500)

    @app.errorhandler(InternalServerError)
    def internal(error):
        db.session.rollback()
        return render_error(500)
