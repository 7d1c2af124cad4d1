"""``flask courses …``: course content from the command line."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from courses import scorm, services
from courses.models import Course
from courses.quizzes import services as quizzes
from lms.extensions import db
from lms.models import User

courses_cli = AppGroup("courses", help="Course content.")


def _fail(message) -> None:
    db.session.rollback()
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def _course(code: str) -> Course:
    course = db.session.scalar(select(Course).where(Course.code == code.upper()))
    if course is None:
        _fail(f"No course has the code {code}.")
    return course


@courses_cli.command("import-scorm")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--course", "code", required=True, help="Course code, e.g. PM-01.")
@click.option("--as", "actor_email", default=None, help="E-mail of the trainer recorded in the audit log.")
def import_scorm(path: Path, code: str, actor_email: str | None):
    """Add a SCORM 1.2/2004 package as a lesson of the course's draft."""
    course = _course(code)
    actor = None
    if actor_email:
        actor = db.session.scalar(select(User).where(User.email == actor_email.lower()))
        if actor is None:
            _fail(f"No account has the e-mail {actor_email}.")
    elif course.owners:
        actor = course.owners[0]
    try:
        with path.open("rb") as stream:
            lesson = services.import_scorm(course, stream, file_name=path.name, actor=actor)
    except scorm.PackageRefused as exc:
        _fail(f"{path.name} refused: {exc}")
    db.session.commit()
    package = lesson.package
    click.echo(f"Imported “{lesson.title}” (SCORM {package['version']}, {len(package['scos'])} SCO, "
               f"{package['files']} files) into the draft of {course.code}, module “{lesson.module.title}”.")


@courses_cli.command("import-questions")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--course", "code", required=True, help="Course code, e.g. PM-01.")
@click.option("--format", "fmt", type=click.Choice(["moodle", "gift"]), default=None,
              help="Moodle XML or GIFT; by default told from the file's content.")
@click.option("--as", "actor_email", default=None, help="E-mail of the trainer recorded in the audit log.")
def import_questions(path: Path, code: str, fmt: str | None, actor_email: str | None):
    """Import a question bank from Moodle XML or GIFT into the course's bank; categories become tags."""
    course = _course(code)
    actor = None
    if actor_email:
        actor = db.session.scalar(select(User).where(User.email == actor_email.lower()))
        if actor is None:
            _fail(f"No account has the e-mail {actor_email}.")
    elif course.owners:
        actor = course.owners[0]
    try:
        result = quizzes.import_questions(course, path.read_bytes(), file_name=path.name, fmt=fmt, actor=actor)
    except quizzes.ImportRefused as exc:
        _fail(f"{path.name} refused, nothing imported: {exc}")
    db.session.commit()
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(result.counts.items())) or "none"
    click.echo(f"Imported {result.total} questions into the bank of {course.code}: {kinds}.")
    if result.tags:
        click.echo(f"Tags: {', '.join(result.tags)}.")
    if result.files:
        click.echo(f"Embedded files stored: {result.files}.")
    for name, reason in result.skipped:
        click.echo(f"Skipped “{name}”: {reason}.")
