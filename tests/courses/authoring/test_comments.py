"""Review comments: on the version, on a lesson, on a passage quoted from it; resolvable; kept with the version."""

from __future__ import annotations

import pytest

from courses import services
from courses.authoring import services as authoring
from lms.extensions import db
from lms.services import ValidationFailed


def test_a_comment_on_a_quoted_passage_is_shown_on_the_lesson_text(team_course, reviewer, browser_for):
    lesson = team_course.draft.lessons()[0]
    client = browser_for(reviewer)
    url = f"/kelola/kursus/{team_course.id}/telaah"
    response = client.post(url + "/komentar", data={"lesson_id": str(lesson.id), "quote": "kegiatan   sementara",
                                                    "body": "Beri contoh <proyek> daerah."})
    assert response.status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert "<mark>kegiatan sementara</mark>" in page  # spaces as in the text, however the quote was typed
    assert "Beri contoh &lt;proyek&gt; daerah." in page


def test_a_quote_must_come_from_the_lesson(team_course, reviewer):
    lesson = team_course.draft.lessons()[0]
    with pytest.raises(ValidationFailed) as refused:
        authoring.add_comment(team_course.draft, actor=reviewer, body="?", lesson=lesson, quote="tidak ada di teks")
    assert "quote" in refused.value.errors
    with pytest.raises(ValidationFailed):
        authoring.add_comment(team_course.draft, actor=reviewer, body="", lesson=lesson)
    other = team_course.published_version.lessons()[0]
    with pytest.raises(ValidationFailed):
        authoring.add_comment(team_course.draft, actor=reviewer, body="Salah versi.", lesson=other)


def test_comments_are_resolved_and_stay_with_their_version(team_course, trainer, coauthor, reviewer, browser_for):
    draft = team_course.draft
    comment = authoring.add_comment(draft, actor=reviewer, body="Judul kurang jelas.", lesson=draft.lessons()[1])
    db.session.commit()
    client = browser_for(coauthor)
    url = f"/kelola/kursus/{team_course.id}/telaah"
    assert client.post(url + "/komentar/selesai", data={"comment_id": str(comment.id)}).status_code == 302
    db.session.expire_all()
    assert comment.resolved_at is not None
    assert comment.resolved_by_id == coauthor.id
    authoring.transition(draft, "submit", actor=coauthor)
    authoring.transition(draft, "approve", actor=reviewer)
    services.publish(draft, actor=trainer)
    new_draft = services.ensure_draft(team_course, actor=trainer)
    db.session.commit()
    assert authoring.comments(new_draft) == []
    assert [c.body for c in authoring.comments(draft)] == ["Judul kurang jelas."]
    page = client.get(url + f"?versi={draft.id}").get_data(as_text=True)
    assert "Judul kurang jelas." in page


def test_outsiders_neither_read_nor_write_comments(team_course, make_user, browser_for, learner):
    for user in (make_user(roles=("trainer",)), make_user(roles=("coauthor",)), learner):
        client = browser_for(user)
        url = f"/kelola/kursus/{team_course.id}/telaah"
        assert client.get(url).status_code == 403
        assert client.post(url + "/komentar", data={"body": "Masuk?"}).status_code == 403
    assert authoring.comments(team_course.draft) == []
