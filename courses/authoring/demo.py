"""Demo co-authoring for ``flask demo seed``: Dr. Hendra Wijaya (Universitas Diponegoro) co-authors PM-01 with
the trainer, the BKD's Agus Prasetyo reviews it, and a draft with a changed lesson, a curriculum document and a
comment waits for the review. Idempotent: nothing happens once Hendra is on the team."""

from __future__ import annotations

from sqlalchemy import select

from courses import services
from courses.authoring import services as authoring
from courses.authoring.models import CourseMember
from courses.models import Course
from lms.extensions import db
from lms.models import User

EXTRA = """

## Contoh di daerah

Pemerintah Provinsi membangun **aplikasi antrean daring** untuk layanan kependudukan: hasilnya unik,
waktunya terbatas (satu tahun anggaran), dan sumber dayanya dibatasi DPA.
"""

TOPICS = [
    dict(part="dasar", title="Wawasan Manajemen Proyek Pemerintah", hours_teori=1, hours_penugasan=0, hours_praktik=0,
         objective="Peserta mampu menjelaskan ciri-ciri proyek dan siklus hidupnya.",
         sub_topics="Pengertian proyek\nProyek dan operasional rutin\nSiklus hidup proyek",
         method="Ceramah interaktif, diskusi", media="Bahan tayang, video", sources="PMBOK Guide edisi 7"),
    dict(part="inti", title="Perencanaan Proyek", hours_teori=1, hours_penugasan=1, hours_praktik=1,
         objective="Peserta mampu menyusun WBS, jadwal, dan anggaran sederhana.",
         sub_topics="Work Breakdown Structure\nJadwal dan Gantt chart\nAnggaran dan DPA\nDaftar risiko",
         method="Ceramah, studi kasus, latihan", media="Templat rencana proyek",
         sources="Perpres 12/2021 tentang Pengadaan Barang/Jasa Pemerintah"),
    dict(part="inti", title="Pengendalian dan Pelaporan", hours_teori=1, hours_penugasan=1, hours_praktik=0,
         objective="Peserta mampu mengendalikan perubahan dan melaporkan kemajuan.",
         sub_topics="Rencana dan realisasi\nPermintaan perubahan\nLaporan kemajuan",
         method="Diskusi, simulasi", media="Lembar kerja", sources="Modul BPSDM"),
]


def seed() -> None:
    course = db.session.scalar(select(Course).where(Course.code == "PM-01"))
    users = {u.email: u for u in db.session.scalars(select(User).where(User.email.in_(
        ["trainer@demo.bangkom.id", "hendra.wijaya@undip.example", "hr@demo.bangkom.id"])))}
    trainer, hendra = users.get("trainer@demo.bangkom.id"), users.get("hendra.wijaya@undip.example")
    reviewer = users.get("hr@demo.bangkom.id")
    if course is None or trainer is None or hendra is None or reviewer is None:
        return
    if db.session.scalar(select(CourseMember.id).where(CourseMember.course_id == course.id,
                                                       CourseMember.user_id == hendra.id)):
        return
    authoring.add_member(course, hendra, role="coauthor", institution=hendra.institution, actor=trainer)
    authoring.add_member(course, reviewer, role="reviewer", actor=trainer)
    draft = services.ensure_draft(course, actor=trainer)
    lesson = draft.lessons()[0]
    authoring.save_lesson(lesson, actor=hendra, base_revision=authoring.revision_number(lesson),
                          body_markdown=lesson.body_markdown + EXTRA)
    draft.change_summary = "Contoh proyek di daerah dan kurikulum lengkap bersama Universitas Diponegoro."
    authoring.save_curriculum(
        draft, actor=hendra,
        description="Pelatihan teknis bagi ASN yang merencanakan dan mengendalikan proyek di instansi pemerintah.",
        competencies="M.04 Orientasi pada Hasil (level 2)\nM.08 Pengambilan Keputusan (level 2)",
        objectives=draft.objectives, participants="ASN pengelola kegiatan dan proyek, golongan II/c ke atas.",
        evaluation="Pre-test dan post-test (evaluasi level 2); evaluasi penyelenggaraan (level 1).",
        certification="Peserta yang menyelesaikan semua materi dan lulus post-test dengan nilai ≥ 65 "
                      "menerima e-sertifikat.")
    for topic in TOPICS:
        authoring.save_topic(draft, actor=hendra, **topic)
    authoring.transition(draft, "submit", actor=hendra)
    authoring.add_comment(draft, actor=reviewer, lesson=lesson, quote="aplikasi antrean daring",
                          body="Sebutkan juga indikator keberhasilan proyeknya.")
