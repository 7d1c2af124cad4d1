"""NIP, the 18-digit national civil-servant identifier, and its two layouts.

PNS (and CPNS): ``YYYYMMDD`` birth date, ``YYYYMM`` first appointment (TMT CPNS), gender digit
(1 male, 2 female), ``NNN`` sequence. PPPK ("NI PPPK"): birth date, year of first appointment,
two digits counting work agreements, gender digit, sequence (BKN's layout for PPPK numbers).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

# Nobody in active service was born before this, and nobody is appointed younger than this.
EARLIEST_BIRTH_YEAR = 1940
MIN_AGE_AT_APPOINTMENT = 17
# PPPK numbers exist since the first PPPK appointments under PP 49/2018.
EARLIEST_PPPK_YEAR = 2019


class InvalidNip(ValueError):
    """The NIP breaks a rule; ``message`` says which, in the user's language."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


@dataclass(frozen=True)
class NipInfo:
    nip: str
    layout: str  # "PNS" or "PPPK"
    birth_date: dt.date
    appointment_year: int
    appointment_month: int | None  # PNS only
    agreements: int | None  # PPPK only
    gender: str  # "L" or "P"
    sequence: int


def normalise(value: str) -> str:
    """Digits only: NIPs are often written with spaces ("19850312 201001 1 003")."""
    return "".join(value.split()).replace(".", "").replace("-", "")


def _birth_date(nip: str, today: dt.date) -> dt.date:
    try:
        born = dt.date(int(nip[0:4]), int(nip[4:6]), int(nip[6:8]))
    except ValueError:
        raise InvalidNip(_l("The first 8 digits of a NIP must be a valid birth date (YYYYMMDD).")) from None
    if born.year < EARLIEST_BIRTH_YEAR or born > today:
        raise InvalidNip(_l("The birth date in the NIP (%(date)s) is not plausible.", date=born.isoformat()))
    return born


def _gender_and_sequence(nip: str) -> tuple[str, int]:
    if nip[14] not in "12":
        raise InvalidNip(_l("Digit 15 of a NIP is the gender: 1 (male) or 2 (female)."))
    sequence = int(nip[15:18])
    if sequence == 0:
        raise InvalidNip(_l("The last three digits of a NIP (sequence number) cannot be 000."))
    return ("L" if nip[14] == "1" else "P"), sequence


def _parse_pns(nip: str, today: dt.date) -> NipInfo:
    born = _birth_date(nip, today)
    year, month = int(nip[8:12]), int(nip[12:14])
    if not 1 <= month <= 12:
        raise InvalidNip(_l("Digits 9–14 of a PNS NIP are the appointment year and month; month %(month)s "
                            "is not 01–12.", month=nip[12:14]))
    if year < born.year + MIN_AGE_AT_APPOINTMENT or dt.date(year, month, 1) < born:
        raise InvalidNip(_l("The appointment date in the NIP (%(ym)s) is too soon after the birth date.",
                            ym=f"{year}-{month:02d}"))
    if year > today.year + 1:
        raise InvalidNip(_l("The appointment year in the NIP (%(year)s) is in the future.", year=year))
    gender, sequence = _gender_and_sequence(nip)
    return NipInfo(nip, "PNS", born, year, month, None, gender, sequence)


def _parse_pppk(nip: str, today: dt.date) -> NipInfo:
    born = _birth_date(nip, today)
    year, agreements = int(nip[8:12]), int(nip[12:14])
    if year < EARLIEST_PPPK_YEAR or year > today.year + 1:
        raise InvalidNip(_l("The appointment year in a PPPK number (%(year)s) is not plausible.", year=year))
    if year < born.year + MIN_AGE_AT_APPOINTMENT:
        raise InvalidNip(_l("The appointment year in the NIP (%(year)s) is too soon after the birth date.",
                            year=year))
    if agreements == 0:
        raise InvalidNip(_l("Digits 13–14 of a PPPK number count work agreements and cannot be 00."))
    gender, sequence = _gender_and_sequence(nip)
    return NipInfo(nip, "PPPK", born, year, None, agreements, gender, sequence)


def parse(
    value: str,
    *,
    employee_type: str | None = None,
    birth_date: dt.date | None = None,
    gender: str | None = None,
    today: dt.date | None = None,
) -> NipInfo:
    """Check a NIP's structure for its employee type and against the profile's birth date and gender."""
    nip = normalise(value or "")
    today = today or dt.date.today()
    if not nip:
        raise InvalidNip(_l("NIP is empty."))
    if not (nip.isascii() and nip.isdigit()):  # str.isdigit() also accepts "²" and full-width digits
        raise InvalidNip(_l("A NIP contains digits only."))
    if len(nip) != 18:
        raise InvalidNip(_l("A NIP has 18 digits; this one has %(count)s.", count=len(nip)))
    if employee_type == "PPPK":
        info = _parse_pppk(nip, today)
    elif employee_type in ("PNS", "CPNS"):
        info = _parse_pns(nip, today)
    else:
        try:
            info = _parse_pns(nip, today)
        except InvalidNip as pns_error:
            try:
                info = _parse_pppk(nip, today)
            except InvalidNip:
                raise pns_error from None
    if birth_date is not None and birth_date != info.birth_date:
        raise InvalidNip(_l("The NIP says born %(nip_date)s, but the birth date given is %(given)s.",
                            nip_date=info.birth_date.isoformat(), given=birth_date.isoformat()))
    if gender is not None and gender != info.gender:
        raise InvalidNip(_l("The NIP's gender digit does not match the gender given."))
    return info


def format_nip(nip: str) -> str:
    """The grouping HR documents print: ``19850312 201001 1 003``."""
    if len(nip) != 18:
        return nip
    return f"{nip[:8]} {nip[8:14]} {nip[14]} {nip[15:]}"


def mask(nip: str) -> str:
    """A NIP with the birth date and sequence hidden, for public pages: ``1985****2010011***``."""
    if len(nip) != 18:
        return "*" * len(nip)
    return f"{nip[:4]}****{nip[8:15]}***"
