"""The SIASN outbox on the job queue: one task per record (retried with exponential backoff by scheduling
itself again) and a sweep every few minutes that queues new records and picks up anything a lost job
left behind."""

from __future__ import annotations

from flask import current_app, has_app_context
from huey import crontab
from huey.exceptions import TaskLockedException

from lms.extensions import db
from lms.jobs import huey, task


@task()
def push_record(push_id: int) -> str | None:
    if huey.immediate and has_app_context():
        # Immediate mode (the tests) calls the task from the committing session's after-commit hook, where
        # that session can run no SQL: work in an application context (and so a session) of its own.
        with current_app.app_context():
            return _push_record(push_id)
    return _push_record(push_id)


def _push_record(push_id: int) -> str | None:
    from certificates.records import siasn
    from certificates.records.models import SiasnPush

    try:
        with huey.lock_task(f"siasn-push-{push_id}"):
            state = siasn.push_one(push_id)
    except TaskLockedException:
        return None
    if state == "pending":
        push = db.session.get(SiasnPush, push_id)
        if push is not None and push.attempts:
            # Backoff through the queue itself: the task comes back when the row is due.
            delay = max(1.0, (push.next_attempt_at - push.last_attempt_at).total_seconds())
            push_record.schedule((push_id,), delay=delay)
    return state


@huey.periodic_task(crontab(minute="*/5"))
def sweep_outbox() -> int:
    from certificates.records import siasn
    from lms.jobs import _app

    with _app.app_context():
        if not siasn.push_enabled():
            return 0
        siasn.sync_outbox()
        db.session.commit()
        due = siasn.due_ids()
        for push_id in due:
            push_record(push_id)
        return len(due)
