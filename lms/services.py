"""Operations on people and the platform. They flush and never commit: the caller commits once."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask import current_app, has_request_context, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from lms import nip as nip_rules
from lms.extensions import db
from lms.models import (
    EMPLOYEE_TYPES,
    GENDERS,
    INSTITUTION_KINDS,
    JABATAN_TYPES,
    PANGKAT,
    PPPK_GOLONGAN,
    ROLES,
    TOKEN_SCOPES,
    UNIT_KINDS,
    ApiToken,
    AuditEvent,
    Institution,
    OrgUnit,
    PasswordReset,
    User,
    UserRole,
    aware_utcnow,
)
from lms.security import digest, hash_password, needs_rehash, new_token, verify_password


class ServiceError(Exception):
    """A rule said no; ``message`` explains it in the user's language."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


class ValidationFailed(ServiceError):
    """Input broke one or more rules; ``errors`` maps each field to its reason."""

    def __init__(self, errors: Mapping[str, Any]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = dict(errors)


def insert_unless_taken(model: type, **values: Any):
    """The new row of ``model``, or None when a unique key already holds one: one round trip, no savepoint
    (``INSERT … ON CONFLICT DO NOTHING RETURNING``, on PostgreSQL and SQLite alike). Of two requests racing
    to create the same row, the second gets None and reads the first one's."""
    dialect_insert = postgresql_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    return db.session.scalars(dialect_insert(model).values(**values).on_conflict_do_nothing()
                              .returning(model)).one_or_none()


# ---------------------------------------------------------------- audit


def audit(
    action: str,
    obj: Any = None,
    *,
    actor: User | None = None,
    summary: str = "",
    object_type: str | None = None,
    object_id: Any = None,
    **details: Any,
) -> AuditEvent:
    """Record who did what to which object; it commits (or rolls back) together with the change."""
    if obj is not None:
        object_type = object_type or obj.__tablename__
        if object_id is None:
            db.session.flush()
            object_id = obj.id
    event = AuditEvent(
        actor=actor,
        actor_label=actor.email if actor is not None else "system",
        action=action,
        object_type=object_type or "-",
        object_id=None if object_id is None else str(object_id),
        summary=summary,
        details={k: v for k, v in details.items() if v is not None},
    )
    if has_request_context():
        event.ip_address = request.remote_addr
        event.user_agent = (request.user_agent.string or "")[:255] or None
    db.session.add(event)
    return event


# ---------------------------------------------------------------- profile rules

PROFILE_FIELDS = (
    "email", "full_name", "title_front", "title_back", "nip", "nip_lama", "employee_type", "birth_date",
    "birth_place", "gender", "golongan", "jabatan_type", "jabatan_name", "unit_id", "institution_id",
    "phone", "locale",
)
PHONE_RE = re.compile(r"^\+?[0-9][0-9 \-]{6,18}[0-9]$")


def normalise_email(value: str) -> str:
    return (value or "").strip().lower()


def check_email(value: str) -> str:
    """A syntactically valid address in its normal form, or ValidationFailed."""
    try:
        return validate_email(normalise_email(value), check_deliverability=False, globally_deliverable=False).normalized.lower()
    except EmailNotValidError:
        raise ValidationFailed({"email": _l("This is not a valid e-mail address.")}) from None


def normalise_golongan(value: str | None) -> str | None:
    """``iii/a``, ``III/A`` and ``III a`` all mean III/a; PPPK golongan are bare roman numerals."""
    if not value or not value.strip():
        return None
    text = value.strip().upper().replace(" ", "/").replace("-", "/")
    if "/" in text:
        left, right = text.split("/", 1)
        return f"{left}/{right.lower()}"
    return text


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def check_profile(data: Mapping[str, Any], *, user: User | None = None) -> tuple[dict, dict]:
    """Validate profile fields; returns (clean values, errors by field). Uniqueness is checked too."""
    clean: dict[str, Any] = {k: _clean(v) for k, v in data.items() if k in PROFILE_FIELDS}
    errors: dict[str, Any] = {}

    if "email" in clean or user is None:
        try:
            clean["email"] = check_email(clean.get("email") or "")
        except ValidationFailed as exc:
            errors.update(exc.errors)
    if "full_name" in clean or user is None:
        if not clean.get("full_name"):
            errors["full_name"] = _l("Name is required.")
        elif len(clean["full_name"]) > 150:
            errors["full_name"] = _l("Name is too long (at most 150 characters).")

    def current(field):
        return clean[field] if field in clean else (getattr(user, field) if user is not None else None)

    if clean.get("employee_type") is not None and clean["employee_type"] not in EMPLOYEE_TYPES:
        errors["employee_type"] = _l("Employee type must be PNS, CPNS or PPPK.")
    if clean.get("gender") is not None:
        clean["gender"] = {"1": "L", "2": "P", "LAKI-LAKI": "L", "PEREMPUAN": "P"}.get(
            str(clean["gender"]).upper(), str(clean["gender"]).upper())
        if clean["gender"] not in GENDERS:
            errors["gender"] = _l("Gender must be L (laki-laki) or P (perempuan).")
    if clean.get("jabatan_type") is not None and clean["jabatan_type"] not in JABATAN_TYPES:
        errors["jabatan_type"] = _l("Unknown jabatan type.")
    if clean.get("locale") is not None and clean["locale"] not in ("id", "en"):
        errors["locale"] = _l("Language must be id or en.")
    if clean.get("phone") is not None and not PHONE_RE.match(clean["phone"]):
        errors["phone"] = _l("Phone numbers contain digits, spaces and dashes, with an optional leading +.")
    if clean.get("nip_lama") is not None and not re.fullmatch(r"\d{9}", clean["nip_lama"]):
        errors["nip_lama"] = _l("The old NIP has 9 digits.")

    if "nip" in clean and clean["nip"] is not None:
        clean["nip"] = nip_rules.normalise(clean["nip"])
    nip, etype = current("nip"), current("employee_type")
    if nip and "employee_type" not in errors and "gender" not in errors:
        try:
            info = nip_rules.parse(nip, employee_type=etype, birth_date=current("birth_date"),
                                   gender=current("gender"))
        except nip_rules.InvalidNip as exc:
            errors["nip"] = exc.message
        else:
            if etype is None:
                clean["employee_type"] = etype = info.layout
            if current("birth_date") is None:
                clean["birth_date"] = info.birth_date
            if current("gender") is None:
                clean["gender"] = info.gender
    elif etype and not nip and "employee_type" not in errors:
        errors["nip"] = _l("A NIP is required for PNS, CPNS and PPPK employees.")

    if "golongan" in clean:
        clean["golongan"] = normalise_golongan(clean["golongan"])
    golongan = current("golongan")
    if golongan and "employee_type" not in errors:
        allowed = PPPK_GOLONGAN if etype == "PPPK" else tuple(PANGKAT)
        if golongan not in allowed:
            errors["golongan"] = (
                _l("PPPK golongan is I to XVII.") if etype == "PPPK"
                else _l("Golongan must look like III/a (I/a to IV/e).")
            )

    for field, model in (("unit_id", OrgUnit), ("institution_id", Institution)):
        if clean.get(field) is not None and db.session.get(model, clean[field]) is None:
            errors[field] = _l("This choice does not exist.")

    others = select(User.id).where(User.id != user.id) if user is not None else select(User.id)
    if ("email" not in errors and clean.get("email") and (user is None or clean["email"] != user.email)
            and db.session.scalar(others.where(User.email == clean["email"]))):
        errors["email"] = _l("Another account already uses this e-mail address.")
    if ("nip" not in errors and clean.get("nip") and (user is None or clean["nip"] != user.nip)
            and db.session.scalar(others.where(User.nip == clean["nip"]))):
        errors["nip"] = _l("Another account already has this NIP.")
    return clean, errors


def check_roles(roles: Iterable[str]) -> set[str]:
    wanted = set(roles)
    unknown = wanted - set(ROLES)
    if unknown:
        raise ValidationFailed({"roles": _l("Unknown role: %(roles)s.", roles=", ".join(sorted(unknown)))})
    if not wanted:
        raise ValidationFailed({"roles": _l("Choose at least one role.")})
    return wanted


def check_password_policy(password: str, user: User | None = None) -> None:
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password or "") < minimum:
        raise ValidationFailed({"password": _l("Use at least %(n)s characters.", n=minimum)})
    if len(password) > 1024:
        raise ValidationFailed({"password": _l("This password is too long.")})
    lowered = password.lower()
    if user is not None and (lowered in (user.email.lower(), (user.nip or "").lower())):
        raise ValidationFailed({"password": _l("Do not use your e-mail address or NIP as your password.")})
    if len(set(password)) < 4:
        raise ValidationFailed({"password": _l("This password is too easy to guess.")})


# ---------------------------------------------------------------- users


def create_user(*, roles: Iterable[str], password: str | None = None, actor: User | None = None,
                **fields: Any) -> User:
    """A new account; fails with ValidationFailed listing every broken rule."""
    clean, errors = check_profile(fields)
    try:
        wanted = check_roles(roles)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    user = User(**clean)
    user.set_roles(wanted)
    if password:
        check_password_policy(password, user)
        user.password_hash = hash_password(password)
    db.session.add(user)
    db.session.flush()
    audit("user.create", user, actor=actor, summary=user.email, roles=sorted(wanted))
    return user


def update_user(user: User, *, actor: User | None, roles: Iterable[str] | None = None, **fields: Any) -> User:
    """Change profile fields (and roles); audited with the fields that changed."""
    clean, errors = check_profile(fields, user=user)
    wanted = None
    if roles is not None:
        try:
            wanted = check_roles(roles)
        except ValidationFailed as exc:
            errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    changed = {k: v for k, v in clean.items() if getattr(user, k) != v}
    for key, value in changed.items():
        setattr(user, key, value)
    if wanted is not None and wanted != user.roles:
        if actor is not None and actor.id == user.id and "admin" in user.roles and "admin" not in wanted:
            raise ValidationFailed({"roles": _l("You cannot remove your own admin role.")})
        changed["roles"] = sorted(wanted)
        user.set_roles(wanted)
    if changed:
        db.session.flush()
        audit("user.update", user, actor=actor, summary=user.email,
              fields={k: str(v) for k, v in changed.items()})
    return user


def set_active(user: User, active: bool, *, actor: User | None) -> None:
    """Deactivate (signing the person out everywhere) or reactivate an account."""
    if actor is not None and actor.id == user.id and not active:
        raise ServiceError(_l("You cannot deactivate your own account."))
    if user.is_active == active:
        return
    user.is_active = active
    if not active:
        user.rotate_sessions()
    audit("user.activate" if active else "user.deactivate", user, actor=actor, summary=user.email)


def find_by_login(login: str) -> User | None:
    """The account for a NIP or an e-mail address."""
    login = (login or "").strip()
    if "@" in login:
        return db.session.scalar(select(User).where(User.email == normalise_email(login)))
    digits = nip_rules.normalise(login)
    if digits.isdigit():
        return db.session.scalar(select(User).where(User.nip == digits))
    return None


def authenticate(login: str, password: str) -> User | None:
    """The active user whose password matches, or None; the same work is done for unknown logins."""
    user = find_by_login(login)
    if not verify_password(user.password_hash if user else None, password or ""):
        if user is not None:
            audit("auth.failed", user, summary=user.email)
        return None
    if not user.is_active:
        raise ServiceError(_l("This account has been deactivated. Contact your administrator."))
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = aware_utcnow()
    audit("auth.login", user, actor=user, summary=user.email)
    return user


def change_password(user: User, current: str, new: str) -> None:
    if not verify_password(user.password_hash, current or ""):
        raise ValidationFailed({"current_password": _l("Your current password is not correct.")})
    set_password(user, new, actor=user)


def set_password(user: User, new: str, *, actor: User | None) -> None:
    """Store a new password and end every other session of the account."""
    check_password_policy(new, user)
    user.password_hash = hash_password(new)
    user.rotate_sessions()
    audit("user.password", user, actor=actor, summary=user.email)


# ---------------------------------------------------------------- password reset


def request_password_reset(email: str) -> tuple[User, str] | None:
    """A single-use reset secret for the account, or None if there is no active account with that address."""
    user = db.session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None or not user.is_active:
        return None
    token = new_token()
    hours = current_app.config["PASSWORD_RESET_HOURS"]
    db.session.add(PasswordReset(
        user=user, token_hash=digest(token), expires_at=aware_utcnow() + dt.timedelta(hours=hours),
        requested_from=request.remote_addr if has_request_context() else None,
    ))
    audit("user.reset_requested", user, summary=user.email)
    return user, token


def find_reset(token: str) -> PasswordReset | None:
    """The reset for this secret while it is unused and unexpired."""
    reset = db.session.scalar(select(PasswordReset).where(PasswordReset.token_hash == digest(token or "")))
    if reset is None or reset.used_at is not None or reset.expires_at <= aware_utcnow():
        return None
    return reset


def complete_password_reset(token: str, new_password: str) -> User:
    reset = find_reset(token)
    if reset is None:
        raise ServiceError(_l("This reset link is invalid, already used or expired. Ask for a new one."))
    set_password(reset.user, new_password, actor=reset.user)
    now = aware_utcnow()
    # Every other open link of the account dies with this one.
    for other in db.session.scalars(select(PasswordReset).where(
            PasswordReset.user_id == reset.user_id, PasswordReset.used_at.is_(None))):
        other.used_at = now
    return reset.user


# ---------------------------------------------------------------- API tokens

TOKEN_PREFIX = "bkm_"  # noqa: S105 - a visible prefix, not a secret


def create_api_token(user: User, *, name: str, scopes: Iterable[str], actor: User | None,
                     expires_at: dt.datetime | None = None) -> tuple[ApiToken, str]:
    """A new token; the secret is returned once and only its hash is kept."""
    scopes = sorted(set(scopes))
    unknown = set(scopes) - set(TOKEN_SCOPES)
    if unknown or not scopes:
        raise ValidationFailed({"scopes": _l("Scopes must be chosen from: %(s)s.", s=", ".join(TOKEN_SCOPES))})
    if not user.is_active:
        raise ServiceError(_l("Tokens can only be created for active accounts."))
    name = (name or "").strip() or "API"
    secret = TOKEN_PREFIX + new_token(30)
    token = ApiToken(user=user, name=name[:100], prefix=secret[:12], token_hash=digest(secret), scopes=scopes,
                     created_by=actor, expires_at=expires_at)
    db.session.add(token)
    db.session.flush()
    audit("token.create", token, actor=actor, summary=f"{user.email}: {name}", scopes=scopes)
    return token, secret


def revoke_api_token(token: ApiToken, *, actor: User | None) -> None:
    if token.revoked_at is None:
        token.revoked_at = aware_utcnow()
        audit("token.revoke", token, actor=actor, summary=f"{token.user.email}: {token.name}")


def token_for_secret(secret: str) -> ApiToken | None:
    """The usable token for a bearer secret, its owner active, or None."""
    if not secret or not secret.startswith(TOKEN_PREFIX):
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(secret)))
    if token is None or not token.is_usable or not token.user.is_active:
        return None
    return token


def touch_token(token: ApiToken) -> None:
    """Record when a token was last used (at most once a minute, so busy clients do not write per call)."""
    now = aware_utcnow()
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=1):
        token.last_used_at = now
        db.session.flush()


# ---------------------------------------------------------------- org units and institutions

CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,39}$")


def _check_code_name(model, obj, code: str | None, name: str | None) -> dict:
    errors = {}
    code = (code or "").strip()
    if not CODE_RE.match(code):
        errors["code"] = _l("A code has 1–40 letters, digits, dots, dashes or underscores.")
    else:
        clash = select(model.id).where(func.lower(model.code) == code.lower())
        if obj is not None:
            clash = clash.where(model.id != obj.id)
        if db.session.scalar(clash):
            errors["code"] = _l("This code is already in use.")
    if not (name or "").strip():
        errors["name"] = _l("Name is required.")
    return errors


def save_unit(unit: OrgUnit | None, *, code: str, name: str, kind: str, parent_id: int | None,
              is_active: bool = True, actor: User | None) -> OrgUnit:
    """Create or change an org unit, keeping the tree free of cycles."""
    errors = _check_code_name(OrgUnit, unit, code, name)
    if kind not in UNIT_KINDS:
        errors["kind"] = _l("Unknown kind.")
    if parent_id is not None:
        parent = db.session.get(OrgUnit, parent_id)
        if parent is None:
            errors["parent_id"] = _l("This choice does not exist.")
        elif unit is not None and unit.id is not None and parent_id in unit_subtree_ids(unit.id):
            errors["parent_id"] = _l("A unit cannot be placed under itself or one of its sub-units.")
    if errors:
        raise ValidationFailed(errors)
    action = "unit.update" if unit is not None else "unit.create"
    unit = unit or OrgUnit()
    unit.code, unit.name, unit.kind = code.strip(), name.strip(), kind
    unit.parent_id, unit.is_active = parent_id, is_active
    db.session.add(unit)
    db.session.flush()
    audit(action, unit, actor=actor, summary=f"{unit.code} {unit.name}")
    return unit


def unit_subtree_ids(unit_id: int) -> set[int]:
    """The unit and every unit below it (a recursive query, the same on SQLite and PostgreSQL)."""
    tree = select(OrgUnit.id).where(OrgUnit.id == unit_id).cte("tree", recursive=True)
    tree = tree.union_all(select(OrgUnit.id).where(OrgUnit.parent_id == tree.c.id))
    return set(db.session.scalars(select(tree.c.id)))


def unit_choices(*, active_only: bool = True) -> list[tuple[int, str]]:
    """Units in tree order with their depth shown, for select boxes."""
    query = select(OrgUnit)
    if active_only:
        query = query.where(OrgUnit.is_active.is_(True))
    units = list(db.session.scalars(query.order_by(OrgUnit.name)))
    by_parent: dict[int | None, list[OrgUnit]] = {}
    ids = {u.id for u in units}
    for unit in units:
        by_parent.setdefault(unit.parent_id if unit.parent_id in ids else None, []).append(unit)
    out: list[tuple[int, str]] = []

    def walk(parent, depth):
        for unit in by_parent.get(parent, []):
            out.append((unit.id, f"{'— ' * depth}{unit.name} ({unit.code})"))
            walk(unit.id, depth + 1)

    walk(None, 0)
    return out


def save_institution(inst: Institution | None, *, code: str, name: str, kind: str, city: str | None = None,
                     website: str | None = None, is_active: bool = True, actor: User | None) -> Institution:
    errors = _check_code_name(Institution, inst, code, name)
    if kind not in INSTITUTION_KINDS:
        errors["kind"] = _l("Unknown kind.")
    if website and not re.match(r"^https?://[^\s]+$", website.strip()):
        errors["website"] = _l("A website address starts with http:// or https://.")
    if errors:
        raise ValidationFailed(errors)
    action = "institution.update" if inst is not None else "institution.create"
    inst = inst or Institution()
    inst.code, inst.name, inst.kind = code.strip(), name.strip(), kind
    inst.city, inst.website, inst.is_active = _clean(city), _clean(website), is_active
    db.session.add(inst)
    db.session.flush()
    audit(action, inst, actor=actor, summary=f"{inst.code} {inst.name}")
    return inst


def counts_by_role() -> dict[str, int]:
    rows = db.session.execute(select(UserRole.role, func.count()).group_by(UserRole.role))
    return {role: n for role, n in rows}


