"""Demonstration data for ``flask demo seed``: a provincial government, its people and partners.

Running it again changes nothing that already exists, so it is safe on every ``make run``.
"""

from __future__ import annotations

from sqlalchemy import select

from lms import services
from lms.extensions import db
from lms.models import Institution, OrgUnit, User

DEMO_PASSWORD = "bangkom-demo-2026"  # noqa: S105 - published demo login

UNITS = [
    # code, name, kind, parent code
    ("PROV-JATENG", "Pemerintah Provinsi Jawa Tengah", "instansi", None),
    ("BKD", "Badan Kepegawaian Daerah", "unit", "PROV-JATENG"),
    ("BKD-MUTASI", "Bidang Mutasi dan Promosi", "unit", "BKD"),
    ("BKD-PK", "Bidang Pengembangan Kompetensi", "unit", "BKD"),
    ("BPSDM", "Badan Pengembangan Sumber Daya Manusia", "unit", "PROV-JATENG"),
    ("BPSDM-TEKNIS", "Bidang Pengembangan Kompetensi Teknis", "unit", "BPSDM"),
    ("DUKCAPIL", "Dinas Kependudukan dan Pencatatan Sipil", "unit", "PROV-JATENG"),
    ("DISHUB", "Dinas Perhubungan", "unit", "PROV-JATENG"),
    ("DISKOMINFO", "Dinas Komunikasi dan Informatika", "unit", "PROV-JATENG"),
    ("INSPEKTORAT", "Inspektorat", "unit", "PROV-JATENG"),
]

INSTITUTIONS = [
    ("UNDIP", "Universitas Diponegoro", "universitas", "Semarang", "https://www.undip.ac.id"),
    ("UNNES", "Universitas Negeri Semarang", "universitas", "Semarang", "https://unnes.ac.id"),
    ("POLINES", "Politeknik Negeri Semarang", "politeknik", "Semarang", "https://www.polines.ac.id"),
]

USERS = [
    # role label, roles, fields
    ("admin", ["admin"], dict(
        email="admin@demo.bangkom.id", full_name="Rina Kusumawati", title_back="S.T.", nip="198201152008012004",
        employee_type="PNS", golongan="III/d", jabatan_type="administrator",
        jabatan_name="Kepala Bidang Teknologi Pembelajaran", unit="BPSDM", birth_place="Semarang")),
    ("hr", ["hr"], dict(
        email="hr@demo.bangkom.id", full_name="Agus Prasetyo", title_back="S.H., M.M.", nip="197806212003121002",
        employee_type="PNS", golongan="IV/a", jabatan_type="administrator",
        jabatan_name="Kepala Bidang Pengembangan Kompetensi", unit="BKD", birth_place="Solo")),
    ("trainer", ["trainer"], dict(
        email="trainer@demo.bangkom.id", full_name="Siti Rahmawati", title_front="Dr.", title_back="M.Pd.",
        nip="197503092000032001", employee_type="PNS", golongan="IV/b", jabatan_type="fungsional",
        jabatan_name="Widyaiswara Ahli Madya", unit="BPSDM-TEKNIS", birth_place="Kudus")),
    ("coauthor", ["coauthor"], dict(
        email="hendra.wijaya@undip.example", full_name="Hendra Wijaya", title_front="Dr.", title_back="S.Kom., M.T.",
        institution="UNDIP")),
    ("learner", ["learner"], dict(
        email="budi@demo.bangkom.id", full_name="Budi Santoso", title_back="S.Kom.", nip="198503122010011003",
        employee_type="PNS", golongan="III/b", jabatan_type="pelaksana",
        jabatan_name="Pengelola Data Kependudukan", unit="DUKCAPIL", birth_place="Semarang",
        phone="0812-2345-6789")),
    ("learner", ["learner"], dict(
        email="dewi@demo.bangkom.id", full_name="Dewi Lestari", title_back="S.E.", nip="199007242015032001",
        employee_type="PNS", golongan="III/a", jabatan_type="fungsional",
        jabatan_name="Analis Kebijakan Ahli Pertama", unit="DISHUB", birth_place="Magelang")),
    ("learner", ["learner"], dict(
        email="eko@demo.bangkom.id", full_name="Eko Saputra", title_back="A.Md.", nip="199204152023011004",
        employee_type="PPPK", golongan="VII", jabatan_type="fungsional",
        jabatan_name="Pranata Komputer Terampil", unit="DISKOMINFO", birth_place="Pati")),
]


def seed() -> list[tuple[str, str, str]]:
    """Create whatever of the demo is missing; returns (role, login, password) for each demo person."""
    units = {u.code: u for u in db.session.scalars(select(OrgUnit))}
    for code, name, kind, parent in UNITS:
        if code not in units:
            units[code] = services.save_unit(None, code=code, name=name, kind=kind,
                                             parent_id=units[parent].id if parent else None, actor=None)
    institutions = {i.code: i for i in db.session.scalars(select(Institution))}
    for code, name, kind, city, website in INSTITUTIONS:
        if code not in institutions:
            institutions[code] = services.save_institution(None, code=code, name=name, kind=kind, city=city,
                                                           website=website, actor=None)
    logins = []
    for label, roles, fields in USERS:
        fields = dict(fields)
        unit = units[fields.pop("unit")] if "unit" in fields else None
        inst = institutions[fields.pop("institution")] if "institution" in fields else None
        existing = db.session.scalar(select(User).where(User.email == fields["email"]))
        if existing is None:
            services.create_user(roles=roles, password=DEMO_PASSWORD, unit_id=unit.id if unit else None,
                                 institution_id=inst.id if inst else None, **fields)
        logins.append((label, fields["email"], fields.get("nip"), DEMO_PASSWORD))
    return logins
