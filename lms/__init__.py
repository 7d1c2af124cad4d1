"""Bangkom's platform package; ``create_app`` is the composition root and only wires."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

import config as settings

ROOT = Path(__file__).resolve().parent.parent


def create_app(env_name: str | None = None, overrides: dict | None = None) -> Flask:
    cfg = settings.load(env_name)
    app = Flask(
        __name__,
        instance_path=cfg.INSTANCE_PATH,
        static_folder=str(ROOT / "static"),
        template_folder=str(ROOT / "templates"),
    )
    app.config.from_object(cfg)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(ROOT / "translations")
    if overrides:
        app.config.update(overrides)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if app.config.get("PROXY_HOPS"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    from lms import errors, extensions, i18n, jobs, storage, web
    from lms.auth.session import init_login

    extensions.db.init_app(app)
    extensions.migrate.init_app(app, extensions.db, directory=str(ROOT / "migrations"))
    extensions.csrf.init_app(app)
    extensions.limiter.init_app(app)
    extensions.login_manager.init_app(app)
    i18n.init_app(app)
    init_login(app)
    jobs.init_app(app)
    storage.init_app(app)
    web.init_app(app)
    errors.init_app(app)

    from lms.admin.views import bp as admin_bp
    from lms.api import bp as api_bp
    from lms.auth.views import bp as auth_bp
    from lms.cli import register_cli
    from lms.views import bp as lms_bp

    app.register_blueprint(lms_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(api_bp)
    register_cli(app)

    # Feature packages; dependencies point one way: certificates → courses → lms.
    import certificates.views
    import courses.views

    courses.views.init_app(app)
    certificates.views.init_app(app)
    return app
