"""The "import_mail" consumer tells the author of an import that ran in a worker how it
ended, by email in their language: they may have closed the page long before."""

from __future__ import annotations

from flask_babel import force_locale
from sqlmodel import Session

from crm.accounts.mail import email_user
from crm.accounts.models import User
from crm.core.consumers import consumer
from crm.core.events import Event
from crm.exchange.labels import kind_label
from crm.exchange.models import DataImport


@consumer("import_mail", "import.completed", "import.failed")
def on_import_finished(session: Session, event: Event) -> None:
    data_import = session.get(DataImport, event.entity_id) if event.entity_id is not None else None
    if data_import is None or data_import.task_id is None:
        return  # gone, or run in the request that its author was watching
    author = session.get(User, data_import.author_id)
    if author is None or not author.is_active:
        return
    from crm.exchange.display import failure_text

    language = author.language.value
    with force_locale(language):
        failure = failure_text(data_import) if event.type == "import.failed" else ""
        import_kind = kind_label(data_import.kind)
    email_user(
        session,
        author,
        "import_report",
        dedupe_key=f"import-report:{event.id}",
        kind="import_report",
        data_import=data_import,
        completed=event.type == "import.completed",
        counts=event.payload,
        failure=failure,
        import_kind=import_kind,
    )
