"""The demo's certificate issuer: the provincial training agency (BPSDM) and its signatory."""

from __future__ import annotations

from sqlalchemy import select

from certificates.models import Issuer
from lms.extensions import db
from lms.models import OrgUnit


def seed() -> None:
    if db.session.scalar(select(Issuer.id).limit(1)) is not None:
        return
    unit = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "BPSDM"))
    db.session.add(Issuer(
        code="BPSDM", name="Badan Pengembangan Sumber Daya Manusia Provinsi Jawa Tengah", city="Semarang",
        unit=unit, signatory_name="Dr. Ir. Sri Wahyuni, M.Si.", signatory_nip="196805121994032005",
        signatory_title="Kepala Badan Pengembangan Sumber Daya Manusia Provinsi Jawa Tengah",
        is_default=True))
    db.session.flush()
