"""In headless Chromium: a trainer invites a university lecturer, who creates her account from the e-mail's link;
she and the trainer edit one draft; the reviewer asks for a change, which she makes; the reviewer approves and the
trainer publishes version 2. A learner of version 1 keeps studying version 1, and the course page credits the
co-author and her university."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from courses import services
from courses.authoring import services as authoring
from courses.models import Course, Enrolment
from lms.extensions import db
from lms.models import User
from tests.browser_support import BROWSER, DESKTOP, say, sign_in, snap, wait_for
from tests.courses.helpers import mails

pytestmark = BROWSER

OLD_TEXT = "Proyek adalah kegiatan sementara untuk menghasilkan produk yang unik."
TRAINER_TEXT = OLD_TEXT + "\nContoh: aplikasi antrean di Dukcapil."
COAUTHOR_TEXT = "Rencana proyek menjawab apa, siapa, kapan, dan berapa."
FIXED_TEXT = COAUTHOR_TEXT + "\nRisiko dicatat dalam daftar risiko."


@pytest.fixture
def world(make_course, trainer, make_user, learner, enrol, undip):
    course = make_course(code="PM-01", title="Manajemen Proyek Pemerintah", lessons=(
        {"title": "Apa itu proyek?", "body_markdown": OLD_TEXT},
        {"title": "Merencanakan proyek", "body_markdown": "Rencana proyek."}))
    reviewer = make_user(roles=("hr",), email="penelaah@example.go.id", full_name="Ratna Penelaah", locale="id")
    authoring.add_member(course, reviewer, role="reviewer", actor=trainer)
    enrolment = enrol(learner, course)
    services.record_visit(enrolment, course.published_version.lessons()[0])
    db.session.commit()
    info = SimpleNamespace(id=course.id, code=course.code, v1=course.published_version.id, trainer=trainer.email,
                           reviewer=reviewer.email, learner=learner.email, undip=undip.id)
    db.session.close()
    return info


def lesson_ids(course_id: int) -> list[int]:
    course = db.session.get(Course, course_id)
    return [lesson.id for lesson in course.draft.lessons()]


def test_a_university_coauthor_and_a_trainer_write_review_and_publish(app, live_server, new_page, world):
    from playwright.sync_api import expect

    base = live_server
    siti = new_page(DESKTOP)
    siti.on("dialog", lambda dialog: dialog.accept())
    sign_in(siti, base, world.trainer)

    # The trainer opens a draft and invites the lecturer from the team page.
    siti.goto(f"{base}/kelola/kursus/{world.id}/draf")
    siti.locator(f"form[action$='/kelola/kursus/{world.id}/draf/buka'] button").click()
    siti.wait_for_url(re.compile(r"/draf$"))
    siti.goto(f"{base}/kelola/kursus/{world.id}/penyusun")
    before = mails()
    siti.fill("#email", "sari.dosen@undip.example")
    siti.select_option("#role", "coauthor")
    siti.select_option("#institution_id", str(world.undip))
    siti.locator("form[action$='/penyusun/undang'] button[type=submit]").click()
    siti.wait_for_url(re.compile(r"/penyusun$"))
    expect(siti.locator(".flashes")).to_contain_text("sari.dosen@undip.example")
    mail = wait_for(lambda: mails() - before, bool, what="the invitation e-mail").pop().read_text()
    link = re.search(r"http://\S+(/undangan/\S+)", mail).group(1)

    # The lecturer has no account: she creates it from the link and lands on the draft.
    sari = new_page(DESKTOP)
    sari.goto(base + link)
    sari.fill("#full_name", "Sari Dosen")
    sari.fill("#password", "kurikulum bersama 1")
    sari.fill("#confirm", "kurikulum bersama 1")
    sari.locator("main form button[type=submit]").click()
    sari.wait_for_url(f"{base}/kelola/kursus/{world.id}/draf")
    expect(sari.locator(f"form[action$='/kelola/kursus/{world.id}/terbitkan']")).to_have_count(0)
    expect(sari.locator("nav.tabs")).not_to_contain_text(say(app, "Learners"))
    snap(sari, "coauthoring-draft")

    first, second = wait_for(lambda: lesson_ids(world.id), lambda ids: len(ids) == 2, what="the draft")

    # Both edit the same draft: the trainer the first lesson, the lecturer the second.
    siti.goto(f"{base}/kelola/pelajaran/{first}")
    siti.fill("#body_markdown", TRAINER_TEXT)
    siti.locator("form[data-upload] button[type=submit]").click()
    siti.wait_for_url(re.compile(r"/draf#lesson-"))
    sari.goto(f"{base}/kelola/pelajaran/{second}")
    sari.fill("#body_markdown", COAUTHOR_TEXT)
    sari.locator("form[data-upload] button[type=submit]").click()
    sari.wait_for_url(re.compile(r"/draf#lesson-"))

    # She submits the draft for review; it is locked now.
    sari.locator("form:has(input[name=transition][value=submit]) button").click()
    sari.wait_for_url(re.compile(r"/telaah$"))
    sari.goto(f"{base}/kelola/pelajaran/{second}")
    expect(sari.locator("main")).to_contain_text(say(app, "The draft is submitted for review or approved: nobody "
                                                          "edits it until an owner reopens it or the reviewer asks "
                                                          "for changes."))

    # The reviewer comments on a quoted passage and asks for a change.
    ratna = new_page(DESKTOP)
    sign_in(ratna, base, world.reviewer)
    ratna.goto(f"{base}/kelola/kursus/{world.id}/telaah")
    ratna.select_option("#lesson_id", str(second))
    ratna.fill("#quote", "apa, siapa, kapan, dan berapa")
    ratna.fill("#body", "Tambahkan pengelolaan risiko.")
    ratna.locator("#new-comment button[type=submit]").click()
    ratna.wait_for_url(re.compile(r"/telaah#comment-\d+$"))
    expect(ratna.locator("mark")).to_have_text("apa, siapa, kapan, dan berapa")
    ratna.fill("#comment-request_changes", "Lengkapi dengan risiko proyek.")
    ratna.locator("form:has(input[value=request_changes]) button").click()
    ratna.wait_for_url(re.compile(r"/telaah$"))
    snap(ratna, "coauthoring-review")

    # The lecturer reads the request, makes the change, resolves the comment and submits again.
    sari.goto(f"{base}/kelola/kursus/{world.id}/telaah")
    expect(sari.locator("main")).to_contain_text("Lengkapi dengan risiko proyek.")
    sari.goto(f"{base}/kelola/pelajaran/{second}")
    sari.fill("#body_markdown", FIXED_TEXT)
    sari.locator("form[data-upload] button[type=submit]").click()
    sari.wait_for_url(re.compile(r"/draf#lesson-"))
    sari.goto(f"{base}/kelola/kursus/{world.id}/telaah")
    sari.locator(f"#lesson-{second} form[action$='/komentar/selesai'] button").click()
    sari.wait_for_url(re.compile(r"/telaah#comment-\d+$"))
    sari.locator("form:has(input[name=transition][value=submit]) button").first.click()
    sari.wait_for_url(re.compile(r"/telaah$"))

    # The history shows who changed what.
    sari.goto(f"{base}/kelola/pelajaran/{second}/riwayat")
    expect(sari.locator("table.diff ins").first).to_be_visible()
    expect(sari.locator("main")).to_contain_text("Sari Dosen")

    # The reviewer approves; the trainer publishes version 2.
    ratna.goto(f"{base}/kelola/kursus/{world.id}/telaah")
    ratna.locator("form:has(input[value=approve]) button").click()
    ratna.wait_for_url(re.compile(r"/telaah$"))
    siti.goto(f"{base}/kelola/kursus/{world.id}/draf")
    siti.fill("#change_summary", "Contoh daerah dan pengelolaan risiko.")
    siti.locator(f"form[action$='/kelola/kursus/{world.id}/terbitkan'] button[type=submit]").click()
    siti.wait_for_url(f"{base}/kelola/kursus/{world.id}")
    expect(siti.locator(".flashes")).to_contain_text(say(app, "Version %(n)s of %(code)s is published.", "en", n=2,
                                                         code=world.code))  # the trainer reads English

    # The learner of version 1 stays on it and still reads the old text; the page credits the co-author.
    state = wait_for(lambda: db.session.execute(select(Enrolment.version_id).join(User, User.id == Enrolment.user_id)
                                                .where(User.email == world.learner)).scalar_one(),
                     lambda version_id: version_id is not None, what="the enrolment")
    assert state == world.v1
    budi = new_page(DESKTOP)
    sign_in(budi, base, world.learner)
    budi.goto(f"{base}/kursus/{world.code}")
    expect(budi.locator("main")).to_contain_text("Sari Dosen")
    expect(budi.locator("main")).to_contain_text("Universitas Diponegoro")
    budi.locator(".outline a").first.click()
    expect(budi.locator("main")).to_contain_text(OLD_TEXT)
    expect(budi.locator("main")).not_to_contain_text("Dukcapil")
    assert [page.errors for page in (siti, sari, ratna, budi)] == [[], [], [], []], "script errors"
