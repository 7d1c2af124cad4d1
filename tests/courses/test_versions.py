"""Versioned content: published versions never change, drafts are copies, publishing numbers versions and
learners move to a new version only when a trainer moves them, keeping progress on unchanged lessons."""

from __future__ import annotations

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from courses import services
from courses.models import CourseVersion, Lesson, LessonProgress, Module
from lms.extensions import db
from lms.services import ValidationFailed
from tests.courses.helpers import lesson_titles, study


def test_published_version_refuses_every_edit(make_course, trainer):
    course = make_course()
    version = course.published_version
    module = version.modules[0]
    lesson = module.lessons[0]
    before = (lesson_titles(version), lesson.content_digest, [m.title for m in version.modules])
    attempts = [
        lambda: services.add_module(version, title="Modul baru"),
        lambda: services.update_module(module, title="Diganti"),
        lambda: services.delete_module(module),
        lambda: services.add_lesson(module, kind="text", title="Baru"),
        lambda: services.update_lesson(lesson, title="Diganti"),
        lambda: services.delete_lesson(lesson),
        lambda: services.move(lesson, 1),
        lambda: services.move(module, 1),
        lambda: services.reorder(module, [x.id for x in reversed(module.lessons)]),
        lambda: services.reorder(version, [m.id for m in version.modules]),
        lambda: services.publish(version, actor=trainer),
    ]
    for attempt in attempts:
        with pytest.raises(services.NotEditable):
            attempt()
    db.session.commit()
    db.session.expire_all()
    version = db.session.get(CourseVersion, version.id)
    assert (lesson_titles(version), version.lessons()[0].content_digest,
            [m.title for m in version.modules]) == before
    assert version.state == "published"
    assert version.number == 1


def test_draft_is_a_copy_with_the_same_lesson_keys(make_course, trainer):
    course = make_course(modules={"Modul 1": ["Pengantar", "Perencanaan"], "Modul 2": ["Penutup"]})
    published = course.published_version
    draft = services.ensure_draft(course, actor=trainer)
    db.session.commit()

    assert draft.id != published.id
    assert draft.is_draft
    assert draft.based_on_id == published.id
    assert [m.title for m in draft.modules] == ["Modul 1", "Modul 2"]
    assert lesson_titles(draft) == lesson_titles(published)
    assert [x.key for x in draft.lessons()] == [x.key for x in published.lessons()]
    assert [x.content_digest for x in draft.lessons()] == [x.content_digest for x in published.lessons()]
    assert [x.body_html for x in draft.lessons()] == [x.body_html for x in published.lessons()]
    assert not {x.id for x in draft.lessons()} & {x.id for x in published.lessons()}
    assert draft.objectives == published.objectives
    # Asking again gives the same draft, and editing it leaves the published version alone.
    assert services.ensure_draft(course, actor=trainer).id == draft.id
    services.update_lesson(draft.lessons()[0], title="Pengantar (revisi)")
    db.session.commit()
    db.session.expire_all()
    assert lesson_titles(db.session.get(CourseVersion, published.id))[0] == "Pengantar"


def test_publishing_numbers_versions_and_archives_the_previous(make_course, trainer):
    course = make_course()
    first = course.published_version
    assert (first.number, first.state) == (1, "published")
    numbers = [1]
    for n in (2, 3):
        draft = services.ensure_draft(course, actor=trainer)
        services.add_lesson(draft.modules[0], kind="text", title=f"Tambahan {n}")
        version = services.publish(draft, actor=trainer, change_summary=f"Versi {n}")
        db.session.commit()
        numbers.append(version.number)
        assert course.published_version_id == version.id
        assert version.change_summary == f"Versi {n}"
        assert version.published_by_id == trainer.id
    assert numbers == [1, 2, 3]
    states = db.session.execute(select(CourseVersion.number, CourseVersion.state).where(
        CourseVersion.course_id == course.id).order_by(CourseVersion.number)).tuples().all()
    assert states == [(1, "archived"), (2, "archived"), (3, "published")]
    assert course.draft is None


def test_the_database_refuses_a_second_draft(make_course):
    course = make_course(publish=False)
    assert course.draft is not None
    db.session.add(CourseVersion(course_id=course.id, state="draft"))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    count = db.session.scalar(select(func.count()).select_from(CourseVersion).where(
        CourseVersion.course_id == course.id, CourseVersion.state == "draft"))
    assert count == 1


def test_several_published_versions_may_coexist_with_one_draft(make_course, trainer):
    """The partial index only concerns drafts: archived and published versions are not limited."""
    course = make_course()
    for _ in range(2):
        services.publish(services.ensure_draft(course, actor=trainer), actor=trainer)
    services.ensure_draft(course, actor=trainer)
    db.session.commit()
    assert sorted(v.state for v in course.versions) == ["archived", "archived", "draft", "published"]


def test_checklist_errors_block_publishing(make_course, trainer):
    course = make_course(publish=False, lessons=(), jp=0)
    draft = course.draft
    empty = draft.modules[0]
    errors = [str(message) for level, message in services.draft_checklist(draft) if level == "error"]
    assert any("JP" in message for message in errors)
    assert any("Modul 1" in message for message in errors)
    with pytest.raises(ValidationFailed) as refused:
        services.publish(draft, actor=trainer)
    assert len(refused.value.errors["publish"]) == len(errors)
    db.session.rollback()
    assert db.session.get(CourseVersion, draft.id).state == "draft"
    assert course.published_version_id is None

    # Fixing the errors (warnings may stay) allows publishing.
    services.update_course(course, actor=trainer, jp=3)
    services.add_lesson(empty, kind="text", title="Pengantar", is_required=False)
    errors = [m for level, m in services.draft_checklist(draft) if level == "error"]
    assert len(errors) == 1, "a course nobody could complete is not publishable"
    services.add_lesson(empty, kind="text", title="Inti")
    assert [level for level, _m in services.draft_checklist(draft)] == ["warning"]  # no post-test yet
    assert services.publish(draft, actor=trainer).number == 1


def test_checklist_flags_a_version_without_modules(make_course):
    course = make_course(publish=False, modules={})
    with force_locale("en"):
        messages = [str(m) for level, m in services.draft_checklist(course.draft) if level == "error"]
    assert messages == ["The version has no modules."]


def test_editing_the_draft_changes_the_digest_only_of_changed_lessons(make_course, trainer):
    course = make_course()
    draft = services.ensure_draft(course, actor=trainer)
    first, second, third = draft.lessons()
    digests = [first.content_digest, second.content_digest, third.content_digest]
    services.update_lesson(second, body_markdown="Isi yang **baru**.")
    services.update_lesson(third, minutes=45)  # the estimate is not content a learner studies
    assert [first.content_digest, third.content_digest] == [digests[0], digests[2]]
    assert second.content_digest != digests[1]


def test_moving_learners_keeps_progress_of_unchanged_lessons_only(make_course, trainer, learner, enrol):
    course = make_course(lessons=("Pengantar", "Perencanaan", "Evaluasi"))
    enrolment = enrol(learner, course)
    v1 = course.published_version
    intro, planning, evaluation = v1.lessons()
    study(enrolment, [intro, planning])
    assert enrolment.progress_percent == 67

    draft = services.ensure_draft(course, actor=trainer)
    d_intro, d_planning, d_evaluation = draft.lessons()
    services.update_lesson(d_planning, body_markdown="Perencanaan menurut aturan baru.")
    services.delete_lesson(d_evaluation)
    services.add_lesson(draft.modules[0], kind="text", title="Studi kasus")
    v2 = services.publish(draft, actor=trainer, change_summary="Aturan baru")
    db.session.commit()

    # Publishing alone does not move anybody.
    db.session.refresh(enrolment)
    assert enrolment.version_id == v1.id
    assert enrolment.progress_percent == 67

    assert services.move_learners(course, actor=trainer) == 1
    db.session.commit()
    db.session.refresh(enrolment)
    assert enrolment.version_id == v2.id
    rows = services.progress_rows(enrolment)
    assert set(rows) == {intro.key}, "the changed lesson starts again, the removed one is forgotten"
    assert rows[intro.key].state == "done"
    assert rows[intro.key].lesson_id == d_intro.id
    assert enrolment.progress_percent == 33  # 1 of the 3 lessons of v2
    assert enrolment.state == "active"
    assert services.resume_lesson(enrolment).id == d_planning.id, "resume follows the lesson to v2"
    # Moving again changes nothing.
    assert services.move_learners(course, actor=trainer) == 0


def test_moving_learners_leaves_completed_enrolments_alone(make_course, trainer, learner, make_user, enrol):
    course = make_course(lessons=("Pengantar",))
    done = enrol(learner, course)
    study(done)
    assert done.state == "completed"
    other = enrol(make_user(), course)
    draft = services.ensure_draft(course, actor=trainer)
    services.add_lesson(draft.modules[0], kind="text", title="Tambahan")
    v2 = services.publish(draft, actor=trainer)
    assert services.move_learners(course, actor=trainer) == 1
    db.session.commit()
    db.session.refresh(done)
    db.session.refresh(other)
    assert done.version_id != v2.id
    assert done.state == "completed"
    assert other.version_id == v2.id


def test_moved_learner_whose_lessons_are_all_unchanged_completes(make_course, trainer, learner, enrol):
    """When v2 only adds an optional lesson, the done lessons carry over and the course completes."""
    course = make_course(lessons=("Pengantar",))
    enrolment = enrol(learner, course)
    enrolment_id = enrolment.id
    draft = services.ensure_draft(course, actor=trainer)
    services.add_lesson(draft.modules[0], kind="text", title="Bacaan tambahan", is_required=False)
    services.publish(draft, actor=trainer)
    db.session.commit()
    # Studying v1's only lesson after v2 is out completes the course on v1 already.
    study(enrolment)
    assert enrolment.state == "completed"
    assert db.session.scalar(select(func.count()).select_from(LessonProgress).where(
        LessonProgress.enrolment_id == enrolment_id)) == 1


def test_learners_on_v1_keep_studying_v1_when_v2_is_published(make_course, trainer, learner, enrol):
    course = make_course(lessons=("Pengantar", "Perencanaan"))
    enrolment = enrol(learner, course)
    study(enrolment, enrolment.version.lessons()[:1])
    v1_ids = [x.id for x in course.published_version.lessons()]
    draft = services.ensure_draft(course, actor=trainer)
    services.update_lesson(draft.lessons()[0], title="Pengantar baru")
    services.add_lesson(draft.modules[0], kind="text", title="Materi baru")
    services.publish(draft, actor=trainer)
    db.session.commit()
    db.session.expire_all()

    assert [x.id for x in enrolment.version.lessons()] == v1_ids
    assert lesson_titles(enrolment.version) == ["Pengantar", "Perencanaan"]
    assert services.resume_lesson(enrolment).id == v1_ids[0]
    assert enrolment.progress_percent == 50
    # A newcomer gets v2.
    newcomer = services.enrol(trainer, course)
    assert lesson_titles(newcomer.version) == ["Pengantar baru", "Perencanaan", "Materi baru"]


def test_move_and_reorder_in_a_draft(make_course, trainer):
    course = make_course(publish=False, modules={"A": ["a1", "a2", "a3"], "B": ["b1"]})
    draft = course.draft
    module_a, module_b = draft.modules
    services.move(module_a.lessons[0], 1)
    assert [x.title for x in module_a.lessons] == ["a2", "a1", "a3"]
    services.move(module_a.lessons[0], -1)  # already first: stays
    assert [x.title for x in module_a.lessons] == ["a2", "a1", "a3"]
    services.move(module_b, -1)
    assert [m.title for m in draft.modules] == ["B", "A"]
    services.reorder(module_a, [module_a.lessons[2].id, module_a.lessons[0].id, module_a.lessons[1].id])
    db.session.commit()
    db.session.expire_all()
    modules = db.session.scalars(select(Module).where(Module.version_id == draft.id)
                                 .order_by(Module.position)).all()
    assert [m.title for m in modules] == ["B", "A"]
    assert [x.title for x in db.session.scalars(select(Lesson).where(Lesson.module_id == module_a.id)
                                                .order_by(Lesson.position))] == ["a3", "a2", "a1"]
    with pytest.raises(ValidationFailed):
        services.reorder(modules[1], [modules[1].lessons[0].id])  # not every lesson named
