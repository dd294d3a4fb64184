"""The "import_mail" consumer tells the author of an import that ran in a worker how it
ended, by email in their language: they may have closed the page long before."""

from __future__ import annotations

from flask_babel import force_locale
from sqlmodel import Session

from crm.accounts.models import User
from crm.core.consumers import consumer
from crm.core.emails import render_email
from crm.core.events import Event, kick_after_commit
from crm.core.ledger import queue_mail
from crm.exchange.labels import kind_label
from crm.exchange.models import DataImport

MAIL_SWEEP = "crm.mail.sweep"


@consumer("import_mail", "import.completed", "import.failed")
def on_import_finished(session: Session, event: Event) -> None:
    data_import = session.get(DataImport, event.entity_id) if event.entity_id is not None else None
    if data_import is None or data_import.task_id is None:
        return  # gone, or run in the request that its author was watching
    author = session.get(User, data_import.author_id)
    if author is None or not author.is_active:
        return
    from crm.exchange.views import failure_text

    language = author.language.value
    with force_locale(language):
        failure = failure_text(data_import) if event.type == "import.failed" else ""
        kind = kind_label(data_import.kind)
    email = render_email(
        "import_report",
        language=language,
        timezone=author.timezone,
        data_import=data_import,
        completed=event.type == "import.completed",
        counts=event.payload,
        failure=failure,
        kind=kind,
    )
    if queue_mail(
        session,
        dedupe_key=f"import-report:{event.id}",
        kind="import_report",
        to=author.email,
        to_name=author.name,
        language=language,
        subject=email.subject,
        text=email.text,
        html=email.html,
        user_id=author.id,
    ):
        kick_after_commit(session, MAIL_SWEEP)

