"""Settings for Bangkom, read from the environment (see the table in README.md).

Three shapes share one code base: ``development`` (the embedded default that ``make run`` starts),
``testing`` (the suite) and ``production``. Every secret and URL comes from ``LMS_*`` variables.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

TRUTHY = {"1", "true", "yes", "on"}


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in TRUTHY


class ConfigError(RuntimeError):
    """The environment describes a configuration Bangkom refuses to run with."""


class Config:
    ENV_NAME = "development"
    DEBUG = False
    TESTING = False

    # One JP (jam pelajaran) is 45 minutes by regulation; agencies may change it.
    JP_MINUTES = 45
    BABEL_DEFAULT_LOCALE = "id"
    BABEL_DEFAULT_TIMEZONE = "Asia/Jakarta"
    LANGUAGES = ("id", "en")

    SESSION_COOKIE_NAME = "bangkom_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = 8 * 3600
    WTF_CSRF_TIME_LIMIT = 8 * 3600
    CERTIFICATE_PDF_AUTO = True
    MAX_CONTENT_LENGTH = 64 * 1024 * 1024

    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}

    # Sign-in throttling: checked before any password is hashed.
    LOGIN_LIMIT_PER_ACCOUNT = "5 per 15 minutes"
    LOGIN_LIMIT_PER_ADDRESS = "30 per 15 minutes"
    RESET_LIMIT_PER_ADDRESS = "10 per hour"

    PASSWORD_RESET_HOURS = 2
    PASSWORD_MIN_LENGTH = 10
    # argon2id parameters (RFC 9106 second recommendation is the argon2-cffi default).
    ARGON2_TIME_COST = 3
    ARGON2_MEMORY_COST = 65536
    ARGON2_PARALLELISM = 4

    USERS_PER_PAGE = 25
    IMPORT_MAX_ROWS = 200_000

    MAIL_SENDER = "Bangkom <no-reply@bangkom.id>"
    MAIL_SERVER = ""
    MAIL_PORT = 587
    MAIL_USERNAME = ""
    MAIL_PASSWORD = ""
    MAIL_USE_TLS = True

    JOBS_IMMEDIATE = False

    def __init__(self, environ: dict[str, str] | None = None):
        env = dict(os.environ if environ is None else environ)
        self.INSTANCE_PATH = str(Path(env.get("LMS_INSTANCE_PATH") or "instance").resolve())
        self.SQLALCHEMY_DATABASE_URI = env.get("LMS_DATABASE_URL") or (
            f"sqlite:///{Path(self.INSTANCE_PATH) / 'bangkom.db'}"
        )
        self.REDIS_URL = env.get("LMS_REDIS_URL") or ""
        self.BASE_URL = (env.get("LMS_BASE_URL") or "http://127.0.0.1:5000").rstrip("/")
        self.RATELIMIT_ENABLED = _flag(env.get("LMS_RATELIMIT_ENABLED"), True)
        self.RATELIMIT_STORAGE_URI = self.REDIS_URL or "memory://"
        self.SIGNING_P12 = env.get("LMS_SIGNING_P12") or ""
        self.SIGNING_P12_PASSWORD = env.get("LMS_SIGNING_P12_PASSWORD") or ""
        self.BSRE_URL = env.get("LMS_BSRE_URL") or ""
        self.BSRE_USER = env.get("LMS_BSRE_USER") or ""
        self.BSRE_PASSWORD = env.get("LMS_BSRE_PASSWORD") or ""
        self.TSA_URL = env.get("LMS_TSA_URL") or ""
        # Either variable turns debug on: ``flask run`` starts the interactive debugger on FLASK_DEBUG alone.
        self.DEBUG = _flag(env.get("LMS_DEBUG"), type(self).DEBUG) or _flag(env.get("FLASK_DEBUG"), False)
        for key in ("MAIL_SERVER", "MAIL_USERNAME", "MAIL_PASSWORD", "MAIL_SENDER"):
            if env.get(f"LMS_{key}"):
                setattr(self, key, env[f"LMS_{key}"])
        self.PROXY_HOPS = int(env.get("LMS_PROXY_HOPS") or 0)
        # A separate origin for SCORM package files, e.g. https://konten.bangkom.example; unset in
        # development, where the other loopback name (localhost ↔ 127.0.0.1) serves as one.
        self.CONTENT_URL = (env.get("LMS_CONTENT_URL") or "").rstrip("/")
        # Extra trust roots (PEM file) for checking uploaded PDFs, e.g. the BSrE root and intermediate.
        self.TRUST_PEM = env.get("LMS_TRUST_PEM") or ""
        # The SIASN-style endpoint the outbox pushes training records to ({url}/kursus/save, …/diklat/save),
        # its bearer token, and the agency's SIASN ids that every kursus payload carries.
        self.SIASN_PUSH_URL = (env.get("LMS_SIASN_PUSH_URL") or "").rstrip("/")
        self.SIASN_PUSH_TOKEN = env.get("LMS_SIASN_PUSH_TOKEN") or ""
        self.SIASN_INSTANSI_ID = env.get("LMS_SIASN_INSTANSI_ID") or ""
        self.SIASN_LOKASI_ID = env.get("LMS_SIASN_LOKASI_ID") or ""
        if env.get("LMS_MAIL_PORT"):
            self.MAIL_PORT = int(env["LMS_MAIL_PORT"])
        self.SECRET_KEY = env.get("LMS_SECRET_KEY") or self._fallback_secret()

    def _fallback_secret(self) -> str:
        """Development keeps one generated secret in the instance folder, so sessions survive restarts."""
        path = Path(self.INSTANCE_PATH) / "secret_key"
        if path.exists():
            return path.read_text().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(key)
        return key

    @property
    def DEV_SIGNING_P12(self) -> str:  # noqa: N802 - Flask reads upper-case attributes
        return str(Path(self.INSTANCE_PATH) / "signing" / "dev-signer.p12")

    def problems(self) -> list[str]:
        return []


class DevelopmentConfig(Config):
    ENV_NAME = "development"


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    WTF_CSRF_ENABLED = False
    JOBS_IMMEDIATE = True
    # Tests render certificate PDFs explicitly (certificates.jobs.produce_pdf), not on every completion.
    CERTIFICATE_PDF_AUTO = False
    # Hashing stays argon2id, only cheaper, so the suite runs in seconds.
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 1024
    ARGON2_PARALLELISM = 1

    def _fallback_secret(self) -> str:
        return "testing-secret-not-for-production"


class ProductionConfig(Config):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"

    def __init__(self, environ: dict[str, str] | None = None):
        env = dict(os.environ if environ is None else environ)
        self._secret_given = bool(env.get("LMS_SECRET_KEY"))
        super().__init__(environ)

    def _fallback_secret(self) -> str:
        return ""

    def problems(self) -> list[str]:
        found = []
        if not self._secret_given or len(self.SECRET_KEY) < 32:
            found.append("LMS_SECRET_KEY must be set to a random value of at least 32 characters.")
        if self.DEBUG:
            found.append("Debug mode must be off in production (unset LMS_DEBUG and FLASK_DEBUG).")
        if not self.SIGNING_P12 and not self.BSRE_URL:
            found.append("Set LMS_SIGNING_P12 (the issuer's PKCS#12 key) or LMS_BSRE_URL (a BSrE gateway).")
        if self.SIGNING_P12 and Path(self.SIGNING_P12).resolve() == Path(self.DEV_SIGNING_P12).resolve():
            found.append("LMS_SIGNING_P12 points at the development test signer, which is not for production.")
        elif self.SIGNING_P12 and not Path(self.SIGNING_P12).is_file():
            found.append(f"LMS_SIGNING_P12 names {self.SIGNING_P12}, which does not exist or is not a file.")
        return found


CONFIGS = {"development": DevelopmentConfig, "testing": TestingConfig, "production": ProductionConfig}


def load(env_name: str | None = None, environ: dict[str, str] | None = None) -> Config:
    """The settings object for ``LMS_ENV`` (or ``env_name``); refuses an unsafe production set-up."""
    env = os.environ if environ is None else environ
    name = env_name or env.get("LMS_ENV") or "development"
    if name not in CONFIGS:
        raise ConfigError(f"LMS_ENV must be one of {', '.join(CONFIGS)}, not {name!r}.")
    settings = CONFIGS[name](environ)
    problems = settings.problems()
    if problems:
        raise ConfigError("Bangkom refuses to start:\n  - " + "\n  - ".join(problems))
    return settings
