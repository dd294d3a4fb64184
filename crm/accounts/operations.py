"""Writes to user accounts; each records its event."""

from __future__ import annotations

import enum
import hashlib
import secrets
from typing import Any

from sqlmodel import Session, col, func, select

from crm.accounts.models import HourCycle, Language, Role, User
from crm.accounts.permissions import is_admin
from crm.accounts.session_store import HANDLE_RE, store_for
from crm.core.db import pk
from crm.core.errors import PermissionDenied, ValidationError
from crm.core.events import Event, changes_of, record_event
from crm.core.i18n import lazy_gettext as _l
from crm.core.security import hash_password, password_problem, verify_password
from crm.core.time import utcnow
from crm.core.validation import clean_email, clean_enum, clean_language, clean_name, clean_zone


def find_user_by_email(session: Session, email: str) -> User | None:
    return session.exec(select(User).where(func.lower(User.email) == email.strip().lower())).first()


def create_user(
    session: Session,
    *,
    email: str,
    password: str,
    role: Role | str = Role.OFFICER,
    name: str = "",
    language: Language | str = Language.FR,
    timezone: str = "Africa/Casablanca",
    actor: User | None = None,
) -> User:
    clean = clean_email(email)
    assert clean is not None
    if find_user_by_email(session, clean):
        raise ValidationError.single("email", _l("A user with this email already exists."))
    problem = password_problem(password, clean)
    if problem:
        raise ValidationError.single("password", problem)
    user = User(
        email=clean,
        name=clean_name(name, "name", max_length=200, required=False),
        password_hash=hash_password(password),
        role=clean_enum(Role, role, "role"),
        language=Language(clean_language(language)),
        timezone=clean_zone(timezone),
    )
    session.add(user)
    record_event(
        session,
        "user.created",
        user,
        actor=actor,
        payload={"email": user.email, "role": user.role, "language": user.language},
    )
    return user


def update_user_preferences(
    session: Session,
    user: User,
    *,
    actor: User | None = None,
    name: str | None = None,
    language: Language | str | None = None,
    timezone: str | None = None,
    reminder_send_hour: int | None = None,
    reminder_days_before: str | list[int] | None = None,
    hour_cycle: HourCycle | str | None = None,
) -> dict[str, list[Any]]:
    fields: dict[str, Any] = {}
    if name is not None:
        fields["name"] = clean_name(name, "name", max_length=200, required=False)
    if language is not None:
        fields["language"] = Language(clean_language(language))
    if timezone is not None:
        fields["timezone"] = clean_zone(timezone)
    if reminder_send_hour is not None:
        if not 7 <= reminder_send_hour <= 20:
            raise ValidationError.single("reminder_send_hour", _l("Choose an hour between 07:00 and 20:00."))
        fields["reminder_send_hour"] = reminder_send_hour
    if reminder_days_before is not None:
        fields["reminder_days_before"] = _clean_days_before(reminder_days_before)
    if hour_cycle is not None:
        if str(getattr(hour_cycle, "value", hour_cycle)) not in {c.value for c in HourCycle}:
            raise ValidationError.single("hour_cycle", _l("Choose how the clock is shown."))
        fields["hour_cycle"] = HourCycle(getattr(hour_cycle, "value", hour_cycle))
    changes = changes_of(user, fields)
    if changes:
        record_event(session, "user.preferences_changed", user, actor=actor or user, payload={"changes": changes})
    return changes


def _clean_days_before(value: str | list[int]) -> list[int]:
    """ "3, 1" or [3, 1] → [3, 1]: distinct whole days from 1 to 30, at most five, largest first."""
    if isinstance(value, list):
        parts = [str(v) for v in value]
    else:
        parts = [p for p in value.replace("،", ",").replace(";", ",").split(",") if p.strip()]
    days: set[int] = set()
    for part in parts:
        number = part.strip()
        if not number.isdecimal() or len(number) > 2 or not 1 <= int(number) <= 30:
            raise ValidationError.single(
                "reminder_days_before", _l("Give whole numbers of days between 1 and 30, e.g. 3, 1.")
            )
        days.add(int(number))
    if len(days) > 5:
        raise ValidationError.single("reminder_days_before", _l("At most five reminders before a follow-up."))
    return sorted(days, reverse=True)


def set_user_role(session: Session, user: User, role: Role | str, *, actor: User | None) -> None:
    new = clean_enum(Role, role, "role")
    if actor is not None and actor.id == user.id and new != user.role:
        raise ValidationError.single("role", _l("You cannot change your own role."))
    changes = changes_of(user, {"role": new})
    if changes:
        record_event(session, "user.role_changed", user, actor=actor, payload={"changes": changes})


def set_user_supervisor(session: Session, user: User, supervisor_id: int | None, *, actor: User | None) -> bool:
    """Who hears when ``user``'s follow-ups are long overdue (else every admin does)."""
    if supervisor_id is not None:
        supervisor = session.get(User, supervisor_id)
        if supervisor is None or not supervisor.is_active:
            raise ValidationError.single("supervisor_id", _l("Unknown user."))
        boss: User | None = supervisor
        seen: set[int] = set()
        while boss is not None and boss.id not in seen:
            if boss.id == user.id:
                raise ValidationError.single("supervisor_id", _l("A user cannot supervise themselves."))
            seen.add(boss.id or 0)
            boss = session.get(User, boss.supervisor_id) if boss.supervisor_id else None
    changes = changes_of(user, {"supervisor_id": supervisor_id})
    if changes:
        record_event(session, "user.supervisor_changed", user, actor=actor, payload={"changes": changes})
    return bool(changes)


def set_user_password(session: Session, user: User, password: str, *, actor: User | None) -> None:
    """A new password ends every login session of the user (one changing their own
    password goes on under a new session)."""
    problem = password_problem(password, user.email)
    if problem:
        raise ValidationError.single("password", problem)
    user.password_hash = hash_password(password)
    store_for(session).revoke_all(pk(user))
    record_event(session, "user.password_changed", user, actor=actor)


class PasswordLinkReason(enum.StrEnum):
    """Why a set-password link is emailed; the email's wording follows it."""

    INVITATION = "invitation"  # an administrator invited the user
    RESET = "reset"  # an administrator reset the password
    FORGOTTEN = "forgotten"  # the user asked from the login page


def request_password_link(session: Session, user: User, reason: PasswordLinkReason, *, actor: User | None) -> None:
    """Ask for a set-password link to be emailed to ``user`` (the "account_mail" consumer
    writes the email).  The current password keeps working until a new one is set, so
    anybody may ask for anybody's link without locking them out."""
    record_event(session, "user.password_link_requested", user, actor=actor, payload={"reason": reason.value})


def change_own_password(session: Session, user: User, *, current: str, new: str) -> None:
    """A logged-in user's new password, given the current one."""
    if not verify_password(user.password_hash, current):
        raise ValidationError.single("current_password", _l("The current password is wrong."))
    if secrets.compare_digest(current.encode(), new.encode()):
        raise ValidationError.single("password", _l("The new password is the same as the current one."))
    set_user_password(session, user, new, actor=user)


def deactivate_user(session: Session, user: User, *, actor: User | None) -> None:
    if actor is not None and actor.id == user.id:
        raise ValidationError.single("user", _l("You cannot deactivate your own account."))
    if user.is_active:
        user.is_active = False
        record_event(session, "user.deactivated", user, actor=actor)
    store_for(session).revoke_all(pk(user))


def work_of(session: Session, user: User) -> dict[str, list[int]]:
    """What ``user`` holds that someone must take over when they leave: the leads they own,
    their open follow-ups, and the people whose escalations go to them."""
    from crm.followups.models import FollowUp, FollowUpStatus
    from crm.leads.models import Lead

    def ids(column: Any, *where: Any) -> list[int]:
        return sorted(int(v) for v in session.exec(select(column).where(*where)).all())

    return {
        "leads": ids(Lead.id, Lead.owner_id == user.id),
        "followups": ids(FollowUp.id, FollowUp.owner_id == user.id, FollowUp.status == FollowUpStatus.OPEN),
        "supervised": ids(User.id, User.supervisor_id == user.id, User.id != user.id),
    }


def hand_over_work(session: Session, user: User, successor_id: int, *, actor: User | None) -> dict[str, list[int]]:
    """Give ``user``'s leads, open follow-ups (their reminders follow) and supervised people
    to the successor, each change with its own event.  Returns what moved.  Handing over
    someone's whole work is the administrators' (``None`` is Jisr itself)."""
    if actor is not None and not is_admin(actor):
        raise PermissionDenied("not an administrator", message=_l("Only administrators hand over someone's work."))
    from crm.followups.models import FollowUp
    from crm.followups.operations import reassign_followup
    from crm.leads.models import Lead
    from crm.leads.operations import update_lead

    successor = session.get(User, successor_id)
    if successor is None or not successor.is_active or not successor.can_edit() or successor.id == user.id:
        raise ValidationError.single("successor_id", _l("Choose another active officer or administrator."))
    work = work_of(session, user)
    for lead in session.exec(select(Lead).where(col(Lead.id).in_(work["leads"]))).all():
        update_lead(session, lead, actor=actor, owner_id=successor.id)
    for followup in session.exec(select(FollowUp).where(col(FollowUp.id).in_(work["followups"]))).all():
        reassign_followup(session, followup, pk(successor), actor=actor)
    for person in session.exec(select(User).where(col(User.id).in_(work["supervised"]))).all():
        set_user_supervisor(session, person, None if person.id == successor.id else successor.id, actor=actor)
    return work


def reactivate_user(session: Session, user: User, *, actor: User | None) -> None:
    if not user.is_active:
        user.is_active = True
        record_event(session, "user.reactivated", user, actor=actor)


def record_login(session: Session, user: User) -> None:
    user.last_login_at = utcnow()
    record_event(session, "user.logged_in", user, actor=user)


def record_login_throttled(
    session: Session, user: User | None, *, email: str, address: str, scope: str, failures: int, wait_seconds: int
) -> None:
    """A login limit starts holding attempts back: a security event, about the account when
    the typed address is one (the log is the administrators' to read; the login page tells
    nobody whether it is)."""
    payload: dict[str, Any] = {"scope": scope, "address": address, "failures": failures, "wait_seconds": wait_seconds}
    about = None  # an address held back on every account is about no one account
    if scope != "address":
        payload["email"] = email
        about = user.id if user is not None else None
    session.add(Event(type="user.login_throttled", payload=payload, entity_type=User.__tablename__, entity_id=about))


def log_out_other_sessions(session: Session, user: User, *, keep_session: str | None) -> int:
    """End every login session of ``user`` but the one they ask from; how many ended."""
    ended = store_for(session).revoke_all(pk(user), keep=keep_session)
    record_event(session, "user.other_sessions_ended", user, actor=user, payload={"sessions": ended})
    return ended


def log_out_session(session: Session, user: User, handle: str) -> bool:
    """End one of ``user``'s own login sessions (a lost phone, a shared computer)."""
    store = store_for(session)
    record = store.find(handle) if HANDLE_RE.fullmatch(handle) else None
    if record is None or record.user_id != user.id or not store.revoke(pk(user), handle):
        return False
    payload = {"device": record.device, "ip_address": record.ip_address, "started_at": record.created_at}
    record_event(session, "user.session_ended", user, actor=user, payload=payload)
    return True


def _calendar_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def find_user_by_calendar_token(session: Session, token: str) -> User | None:
    """The active user whose calendar feed secret is ``token`` (compared by hash)."""
    if not token or len(token) > 100:
        return None
    user = session.exec(select(User).where(User.calendar_token_hash == _calendar_token_hash(token))).first()
    return user if user is not None and user.is_active else None


def generate_calendar_token(session: Session, user: User) -> str:
    """A new secret for the user's follow-up calendar feed; the old feed URL stops working.

    Only its hash is stored, so the secret is shown once, right after it is made."""
    token = secrets.token_urlsafe(32)
    user.calendar_token_hash = _calendar_token_hash(token)
    record_event(session, "user.calendar_token_generated", user, actor=user)
    return token
