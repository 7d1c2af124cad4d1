"""Certificate PDFs (certificates/pdf.py): what the default STTPP states and how it is laid out, the XMP
metadata, the QR code, the Jinja sandbox and the URL fetcher that keeps admin templates to data: and
our static files. The PDFs are read back with poppler (pdfinfo, pdftotext, pdftoppm) as a reader would."""

from __future__ import annotations

import copy
import re
import subprocess
from itertools import combinations
from pathlib import Path

import pytest
import zxingcpp
from defusedxml import ElementTree
from PIL import Image

from certificates import pdf

RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
BANGKOM = "{" + pdf.XMP_NAMESPACE + "}"
A4 = (595.28, 841.89)


def run(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout  # noqa: S603


def write(tmp_path: Path, data: bytes, name: str = "c.pdf") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def text_of(path: Path, page: int | None = None) -> str:
    pages = ["-f", str(page), "-l", str(page)] if page else []
    return " ".join(run("pdftotext", *pages, str(path), "-").split())


def squashed(text: str) -> str:
    """Text without spaces, for letter-spaced headings that pdftotext reads as "S E RT I F I KAT"."""
    return "".join(text.split())


def page_sizes(path: Path) -> list[tuple[float, float]]:
    info = run("pdfinfo", "-f", "1", "-l", "99", str(path))
    return [(float(w), float(h)) for w, h in re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts", info)]


def xmp(path: Path):
    return ElementTree.fromstring(run("pdfinfo", "-meta", str(path)).split("?>", 1)[1].rsplit("<?xpacket", 1)[0])


def minimal_template(body: str, head: str = "") -> str:
    return f'<!DOCTYPE html><html lang="id"><head><meta charset="utf-8">{head}</head><body>{body}</body></html>'


@pytest.fixture(scope="module")
def sample():
    return pdf.sample_snapshot()


@pytest.fixture(scope="module")
def sample_pdf(tmp_path_factory, sample) -> Path:
    return write(tmp_path_factory.mktemp("pdf"), pdf.render_certificate(sample))


@pytest.fixture
def long_snapshot(sample):
    snapshot = copy.deepcopy(sample)
    snapshot["holder"].update(
        name="Prof. Dr. Ir. Raden Mas Muhammad Abdurrahman Wahyudiningrat Suryakusumah Hadiningrat, S.H., "
             "M.Hum., M.Kn.",
        jabatan="Analis Kebijakan Ahli Madya pada Bidang Perencanaan, Pengendalian, dan Evaluasi Pembangunan "
                "Daerah",
        unit="Badan Perencanaan Pembangunan, Penelitian dan Pengembangan Daerah Kabupaten Kepulauan Seribu Utara")
    snapshot["course"]["title"] = (
        "Pelatihan Penguatan Kapasitas Aparatur Sipil Negara dalam Perencanaan, Penganggaran, Pengadaan "
        "Barang/Jasa, dan Pengendalian Proyek Strategis Daerah Berbasis Kinerja dan Manajemen Risiko Terintegrasi")
    snapshot["course"]["jp"] = 128
    snapshot["institutions"] = ["Universitas Diponegoro", "Universitas Gadjah Mada", "Lembaga Administrasi Negara"]
    snapshot["valid_until"] = "2029-11-22"
    snapshot["signatory"]["title"] = "Kepala Badan Pengembangan Sumber Daya Manusia Provinsi Jawa Tengah"
    return snapshot


def twelve_modules() -> list[dict]:
    topics = ["Kebijakan pengadaan barang/jasa pemerintah", "Perencanaan kebutuhan", "Persiapan pengadaan",
              "Pemilihan penyedia", "Kontrak dan pelaksanaan", "Swakelola", "Pengadaan darurat",
              "E-katalog dan toko daring", "Pengawasan dan audit", "Etika dan pencegahan korupsi",
              "Penyelesaian sengketa", "Studi kasus dan evaluasi akhir"]
    return [{"title": topic, "lessons": [{"title": f"{topic}: konsep dan dasar hukum", "minutes": 30},
                                         {"title": f"{topic}: langkah kerja dan contoh", "minutes": 30},
                                         {"title": "Latihan dan kuis", "minutes": 30}]} for topic in topics]


# ---------------------------------------------------------------- the default certificate


def test_is_a_two_page_a4_pdf_a_with_the_certificate_in_its_xmp(sample_pdf, sample):
    assert sample_pdf.read_bytes().startswith(b"%PDF-1.7")
    info = run("pdfinfo", str(sample_pdf))
    assert re.search(r"Pages:\s+2\n", info)
    assert [(round(w, 2), round(h, 2)) for w, h in page_sizes(sample_pdf)] == [A4, A4]
    assert f"Title:           Sertifikat {sample['number']}" in info
    assert "Author:          Badan Pengembangan Sumber Daya Manusia Provinsi Jawa Tengah" in info
    assert "Budi Santoso, S.Kom." in info  # Subject: holder and course

    root = xmp(sample_pdf)
    descriptions = root.findall(f"{RDF}RDF/{RDF}Description")
    assert len(root.findall(f"{RDF}RDF")) == 1  # one packet, ours inside WeasyPrint's
    pdfa = next(d for d in descriptions if d.get("{http://www.aiim.org/pdfa/ns/id/}part"))
    assert (pdfa.get("{http://www.aiim.org/pdfa/ns/id/}part"),
            pdfa.get("{http://www.aiim.org/pdfa/ns/id/}conformance")) == ("3", "B")
    ours = next(d for d in descriptions if d.find(f"{BANGKOM}number") is not None)
    assert ours.findtext(f"{BANGKOM}number") == sample["number"]
    assert ours.findtext(f"{BANGKOM}code") == sample["code"]
    assert ours.findtext(f"{BANGKOM}holder") == "Budi Santoso, S.Kom."
    assert ours.findtext(f"{BANGKOM}jp") == "6"
    assert ours.findtext(f"{BANGKOM}issued") == "2026-11-22"
    # PDF/A only admits custom properties that an extension schema describes.
    schema = root.find(".//{http://www.aiim.org/pdfa/ns/schema#}namespaceURI")
    assert schema is not None
    assert schema.text == pdf.XMP_NAMESPACE


def test_page_one_states_the_certificate_in_indonesian(sample_pdf, sample):
    text = text_of(sample_pdf, 1)
    assert "SERTIFIKATSURATTANDATAMATPELATIHAN" in squashed(text)
    for expected in (f"Nomor: {sample['number']}",
                     "diberikan kepada:", "Budi Santoso, S.Kom.", "19850312 201001 1 003",
                     "Semarang, 12 Maret 1985", "Penata Muda Tingkat I / III/b", "Pengelola Data Kependudukan",
                     "Pemerintah Provinsi Jawa Tengah", "telah mengikuti", "Manajemen Proyek Pemerintahan bagi ASN",
                     "2 November 2026 sampai dengan 20 November 2026", "secara daring",
                     "6 (enam) Jam Pelajaran", "predikat BAIK (nilai 87)", "bekerja sama dengan Universitas Diponegoro",
                     "Semarang, 22 November 2026", "Kepala BPSDM Provinsi Jawa Tengah", "Dr. Ir. Sri Wahyuni, M.Si.",
                     "NIP. 19700415 199503 2 002", sample["code"],
                     "ditandatangani secara elektronik menggunakan sertifikat elektronik yang diterbitkan oleh "
                     "Balai Besar Sertifikasi Elektronik (BSrE), BSSN"):
        assert expected in text, expected
    assert "None" not in text


def test_page_two_lists_the_outline_jp_and_competencies(sample_pdf):
    text = text_of(sample_pdf, 2)
    assert squashed(text).startswith("LAMPIRANSERTIFIKAT")
    for expected in ("6 (enam) Jam Pelajaran", "1 Mengenal proyek 70",
                     "1.1 Apa itu proyek? 15", "3.3 Evaluasi akhir (post-test) 20", "Jumlah 270",
                     "M.04 Orientasi pada Hasil 2", "T.PM.01 Perencanaan dan Pengendalian Proyek 2"):
        assert expected in text, expected


def test_the_qr_code_opens_the_verification_page(sample_pdf, sample, tmp_path):
    run("pdftoppm", "-r", "60", "-f", "1", "-l", "1", "-png", str(sample_pdf), str(tmp_path / "page"))
    with Image.open(tmp_path / "page-1.png") as image:
        found = zxingcpp.read_barcodes(image)
    assert [(code.format, code.text) for code in found] == [(zxingcpp.BarcodeFormat.QRCode, sample["verify_url"])]


def test_the_qr_code_is_vector():
    uri = pdf.qr_svg("https://example.invalid/verify/abc")
    assert uri.startswith("data:image/svg+xml")
    assert "viewBox" in uri


def test_the_signature_field_is_where_signers_are_told_it_is():
    assert pdf.signature_box() == (pdf.SIGNATURE_PAGE, pdf.SIGNATURE_BOX)
    x1, y1, x2, y2 = pdf.SIGNATURE_BOX
    assert 0 < x1 < x2 < A4[0]
    assert 0 < y1 < y2 < A4[1]
    assert (x2 - x1, y2 - y1) == pytest.approx((170.08, 68.03), abs=0.05)  # 60 × 24 mm


def test_a_locally_signed_certificate_names_the_issuers_certificate(sample, tmp_path):
    snapshot = copy.deepcopy(sample) | {"signature": {"kind": "local", "box": None}}
    text = text_of(write(tmp_path, pdf.render_certificate(snapshot)), 1)
    assert ("ditandatangani secara elektronik menggunakan sertifikat elektronik Badan Pengembangan Sumber Daya "
            "Manusia Provinsi Jawa Tengah") in text
    assert "BSrE" not in text


def test_missing_optional_fields_leave_no_none_and_no_empty_predicate(sample, tmp_path):
    snapshot = copy.deepcopy(sample)
    snapshot["holder"].update(birth_place=None, birth_date=None, pangkat=None, golongan=None, jabatan=None,
                              unit=None)
    snapshot["issuer"]["logo"] = None
    snapshot["result"] = {"score": None, "predicate": None}
    snapshot["course"].update(jp=None, competencies=[], outline=[], start=None, place=None, jenis_diklat=None,
                              jalur=None, version=None)
    snapshot["signatory"]["nip"] = None
    snapshot["institutions"] = []
    path = write(tmp_path, pdf.render_certificate(snapshot))
    assert "None" not in text_of(path)
    front = text_of(path, 1)
    assert "predikat" not in front
    assert "Jam Pelajaran" not in front
    assert "Tempat, Tanggal Lahir : -" in front
    assert "dinyatakan LULUS." in front
    assert len(page_sizes(path)) == 2


def words_on(path: Path, page: int) -> list[tuple[str, float, float, float, float]]:
    html = run("pdftotext", "-bbox", "-f", str(page), "-l", str(page), str(path), "-")
    return [(word, float(x1), float(y1), float(x2), float(y2)) for x1, y1, x2, y2, word in re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', html)]


def assert_no_words_overlap(path: Path, page: int) -> None:
    words = words_on(path, page)
    assert len(words) > 50
    for (w1, ax1, ay1, ax2, ay2), (w2, bx1, by1, bx2, by2) in combinations(words, 2):
        overlap_x = min(ax2, bx2) - max(ax1, bx1)
        overlap_y = min(ay2, by2) - max(ay1, by1)
        assert overlap_x <= 0.5 or overlap_y <= 0.5, f"{w1!r} overlaps {w2!r}"


def test_long_names_titles_and_outlines_stay_on_two_pages_without_overlap(long_snapshot, tmp_path):
    long_snapshot["course"]["outline"] = twelve_modules()
    path = write(tmp_path, pdf.render_certificate(long_snapshot))
    assert len(page_sizes(path)) == 2
    text = text_of(path)
    assert "Hadiningrat, S.H., M.Hum., M.Kn." in text
    assert "Manajemen Risiko Terintegrasi" in text
    assert "128 (seratus dua puluh delapan) Jam Pelajaran" in text
    assert "12.3 Latihan dan kuis (30′)" in text
    assert "Jumlah 1080" in text
    assert_no_words_overlap(path, 1)


def test_the_sample_page_has_no_overlapping_text(sample_pdf):
    assert_no_words_overlap(sample_pdf, 1)


# ---------------------------------------------------------------- speed paths give the same documents


def test_the_same_snapshot_renders_to_the_same_bytes(sample):
    assert pdf.render_certificate(sample) == pdf.render_certificate(copy.deepcopy(sample))


def test_each_course_gets_its_own_outline_page(sample, sample_pdf, tmp_path):
    # Page 2 is laid out once per distinct content and reused; another course must not get it.
    other = copy.deepcopy(sample)
    other["course"].update(title="Etika Pelayanan Publik", code="EP-02",
                           outline=[{"title": "Nilai dasar ASN", "lessons": [{"title": "BerAKHLAK", "minutes": 45}]}])
    page_two = text_of(write(tmp_path, pdf.render_certificate(other)), 2)
    assert "1.1 BerAKHLAK 45" in page_two
    assert "Mengenal proyek" not in page_two
    assert "Mengenal proyek" in text_of(sample_pdf, 2)


def test_text_from_the_snapshot_is_escaped(sample, tmp_path):
    snapshot = copy.deepcopy(sample)
    snapshot["holder"]["name"] = 'Budi <b>& "Santoso"</b>\x07'
    path = write(tmp_path, pdf.render_certificate(snapshot))
    assert 'Budi <b>& "Santoso"</b>' in text_of(path, 1)
    holder = next(d for d in xmp(path).iter(f"{RDF}Description") if d.find(f"{BANGKOM}holder") is not None)
    assert holder.findtext(f"{BANGKOM}holder") == 'Budi <b>& "Santoso"</b>'


def test_render_many_gives_one_standalone_certificate_each(sample, long_snapshot, tmp_path):
    others = []
    for index, name in enumerate(["Siti Rahmawati, S.E., M.M.", "Ahmad Fauzi, S.H."]):
        snapshot = copy.deepcopy(sample)
        snapshot["holder"]["name"] = name
        snapshot["number"] = f"893.3/{index + 50:05d}/BPSDM/PM-01/XI/2026"
        snapshot["code"] = f"CODE{index}ABCDEFGHJKLMNPQRSTUV"
        others.append(snapshot)
    snapshots = [sample, others[0], long_snapshot, others[1]]  # the long one needs denser type
    pdfs = pdf.render_many(snapshots)
    assert len(pdfs) == len(snapshots)
    for index, (data, snapshot) in enumerate(zip(pdfs, snapshots, strict=True)):
        path = write(tmp_path, data, f"{index}.pdf")
        assert len(page_sizes(path)) == 2
        description = next(d for d in xmp(path).iter(f"{RDF}Description") if d.find(f"{BANGKOM}number") is not None)
        assert description.findtext(f"{BANGKOM}number") == snapshot["number"]
        single = write(tmp_path, pdf.render_certificate(snapshot), f"single-{index}.pdf")
        assert text_of(path) == text_of(single)
    assert pdf.render_many([]) == []


# ---------------------------------------------------------------- helpers


@pytest.mark.parametrize(("number", "words"), [
    (0, "nol"), (6, "enam"), (10, "sepuluh"), (11, "sebelas"), (12, "dua belas"), (19, "sembilan belas"),
    (20, "dua puluh"), (45, "empat puluh lima"), (100, "seratus"), (128, "seratus dua puluh delapan"),
    (300, "tiga ratus"), (1000, "seribu"), (1945, "seribu sembilan ratus empat puluh lima"),
    (2026, "dua ribu dua puluh enam"), (1_000_000, "satu juta"),
])
def test_numbers_are_spelled_in_indonesian(number, words):
    assert pdf.terbilang(number) == words


def test_jp_and_dates_read_as_on_a_certificate():
    assert pdf.jp(6) == "6 (enam) Jam Pelajaran"
    assert pdf.jp(None) == ""
    assert pdf.date_id("2026-11-22") == "22 November 2026"
    assert pdf.date_id("1985-03-12") == "12 Maret 1985"
    assert pdf.date_id(None) == ""
    assert pdf.nip("198503122010011003") == "19850312 201001 1 003"


def test_a_snapshot_holds_plain_values_only(sample):
    snapshot = copy.deepcopy(sample)
    snapshot["holder"]["user"] = object()
    with pytest.raises(TypeError, match=r"c\.holder\.user"):
        pdf.render_certificate(snapshot)


# ---------------------------------------------------------------- admin templates: sandbox


def test_preview_renders_an_admin_template_with_the_sample(tmp_path):
    html = minimal_template("<h1>Sertifikat {{ c.number }}</h1><p>{{ c.holder.name }}, {{ jp(c.course.jp) }}</p>"
                            '<img src="{{ qr_svg(c.verify_url) }}" style="width: 3cm">')
    path = write(tmp_path, pdf.preview_certificate(html, "@page { size: A4 landscape }"))
    text = text_of(path)
    assert "Sertifikat 893.3/00042/BPSDM/PM-01/XI/2026" in text
    assert "Budi Santoso, S.Kom., 6 (enam) Jam Pelajaran" in text
    assert [(round(w), round(h)) for w, h in page_sizes(path)] == [(842, 595)]


@pytest.mark.parametrize("expression", [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ c.__class__ }}",
    "{{ c['__class__'] }}",
    "{{ date_id.__globals__ }}",
    "{{ c.holder.update({'name': 'Budi'}) }}",
    "{{ c.institutions.append('x') }}",
])
def test_the_sandbox_refuses_python_internals_and_mutation(expression):
    # Messages are in the user's language ("line 1:" / "baris 1:"); the line number is what matters.
    with pytest.raises(pdf.TemplateError, match=r"\b1:"):
        pdf.preview_certificate(minimal_template(expression), "")


def test_a_syntax_error_names_its_line():
    html = "<html><body>\n<p>{{ c.number }}</p>\n<p>{{ c.holder.name | }}</p>\n</body></html>"
    with pytest.raises(pdf.TemplateError, match=r"\b3:"):
        pdf.preview_certificate(html, "")


def test_a_runtime_error_names_its_line():
    html = "<html><body>\n\n<p>{{ c.course.jp / 0 }}</p>\n</body></html>"
    with pytest.raises(pdf.TemplateError, match=r"\b3:"):
        pdf.preview_certificate(html, "")


# ---------------------------------------------------------------- admin templates: URL fetcher


@pytest.mark.parametrize("url", [
    "file:///etc/passwd",
    "http://example.com/x.png",
    "https://example.com/x.png",
    "ftp://example.com/x.png",
    "/static/../pyproject.toml",
    "/static/%2e%2e/pyproject.toml",
    "/static/css/../../pyproject.toml",
    pdf.STATIC_DIR.as_uri() + "/../pyproject.toml",
    "file://otherhost/static/img/favicon.svg",
    "/etc/passwd",
])
def test_the_url_fetcher_refuses_everything_but_data_and_static(url):
    with pytest.raises(pdf.ResourceRefused):
        pdf.url_fetcher(url)


def test_the_url_fetcher_serves_data_uris_and_static_files():
    assert pdf.url_fetcher("data:text/plain;base64,aGFsbw==")["string"] == b"halo"
    served = pdf.url_fetcher("/static/img/favicon.svg")
    assert served["mime_type"] == "image/svg+xml"
    assert served["string"] == (pdf.STATIC_DIR / "img" / "favicon.svg").read_bytes()
    assert pdf.url_fetcher((pdf.STATIC_DIR / "img" / "favicon.svg").as_uri())["string"] == served["string"]


def test_a_link_out_of_static_is_refused_even_through_a_symlink(tmp_path, monkeypatch):
    static = tmp_path / "static"
    static.mkdir()
    (tmp_path / "secret.txt").write_text("rahasia")
    (static / "secret.txt").symlink_to(tmp_path / "secret.txt")
    monkeypatch.setattr(pdf, "STATIC_DIR", static)
    with pytest.raises(pdf.ResourceRefused):
        pdf.url_fetcher("/static/secret.txt")


@pytest.mark.parametrize("markup", [
    '<img src="file:///etc/passwd">',
    '<img src="http://example.com/x.png">',
    '<img src="../pyproject.toml">',
    '<img src="/static/../../etc/passwd">',
    '<div style="background: url(https://example.com/x.png)">x</div>',
    '<a href="file:///etc/passwd" rel="attachment">lampiran</a>',
])
def test_a_template_that_reaches_outside_is_refused(markup):
    with pytest.raises(pdf.ResourceRefused):
        pdf.preview_certificate(minimal_template(markup), "")


def test_a_pdf_attachment_link_to_a_local_file_is_refused():
    html = minimal_template("<p>x</p>", head='<link rel="attachment" href="file:///etc/passwd">')
    with pytest.raises(pdf.ResourceRefused, match="file:///etc/passwd"):
        pdf.preview_certificate(html, "")


def test_imports_from_outside_are_refused():
    with pytest.raises(pdf.ResourceRefused, match="example.com"):
        pdf.preview_certificate(minimal_template("<p>x</p>"), "@import url(http://example.com/x.css);")


def test_an_oversized_stylesheet_is_refused(tmp_path, monkeypatch):
    big = "p{color:black}" * (pdf.MAX_STYLESHEET_BYTES // 14 + 10)
    limit = str(pdf.MAX_STYLESHEET_BYTES // 1024)  # the message names the limit, in the user's language
    with pytest.raises(pdf.TemplateError, match=limit):
        pdf.preview_certificate(minimal_template("<p>x</p>"), big)
    linked = minimal_template("<p>x</p>", head=f'<link rel="stylesheet" href="data:text/css,{big}">')
    with pytest.raises(pdf.ResourceRefused, match=limit):
        pdf.preview_certificate(linked, "")
    static = tmp_path / "static"
    static.mkdir()
    (static / "big.css").write_text(big)
    monkeypatch.setattr(pdf, "STATIC_DIR", static)
    with pytest.raises(pdf.ResourceRefused, match=limit):
        pdf.preview_certificate(minimal_template("<p>x</p>", head='<link rel="stylesheet" href="/static/big.css">'),
                                "")


def test_a_template_may_use_static_files_and_data_uris(tmp_path):
    html = minimal_template('<img src="/static/img/favicon.svg" style="width: 2cm">'
                            '<img src="img/favicon.svg" style="width: 2cm"><p>{{ c.holder.name }}</p>')
    path = write(tmp_path, pdf.preview_certificate(html, "p { color: #17325c }"))
    assert "Budi Santoso" in text_of(path)
