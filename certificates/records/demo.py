"""Demo training records: the SIASN reference lists, the BKD officer looking after the whole province, an
HR officer of one dinas, and external records in every state. Running it again changes nothing."""

from __future__ import annotations

import datetime as dt
import io

from sqlalchemy import select

from certificates.records import services
from certificates.records.models import ExternalRecord, HrScope
from lms import services as people
from lms.extensions import db
from lms.models import OrgUnit, User, aware_utcnow

DEMO_PASSWORD = "bangkom-demo-2026"  # noqa: S105 - published demo login, as in lms.demo

UNIT_HR = dict(email="hr.dukcapil@demo.bangkom.id", full_name="Sri Handayani", title_back="S.Psi.",
               nip="198811102012122001", employee_type="PNS", golongan="III/c", jabatan_type="fungsional",
               jabatan_name="Analis Sumber Daya Manusia Aparatur Ahli Muda", birth_place="Klaten")

# (employee e-mail, state, fields): days are counted back from today.
RECORDS = [
    ("budi@demo.bangkom.id", "diverifikasi", dict(
        title="Seminar Nasional Administrasi Kependudukan Digital", organiser="Direktorat Jenderal Dukcapil "
        "Kementerian Dalam Negeri", place="Jakarta", jalur="klasikal", jenis_diklat="9", competency_kind="teknis",
        certificate_number="470/1123/DUKCAPIL/2026", days=(40, 39), jp=8)),
    ("budi@demo.bangkom.id", "diajukan", dict(
        title="Bimbingan Teknis Aplikasi SIAK Terpusat", organiser="Dinas Kependudukan dan Pencatatan Sipil "
        "Provinsi Jawa Tengah", place="Semarang", jalur="klasikal", jenis_diklat="8", competency_kind="teknis",
        certificate_number="800/77/BIMTEK-SIAK", days=(12, 10), jp=12)),
    ("budi@demo.bangkom.id", "ditolak", dict(
        title="Webinar Pelayanan Publik Inklusif", organiser="Ombudsman RI", place="daring", jalur="nonklasikal",
        jenis_diklat="9", competency_kind="manajerial", certificate_number="", days=(20, 20), jp=2)),
    ("dewi@demo.bangkom.id", "diajukan", dict(
        title="Pelatihan Analis Kebijakan Transportasi", organiser="Politeknik Transportasi Darat Indonesia",
        place="Bekasi", jalur="klasikal", jenis_diklat="2", competency_kind="teknis",
        certificate_number="PTDI/AK/2026/0412", days=(30, 26), jp=24)),
    ("eko@demo.bangkom.id", "diverifikasi", dict(
        title="Kursus Daring Keamanan Siber Dasar", organiser="Badan Siber dan Sandi Negara", place="daring",
        jalur="nonklasikal", jenis_diklat="3", competency_kind="teknis", certificate_number="BSSN/KSD/2026/3310",
        days=(60, 45), jp=6)),
]
REJECT_REASON = "Sertifikat tidak mencantumkan jumlah jam pelajaran; unggah sertifikat yang memuat JP."


def _pdf(title: str) -> bytes:
    """A small, valid one-page PDF standing in for an external certificate."""
    text = title.replace("(", "").replace(")", "").replace("\\", "")[:60]
    stream = f"BT /F1 14 Tf 50 780 Td (Sertifikat: {text}) Tj ET".encode("latin-1", "replace")
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def seed() -> None:
    services.ensure_references()
    units = {u.code: u for u in db.session.scalars(select(OrgUnit))}
    bkd_hr = db.session.scalar(select(User).where(User.email == "hr@demo.bangkom.id"))
    if bkd_hr is not None and "PROV-JATENG" in units and db.session.get(
            HrScope, (bkd_hr.id, units["PROV-JATENG"].id)) is None:
        # The BKD serves the whole provincial government, not only its own office.
        services.set_hr_scopes(bkd_hr, [units["PROV-JATENG"].id], actor=None)
    if "DUKCAPIL" in units and db.session.scalar(select(User.id).where(User.email == UNIT_HR["email"])) is None:
        people.create_user(roles=["hr"], password=DEMO_PASSWORD, unit_id=units["DUKCAPIL"].id, **UNIT_HR)
    today = dt.date.today()
    for email, state, fields in RECORDS:
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None or db.session.scalar(select(ExternalRecord.id).where(
                ExternalRecord.user_id == user.id, ExternalRecord.title == fields["title"])):
            continue
        fields = dict(fields)
        first, last = fields.pop("days")
        data = {**fields, "start_date": today - dt.timedelta(days=first), "end_date": today - dt.timedelta(days=last),
                "latihan_struktural": None}
        record = services.submit_external(user, data=data, stream=io.BytesIO(_pdf(fields["title"])),
                                          file_name="sertifikat.pdf")
        if state != "diajukan" and bkd_hr is not None:
            if state == "diverifikasi":
                services.verify(record, actor=bkd_hr)
            else:
                services.reject(record, reason=REJECT_REASON, actor=bkd_hr)
        record.submitted_at = aware_utcnow() - dt.timedelta(days=max(0, last - 1))
    db.session.flush()
