"""Read models for the trainers' quiz reports: the attempts at one quiz, the cohort's pre/post learning gain
and item analysis. Nothing here writes; the views and the CSV writers share these builders.

A quiz is followed across course versions by its lesson key, a question by its question key: a report
covers every version, and names things as the current version does.

Item analysis follows classical test theory as trainers know it from Moodle's quiz statistics:

- facility index: the mean fraction of the mark earned (0 = nobody, 1 = everybody got it right);
- discrimination index D (Kelley): the mean fraction in the top 27 % of attempts ranked by score minus
  the mean fraction in the bottom 27 %;
- point-biserial: the Pearson correlation of the item's fraction with the rest score (the attempt's marks
  without this item, so the item does not correlate with itself);
- for choice questions, how often each option was chosen overall, in the top and in the bottom group.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import chain
from operator import itemgetter, mul

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload

from courses.models import Course, CourseVersion, Enrolment, Lesson, Module
from courses.quizzes.grading import CHOICE_TYPES
from courses.quizzes.models import Attempt, AttemptItem, Question
from courses.quizzes.settings import QuizSettings
from lms.extensions import db
from lms.models import User

# Kelley's 27 %: the share of attempts in each of the top and bottom groups.
GROUP_SHARE = 0.27
TOO_EASY, TOO_HARD, WEAK = 0.90, 0.25, 0.20
FLAG_LABELS = {
    "too_easy": _l("Too easy"),
    "too_hard": _l("Too hard"),
    "negative": _l("Discriminates negatively"),
    "weak": _l("Discriminates weakly"),
    "unused_distractor": _l("A distractor nobody chose"),
    "distractor_attracts_top": _l("A distractor chosen more by the top group"),
}


# ---------------------------------------------------------------- the quizzes of a course


def quiz_versions(course: Course) -> dict[str, list[Lesson]]:
    """Every quiz lesson of the course by lesson key, the current one first: the published version's,
    then the draft's, then older versions', newest first."""
    rows = db.session.execute(
        select(Lesson, CourseVersion.id, CourseVersion.state, CourseVersion.number)
        .join(Module, Module.id == Lesson.module_id).join(CourseVersion, CourseVersion.id == Module.version_id)
        .where(CourseVersion.course_id == course.id, Lesson.kind == "quiz")).all()

    def rank(row) -> tuple:
        lesson, version_id, state, number = row
        return (version_id != course.published_version_id, state != "draft", -(number or 0), lesson.id)

    versions: dict[str, list[Lesson]] = {}
    for row in sorted(rows, key=rank):
        versions.setdefault(row[0].key, []).append(row[0])
    return versions


def settings_by_lesson(lessons: Iterable[Lesson]) -> dict[int, QuizSettings]:
    return {lesson.id: QuizSettings.of(lesson.quiz) for lesson in lessons}


def display_name(user: User | None) -> str:
    return user.display_name if user is not None else ""


# ---------------------------------------------------------------- attempts at one quiz


@dataclass(frozen=True)
class AttemptRow:
    id: int
    name: str
    nip: str | None
    unit: str | None
    number: int
    started_at: dt.datetime
    submitted_at: dt.datetime | None
    state: str
    closed_by: str | None
    score: float | None
    band: str | None
    passed: bool | None


def attempts_query(course_id: int, lesson_key: str, *, state: str | None = None,
                   passed: bool | None = None) -> Select:
    """The attempts at one quiz (every version), newest first, with their learner and unit."""
    query = (select(Attempt).where(Attempt.course_id == course_id, Attempt.lesson_key == lesson_key)
             .options(joinedload(Attempt.user).joinedload(User.unit))
             .order_by(Attempt.started_at.desc(), Attempt.id.desc()))
    if state is not None:
        query = query.where(Attempt.state == state)
    if passed is not None:
        query = query.where(Attempt.passed.is_(passed))
    return query


def attempt_rows(attempts: Iterable[Attempt], settings: Mapping[int, QuizSettings],
                 default: QuizSettings) -> Iterator[AttemptRow]:
    """Report rows; the band comes from the settings of the version the attempt was made in."""
    for attempt in attempts:
        user = attempt.user
        band = settings.get(attempt.lesson_id, default).band(attempt.score) if attempt.state == "finished" else None
        yield AttemptRow(id=attempt.id, name=display_name(user), nip=user.nip if user else None,
                         unit=user.unit.name if user and user.unit else None, number=attempt.number,
                         started_at=attempt.started_at, submitted_at=attempt.submitted_at, state=attempt.state,
                         closed_by=attempt.closed_by, score=attempt.score, band=band, passed=attempt.passed)


# ---------------------------------------------------------------- pre/post learning gain


def normalised_gain(pre: float | None, post: float | None) -> float | None:
    """Hake's normalised gain (post − pre) / (100 − pre): the share of what was left to learn that was
    learned. Undefined without both scores, or when the pre-test was already perfect."""
    if pre is None or post is None or pre >= 100:
        return None
    return (post - pre) / (100 - pre)


@dataclass(frozen=True)
class PrePostRow:
    enrolment_id: int
    name: str
    nip: str | None
    unit: str | None
    pre: float | None
    post: float | None

    @property
    def gain(self) -> float | None:
        return None if self.pre is None or self.post is None else round(self.post - self.pre, 2)

    @property
    def normalised_gain(self) -> float | None:
        return normalised_gain(self.pre, self.post)


@dataclass
class PrePostReport:
    pre_quizzes: list[Lesson]
    post_quizzes: list[Lesson]
    rows: list[PrePostRow] = field(default_factory=list)
    n_pre: int = 0
    n_post: int = 0
    n_both: int = 0
    mean_pre: float | None = None  # over learners with both scores
    mean_post: float | None = None
    mean_normalised_gain: float | None = None  # the mean of the individual gains that are defined
    class_normalised_gain: float | None = None  # (mean post − mean pre) / (100 − mean pre)


def prepost(course: Course) -> PrePostReport:
    """Per enrolment with a finished pre- or post-test: the first finished pre-test score and the best
    post-test score; and the cohort's figures over the enrolments that have both."""
    pre_keys, post_keys = set(), set()
    pre_quizzes, post_quizzes = [], []
    for key, lessons in quiz_versions(course).items():
        kinds = [QuizSettings.of(lesson.quiz).kind for lesson in lessons]
        # A key that was a pre-test in one version and a post-test in another counts as its current kind.
        kind = kinds[0] if "pre" in kinds and "post" in kinds else next(
            (k for k in ("pre", "post") if k in kinds), None)
        if kind == "pre":
            pre_keys.add(key)
            pre_quizzes.append(lessons[0])
        elif kind == "post":
            post_keys.add(key)
            post_quizzes.append(lessons[0])
    report = PrePostReport(pre_quizzes=pre_quizzes, post_quizzes=post_quizzes)
    if not pre_keys and not post_keys:
        return report
    finished = (Attempt.course_id == course.id, Attempt.lesson_key.in_(pre_keys | post_keys),
                Attempt.state == "finished", Attempt.score.is_not(None))
    first_pre: dict[int, tuple] = {}
    best_post: dict[int, float] = {}
    for enrolment_id, key, number, submitted_at, score in db.session.execute(
            select(Attempt.enrolment_id, Attempt.lesson_key, Attempt.number, Attempt.submitted_at, Attempt.score)
            .where(*finished)):
        if key in pre_keys:
            when = (submitted_at is None, submitted_at or 0, number)
            if enrolment_id not in first_pre or when < first_pre[enrolment_id][0]:
                first_pre[enrolment_id] = (when, score)
        if key in post_keys and score > best_post.get(enrolment_id, -1):
            best_post[enrolment_id] = score
    enrolments = db.session.scalars(select(Enrolment).where(Enrolment.id.in_(
        select(Attempt.enrolment_id).where(*finished))).options(joinedload(Enrolment.user).joinedload(User.unit)))
    for enrolment in enrolments:
        user = enrolment.user
        pre = first_pre[enrolment.id][1] if enrolment.id in first_pre else None
        report.rows.append(PrePostRow(enrolment_id=enrolment.id, name=display_name(user), nip=user.nip,
                                      unit=user.unit.name if user.unit else None, pre=pre,
                                      post=best_post.get(enrolment.id)))
    report.rows.sort(key=lambda row: (row.name.casefold(), row.enrolment_id))
    both = [row for row in report.rows if row.pre is not None and row.post is not None]
    report.n_pre = sum(row.pre is not None for row in report.rows)
    report.n_post = sum(row.post is not None for row in report.rows)
    report.n_both = len(both)
    if both:
        report.mean_pre = sum(row.pre for row in both) / len(both)
        report.mean_post = sum(row.post for row in both) / len(both)
        gains = [row.normalised_gain for row in both if row.normalised_gain is not None]
        report.mean_normalised_gain = sum(gains) / len(gains) if gains else None
        report.class_normalised_gain = normalised_gain(report.mean_pre, report.mean_post)
    return report


# ---------------------------------------------------------------- item analysis


@dataclass
class OptionStats:
    position: int
    html: str  # the option as the current version shows it (sanitised when saved)
    is_correct: bool
    chosen: int = 0
    top: int = 0
    bottom: int = 0


@dataclass
class ItemStats:
    key: str
    name: str
    type: str
    n: int
    facility: float
    discrimination: float | None
    point_biserial: float | None
    options: list[OptionStats] = field(default_factory=list)  # choice questions only
    unanswered: tuple[int, int, int] = (0, 0, 0)  # overall, top group, bottom group
    flags: list[str] = field(default_factory=list)


@dataclass
class ItemAnalysis:
    attempts: int = 0
    group_size: int = 0  # attempts in each of the top and bottom groups
    mean_score: float | None = None
    items: list[ItemStats] = field(default_factory=list)


def group_size(attempts: int) -> int:
    """Attempts in each of the top and bottom groups: 27 % rounded half up, at least one; none below two."""
    if attempts < 2:
        return 0
    return max(1, int(attempts * GROUP_SHARE + 0.5))


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _pearson(xs: list[float], ys: list[float]) -> float | None:
    """The correlation coefficient, None when either side does not vary. Sums of products in C (``map``):
    with fractions in 0–1 and marks in the hundreds, doubles lose nothing that shows in two decimals."""
    n = len(xs)
    if n < 2 or min(xs) == max(xs) or min(ys) == max(ys):
        return None
    sx, sy = sum(xs), sum(ys)
    vx = n * sum(map(mul, xs, xs)) - sx * sx
    vy = n * sum(map(mul, ys, ys)) - sy * sy
    if vx <= 0 or vy <= 0:  # rounding on a (nearly) constant column
        return None
    return max(-1.0, min(1.0, (n * sum(map(mul, xs, ys)) - sx * sy) / math.sqrt(vx * vy)))


def flags_of(item: ItemStats) -> list[str]:
    """What a trainer should look at, in the order of ``FLAG_LABELS``."""
    flags = []
    if item.facility > TOO_EASY:
        flags.append("too_easy")
    if item.facility < TOO_HARD:
        flags.append("too_hard")
    d, r = item.discrimination, item.point_biserial
    if (d is not None and d < 0) or (r is not None and r < 0):
        flags.append("negative")
    if d is not None and 0 <= d < WEAK:
        flags.append("weak")
    distractors = [option for option in item.options if not option.is_correct]
    if any(option.chosen == 0 for option in distractors):
        flags.append("unused_distractor")
    if any(option.top > option.bottom for option in distractors):
        flags.append("distractor_attracts_top")
    return flags


def _questions(keys: Iterable[str]) -> dict[str, Question]:
    """The current version of each question (the newest when none is current), with its answers."""
    found: dict[str, Question] = {}
    for question in db.session.scalars(select(Question).where(Question.key.in_(list(keys)))
                                       .order_by(Question.is_current, Question.version)
                                       .options(joinedload(Question.answers))).unique():
        found[question.key] = question  # the last one wins: current, else the highest version
    return found


def _positions(summaries: Counter) -> Counter:
    """Option positions chosen, from answer summaries ("2", "0,3") with their counts."""
    chosen: Counter = Counter()
    for summary, count in summaries.items():
        for part in (summary or "").split(","):
            if part.isdigit():
                chosen[int(part)] += count
    return chosen


# The columns item analysis reads, one row per answer: plain ints, floats and strings on every backend.
_ATTEMPT, _SCORE, _KEY, _FRACTION, _REST, _SUMMARY = (itemgetter(i) for i in range(6))


def _answer_rows(course_id: int, lesson_key: str) -> list[tuple]:
    """Every graded answer of the finished attempts at a quiz: (attempt id, attempt score, question key,
    fraction, rest score = attempt marks − item mark, answer summary)."""
    query = (select(AttemptItem.attempt_id, Attempt.score, AttemptItem.question_key, AttemptItem.fraction,
                    Attempt.marks - AttemptItem.mark, AttemptItem.answer_summary)
             .join(Attempt, Attempt.id == AttemptItem.attempt_id)
             .where(Attempt.course_id == course_id, Attempt.lesson_key == lesson_key, Attempt.state == "finished",
                    AttemptItem.fraction.is_not(None), AttemptItem.mark.is_not(None)))
    # Core, and the driver's own tuples: these columns need no result processing, and for half a million
    # answers building SQLAlchemy Row objects (let alone going through the ORM) would cost as much as the
    # query and all the statistics together (DESIGN.md §6 gives item analysis 2 s).
    result = db.session.connection().execute(query)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


def item_analysis(course_id: int, lesson_key: str, *, order: list[str] | None = None) -> ItemAnalysis:
    """Item statistics over the finished attempts at one quiz (every version), per question key; items
    in ``order`` (question keys) first, the others by name."""
    rows = _answer_rows(course_id, lesson_key)
    report = ItemAnalysis()
    if not rows:
        return report
    score_of = dict(zip(map(_ATTEMPT, rows), map(_SCORE, rows), strict=True))
    ranked = sorted(score_of, key=lambda attempt_id: (score_of[attempt_id] or 0.0, attempt_id))
    size = group_size(len(ranked))
    # Where each attempt's answers go: 0 the middle, 1 the top group, -1 (the last list) the bottom group.
    group_of = dict.fromkeys(ranked, 0)
    if size:
        group_of.update(dict.fromkeys(ranked[:size], -1))
        group_of.update(dict.fromkeys(ranked[-size:], 1))
    report.attempts, report.group_size = len(ranked), size
    report.mean_score = sum(score or 0.0 for score in score_of.values()) / len(score_of)
    # The one pass over every answer, sorting them by question and group; the statistics then read each
    # question's columns with C-level maps (itemgetter, sum, Counter). That is what keeps 500,000 answers
    # well inside the budget.
    by_key: dict[str, tuple[list, list, list]] = defaultdict(lambda: ([], [], []))
    for row in rows:
        by_key[row[2]][group_of[row[0]]].append(row)
    del rows

    questions = _questions(by_key)
    for key, (middle, top, bottom) in by_key.items():
        top_fractions, bottom_fractions = list(map(_FRACTION, top)), list(map(_FRACTION, bottom))
        fractions = list(map(_FRACTION, middle)) + top_fractions + bottom_fractions
        high, low = _mean(top_fractions), _mean(bottom_fractions)
        question = questions.get(key)
        qtype = question.type if question is not None else ""
        item = ItemStats(key=key, name=question.name if question is not None else key[:8], type=qtype,
                         n=len(fractions), facility=sum(fractions) / len(fractions),
                         discrimination=None if high is None or low is None else high - low,
                         point_biserial=_pearson(fractions, list(map(_REST, chain(middle, top, bottom)))))
        if qtype in CHOICE_TYPES:
            tops, bottoms = Counter(map(_SUMMARY, top)), Counter(map(_SUMMARY, bottom))
            everyone = Counter(map(_SUMMARY, middle)) + tops + bottoms
            item.unanswered = (everyone[None], tops[None], bottoms[None])
            chosen, chosen_top, chosen_bottom = _positions(everyone), _positions(tops), _positions(bottoms)
            answers = question.answers
            count = max([len(answers), *(p + 1 for p in chosen)])
            item.options = [OptionStats(position=p, html=(answers[p].text_html or "") if p < len(answers) else "",
                                        is_correct=p < len(answers) and answers[p].fraction > 0,
                                        chosen=chosen[p], top=chosen_top[p], bottom=chosen_bottom[p])
                            for p in range(count)]
        item.flags = flags_of(item)
        report.items.append(item)
    place = {key: index for index, key in enumerate(order or [])}
    report.items.sort(key=lambda item: (place.get(item.key, len(place)), item.name.casefold(), item.key))
    return report
