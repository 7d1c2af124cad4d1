"""The HR API exactly as INTERFACES.md writes it: records with JP totals, the promotion-file PDF, compliance per
unit and the SIASN feed; tokens with records:read; the token owner's units as the limit; the OpenAPI
description, and schemathesis against it."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from lms import services as lms_services
from lms.extensions import db
from tests.certificates.conftest import HOLDER_NIP

YEAR = dt.date.today().year


@pytest.fixture
def token_for():
    def make(user, scopes=("records:read",)):
        _token, secret = lms_services.create_api_token(user, name="SIMPEG", scopes=list(scopes), actor=None)
        db.session.commit()
        return {"Authorization": f"Bearer {secret}"}

    return make


@pytest.fixture
def world(make_employee, units, sibling_unit, unit_hr, submit, issuer, make_course, complete):
    person = make_employee(unit=units.bidang, nip=HOLDER_NIP, full_name="Budi Santoso")
    complete(person, make_course(code="PM-01", jp=6, competencies={"M.04": 2}))
    submit(person, jp=8, state="diverifikasi", by=unit_hr)
    submit(person, jp=4, title="Masih diajukan", certificate_number="W/1")
    outsider = make_employee(unit=sibling_unit, full_name="Dedi Luar")
    submit(outsider, jp=20, state="diverifikasi", by=unit_hr)
    return {"person": person, "outsider": outsider, "hr": unit_hr}


def test_records_with_jp_totals(world, client, token_for):
    headers = token_for(world["hr"])
    body = client.get(f"/api/v1/employees/{HOLDER_NIP}/records?year={YEAR}", headers=headers).get_json()
    assert body["nip"] == HOLDER_NIP
    assert body["year"] == YEAR
    assert {(r["kind"], r["jp"]) for r in body["records"]} == {("certificate", 6), ("external", 8)}  # verified only
    [ledger] = body["jp"]
    assert (ledger["total"], ledger["target"], ledger["reached"]) == (14, 20, False)
    assert ledger["by_competency_kind"]["teknis"] == 14
    everything = client.get(f"/api/v1/employees/{HOLDER_NIP}/records", headers=headers).get_json()
    assert everything["year"] is None
    assert everything["jp"][0]["year"] == YEAR


def test_tokens_and_scope_are_enforced(world, client, token_for):
    url = f"/api/v1/employees/{HOLDER_NIP}/records"
    assert client.get(url).status_code == 401
    assert client.get(url, headers={"Authorization": "Bearer nonsense"}).status_code == 401
    wrong = client.get(url, headers=token_for(world["hr"], scopes=("certificates:read",)))
    assert wrong.status_code == 403
    assert wrong.get_json()["error"]
    outside = client.get(f"/api/v1/employees/{world['outsider'].nip}/records", headers=token_for(world["hr"]))
    assert outside.status_code == 404  # no hint that the person exists
    assert client.get("/api/v1/employees/123/records", headers=token_for(world["hr"])).status_code == 404
    bad_year = client.get(f"{url}?year=20x6", headers=token_for(world["hr"]))
    assert bad_year.status_code == 400
    assert bad_year.get_json()["message"]


def test_a_learner_token_sees_only_its_owner(world, client, token_for):
    headers = token_for(world["person"])
    assert client.get(f"/api/v1/employees/{HOLDER_NIP}/records", headers=headers).status_code == 200
    assert client.get(f"/api/v1/employees/{world['outsider'].nip}/records", headers=headers).status_code == 404


def test_compliance_per_unit(world, client, token_for, units, sibling_unit, admin):
    body = client.get(f"/api/v1/compliance?year={YEAR}", headers=token_for(world["hr"])).get_json()
    assert [row["unit"]["code"] for row in body["units"]] == [units.dinas.code]
    assert (body["total"]["employees"], body["total"]["reached"]) == (1, 0)
    assert client.get(f"/api/v1/compliance?unit={sibling_unit.code}",
                      headers=token_for(world["hr"])).status_code == 404
    everything = client.get(f"/api/v1/compliance?unit={units.top.code}", headers=token_for(admin)).get_json()
    assert {row["unit"]["code"] for row in everything["units"] if row["unit"]} == {units.dinas.code,
                                                                                   sibling_unit.code}
    assert everything["total"]["reached"] == 1


def test_the_siasn_feed_is_json_lines_in_scope(world, client, token_for):
    response = client.get("/api/v1/feeds/siasn", headers=token_for(world["hr"]))
    assert response.status_code == 200
    assert response.mimetype == "application/jsonl"
    lines = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    assert {line["nip"] for line in lines} == {HOLDER_NIP}
    assert {line["endpoint"] for line in lines} == {"kursus/save"}
    assert all(len(line["payload"]["tanggalKursus"]) == 10 for line in lines)
    later = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    assert client.get(f"/api/v1/feeds/siasn?since={later}", headers=token_for(world["hr"])).data == b""
    assert client.get("/api/v1/feeds/siasn?since=kemarin", headers=token_for(world["hr"])).status_code == 400


def test_the_promotion_file_pdf(world, client, token_for):
    response = client.get(f"/api/v1/employees/{HOLDER_NIP}/promotion-file.pdf", headers=token_for(world["hr"]))
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-")
    assert client.get(f"/api/v1/employees/{HOLDER_NIP}/promotion-file.pdf?period=2026-03",
                      headers=token_for(world["hr"])).status_code == 400


def test_the_openapi_document_describes_the_hr_api(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in ("/employees/{nip}/records", "/employees/{nip}/promotion-file.pdf", "/compliance",
                 "/feeds/siasn"):
        assert spec["paths"][path]["get"]["security"] == [{"bearer": []}]
    assert {"TrainingRecord", "JpLedger", "UnitCompliance"} <= set(spec["components"]["schemas"])


# ---------------------------------------------------------------- schemathesis


@pytest.fixture
def hr_api(app, world):
    """The API's description as schemathesis reads it from the app, limited to the HR endpoints."""
    import schemathesis

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    return schema.include(path_regex="^/(employees|compliance|feeds)")


def test_schemathesis_finds_no_server_error_and_every_answer_matches_the_schema(hr_api, world, token_for):
    """Every HR operation, with generated parameters (and the documented examples), answers without a 5xx,
    with a status, content type and body its description allows."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st
    from schemathesis import checks

    headers = token_for(world["hr"])
    wanted = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
              checks.response_schema_conformance]
    operations = [result.ok() for result in hr_api.get_all_operations()]
    assert len(operations) == 4
    seen: set[tuple[str, int]] = set()
    for operation in operations:
        # The documented examples (a NIP that exists) first, then generated parameters.
        cases = st.one_of(*operation.get_strategies_from_examples(), operation.as_strategy())

        @given(case=cases)
        @settings(max_examples=15, deadline=None, database=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        def run(case):
            response = case.call(headers=headers)
            case.validate_response(response, checks=wanted)
            seen.add((case.operation.path, response.status_code))

        run()
    assert ("/employees/{nip}/records", 200) in seen
    assert ("/compliance", 200) in seen
