"""The signed links of a check-in mail: one per lead to answer, one to stop these mails.

An answer link names the contact, the lead, the meeting and the check-in's ``days``; the
outcome is only preselected by its query string (the page lets the reader pick another),
so the five buttons of a lead are five views of the same link.  It is good for
``CHECKIN_LINK_DAYS`` (60 by default) and is its own authority — no login, no CSRF token:

* opening it (GET) only shows the form: mail scanners fetch links and must record nothing;
  the form's button POSTs;
* it answers once: the answer row is unique per link scope, so a second answer (or two at
  once) finds it and changes nothing ("already answered on …").

The stop link never expires (RFC 8058: a list's unsubscribe link must keep working).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer

from crm.core.signed import MAX_TOKEN, read_timed

ANSWER_SALT = "jisr.checkin-answer"
STOP_SALT = "jisr.checkin-stop"
KEYS = ("c", "l", "m", "d")


@dataclass(frozen=True)
class AnswerLink:
    contact_id: int
    lead_id: int
    meeting_id: int
    days: int
    expired: bool = False


def max_age() -> int:
    return int(current_app.config.get("CHECKIN_LINK_DAYS", 60)) * 24 * 3600


def _answers() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=ANSWER_SALT)


def _stops() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=STOP_SALT)


def _base() -> str:
    return str(current_app.config["BASE_URL"])


def answer_token(contact_id: int, lead_id: int, meeting_id: int, days: int) -> str:
    return _answers().dumps({"c": contact_id, "l": lead_id, "m": meeting_id, "d": days})


def answer_url(contact_id: int, lead_id: int, meeting_id: int, days: int, outcome: str) -> str:
    """For an email: on ``BASE_URL`` (the dispatcher has no request)."""
    return f"{_base()}/checkins/answer/{answer_token(contact_id, lead_id, meeting_id, days)}?outcome={outcome}"


def _ids(data: Any, keys: tuple[str, ...]) -> list[int] | None:
    if not isinstance(data, dict):
        return None
    values = [data.get(k) for k in keys]
    if not all(isinstance(v, int) and not isinstance(v, bool) and 0 < v < 2**31 for v in values):
        return None
    return values  # type: ignore[return-value]


def read_answer_link(token: str) -> AnswerLink | None:
    """The link ``token`` is (expired or not), or ``None`` when we did not sign it."""
    found = read_timed(_answers(), token, max_age())
    if found is None:
        return None
    ids = _ids(found[0], KEYS)
    if ids is None:
        return None
    contact_id, lead_id, meeting_id, days = ids
    return AnswerLink(contact_id, lead_id, meeting_id, days, expired=found[1])


def stop_token(contact_id: int) -> str:
    return _stops().dumps({"c": contact_id})


def stop_url(contact_id: int) -> str:
    return f"{_base()}/checkins/stop/{stop_token(contact_id)}"


def read_stop_link(token: str) -> int | None:
    """The contact a stop link was signed for, or ``None``."""
    if len(token) > MAX_TOKEN:
        return None
    try:
        data = _stops().loads(token)
    except BadSignature:
        return None
    ids = _ids(data, ("c",))
    return ids[0] if ids else None


def list_headers(url: str) -> dict[str, str]:
    """RFC 2369 + RFC 8058: mail clients show a button that POSTs to ``url``."""
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
