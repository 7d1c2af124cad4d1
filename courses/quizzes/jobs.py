"""Quiz background work: closing attempts that were abandoned past their deadline."""

from __future__ import annotations

from huey import crontab

from lms.extensions import db
from lms.jobs import huey


@huey.periodic_task(crontab(minute="*"))
def close_overdue_attempts() -> int:
    """Every minute: attempts whose time ran out while nobody was looking are submitted with what was
    saved (the learner sees the result when they come back; the course completion follows)."""
    from courses.quizzes import attempts
    from lms.jobs import _app

    with _app.app_context():
        closed = 0
        while True:
            batch = attempts.close_overdue(limit=200)
            db.session.commit()
            closed += batch
            if batch < 200:
                return closed
