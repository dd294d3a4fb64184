"""Translated labels of import kinds, statuses and row outcomes."""

from __future__ import annotations

import re
from typing import Any

from crm.core.i18n import gettext as _
from crm.core.i18n import lazy_gettext as _l
from crm.core.web import format_number
from crm.exchange.fields import KIND_LABELS
from crm.exchange.models import ImportKind, ImportStatus, RowAction

STATUS_LABELS = {
    ImportStatus.UPLOADED: _l("Columns to map"),
    ImportStatus.PLANNING: _l("Preparing the preview"),
    ImportStatus.MAPPED: _l("Ready to confirm"),
    ImportStatus.QUEUED: _l("Waiting for a worker"),
    ImportStatus.RUNNING: _l("Importing"),
    ImportStatus.COMPLETED: _l("Imported"),
    ImportStatus.FAILED: _l("Failed (nothing written)"),
    ImportStatus.REVERTED: _l("Reverted"),
    ImportStatus.CANCELLED: _l("Cancelled"),
}
STATUS_STYLES = {
    ImportStatus.COMPLETED: "success",
    ImportStatus.FAILED: "danger",
    ImportStatus.REVERTED: "secondary",
    ImportStatus.CANCELLED: "light",
    ImportStatus.PLANNING: "info",
    ImportStatus.QUEUED: "info",
    ImportStatus.RUNNING: "info",
}
# What a row will do (preview) and what it did (results).
PLANNED_LABELS = {
    RowAction.CREATE: _l("Will be created"),
    RowAction.UPDATE: _l("Will be updated"),
    RowAction.UNCHANGED: _l("Skipped: no change"),
    RowAction.ERROR: _l("Skipped: error"),
}
DONE_LABELS = {
    RowAction.CREATE: _l("Added"),
    RowAction.UPDATE: _l("Changed"),
    RowAction.UNCHANGED: _l("Skipped: no change"),
    RowAction.ERROR: _l("Skipped: error"),
}
ACTION_STYLES = {
    RowAction.CREATE: "success",
    RowAction.UPDATE: "primary",
    RowAction.UNCHANGED: "secondary",
    RowAction.ERROR: "danger",
}
# What "update" means, said on the preview.
UPDATE_RULES = {
    ImportKind.ORGANISATIONS: _l(
        "A row matches an organisation by any of its names, its acronym or another name, in any language. "
        "An existing organisation is completed, never overwritten: empty names, acronym, website and kind are "
        "filled in, a different name or acronym is added as another name, and new sectors are added."
    ),
    ImportKind.CONTACTS: _l(
        "A row matches a contact by email (without an email: the same name at the same organisation). "
        "An existing contact takes the values the file fills in; empty cells change nothing."
    ),
    ImportKind.LEADS: _l(
        "A row matches a lead by its ID, or by the same title between the same two organisations. "
        "An existing lead takes the values the file fills in (its stage moves through the pipeline); empty cells "
        "change nothing. Confidential leads you may not see are never matched."
    ),
}


def kind_label(value: Any) -> str:
    return str(KIND_LABELS[ImportKind(getattr(value, "value", value))])


def status_label(value: Any) -> str:
    return str(STATUS_LABELS[ImportStatus(getattr(value, "value", value))])


def human_size(size: int) -> str:
    """A file size as people write it, in the reader's language (“10 MB”, “2 Ko”)."""
    if size >= 2**20:
        return _("%(size)s MB", size=format_number(round(size / 2**20, 1)))
    return _("%(size)s KB", size=format_number(max(1, size // 1024)))


def display_filename(filename: str) -> str:
    """The uploaded file's name for display only: no folders, no control characters."""
    name = re.split(r"[\\/]", filename or "")[-1]
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).strip()
    return name[:255]
