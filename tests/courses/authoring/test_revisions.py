"""Lesson history: every saved change is a revision (author, time, content); readable diffs between any two
revisions and between versions; restoring an old revision; and two co-authors saving the same lesson never lose
work (optimistic concurrency)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from courses import services
from courses.authoring import diff
from courses.authoring import services as authoring
from courses.authoring.models import LessonRevision
from lms.extensions import db
from tests.courses.helpers import Tags

FORM = {"title": "Pengantar", "completion_rule": "viewed", "is_required": "y", "minutes": "10"}


def lesson_of(course):
    return course.draft.lessons()[0]


def test_the_first_save_keeps_the_original_then_each_save_is_a_revision(team_course, coauthor, trainer):
    lesson = lesson_of(team_course)
    original = lesson.body_markdown
    authoring.save_lesson(lesson, actor=coauthor, base_revision=0, body_markdown="Versi Hendra.")
    authoring.save_lesson(lesson, actor=trainer, base_revision=2, body_markdown="Versi Siti.")
    authoring.save_lesson(lesson, actor=trainer, base_revision=3, body_markdown="Versi Siti.")  # no change
    revisions = authoring.revisions(lesson.key)
    assert [(r.number, r.action, r.author_id, r.body_markdown) for r in revisions] == [
        (3, "edit", trainer.id, "Versi Siti."), (2, "edit", coauthor.id, "Versi Hendra."),
        (1, "original", None, original)]
    assert all(r.version_id == team_course.draft.id and r.created_at is not None for r in revisions)


def test_a_save_based_on_an_old_revision_is_refused(team_course, coauthor, trainer):
    lesson = lesson_of(team_course)
    authoring.save_lesson(lesson, actor=trainer, base_revision=0, body_markdown="Versi Siti.")
    db.session.commit()
    with pytest.raises(authoring.Conflict) as refused:
        authoring.save_lesson(lesson, actor=coauthor, base_revision=0, body_markdown="Versi Hendra.")
    assert refused.value.current.number == 2
    assert refused.value.current.body_markdown == "Versi Siti."
    db.session.rollback()
    assert lesson_of(team_course).body_markdown == "Versi Siti."


def test_two_coauthors_edit_the_same_lesson_and_nothing_is_lost(team_course, trainer, coauthor, browser_for):
    lesson = lesson_of(team_course)
    url = f"/kelola/pelajaran/{lesson.id}"
    siti, hendra = browser_for(trainer), browser_for(coauthor)
    # Both open the form: it carries the revision it is based on.
    for client in (siti, hendra):
        form = client.get(url).get_data(as_text=True)
        assert 'name="base_revision"' in form
        assert 'value="0"' in form
    assert siti.post(url, data=FORM | {"body_markdown": "Proyek adalah kegiatan sementara.\nContoh Siti.",
                                       "base_revision": "0"}).status_code == 302
    hendras_text = "Proyek adalah kegiatan sementara.\nContoh <b>Hendra</b> & UNDIP."
    response = hendra.post(url, data=FORM | {"body_markdown": hendras_text, "base_revision": "0"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Somebody else saved this lesson first" in page
    assert "Widyaiswara Utama" in page, "whose version it is"
    # Hendra's text is still in the form, escaped; Siti's is shown with the differences marked.
    assert "Contoh &lt;b&gt;Hendra&lt;/b&gt; &amp; UNDIP." in page
    assert "<ins>" in page
    assert "<del>" in page
    assert "<b>Hendra</b>" not in page
    db.session.expire_all()
    assert lesson_of(team_course).body_markdown.endswith("Contoh Siti."), "nothing of Hendra's was saved"
    # The form is now based on Siti's revision: Hendra merges and saves.
    tags = Tags(page)
    base = next(attrs["value"] for tag, attrs in tags.tags if attrs.get("name") == "base_revision")
    assert base == "2"
    merged = "Proyek adalah kegiatan sementara.\nContoh Siti.\nContoh Hendra."
    assert hendra.post(url, data=FORM | {"body_markdown": merged, "base_revision": base}).status_code == 302
    db.session.expire_all()
    assert lesson_of(team_course).body_markdown == merged
    authors = [r.author_id for r in authoring.revisions(lesson.key)]
    assert authors == [coauthor.id, trainer.id, None]


def test_diffs_are_escaped_and_mark_the_changed_words():
    rows = diff.side_by_side("Satu\n<script>alert(1)</script>\nTiga", "Satu\n<script>alert(2)</script>\nTiga")
    changed = [row for row in rows if row is not None and row.tag == "replace"]
    assert len(changed) == 1
    assert "<script>" not in changed[0].old + changed[0].new
    assert "&lt;script&gt;" in changed[0].old
    assert "<del>1</del>" in changed[0].old
    assert "<ins>2</ins>" in changed[0].new
    assert str(diff.inline("Perencanaan proyek", "Perencanaan program")) == \
        "Perencanaan <del>proyek</del><ins>program</ins>"


def test_the_history_page_compares_any_two_revisions_and_restores_one(team_course, trainer, coauthor, browser_for):
    lesson = lesson_of(team_course)
    authoring.save_lesson(lesson, actor=coauthor, base_revision=0, body_markdown="Kalimat kedua.")
    authoring.save_lesson(lesson, actor=trainer, base_revision=2, body_markdown="Kalimat ketiga.")
    db.session.commit()
    client = browser_for(coauthor)
    page = client.get(f"/kelola/pelajaran/{lesson.id}/riwayat?a=1&b=3").get_data(as_text=True)
    assert "From r1 to r3" in page
    assert "Hendra Wijaya" in page
    assert "<ins>" in page
    assert client.post(f"/kelola/pelajaran/{lesson.id}/riwayat/pulihkan", data={"number": "2"}).status_code == 302
    db.session.expire_all()
    assert lesson_of(team_course).body_markdown == "Kalimat kedua."
    newest = authoring.revisions(lesson.key)[0]
    assert (newest.number, newest.action, newest.restored_from, newest.author_id) == (4, "restore", 2, coauthor.id)
    # A revision number the lesson does not have.
    assert client.post(f"/kelola/pelajaran/{lesson.id}/riwayat/pulihkan", data={"number": "99"}).status_code == 404


def test_revisions_continue_across_versions(team_course, trainer, coauthor, reviewer):
    lesson = lesson_of(team_course)
    authoring.save_lesson(lesson, actor=coauthor, base_revision=0, body_markdown="Untuk versi 2.")
    authoring.transition(team_course.draft, "submit", actor=coauthor)
    authoring.transition(team_course.draft, "approve", actor=reviewer)
    services.publish(team_course.draft, actor=trainer)
    draft = services.ensure_draft(team_course, actor=trainer)
    copy = draft.lessons()[0]
    assert authoring.revision_number(copy) == 2
    authoring.save_lesson(copy, actor=trainer, base_revision=2, body_markdown="Untuk versi 3.")
    numbers = {r.number: r.version_id for r in db.session.scalars(select(LessonRevision))}
    assert numbers[3] == draft.id
    assert numbers[2] != draft.id


def test_the_changes_between_two_versions(team_course, trainer, coauthor, browser_for):
    draft = team_course.draft
    lessons = draft.lessons()
    services.update_lesson(lessons[0], body_markdown="Proyek adalah kegiatan sementara.\nProyek punya sponsor.")
    services.delete_lesson(lessons[1])
    services.add_lesson(draft.modules[0], kind="text", title="Penutup <baru>", body_markdown="Ringkasan.")
    db.session.commit()
    entries = {e["lesson"].title: e["status"] for e in authoring.version_diff(team_course.published_version, draft)}
    assert entries == {"Pengantar": "changed", "Penutup <baru>": "added", "Perencanaan": "removed"}
    page = browser_for(coauthor).get(f"/kelola/kursus/{team_course.id}/bandingkan").get_data(as_text=True)
    assert "Penutup &lt;baru&gt;" in page
    assert "<baru>" not in page
    assert "<ins>sponsor</ins>" in page
    assert "Perencanaan" in page
