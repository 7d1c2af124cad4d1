"""BKN's SIASN: every counting record as a ``kursus/save`` or ``diklat/save`` payload (DOMAIN.md), the
``pnsOrangId`` mapping imported from BKN, the JSON-lines feed, and the outbox that pushes records to a
configured SIASN-style endpoint.

The outbox sends a record at most once by itself: a row is claimed (pending → sending) by one conditional
UPDATE before the request goes out, every request carries an ``Idempotency-Key``, and an attempt whose
outcome is unknown (the request left, no answer came back) is marked failed for a person to look at rather
than sent again. Only answers that prove nothing was stored (a refused connection, a 5xx, 408, 429) are
retried, with exponential backoff.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import String, func, select, type_coerce, update
from sqlalchemy.dialects import postgresql, sqlite

from certificates.models import Certificate
from certificates.records import services
from certificates.records.models import ExternalRecord, SiasnPerson, SiasnPush
from courses.models import Course
from lms import nip as nip_rules
from lms.extensions import db
from lms.models import User, aware_utcnow
from lms.services import ValidationFailed, audit

KOMPETENSI_NAMES = {"teknis": "Teknis", "manajerial": "Manajerial", "sosial_kultural": "Sosial Kultural"}
MAX_ATTEMPTS = 8
BACKOFF_SECONDS = 60
MAX_BACKOFF_SECONDS = 6 * 3600
TIMEOUT_SECONDS = 15
RETRYABLE_STATUSES = {408, 425, 429, 500, 502, 503, 504}


def siasn_date(value) -> str | None:
    """SIASN writes dates as ``dd-mm-YYYY``; ``value`` is a date or an ISO date string (as SQLite returns it)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return f"{value[8:10]}-{value[5:7]}-{value[:4]}" if len(value) >= 10 else None
    return f"{value.day:02d}-{value.month:02d}-{value.year}"


def _year_of(value) -> int | None:
    if value is None or value == "":
        return None
    return int(value[:4]) if isinstance(value, str) else value.year


class _Maps:
    """What every payload of one run shares: the reference lists and the agency's SIASN ids."""

    def __init__(self):
        self.jenis = {code: entry.kursus_kind
                      for code, entry in services.references("jenis_diklat", active_only=False).items()}
        self.latihan = set(services.references("latihan_struktural", active_only=False))
        self.instansi = current_app.config.get("SIASN_INSTANSI_ID") or None
        self.lokasi = current_app.config.get("SIASN_LOKASI_ID") or None


def payload(*, pns_orang_id: str | None, jenis_diklat: str, latihan_struktural: str | None, competency_kind: str,
            title: str, organiser: str, number: str, start, end, jp: int, documents: list[dict] | None = None,
            maps: _Maps | None = None) -> tuple[str, dict]:
    """(endpoint, payload) of one record: structural (leadership) training is a ``diklat``, all other
    training a ``kursus``. ``start`` and ``end`` are dates or ISO date strings."""
    maps = maps or _Maps()
    year = _year_of(end) or _year_of(start)
    if jenis_diklat == services.STRUKTURAL:
        return "diklat", {
            "institusiPenyelenggara": organiser,
            "jenisKompetensi": KOMPETENSI_NAMES.get(competency_kind, competency_kind),
            "jumlahJam": jp,
            # "lainnya" (other) when a record names no level the table knows
            "latihanStrukturalId": latihan_struktural if latihan_struktural in maps.latihan else "8",
            "nomor": number,
            "pnsOrangId": pns_orang_id,
            "tahun": year,
            "tanggal": siasn_date(start),
            "tanggalSelesai": siasn_date(end),
            "path": documents or [],
        }
    return "kursus", {
        "instansiId": maps.instansi,
        "institusiPenyelenggara": organiser,
        "jenisDiklatId": jenis_diklat,
        "jenisKursusSertipikat": maps.jenis.get(jenis_diklat) or "P",
        "jumlahJam": jp,
        "lokasiId": maps.lokasi,
        "namaKursus": title,
        "nomorSertipikat": number,
        "pnsOrangId": pns_orang_id,
        "tahunKursus": year,
        "tanggalKursus": siasn_date(start),
        "tanggalSelesaiKursus": siasn_date(end),
    }


def pns_orang_id(nip: str | None) -> str | None:
    if not nip:
        return None
    return db.session.scalar(select(SiasnPerson.pns_orang_id).where(SiasnPerson.nip == nip))


def certificate_payload(certificate: Certificate) -> tuple[str, dict]:
    snap = certificate.snapshot
    return payload(pns_orang_id=pns_orang_id(certificate.user.nip), jenis_diklat=certificate.course.jenis_diklat,
                   latihan_struktural=None, competency_kind=certificate.course.competency_kind,
                   title=snap["course"]["title"], organiser=snap["issuer"]["name"], number=certificate.number,
                   start=snap["course"].get("start"), end=snap["course"].get("end"), jp=certificate.jp,
                   documents=[{"dokNama": "Sertifikat",
                               "dokUri": f"{current_app.config['BASE_URL']}/verify/{certificate.code}"}])


def external_payload(record: ExternalRecord) -> tuple[str, dict]:
    return payload(pns_orang_id=pns_orang_id(record.user.nip), jenis_diklat=record.jenis_diklat,
                   latihan_struktural=record.latihan_struktural, competency_kind=record.competency_kind,
                   title=record.title, organiser=record.organiser, number=record.certificate_number,
                   start=record.start_date, end=record.end_date, jp=record.jp)


# ---------------------------------------------------------------- the feed (JSON lines)


def _since_instant(since: dt.date | None) -> dt.datetime | None:
    return dt.datetime(since.year, since.month, since.day, tzinfo=services.WIB) if since else None


def _feed_rows(*, since: dt.date | None, unit_ids: set[int] | None) -> Iterator[tuple]:
    """(source, id, nip, pnsOrangId, jenis, latihan, kind, title, organiser, number, start, end, jp, verify_url)
    of every counting record in scope, certificates first; plain rows, and of a certificate's snapshot only
    the fields sent are read."""
    people = SiasnPerson.__table__
    users = User.__table__
    cert = Certificate.__table__
    start = _since_instant(since)
    snap = cert.c.snapshot
    if db.session.get_bind().dialect.name == "sqlite":
        # One parse of the snapshot for all four fields (json_extract with several paths gives an array).
        fields = [func.json_extract(snap, "$.course.title", "$.issuer.name", "$.course.start", "$.course.end")]
    else:
        fields = [snap[("course", "title")].as_string(), snap[("issuer", "name")].as_string(),
                  snap[("course", "start")].as_string(), snap[("course", "end")].as_string()]
    certificates = services.counting_certificates().with_only_columns(
        cert.c.id, users.c.nip, people.c.pns_orang_id, Course.__table__.c.jenis_diklat,
        Course.__table__.c.competency_kind, cert.c.number, cert.c.jp, cert.c.code, *fields,
        maintain_column_froms=True,
    ).join(users, users.c.id == cert.c.user_id).outerjoin(people, people.c.nip == users.c.nip)
    if start is not None:
        certificates = certificates.where(cert.c.issued_at >= start)
    if unit_ids is not None:
        certificates = certificates.where(users.c.unit_id.in_(unit_ids or [-1]))
    verify = f"{current_app.config['BASE_URL']}/verify/"
    loads = json.loads
    services.read_everything()
    result = db.session.execute(certificates.order_by(cert.c.id).execution_options(yield_per=5000))
    for rows in result.partitions():  # whole batches: far cheaper than a generator step per row
        for id_, nip, orang, jenis, kind, number, jp, code, *snapshot in rows:
            title, organiser, begin, end = loads(snapshot[0]) if len(snapshot) == 1 else snapshot
            yield ("certificate", id_, nip, orang, jenis, None, kind, title, organiser, number, begin, end, jp,
                   verify + code)
    record = ExternalRecord.__table__
    # Dates as the driver gives them (SQLite: ISO text), formatted without parsing.
    externals = (select(record.c.id, users.c.nip, people.c.pns_orang_id, record.c.jenis_diklat,
                        record.c.latihan_struktural, record.c.competency_kind, record.c.title, record.c.organiser,
                        record.c.certificate_number, type_coerce(record.c.start_date, String),
                        type_coerce(record.c.end_date, String), record.c.jp)
                 .join(users, users.c.id == record.c.user_id).outerjoin(people, people.c.nip == users.c.nip)
                 .where(record.c.state == "diverifikasi").order_by(record.c.id))
    if start is not None:
        externals = externals.where(record.c.decided_at >= start)
    if unit_ids is not None:
        externals = externals.where(users.c.unit_id.in_(unit_ids or [-1]))
    for rows in db.session.execute(externals.execution_options(yield_per=5000)).partitions():
        for row in rows:
            yield ("external", *row, None)


def feed(*, since: dt.date | None = None, unit_ids: set[int] | None = None) -> Iterator[dict]:
    """One entry per counting record of the people in ``unit_ids`` (None: everybody): certificates issued and
    external records verified since ``since``, each with its SIASN endpoint and payload."""
    maps = _Maps()
    for (source, id_, nip, orang, jenis, latihan, kind, title, organiser, number, begin, end, jp,
         verify_url) in _feed_rows(since=since, unit_ids=unit_ids):
        endpoint, body = payload(pns_orang_id=orang, jenis_diklat=jenis, latihan_struktural=latihan,
                                 competency_kind=kind, title=title, organiser=organiser, number=number, start=begin,
                                 end=end, jp=jp, maps=maps,
                                 documents=[{"dokNama": "Sertifikat", "dokUri": verify_url}] if verify_url else None)
        yield {"endpoint": f"{endpoint}/save", "source": source, "id": id_, "nip": nip, "payload": body}


def feed_lines(*, since: dt.date | None = None, unit_ids: set[int] | None = None) -> Iterator[str]:
    """The feed as JSON lines, in batches. The lines are written field by field (strings escaped by the
    json module's own encoder) rather than by dumping a dict per record: it is the hot loop of the
    600,000-record export, and yields exactly what ``json.dumps(feed entry)`` would (tested)."""
    maps = _Maps()
    text = json.encoder.encode_basestring

    def string(value) -> str:
        return "null" if value is None else text(value)

    def dmy(value) -> str:
        if value.__class__ is str:
            return f'"{value[8:10]}-{value[5:7]}-{value[:4]}"' if len(value) >= 10 else "null"
        return "null" if value is None else f'"{value.day:02d}-{value.month:02d}-{value.year}"'

    instansi, lokasi = string(maps.instansi), string(maps.lokasi)
    letters = {code: text(letter or "P") for code, letter in maps.jenis.items()}
    kinds = {key: text(name) for key, name in KOMPETENSI_NAMES.items()}
    batch: list[str] = []
    for (source, id_, nip, orang, jenis, latihan, kind, title, organiser, number, begin, end, jp,
         verify_url) in _feed_rows(since=since, unit_ids=unit_ids):
        year = _year_of(end) or _year_of(begin) or "null"
        if jenis == services.STRUKTURAL:
            documents = f'[{{"dokNama":"Sertifikat","dokUri":{text(verify_url)}}}]' if verify_url else "[]"
            batch.append(
                f'{{"endpoint":"diklat/save","source":"{source}","id":{id_},"nip":{string(nip)},"payload":'
                f'{{"institusiPenyelenggara":{string(organiser)},'
                f'"jenisKompetensi":{kinds.get(kind) or string(kind)},"jumlahJam":{jp},'
                f'"latihanStrukturalId":{text(latihan if latihan in maps.latihan else "8")},'
                f'"nomor":{string(number)},"pnsOrangId":{string(orang)},"tahun":{year},'
                f'"tanggal":{dmy(begin)},"tanggalSelesai":{dmy(end)},"path":{documents}}}}}')
        else:
            batch.append(
                f'{{"endpoint":"kursus/save","source":"{source}","id":{id_},"nip":{string(nip)},"payload":'
                f'{{"instansiId":{instansi},"institusiPenyelenggara":{string(organiser)},'
                f'"jenisDiklatId":{string(jenis)},"jenisKursusSertipikat":{letters.get(jenis) or text("P")},'
                f'"jumlahJam":{jp},"lokasiId":{lokasi},"namaKursus":{string(title)},'
                f'"nomorSertipikat":{string(number)},"pnsOrangId":{string(orang)},"tahunKursus":{year},'
                f'"tanggalKursus":{dmy(begin)},"tanggalSelesaiKursus":{dmy(end)}}}}}')
        if len(batch) >= 1000:
            batch.append("")
            yield "\n".join(batch)
            batch = []
    if batch:
        batch.append("")
        yield "\n".join(batch)


# ---------------------------------------------------------------- the pnsOrangId mapping


ID_COLUMNS = ("pnsorangid", "pns_orang_id", "orang_id", "id")


def import_people(text: str, *, actor: User | None) -> int:
    """Load ``nip,pnsOrangId`` rows (BKN's export; ``;`` separators accepted): all or nothing, every bad line
    reported with its number. Existing NIPs get the new id. Returns the number of rows imported."""
    text = text.lstrip("\ufeff")
    first = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text), delimiter=";" if first.count(";") > first.count(",") else ",")
    header = [h.strip().lower() for h in next(reader, [])]
    if "nip" not in header or not any(c in header for c in ID_COLUMNS):
        raise ValidationFailed({"file": _l("The CSV needs a header row with the columns nip and pnsOrangId.")})
    nip_at = header.index("nip")
    id_at = header.index(next(c for c in ID_COLUMNS if c in header))
    rows: dict[str, str] = {}
    errors: list[str] = []
    for line, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) <= max(nip_at, id_at):
            errors.append(str(_l("Line %(n)s: a column is missing.", n=line)))
            continue
        nip = nip_rules.normalise(cells[nip_at])
        orang = cells[id_at].strip()
        if len(nip) != 18 or not nip.isascii() or not nip.isdigit():
            errors.append(str(_l("Line %(n)s: %(nip)s is not an 18-digit NIP.", n=line, nip=cells[nip_at][:30])))
        elif not orang or len(orang) > 64 or any(ch.isspace() for ch in orang):
            errors.append(str(_l("Line %(n)s: the pnsOrangId is empty or malformed.", n=line)))
        elif nip in rows and rows[nip] != orang:
            errors.append(str(_l("Line %(n)s: NIP %(nip)s appears twice with different ids.", n=line, nip=nip)))
        else:
            rows[nip] = orang
    if errors:
        raise ValidationFailed({"file": "; ".join(errors[:50]) + (" …" if len(errors) > 50 else "")})
    if not rows:
        raise ValidationFailed({"file": _l("The CSV has no rows.")})
    dialect = db.session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(SiasnPerson)
    now = aware_utcnow()
    items = list(rows.items())
    for start in range(0, len(items), 1000):
        chunk = [{"nip": n, "pns_orang_id": o, "imported_at": now} for n, o in items[start:start + 1000]]
        stmt = insert.values(chunk)
        db.session.execute(stmt.on_conflict_do_update(
            index_elements=["nip"], set_={"pns_orang_id": stmt.excluded.pns_orang_id,
                                         "imported_at": stmt.excluded.imported_at}))
    # Records that waited for their person's id may go now.
    db.session.execute(update(SiasnPush).where(SiasnPush.state == "pending", SiasnPush.attempts == 0)
                       .values(next_attempt_at=now))
    audit("siasn.import_people", None, actor=actor, object_type="siasn_people", summary=f"{len(rows)} NIP")
    return len(rows)


# ---------------------------------------------------------------- the outbox


def push_enabled() -> bool:
    return bool(current_app.config.get("SIASN_PUSH_URL"))


def _insert_push(rows: list[dict]) -> None:
    if not rows:
        return
    dialect = db.session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(SiasnPush)
    db.session.execute(insert.values(rows).on_conflict_do_nothing(index_elements=["source", "source_id"]))


def queue_push(source: str, source_id: int) -> None:
    """Put one record in the outbox (once: a second call changes nothing) and push it after the commit."""
    if not push_enabled():
        return
    if source == "certificate":
        certificate = db.session.get(Certificate, source_id)
        endpoint, user_id = certificate_payload(certificate)[0], certificate.user_id
    else:
        record = db.session.get(ExternalRecord, source_id)
        endpoint, user_id = external_payload(record)[0], record.user_id
    _insert_push([{"source": source, "source_id": source_id, "user_id": user_id, "endpoint": endpoint,
                   "state": "pending", "attempts": 0, "next_attempt_at": aware_utcnow(), "response_text": "",
                   "created_at": aware_utcnow()}])
    push_id = db.session.scalar(select(SiasnPush.id).where(SiasnPush.source == source,
                                                           SiasnPush.source_id == source_id))
    from certificates.records import jobs
    from lms.jobs import enqueue_after_commit

    enqueue_after_commit(jobs.push_record, push_id)


def sync_outbox(limit: int = 1000) -> int:
    """Queue counting records that are not in the outbox yet (certificates are issued without knowing about
    SIASN); returns how many were added."""
    cert = Certificate.__table__
    pushes = SiasnPush.__table__
    missing = (services.counting_certificates().add_columns(cert.c.id, Course.__table__.c.jenis_diklat)
               .outerjoin(pushes, (pushes.c.source == "certificate") & (pushes.c.source_id == cert.c.id))
               .where(pushes.c.id.is_(None)).order_by(cert.c.id).limit(limit))
    now = aware_utcnow()
    added = [{"source": "certificate", "source_id": row.id, "user_id": row.user_id,
              "endpoint": "diklat" if row.jenis_diklat == services.STRUKTURAL else "kursus", "state": "pending",
              "attempts": 0, "next_attempt_at": now, "response_text": "", "created_at": now}
             for row in db.session.execute(missing)]
    record = ExternalRecord.__table__
    externals = db.session.execute(
        select(record.c.id, record.c.user_id, record.c.jenis_diklat)
        .outerjoin(pushes, (pushes.c.source == "external") & (pushes.c.source_id == record.c.id))
        .where(record.c.state == "diverifikasi", pushes.c.id.is_(None)).order_by(record.c.id).limit(limit)).all()
    added += [{"source": "external", "source_id": r.id, "user_id": r.user_id,
               "endpoint": "diklat" if r.jenis_diklat == services.STRUKTURAL else "kursus", "state": "pending",
               "attempts": 0, "next_attempt_at": now, "response_text": "", "created_at": now} for r in externals]
    _insert_push(added)
    return len(added)


def backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(MAX_BACKOFF_SECONDS, BACKOFF_SECONDS * 2 ** max(0, attempts - 1)))


class Answer:
    """What the endpoint said: a status and its body, or no answer (``status`` None) and whether the
    request may have reached it."""

    def __init__(self, status: int | None, text: str, *, maybe_delivered: bool = False):
        self.status, self.text, self.maybe_delivered = status, text, maybe_delivered


def post_json(url: str, body: dict, *, key: str) -> Answer:
    """POST one payload; never raises for network trouble (the outcome is the Answer)."""
    if not url.lower().startswith(("http://", "https://")):
        return Answer(None, "SIASN_PUSH_URL is not an http(s) URL")
    data = json.dumps(body, ensure_ascii=False).encode()
    request = urllib.request.Request(url, data=data, method="POST", headers={  # noqa: S310 - scheme checked
        "Content-Type": "application/json", "Accept": "application/json", "Idempotency-Key": key,
        **({"Authorization": f"Bearer {current_app.config['SIASN_PUSH_TOKEN']}"}
           if current_app.config.get("SIASN_PUSH_TOKEN") else {})})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            return Answer(response.status, response.read(4000).decode("utf-8", "replace"))
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, exc.read(4000).decode("utf-8", "replace"))
    except urllib.error.URLError as exc:
        # Refused or unresolvable: the request never left. Anything else may have been received.
        reason = exc.reason
        never_sent = isinstance(reason, ConnectionRefusedError | socket.gaierror)
        return Answer(None, f"{type(reason).__name__}: {reason}", maybe_delivered=not never_sent)
    except (TimeoutError, OSError) as exc:
        return Answer(None, f"{type(exc).__name__}: {exc}", maybe_delivered=True)


def push_one(push_id: int, *, now: dt.datetime | None = None) -> str | None:
    """Send one outbox row if it is due; returns its new state (None when it was not this call's to send).
    Commits: each attempt is recorded whatever happens next."""
    now = now or aware_utcnow()
    push = db.session.get(SiasnPush, push_id)
    if push is None or not push_enabled():
        return None
    source = (db.session.get(Certificate, push.source_id) if push.source == "certificate"
              else db.session.get(ExternalRecord, push.source_id))
    if source is None:
        return None
    endpoint, body = certificate_payload(source) if push.source == "certificate" else external_payload(source)
    if body.get("pnsOrangId") is None:
        # Waits for the mapping import (which makes it due again); not an attempt.
        db.session.execute(update(SiasnPush).where(SiasnPush.id == push_id, SiasnPush.state == "pending")
                           .values(response_text="pnsOrangId unknown for this NIP: import the mapping",
                                   next_attempt_at=now + dt.timedelta(days=1)))
        db.session.commit()
        return "pending"
    claimed = db.session.execute(
        update(SiasnPush).where(SiasnPush.id == push_id, SiasnPush.state == "pending",
                                SiasnPush.next_attempt_at <= now)
        .values(state="sending", attempts=SiasnPush.attempts + 1, last_attempt_at=now, payload=body,
                endpoint=endpoint)).rowcount
    db.session.commit()
    if claimed != 1:
        return None
    url = f"{current_app.config['SIASN_PUSH_URL'].rstrip('/')}/{endpoint}/save"
    answer = post_json(url, body, key=f"bangkom-{push.source}-{push.source_id}")
    db.session.refresh(push)
    push.response_status, push.response_text = answer.status, answer.text[:4000]
    if answer.status is not None and 200 <= answer.status < 300:
        push.state, push.sent_at = "sent", aware_utcnow()
    elif answer.status in RETRYABLE_STATUSES or (answer.status is None and not answer.maybe_delivered):
        if push.attempts >= MAX_ATTEMPTS:
            push.state = "failed"
        else:
            push.state, push.next_attempt_at = "pending", now + backoff(push.attempts)
    else:
        # Refused for good (4xx), or the outcome is unknown: sending again could store it twice.
        push.state = "failed"
    db.session.commit()
    return push.state


def due_ids(now: dt.datetime | None = None, limit: int = 200) -> list[int]:
    now = now or aware_utcnow()
    return list(db.session.scalars(select(SiasnPush.id).where(SiasnPush.state == "pending",
                                                              SiasnPush.next_attempt_at <= now)
                                   .order_by(SiasnPush.next_attempt_at, SiasnPush.id).limit(limit)))


def retry(push: SiasnPush, *, actor: User) -> None:
    """A person decides a failed (or stuck) row may be sent again."""
    if push.state not in ("failed", "sending"):
        raise ValidationFailed({"state": _l("Only failed or stuck records can be sent again.")})
    push.state, push.next_attempt_at, push.attempts = "pending", aware_utcnow(), 0
    db.session.flush()
    audit("siasn.retry", push, actor=actor, summary=f"{push.source} {push.source_id}")
    from certificates.records import jobs
    from lms.jobs import enqueue_after_commit

    enqueue_after_commit(jobs.push_record, push.id)


def outbox_counts() -> dict[str, int]:
    return dict(db.session.execute(select(SiasnPush.state, func.count()).group_by(SiasnPush.state)).tuples().all())
