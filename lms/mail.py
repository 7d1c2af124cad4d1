"""Outgoing e-mail: through the configured SMTP server, or into ``instance/mail/`` in development."""

from __future__ import annotations

import smtplib
import ssl
import uuid
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from flask import current_app

from lms.jobs import task


def build_message(to: str, subject: str, body: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = current_app.config["MAIL_SENDER"]
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain="bangkom")
    msg.set_content(body)
    return msg


def deliver(msg: EmailMessage) -> None:
    cfg = current_app.config
    if not cfg["MAIL_SERVER"]:
        outbox = Path(current_app.instance_path) / "mail"
        outbox.mkdir(parents=True, exist_ok=True)
        (outbox / f"{uuid.uuid4().hex}.eml").write_bytes(bytes(msg))
        return
    with smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=30) as smtp:
        if cfg["MAIL_USE_TLS"]:
            smtp.starttls(context=ssl.create_default_context())
        if cfg["MAIL_USERNAME"]:
            smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"])
        smtp.send_message(msg)


@task(retries=5, retry_delay=60)
def send_mail_job(to: str, subject: str, body: str) -> None:
    deliver(build_message(to, subject, body))


def send_mail(to: str, subject: str, body: str) -> None:
    """Queue an e-mail; call it after the transaction that motivates it has committed."""
    send_mail_job(to, str(subject), str(body))
