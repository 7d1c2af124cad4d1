"""The command line operators script against (INTERFACES.md): ``users create`` and ``tokens create``.
``users import`` is covered with the rest of the CSV import in test_imports.py."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from lms import services
from lms.extensions import db
from lms.models import ApiToken, AuditEvent, User

PASSWORD = "correct horse 1"


@pytest.fixture(autouse=True)
def english(_clean):
    with force_locale("en"):
        yield


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()

    def invoke(*args):
        return runner.invoke(args=list(args))

    return invoke


@pytest.fixture
def unit():
    unit = services.save_unit(None, code="DISDUK", name="Dinas Kependudukan", kind="unit", parent_id=None,
                              actor=None)
    db.session.commit()
    return unit


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def create(cli, *extra, email="budi@example.go.id", password=PASSWORD):
    return cli("users", "create", "--email", email, "--name", "Budi Santoso", "--password", password, *extra)


# ---------------------------------------------------------------- users create


def test_users_create_makes_an_account_that_can_sign_in(cli, unit):
    result = create(cli, "--role", "learner", "--role", "hr", "--nip", "19850312 201001 1 003", "--unit",
                    "DISDUK", email="Budi@Example.GO.id")
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User))
    assert result.stdout.strip() == f"Created budi@example.go.id (id {user.id}) with roles hr, learner."
    assert (user.email, user.full_name, user.nip) == ("budi@example.go.id", "Budi Santoso", "198503122010011003")
    assert (user.employee_type, user.birth_date, user.gender) == ("PNS", dt.date(1985, 3, 12), "L")
    assert user.unit_id == unit.id
    assert user.roles == {"learner", "hr"}
    assert user.password_hash
    assert PASSWORD not in user.password_hash
    assert services.authenticate("198503122010011003", PASSWORD).id == user.id
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.create"))
    assert (event.actor_id, event.actor_label, event.object_id) == (None, "system", str(user.id))


def test_users_create_without_a_nip_for_partners(cli):
    result = create(cli, "--role", "coauthor", email="dosen@univ.ac.id")
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(User.nip)) is None


@pytest.mark.parametrize(("args", "email", "reason"), [
    (("--nip", "19850312"), "budi@example.go.id", "nip: A NIP has 18 digits; this one has 8."),
    (("--nip", "198503122010011000"), "budi@example.go.id", "cannot be 000"),
    (("--nip", "19850312201001100x"), "budi@example.go.id", "nip: A NIP contains digits only."),
    ((), "budi@@example", "email: This is not a valid e-mail address."),
    ((), "budi example.go.id", "email: This is not a valid e-mail address."),
])
def test_users_create_refuses_a_bad_nip_or_email_with_the_reason(cli, args, email, reason):
    result = create(cli, "--role", "learner", *args, email=email)
    assert result.exit_code == 1
    assert reason in result.stderr
    assert result.stderr.startswith("Error: ")
    assert count(User) == 0
    assert count(AuditEvent) == 0


def test_users_create_reports_every_problem_at_once(cli):
    result = create(cli, "--role", "learner", "--nip", "123", email="nope")
    assert result.exit_code == 1
    assert "email:" in result.stderr
    assert "nip:" in result.stderr


def test_users_create_refuses_an_email_or_nip_already_in_use(cli, make_user):
    make_user(email="budi@example.go.id", nip="198503122010011003")
    result = create(cli, "--role", "learner", email="BUDI@example.go.id")
    assert result.exit_code == 1
    assert "Another account already uses this e-mail address." in result.stderr
    result = create(cli, "--role", "learner", "--nip", "198503122010011003", email="budi2@example.go.id")
    assert result.exit_code == 1
    assert "Another account already has this NIP." in result.stderr
    assert count(User) == 1


def test_users_create_refuses_a_weak_password(cli):
    result = create(cli, "--role", "admin", password="short")
    assert result.exit_code == 1
    assert "password: Use at least 10 characters." in result.stderr
    result = create(cli, "--role", "admin", password="aaaaaaaaaaaa")
    assert result.exit_code == 1
    assert "too easy to guess" in result.stderr
    assert count(User) == 0


def test_users_create_refuses_an_unknown_unit(cli, unit):
    result = create(cli, "--role", "learner", "--unit", "NOPE")
    assert result.exit_code == 1
    assert "unknown unit code 'NOPE'" in result.stderr
    assert count(User) == 0


def test_users_create_accepts_only_the_documented_roles(cli):
    result = create(cli, "--role", "superadmin")
    assert result.exit_code == 2
    assert "superadmin" in result.output
    for role in ("learner", "trainer", "coauthor", "hr", "admin"):
        assert role in result.output
    assert create(cli).exit_code == 2  # --role is required
    assert count(User) == 0


# ---------------------------------------------------------------- tokens create


def test_tokens_create_prints_the_secret_last_and_stores_only_its_hash(cli, make_user):
    owner = make_user(email="simpeg@example.go.id", roles=("hr",))
    result = cli("tokens", "create", "--email", "SIMPEG@example.go.id", "--scope", "records:read",
                 "--scope", "certificates:read", "--name", "SIMPEG BKD")
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    secret = lines[-1]
    assert secret.startswith(services.TOKEN_PREFIX)
    assert " " not in secret
    assert len(secret) >= 40
    assert "not shown again" in "\n".join(lines[:-1])

    token = db.session.scalar(select(ApiToken))
    assert token.user_id == owner.id
    assert token.name == "SIMPEG BKD"
    assert sorted(token.scopes) == ["certificates:read", "records:read"]
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    stored = [str(v) for v in (token.name, token.prefix, token.token_hash, token.scopes)]
    assert all(secret not in value for value in stored)
    assert secret.startswith(token.prefix)
    assert len(token.prefix) < len(secret) // 2

    found = services.token_for_secret(secret)
    assert found is not None
    assert found.id == token.id
    assert found.user.email == "simpeg@example.go.id"
    assert services.token_for_secret(secret[:-1]) is None
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.object_type == "api_tokens")) == \
        "token.create"


def test_each_token_gets_its_own_secret(cli, make_user):
    make_user(email="simpeg@example.go.id")
    first = cli("tokens", "create", "--email", "simpeg@example.go.id", "--scope", "records:read")
    second = cli("tokens", "create", "--email", "simpeg@example.go.id", "--scope", "records:read")
    a, b = first.stdout.strip().splitlines()[-1], second.stdout.strip().splitlines()[-1]
    assert a != b
    assert services.token_for_secret(a).id != services.token_for_secret(b).id


def test_tokens_create_refuses_an_unknown_scope_and_stores_nothing(cli, make_user):
    make_user(email="simpeg@example.go.id")
    result = cli("tokens", "create", "--email", "simpeg@example.go.id", "--scope", "records:write")
    assert result.exit_code != 0
    assert "records:write" in result.output
    assert "certificates:read" in result.output
    assert "records:read" in result.output
    assert count(ApiToken) == 0
    assert cli("tokens", "create", "--email", "simpeg@example.go.id").exit_code != 0  # a scope is required
    assert count(ApiToken) == 0


def test_tokens_create_refuses_unknown_or_deactivated_accounts(cli, make_user):
    result = cli("tokens", "create", "--email", "nobody@example.go.id", "--scope", "records:read")
    assert result.exit_code == 1
    assert "no account with e-mail nobody@example.go.id" in result.stderr
    gone = make_user(email="gone@example.go.id")
    services.set_active(gone, False, actor=None)
    db.session.commit()
    result = cli("tokens", "create", "--email", "gone@example.go.id", "--scope", "records:read")
    assert result.exit_code == 1
    assert "active accounts" in result.stderr
    assert result.stdout.strip() == ""  # no secret printed
    assert count(ApiToken) == 0
