"""SIASN: payloads as DOMAIN.md names them, the editable reference lists, the pnsOrangId import, the JSON-lines
feed, and the outbox against a fake SIASN-style endpoint (sent once, retried with backoff only when nothing
can have been stored, failures kept with the answer)."""

from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select

from certificates.records import services, siasn
from certificates.records.models import SiasnPerson, SiasnPush
from lms.extensions import db
from lms.models import aware_utcnow

KURSUS_FIELDS = {"instansiId", "institusiPenyelenggara", "jenisDiklatId", "jenisKursusSertipikat", "jumlahJam",
                 "lokasiId", "namaKursus", "nomorSertipikat", "pnsOrangId", "tahunKursus", "tanggalKursus",
                 "tanggalSelesaiKursus"}
DIKLAT_FIELDS = {"institusiPenyelenggara", "jenisKompetensi", "jumlahJam", "latihanStrukturalId", "nomor",
                 "pnsOrangId", "tahun", "tanggal", "tanggalSelesai", "path"}


def test_a_course_becomes_a_kursus_payload(employee, unit_hr, submit):
    record = submit(employee, start_date=dt.date(2026, 3, 2), end_date=dt.date(2026, 3, 4), jp=12,
                    jenis_diklat="2", state="diverifikasi", by=unit_hr)
    endpoint, body = siasn.external_payload(record)
    assert endpoint == "kursus"
    assert set(body) == KURSUS_FIELDS
    assert (body["tanggalKursus"], body["tanggalSelesaiKursus"], body["tahunKursus"]) == ("02-03-2026",
                                                                                           "04-03-2026", 2026)
    assert (body["jenisDiklatId"], body["jenisKursusSertipikat"], body["jumlahJam"]) == ("2", "F", 12)
    assert body["pnsOrangId"] is None  # not imported yet


def test_leadership_training_becomes_a_diklat_payload(employee, unit_hr, submit):
    record = submit(employee, jenis_diklat="1", latihan_struktural="4", competency_kind="manajerial",
                    start_date=dt.date(2026, 2, 2), end_date=dt.date(2026, 5, 29), jp=300,
                    state="diverifikasi", by=unit_hr)
    endpoint, body = siasn.external_payload(record)
    assert endpoint == "diklat"
    assert set(body) == DIKLAT_FIELDS
    assert (body["latihanStrukturalId"], body["jenisKompetensi"], body["tanggal"], body["tahun"]) == (
        "4", "Manajerial", "02-02-2026", 2026)


def test_reference_lists_are_editable(admin, employee, unit_hr, submit, client, login):
    login(admin)
    response = client.post("/kelola/siasn/referensi", data={"kind": "jenis_diklat", "code": "11",
                                                             "name": "Kursus Kepemimpinan Lanjut",
                                                             "kursus_kind": "P", "is_active": "y"})
    assert response.status_code == 302
    assert "11" in services.references("jenis_diklat")
    assert "3" in services.references("jenis_diklat")
    bad = client.post("/kelola/siasn/referensi", data={"kind": "jenis_diklat", "code": "abc", "name": "x"})
    assert bad.status_code == 200
    assert "11" in services.references("jenis_diklat")
    client.post("/kelola/siasn/referensi", data={"kind": "jenis_diklat", "code": "3", "name": "Teknis",
                                                 "kursus_kind": "P", "entry_id": str(
                                                     services.references("jenis_diklat")["3"].id),
                                                 "is_active": "y"})
    record = submit(employee, jenis_diklat="11", state="diverifikasi", by=unit_hr)
    assert siasn.external_payload(record)[1]["jenisDiklatId"] == "11"
    technical = submit(employee, jenis_diklat="3", certificate_number="T/3", state="diverifikasi", by=unit_hr)
    assert siasn.external_payload(technical)[1]["jenisKursusSertipikat"] == "P"


def test_the_pns_orang_id_import_is_all_or_nothing(employee):
    with pytest.raises(services.ValidationFailed) as refused:
        siasn.import_people(f"nip;pnsOrangId\n{employee.nip};A1B2\n12345;C3\n", actor=None)
    assert "Line 3" in str(refused.value.errors["file"])
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(SiasnPerson)) == 0
    assert siasn.import_people(f"\ufeffNIP,pnsOrangId\n{employee.nip[:8]} {employee.nip[8:]},A1B2\n", actor=None) == 1
    assert siasn.pns_orang_id(employee.nip) == "A1B2"
    siasn.import_people(f"nip,pnsOrangId\n{employee.nip},Z9\n", actor=None)
    assert siasn.pns_orang_id(employee.nip) == "Z9"


def test_the_feed_has_one_line_per_counting_record_in_scope(employee, make_employee, sibling_unit, unit_hr,
                                                             issuer, make_course, complete, submit):
    complete(employee, make_course(code="PM-01", jp=6))
    submit(employee, jp=8, state="diverifikasi", by=unit_hr)
    submit(employee, jp=3, title="Belum", certificate_number="Q/1")
    submit(make_employee(unit=sibling_unit), jp=5, state="diverifikasi", by=unit_hr)
    siasn.import_people(f"nip,pnsOrangId\n{employee.nip},ORANG-1\n", actor=None)
    db.session.commit()
    lines = [json.loads(line) for line in "".join(siasn.feed_lines()).splitlines()]
    assert len(lines) == 3
    mine = [line for line in lines if line["nip"] == employee.nip]
    assert {line["source"] for line in mine} == {"certificate", "external"}
    assert all(line["payload"]["pnsOrangId"] == "ORANG-1" for line in mine)
    certificate = next(line for line in mine if line["source"] == "certificate")
    assert certificate["endpoint"] == "kursus/save"
    assert certificate["payload"]["jumlahJam"] == 6
    assert certificate["payload"]["namaKursus"] == "Manajemen Proyek Pemerintahan"
    scoped = list(siasn.feed(unit_ids=services.scope_unit_ids(unit_hr)))
    assert {line["nip"] for line in scoped} == {employee.nip}
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    assert list(siasn.feed(since=tomorrow)) == []


# ---------------------------------------------------------------- the outbox


class FakeSiasn:
    """A SIASN-style endpoint on 127.0.0.1: answers each POST with the next scripted status."""

    def __init__(self):
        self.requests: list[dict] = []
        self.script: list[int] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                fake.requests.append({"path": self.path, "body": json.loads(body),
                                      "key": self.headers.get("Idempotency-Key"),
                                      "auth": self.headers.get("Authorization")})
                status = fake.script.pop(0) if fake.script else 200
                answer = json.dumps({"success": status == 200, "mapData": {"rwDiklatId": "RW-1"}}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/siasn"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def fake_siasn(app):
    fake = FakeSiasn()
    app.config.update(SIASN_PUSH_URL=fake.url, SIASN_PUSH_TOKEN="rahasia")
    yield fake
    app.config.update(SIASN_PUSH_URL="", SIASN_PUSH_TOKEN="")
    fake.close()


@pytest.fixture
def mapped(employee):
    siasn.import_people(f"nip,pnsOrangId\n{employee.nip},ORANG-7\n", actor=None)
    db.session.commit()
    return employee


def _push(record) -> SiasnPush:
    db.session.expire_all()
    return db.session.scalar(select(SiasnPush).where(SiasnPush.source == "external", SiasnPush.source_id == record.id))


def test_a_verified_record_is_sent_once(fake_siasn, mapped, unit_hr, submit):
    record = submit(mapped, jp=9, state="diverifikasi", by=unit_hr)  # the job runs after the commit
    push = _push(record)
    assert push.state == "sent"
    assert push.attempts == 1
    assert push.response_status == 200
    assert len(fake_siasn.requests) == 1
    sent = fake_siasn.requests[0]
    assert sent["path"] == "/siasn/kursus/save"
    assert sent["body"]["pnsOrangId"] == "ORANG-7"
    assert sent["key"] == f"bangkom-external-{record.id}"
    assert sent["auth"] == "Bearer rahasia"
    assert siasn.push_one(push.id) is None  # already sent: not this call's to send
    assert siasn.sync_outbox() == 0
    assert len(fake_siasn.requests) == 1


def test_a_server_error_is_retried_with_backoff(fake_siasn, mapped, unit_hr, submit):
    fake_siasn.script = [503, 503]
    record = submit(mapped, state="diverifikasi", by=unit_hr)
    push = _push(record)
    assert (push.state, push.attempts, push.response_status) == ("pending", 1, 503)
    first_wait = push.next_attempt_at - push.last_attempt_at
    assert siasn.push_one(push.id) is None  # not due yet
    later = push.next_attempt_at + dt.timedelta(seconds=1)
    assert siasn.push_one(push.id, now=later) == "pending"
    push = _push(record)
    assert push.next_attempt_at - push.last_attempt_at == 2 * first_wait
    assert siasn.push_one(push.id, now=push.next_attempt_at) == "sent"
    assert len(fake_siasn.requests) == 3


def test_a_refusal_is_kept_with_the_answer_and_not_retried(fake_siasn, mapped, unit_hr, submit, admin):
    fake_siasn.script = [422]
    record = submit(mapped, state="diverifikasi", by=unit_hr)
    push = _push(record)
    assert (push.state, push.response_status) == ("failed", 422)
    assert "success" in push.response_text
    assert siasn.push_one(push.id, now=aware_utcnow() + dt.timedelta(days=30)) is None
    assert len(fake_siasn.requests) == 1
    siasn.retry(push, actor=admin)  # a person decides: send again
    db.session.commit()
    assert _push(record).state == "sent"
    assert len(fake_siasn.requests) == 2


def test_an_unknown_outcome_is_never_sent_again_by_itself(app, mapped, unit_hr, submit):
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    # Accepts the connection, reads the request, never answers: the request may have been stored.
    app.config.update(SIASN_PUSH_URL=f"http://127.0.0.1:{listener.getsockname()[1]}")
    original = siasn.TIMEOUT_SECONDS
    siasn.TIMEOUT_SECONDS = 0.5
    try:
        record = submit(mapped, state="diverifikasi", by=unit_hr)
    finally:
        siasn.TIMEOUT_SECONDS = original
        app.config.update(SIASN_PUSH_URL="")
        listener.close()
    push = _push(record)
    assert push.state == "failed"
    assert push.attempts == 1


def test_a_refused_connection_is_retried(app, mapped, unit_hr, submit):
    import socket

    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now: the connection is refused
    app.config.update(SIASN_PUSH_URL=f"http://127.0.0.1:{port}")
    try:
        record = submit(mapped, state="diverifikasi", by=unit_hr)
    finally:
        app.config.update(SIASN_PUSH_URL="")
    push = _push(record)
    assert push.state == "pending"
    assert push.attempts == 1
    assert "Refused" in push.response_text


def test_records_wait_for_their_pns_orang_id(fake_siasn, employee, unit_hr, submit):
    record = submit(employee, state="diverifikasi", by=unit_hr)
    push = _push(record)
    assert push.state == "pending"
    assert push.attempts == 0
    assert "pnsOrangId" in push.response_text
    assert fake_siasn.requests == []
    siasn.import_people(f"nip,pnsOrangId\n{employee.nip},ORANG-8\n", actor=None)
    db.session.commit()
    assert siasn.due_ids() == [push.id]
    assert siasn.push_one(push.id) == "sent"


def test_the_sweep_queues_certificates(fake_siasn, mapped, issuer, make_course, complete):
    complete(mapped, make_course(code="PM-01", jp=6))
    assert siasn.sync_outbox() == 1
    db.session.commit()
    assert siasn.sync_outbox() == 0
    [push_id] = siasn.due_ids()
    assert siasn.push_one(push_id) == "sent"
    assert fake_siasn.requests[0]["body"]["jumlahJam"] == 6


def test_the_outbox_page_lists_states(fake_siasn, mapped, unit_hr, submit, admin, client, login):
    fake_siasn.script = [400]
    submit(mapped, state="diverifikasi", by=unit_hr)
    login(admin)
    page = client.get("/kelola/siasn/kirim?status=failed").get_data(as_text=True)
    assert "failed" in page
    assert "400" in page


def test_the_fast_json_lines_say_exactly_what_the_feed_entries_say(employee, make_employee, unit_hr, issuer,
                                                                   make_course, complete, submit, app):
    app.config.update(SIASN_INSTANSI_ID="A5EB03E23BFBF6A0E040640A040252AD")
    try:
        complete(employee, make_course(code="PM-01", jp=6, title='Kursus "Kutip" \\ Garis\nBaru'))
        complete(employee, make_course(code="LD-01", jp=40, jenis_diklat="1"))
        submit(employee, jp=300, jenis_diklat="1", latihan_struktural="3", state="diverifikasi", by=unit_hr,
               organiser="Lembaga Administrasi Negara — Jakarta ✓")
        submit(make_employee(), jp=2, jenis_diklat="10", certificate_number="", state="diverifikasi", by=unit_hr)
        lines = [json.loads(line) for line in "".join(siasn.feed_lines()).splitlines()]
        assert lines == list(siasn.feed())
        assert {line["endpoint"] for line in lines} == {"kursus/save", "diklat/save"}
    finally:
        app.config.update(SIASN_INSTANSI_ID="")
