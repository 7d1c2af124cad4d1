"""What every page shares: security headers, navigation per role, the language switch."""

from __future__ import annotations

from flask import Flask, current_app, request
from flask.sessions import SecureCookieSessionInterface
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)

# (endpoint, label, roles that see it; None = everyone signed in)
NAVIGATION = (
    ("lms.home", _l("Home"), None),
    ("admin.users", _l("Users"), ("admin",)),
    ("admin.index", _l("Administration"), ("admin",)),
)
# The administration page: (endpoint, title, what it is for). Feature packages add theirs.
ADMIN_SECTIONS = (
    ("admin.users", _l("Users"), _l("Accounts, roles, bulk import of employees, deactivation.")),
    ("admin.units", _l("Units"), _l("The organisation tree: instansi and unit kerja with their codes.")),
    ("admin.institutions", _l("Institutions"), _l("Partner universities and institutions of co-authors.")),
    ("admin.tokens", _l("API tokens"), _l("Tokens for HR systems, with scopes; revoke them here.")),
    ("admin.audit", _l("Audit log"), _l("Who did what to which object, when and from where.")),
)


def add_admin_section(app: Flask, endpoint: str, title, description) -> None:
    sections = app.extensions.setdefault("bangkom.admin_sections", list(ADMIN_SECTIONS))
    if all(entry[0] != endpoint for entry in sections):
        sections.append((endpoint, title, description))


def admin_sections() -> list[tuple[str, str, str]]:
    return current_app.extensions.get("bangkom.admin_sections", list(ADMIN_SECTIONS))


def add_navigation(app: Flask, endpoint: str, label, roles: tuple[str, ...] | None, *, position: int) -> None:
    """Feature packages put their entries into the navigation of the app they are wired into."""
    entries = app.extensions.setdefault("bangkom.navigation", list(NAVIGATION))
    if all(entry[0] != endpoint for entry in entries):
        entries.insert(position, (endpoint, label, roles))


def add_home_section(app: Flask, role: str, render) -> None:
    """``render()`` returns the HTML of the home-page card for ``role`` (replacing its empty state)."""
    app.extensions.setdefault("bangkom.home_sections", {})[role] = render


def home_sections() -> dict[str, str]:
    sections = current_app.extensions.get("bangkom.home_sections", {})
    # The renderers return HTML from our own autoescaped templates.
    return {role: Markup(render()) for role, render in sections.items() if current_user.has_role(role)}  # noqa: S704


def navigation() -> list[tuple[str, str]]:
    if not current_user.is_authenticated:
        return []
    entries = current_app.extensions.get("bangkom.navigation", NAVIGATION)
    return [(endpoint, label) for endpoint, label, roles in entries
            if roles is None or current_user.has_role(*roles)]


_SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("X-Frame-Options", "DENY"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)


class ApiSessionInterface(SecureCookieSessionInterface):
    """No session cookie is read or written for ``/api/``: the API authenticates by token only, and the
    public verification endpoint is the busiest of all."""

    def open_session(self, app, request):
        if request.path.startswith("/api/"):
            return self.null_session_class()
        return super().open_session(app, request)

    def save_session(self, app, session, response):
        if isinstance(session, self.null_session_class):
            return None
        return super().save_session(app, session, response)


def security_headers(response):
    headers = response.headers
    present = {key.lower() for key, _value in headers.items()}
    for name, value in _SECURITY_HEADERS:
        if name.lower() not in present:
            headers.add(name, value)
    if request.endpoint and not request.endpoint.startswith("static"):
        # Pages carry personal data: never store them in shared caches.
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def close_unsent_body(response):
    """A 304 or HEAD answer sends no body, and Werkzeug then never closes it: a static file opened for it
    would stay open until the garbage collector finds it. Close it now."""
    if response.status_code == 304 or request.method == "HEAD":
        response.close()
    return response


def init_app(app: Flask) -> None:
    app.session_interface = ApiSessionInterface()
    app.after_request(security_headers)
    app.after_request(close_unsent_body)
    from lms.forms import ROLE_LABELS

    app.context_processor(lambda: {"navigation": navigation(), "role_labels": ROLE_LABELS})
