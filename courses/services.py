"""Operations on courses, versions, lessons, enrolments and progress. They flush; callers commit."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from typing import Any

import nh3
from flask_babel import lazy_gettext as _l
from markdown_it import MarkdownIt
from sqlalchemy import and_, func, or_, select, update

from courses import signals
from courses.models import (
    COMPETENCY_KINDS,
    COMPLETION_RULES,
    JALUR,
    LESSON_KINDS,
    Category,
    Course,
    CourseCompetency,
    CourseVersion,
    Enrolment,
    Lesson,
    LessonProgress,
    Module,
    Prerequisite,
)
from lms.extensions import db
from lms.models import User, aware_utcnow
from lms.services import ServiceError, ValidationFailed, audit, insert_unless_taken


class NotEditable(ServiceError):
    """Published versions never change; edit the draft."""


class NotEligible(ServiceError):
    """A rule says this person cannot enrol (yet)."""


# ---------------------------------------------------------------- rich text

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "em", "h2", "h3", "h4", "h5", "hr", "i", "img", "li",
    "ol", "p", "pre", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "td": {"align"},
                      "th": {"align"}}


def sanitise_html(html: str) -> str:
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                     url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow")


def render_markdown(source: str) -> str:
    """Markdown → HTML that is safe to show (raw HTML in the source is escaped, the result sanitised)."""
    return sanitise_html(_markdown.render(source or ""))


# ---------------------------------------------------------------- permissions


def can_manage_course(user, course: Course) -> bool:
    """Owners (trainers) and admins edit a course, its versions and see its learners."""
    if not getattr(user, "is_authenticated", False):
        return False
    return user.has_role("admin") or any(owner.id == user.id for owner in course.owners)


def can_view_course(user, course: Course) -> bool:
    """Published open courses are in everyone's catalog; closed ones only for enrolled people."""
    if can_manage_course(user, course):
        return True
    from courses.authoring.permissions import can_read_draft

    if can_read_draft(user, course):
        return True
    if course.published_version_id is None:
        return False
    return course.is_open or current_enrolment(user, course) is not None


# ---------------------------------------------------------------- courses

COURSE_CODE_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._")


def check_course(data: dict, *, course: Course | None = None) -> dict:
    errors: dict[str, Any] = {}
    code = (data.get("code") or "").strip().upper()
    if not code or len(code) > 30 or not set(code) <= COURSE_CODE_CHARS:
        errors["code"] = _l("A course code has up to 30 letters, digits, dots or dashes, e.g. PM-01.")
    else:
        clash = select(Course.id).where(func.upper(Course.code) == code)
        if course is not None:
            clash = clash.where(Course.id != course.id)
        if db.session.scalar(clash):
            errors["code"] = _l("Another course already uses this code.")
    data["code"] = code
    title = (data.get("title") or "").strip()
    if not title:
        errors["title"] = _l("Give the course a title.")
    data["title"] = title
    jp = data.get("jp")
    if jp is None or not isinstance(jp, int) or not 0 <= jp <= 1000:
        errors["jp"] = _l("JP is a whole number of 45-minute lesson hours between 0 and 1000.")
    if data.get("competency_kind") not in COMPETENCY_KINDS:
        errors["competency_kind"] = _l("Choose a competency kind.")
    if data.get("jalur") not in JALUR:
        errors["jalur"] = _l("Choose a route (jalur).")
    validity = data.get("validity_years")
    if validity is not None and (not isinstance(validity, int) or not 1 <= validity <= 20):
        errors["validity_years"] = _l("Validity is between 1 and 20 years, or empty for no expiry.")
    if data.get("category_id") is not None and db.session.get(Category, data["category_id"]) is None:
        errors["category_id"] = _l("This choice does not exist.")
    return errors


COURSE_FIELDS = ("code", "title", "summary", "category_id", "competency_kind", "jp", "jalur",
                 "jenis_diklat", "language", "validity_years", "is_open")


def create_course(*, actor: User, competencies: dict[str, int] | None = None, **fields) -> Course:
    """A new course with an empty draft; the creator owns it."""
    errors = check_course(fields)
    if errors:
        raise ValidationFailed(errors)
    course = Course(**{k: fields[k] for k in COURSE_FIELDS if k in fields})
    course.owners.append(actor)
    course.versions.append(CourseVersion(state="draft", objectives=fields.get("objectives", "")))
    set_competencies(course, competencies or {})
    db.session.add(course)
    db.session.flush()
    refresh_search_text(course)
    audit("course.create", course, actor=actor, summary=course.code)
    return course


def update_course(course: Course, *, actor: User, competencies: dict[str, int] | None = None,
                  **fields) -> Course:
    data = {k: getattr(course, k) for k in COURSE_FIELDS} | fields
    errors = check_course(data, course=course)
    if errors:
        raise ValidationFailed(errors)
    changed = {}
    for key in COURSE_FIELDS:
        if key in fields and getattr(course, key) != data[key]:
            changed[key] = data[key]
            setattr(course, key, data[key])
    if competencies is not None:
        set_competencies(course, competencies)
    db.session.flush()
    refresh_search_text(course)
    audit("course.update", course, actor=actor, summary=course.code, changed=sorted(changed))
    return course


def set_competencies(course: Course, competencies: dict[str, int]) -> None:
    wanted = {code: level for code, level in competencies.items() if level}
    for comp in list(course.competencies):
        if comp.code not in wanted:
            course.competencies.remove(comp)
    have = {c.code: c for c in course.competencies}
    for code, level in wanted.items():
        if not 1 <= int(level) <= 5:
            raise ValidationFailed({"competencies": _l("Competency levels run from 1 to 5.")})
        if code in have:
            have[code].level = int(level)
        else:
            course.competencies.append(CourseCompetency(code=code, level=int(level)))


def set_prerequisites(course: Course, required: Iterable[Course], *, actor: User) -> None:
    required = [c for c in required if c.id != course.id]
    # Refuse a cycle: none of the required courses may (transitively) require this one.
    edges = db.session.execute(select(Prerequisite.course_id, Prerequisite.required_id)).tuples().all()
    graph: dict[int, set[int]] = {}
    for src, dst in edges:
        if src != course.id:
            graph.setdefault(src, set()).add(dst)
    stack = [c.id for c in required]
    seen = set()
    while stack:
        node = stack.pop()
        if node == course.id:
            raise ValidationFailed({"prerequisites": _l("These prerequisites would make a circle.")})
        if node not in seen:
            seen.add(node)
            stack.extend(graph.get(node, ()))
    course.prerequisites = required
    db.session.flush()
    audit("course.prerequisites", course, actor=actor, summary=", ".join(c.code for c in required))


def set_team(course: Course, *, owners: list[User], institutions: list, actor: User) -> None:
    """Owners manage the course (trainers or admins, at least one); institutions are credited."""
    errors = {}
    if not owners:
        errors["owners"] = _l("A course needs at least one owner.")
    elif not_trainers := [u for u in owners if not u.has_role("trainer", "admin") or not u.is_active]:
        errors["owners"] = _l("Only active trainers can own a course: %(names)s.",
                              names=", ".join(u.email for u in not_trainers))
    if errors:
        raise ValidationFailed(errors)
    before = sorted(u.email for u in course.owners)
    course.owners = list({u.id: u for u in owners}.values())
    course.institutions = list({i.id: i for i in institutions}.values())
    db.session.flush()
    audit("course.team", course, actor=actor, summary=course.code, owners_before=before,
          owners=sorted(u.email for u in course.owners),
          institutions=sorted(i.code for i in course.institutions))


def save_category(category: Category | None, *, name: str, position: int = 0, is_active: bool = True,
                  actor: User) -> Category:
    name = (name or "").strip()
    clash = select(Category.id).where(func.lower(Category.name) == name.lower())
    if category is not None:
        clash = clash.where(Category.id != category.id)
    if not name:
        raise ValidationFailed({"name": _l("Give the category a name.")})
    if db.session.scalar(clash):
        raise ValidationFailed({"name": _l("This category already exists.")})
    if category is None:
        category = Category()
        db.session.add(category)
    category.name, category.position, category.is_active = name, position or 0, is_active
    db.session.flush()
    audit("category.save", category, actor=actor, summary=name)
    return category


def refresh_search_text(course: Course) -> None:
    parts = [course.code, course.title, course.summary or ""]
    version = course.published_version or course.draft
    if version is not None:
        parts += [m.title for m in version.modules] + [lesson.title for lesson in version.lessons()]
    course.search_text = " ".join(parts).lower()


# ---------------------------------------------------------------- versions and content


def ensure_draft(course: Course, *, actor: User) -> CourseVersion:
    """The course's draft, opened as a copy of the published version when there is none."""
    if course.draft is not None:
        return course.draft
    source = course.published_version
    draft = CourseVersion(state="draft", based_on_id=source.id if source else None,
                          objectives=source.objectives if source else "")
    if source is not None:
        for module in source.modules:
            copy = Module(position=module.position, title=module.title, summary=module.summary)
            for lesson in module.lessons:
                copy.lessons.append(_copy_lesson(lesson))
            draft.modules.append(copy)
    course.versions.append(draft)
    db.session.flush()
    from courses.authoring.services import copy_into_draft

    copy_into_draft(source, draft)
    audit("course.draft", course, actor=actor, summary=course.code)
    return draft


LESSON_COPY = ("key", "position", "kind", "title", "body_markdown", "body_html", "file_sha256", "file_name",
               "file_type", "file_size", "captions_sha256", "url", "minutes", "is_required",
               "completion_rule", "completion_value", "content_digest", "package", "quiz")


def _copy_lesson(lesson: Lesson) -> Lesson:
    return Lesson(**{k: getattr(lesson, k) for k in LESSON_COPY})


def _editable(version: CourseVersion) -> None:
    if not version.is_draft:
        raise NotEditable(_l("Version %(label)s is published and cannot change; edit the draft.",
                             label=version.label))
    if version.is_locked:
        raise NotEditable(locked_message())


def locked_message():
    return _l("The draft is submitted for review or approved: nobody edits it until an owner reopens it or "
              "the reviewer asks for changes.")


def add_module(version: CourseVersion, *, title: str, summary: str = "") -> Module:
    _editable(version)
    title = (title or "").strip()
    if not title:
        raise ValidationFailed({"title": _l("Give the module a title.")})
    module = Module(title=title, summary=summary or "", position=len(version.modules))
    version.modules.append(module)
    db.session.flush()
    return module


def update_module(module: Module, *, title: str, summary: str = "") -> Module:
    _editable(module.version)
    title = (title or "").strip()
    if not title:
        raise ValidationFailed({"title": _l("Give the module a title.")})
    module.title, module.summary = title, summary or ""
    db.session.flush()
    return module


def delete_module(module: Module) -> None:
    version = module.version
    _editable(version)
    version.modules.remove(module)
    _renumber(version.modules)
    db.session.flush()


def _renumber(items) -> None:
    for position, item in enumerate(items):
        item.position = position


def move(item: Module | Lesson, delta: int) -> None:
    """Move a module within its version, or a lesson within its module, by ``delta`` places."""
    siblings = item.version.modules if isinstance(item, Module) else item.module.lessons
    _editable(item.version if isinstance(item, Module) else item.module.version)
    items = list(siblings)
    index = items.index(item)
    target = max(0, min(len(items) - 1, index + delta))
    items.insert(target, items.pop(index))
    _renumber(items)
    siblings.sort(key=lambda x: x.position)
    db.session.flush()


def reorder(parent: CourseVersion | Module, ids: list[int]) -> None:
    """Put the children of ``parent`` in the order of ``ids`` (which must name each exactly once)."""
    children = parent.modules if isinstance(parent, CourseVersion) else parent.lessons
    _editable(parent if isinstance(parent, CourseVersion) else parent.version)
    by_id = {c.id: c for c in children}
    if sorted(ids) != sorted(by_id):
        raise ValidationFailed({"order": _l("The new order does not match the current items; reload.")})
    for position, item_id in enumerate(ids):
        by_id[item_id].position = position
    children.sort(key=lambda x: x.position)
    db.session.flush()


def lesson_digest(lesson: Lesson) -> str:
    material = [lesson.kind, lesson.title, lesson.body_html, lesson.file_sha256, lesson.captions_sha256,
                lesson.url, lesson.completion_rule, lesson.completion_value]
    return hashlib.sha256(json.dumps(material, default=str).encode()).hexdigest()


LESSON_FIELDS = ("title", "body_markdown", "url", "minutes", "is_required", "completion_rule",
                 "completion_value", "file_sha256", "file_name", "file_type", "file_size",
                 "captions_sha256", "package", "quiz")


def check_lesson(kind: str, data: dict) -> dict:
    errors: dict[str, Any] = {}
    if kind not in LESSON_KINDS:
        errors["kind"] = _l("Unknown lesson kind.")
    if not (data.get("title") or "").strip():
        errors["title"] = _l("Give the lesson a title.")
    if kind == "link":
        url = (data.get("url") or "").strip()
        if not url.startswith(("https://", "http://")):
            errors["url"] = _l("A link starts with https:// or http://.")
    if kind in ("pdf", "video", "file", "scorm") and not data.get("file_sha256"):
        errors["file"] = _l("Upload the file for this lesson.")
    rule = data.get("completion_rule") or "viewed"
    if rule not in COMPLETION_RULES:
        errors["completion_rule"] = _l("Unknown completion rule.")
    elif rule in ("min_time", "score"):
        value = data.get("completion_value")
        if not isinstance(value, int) or not 1 <= value <= (600 if rule == "min_time" else 100):
            errors["completion_value"] = (_l("Give the minimum minutes (1–600).") if rule == "min_time"
                                          else _l("Give the minimum score (1–100)."))
    minutes = data.get("minutes")
    if minutes is not None and (not isinstance(minutes, int) or not 0 <= minutes <= 6000):
        errors["minutes"] = _l("Minutes are a whole number from 0 to 6000.")
    return errors


def add_lesson(module: Module, *, kind: str, **fields) -> Lesson:
    _editable(module.version)
    errors = check_lesson(kind, fields)
    if errors:
        raise ValidationFailed(errors)
    lesson = Lesson(kind=kind, position=len(module.lessons),
                    **{k: v for k, v in fields.items() if k in LESSON_FIELDS and v is not None})
    lesson.title = lesson.title.strip()
    # Defaults are set before the digest, so that saving the lesson unchanged keeps the same digest.
    lesson.completion_rule = fields.get("completion_rule") or ("package" if kind in ("scorm", "quiz") else "viewed")
    if kind == "quiz" and lesson.quiz is None:
        from courses.quizzes.settings import QuizSettings

        lesson.quiz = QuizSettings().as_json()
    lesson.body_html = render_markdown(lesson.body_markdown or "")
    lesson.content_digest = lesson_digest(lesson)
    module.lessons.append(lesson)
    db.session.flush()
    return lesson


def update_lesson(lesson: Lesson, **fields) -> Lesson:
    _editable(lesson.module.version)
    data = {k: getattr(lesson, k) for k in LESSON_FIELDS} | {k: v for k, v in fields.items()
                                                             if k in LESSON_FIELDS}
    errors = check_lesson(lesson.kind, data)
    if errors:
        raise ValidationFailed(errors)
    for key in LESSON_FIELDS:
        setattr(lesson, key, data[key])
    lesson.title = lesson.title.strip()
    lesson.body_html = render_markdown(lesson.body_markdown or "")
    lesson.content_digest = lesson_digest(lesson)
    db.session.flush()
    return lesson


def add_scorm_lesson(module: Module, stream, *, file_name: str, title: str | None = None, **fields) -> Lesson:
    """Check, store and unpack a SCORM package and add it to the draft as a lesson."""
    from courses import scorm

    _editable(module.version)
    digest, size, info = scorm.import_package(stream)
    return add_lesson(module, kind="scorm", title=(title or "").strip() or info.title, file_sha256=digest,
                      file_size=size, file_name=file_name, file_type="application/zip",
                      package=info.as_json(), **fields)


def import_scorm(course: Course, stream, *, file_name: str, actor: User) -> Lesson:
    """``courses import-scorm``: the package becomes the last lesson of the draft's last module."""
    draft = ensure_draft(course, actor=actor)
    module = draft.modules[-1] if draft.modules else add_module(draft, title="SCORM")
    lesson = add_scorm_lesson(module, stream, file_name=file_name)
    audit("course.import_scorm", course, actor=actor, summary=f"{course.code}: {lesson.title}",
          version=lesson.package["version"], scos=len(lesson.package["scos"]))
    return lesson


def record_scorm_commit(enrolment: Enrolment, lesson: Lesson, sco: str, flat: dict) -> LessonProgress:
    """Keep what the package committed; the lesson completes when every SCO reports completion."""
    from courses import scorm

    scorm.save_state(enrolment.id, lesson.key, sco, flat)
    package = lesson.package or {"version": "1.2", "scos": []}
    states = {state.sco: state.cmi for state in db.session.scalars(
        select(scorm.ScormState).where(scorm.ScormState.enrolment_id == enrolment.id,
                                       scorm.ScormState.lesson_key == lesson.key))}
    results = [scorm.status_of(states.get(s["identifier"], {}), package["version"]) for s in package["scos"]]
    completed = bool(results) and all(done for done, _score in results)
    scores = [score for _done, score in results if score is not None]
    score = round(sum(scores) / len(scores)) if scores else None
    return record_result(enrolment, lesson, completed=completed, score=score)


def delete_lesson(lesson: Lesson) -> None:
    module = lesson.module
    _editable(module.version)
    module.lessons.remove(lesson)
    _renumber(module.lessons)
    db.session.flush()


def draft_checklist(version: CourseVersion) -> list[tuple[str, str]]:
    """What to fix or consider before publishing: (level, message) with level 'error' or 'warning'."""
    items: list[tuple[str, str]] = []
    course = version.course
    if not course.jp:
        items.append(("error", _l("The course has no JP value.")))
    if not version.modules:
        items.append(("error", _l("The version has no modules.")))
    for module in version.modules:
        if not module.lessons:
            items.append(("error", _l("Module “%(title)s” has no lessons.", title=module.title)))
    lessons = version.lessons()
    if version.modules and not any(lesson.is_required for lesson in lessons):
        items.append(("error", _l("No lesson is required, so nobody could complete the course.")))
    from courses.quizzes.settings import QuizSettings, check_slots

    quizzes = [(lesson, QuizSettings.of(lesson.quiz)) for lesson in lessons if lesson.kind == "quiz"]
    if not any(settings.kind == "post" for _lesson, settings in quizzes):
        items.append(("warning", _l("The course has no post-test.")))
    for lesson, settings in quizzes:
        if not settings.slots:
            items.append(("error", _l("Quiz “%(title)s” has no questions.", title=lesson.title)))
        for problem in check_slots(course, settings.slots):
            items.append(("error", _l("Quiz “%(title)s”: %(problem)s", title=lesson.title, problem=problem)))
    if not (version.objectives or "").strip():
        items.append(("warning", _l("The learning objectives (what learners will be able to do) are empty.")))
    if version.based_on_id is not None and not (version.change_summary or "").strip():
        items.append(("warning", _l("Say what changed in this version (change summary).")))
    from courses.authoring.services import review_checklist

    return items + review_checklist(version)


def publish(version: CourseVersion, *, actor: User, change_summary: str = "") -> CourseVersion:
    """Freeze the draft with the next version number; the previous version stays for its learners."""
    from courses.authoring import services as authoring

    if not version.is_draft:
        _editable(version)
    errors = [message for level, message in draft_checklist(version) if level == "error"]
    if errors:
        raise ValidationFailed({"publish": errors})
    course = version.course
    # Lock the course row so two owners publishing at once get consecutive numbers.
    db.session.execute(select(Course.id).where(Course.id == course.id).with_for_update())
    last = db.session.scalar(select(func.max(CourseVersion.number)).where(CourseVersion.course_id == course.id))
    previous = course.published_version
    version.number = (last or 0) + 1
    version.state = "published"
    version.change_summary = (change_summary or version.change_summary or "").strip()
    version.published_at = aware_utcnow()
    version.published_by = actor
    if previous is not None:
        previous.state = "archived"
    course.published_version = version
    db.session.flush()
    refresh_search_text(course)
    audit("course.publish", course, actor=actor, summary=f"{course.code} v{version.number}",
          version_id=version.id, change_summary=version.change_summary)
    authoring.published(version, actor=actor)
    return version


def move_learners(course: Course, *, actor: User) -> int:
    """Move active enrolments onto the published version; progress on unchanged lessons is kept."""
    target = course.published_version
    if target is None:
        return 0
    lessons_by_key = {lesson.key: lesson for lesson in target.lessons()}
    enrolments = db.session.scalars(select(Enrolment).where(
        Enrolment.course_id == course.id, Enrolment.state == "active",
        Enrolment.version_id != target.id)).all()
    for enrolment in enrolments:
        enrolment.version_id = target.id
        for row in db.session.scalars(select(LessonProgress).where(LessonProgress.enrolment_id == enrolment.id)):
            lesson = lessons_by_key.get(row.lesson_key)
            if lesson is None:
                db.session.delete(row)
            elif lesson.content_digest != row.content_digest:
                # The lesson changed: the learner studies it again.
                db.session.delete(row)
            else:
                row.lesson_id = lesson.id
        if enrolment.last_lesson_id is not None:
            old = db.session.get(Lesson, enrolment.last_lesson_id)
            new = lessons_by_key.get(old.key) if old is not None else None
            enrolment.last_lesson_id = new.id if new else None
        db.session.flush()
        _update_percent(enrolment)
    db.session.flush()
    if enrolments:
        audit("course.move_learners", course, actor=actor,
              summary=f"{course.code}: {len(enrolments)} → v{target.number}")
    for enrolment in enrolments:
        evaluate_completion(enrolment)
    return len(enrolments)


# ---------------------------------------------------------------- enrolment


def current_enrolment(user, course: Course) -> Enrolment | None:
    """The person's latest enrolment cycle in the course (active or completed), or None."""
    if not getattr(user, "is_authenticated", False):
        return None
    return db.session.scalar(
        select(Enrolment).where(Enrolment.user_id == user.id, Enrolment.course_id == course.id,
                                Enrolment.state != "withdrawn")
        .order_by(Enrolment.cycle.desc()).limit(1))


def missing_prerequisites(user: User, course: Course) -> list[Course]:
    if not course.prerequisites:
        return []
    done = set(db.session.scalars(select(Enrolment.course_id).where(
        Enrolment.user_id == user.id, Enrolment.state == "completed",
        Enrolment.course_id.in_([c.id for c in course.prerequisites]))))
    return [c for c in course.prerequisites if c.id not in done]


def enrol(user: User, course: Course, *, source: str = "self", due_on: dt.date | None = None,
          assigned_by: User | None = None) -> Enrolment:
    """Enrol (idempotent: an existing enrolment is returned, an assignment updates its due date)."""
    if course.published_version_id is None:
        raise NotEligible(_l("This course is not published yet."))
    existing = current_enrolment(user, course)
    if existing is not None:
        if source == "assigned" and existing.state == "active":
            existing.source, existing.due_on, existing.assigned_by = "assigned", due_on, assigned_by
            db.session.flush()
        return existing
    if source == "self" and not course.is_open:
        raise NotEligible(_l("This course is by assignment only."))
    missing = missing_prerequisites(user, course)
    if missing and source == "self":
        raise NotEligible(_l("Complete these courses first: %(codes)s.",
                             codes=", ".join(f"{c.code} {c.title}" for c in missing)))
    last_cycle = db.session.scalar(select(func.max(Enrolment.cycle)).where(
        Enrolment.user_id == user.id, Enrolment.course_id == course.id)) or 0
    enrolment = Enrolment(user=user, course=course, version_id=course.published_version_id,
                          cycle=last_cycle + 1, source=source, due_on=due_on, assigned_by=assigned_by)
    db.session.add(enrolment)
    db.session.flush()
    audit("course.enrol", enrolment, actor=assigned_by or user, summary=f"{course.code} {user.email}",
          source=source, due_on=due_on.isoformat() if due_on else None)
    return enrolment


def renew(user: User, course: Course) -> Enrolment:
    """Start a new cycle after a completed one (renewal of an expiring certificate)."""
    existing = current_enrolment(user, course)
    if existing is not None and existing.state == "active":
        return existing
    if existing is not None:
        existing_cycle = existing.cycle
        enrolment = Enrolment(user=user, course=course, version_id=course.published_version_id,
                              cycle=existing_cycle + 1, source="self")
        db.session.add(enrolment)
        db.session.flush()
        audit("course.renew", enrolment, actor=user, summary=f"{course.code} cycle {enrolment.cycle}")
        return enrolment
    return enrol(user, course)


def assign(course: Course, users: Iterable[User], *, due_on: dt.date | None, actor: User) -> list[Enrolment]:
    """Mandatory training: enrol each person with a due date (already enrolled people keep progress)."""
    return [enrol(user, course, source="assigned", due_on=due_on, assigned_by=actor) for user in users]


# ---------------------------------------------------------------- progress


def progress_rows(enrolment: Enrolment) -> dict[str, LessonProgress]:
    return {row.lesson_key: row for row in db.session.scalars(
        select(LessonProgress).where(LessonProgress.enrolment_id == enrolment.id))}


def _row(enrolment: Enrolment, lesson: Lesson, *, now: dt.datetime | None = None) -> LessonProgress:
    query = select(LessonProgress).where(LessonProgress.enrolment_id == enrolment.id,
                                         LessonProgress.lesson_key == lesson.key)
    row = db.session.scalar(query)
    if row is None:
        now = now or aware_utcnow()
        # Two tabs opening the same lesson at once: the unique key decides, the loser re-reads.
        row = insert_unless_taken(LessonProgress, enrolment_id=enrolment.id, lesson_key=lesson.key,
                                  lesson_id=lesson.id, content_digest=lesson.content_digest, state="in_progress",
                                  first_seen_at=now, last_seen_at=now)
        if row is None:
            row = db.session.scalar(query)
    return row


def _lesson_done(lesson: Lesson, row: LessonProgress) -> bool:
    rule = lesson.completion_rule
    if rule == "viewed":
        return True
    if rule == "min_time":
        return row.seconds_spent >= (lesson.completion_value or 0) * 60
    if rule == "score":
        return row.score is not None and row.score >= (lesson.completion_value or 0)
    return False  # "package": only the SCORM runtime's own status completes it


def record_visit(enrolment: Enrolment, lesson: Lesson, *, seconds: int = 0) -> LessonProgress:
    """A learner opened (or is still on) a lesson: time spent grows, the lesson completes by its rule."""
    now = aware_utcnow()
    row = _row(enrolment, lesson, now=now)
    row.seconds_spent += max(0, min(int(seconds), 300))  # one heartbeat never counts more than 5 minutes
    row.last_seen_at = now
    enrolment.last_lesson_id = lesson.id
    enrolment.last_activity_at = now
    completed = row.state != "done" and lesson.kind != "quiz" and _lesson_done(lesson, row)
    if completed:
        _complete_lesson(row)
    db.session.flush()
    if completed:  # only a completed lesson changes the percentage and the completion rule
        _settle(enrolment)
    return row


def record_result(enrolment: Enrolment, lesson: Lesson, *, completed: bool, score: int | None,
                  exact: bool = False) -> LessonProgress:
    """A package or quiz reported its status and score. A package's best score is kept; a quiz reports
    its result ``exact`` (a regrade may lower it, and a post-test no longer passed reopens the lesson)."""
    row = _row(enrolment, lesson)
    if exact:
        row.score = score
    elif score is not None:
        row.score = max(score, row.score or 0)
    row.last_seen_at = enrolment.last_activity_at = aware_utcnow()
    done = completed if lesson.completion_rule == "package" or lesson.kind == "quiz" else _lesson_done(lesson, row)
    if row.state != "done" and done:
        _complete_lesson(row)
    elif exact and row.state == "done" and not done:
        row.state, row.completed_at = "in_progress", None
    db.session.flush()
    _settle(enrolment)
    return row


def _settle(enrolment: Enrolment) -> None:
    """The percentage and the completion rule after a lesson's state changed (one read of the rows)."""
    rows = progress_rows(enrolment)
    _update_percent(enrolment, rows)
    evaluate_completion(enrolment, rows)


def _complete_lesson(row: LessonProgress) -> None:
    row.state = "done"
    row.completed_at = aware_utcnow()


def _update_percent(enrolment: Enrolment, rows: dict[str, LessonProgress] | None = None) -> None:
    required = [lesson for lesson in enrolment.version.lessons() if lesson.is_required]
    if not required:
        enrolment.progress_percent = 0
        return
    rows = progress_rows(enrolment) if rows is None else rows
    done = sum(1 for lesson in required if (r := rows.get(lesson.key)) and r.state == "done")
    enrolment.progress_percent = round(100 * done / len(required))


def completion_met(enrolment: Enrolment, rows: dict[str, LessonProgress] | None = None) -> bool:
    required = [lesson for lesson in enrolment.version.lessons() if lesson.is_required]
    if not required:
        return False
    rows = progress_rows(enrolment) if rows is None else rows
    if not all((r := rows.get(lesson.key)) and r.state == "done" for lesson in required):
        return False
    answers = signals.completion_requirements.send(enrolment, enrolment=enrolment)
    return all(result is not False for _receiver, result in answers)


def evaluate_completion(enrolment: Enrolment, rows: dict[str, LessonProgress] | None = None) -> bool:
    """Record the completion once when the rule is met and announce it; True when it happened now.
    ``rows``: the enrolment's progress rows when the caller has just read them."""
    if enrolment.state != "active" or not completion_met(enrolment, rows):
        return False
    now = aware_utcnow()
    # A conditional update is the guard: of two concurrent requests only one changes the row.
    result = db.session.execute(
        update(Enrolment).where(Enrolment.id == enrolment.id, Enrolment.state == "active")
        .values(state="completed", completed_at=now, progress_percent=100)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.refresh(enrolment)
        return False
    db.session.refresh(enrolment)
    audit("course.complete", enrolment, actor=enrolment.user,
          summary=f"{enrolment.course.code} {enrolment.user.email}")
    signals.course_completed.send(enrolment, enrolment=enrolment)
    return True


def record_completion(user: User, course: Course, *, actor: User, reason: str) -> Enrolment:
    """A classroom cohort or a correction: the person completed the course outside the platform.

    Enrols them when needed and records the completion once (an already completed enrolment stays as it
    is); ``course_completed`` is sent as for a completion online.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed({"reason": _l("Say why the completion is recorded (e.g. the class and dates).")})
    enrolment = current_enrolment(user, course)
    if enrolment is None:
        enrolment = enrol(user, course, source="assigned", assigned_by=actor)
    if enrolment.state == "completed":
        return enrolment
    result = db.session.execute(
        update(Enrolment).where(Enrolment.id == enrolment.id, Enrolment.state == "active")
        .values(state="completed", completed_at=aware_utcnow(), progress_percent=100)
        .execution_options(synchronize_session=False))
    db.session.refresh(enrolment)
    if result.rowcount == 1:
        audit("course.complete_recorded", enrolment, actor=actor, summary=f"{course.code} {user.email}",
              reason=reason)
        signals.course_completed.send(enrolment, enrolment=enrolment, actor=actor, reason=reason)
    return enrolment


def resume_lesson(enrolment: Enrolment) -> Lesson | None:
    """Where "Lanjutkan belajar" goes: the last lesson opened, else the first one not done."""
    lessons = enrolment.version.lessons()
    if enrolment.last_lesson_id is not None:
        for lesson in lessons:
            if lesson.id == enrolment.last_lesson_id:
                return lesson
    rows = progress_rows(enrolment)
    for lesson in lessons:
        row = rows.get(lesson.key)
        if row is None or row.state != "done":
            return lesson
    return lessons[0] if lessons else None


def outline_progress(enrolment: Enrolment | None, version: CourseVersion) -> dict[str, str]:
    """lesson key → state for the outline."""
    if enrolment is None:
        return {}
    return {key: row.state for key, row in progress_rows(enrolment).items()}


def jp_earned(user: User, year: int) -> int:
    """JP of the courses completed in ``year`` (certificates and external records add to this later)."""
    start = dt.datetime(year, 1, 1, tzinfo=dt.UTC)
    end = dt.datetime(year + 1, 1, 1, tzinfo=dt.UTC)
    return db.session.scalar(
        select(func.coalesce(func.sum(Course.jp), 0)).join(Enrolment, Enrolment.course_id == Course.id)
        .where(Enrolment.user_id == user.id, Enrolment.state == "completed",
               Enrolment.completed_at >= start, Enrolment.completed_at < end)) or 0


def learner_overview(user: User) -> dict[str, list[Enrolment]]:
    enrolments = db.session.scalars(
        select(Enrolment).where(Enrolment.user_id == user.id, Enrolment.state != "withdrawn")
        .order_by(Enrolment.last_activity_at.desc().nulls_last(), Enrolment.enrolled_at.desc())
        .options(db.joinedload(Enrolment.course))).all()
    assigned = sorted([e for e in enrolments if e.state == "active" and e.source == "assigned"],
                      key=lambda e: (e.due_on is None, e.due_on or dt.date.max))
    in_progress = [e for e in enrolments if e.state == "active" and e.source != "assigned"]
    completed = [e for e in enrolments if e.state == "completed"]
    return {"assigned": assigned, "in_progress": in_progress, "completed": completed}


# ---------------------------------------------------------------- catalog

SORTS = ("title", "newest", "jp", "code")


def catalog_query(*, q: str = "", category_id: int | None = None, competency_kind: str | None = None,
                  competency: str | None = None, jalur: str | None = None, jp_min: int | None = None,
                  jp_max: int | None = None, sort: str = "title", include_closed: bool = False):
    stmt = select(Course).where(Course.published_version_id.is_not(None))
    if not include_closed:
        stmt = stmt.where(Course.is_open.is_(True))
    for word in (q or "").lower().split()[:8]:
        stmt = stmt.where(Course.search_text.contains(word, autoescape=True))
    if category_id:
        stmt = stmt.where(Course.category_id == category_id)
    if competency_kind:
        stmt = stmt.where(Course.competency_kind == competency_kind)
    if competency:
        stmt = stmt.where(Course.competencies.any(CourseCompetency.code == competency))
    if jalur:
        stmt = stmt.where(Course.jalur == jalur)
    if jp_min is not None:
        stmt = stmt.where(Course.jp >= jp_min)
    if jp_max is not None:
        stmt = stmt.where(Course.jp <= jp_max)
    order = {"newest": (Course.created_at.desc(), Course.id.desc()), "jp": (Course.jp.desc(), Course.title),
             "code": (Course.code,)}.get(sort, (Course.title, Course.id))
    return stmt.order_by(*order)


def owned_courses(user: User):
    stmt = select(Course).order_by(Course.code)
    if not user.has_role("admin"):
        stmt = stmt.where(Course.owners.any(User.id == user.id))
    return stmt


# ---------------------------------------------------------------- trainer reports


def learner_report(course: Course):
    """Rows for the trainer: (enrolment, user) of every enrolment, newest activity first."""
    return (select(Enrolment).where(Enrolment.course_id == course.id, Enrolment.state != "withdrawn")
            .options(db.joinedload(Enrolment.user), db.joinedload(Enrolment.last_lesson))
            .order_by(Enrolment.last_activity_at.desc().nulls_last(), Enrolment.id.desc()))


def stuck_points(course: Course, *, limit: int = 5) -> list[tuple[Lesson, int]]:
    """Lessons where active learners stopped most (their last lesson, not done), most first."""
    rows = db.session.execute(
        select(Enrolment.last_lesson_id, func.count(Enrolment.id))
        .join(LessonProgress, and_(LessonProgress.enrolment_id == Enrolment.id,
                                   LessonProgress.lesson_id == Enrolment.last_lesson_id), isouter=True)
        .where(Enrolment.course_id == course.id, Enrolment.state == "active",
               Enrolment.last_lesson_id.is_not(None),
               or_(LessonProgress.state.is_(None), LessonProgress.state != "done"))
        .group_by(Enrolment.last_lesson_id).order_by(func.count(Enrolment.id).desc()).limit(limit)
    ).tuples().all()
    return [(db.session.get(Lesson, lesson_id), count) for lesson_id, count in rows]
