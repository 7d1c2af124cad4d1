"""Settings from the environment: production refuses every unsafe set-up with a message that names the
problem, before anything is served; development keeps one generated secret in its instance folder."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from config import ConfigError, load
from lms import ROOT, create_app

GOOD_SECRET = "k" * 20 + "-long-enough-random-value-0123456789"


@pytest.fixture
def instance(tmp_path):
    folder = tmp_path / "instance"
    folder.mkdir()
    return folder


@pytest.fixture
def signing_key(tmp_path):
    """Stands for the issuer's real PKCS#12 file, kept outside the instance folder."""
    path = tmp_path / "keys" / "issuer.p12"
    path.parent.mkdir()
    path.write_bytes(b"not parsed by the settings")
    return path


@pytest.fixture
def production_env(instance, signing_key):
    """A production environment that passes every check; each test breaks one thing."""
    return {
        "LMS_ENV": "production",
        "LMS_INSTANCE_PATH": str(instance),
        "LMS_SECRET_KEY": GOOD_SECRET,
        "LMS_SIGNING_P12": str(signing_key),
        "LMS_SIGNING_P12_PASSWORD": "issuer-password",
    }


def refusal(environ: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as caught:
        load(environ=environ)
    return str(caught.value)


def test_a_good_production_set_up_loads_with_secure_cookies(production_env, instance):
    settings = load(environ=production_env)
    assert settings.ENV_NAME == "production"
    assert settings.SECRET_KEY == GOOD_SECRET
    assert settings.DEBUG is False
    assert settings.SESSION_COOKIE_SECURE is True
    assert settings.REMEMBER_COOKIE_SECURE is True
    assert str(instance) == settings.INSTANCE_PATH
    assert not (instance / "secret_key").exists(), "production must never write a generated secret"


def test_production_may_sign_through_a_bsre_gateway_instead_of_a_key_file(production_env):
    del production_env["LMS_SIGNING_P12"]
    production_env["LMS_BSRE_URL"] = "https://bsre.example.go.id/api"
    assert load(environ=production_env).BSRE_URL == "https://bsre.example.go.id/api"


@pytest.mark.parametrize("secret", [None, "", "short-secret", "x" * 31], ids=["unset", "empty", "short", "31"])
def test_production_refuses_a_missing_or_short_secret(production_env, secret):
    if secret is None:
        del production_env["LMS_SECRET_KEY"]
    else:
        production_env["LMS_SECRET_KEY"] = secret
    message = refusal(production_env)
    assert "LMS_SECRET_KEY" in message
    assert "32 characters" in message


def test_production_accepts_a_secret_of_exactly_32_characters(production_env):
    production_env["LMS_SECRET_KEY"] = "s" * 32
    assert load(environ=production_env).SECRET_KEY == "s" * 32


def test_production_ignores_a_development_secret_left_in_the_instance_folder(production_env, instance):
    """An operator who first tried the embedded default has instance/secret_key; production must still
    demand its own secret rather than run on a key that sat on a developer's disk."""
    load("development", {"LMS_INSTANCE_PATH": str(instance)})
    assert (instance / "secret_key").exists()
    del production_env["LMS_SECRET_KEY"]
    assert "LMS_SECRET_KEY" in refusal(production_env)


@pytest.mark.parametrize("variable", ["LMS_DEBUG", "FLASK_DEBUG"])
def test_production_refuses_debug_mode(production_env, variable):
    production_env[variable] = "1"
    message = refusal(production_env)
    assert "Debug mode must be off" in message
    assert "LMS_DEBUG" in message
    assert "FLASK_DEBUG" in message


def test_production_refuses_flask_debug_even_when_lms_debug_says_off(production_env):
    """``flask run`` starts the interactive debugger on FLASK_DEBUG alone, whatever LMS_DEBUG says."""
    production_env.update(LMS_DEBUG="0", FLASK_DEBUG="1")
    assert "Debug mode must be off" in refusal(production_env)


@pytest.mark.parametrize("value", ["0", "false", "off", ""])
def test_debug_switched_off_explicitly_is_accepted(production_env, value):
    production_env.update(LMS_DEBUG=value, FLASK_DEBUG=value)
    assert load(environ=production_env).DEBUG is False


def test_production_refuses_to_run_without_any_signing_key(production_env):
    del production_env["LMS_SIGNING_P12"]
    message = refusal(production_env)
    assert "LMS_SIGNING_P12" in message
    assert "LMS_BSRE_URL" in message


def test_production_refuses_a_signing_key_file_that_does_not_exist(production_env, tmp_path):
    """A typo in the key path must stop start-up, not surface later as failed certificate jobs."""
    production_env["LMS_SIGNING_P12"] = str(tmp_path / "keys" / "isuer.p12")
    message = refusal(production_env)
    assert "LMS_SIGNING_P12" in message
    assert "isuer.p12" in message


def test_production_refuses_the_development_test_signer(production_env, instance):
    dev_key = instance / "signing" / "dev-signer.p12"
    dev_key.parent.mkdir()
    dev_key.write_bytes(b"development test signer")
    production_env["LMS_SIGNING_P12"] = str(dev_key)
    message = refusal(production_env)
    assert "development test signer" in message
    assert "not for production" in message


def test_the_development_signer_is_recognised_through_a_relative_path_or_a_link(
        production_env, instance, tmp_path, monkeypatch):
    dev_key = instance / "signing" / "dev-signer.p12"
    dev_key.parent.mkdir()
    dev_key.write_bytes(b"development test signer")
    link = tmp_path / "keys" / "issuer-link.p12"
    link.symlink_to(dev_key)
    monkeypatch.chdir(tmp_path)
    for path in ("instance/signing/dev-signer.p12", "./instance/signing/../signing/dev-signer.p12", str(link)):
        production_env["LMS_INSTANCE_PATH"] = "instance"
        production_env["LMS_SIGNING_P12"] = path
        assert "development test signer" in refusal(production_env), path


def test_every_problem_is_named_at_once(instance):
    """One start attempt tells the operator everything to fix, not one item per restart."""
    message = refusal({"LMS_ENV": "production", "LMS_INSTANCE_PATH": str(instance), "LMS_DEBUG": "true"})
    assert message.startswith("Bangkom refuses to start")
    assert "LMS_SECRET_KEY" in message
    assert "Debug mode" in message
    assert "LMS_BSRE_URL" in message
    assert message.count("\n  - ") == 3


@pytest.mark.parametrize("name", ["staging", "prod", "Production", "test"])
def test_an_unknown_environment_name_is_refused(instance, name):
    message = refusal({"LMS_ENV": name, "LMS_INSTANCE_PATH": str(instance)})
    assert repr(name) in message
    for known in ("development", "production", "testing"):
        assert known in message


def test_development_generates_its_secret_once_and_reuses_it(instance):
    env = {"LMS_INSTANCE_PATH": str(instance)}
    first = load(environ=env)
    assert first.ENV_NAME == "development"
    assert len(first.SECRET_KEY) >= 32
    key_file = instance / "secret_key"
    assert key_file.read_text().strip() == first.SECRET_KEY
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600, "the secret must be readable by its owner only"

    assert load(environ=env).SECRET_KEY == first.SECRET_KEY, "a restart must keep sessions valid"


def test_each_development_instance_has_its_own_secret(tmp_path):
    one = load("development", {"LMS_INSTANCE_PATH": str(tmp_path / "one")})
    two = load("development", {"LMS_INSTANCE_PATH": str(tmp_path / "two")})
    assert one.SECRET_KEY != two.SECRET_KEY


def test_development_uses_a_given_secret_and_writes_none(instance):
    settings = load(environ={"LMS_INSTANCE_PATH": str(instance), "LMS_SECRET_KEY": GOOD_SECRET})
    assert settings.SECRET_KEY == GOOD_SECRET
    assert not (instance / "secret_key").exists()


@pytest.fixture
def clean_environ(monkeypatch, instance):
    for name in list(os.environ):
        if name.startswith("LMS_") or name.startswith("FLASK_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("LMS_INSTANCE_PATH", str(instance))
    return monkeypatch


def test_create_app_refuses_an_unsafe_production_set_up(clean_environ, instance):
    clean_environ.setenv("LMS_ENV", "production")
    clean_environ.setenv("LMS_DEBUG", "1")
    with pytest.raises(ConfigError, match="LMS_SECRET_KEY"):
        create_app()
    with pytest.raises(ConfigError, match="Debug mode"):
        create_app("production")
    assert not (instance / "secret_key").exists()


def test_create_app_in_production_with_a_good_set_up(clean_environ, signing_key, app):
    clean_environ.setenv("LMS_SECRET_KEY", GOOD_SECRET)
    clean_environ.setenv("LMS_SIGNING_P12", str(signing_key))
    try:
        production = create_app("production")
        assert production.config["SESSION_COOKIE_SECURE"] is True
        assert production.config["SECRET_KEY"] == GOOD_SECRET
        assert production.debug is False
    finally:
        # The limiter and the job queue are process-wide: hand them back to the suite's application.
        from lms import jobs
        from lms.extensions import limiter

        limiter.init_app(app)
        jobs.init_app(app)


def test_the_wsgi_entry_point_stops_before_serving(instance):
    """What gunicorn or ``flask --app wsgi`` does with a bad production environment: exits non-zero,
    printing the reasons, without creating anything."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("LMS_") and not key.startswith("FLASK_")}
    env.update(LMS_ENV="production", LMS_INSTANCE_PATH=str(instance))
    result = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0
    assert "ConfigError" in result.stderr
    assert "LMS_SECRET_KEY" in result.stderr
    assert not (instance / "secret_key").exists()


def test_instance_path_defaults_to_instance_in_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load("development", {})
    assert Path(settings.INSTANCE_PATH) == tmp_path / "instance"
    assert f"sqlite:///{tmp_path / 'instance' / 'bangkom.db'}" == settings.SQLALCHEMY_DATABASE_URI
