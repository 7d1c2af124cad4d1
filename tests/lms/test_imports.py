"""Bulk import of employees from CSV (INTERFACES.md, ``users import``): all rows or none, every bad row
reported with its line number; through the service, the command line and the admin upload page."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from flask import g, request_started
from flask_babel import force_locale
from sqlalchemy import func, select

from lms import imports, services
from lms.extensions import db
from lms.models import AuditEvent, User

HEADER = "nip,nama,email,jenis_pegawai,golongan,jabatan,unit,tanggal_lahir,jenis_kelamin,telepon"
BUDI = "198503122010011003,\"Dr. Budi Santoso, S.Kom., M.T.\",Budi@Example.go.id,PNS,iii/b,Analis,DISDUK,12-03-1985,L,+62 812-3456-7890"
SITI = "199002242015032001,Siti Rahayu,siti@example.go.id,,III/a,,disduk-sek,1990-02-24,Perempuan,"
AGUS = "199107072021151004,Agus Wibowo,agus@example.go.id,PPPK,ix,Guru Ahli Pertama,,,,"


@pytest.fixture(autouse=True)
def english(_clean):
    with force_locale("en"):
        yield


def _forget_cached_user(sender, **extra):
    g.pop("_login_user", None)


@pytest.fixture(autouse=True)
def user_from_cookie(app):
    """Each request finds its user from its own cookie, not from the test's shared ``g``."""
    request_started.connect(_forget_cached_user, app)
    yield
    request_started.disconnect(_forget_cached_user, app)


@pytest.fixture
def units(make_user):
    admin = make_user(roles=("admin",), email="admin@example.go.id", locale="en")
    disduk = services.save_unit(None, code="DISDUK", name="Dinas Kependudukan", kind="unit", parent_id=None,
                                actor=admin)
    sek = services.save_unit(None, code="DISDUK-SEK", name="Sekretariat", kind="unit", parent_id=disduk.id,
                             actor=admin)
    db.session.commit()
    return {"admin": admin, "DISDUK": disduk.id, "DISDUK-SEK": sek.id}


def csv_bytes(*lines: str, bom: bool = False, encoding: str = "utf-8") -> bytes:
    text = "\r\n".join(lines) + "\r\n"
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding)


def run(data: bytes, **kwargs) -> imports.ImportReport:
    kwargs.setdefault("actor", None)
    return imports.import_users(io.BytesIO(data), **kwargs)


def users() -> dict[str, User]:
    db.session.expire_all()
    return {u.nip: u for u in db.session.scalars(select(User).where(User.nip.is_not(None)))}


def user_count() -> int:
    return db.session.scalar(select(func.count(User.id)))


def import_events() -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "user.import")))


def nip_for(i: int) -> str:
    born = dt.date(1970, 1, 1) + dt.timedelta(days=i // 999)
    return f"{born:%Y%m%d}1995{1 + i % 12:02d}{1 + i % 2}{1 + i % 999:03d}"


def many_rows(n: int) -> list[str]:
    return [f"{nip_for(i)},Pegawai {i},pegawai{i}@example.go.id" for i in range(n)]


# ---------------------------------------------------------------- good files


def test_a_good_file_imports_every_row_as_a_learner_with_one_audit_event(units):
    report = run(csv_bytes(HEADER, BUDI, SITI, AGUS), actor=units["admin"], filename="pegawai.csv")
    db.session.commit()
    assert report.ok, report.errors
    assert (report.rows, report.created, report.updated) == (3, 3, 0)
    people = users()
    assert set(people) == {"198503122010011003", "199002242015032001", "199107072021151004"}
    assert all(u.roles == {"learner"} and u.is_active and u.password_hash is None for u in people.values())

    budi = people["198503122010011003"]
    assert (budi.title_front, budi.full_name, budi.title_back) == ("Dr.", "Budi Santoso", "S.Kom., M.T.")
    assert budi.email == "budi@example.go.id"
    assert (budi.employee_type, budi.golongan, budi.jabatan_name) == ("PNS", "III/b", "Analis")
    assert (budi.birth_date, budi.gender, budi.unit_id) == (dt.date(1985, 3, 12), "L", units["DISDUK"])
    assert budi.phone == "+62 812-3456-7890"

    siti = people["199002242015032001"]
    assert (siti.employee_type, siti.gender, siti.unit_id) == ("PNS", "P", units["DISDUK-SEK"])
    agus = people["199107072021151004"]
    assert (agus.employee_type, agus.golongan, agus.birth_date) == ("PPPK", "IX", dt.date(1991, 7, 7))

    [event] = import_events()
    assert event.actor_id == units["admin"].id
    assert event.summary == "pegawai.csv"
    assert (event.details["created"], event.details["updated"], event.details["rows"]) == (3, 0, 3)
    # One event for the file, not one per person (the only user.create is the admin's own).
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "user.create")) == 1


def test_imported_people_get_distinct_session_nonces(units):
    run(csv_bytes(HEADER, BUDI, SITI, AGUS))
    db.session.commit()
    nonces = [u.session_nonce for u in users().values()]
    assert len(set(nonces)) == 3
    assert all(nonces)


def test_semicolon_separated_files_from_indonesian_excel_are_read(units):
    data = csv_bytes("nip;nama;email;golongan;unit",
                     "198503122010011003;Budi Santoso, S.Kom.;budi@example.go.id;III/b;DISDUK",
                     "199002242015032001;Siti Rahayu;siti@example.go.id;III/c;")
    report = run(data)
    db.session.commit()
    assert (report.ok, report.created) == (True, 2)
    budi = users()["198503122010011003"]
    assert (budi.full_name, budi.title_back, budi.golongan) == ("Budi Santoso", "S.Kom.", "III/b")


def test_a_utf8_bom_is_accepted_and_non_ascii_names_survive(units):
    data = csv_bytes("NIP,Nama,Email", "198503122010011003,I Gusti Ngurah Ketut Ariéna,ariena@example.go.id",
                     bom=True)
    report = run(data)
    db.session.commit()
    assert report.ok, report.errors
    assert users()["198503122010011003"].full_name == "I Gusti Ngurah Ketut Ariéna"


@pytest.mark.parametrize("encoding", ["latin-1", "utf-16"])
def test_a_file_that_is_not_utf8_is_refused_with_a_reason_and_nothing_is_written(units, encoding):
    data = csv_bytes("nip,nama,email", "198503122010011003,José Ariéna,jose@example.go.id", encoding=encoding)
    with pytest.raises(imports.ImportRefused) as caught:
        run(data)
    assert "not UTF-8" in str(caught.value.message)
    assert "CSV UTF-8" in str(caught.value.message)
    db.session.commit()
    assert users() == {}


@pytest.mark.parametrize(("header", "missing"), [
    ("nip,nama,e-mail", "email"),
    ("nama,email", "nip"),
    ("NIP;telepon", "nama, email"),
])
def test_a_header_without_a_required_column_is_refused_naming_it(units, header, missing):
    with pytest.raises(imports.ImportRefused) as caught:
        run(csv_bytes(header, "198503122010011003,Budi,budi@example.go.id"))
    assert f"required columns: {missing}." in str(caught.value.message)


@pytest.mark.parametrize(("data", "expected"), [
    (b"", "empty"),
    (b"nip,nama,email\r\n", "no rows"),
    (b"nip,nama,email\r\n,,\r\n\r\n", "no rows"),
])
def test_empty_files_are_refused(units, data, expected):
    with pytest.raises(imports.ImportRefused, match=expected):
        run(data)


def test_unknown_columns_are_ignored_with_a_notice(units):
    report = run(csv_bytes("nip,nama,email,hobi", "198503122010011003,Budi,budi@example.go.id,mancing"))
    assert report.ok
    assert [str(n) for n in report.notices] == ["Columns ignored: hobi."]


def test_the_usual_date_spellings_are_accepted(units):
    report = run(csv_bytes("nip,nama,email,tanggal_lahir",
                           "198503122010011003,A,a@example.go.id,1985-03-12",
                           "199002242015032001,B,b@example.go.id,24-02-1990",
                           "199107072021151004,C,c@example.go.id,07/07/1991"))
    assert report.ok, report.errors


def test_formula_like_cells_are_stored_as_plain_text(units):
    data = csv_bytes("nip,nama,email,jabatan",
                     "198503122010011003,=1+2,formula@example.go.id,@SUM(A1:A9)",
                     "199002242015032001,+Siti,plus@example.go.id,-2+3")
    report = run(data)
    db.session.commit()
    assert report.ok, report.errors
    people = users()
    assert (people["198503122010011003"].full_name, people["198503122010011003"].jabatan_name) == (
        "=1+2", "@SUM(A1:A9)")
    assert (people["199002242015032001"].full_name, people["199002242015032001"].jabatan_name) == (
        "+Siti", "-2+3")


# ---------------------------------------------------------------- all or nothing


def test_one_broken_row_among_many_imports_nothing_and_every_bad_row_is_reported(make_user, units):
    make_user(email="lama@example.go.id", full_name="Pegawai Lama")
    before = user_count()
    rows = many_rows(40)  # file line = index + 2
    rows[3] = "198503122010131003,Month Thirteen,m13@example.go.id"  # line 5
    rows[7] = f"{nip_for(7)},Bad Mail,budi(at)example.go.id"  # line 9
    rows[12] = f"{nip_for(1)},Twin,twin@example.go.id"  # line 14, NIP of line 3
    rows[15] = f"{nip_for(15)},Same Mail,PEGAWAI2@example.go.id"  # line 17, e-mail of line 4
    rows[20] = f"{nip_for(20)},Old Mail,lama@example.go.id"  # line 22
    rows[23] = f"{nip_for(23)},Lost,lost@example.go.id,XYZ-99"  # line 25
    rows[29] = f"{nip_for(29)},Bad Date,bd@example.go.id,,31-02-1970"  # line 31
    rows[33] = f"{nip_for(33)},Wrong Birthday,wb@example.go.id,,1980-01-01"  # line 35
    report = run(csv_bytes("nip,nama,email,unit,tanggal_lahir", *rows), actor=units["admin"])
    db.session.commit()  # even a careless caller cannot commit a partial import

    assert not report.ok
    assert report.rows == 40
    reasons = {line: str(reason) for line, reason in report.errors}
    assert list(reasons) == [5, 9, 14, 17, 22, 25, 31, 35]
    assert "NIP 198503122010131003" in reasons[5]
    assert "month 13" in reasons[5]
    assert 'e-mail "budi(at)example.go.id" is not valid' in reasons[9]
    assert reasons[14] == "NIP is also on line 3"
    assert reasons[17] == "e-mail is also on line 4"
    assert reasons[22] == "e-mail lama@example.go.id belongs to another account"
    assert reasons[25] == 'unit "XYZ-99" is not a known unit code'
    assert reasons[31] == 'tanggal_lahir "31-02-1970" is not a date (YYYY-MM-DD)'
    assert "born 1970-01-01, but the birth date given is 1980-01-01" in reasons[35]
    assert user_count() == before
    assert import_events() == []


def test_a_row_with_several_problems_lists_them_all(units):
    report = run(csv_bytes("nip,nama,email,jenis_pegawai,golongan,jenis_kelamin,telepon",
                           "12345,,nope,ASN,V/z,X,call me"))
    [(line, reason)] = report.errors
    assert line == 2
    for part in ("nama is empty", 'e-mail "nope"', "jenis_pegawai must be", 'golongan "V/z"',
                 "jenis_kelamin must be", 'telepon "call me"', "NIP 12345: A NIP has 18 digits"):
        assert part in reason


def test_a_row_with_more_values_than_the_header_is_reported(units):
    report = run(csv_bytes("nip,nama,email", "198503122010011003,Budi,budi@example.go.id,extra"))
    assert report.errors == [(2, report.errors[0][1])]
    assert "more values" in str(report.errors[0][1])


def test_blank_lines_are_skipped_but_still_counted_in_line_numbers(units):
    data = b"nip,nama,email\r\n198503122010011003,Budi,budi@example.go.id\r\n\r\n,,\r\n12,Bad,bad@example.go.id\r\n"
    report = run(data)
    assert [line for line, _ in report.errors] == [5]
    assert report.rows == 2


def test_a_gender_that_contradicts_the_nip_is_reported(units):
    report = run(csv_bytes("nip,nama,email,jenis_kelamin", "198503122010011003,Budi,budi@example.go.id,P"))
    assert "gender" in str(report.errors[0][1])


def test_a_stray_quote_that_swallows_the_rest_of_a_big_file_is_refused_not_a_crash(units):
    rows = many_rows(3000)
    rows[1] = f'{nip_for(1)},"Budi Santoso,budi@example.go.id'  # a quote opened and never closed
    data = csv_bytes("nip,nama,email", *rows)
    with pytest.raises(imports.ImportRefused) as caught:
        run(data)
    assert "Line 3 cannot be read" in str(caught.value.message)
    assert "quote mark" in str(caught.value.message)
    assert user_count() == 1  # only the admin


def test_the_row_limit_is_enforced(app, units, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_ROWS", 5)
    with pytest.raises(imports.ImportRefused, match="At most 5 rows"):
        run(csv_bytes("nip,nama,email", *many_rows(6)))
    assert run(csv_bytes("nip,nama,email", *many_rows(5))).ok


def test_a_large_file_is_checked_in_chunks_and_a_single_clash_at_the_end_is_found(make_user, units):
    make_user(email="pegawai1999@example.go.id")  # an existing account owns the last row's e-mail
    rows = many_rows(2000)
    report = run(csv_bytes("nip,nama,email", *rows))
    assert [line for line, _ in report.errors] == [2001]
    assert "belongs to another account" in str(report.errors[0][1])
    db.session.rollback()
    report = run(csv_bytes("nip,nama,email", *rows[:-1]))
    db.session.commit()
    assert (report.ok, report.created) == (True, 1999)
    assert user_count() == 1999 + 2
    roles = db.session.scalar(select(func.count()).select_from(User).where(User.role_rows.any(role="learner")))
    assert roles == 1999 + 1


# ---------------------------------------------------------------- dry run and re-import


def test_a_dry_run_validates_counts_and_writes_nothing(make_user, units):
    make_user(nip="198503122010011003", email="budi@example.go.id")
    before = user_count()
    report = run(csv_bytes(HEADER, BUDI, SITI, AGUS), dry_run=True)
    db.session.commit()
    assert report.ok
    assert report.dry_run
    assert (report.rows, report.created, report.updated) == (3, 2, 1)
    assert user_count() == before
    assert users()["198503122010011003"].golongan is None
    assert import_events() == []
    bad = run(csv_bytes(HEADER, BUDI, "1,x,y"), dry_run=True)
    assert [line for line, _ in bad.errors] == [3]


def test_reimporting_updates_known_employees_by_nip_and_keeps_their_account(make_user, units):
    hr = make_user(roles=("hr", "learner"), nip="198503122010011003", email="budi.lama@example.go.id",
                   full_name="Budi", phone="0812 000 000")
    password, nonce = hr.password_hash, hr.session_nonce
    report = run(csv_bytes(HEADER, BUDI.replace("198503122010011003", "19850312 201001 1 003"), SITI),
                 actor=units["admin"])
    db.session.commit()
    assert (report.ok, report.created, report.updated) == (True, 1, 1)
    budi = users()["198503122010011003"]
    assert budi.id == hr.id
    assert (budi.email, budi.full_name, budi.title_front) == ("budi@example.go.id", "Budi Santoso", "Dr.")
    assert (budi.golongan, budi.jabatan_name, budi.unit_id) == ("III/b", "Analis", units["DISDUK"])
    assert budi.roles == {"hr", "learner"}  # an import never takes roles away
    assert (budi.password_hash, budi.session_nonce) == (password, nonce)
    event = import_events()[-1]
    assert (event.details["created"], event.details["updated"]) == (1, 1)

    # Empty cells in a later file leave what is known alone; the same file twice changes no count.
    report = run(csv_bytes("nip,nama,email", "198503122010011003,Budi Santoso,budi@example.go.id"))
    db.session.commit()
    assert (report.created, report.updated) == (0, 1)
    budi = users()["198503122010011003"]
    assert (budi.golongan, budi.unit_id, budi.phone) == ("III/b", units["DISDUK"], "+62 812-3456-7890")
    assert user_count() == 3


# ---------------------------------------------------------------- command line


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()

    def invoke(*args):
        return runner.invoke(args=list(args))

    return invoke


def test_cli_imports_a_good_file_and_prints_the_count(cli, units, tmp_path):
    path = tmp_path / "pegawai.csv"
    path.write_bytes(csv_bytes(HEADER, BUDI, SITI, AGUS))
    result = cli("users", "import", str(path))
    assert result.exit_code == 0, result.output
    assert "Imported 3 rows: 3 new, 0 updated." in result.stdout
    assert len(users()) == 3
    assert import_events()[-1].summary == "pegawai.csv"


def test_cli_dry_run_says_so_and_writes_nothing(cli, units, tmp_path):
    path = tmp_path / "pegawai.csv"
    path.write_bytes(csv_bytes(HEADER, BUDI, SITI))
    result = cli("users", "import", str(path), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "2 rows are valid (2 new, 0 to update)" in result.stdout
    assert "Nothing was imported" in result.stdout
    assert users() == {}


def test_cli_refuses_a_file_with_bad_rows_listing_each_line(cli, units, tmp_path):
    path = tmp_path / "pegawai.csv"
    path.write_bytes(csv_bytes(HEADER, BUDI, "123,Short,short@example.go.id", SITI,
                               "199002242015032002,Siti Kembar,SITI@example.go.id"))
    result = cli("users", "import", str(path))
    assert result.exit_code == 1
    assert "line 3: NIP 123: A NIP has 18 digits; this one has 3." in result.stderr
    assert "line 5: e-mail is also on line 4" in result.stderr
    assert "2 of 4 rows have errors; nothing was imported." in result.stderr
    assert "Imported" not in result.output
    assert users() == {}


@pytest.mark.parametrize(("data", "reason"), [
    ("nip,nama,email\r\n198503122010011003,José,jose@example.go.id\r\n".encode("latin-1"), "not UTF-8"),
    (b"nip,nama\r\n198503122010011003,Budi\r\n", "required columns: email"),
])
def test_cli_refuses_an_unreadable_file_with_the_reason(cli, units, tmp_path, data, reason):
    path = tmp_path / "pegawai.csv"
    path.write_bytes(data)
    result = cli("users", "import", str(path))
    assert result.exit_code == 1
    assert reason in result.stderr
    assert users() == {}


def test_cli_refuses_a_missing_file(cli, tmp_path):
    result = cli("users", "import", str(tmp_path / "nope.csv"))
    assert result.exit_code != 0
    assert "nope.csv" in result.output


# ---------------------------------------------------------------- admin upload page


def upload(client, data: bytes, *, dry_run: bool = False, filename: str = "pegawai.csv"):
    form = {"file": (io.BytesIO(data), filename)}
    if dry_run:
        form["dry_run"] = "y"
    return client.post("/admin/pengguna/impor", data=form, content_type="multipart/form-data")


def test_admin_uploads_a_good_file_and_it_is_imported(client, login, units):
    login(units["admin"])
    assert client.get("/admin/pengguna/impor").status_code == 200
    response = upload(client, csv_bytes(HEADER, BUDI, SITI, AGUS))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "3 rows imported: 3 new, 0 updated." in page
    assert len(users()) == 3
    [event] = import_events()
    assert (event.actor_id, event.summary, event.ip_address) == (units["admin"].id, "pegawai.csv", "127.0.0.1")


def test_admin_upload_shows_every_bad_row_and_imports_nothing(client, login, make_user, units):
    make_user(email="lama@example.go.id")
    login(units["admin"])
    response = upload(client, csv_bytes(HEADER, BUDI, "198503122010011003,Budi Lagi,budi2@example.go.id",
                                        SITI.replace("disduk-sek", "BKD"),
                                        "199107072021151004,Agus,lama@example.go.id"))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "3 rows have errors; nothing was imported." in page
    assert "<td data-label=\"Line\">3</td><td data-label=\"Problem\">NIP is also on line 2</td>" in page
    assert "<td data-label=\"Line\">5</td><td data-label=\"Problem\">e-mail lama@example.go.id belongs to " in page
    assert "<td data-label=\"Line\">4</td>" in page
    assert "unit &#34;BKD&#34; is not a known unit code" in page
    assert users() == {}
    assert import_events() == []


def test_admin_upload_dry_run_writes_nothing(client, login, units):
    login(units["admin"])
    page = upload(client, csv_bytes(HEADER, BUDI, SITI), dry_run=True).get_data(as_text=True)
    assert "All 2 rows are valid: 2 new, 0 to update." in page
    assert users() == {}


def test_admin_upload_of_a_non_utf8_file_shows_the_reason(client, login, units):
    login(units["admin"])
    response = upload(client, "nip,nama,email\r\n1,José,j@example.go.id\r\n".encode("cp1252"))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "The file is not UTF-8 text." in page
    assert users() == {}


def test_admin_upload_without_a_file_asks_for_one(client, login, units):
    login(units["admin"])
    response = client.post("/admin/pengguna/impor", data={}, content_type="multipart/form-data")
    assert "Choose a CSV file." in response.get_data(as_text=True)


def test_learners_cannot_upload(client, login, make_user, units):
    login(make_user(roles=("learner", "hr")))
    assert client.get("/admin/pengguna/impor").status_code == 403
    assert upload(client, csv_bytes(HEADER, BUDI)).status_code == 403
    assert users() == {}
