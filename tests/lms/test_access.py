"""The access matrix: every route × every role, against an explicit table of what each one must answer.

A new route without an entry in ``EXPECTED`` fails ``test_every_route_is_in_the_access_matrix``: whoever
adds a route decides here who may open it. Objects named in URLs are created for each case; the "owner"
role is a learner opening URLs of objects that are their own, "learner" one opening somebody else's.
Whenever access is refused (403, 404, 405, sign-in), the database must be exactly as before.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from courses import services as course_services
from lms import services
from lms.extensions import db
from lms.models import ApiToken, AuditEvent, OrgUnit, User
from lms.storage import store

PASSWORD = "correct horse 1"
ROLES = ("anonymous", "learner", "trainer", "coauthor", "hr", "admin", "owner")
METHODS = ("GET", "POST")


@dataclass(frozen=True)
class To:
    """A redirect (302/303) to this path; ``{arg}`` is filled from the URL's arguments, None = anywhere."""

    path: str | None = None
    refusal: bool = False


SIGN_IN = To("/akun/masuk", refusal=True)  # "sign in first": a refusal
HOME = To("/")


def anyone(status) -> dict:
    return dict.fromkeys(ROLES, status)


def signed_in(status) -> dict:
    return {**anyone(status), "anonymous": SIGN_IN}


def signed_out(status, otherwise=HOME) -> dict:
    return {**anyone(otherwise), "anonymous": status}


def admin_only(status) -> dict:
    return {**anyone(403), "anonymous": SIGN_IN, "admin": status}


def authors(status) -> dict:
    return {**admin_only(status), "trainer": status}


def hr_or_admin(status) -> dict:
    return {**admin_only(status), "hr": status}


def studying(status, admin=None, team=None) -> dict:
    """Lessons: the owner studies the course, an admin (and the course team: "coauthor" co-authors it, "hr"
    reviews it) previews it, everybody else is told it does not exist."""
    preview = status if admin is None else admin
    return {**signed_in(404), "owner": status, "admin": preview, "coauthor": preview if team is None else team,
            "hr": preview if team is None else team}


def editors(status) -> dict:
    """The course's draft: an admin and its co-author edit it; its reviewer ("hr") and other trainers may not."""
    return {**admin_only(status), "coauthor": status}


def course_team(status) -> dict:
    """Co-authoring pages that the whole team reads: the co-author, the reviewer ("hr") and an admin."""
    return {**signed_in(403), "coauthor": status, "hr": status, "admin": status}


# Every form below is POSTed without its fields (CSRF is off in the testing config): the answer says who
# may act, the forms' own validation is tested elsewhere. Where one endpoint has several URL rules that
# answer differently, "METHOD /rule" overrides the method's entry for that rule.
EXPECTED: dict[str, dict[str, dict]] = {
    "static": {"GET": anyone(200)},
    "lms.home": {"GET": anyone(200)},
    "lms.health": {"GET": anyone(200)},
    "lms.set_language": {"POST": anyone(HOME)},
    "lms.profile": {"GET": signed_in(200), "POST": signed_in(To("/profil"))},
    "auth.login": {"GET": signed_out(200), "POST": signed_out(200)},
    "auth.logout": {"POST": anyone(To("/akun/masuk"))},
    "auth.forgot_password": {"GET": anyone(200), "POST": anyone(200)},
    "auth.reset_password": {"GET": anyone(200), "POST": anyone(200)},
    "auth.change_password": {"GET": signed_in(200), "POST": signed_in(200)},
    "api.openapi": {"GET": anyone(200)},
    "admin.index": {"GET": admin_only(200)},
    "admin.users": {"GET": admin_only(200)},
    "admin.user_new": {"GET": admin_only(200), "POST": admin_only(200)},
    "admin.user_edit": {"GET": admin_only(200), "POST": admin_only(200)},
    "admin.user_set_active": {"POST": admin_only(To("/admin/pengguna/{user_id}"))},
    "admin.user_send_reset": {"POST": admin_only(To("/admin/pengguna/{user_id}"))},
    "admin.users_import": {"GET": admin_only(200), "POST": admin_only(200)},
    "admin.units": {"GET": admin_only(200)},
    "admin.unit_edit": {"GET": admin_only(200), "POST": admin_only(200),
                        "POST /admin/unit/<int:unit_id>": admin_only(To("/admin/unit"))},
    "admin.institutions": {"GET": admin_only(200)},
    "admin.institution_edit": {"GET": admin_only(200), "POST": admin_only(200),
                               "POST /admin/institusi/<int:institution_id>": admin_only(To("/admin/institusi"))},
    "admin.tokens": {"GET": admin_only(200), "POST": admin_only(200)},
    "admin.token_revoke": {"POST": admin_only(To("/admin/token"))},
    "admin.audit": {"GET": admin_only(200)},
    # Courses: the course is open and published (v1, one downloadable file lesson) with a draft open, by an
    # author who plays no role here, so "trainer" is a trainer who does not own it and only an admin manages
    # it; "coauthor" co-authors it and "hr" reviews it (courses.authoring). ``lesson_id`` is a v1 lesson
    # (editing it answers 409), ``module_id`` the draft's first module.
    "courses.catalog": {"GET": signed_in(200)},
    "courses.course": {"GET": signed_in(200)},
    "courses.enrol": {"POST": signed_in(To("/kursus/{code}/lanjut"))},
    "courses.resume": {"GET": {**signed_in(To("/kursus/{code}")), "owner": To()}},  # owner: to the lesson
    "courses.lesson": {"GET": studying(200)},
    "courses.heartbeat": {"POST": studying(To("/kursus/{code}/pelajaran/{lesson_id}"), admin=200)},
    "courses.lesson_file": {"GET": studying(200),
                            "GET /kursus/<code>/pelajaran/<int:lesson_id>/<any(teks):part>": signed_in(404)},
    "courses.scorm_commit": {"POST": signed_in(404)},  # the lesson is not a SCORM package
    "courses.package_file": {"GET": anyone(404)},  # ``token`` is not a package token
    "courses.image": {"GET": signed_in(200)},
    "courses.cover": {"GET": signed_in(200)},
    "courses.manage_list": {"GET": authors(200)},
    "courses.course_new": {"GET": authors(200), "POST": authors(200)},
    # Fields missing from a POST keep their values (an edit form saves), except unticked checkboxes.
    "courses.course_edit": {"GET": admin_only(200), "POST": admin_only(To("/kelola/kursus/{course_id}"))},
    "courses.course_team": {"POST": admin_only(To("/kelola/kursus/{course_id}"))},
    "courses.categories": {"GET": admin_only(200), "POST": admin_only(200)},
    "courses.category_edit": {"GET": admin_only(200), "POST": admin_only(To("/kelola/kategori"))},
    # The co-author edits the draft like an owner, but never publishes, moves learners or sees them.
    "courses.draft": {"GET": editors(200)},
    "courses.draft_open": {"POST": editors(To("/kelola/kursus/{course_id}/draf"))},
    "courses.module_add": {"POST": editors(To("/kelola/kursus/{course_id}/draf"))},
    "courses.module_edit": {"GET": editors(200), "POST": editors(To())},
    "courses.module_delete": {"POST": editors(To())},
    "courses.move": {"POST": editors(To())},
    "courses.reorder": {"POST": editors(409)},  # an empty order does not match the modules
    "courses.lesson_new": {"GET": editors(200), "POST": editors(200)},
    "courses.lesson_edit": {"GET": editors(409), "POST": editors(409)},
    "courses.lesson_delete": {"POST": editors(409)},
    # The course has a reviewer who has not approved the draft: publishing is refused, back to the draft.
    "courses.publish": {"POST": admin_only(To("/kelola/kursus/{course_id}/draf"))},
    "courses.move_learners": {"POST": admin_only(To("/kelola/kursus/{course_id}"))},
    "courses.learners": {"GET": admin_only(200)},
    "courses.assign": {"GET": hr_or_admin(200), "POST": hr_or_admin(200)},
    # Co-authoring (courses.authoring): the team of the course above. Empty forms are refused by their own
    # validation; ``token`` is no invitation.
    "authoring.my_teams": {"GET": {**admin_only(200), "trainer": 200, "coauthor": 200, "hr": 200}},
    "authoring.notifications": {"GET": signed_in(200), "POST": signed_in(To("/kelola/notifikasi"))},
    "authoring.team": {"GET": admin_only(200)},
    "authoring.invite": {"POST": admin_only(200)},
    "authoring.remove_member": {"POST": admin_only(To("/kelola/kursus/{course_id}/penyusun"))},
    "authoring.revoke_invitation": {"POST": admin_only(To("/kelola/kursus/{course_id}/penyusun"))},
    "authoring.accept": {"GET": anyone(404), "POST": anyone(404)},
    "authoring.review": {"GET": course_team(200)},
    "authoring.transition": {"POST": course_team(To("/kelola/kursus/{course_id}/telaah"))},
    "authoring.comment": {"POST": course_team(200)},
    "authoring.resolve": {"POST": course_team(To("/kelola/kursus/{course_id}/telaah"))},
    "authoring.history": {"GET": course_team(200)},
    "authoring.restore": {"POST": editors(409)},  # a v1 lesson
    "authoring.compare": {"GET": course_team(200)},
    "authoring.curriculum": {"GET": course_team(200), "POST": editors(To("/kelola/kursus/{course_id}/kurikulum"))},
    "authoring.topic_save": {"POST": editors(200)},
    "authoring.topic_action": {"POST": editors(To("/kelola/kursus/{course_id}/kurikulum"))},
    "authoring.curriculum_pdf": {"GET": course_team(200)},
    # Question banks: only the course's owners and admins. ``question_id`` is a question of the course's bank,
    # used in no attempt; empty forms are re-shown with their errors (the import asks for a file).
    "quizzes.bank": {"GET": admin_only(200)},
    "quizzes.bank_share": {"POST": admin_only(To("/kelola/kursus/{course_id}/bank-soal"))},
    "quizzes.bank_export": {"GET": admin_only(200)},
    "quizzes.bank_import": {"GET": admin_only(200), "POST": admin_only(200)},
    "quizzes.question_new": {"GET": admin_only(200), "POST": admin_only(200)},
    "quizzes.question_edit": {"GET": admin_only(200), "POST": admin_only(200)},
    "quizzes.question_preview": {"GET": admin_only(200)},
    "quizzes.question_history": {"GET": admin_only(200)},
    "quizzes.question_regrade": {"POST": admin_only(To("/kelola/soal/{question_id}/riwayat"))},
    # Quiz reports: only the course's owners and admins. ``lesson_key`` names the course's first lesson, a
    # file and not a quiz, so even an admin is told there is no such quiz; the pre/post report needs none.
    "quizzes.attempts": {"GET": admin_only(404)},
    "quizzes.attempts_csv": {"GET": admin_only(404)},
    "quizzes.analysis": {"GET": admin_only(404)},
    "quizzes.prepost": {"GET": admin_only(200)},
    "quizzes.prepost_csv": {"GET": admin_only(200)},
    # Taking a quiz: ``attempt_id`` is ``mine``'s attempt in progress at a post-test of a course by an author
    # who plays no role here. Only its learner opens it (an admin reads its result, never acts in it);
    # anybody else is told it does not exist. The form posts no answers; ``save`` wants JSON.
    "quizzes.start": {"POST": signed_in(404)},  # ``lesson_id`` is a file lesson, not a quiz
    "quizzes.attempt": {"GET": {**signed_in(404), "owner": 200}},
    "quizzes.save": {"POST": {**signed_in(404), "owner": 400}},
    "quizzes.save_form": {"POST": {**signed_in(404), "owner": To("/percobaan/{attempt_id}")}},
    "quizzes.finish": {"GET": {**signed_in(404), "owner": 200},
                       "POST": {**signed_in(404), "owner": To("/percobaan/{attempt_id}/hasil")}},
    "quizzes.result": {"GET": {**signed_in(404), "owner": To("/percobaan/{attempt_id}"), "admin": 200}},
    # Quiz settings and grading: trainers and admins, on courses they own. ``lesson_id`` is a file lesson, so
    # even an admin is told there is no such quiz; ``item_id`` (a module's id) is no answer to grade.
    "quizzes.settings": {"GET": admin_only(404), "POST": admin_only(404)},
    "quizzes.add_questions": {"POST": admin_only(404)},
    "quizzes.add_draw": {"POST": admin_only(404)},
    "quizzes.slot_action": {"POST": admin_only(404)},
    "quizzes.grading_queue": {"GET": authors(200)},
    "quizzes.grade": {"GET": authors(404), "POST": authors(404)},
    # Certificates: the owner completed the course and holds a certificate with its PDF stored; the
    # public code opens the verification page and the PDF for anyone, the id only for holder, HR, admin.
    "certificates.verify": {"GET": anyone(200)},
    "certificates.verify_pdf": {"GET": anyone(200)},
    "certificates_api.api_certificate": {"GET": anyone(200)},
    "certificates.mine": {"GET": signed_in(200)},
    "certificates.download": {"GET": {**signed_in(404), "owner": 200, "hr": 200, "admin": 200}},
    "certificates.manage": {"GET": hr_or_admin(200)},
    "certificates.detail": {"GET": hr_or_admin(200)},
    "certificates.revoke": {"POST": hr_or_admin(To("/kelola/sertifikat/{certificate_id}"))},
    "certificates.reissue": {"POST": hr_or_admin(To("/kelola/sertifikat/{certificate_id}"))},
    "certificates.issuers": {"GET": admin_only(200)},
    "certificates.cohort": {"GET": admin_only(200), "POST": admin_only(200)},  # only its owner or an admin
    "certificates.check": {"GET": hr_or_admin(200), "POST": hr_or_admin(200)},
    "certificates_api.api_verify": {"POST": anyone(400)},  # no file sent
    "certificates_api.api_verify_batch": {"POST": anyone(401)},  # no token
    "certificates.signing_queue": {"GET": hr_or_admin(200), "POST": hr_or_admin(200)},
    # Empty forms are re-shown with their errors.
    "certificates.issuer_edit": {"GET": admin_only(200), "POST": admin_only(200)},
    "certificates.template_edit": {"GET": admin_only(200), "POST": admin_only(200),
                                   "POST /kelola/templat-sertifikat/<int:template_id>":
                                       admin_only(To("/kelola/templat-sertifikat/{template_id}"))},
    # Training records: ``record_id`` is an external record ``mine`` submitted (waiting for HR), ``push_id`` its
    # SIASN outbox row. The HR officer looks after DINKES, where the objects' owners do not work: out of scope.
    "records.mine": {"GET": signed_in(200)},
    "records.submit": {"GET": signed_in(200), "POST": signed_in(200)},
    "records.record": {"GET": {**signed_in(404), "owner": 200, "admin": 200}},
    "records.record_file": {"GET": {**signed_in(404), "owner": 200, "admin": 200}},
    "records.withdraw": {"POST": {**signed_in(404), "owner": To("/riwayat-diklat")}},
    "records.verify": {"POST": {**admin_only(To("/kelola/verifikasi-diklat")), "hr": 404}},
    "records.reject": {"POST": {**admin_only(To("/riwayat-diklat/{record_id}")), "hr": 404}},
    "records.queue": {"GET": hr_or_admin(200)},
    "records.compliance": {"GET": hr_or_admin(200)},
    "records.people": {"GET": hr_or_admin(200)},
    "records.export": {"GET": hr_or_admin(200)},
    "records.assign": {"GET": hr_or_admin(200), "POST": hr_or_admin(200)},
    "records.employee": {"GET": {**admin_only(200), "hr": 404}},
    "records.promotion_file": {"GET": {**signed_in(404), "owner": 200, "admin": 200}},
    "records.certificates_zip": {"GET": {**signed_in(404), "owner": 200, "admin": 200}},
    "records.promotion_list": {"GET": hr_or_admin(200)},
    "records.references": {"GET": admin_only(200), "POST": admin_only(200)},
    "records.people_import": {"GET": admin_only(200), "POST": admin_only(200)},
    "records.outbox": {"GET": admin_only(200)},
    "records.outbox_retry": {"POST": admin_only(To("/kelola/siasn/kirim"))},  # a pending row is not retried
    "records_api.api_records": {"GET": anyone(401)},
    "records_api.api_promotion_file": {"GET": anyone(401)},
    "records_api.api_compliance": {"GET": anyone(401)},
    "records_api.api_siasn_feed": {"GET": anyone(401)},
}


class Objects:
    """What the URLs opened by one role point at; ``mine`` owns the user-owned objects."""

    def __init__(self, unit, institution, mine, team=None):
        self.unit, self.institution, self.mine, self.team = unit, institution, mine, team or {}
        self.token, _secret = services.create_api_token(mine, name="SIMPEG", scopes=["records:read"], actor=None)
        _user, self.reset_secret = services.request_password_reset(mine.email)

    @functools.cached_property
    def certificate(self):
        """``mine`` completed the course (a classroom record) and holds its certificate, PDF stored."""
        from certificates.models import Issuer

        if db.session.scalar(select(Issuer.id).limit(1)) is None:
            db.session.add(Issuer(code="BPSDM", name="BPSDM Provinsi", city="Bandung", is_default=True))
        course = self.course
        enrolment = course_services.record_completion(self.mine, course, actor=self.mine, reason="Kelas tatap muka")
        from certificates.models import Certificate

        certificate = db.session.scalar(select(Certificate).where(Certificate.enrolment_id == enrolment.id))
        certificate.pdf_sha256 = store().put_bytes(b"%PDF-1.7\n% matrix\n%%EOF\n")
        db.session.commit()
        return certificate

    @functools.cached_property
    def external_record(self):
        """An external training record ``mine`` submitted, waiting for HR, with its SIASN outbox row."""
        from certificates.records.models import ExternalRecord, SiasnPush

        record = ExternalRecord(user_id=self.mine.id, title="Seminar Kesehatan", organiser="Kemenkes", jalur="klasikal",
                                jenis_diklat="9", competency_kind="teknis", start_date=dt.date(2026, 3, 2),
                                end_date=dt.date(2026, 3, 3), jp=8, file_sha256=store().put_bytes(
                                    b"%PDF-1.4\n% matrix record\n%%EOF\n"), file_name="sertifikat.pdf",
                                file_type="application/pdf", file_size=32)
        db.session.add(record)
        db.session.flush()
        db.session.add(SiasnPush(source="external", source_id=record.id, user_id=self.mine.id, endpoint="kursus"))
        db.session.commit()
        return record

    @functools.cached_property
    def push(self):
        from certificates.records.models import SiasnPush

        return db.session.scalar(select(SiasnPush).where(SiasnPush.source_id == self.external_record.id))

    @functools.cached_property
    def template(self):
        from certificates.models import CertificateTemplate

        template = CertificateTemplate(name="STTPP", html="<p>{{ c.number }}</p>", css="")
        db.session.add(template)
        db.session.commit()
        return template

    @functools.cached_property
    def quiz_attempt(self):
        """``mine``'s attempt in progress at the one-question post-test of a course by an author of its own."""
        from courses.quizzes import attempts as quizzes
        from courses.quizzes import services as banks
        from courses.quizzes.settings import save_quiz

        author = services.create_user(roles=("trainer",), email=f"penguji{self.mine.id}@example.go.id",
                                      full_name="Penguji Kuis")
        course = course_services.create_course(actor=author, code=f"KUIS-{self.mine.id}", title="Uji Kuis", jp=2,
                                               competency_kind="teknis", jalur="nonklasikal")
        question = banks.create_question(banks.bank_for(course), actor=author, type="truefalse", name="Bumi bulat",
                                         prompt_html="<p>Bumi bulat.</p>",
                                         answers=[{"text_html": "true", "fraction": 1.0}, {"text_html": "false"}])
        module = course_services.add_module(course.draft, title="Modul 1")
        lesson = course_services.add_lesson(module, kind="quiz", title="Post-test")
        save_quiz(lesson, {"kind": "post", "slots": [{"key": question.key, "mark": 1}]}, actor=author)
        course_services.publish(course.draft, actor=author)
        attempt = quizzes.start(course_services.enrol(self.mine, course), lesson)
        db.session.commit()
        return attempt

    @functools.cached_property
    def question(self):
        """A true/false question in the course's bank, used in no attempt."""
        from courses.quizzes import services as quizzes

        question = quizzes.create_question(quizzes.bank_for(self.course), actor=None, type="truefalse",
                                           name="Bumi bulat", prompt_html="<p>Bumi bulat.</p>",
                                           answers=[{"text_html": "true", "fraction": 1.0},
                                                    {"text_html": "false", "fraction": 0.0}])
        db.session.commit()
        return question

    @functools.cached_property
    def course(self):
        """Made on first use, before the request it is for: most URLs name no course."""
        course = course_objects(self.mine)
        if self.team:
            team_objects(course, **self.team)
        db.session.commit()
        return course


def course_objects(mine):
    """An open course by an author of its own: v1 published with a file lesson, a draft open, ``mine`` enrolled."""
    author = services.create_user(roles=("trainer",), email=f"pengampu{mine.id}@example.go.id",
                                  full_name="Pengampu Kursus")
    category = course_services.save_category(None, name=f"Manajemen Proyek {mine.id}", actor=None)
    course = course_services.create_course(actor=author, code=f"PM-{mine.id}", title="Manajemen Proyek", jp=2,
                                           competency_kind="teknis", jalur="nonklasikal", category_id=category.id)
    course.cover_sha256 = store().put_bytes(b"\x89PNG\r\n\x1a\n" + bytes(32))
    module = course_services.add_module(course.draft, title="Modul 1")
    package = b"PK\x03\x04" + bytes(32)
    lesson = course_services.add_lesson(module, kind="file", title="Templat RAB", file_sha256=store().put_bytes(
        package), file_name="templat.zip", file_type="application/zip", file_size=len(package))
    course_services.publish(lesson.module.version, actor=author)
    course_services.ensure_draft(course, actor=author)
    course_services.enrol(mine, course)
    return course


def team_objects(course, *, coauthor, reviewer):
    """``coauthor`` co-authors the course and ``reviewer`` reviews it; the draft gets a second module, so that
    the co-author and the admin each have one to delete."""
    from courses.authoring import services as authoring

    authoring.add_member(course, coauthor, role="coauthor", institution=coauthor.institution, actor=None)
    authoring.add_member(course, reviewer, role="reviewer", actor=None)
    course_services.add_module(course.draft, title="Modul 2")


class World:
    """One user per role, and objects: the owner's own, and somebody else's for every other role."""

    def __init__(self, make_user):
        unit = services.save_unit(None, code="DINKES", name="Dinas Kesehatan", kind="unit", parent_id=None,
                                  actor=None)
        institution = services.save_institution(None, code="UNPAD", name="Universitas Padjadjaran",
                                                kind="universitas", actor=None)
        db.session.commit()
        fields = {"hr": {"unit_id": unit.id}, "coauthor": {"institution_id": institution.id}}
        self.users = {role: make_user(roles=("learner" if role == "owner" else role,), **fields.get(role, {}))
                      for role in ROLES if role != "anonymous"}
        somebody = make_user(full_name="Pemilik Objek", password=None)
        self.objects = {"owner": Objects(unit, institution, self.users["owner"]),
                        "others": Objects(unit, institution, somebody, team={
                            "coauthor": self.users["coauthor"], "reviewer": self.users["hr"]})}
        db.session.commit()

    def of(self, role) -> Objects:
        return self.objects["owner" if role == "owner" else "others"]


# How each URL argument is filled; a new argument name needs a line here and in MISSING.
ARGUMENTS = {
    # A quiz report of the shared course names a lesson that is not a quiz: owners and admins get 404.
    "lesson_key": lambda o: o.course.published_version.lessons()[0].key,
    "user_id": lambda o: o.mine.id,
    "token_id": lambda o: o.token.id,
    "unit_id": lambda o: o.unit.id,
    "institution_id": lambda o: o.institution.id,
    "token": lambda o: o.reset_secret,
    "filename": lambda o: "css/bangkom.css",
    "code": lambda o: o.course.code,
    "course_id": lambda o: o.course.id,
    "lesson_id": lambda o: o.course.published_version.lessons()[0].id,
    "module_id": lambda o: o.course.draft.modules[0].id,
    "item_id": lambda o: o.course.draft.modules[0].id,
    "what": lambda o: "modul",
    "kind": lambda o: "text",
    "part": lambda o: "teks",
    "digest": lambda o: o.course.cover_sha256,
    "sco": lambda o: "SCO-1",
    "path": lambda o: "index.html",
    "category_id": lambda o: o.course.category_id,
    "certificate_code": lambda o: o.certificate.code,
    "certificate_id": lambda o: o.certificate.id,
    "issuer_id": lambda o: o.certificate.issuer_id,
    "template_id": lambda o: o.template.id,
    "record_id": lambda o: o.external_record.id,
    "push_id": lambda o: o.push.id,
    "nip": lambda o: "198503122010011003",
    "question_id": lambda o: o.question.id,
    "attempt_id": lambda o: o.quiz_attempt.id,
    "index": lambda o: 0,
    "action": lambda o: "hapus",
}
MISSING = {
    "lesson_key": "0" * 32,
    "user_id": 999_999_999, "token_id": 999_999_999, "unit_id": 999_999_999, "institution_id": 999_999_999,
    "token": "no-such-reset-link", "filename": "css/no-such-file.css",
    "code": "NO-SUCH-COURSE", "course_id": 999_999_999, "lesson_id": 999_999_999, "module_id": 999_999_999,
    "item_id": 999_999_999, "what": "modul", "kind": "text", "part": "teks", "digest": "0" * 64, "sco": "SCO-1",
    "path": "index.html", "category_id": 999_999_999, "certificate_code": "a" * 32, "certificate_id": 999_999_999,
    "issuer_id": 999_999_999, "template_id": 999_999_999,
    "record_id": 999_999_999, "push_id": 999_999_999, "nip": "199912312020121999",
    "question_id": 999_999_999,
    "attempt_id": 999_999_999, "index": 0, "action": "hapus",
}
# Roles in the order they act: the administrator, whose POSTs do change things, comes last.
ORDER = ("anonymous", "learner", "trainer", "coauthor", "hr", "owner", "admin")


def expected_for(endpoint, method, rule, role):
    methods = EXPECTED[endpoint]
    return methods.get(f"{method} {rule.rule}", methods[method])[role]


def plain_methods(methods) -> list[str]:
    return [key for key in methods if " " not in key]


def rules_of(app, endpoint):
    return [rule for rule in app.url_map.iter_rules() if rule.endpoint == endpoint]


def url_for_rule(rule, objects, missing=False) -> tuple[str, dict]:
    values = {}
    for name in sorted(rule.arguments - set(rule.defaults or {})):
        assert name in ARGUMENTS, f"URL argument {name!r} of {rule.rule}: add how to fill it to ARGUMENTS"
        values[name] = MISSING[name] if missing else ARGUMENTS[name](objects)
    path = rule.build(values, append_unknown=False)[1]
    return path, values


def snapshot() -> dict:
    """Every row of every table, to prove that a refused request changed nothing."""
    db.session.expire_all()
    return {table.name: sorted(map(repr, db.session.execute(select(table)).all()))
            for table in db.metadata.sorted_tables}


def header_problems(response) -> list[str]:
    problems = []
    if "frame-ancestors 'none'" not in response.headers.get("Content-Security-Policy", ""):
        problems.append("no CSP with frame-ancestors 'none'")
    if response.headers.get("X-Content-Type-Options") != "nosniff":
        problems.append("no X-Content-Type-Options: nosniff")
    if response.headers.get("X-Frame-Options") != "DENY":
        problems.append("no X-Frame-Options: DENY")
    if not response.headers.get("Referrer-Policy"):
        problems.append("no Referrer-Policy")
    return problems


def mismatch(response, expected, values) -> str | None:
    """Why the response is not the expected one, or None."""
    status = response.status_code
    if isinstance(expected, To):
        if status not in (302, 303):
            return f"answered {status}, expected a redirect to {expected.path or 'anywhere'}"
        if expected.path is not None:
            location = urlsplit(response.headers["Location"]).path
            if location != expected.path.format(**values):
                return f"redirected to {location}, expected {expected.path.format(**values)}"
    elif status != expected:
        return f"answered {status}, expected {expected}"
    return None


def refused(expected) -> bool:
    return expected == SIGN_IN or expected in (401, 403, 404, 405)


class Browsers:
    """A signed-in test client per role (anonymous: none signed in), made on first use."""

    def __init__(self, app, world):
        self.app, self.world, self.clients = app, world, {}

    def __getitem__(self, role):
        if role not in self.clients:
            client = self.app.test_client()
            if role != "anonymous":
                response = client.post("/akun/masuk", data={"login": self.world.users[role].email,
                                                             "password": PASSWORD})
                assert response.status_code == 302, f"{role} could not sign in"
            self.clients[role] = client
        return self.clients[role]


def request(client, method, path):
    response = client.get(path) if method == "GET" else client.post(path, data={"matrix": "1"})
    response.get_data()  # read and close: static files are streamed from open files
    response.close()
    return response


def attempt(browsers, role, method, rule, objects, expected, missing=False) -> list[str]:
    """Open one URL as one role; the list of everything that was wrong about it."""
    path, values = url_for_rule(rule, objects, missing=missing)
    client = browsers[role]  # signs in first: that changes the database, legitimately
    before = snapshot() if refused(expected) else None
    response = request(client, method, path)
    problems = [p for p in [mismatch(response, expected, values), *header_problems(response)] if p]
    if before is not None and snapshot() != before:
        problems.append("was refused but changed the database")
    return [f"{role}: {method} {path} {problem}" for problem in problems]


def test_every_route_is_in_the_access_matrix(app):
    routes = {(rule.endpoint, method) for rule in app.url_map.iter_rules() for method in METHODS
              if method in rule.methods}
    listed = {(endpoint, method) for endpoint, methods in EXPECTED.items() for method in plain_methods(methods)}
    assert not routes - listed, f"routes without an entry in EXPECTED (decide who may open them): " \
                                f"{sorted(routes - listed)}"
    assert not listed - routes, f"EXPECTED lists routes that do not exist: {sorted(listed - routes)}"
    rules = {(rule.endpoint, rule.rule) for rule in app.url_map.iter_rules()}
    for endpoint, methods in EXPECTED.items():
        for key, by_role in methods.items():
            assert set(by_role) == set(ROLES), (endpoint, key)
            if " " in key:
                assert (endpoint, key.split(" ", 1)[1]) in rules, f"{endpoint}: no rule {key}"
    for rule in app.url_map.iter_rules():
        unknown = rule.arguments - set(ARGUMENTS)
        assert not unknown, f"{rule.rule}: add how to fill {sorted(unknown)} to ARGUMENTS and MISSING"
    assert set(ARGUMENTS) == set(MISSING)


def cases():
    for endpoint, methods in EXPECTED.items():
        for method in plain_methods(methods):
            yield pytest.param(endpoint, method, id=f"{endpoint}-{method}")


@pytest.mark.parametrize(("endpoint", "method"), list(cases()))
def test_access_matrix(app, make_user, endpoint, method):
    """Each role in turn opens every URL of the endpoint; all that differs from EXPECTED is listed."""
    world = World(make_user)
    browsers = Browsers(app, world)
    rules = rules_of(app, endpoint)
    assert rules, f"{endpoint} is no longer a route"
    problems = []
    for role in ORDER:
        for rule in rules:
            problems += attempt(browsers, role, method, rule, world.of(role),
                                expected_for(endpoint, method, rule, role))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("role", ["anonymous", "learner", "owner", "admin"])
def test_urls_of_missing_objects_answer_404(app, make_user, role):
    """Who may open a page gets 404 for an object that does not exist; who may not is still refused."""
    world = World(make_user)
    browsers = Browsers(app, world)
    problems = []
    for endpoint, methods in EXPECTED.items():
        for method in plain_methods(methods):
            for rule in rules_of(app, endpoint):
                if not rule.arguments - set(rule.defaults or {}):
                    continue
                normal = expected_for(endpoint, method, rule, role)
                expected = normal if refused(normal) else 404
                problems += attempt(browsers, role, method, rule, world.of(role), expected, missing=True)
    assert not problems, "\n".join(problems)


def test_static_files_outside_the_static_folder_are_not_served(client):
    assert client.get("/static/../config.py").status_code == 404
    assert client.get("/static/%2e%2e/config.py").status_code == 404


@pytest.mark.parametrize("role", ["anonymous", "learner", "admin"])
def test_other_methods_answer_405(app, make_user, role):
    """A state change is never a GET, and pages that only show something accept no POST."""
    world = World(make_user)
    browsers = Browsers(app, world)
    # A URL may answer one method at one endpoint and another at a second (the quiz attempt page and its form).
    served = {(rule.rule, method) for rule in app.url_map.iter_rules() for method in rule.methods}
    problems = []
    for endpoint, methods in EXPECTED.items():
        for method in METHODS:
            if method not in methods:
                for rule in rules_of(app, endpoint):
                    if (rule.rule, method) not in served:
                        problems += attempt(browsers, role, method, rule, world.of(role), 405)
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- a learner knocking on admin doors


@pytest.fixture
def learner_client(app, make_user):
    learner = make_user(email="pelajar@example.go.id")
    client = app.test_client()
    assert client.post("/akun/masuk", data={"login": learner.email, "password": PASSWORD}).status_code == 302
    return client


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_learner_cannot_deactivate_anyone(app, make_user, learner_client):
    colleague = make_user(email="rekan@example.go.id")
    events = count(AuditEvent)
    response = learner_client.post(f"/admin/pengguna/{colleague.id}/status", data={"active": "0"})
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(User, colleague.id).is_active
    assert count(AuditEvent) == events
    # …and the colleague can still sign in.
    other = app.test_client()
    assert other.post("/akun/masuk", data={"login": colleague.email, "password": PASSWORD}).status_code == 302


def test_learner_cannot_create_accounts_or_grant_roles(learner_client):
    users = count(User)
    response = learner_client.post("/admin/pengguna/baru", data={
        "email": "penyusup@example.go.id", "full_name": "Penyusup", "roles": ["admin"], "locale": "id"})
    assert response.status_code == 403
    assert count(User) == users
    assert db.session.scalar(select(User).where(User.email == "penyusup@example.go.id")) is None


def test_learner_cannot_give_themselves_the_admin_role(learner_client):
    me = db.session.scalar(select(User).where(User.email == "pelajar@example.go.id"))
    response = learner_client.post(f"/admin/pengguna/{me.id}", data={
        "email": me.email, "full_name": me.full_name, "roles": ["learner", "admin"], "locale": "id"})
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(User, me.id).roles == {"learner"}


def test_learner_cannot_mint_or_revoke_api_tokens(make_user, learner_client):
    owner = make_user(roles=("hr",))
    token, secret = services.create_api_token(owner, name="SIMPEG", scopes=["records:read"], actor=None)
    db.session.commit()
    response = learner_client.post("/admin/token", data={
        "email": "pelajar@example.go.id", "name": "mine", "scopes": ["records:read", "certificates:read"]})
    assert response.status_code == 403
    assert count(ApiToken) == 1
    assert learner_client.post(f"/admin/token/{token.id}/cabut").status_code == 403
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).revoked_at is None
    assert services.token_for_secret(secret) is not None


def test_learner_cannot_move_units(learner_client):
    unit = services.save_unit(None, code="BKD", name="Badan Kepegawaian Daerah", kind="unit", parent_id=None,
                              actor=None)
    db.session.commit()
    response = learner_client.post(f"/admin/unit/{unit.id}", data={
        "code": "BKD", "name": "Diganti", "kind": "unit", "parent_id": "", "is_active": "y"})
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(OrgUnit, unit.id).name == "Badan Kepegawaian Daerah"


def test_admin_can_do_what_the_learner_was_refused(app, make_user, login, client):
    """The positive control of the tests above: the same requests do work for an administrator."""
    colleague = make_user(email="rekan@example.go.id")
    login(make_user(roles=("admin",)))
    assert client.post(f"/admin/pengguna/{colleague.id}/status", data={"active": "0"}).status_code == 302
    db.session.expire_all()
    assert not db.session.get(User, colleague.id).is_active
    response = client.post("/admin/pengguna/baru", data={
        "email": "baru@example.go.id", "full_name": "Pegawai Baru", "roles": ["learner"], "locale": "id"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert db.session.scalar(select(User).where(User.email == "baru@example.go.id")) is not None


def test_token_list_shows_tokens_without_their_secret(make_user, login, client):
    owner = make_user(roles=("hr",))
    _token, secret = services.create_api_token(
        owner, name="SIMPEG", scopes=["records:read"], actor=None,
        expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=30))
    db.session.commit()
    login(make_user(roles=("admin",)))
    page = client.get("/admin/token").get_data(as_text=True)
    assert "SIMPEG" in page
    assert secret not in page
    assert secret[:12] in page, "the token's visible prefix identifies it"
