"""The Indonesian catalogue is complete and in step with the code, and pages speak the visitor's language.

When a test here fails because of a new string, refresh and translate the catalogue:

    .venv/bin/pybabel extract -F babel.cfg --no-location --sort-output -o translations/messages.pot .
    .venv/bin/pybabel update -i translations/messages.pot -d translations -l id
    (translate the new entries in translations/id/LC_MESSAGES/messages.po, drop their "fuzzy" flags)
    .venv/bin/pybabel compile -d translations
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from flask_babel import force_locale

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "translations"
PO_FILE = TRANSLATIONS / "id" / "LC_MESSAGES" / "messages.po"
POT_FILE = TRANSLATIONS / "messages.pot"

# printf-style conversions as Python's % operator reads them; "%%" is a literal percent sign.
PRINTF = re.compile(r"%(?:\((?P<name>[^)]*)\))?[#0 +\-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?(?P<type>[diouxXeEfFgGcrsa%])")
BRACES = re.compile(r"\{[^{}]*\}")


def _read(path: Path):
    with path.open("rb") as fileobj:
        return read_po(fileobj, locale="id" if path.suffix == ".po" else None)


@pytest.fixture(scope="module")
def catalog():
    return _read(PO_FILE)


def _forms(value) -> tuple[str, ...]:
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


def _placeholders(texts) -> set[tuple[str | None, str]]:
    found = set()
    for text in texts:
        for match in PRINTF.finditer(text):
            if match["type"] != "%":
                found.add((match["name"], match["type"]))
    return found


def _braces(texts) -> set[str]:
    return {brace for text in texts for brace in BRACES.findall(text)}


def _extract_from_code() -> dict[str, tuple[bool, list[str]]]:
    """Every msgid the code and templates hold now → (is plural, where), as ``pybabel extract`` finds them."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg, filename="babel.cfg")
    found: dict[str, tuple[bool, list[str]]] = {}
    # The default directory filter skips dot- and underscore-directories (.venv, __pycache__).
    for filename, lineno, message, _comments, _context in extract_from_dir(str(ROOT), method_map, options_map):
        msgid = message[0] if isinstance(message, (list, tuple)) else message
        if not msgid:
            continue
        plural, places = found.setdefault(msgid, (isinstance(message, (list, tuple)), []))
        places.append(f"{filename}:{lineno}")
    return found


# ---------------------------------------------------------------- the catalogue itself


def test_catalogue_declares_indonesian_plural_rule(catalog):
    assert str(catalog.locale) == "id"
    assert catalog.num_plurals == 1, catalog.plural_forms  # Indonesian has a single plural form
    assert catalog.plural_expr == "0"


def test_every_message_is_translated_and_not_fuzzy(catalog):
    untranslated = [message.id for message in catalog
                    if message.id and not all(form.strip() for form in _forms(message.string))]
    fuzzy = [message.id for message in catalog if message.id and message.fuzzy]
    wrong_plurals = [message.id for message in catalog
                     if message.id and message.pluralizable and len(_forms(message.string)) != catalog.num_plurals]
    assert not untranslated, f"Untranslated in {PO_FILE.name}: {untranslated}"
    assert not fuzzy, f"Fuzzy (check, then remove the flag) in {PO_FILE.name}: {fuzzy}"
    assert not wrong_plurals, f"Need exactly {catalog.num_plurals} plural form(s): {wrong_plurals}"


def test_translations_keep_the_placeholders(catalog):
    broken = []
    for message in catalog:
        if not message.id:
            continue
        ids, strings = _forms(message.id), _forms(message.string)
        if message.python_format and _placeholders(ids) != _placeholders(strings):
            broken.append((message.id, sorted(_placeholders(ids), key=str), sorted(_placeholders(strings), key=str)))
        elif not message.python_format and _placeholders(strings):
            broken.append((message.id, "no python-format in the msgid", sorted(_placeholders(strings), key=str)))
        if _braces(ids) != _braces(strings):
            broken.append((message.id, sorted(_braces(ids)), sorted(_braces(strings))))
    assert not broken, "Placeholders differ between msgid and msgstr:\n" + "\n".join(map(str, broken))


def test_catalogue_compiles_without_errors(catalog):
    problems = [(message.id, [str(error) for error in errors]) for message, errors in catalog.check()]
    assert not problems, problems


# ---------------------------------------------------------------- the catalogue against the code


def test_every_string_in_the_code_is_in_the_catalogue():
    """A string added to lms/, courses/, certificates/ or templates/ without a translation fails here."""
    extracted = _extract_from_code()
    assert "Sign in" in extracted, "extraction found nothing: check babel.cfg"
    po, pot = _read(PO_FILE), _read(POT_FILE)
    missing_po = {msgid: where for msgid, (_plural, where) in extracted.items() if msgid not in po}
    missing_pot = sorted(msgid for msgid in extracted if msgid not in pot)
    wrong_kind = sorted(msgid for msgid, (plural, _where) in extracted.items()
                        if msgid in po and po[msgid].pluralizable != plural)
    assert not missing_po, (
        f"{len(missing_po)} string(s) in the code are missing from {PO_FILE.relative_to(ROOT)} "
        "(see this file's docstring for the commands):\n"
        + "\n".join(f"  {msgid!r}  ({', '.join(where)})" for msgid, where in sorted(missing_po.items()))
    )
    assert not missing_pot, f"{POT_FILE.relative_to(ROOT)} is out of date; re-extract. Missing: {missing_pot}"
    assert not wrong_kind, f"Singular/plural changed in the code; run pybabel update: {wrong_kind}"


def test_wtforms_messages_marked_for_translation_exist_in_wtforms():
    """lms.i18n lists WTForms' own messages for our catalogue; a WTForms upgrade may reword them."""
    from wtforms.i18n import messages_path

    from lms.i18n import WTFORMS_MESSAGES

    wtforms_pot = _read(Path(messages_path()) / "wtforms.pot")
    unknown = [m for m in WTFORMS_MESSAGES if (m[0] if isinstance(m, tuple) else m) not in wtforms_pot]
    assert not unknown, f"No longer WTForms messages: {unknown}"


# ---------------------------------------------------------------- pages


def test_sign_in_page_is_indonesian_by_default(client):
    page = client.get("/akun/masuk").get_data(as_text=True)
    assert '<html lang="id">' in page
    assert "Kata sandi" in page
    assert "Masuk ke Bangkom" in page
    assert "Password" not in page


def test_sign_in_page_is_english_on_request(client):
    page = client.get("/akun/masuk", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "Password" in page
    assert "Sign in to Bangkom" in page
    assert "Kata sandi" not in page


def test_language_switch_is_remembered(client):
    response = client.post("/bahasa", data={"lang": "en", "next": "/akun/masuk"})
    assert response.status_code == 302
    assert "Password" in client.get("/akun/masuk").get_data(as_text=True)


def test_a_signed_in_persons_language_wins_over_the_browser(client, make_user, login):
    user = make_user(locale="en")
    login(user)
    page = client.get("/", headers={"Accept-Language": "id"}).get_data(as_text=True)
    assert "Welcome" in page
    assert "Selamat datang" not in page


def test_form_library_messages_follow_the_language(client):
    """WTForms has no Indonesian catalogue of its own; its messages come from ours."""
    page = client.post("/akun/lupa-sandi", data={"email": ""}).get_data(as_text=True)
    assert "Isian ini wajib diisi." in page
    assert "This field is required." not in page
    page = client.post("/akun/lupa-sandi", data={"email": ""},
                       headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "This field is required." in page


def test_form_library_plural_messages_are_interpolated(app):
    from wtforms import Form, StringField
    from wtforms.validators import Length

    from lms.i18n import FORM_TRANSLATIONS

    class Short(Form):
        class Meta:
            def get_translations(self, form):
                return FORM_TRANSLATIONS

        name = StringField(validators=[Length(max=3)])

    with app.test_request_context():
        with force_locale("id"):
            form = Short(data={"name": "terlalu panjang"})
            assert not form.validate()
            assert form.name.errors == ["Isian tidak boleh lebih dari 3 karakter."]
        with force_locale("en"):
            form = Short(data={"name": "too long"})
            assert not form.validate()
            assert form.name.errors == ["Field cannot be longer than 3 characters."]


def test_second_page_of_a_list_renders_in_both_languages(app, client, make_user, login, monkeypatch):
    """The pagination macro once shadowed ``_`` with ``{% set _ = … %}``, breaking every page after the first."""
    monkeypatch.setitem(app.config, "USERS_PER_PAGE", 2)
    admin = make_user(roles=("admin",), locale="id")
    for _n in range(4):
        make_user()
    login(admin)
    response = client.get("/admin/pengguna", query_string={"page": 2})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Sebelumnya" in page
    assert "Halaman 2 dari 3" in page
    assert "5 pengguna" in page


def test_password_link_from_an_admin_is_in_the_recipients_language(app, client, make_user, login, monkeypatch):
    from lms.admin import views as admin_views

    sent = []
    monkeypatch.setattr(admin_views, "send_mail", lambda to, subject, body: sent.append((to, str(subject), body)))
    admin = make_user(roles=("admin",), locale="en")
    person = make_user(locale="id", password=None)
    login(admin)
    response = client.post(f"/admin/pengguna/{person.id}/tautan-sandi", follow_redirects=True)
    assert response.status_code == 200
    assert "A password link was sent to" in response.get_data(as_text=True)  # the admin reads English
    ((to, subject, body),) = sent
    assert to == person.email
    assert subject == "Atur ulang kata sandi Bangkom Anda"
    assert "Yth. " in body
