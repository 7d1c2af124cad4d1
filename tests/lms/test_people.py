"""People and the platform: profile rules, accounts, org units, institutions, API tokens, the audit log,
and the admin screens that drive them."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from flask import g, request_started
from flask_babel import force_locale
from sqlalchemy import func, select

from lms import services
from lms.extensions import db
from lms.models import ApiToken, AuditEvent, Institution, OrgUnit, User

NIP = "198503122010011003"  # PNS, born 1985-03-12, male
NIP_2 = "199002242015032001"  # PNS, born 1990-02-24, female
PPPK_NIP = "199107072021151004"  # PPPK, 15 agreements


@pytest.fixture(autouse=True)
def english(_clean):
    with force_locale("en"):
        yield


def _forget_cached_user(sender, **extra):
    g.pop("_login_user", None)


@pytest.fixture(autouse=True)
def user_from_cookie(app):
    """Requests share the test's app context and so its ``g``, where Flask-Login caches the user; forget it
    at the start of every request so each client is recognised by its own session cookie."""
    request_started.connect(_forget_cached_user, app)
    yield
    request_started.disconnect(_forget_cached_user, app)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def audit_rows(action=None) -> list[AuditEvent]:
    query = select(AuditEvent).order_by(AuditEvent.id)
    if action:
        query = query.where(AuditEvent.action == action)
    return list(db.session.scalars(query))


def refused(call, **kwargs) -> dict:
    with pytest.raises(services.ValidationFailed) as caught:
        call(**kwargs)
    db.session.rollback()
    return {field: str(message) for field, message in caught.value.errors.items()}


@pytest.fixture
def admin(make_user):
    return make_user(roles=("admin",), full_name="Admin Utama", email="admin@example.go.id", locale="en")


@pytest.fixture
def tree(admin):
    """PROV ─ DISDUK ─ DISDUK-SEK, and PROV ─ DISHUB."""
    prov = services.save_unit(None, code="PROV", name="Pemerintah Provinsi", kind="instansi", parent_id=None,
                              actor=admin)
    disduk = services.save_unit(None, code="DISDUK", name="Dinas Kependudukan", kind="unit", parent_id=prov.id,
                                actor=admin)
    sek = services.save_unit(None, code="DISDUK-SEK", name="Sekretariat Disduk", kind="unit",
                             parent_id=disduk.id, actor=admin)
    dishub = services.save_unit(None, code="DISHUB", name="Dinas Perhubungan", kind="unit", parent_id=prov.id,
                                actor=admin)
    db.session.commit()
    return {"prov": prov, "disduk": disduk, "sek": sek, "dishub": dishub}


# ---------------------------------------------------------------- creating accounts


def test_a_new_employee_gets_the_facts_the_nip_states(admin):
    user = services.create_user(roles=["learner"], actor=admin, email="  Budi.Santoso@Example.GO.ID ",
                                full_name=" Budi Santoso ", nip="19850312 201001 1 003")
    db.session.commit()
    stored = db.session.get(User, user.id)
    assert stored.email == "budi.santoso@example.go.id"
    assert stored.full_name == "Budi Santoso"
    assert stored.nip == NIP
    assert (stored.employee_type, stored.birth_date, stored.gender) == ("PNS", dt.date(1985, 3, 12), "L")
    assert stored.roles == {"learner"}


def test_a_pppk_number_makes_a_pppk_employee(admin):
    user = services.create_user(roles=["learner"], actor=admin, email="a@example.go.id", full_name="A",
                                nip=PPPK_NIP)
    assert user.employee_type == "PPPK"


def test_an_email_differing_only_in_case_is_refused_and_nothing_is_written(make_user):
    make_user(email="budi@example.go.id")
    before = (count(User), count(AuditEvent))
    errors = refused(services.create_user, roles=["learner"], email="BUDI@Example.go.id", full_name="Budi 2")
    assert errors == {"email": "Another account already uses this e-mail address."}
    assert (count(User), count(AuditEvent)) == before


def test_a_nip_already_in_use_is_refused_however_it_is_typed(make_user):
    make_user(nip=NIP)
    errors = refused(services.create_user, roles=["learner"], email="other@example.go.id", full_name="Other",
                     nip="19850312-201001-1-003")
    assert errors == {"nip": "Another account already has this NIP."}
    assert count(User) == 1
    assert len(audit_rows("user.create")) == 1


@pytest.mark.parametrize(("nip", "fields", "expected"), [
    ("1985031220100110", {}, "18 digits; this one has 16"),
    ("198503122010011000", {}, "000"),
    ("198503122010011003", {"birth_date": dt.date(1985, 3, 13)}, "born 1985-03-12"),
    ("198503122010011003", {"gender": "P"}, "gender"),
    ("198503122010011003", {"employee_type": "PPPK"}, "PPPK"),
])
def test_a_bad_nip_is_refused_with_the_reason(nip, fields, expected):
    errors = refused(services.create_user, roles=["learner"], email="x@example.go.id", full_name="X", nip=nip,
                     **fields)
    assert expected in errors["nip"]
    assert count(User) == 0
    assert count(AuditEvent) == 0


def test_every_broken_rule_is_reported_at_once():
    errors = refused(services.create_user, roles=["learner", "boss"], email="not-an-address", full_name="",
                     nip="123", phone="call me", golongan="V/z")
    assert set(errors) == {"roles", "email", "full_name", "nip", "phone", "golongan"}
    assert "boss" in errors["roles"]
    assert count(User) == 0


def test_asn_employees_need_a_nip_and_other_people_do_not():
    errors = refused(services.create_user, roles=["learner"], email="p@example.go.id", full_name="P",
                     employee_type="PNS")
    assert "NIP is required" in errors["nip"]
    partner = services.create_user(roles=["coauthor"], email="dosen@univ.ac.id", full_name="Dosen")
    assert partner.nip is None
    assert partner.employee_type is None


@pytest.mark.parametrize("roles", [[], ["superuser"], ["learner", "root"]])
def test_roles_are_validated(roles):
    errors = refused(services.create_user, roles=roles, email="r@example.go.id", full_name="R")
    assert "roles" in errors
    assert count(User) == 0


def test_golongan_is_normalised_and_checked_against_the_employee_type():
    pns = services.create_user(roles=["learner"], email="g1@example.go.id", full_name="G1", nip=NIP,
                               golongan="iii b")
    assert pns.golongan == "III/b"
    assert pns.pangkat == "Penata Muda Tingkat I"
    errors = refused(services.create_user, roles=["learner"], email="g2@example.go.id", full_name="G2",
                     nip=PPPK_NIP, golongan="III/b")
    assert "PPPK golongan" in errors["golongan"]
    pppk = services.create_user(roles=["learner"], email="g3@example.go.id", full_name="G3", nip=PPPK_NIP,
                                golongan="ix")
    assert pppk.golongan == "IX"


# ---------------------------------------------------------------- changing accounts


def test_update_refuses_another_accounts_email_or_nip_and_changes_nothing(make_user, admin):
    make_user(email="taken@example.go.id", nip=NIP_2)
    user = make_user(email="mine@example.go.id", nip=NIP, full_name="Mine")
    events = count(AuditEvent)
    errors = refused(services.update_user, user=user, actor=admin, email="Taken@example.go.id",
                     full_name="Renamed")
    assert "email" in errors
    errors = refused(services.update_user, user=user, actor=admin, nip=NIP_2)
    assert "nip" in errors
    stored = db.session.get(User, user.id)
    assert (stored.email, stored.nip, stored.full_name) == ("mine@example.go.id", NIP, "Mine")
    assert count(AuditEvent) == events


def test_update_keeps_ones_own_email_and_nip(make_user, admin):
    user = make_user(email="mine@example.go.id", nip=NIP)
    services.update_user(user, actor=admin, email="MINE@example.go.id", nip=NIP, full_name="New Name")
    db.session.commit()
    assert db.session.get(User, user.id).full_name == "New Name"
    event = audit_rows("user.update")[-1]
    assert event.details["fields"] == {"full_name": "New Name"}  # only what changed
    assert event.actor_id == admin.id


def test_a_bad_nip_in_an_update_is_refused_and_the_old_one_stays(make_user, admin):
    user = make_user(nip=NIP)
    errors = refused(services.update_user, user=user, actor=admin, nip="198503122010131003")
    assert "month 13" in errors["nip"]
    assert db.session.get(User, user.id).nip == NIP


def test_a_birth_date_that_contradicts_the_stored_nip_is_refused(make_user, admin):
    user = make_user(nip=NIP)
    errors = refused(services.update_user, user=user, actor=admin, birth_date=dt.date(1986, 3, 12))
    assert "1985-03-12" in errors["nip"]
    assert db.session.get(User, user.id).birth_date == dt.date(1985, 3, 12)


def test_roles_change_and_an_admin_cannot_drop_their_own_admin_role(make_user, admin):
    user = make_user()
    services.update_user(user, actor=admin, roles=["learner", "hr"])
    db.session.commit()
    assert db.session.get(User, user.id).roles == {"learner", "hr"}
    assert audit_rows("user.update")[-1].details["fields"]["roles"] == "['hr', 'learner']"
    assert "roles" in refused(services.update_user, user=user, actor=admin, roles=["learner", "pimpinan"])
    assert "roles" in refused(services.update_user, user=admin, actor=admin, roles=["learner"])
    assert db.session.get(User, admin.id).roles == {"admin"}


# ---------------------------------------------------------------- deactivation


def test_deactivation_rotates_the_session_nonce_and_is_audited(make_user, admin):
    user = make_user()
    nonce = user.session_nonce
    services.set_active(user, False, actor=admin)
    db.session.commit()
    assert not user.is_active
    assert user.session_nonce != nonce
    event = audit_rows("user.deactivate")[-1]
    assert (event.actor_id, event.object_type, event.object_id) == (admin.id, "users", str(user.id))
    with pytest.raises(services.ServiceError, match="your own account"):
        services.set_active(admin, False, actor=admin)
    assert admin.is_active


def test_deactivation_signs_the_person_out_everywhere(app, make_user, admin):
    person = make_user(email="person@example.go.id")
    browser = app.test_client()
    assert browser.post("/akun/masuk", data={"login": "person@example.go.id",
                                             "password": "correct horse 1"}).status_code == 302
    assert browser.get("/profil").status_code == 200

    services_client = app.test_client()
    services_client.post("/akun/masuk", data={"login": admin.email, "password": "correct horse 1"})
    response = services_client.post(f"/admin/pengguna/{person.id}/status", data={"active": "0"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, person.id).is_active is False

    response = browser.get("/profil")
    assert response.status_code == 302
    assert "/akun/masuk" in response.headers["Location"]
    # Reactivation does not bring the old session back.
    services_client.post(f"/admin/pengguna/{person.id}/status", data={"active": "1"})
    db.session.expire_all()
    assert db.session.get(User, person.id).is_active is True
    assert browser.get("/profil").status_code == 302
    # A deactivated person cannot sign in again either.
    services_client.post(f"/admin/pengguna/{person.id}/status", data={"active": "0"})
    again = app.test_client().post("/akun/masuk", data={"login": "person@example.go.id",
                                                        "password": "correct horse 1"})
    assert again.status_code == 403


# ---------------------------------------------------------------- org units


def test_a_unit_cannot_be_placed_under_itself_or_its_descendants(tree, admin):
    prov, disduk, sek = tree["prov"], tree["disduk"], tree["sek"]
    for new_parent in (prov, disduk, sek):
        errors = refused(services.save_unit, unit=prov, code="PROV", name="Pemerintah Provinsi",
                         kind="instansi", parent_id=new_parent.id, actor=admin)
        assert errors == {"parent_id": "A unit cannot be placed under itself or one of its sub-units."}
    errors = refused(services.save_unit, unit=disduk, code="DISDUK", name="Dinas Kependudukan", kind="unit",
                     parent_id=sek.id, actor=admin)
    assert "parent_id" in errors
    db.session.expire_all()
    assert db.session.get(OrgUnit, prov.id).parent_id is None
    assert db.session.get(OrgUnit, disduk.id).parent_id == prov.id
    # Moving a branch elsewhere (no cycle) is allowed.
    services.save_unit(db.session.get(OrgUnit, sek.id), code="DISDUK-SEK", name="Sekretariat",
                       kind="unit", parent_id=tree["dishub"].id, actor=admin)
    db.session.commit()
    assert services.unit_subtree_ids(tree["dishub"].id) == {tree["dishub"].id, sek.id}
    assert services.unit_subtree_ids(disduk.id) == {disduk.id}


def test_unit_codes_are_unique_ignoring_case_and_parents_must_exist(tree, admin):
    errors = refused(services.save_unit, unit=None, code="disduk", name="Copy", kind="unit", parent_id=None,
                     actor=admin)
    assert errors == {"code": "This code is already in use."}
    errors = refused(services.save_unit, unit=None, code="NEW", name="", kind="cabang", parent_id=987654,
                     actor=admin)
    assert set(errors) == {"name", "kind", "parent_id"}
    assert count(OrgUnit) == 4


def test_the_subtree_covers_every_level(tree):
    assert services.unit_subtree_ids(tree["prov"].id) == {u.id for u in tree.values()}
    labels = [label for _, label in services.unit_choices()]
    assert labels.index("Pemerintah Provinsi (PROV)") < labels.index("— Dinas Kependudukan (DISDUK)")
    assert "— — Sekretariat Disduk (DISDUK-SEK)" in labels


# ---------------------------------------------------------------- institutions


def test_institutions_are_validated(admin):
    inst = services.save_institution(None, code="UI", name="Universitas Indonesia", kind="universitas",
                                     city="Depok", website="https://www.ui.ac.id", actor=admin)
    db.session.commit()
    assert db.session.get(Institution, inst.id).city == "Depok"
    errors = refused(services.save_institution, inst=None, code="ui", name="UI 2", kind="pabrik",
                     website="javascript:alert(1)", actor=admin)
    assert set(errors) == {"code", "kind", "website"}
    assert count(Institution) == 1


# ---------------------------------------------------------------- audit


def test_a_rolled_back_change_leaves_no_audit_row(admin):
    events = count(AuditEvent)
    services.create_user(roles=["learner"], actor=admin, email="gone@example.go.id", full_name="Gone")
    services.save_unit(None, code="TMP", name="Temp", kind="unit", parent_id=None, actor=admin)
    db.session.rollback()
    assert count(AuditEvent) == events
    assert db.session.scalar(select(User).where(User.email == "gone@example.go.id")) is None


def test_a_committed_change_has_its_audit_row_with_actor_action_and_object(admin):
    user = services.create_user(roles=["learner", "hr"], actor=admin, email="new@example.go.id",
                                full_name="New")
    db.session.commit()
    event = audit_rows("user.create")[-1]
    assert event.actor_id == admin.id
    assert event.actor_label == "admin@example.go.id"
    assert (event.object_type, event.object_id) == ("users", str(user.id))
    assert event.summary == "new@example.go.id"
    assert event.details["roles"] == ["hr", "learner"]
    assert event.at is not None


def test_changes_made_on_a_page_record_the_address_they_came_from(client, admin, login):
    login(admin)
    response = client.post("/admin/unit/baru", data={"code": "BKD", "name": "Badan Kepegawaian Daerah",
                                                     "kind": "unit", "parent_id": "", "is_active": "y"},
                           environ_base={"REMOTE_ADDR": "10.20.30.40"}, headers={"User-Agent": "Tester/1.0"})
    assert response.status_code == 302
    event = audit_rows("unit.create")[-1]
    assert event.actor_id == admin.id
    assert event.ip_address == "10.20.30.40"
    assert event.user_agent == "Tester/1.0"
    unit = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "BKD"))
    assert event.object_id == str(unit.id)


# ---------------------------------------------------------------- API tokens (service level)


def test_a_token_secret_is_returned_once_and_only_its_hash_is_stored(make_user, admin):
    owner = make_user(email="simpeg@example.go.id", roles=("hr",))
    token, secret = services.create_api_token(owner, name="SIMPEG", scopes=["records:read"], actor=admin)
    db.session.commit()
    stored = db.session.get(ApiToken, token.id)
    assert stored.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in (stored.token_hash, stored.prefix, stored.name)
    assert services.token_for_secret(secret).id == token.id
    assert services.token_for_secret(secret + "x") is None
    assert services.token_for_secret("") is None
    services.revoke_api_token(stored, actor=admin)
    db.session.commit()
    assert services.token_for_secret(secret) is None
    assert [e.action for e in audit_rows() if e.object_type == "api_tokens"] == ["token.create", "token.revoke"]


def test_tokens_stop_working_for_deactivated_or_expired_owners(make_user, admin):
    owner = make_user()
    _token, secret = services.create_api_token(owner, name="x", scopes=["certificates:read"], actor=admin)
    _old, expired = services.create_api_token(
        owner, name="old", scopes=["certificates:read"], actor=admin,
        expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
    db.session.commit()
    assert services.token_for_secret(expired) is None
    services.set_active(owner, False, actor=admin)
    db.session.commit()
    assert services.token_for_secret(secret) is None
    with pytest.raises(services.ServiceError, match="active accounts"):
        services.create_api_token(owner, name="y", scopes=["records:read"], actor=admin)


@pytest.mark.parametrize("scopes", [[], ["records:write"], ["records:read", "admin"]])
def test_token_scopes_are_validated(make_user, admin, scopes):
    owner = make_user()
    errors = refused(services.create_api_token, user=owner, name="x", scopes=scopes, actor=admin)
    assert "certificates:read" in errors["scopes"]
    assert count(ApiToken) == 0


# ---------------------------------------------------------------- admin screens: who may enter


@pytest.mark.parametrize("path", ["/admin/pengguna", "/admin/pengguna/impor", "/admin/unit", "/admin/institusi",
                                  "/admin/token", "/admin/audit"])
def test_learners_are_kept_out_of_administration(client, make_user, login, path):
    login(make_user(roles=("learner", "trainer", "hr")))
    assert client.get(path).status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/admin/pengguna")
    assert response.status_code == 302
    assert "/akun/masuk" in response.headers["Location"]


# ---------------------------------------------------------------- admin screens: user list


def _listed(client, **params) -> str:
    response = client.get("/admin/pengguna", query_string=params)
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.fixture
def staff(tree, admin):
    people = {
        "budi": services.create_user(roles=["learner"], email="budi.s@example.go.id", full_name="Budi Santoso",
                                     nip=NIP, unit_id=tree["disduk"].id),
        "siti": services.create_user(roles=["learner", "hr"], email="siti@example.go.id",
                                     full_name="Siti Rahayu", nip=NIP_2, unit_id=tree["sek"].id),
        "agus": services.create_user(roles=["trainer"], email="agus.w@example.go.id", full_name="Agus Wibowo",
                                     nip=PPPK_NIP, unit_id=tree["dishub"].id),
    }
    db.session.commit()
    return people


def test_admin_finds_users_by_name_nip_or_email(client, login, admin, staff):
    login(admin)
    page = _listed(client, q="santoso")
    assert "budi.s@example.go.id" in page
    assert "siti@example.go.id" not in page
    assert "agus.w@example.go.id" not in page

    page = _listed(client, q="19900224 201503")  # a NIP prefix, typed with a space
    assert "siti@example.go.id" in page
    assert "budi.s@example.go.id" not in page

    page = _listed(client, q="AGUS.W@")
    assert "agus.w@example.go.id" in page
    assert "budi.s@example.go.id" not in page

    assert "No user matches these filters." in _listed(client, q="tidak ada")


def test_admin_filters_by_unit_including_sub_units_and_by_role(client, login, admin, staff, tree):
    login(admin)
    page = _listed(client, unit=tree["disduk"].id)
    assert "budi.s@example.go.id" in page
    assert "siti@example.go.id" in page
    assert "agus.w@example.go.id" not in page

    page = _listed(client, unit=tree["sek"].id)
    assert "siti@example.go.id" in page
    assert "budi.s@example.go.id" not in page

    page = _listed(client, unit=tree["prov"].id, role="trainer")
    assert "agus.w@example.go.id" in page
    assert "budi.s@example.go.id" not in page
    assert "siti@example.go.id" not in page

    page = _listed(client, role="hr")
    assert "siti@example.go.id" in page
    assert "budi.s@example.go.id" not in page


def test_admin_filters_by_status(client, login, admin, staff):
    services.set_active(staff["agus"], False, actor=admin)
    db.session.commit()
    login(admin)
    page = _listed(client, status="inactive")
    assert "agus.w@example.go.id" in page
    assert "budi.s@example.go.id" not in page
    page = _listed(client, status="active")
    assert "agus.w@example.go.id" not in page
    assert "budi.s@example.go.id" in page


def test_the_user_list_is_paginated(app, client, login, admin):
    per_page = app.config["USERS_PER_PAGE"]
    for n in range(per_page + 3):
        services.create_user(roles=["learner"], email=f"p{n:03d}@example.go.id", full_name=f"Pegawai {n:03d}")
    db.session.commit()
    login(admin)
    first, second = _listed(client), _listed(client, page=2)
    everyone = [f"p{n:03d}@example.go.id" for n in range(per_page + 3)] + [admin.email]
    on_first = [e for e in everyone if e in first]
    on_second = [e for e in everyone if e in second]
    assert len(on_first) == per_page
    assert len(on_second) == len(everyone) - per_page
    assert not set(on_first) & set(on_second)
    assert f"{len(everyone)} users" in first
    assert 'rel="next"' in first
    assert 'rel="prev"' in second
    # Filters are kept when paging.
    assert "q=Pegawai" in _listed(client, q="Pegawai")


# ---------------------------------------------------------------- admin screens: editing


def _form_of(user: User, **changes) -> dict:
    data = {
        "email": user.email, "full_name": user.full_name, "title_front": user.title_front or "",
        "title_back": user.title_back or "", "nip": user.nip or "", "nip_lama": user.nip_lama or "",
        "employee_type": user.employee_type or "", "birth_place": user.birth_place or "",
        "birth_date": user.birth_date.isoformat() if user.birth_date else "", "gender": user.gender or "",
        "golongan": user.golongan or "", "jabatan_type": user.jabatan_type or "",
        "jabatan_name": user.jabatan_name or "", "unit_id": str(user.unit_id or ""),
        "institution_id": str(user.institution_id or ""), "phone": user.phone or "", "locale": user.locale,
        "roles": sorted(user.roles),
    }
    data.update(changes)
    return data


def test_admin_edits_a_user(client, login, admin, staff, tree):
    login(admin)
    budi = staff["budi"]
    response = client.post(f"/admin/pengguna/{budi.id}", data=_form_of(
        budi, full_name="Budi Santoso Putra", golongan="III/c", unit_id=str(tree["dishub"].id),
        roles=["learner", "trainer"]))
    assert response.status_code == 302
    db.session.expire_all()
    stored = db.session.get(User, budi.id)
    assert (stored.full_name, stored.golongan, stored.unit_id) == ("Budi Santoso Putra", "III/c",
                                                                  tree["dishub"].id)
    assert stored.roles == {"learner", "trainer"}
    assert audit_rows("user.update")[-1].actor_id == admin.id


@pytest.mark.parametrize(("bad_nip", "shown"), [
    ("19850312201001100", "A NIP has 18 digits; this one has 17."),
    ("198503122010131003", "month 13 is not 01–12"),
    ("199002242015032001", "The NIP says born 1990-02-24, but the birth date given is 1985-03-12."),
    ("198503122012011004", "Another account already has this NIP."),
])
def test_editing_a_user_with_a_bad_nip_shows_the_error_and_changes_nothing(client, login, make_user, admin,
                                                                          staff, bad_nip, shown):
    make_user(email="kembar@example.go.id", nip="198503122012011004")  # same birthday as Budi
    login(admin)
    budi = staff["budi"]
    events = count(AuditEvent)
    response = client.post(f"/admin/pengguna/{budi.id}", data=_form_of(budi, nip=bad_nip, full_name="Changed"))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert shown in page
    assert 'aria-invalid="true"' in page
    db.session.expire_all()
    stored = db.session.get(User, budi.id)
    assert (stored.nip, stored.full_name) == (NIP, "Budi Santoso")
    assert count(AuditEvent) == events


def test_admin_creates_a_user_on_the_form_and_bad_input_is_shown(client, login, admin):
    login(admin)
    blank = {"email": "", "full_name": "", "locale": "id", "roles": ["learner"], "unit_id": "",
             "institution_id": ""}
    response = client.post("/admin/pengguna/baru", data={**blank, "email": "dewi@example.go.id",
                                                         "full_name": "Dewi", "nip": "1234"})
    assert response.status_code == 200
    assert "A NIP has 18 digits; this one has 4." in response.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.email == "dewi@example.go.id")) is None

    response = client.post("/admin/pengguna/baru", data={**blank, "email": "Dewi@Example.go.id",
                                                         "full_name": "Dewi", "nip": NIP_2})
    assert response.status_code == 302
    dewi = db.session.scalar(select(User).where(User.email == "dewi@example.go.id"))
    assert (dewi.nip, dewi.gender, dewi.roles) == (NIP_2, "P", {"learner"})


def test_admin_deactivates_a_user_with_a_post_only(client, login, admin, staff):
    login(admin)
    siti = staff["siti"]
    assert client.get(f"/admin/pengguna/{siti.id}/status").status_code == 405
    response = client.post(f"/admin/pengguna/{siti.id}/status", data={"active": "0"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, siti.id).is_active is False
    page = client.get(f"/admin/pengguna/{siti.id}").get_data(as_text=True)
    assert "Deactivated" in page
    assert "Reactivate" in page
    # An admin cannot lock themselves out.
    client.post(f"/admin/pengguna/{admin.id}/status", data={"active": "0"}, follow_redirects=True)
    db.session.expire_all()
    assert db.session.get(User, admin.id).is_active is True


def test_admin_unit_form_refuses_a_cycle(client, login, admin, tree):
    login(admin)
    prov = tree["prov"]
    response = client.post(f"/admin/unit/{prov.id}", data={"code": "PROV", "name": "Pemerintah Provinsi",
                                                          "kind": "instansi", "parent_id": str(tree["sek"].id),
                                                          "is_active": "y"})
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.get(OrgUnit, prov.id).parent_id is None
    # The form does not even offer the unit itself or its sub-units as a parent.
    page = client.get(f"/admin/unit/{tree['disduk'].id}").get_data(as_text=True)
    assert "DISDUK-SEK" not in page
    assert "(DISHUB)" in page


def test_admin_institution_form_shows_errors_and_saves_good_input(client, login, admin):
    login(admin)
    response = client.post("/admin/institusi/baru", data={"code": "ITB", "name": "Institut Teknologi Bandung",
                                                         "kind": "universitas", "website": "itb.ac.id"})
    assert response.status_code == 200
    assert "A website address starts with http:// or https://." in response.get_data(as_text=True)
    assert count(Institution) == 0
    response = client.post("/admin/institusi/baru", data={"code": "ITB", "name": "Institut Teknologi Bandung",
                                                         "kind": "universitas", "website": "https://itb.ac.id",
                                                         "is_active": "y"})
    assert response.status_code == 302
    assert db.session.scalar(select(Institution.website)) == "https://itb.ac.id"
