"""NIP rules (DOMAIN.md): the PNS and PPPK layouts, cross-checks with the profile, formatting, masking."""

from __future__ import annotations

import datetime as dt

import pytest
from flask_babel import force_locale
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lms.nip import InvalidNip, format_nip, mask, normalise, parse

TODAY = dt.date(2026, 7, 1)
CHECKS = settings(max_examples=150, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(autouse=True)
def english(_clean):
    """Messages are asserted in English, whatever the default language becomes."""
    with force_locale("en"):
        yield


def make_nip(born: dt.date, year: int, middle: int, gender: str, seq: int) -> str:
    """A NIP from its parts; ``middle`` is the TMT month (PNS) or the agreement count (PPPK)."""
    return f"{born:%Y%m%d}{year:04d}{middle:02d}{'1' if gender == 'L' else '2'}{seq:03d}"


def reason(value, **kwargs) -> str:
    with pytest.raises(InvalidNip) as caught:
        parse(value, today=TODAY, **kwargs)
    return str(caught.value.message)


births = st.dates(min_value=dt.date(1940, 1, 1), max_value=dt.date(TODAY.year - 18, 12, 31))
genders = st.sampled_from(["L", "P"])
sequences = st.integers(min_value=1, max_value=999)


@st.composite
def pns_parts(draw):
    born = draw(births)
    year = draw(st.integers(min_value=born.year + 18, max_value=TODAY.year))
    return born, year, draw(st.integers(1, 12)), draw(genders), draw(sequences)


@st.composite
def pppk_parts(draw):
    born = draw(births)
    year = draw(st.integers(min_value=max(2019, born.year + 18), max_value=TODAY.year))
    return born, year, draw(st.integers(1, 99)), draw(genders), draw(sequences)


# ---------------------------------------------------------------- round trips


@CHECKS
@given(pns_parts())
def test_every_valid_pns_nip_parses_back_to_its_parts(parts):
    born, year, month, gender, seq = parts
    nip = make_nip(*parts)
    for etype in (None, "PNS", "CPNS"):
        info = parse(nip, employee_type=etype, today=TODAY)
        assert (info.nip, info.layout) == (nip, "PNS")
        assert info.birth_date == born
        assert (info.appointment_year, info.appointment_month, info.agreements) == (year, month, None)
        assert (info.gender, info.sequence) == (gender, seq)
    # The profile agreeing with the NIP is accepted too.
    assert parse(nip, employee_type="PNS", birth_date=born, gender=gender, today=TODAY).nip == nip


@CHECKS
@given(pppk_parts())
def test_every_valid_pppk_number_parses_back_to_its_parts(parts):
    born, year, agreements, gender, seq = parts
    nip = make_nip(*parts)
    info = parse(nip, employee_type="PPPK", birth_date=born, gender=gender, today=TODAY)
    assert (info.nip, info.layout, info.birth_date) == (nip, "PPPK", born)
    assert (info.appointment_year, info.appointment_month, info.agreements) == (year, None, agreements)
    assert (info.gender, info.sequence) == (gender, seq)


@CHECKS
@given(pppk_parts().filter(lambda p: p[2] > 12))
def test_a_pppk_number_whose_agreement_count_cannot_be_a_month_is_recognised_without_a_type(parts):
    info = parse(make_nip(*parts), today=TODAY)
    assert info.layout == "PPPK"
    assert info.agreements == parts[2]


@CHECKS
@given(pppk_parts().filter(lambda p: p[2] > 12))
def test_a_pppk_number_is_not_a_valid_pns_nip(parts):
    # Digits 13-14 of a PNS NIP are a month; an agreement count of 13+ is not one.
    message = reason(make_nip(*parts), employee_type="PNS")
    assert "month" in message
    assert f"{parts[2]:02d}" in message


@CHECKS
@given(pns_parts().filter(lambda p: p[1] < 2019))
def test_a_pns_nip_from_before_pppk_existed_is_not_a_valid_pppk_number(parts):
    message = reason(make_nip(*parts), employee_type="PPPK")
    assert "PPPK" in message
    assert str(parts[1]) in message


@CHECKS
@given(st.text(alphabet="0123456789", min_size=18, max_size=18))
def test_any_18_digits_either_parse_consistently_or_are_refused_with_a_reason(digits):
    try:
        info, message = parse(digits, today=TODAY), None
    except InvalidNip as exc:
        info, message = None, str(exc.message)
    if info is None:
        assert message.strip()
    else:
        assert info.birth_date.strftime("%Y%m%d") == digits[:8]
        assert info.gender == {"1": "L", "2": "P"}[digits[14]]
        assert info.sequence == int(digits[15:]) > 0


# ---------------------------------------------------------------- spelling


def test_spaces_dots_and_dashes_people_type_are_ignored():
    for typed in ("19850312 201001 1 003", "19850312.201001.1.003", "19850312-201001-1-003",
                  " 198503122010011003 "):
        assert parse(typed, today=TODAY).nip == "198503122010011003"
    assert normalise("19850312 201001 1 003") == "198503122010011003"


@pytest.mark.parametrize(("value", "expected"), [
    ("", "empty"),
    ("   ", "empty"),
    ("19850312201001100A", "digits only"),
    ("1985031220100110O3", "digits only"),
    ("19850312201001100", "this one has 17"),
    ("1985031220100110031", "this one has 19"),
    ("198503122", "this one has 9"),
])
def test_wrong_length_and_non_digits_are_refused_with_the_reason(value, expected):
    assert expected in reason(value)


@CHECKS
@given(st.integers(0, 17), st.sampled_from(["１", "٣", "²", "७", "x", "/", "+"]))
def test_a_nip_with_anything_but_ascii_digits_is_refused(position, intruder):
    # str.isdigit() is true for "²", "١" and full-width digits; none of them belongs in a NIP.
    value = "198503122010011003"
    value = value[:position] + intruder + value[position + 1:]
    assert "digits only" in reason(value)


# ---------------------------------------------------------------- impossible values


@pytest.mark.parametrize(("value", "expected"), [
    ("198502302010011003", "valid birth date"),   # 30 February
    ("198513122010011003", "valid birth date"),   # month 13
    ("198503002010011003", "valid birth date"),   # day 0
    ("193912312010011003", "not plausible"),      # born before anyone still in service
    ("202701012045011003", "not plausible"),      # born after today
    ("198503122010001003", "month 00"),           # TMT month 00
    ("198503122010131003", "month 13"),           # TMT month 13
    ("198503121995011003", "too soon after the birth date"),  # appointed aged 9
    ("198503122030011003", "in the future"),      # appointed years from now
    ("198503122010010003", "gender"),             # gender digit 0
    ("198503122010013003", "gender"),             # gender digit 3
    ("198503122010019003", "gender"),
    ("198503122010011000", "000"),                # sequence 000
])
def test_impossible_pns_numbers_are_refused_with_the_reason(value, expected):
    assert expected in reason(value, employee_type="PNS")
    assert expected in reason(value)  # also when the employee type is not known


@pytest.mark.parametrize(("value", "expected"), [
    ("199001012021001005", "cannot be 00"),   # no work agreement
    ("199001012018021005", "not plausible"),  # before the first PPPK appointments
    ("200801012021021005", "too soon after the birth date"),
    ("199001012030021005", "not plausible"),  # in the future
    ("199001012021025005", "gender"),
    ("199001012021022000", "000"),
    ("199002312021021005", "valid birth date"),
])
def test_impossible_pppk_numbers_are_refused_with_the_reason(value, expected):
    assert expected in reason(value, employee_type="PPPK")


@CHECKS
@given(pns_parts(), st.sampled_from("03456789"))
def test_any_gender_digit_but_1_or_2_is_refused(parts, digit):
    nip = make_nip(*parts)
    nip = nip[:14] + digit + nip[15:]
    assert "gender" in reason(nip)


# ---------------------------------------------------------------- cross-checks with the profile


@CHECKS
@given(pns_parts(), st.integers(min_value=-20000, max_value=20000).filter(bool))
def test_a_birth_date_other_than_the_nips_is_refused_naming_both_dates(parts, shift):
    born = parts[0]
    other = born + dt.timedelta(days=shift)
    message = reason(make_nip(*parts), birth_date=other)
    assert born.isoformat() in message
    assert other.isoformat() in message


@CHECKS
@given(st.one_of(pns_parts(), pppk_parts()))
def test_the_other_gender_is_refused(parts):
    born, year, middle, gender, seq = parts
    other = "P" if gender == "L" else "L"
    etype = "PNS" if middle <= 12 else "PPPK"
    message = reason(make_nip(*parts), employee_type=etype, gender=other)
    assert "gender" in message
    assert parse(make_nip(*parts), employee_type=etype, gender=gender, today=TODAY).gender == gender


def test_a_mismatch_message_says_what_the_nip_says_and_what_was_given():
    message = reason("198503122010011003", birth_date=dt.date(1985, 12, 3))
    assert message == "The NIP says born 1985-03-12, but the birth date given is 1985-12-03."
    assert reason("198503122010011003", gender="P") == "The NIP's gender digit does not match the gender given."


def test_invalid_nip_is_a_value_error_carrying_its_message():
    with pytest.raises(ValueError, match="18 digits"):
        parse("123", today=TODAY)


# ---------------------------------------------------------------- formatting and masking


@CHECKS
@given(st.one_of(pns_parts(), pppk_parts()))
def test_formatting_groups_the_parts_and_reads_back(parts):
    nip = make_nip(*parts)
    printed = format_nip(nip)
    assert printed.split(" ") == [nip[:8], nip[8:14], nip[14], nip[15:]]
    assert parse(printed, employee_type="PNS" if parts[2] <= 12 else "PPPK", today=TODAY).nip == nip


def test_formatting_matches_hr_documents():
    assert format_nip("198503122010011003") == "19850312 201001 1 003"
    assert format_nip("12345") == "12345"  # not a NIP: shown as it is


@CHECKS
@given(st.one_of(pns_parts(), pppk_parts()))
def test_masking_hides_birth_day_and_sequence_but_keeps_the_length(parts):
    nip = make_nip(*parts)
    masked = mask(nip)
    assert len(masked) == 18
    assert masked[:4] == nip[:4]  # birth year stays, to tell people apart
    assert masked[4:8] == "****"
    assert masked[8:15] == nip[8:15]
    assert masked[15:] == "***"


def test_masking_example_and_non_nips():
    assert mask("198503122010011003") == "1985****2010011***"
    assert mask("123456789") == "*********"
    assert mask("") == ""
