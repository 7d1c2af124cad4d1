"""Demo courses for ``flask demo seed``: PM-01, PP-01 and TI-01 with Indonesian material.

Idempotent: a course whose code exists is left as it is.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from courses import services
from courses.models import Category, Course, Enrolment
from courses.quizzes import demo as quiz_demo
from lms.extensions import db
from lms.models import Institution, User
from lms.storage import sniff, store

ASSETS = Path(__file__).parent / "demo_assets"

CATEGORIES = ["Manajemen Proyek", "Pelayanan Publik", "Teknologi Informasi", "Integritas & Antikorupsi",
              "Kepemimpinan", "Manajemen ASN"]

PM_INTRO = """\
Proyek adalah **kegiatan sementara** untuk menghasilkan produk, layanan, atau hasil yang unik.
Di instansi pemerintah, proyek muncul di mana-mana: membangun aplikasi layanan, menyusun
peraturan daerah, sampai menyelenggarakan pelatihan.

## Ciri-ciri proyek

- Memiliki **awal dan akhir** yang jelas;
- Memiliki **tujuan** dan **ruang lingkup** yang disepakati;
- Menggunakan **sumber daya terbatas**: anggaran, orang, dan waktu.

| Proyek | Operasional rutin |
|---|---|
| Membangun aplikasi antrean online | Melayani antrean setiap hari |
| Menyusun SOP baru | Menjalankan SOP |

> Tanyakan pada diri Anda: kegiatan apa di unit kerja Anda yang sebenarnya sebuah proyek?
"""

PM_PLAN = """\
Perencanaan yang baik menjawab lima pertanyaan: **apa** yang dikerjakan, **siapa** yang mengerjakan,
**kapan** selesai, **berapa** biayanya, dan **apa risikonya**.

1. Susun *Work Breakdown Structure* (WBS): pecah hasil akhir menjadi paket kerja.
2. Perkirakan durasi dan urutan kegiatan, lalu gambarkan dalam jadwal (misalnya Gantt chart).
3. Hitung anggaran per paket kerja dan sesuaikan dengan DPA.
4. Catat risiko dalam daftar risiko: peluang, dampak, dan rencana penanganannya.
"""

PM_CONTROL = """\
Selama pelaksanaan, bandingkan **rencana dengan realisasi** secara berkala.
Perubahan ruang lingkup harus melalui permintaan perubahan yang disetujui, bukan sekadar
kesepakatan lisan. Laporkan kemajuan dengan bahasa yang sama untuk semua pemangku kepentingan:
persentase kemajuan fisik, serapan anggaran, dan isu yang perlu diputuskan.
"""

PP_INTRO = """\
Pelayanan publik adalah hak setiap warga negara. Undang-Undang Nomor 25 Tahun 2009 menegaskan
bahwa penyelenggara wajib memberikan pelayanan yang **berkualitas, cepat, mudah, terjangkau,
dan terukur**.

Bacalah modul PDF berikutnya, lalu pikirkan satu layanan di unit Anda yang paling sering dikeluhkan.
"""

PP_COMPLAINTS = """\
Keluhan adalah **hadiah**: pengguna layanan memberi tahu di mana kita bisa menjadi lebih baik.

- **Dengar** tanpa memotong pembicaraan;
- **Pahami** dengan mengulang inti keluhan;
- **Selesaikan** sesuai kewenangan, atau teruskan kepada yang berwenang;
- **Tindak lanjuti** dan kabari pengguna layanan hasilnya.
"""

TI_SECURITY = """\
Sebagian besar insiden keamanan informasi di instansi pemerintah berawal dari hal sederhana:
kata sandi yang lemah dan tautan *phishing*.

## Kata sandi yang baik

- Panjang (minimal 12 karakter), misalnya gabungan beberapa kata;
- Berbeda untuk setiap layanan — gunakan pengelola kata sandi;
- Aktifkan verifikasi dua langkah bila tersedia.

## Mengenali phishing

Curigai pesan yang **mendesak**, meminta **kata sandi atau kode OTP**, atau berisi tautan ke alamat
yang mirip tetapi tidak sama dengan situs resmi (misalnya `bkn-go.id` alih-alih `bkn.go.id`).
"""

TI_DATA = """\
Data pribadi pegawai dan warga dilindungi Undang-Undang Nomor 27 Tahun 2022 tentang Pelindungan
Data Pribadi. Kirim data hanya melalui kanal resmi, jangan simpan salinan di perangkat pribadi,
dan hapus berkas yang tidak lagi diperlukan.
"""


def _asset(name: str) -> tuple[str, str, int]:
    with (ASSETS / name).open("rb") as fh:
        mime = sniff(fh.read(64))
        fh.seek(0)
        digest, size = store().put(fh)
    return digest, mime, size


def _course(owner: User, *, code, title, summary, objectives, category, kind, jp, competencies, modules,
            institutions=(), before_publish=None) -> Course:
    course = services.create_course(actor=owner, code=code, title=title, summary=summary, category_id=category.id,
                                    competency_kind=kind, jp=jp, jalur="nonklasikal", jenis_diklat="3",
                                    language="id", validity_years=None, is_open=True, objectives=objectives,
                                    competencies=competencies)
    course.institutions.extend(institutions)
    version = course.draft
    for module_title, lessons in modules:
        module = services.add_module(version, title=module_title)
        for kind_, fields in lessons:
            services.add_lesson(module, kind=kind_, **fields)
    if before_publish is not None:
        before_publish(course, owner)
    services.publish(version, actor=owner, change_summary="Versi pertama.")
    return course


def seed() -> None:
    """Create the demo courses that are missing, and a little learning history for two learners."""
    existing = set(db.session.scalars(select(Course.code)))
    if {"PM-01", "PP-01", "TI-01"} <= existing:
        return
    trainer = db.session.scalar(select(User).where(User.email == "trainer@demo.bangkom.id"))
    if trainer is None:
        return
    categories = {c.name: c for c in db.session.scalars(select(Category))}
    for position, name in enumerate(CATEGORIES):
        if name not in categories:
            categories[name] = Category(name=name, position=position)
            db.session.add(categories[name])
    db.session.flush()
    undip = db.session.scalar(select(Institution).where(Institution.code == "UNDIP"))

    if "PM-01" not in existing:
        video, video_type, video_size = _asset("siklus-proyek.webm")
        captions = _asset("siklus-proyek.vtt")[0]
        _course(trainer, code="PM-01", title="Dasar-Dasar Manajemen Proyek Pemerintah",
                summary="Merencanakan, melaksanakan, dan mengendalikan proyek di instansi pemerintah: dari "
                        "ruang lingkup dan jadwal sampai pelaporan kemajuan.",
                objectives="Menjelaskan ciri-ciri proyek dan siklus hidupnya\nMenyusun WBS dan jadwal sederhana\n"
                           "Mengendalikan perubahan ruang lingkup",
                category=categories["Manajemen Proyek"], kind="teknis", jp=6,
                competencies={"M.04": 2, "M.08": 2}, institutions=[undip] if undip else [],
                before_publish=quiz_demo.add_tests,
                modules=[
                    ("Mengenal proyek", [
                        ("text", dict(title="Apa itu proyek?", body_markdown=PM_INTRO, minutes=15)),
                        ("video", dict(title="Siklus hidup proyek (video)", file_sha256=video, file_type=video_type,
                                       file_size=video_size, file_name="siklus-proyek.webm",
                                       captions_sha256=captions, minutes=5,
                                       body_markdown="Tonton video singkat berikut; teks terjemahan tersedia.")),
                    ]),
                    ("Perencanaan dan pengendalian", [
                        ("text", dict(title="Menyusun rencana proyek", body_markdown=PM_PLAN, minutes=30)),
                        ("text", dict(title="Mengendalikan pelaksanaan", body_markdown=PM_CONTROL, minutes=20,
                                      completion_rule="min_time", completion_value=1)),
                        ("link", dict(title="Bacaan: Perpres 12/2021 tentang Pengadaan Barang/Jasa",
                                      url="https://peraturan.bpk.go.id/Details/161828/perpres-no-12-tahun-2021",
                                      is_required=False, minutes=30)),
                    ]),
                ])
    if "PP-01" not in existing:
        pdf, pdf_type, pdf_size = _asset("modul-pelayanan-prima.pdf")
        _course(trainer, code="PP-01", title="Pelayanan Prima bagi ASN",
                summary="Sikap, standar, dan keterampilan melayani masyarakat dengan prima, termasuk menangani "
                        "keluhan.",
                objectives="Menerapkan prinsip A6 dalam layanan sehari-hari\nMenangani keluhan dengan langkah "
                           "yang runtut\nMenjelaskan komponen standar pelayanan",
                category=categories["Pelayanan Publik"], kind="manajerial", jp=4,
                competencies={"M.05": 2, "M.03": 2},
                modules=[
                    ("Prinsip pelayanan prima", [
                        ("text", dict(title="Pelayanan publik sebagai hak warga", body_markdown=PP_INTRO,
                                      minutes=10)),
                        ("pdf", dict(title="Modul Pelayanan Prima (PDF)", file_sha256=pdf, file_type=pdf_type,
                                     file_size=pdf_size, file_name="modul-pelayanan-prima.pdf", minutes=40)),
                    ]),
                    ("Menangani keluhan", [
                        ("text", dict(title="Empat langkah menangani keluhan", body_markdown=PP_COMPLAINTS,
                                      minutes=20)),
                    ]),
                ])
    if "TI-01" not in existing:
        _course(trainer, code="TI-01", title="Literasi Digital dan Keamanan Informasi",
                summary="Bekerja aman di era digital: kata sandi, phishing, dan pelindungan data pribadi.",
                objectives="Membuat dan mengelola kata sandi yang kuat\nMengenali pesan phishing\n"
                           "Memperlakukan data pribadi sesuai UU PDP",
                category=categories["Teknologi Informasi"], kind="teknis", jp=3,
                competencies={"M.01": 1},
                modules=[
                    ("Keamanan informasi sehari-hari", [
                        ("text", dict(title="Kata sandi dan phishing", body_markdown=TI_SECURITY, minutes=25)),
                        ("text", dict(title="Pelindungan data pribadi", body_markdown=TI_DATA, minutes=20)),
                    ]),
                ])
        course = db.session.scalar(select(Course).where(Course.code == "TI-01"))
        draft = services.ensure_draft(course, actor=trainer)
        with (ASSETS / "golf-explained-scorm12.zip").open("rb") as stream:
            services.add_scorm_lesson(services.add_module(draft, title="Contoh paket SCORM"), stream, file_name="golf-explained-scorm12.zip",
                                      title="Paket SCORM: Golf Explained (bahasa Inggris)", minutes=20,
                                      is_required=False)
        services.publish(draft, actor=trainer, change_summary="Menambahkan contoh paket SCORM.")
    db.session.flush()
    _history()


def _history() -> None:
    """Budi is half-way through PM-01; Dewi has completed PP-01 and is assigned TI-01."""
    import datetime as dt

    budi = db.session.scalar(select(User).where(User.email == "budi@demo.bangkom.id"))
    dewi = db.session.scalar(select(User).where(User.email == "dewi@demo.bangkom.id"))
    hr = db.session.scalar(select(User).where(User.email == "hr@demo.bangkom.id"))
    courses = {c.code: c for c in db.session.scalars(select(Course))}
    if budi is not None and not db.session.scalar(select(Enrolment.id).where(Enrolment.user_id == budi.id)):
        enrolment = services.enrol(budi, courses["PM-01"])
        for lesson in enrolment.version.lessons()[:2]:
            services.record_visit(enrolment, lesson, seconds=120)
    if dewi is not None and not db.session.scalar(select(Enrolment.id).where(Enrolment.user_id == dewi.id)):
        enrolment = services.enrol(dewi, courses["PP-01"])
        for lesson in enrolment.version.lessons():
            services.record_visit(enrolment, lesson, seconds=300)
        services.assign(courses["TI-01"], [dewi], due_on=dt.date.today() + dt.timedelta(days=30), actor=hr)
