"""Demo question bank and tests for PM-01: a pre-test at the start and a timed post-test at the end,
both drawing on one bank of project-management questions (Indonesian)."""

from __future__ import annotations

from courses import services
from courses.models import Course
from courses.quizzes import services as banks
from courses.quizzes.settings import save_quiz
from lms.models import User

QUESTIONS = [
    dict(type="single", name="Ciri proyek", tags=["konsep"],
         prompt_html="<p>Manakah yang <strong>bukan</strong> ciri sebuah proyek?</p>",
         general_feedback_html="<p>Proyek bersifat sementara: punya awal dan akhir.</p>",
         answers=[{"text_html": "Berlangsung terus-menerus tanpa akhir", "fraction": 1.0},
                  {"text_html": "Memiliki tujuan yang disepakati", "fraction": 0.0,
                   "feedback_html": "<p>Ini justru ciri proyek.</p>"},
                  {"text_html": "Menggunakan sumber daya terbatas", "fraction": 0.0},
                  {"text_html": "Memiliki awal dan akhir yang jelas", "fraction": 0.0}]),
    dict(type="single", name="Proyek atau rutin", tags=["konsep"],
         prompt_html="<p>Kegiatan mana yang merupakan <em>proyek</em>?</p>",
         answers=[{"text_html": "Membangun aplikasi antrean online", "fraction": 1.0},
                  {"text_html": "Melayani antrean setiap hari", "fraction": 0.0},
                  {"text_html": "Membayar gaji bulanan", "fraction": 0.0}]),
    dict(type="truefalse", name="Perubahan lisan", tags=["pengendalian"],
         prompt_html="<p>Perubahan ruang lingkup cukup disepakati secara lisan dalam rapat.</p>",
         answers=[{"text_html": "true", "fraction": 0.0}, {"text_html": "false", "fraction": 1.0}]),
    dict(type="multi", name="Isi rencana", tags=["perencanaan"],
         prompt_html="<p>Apa saja yang dijawab oleh rencana proyek yang baik?</p>",
         answers=[{"text_html": "Siapa yang mengerjakan", "fraction": 1 / 3},
                  {"text_html": "Kapan selesai", "fraction": 1 / 3},
                  {"text_html": "Berapa biayanya", "fraction": 1 / 3},
                  {"text_html": "Siapa pemenang lelang tahun lalu", "fraction": -1 / 3}]),
    dict(type="shortanswer", name="Singkatan WBS", tags=["perencanaan"],
         prompt_html="<p>Apa kepanjangan WBS?</p>", use_wildcards=True,
         answers=[{"text_html": "Work Breakdown Structure", "fraction": 1.0}]),
    dict(type="ordering", name="Urutan perencanaan", tags=["perencanaan"],
         prompt_html="<p>Urutkan langkah perencanaan berikut.</p>",
         answers=[{"text_html": "Menyusun WBS"}, {"text_html": "Memperkirakan durasi dan jadwal"},
                  {"text_html": "Menghitung anggaran"}, {"text_html": "Mencatat risiko"}]),
    dict(type="matching", name="Istilah proyek", tags=["konsep"],
         prompt_html="<p>Pasangkan istilah dengan artinya.</p>",
         answers=[{"text_html": "Ruang lingkup", "match_text": "Batas pekerjaan yang disepakati"},
                  {"text_html": "Risiko", "match_text": "Peristiwa tak pasti yang berdampak"},
                  {"text_html": "Realisasi", "match_text": "Apa yang benar-benar terjadi"}]),
    dict(type="numerical", name="Persentase kemajuan", tags=["pengendalian"],
         prompt_html="<p>Dari 8 paket kerja, 6 selesai. Berapa persen kemajuan fisik (anggap bobot sama)?</p>",
         answers=[{"text_html": "75", "fraction": 1.0, "tolerance": 0.5}]),
    dict(type="essay", name="Refleksi proyek", tags=["refleksi"],
         prompt_html="<p>Sebutkan satu kegiatan di unit Anda yang sebenarnya proyek, dan jelaskan alasannya.</p>",
         general_feedback_html="<p>Nilai penuh bila menyebut awal–akhir, tujuan, dan sumber daya.</p>"),
]


def add_tests(course: Course, owner: User) -> None:
    """Fill PM-01's bank and put a pre-test first and a post-test last in its draft."""
    bank = banks.bank_for(course)
    questions = [banks.create_question(bank, actor=owner, **dict(fields)) for fields in QUESTIONS]
    automatic = [q for q in questions if q.type != "essay"]
    modules = course.draft.modules
    pre = services.add_lesson(modules[0], kind="quiz", title="Pre-test", minutes=10, is_required=False,
                              body_markdown="Kerjakan sebelum belajar untuk mengukur pengetahuan awal Anda.")
    services.reorder(modules[0], [pre.id] + [lesson.id for lesson in modules[0].lessons if lesson.id != pre.id])
    save_quiz(pre, {"kind": "pre", "attempts": 1, "slots": [{"key": q.key, "mark": 1} for q in automatic],
                    "review": {"answers": "after_attempt", "correct": "never", "feedback": "never"}}, actor=owner)
    post = services.add_lesson(modules[-1], kind="quiz", title="Post-test", minutes=20,
                               body_markdown="Nilai minimal 65 untuk lulus dan mendapatkan sertifikat.")
    save_quiz(post, {"kind": "post", "attempts": 3, "time_limit": 20, "pass_score": 65, "shuffle_questions": True,
                     "slots": [{"key": q.key, "mark": 1} for q in questions]}, actor=owner)
