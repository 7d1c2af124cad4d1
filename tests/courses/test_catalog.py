"""Rich text is sanitised; the catalog finds courses by words and filters, and hides what is not for everyone."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from courses import services
from courses.models import Category, Course
from lms.extensions import db
from tests.courses.helpers import Tags

# ---------------------------------------------------------------- rich text

ATTACKS = """
<script>alert('xss')</script>

[Klik di sini](javascript:alert(1)) dan [ini juga](JaVaScRiPt:alert(2))

<img src="x" onerror="alert(3)">

<a href="https://example.go.id" onclick="alert(4)">tautan</a>

![gambar](javascript:alert(5))

<iframe src="https://evil.example"></iframe><style>body{display:none}</style>
"""


def assert_harmless(html: str) -> None:
    tags = Tags(html)
    assert not tags.names() & {"script", "iframe", "style", "object", "embed", "svg", "form"}, tags.names()
    assert not {name for name in tags.attributes() if name.startswith("on")}, tags.attributes()
    assert not tags.attributes() - {"href", "src", "alt", "title", "rel", "align"}
    for url in tags.values("href") + tags.values("src"):
        assert not url.strip().lower().startswith(("javascript:", "data:", "vbscript:")), url


def test_markdown_with_attacks_renders_harmless():
    html = services.render_markdown(ATTACKS)
    assert_harmless(html)
    assert "Klik di sini" in html  # the text stays, the dangerous link does not


@pytest.mark.parametrize("raw", [
    "<script>alert(1)</script><p>aman</p>",
    '<a href="javascript:alert(1)">x</a>',
    '<img src="x" onerror="alert(1)">',
    '<p onmouseover="alert(1)" style="position:fixed">x</p>',
    '<svg><script>alert(1)</script></svg>',
    '<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>',
    '<form action="https://evil.example"><input name="password"></form>',
])
def test_sanitiser_removes_scripts_handlers_and_dangerous_links(raw):
    assert_harmless(services.sanitise_html(raw))


def test_markdown_keeps_the_formatting_authors_use():
    html = services.render_markdown(
        "## Tujuan\n\n**Penting**: *baca* [peraturan](https://jdih.go.id/perpres-81)\n\n"
        "- satu\n- dua\n\n| Kolom | Nilai |\n|---|---|\n| JP | 2 |\n\n![Diagram](/kursus/1/gambar/abc)\n")
    tags = Tags(html)
    assert {"h2", "strong", "em", "a", "ul", "li", "table", "td", "img"} <= tags.names()
    assert tags.values("href") == ["https://jdih.go.id/perpres-81"]
    assert tags.values("src") == ["/kursus/1/gambar/abc"]
    assert "noopener" in tags.values("rel")[0]


def test_lessons_store_sanitised_html(make_course):
    course = make_course(lessons=({"title": "Bahaya", "body_markdown": ATTACKS},))
    lesson = course.published_version.lessons()[0]
    assert_harmless(lesson.body_html)
    assert "alert" not in "".join(Tags(lesson.body_html).values("href"))


# ---------------------------------------------------------------- catalog


@pytest.fixture
def catalog(make_course, trainer):
    """Five courses that differ in every filterable way, plus a closed and an unpublished one."""
    pm = Category(name="Manajemen Proyek", position=1)
    it = Category(name="Teknologi Informasi", position=2)
    db.session.add_all([pm, it])
    db.session.flush()
    make_course(code="PM-01", title="Manajemen Proyek Dasar", summary="Rencana kerja dan jadwal.",
                category_id=pm.id, jp=2, lessons=("Piagam proyek", "Gantt chart"))
    make_course(code="PM-02", title="Manajemen Risiko", summary="Mengelola risiko kegiatan pemerintah.",
                category_id=pm.id, jp=8, jalur="blended", competency_kind="manajerial",
                competencies={"M.04": 3, "M.08": 2})
    make_course(code="TI-01", title="Keamanan Informasi", summary="Sandi, phishing dan cadangan data.",
                category_id=it.id, jp=4, lessons=("Kata sandi yang kuat", "Mengenali phishing"))
    make_course(code="PP-01", title="Pelayanan Prima", summary="Standar pelayanan publik.", jp=12,
                competency_kind="sosial_kultural", jalur="klasikal", competencies={"SK.01": 2})
    make_course(code="IN-01", title="Integritas ASN", summary="Gratifikasi dan konflik kepentingan.", jp=3,
                competency_kind="manajerial", competencies={"M.01": 4})
    make_course(code="RHS-01", title="Manajemen Rahasia Negara", summary="Hanya untuk yang ditugaskan.",
                is_open=False, jp=2)
    make_course(code="DRF-01", title="Manajemen Draf", summary="Belum terbit.", publish=False, jp=2)
    db.session.commit()
    return {"pm": pm, "it": it}


def codes(**filters) -> list[str]:
    return [c.code for c in db.session.scalars(services.catalog_query(**filters))]


def test_search_by_title_summary_and_lesson_titles(catalog):
    assert codes(q="risiko") == ["PM-02"]  # title (and summary)
    assert codes(q="phishing") == ["TI-01"]  # summary and a lesson title
    assert codes(q="gantt") == ["PM-01"]  # a lesson title only
    assert codes(q="GRATIFIKASI") == ["IN-01"]  # case does not matter
    assert codes(q="manajemen proyek") == ["PM-01"]  # every word must match
    assert codes(q="manajemen") == ["PM-01", "PM-02"]
    assert codes(q="tidakada") == []
    assert codes(q="100%_") == []  # LIKE wildcards are plain characters


def test_search_follows_the_published_version(catalog, trainer):
    course = db.session.query(Course).filter_by(code="PM-01").one()
    draft = services.ensure_draft(course, actor=trainer)
    services.add_lesson(draft.modules[0], kind="text", title="Earned value")
    db.session.commit()
    assert codes(q="earned") == [], "draft lessons are not searchable before publishing"
    services.publish(draft, actor=trainer)
    db.session.commit()
    assert codes(q="earned") == ["PM-01"]


def test_filters(catalog):
    assert codes(category_id=catalog["pm"].id) == ["PM-01", "PM-02"]
    assert codes(category_id=catalog["it"].id) == ["TI-01"]
    assert codes(competency_kind="manajerial") == ["IN-01", "PM-02"]
    assert codes(competency_kind="sosial_kultural") == ["PP-01"]
    assert codes(competency="M.08") == ["PM-02"]
    assert codes(competency="M.01") == ["IN-01"]
    assert codes(jalur="blended") == ["PM-02"]
    assert codes(jalur="klasikal") == ["PP-01"]
    assert codes(jp_min=4, jp_max=8) == ["TI-01", "PM-02"]  # by title: Keamanan…, Manajemen…
    assert codes(jp_min=10) == ["PP-01"]
    assert codes(jp_max=2) == ["PM-01"]
    assert codes(q="manajemen", competency_kind="manajerial") == ["PM-02"]


def test_sorting(catalog):
    assert codes(sort="title") == ["IN-01", "TI-01", "PM-01", "PM-02", "PP-01"]
    assert codes(sort="code") == ["IN-01", "PM-01", "PM-02", "PP-01", "TI-01"]
    assert codes(sort="jp") == ["PP-01", "PM-02", "TI-01", "IN-01", "PM-01"]
    old = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    db.session.execute(update(Course).where(Course.code != "TI-01").values(created_at=old))
    assert codes(sort="newest")[0] == "TI-01"


def test_closed_and_unpublished_courses_are_hidden(catalog):
    everything = codes()
    assert "RHS-01" not in everything
    assert "DRF-01" not in everything
    assert len(everything) == 5
    assert "RHS-01" in codes(include_closed=True)
    assert "DRF-01" not in codes(include_closed=True)


def test_catalog_page_searches_filters_and_marks_enrolments(catalog, client, login, learner, enrol):
    enrol(learner, db.session.query(Course).filter_by(code="TI-01").one())
    login(learner)
    page = client.get("/kursus").get_data(as_text=True)
    for title in ("Manajemen Proyek Dasar", "Keamanan Informasi", "Pelayanan Prima"):
        assert title in page
    assert "Rahasia Negara" not in page
    assert "Manajemen Draf" not in page
    assert "Enrolled" in page

    page = client.get("/kursus", query_string={"q": "phishing"}).get_data(as_text=True)
    assert "Keamanan Informasi" in page
    assert "Manajemen Proyek Dasar" not in page
    page = client.get("/kursus", query_string={"kind": "manajerial", "sort": "jp"}).get_data(as_text=True)
    assert page.index("Manajemen Risiko") < page.index("Integritas ASN")
    assert "Pelayanan Prima" not in page
    page = client.get("/kursus", query_string={"category": str(catalog["it"].id)}).get_data(as_text=True)
    assert "Keamanan Informasi" in page
    assert "Manajemen Risiko" not in page
    page = client.get("/kursus", query_string={"q": "rahasia"}).get_data(as_text=True)
    assert "Rahasia Negara" not in page
    assert "No course matches your search." in page


def test_catalog_page_with_nonsense_filters_still_answers(catalog, client, login, learner):
    login(learner)
    response = client.get("/kursus", query_string={"jp_min": "banyak", "category": "x", "sort": "drop table"})
    assert response.status_code == 200
