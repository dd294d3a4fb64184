"""Rights over owned objects, as a generated matrix: every write that touches an owner-like
field of a lead, a follow-up, a digest subscription, a saved filter, an API token or a
webhook endpoint, by every role relative to the object, through every channel (the page
form, the JSON API, and for leads an imported file), against the rule written out here.

Each case asserts the HTTP status and, on a refusal, that nothing changed: the objects'
rows, the watchers, the row count of every table and the events.  An allowed case asserts
that the change was made.  The rule is the one SECURITY.md states:

| what | who |
|---|---|
| a lead's title, stage, value… ; watching it oneself | any officer or admin who sees it |
| a lead's owner, confidentiality, other watchers; deleting it | its owner, the owner's supervisor, admins |
| a follow-up's owner | the follow-up's owner, the lead's owner, the owner's supervisor, admins |
| a subscription's address, filters, confidential leads | its creator, its reader, admins |
| a saved filter, an API token | its user (and admins) |
| a webhook endpoint | admins |
"""

from __future__ import annotations

import html
import io
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from sqlmodel import Session

from crm.digests.models import Subscription
from crm.digests.operations import DIRECTED
from crm.exchange.models import DataImport
from crm.exchange.rejections import ACCEPT_FIELD
from crm.followups.models import FollowUp
from crm.leads.models import Lead
from crm.leads.rights import CONFIDENTIALITY, DELETE, OTHER_WATCHERS, REASSIGN, REASSIGN_FOLLOWUP
from tests.api_helpers import bearer
from tests.rights_world import (
    FOLLOWUP_ROLES,
    LEAD_ROLES,
    OWN_ROLES,
    SUBSCRIPTION_ROLES,
    Picture,
    RightsWorld,
    build_rights_world,
    lead_events,
    watchers_of,
)
from tests.route_world import client_of

EDITORS = {"admin", "owner", "supervisor", "other", "watcher", "lead_owner", "followup_owner", "creator", "reader"}

# --- the rule ----------------------------------------------------------------------------

LEAD_MANAGERS = {"admin", "owner", "supervisor"}
LEAD_ACTIONS = {  # action: who may (None: every officer and admin who sees the lead)
    "title": None,
    "same_owner_and_confidential": None,
    "watch_self": None,
    "unwatch_self": None,
    "owner_id": LEAD_MANAGERS,
    "confidential": LEAD_MANAGERS,
    "add_other_watcher": LEAD_MANAGERS,
    "remove_other_watcher": LEAD_MANAGERS,
    "watchers_in_edit_form": LEAD_MANAGERS,
    "delete": LEAD_MANAGERS,
}
IMPORT_ACTIONS = ("title", "same_owner_and_confidential", "owner_id", "confidential")
FOLLOWUP_ACTIONS = {"reassign": {"admin", "lead_owner", "supervisor", "followup_owner"}, "reschedule": None}
SUBSCRIPTION_ACTIONS = {
    "name": None,
    "same_directed_fields": None,
    "email": {"admin", "creator", "reader"},
    "filters": {"admin", "creator", "reader"},
    "include_confidential": {"admin", "reader"},  # the creator: 422, confidential leads go to their reader only
}
# Who sees a confidential lead (and what hangs from it); everybody sees the others.
SEES_CONFIDENTIAL = {"admin", "owner", "watcher", "lead_owner", "followup_owner"}


@dataclass(frozen=True)
class Case:
    kind: str
    action: str
    channel: str
    role: str
    confidential: bool = False

    def __str__(self) -> str:
        secret = "-confidential" if self.confidential else ""
        return f"{self.kind}-{self.action}-{self.channel}-{self.role}{secret}"

    @property
    def allowed(self) -> bool:
        who = {**LEAD_ACTIONS, **FOLLOWUP_ACTIONS, **SUBSCRIPTION_ACTIONS}.get(self.action)
        return self.role in EDITORS and (who is None or self.role in who)

    @property
    def sees(self) -> bool:
        return not self.confidential or self.role in SEES_CONFIDENTIAL

    def expected(self) -> int | str:
        """The HTTP status (for an import, what becomes of the row: "update" or "error")."""
        if self.channel == "import":
            if self.role == "viewer":
                return 403
            return "update" if self.sees and self.allowed else "error"
        if self.role == "viewer":
            return 404 if (self.action, self.channel, self.sees) == ("delete", "page", False) else 403
        if not self.sees:
            return 404
        if self.allowed:
            return {"page": 302, "api": 204 if self.action == "delete" else 200}[self.channel]
        if self.action == "include_confidential" and self.role == "creator":
            return {"page": 422, "api": 422}[self.channel]
        return 403


def _cases() -> list[Case]:
    cases = []
    for secret in (False, True):
        for role in LEAD_ROLES:
            cases += [Case("lead", a, ch, role, secret) for a in LEAD_ACTIONS for ch in ("page", "api")]
            cases += [Case("lead", a, "import", role, secret) for a in IMPORT_ACTIONS]
        for role in FOLLOWUP_ROLES:
            cases += [Case("followup", a, ch, role, secret) for a in FOLLOWUP_ACTIONS for ch in ("page", "api")]
    for role in SUBSCRIPTION_ROLES:
        cases += [Case("subscription", a, ch, role) for a in SUBSCRIPTION_ACTIONS for ch in ("page", "api")]
    return cases


CASES = _cases()


# --- the requests ------------------------------------------------------------------------


def _person(case: Case) -> str:
    roles = {"lead": LEAD_ROLES, "followup": FOLLOWUP_ROLES, "subscription": SUBSCRIPTION_ROLES}[case.kind]
    return roles[case.role]


def _lead_form(world: RightsWorld, lead: Lead, **over: Any) -> dict[str, Any]:
    """The lead's edit form as a browser posts it, with ``over`` changed (None: left out)."""
    form: dict[str, Any] = {
        "title": lead.title,
        "description": lead.description,
        "ma_organisation_id": lead.ma_organisation_id,
        "us_organisation_id": lead.us_organisation_id,
        "partnership_type": lead.partnership_type.value,
        "sector_id": "",
        "owner_id": lead.owner_id,
        "priority": lead.priority.value,
        "estimated_value": "",
        "currency": "",
        "confidential": "y" if lead.confidential else None,
        "watcher_ids": sorted(world.id(w) for w in ("watcher", "bystander")),
        "mission_id": "",
        "meeting_id": "",
        **over,
    }
    return {k: v for k, v in form.items() if v is not None}


def _lead_request(world: RightsWorld, case: Case, me: int) -> tuple[str, str, dict[str, Any]]:
    """(method, url, keyword arguments of the test client) of a lead case."""
    lead = world.lead
    url = f"/leads/{lead.id}"
    watchers = sorted(world.id(w) for w in ("watcher", "bystander"))
    flip = not lead.confidential
    spare, bystander = world.id("spare"), world.id("bystander")
    if case.channel == "api":
        bodies: dict[str, Any] = {
            "title": {"title": "Renamed"},
            "same_owner_and_confidential": {
                "title": "Renamed",
                "owner_id": lead.owner_id,
                "confidential": lead.confidential,
                "watcher_ids": watchers,
            },
            "watch_self": {"watcher_ids": sorted({*watchers, me})},
            "unwatch_self": {"watcher_ids": sorted(set(watchers) - {me})},
            "owner_id": {"owner_id": spare},
            "confidential": {"confidential": flip},
            "add_other_watcher": {"watcher_ids": [*watchers, spare]},
            "remove_other_watcher": {"watcher_ids": [world.id("watcher")]},
            "watchers_in_edit_form": {"watcher_ids": [world.id("watcher"), spare]},
        }
        if case.action == "delete":
            return "DELETE", f"/api/v1/leads/{lead.id}", {}
        return "PATCH", f"/api/v1/leads/{lead.id}", {"json": bodies[case.action]}
    # The page: a browser leaves out the fields the page shows disabled (to all but managers).
    plain = {} if case.role in LEAD_MANAGERS else {"owner_id": None, "confidential": None, "watcher_ids": None}
    forms: dict[str, tuple[str, dict[str, Any]]] = {
        "title": ("edit", _lead_form(world, lead, title="Renamed", **plain)),
        "same_owner_and_confidential": ("edit", _lead_form(world, lead, title="Renamed")),
        "owner_id": ("edit", _lead_form(world, lead, owner_id=spare)),
        "confidential": ("edit", _lead_form(world, lead, confidential="y" if flip else "")),
        "watchers_in_edit_form": ("edit", _lead_form(world, lead, watcher_ids=[world.id("watcher"), spare])),
        "watch_self": ("watchers", {"watcher-user_id": me}),
        "add_other_watcher": ("watchers", {"watcher-user_id": spare}),
        "unwatch_self": (f"watchers/{me}/remove", {}),
        "remove_other_watcher": (f"watchers/{bystander}/remove", {}),
        "delete": ("delete", {}),
    }
    path, data = forms[case.action]
    return "POST", f"{url}/{path}", {"data": data}


def _followup_request(world: RightsWorld, case: Case) -> tuple[str, str, dict[str, Any]]:
    followup = world.followup
    owner = world.id("spare") if case.action == "reassign" else followup.owner_id
    due = "2030-03-05T11:00" if case.action == "reschedule" else "2030-03-04T10:00"
    if case.channel == "api":
        return "PATCH", f"/api/v1/followups/{followup.id}", {"json": {"owner_id": owner, "due_local": f"{due}:00"}}
    key = f"r{followup.id}"
    data = {f"{key}-due_local": due, f"{key}-timezone": followup.timezone, f"{key}-owner_id": owner}
    return "POST", f"/leads/{world.lead.id}/followups/{followup.id}/reschedule", {"data": data}


def _subscription_request(world: RightsWorld, case: Case) -> tuple[str, str, dict[str, Any]]:
    sub = world.subscription
    fields: dict[str, Any] = {
        "name": sub.name,
        "email": sub.email,
        "language": sub.language.value,
        "timezone": sub.timezone,
        "cadence": sub.cadence.value,
        "weekday": sub.weekday,
        "send_hour": sub.send_hour,
        "filters": dict(sub.filters),
        "include_confidential": sub.include_confidential,
        "send_when_empty": sub.send_when_empty,
        "organisation_id": sub.organisation_id,
    }
    changed = {
        "name": {"name": "Renamed"},
        "same_directed_fields": {"name": "Renamed"},
        "email": {"email": "elsewhere@example.org"},
        "filters": {"filters": {"ma_organisation_ids": [world.ma_id]}},
        "include_confidential": {"include_confidential": True},
    }[case.action]
    if case.channel == "api":
        body = {**fields, **changed} if case.action == "same_directed_fields" else changed
        return "PATCH", f"/api/v1/subscriptions/{sub.id}", {"json": body}
    posted = {**fields, **changed}
    data: dict[str, Any] = {k: v for k, v in posted.items() if k not in ("filters", "include_confidential")}
    data.update({"organisation_id": posted["organisation_id"] or 0, **posted["filters"]})
    if posted["include_confidential"]:
        data["include_confidential"] = "y"
    if posted["send_when_empty"]:
        data["send_when_empty"] = "y"
    return "POST", f"/digests/subscriptions/{sub.id}/edit", {"data": data}


def _made(session: Session, world: RightsWorld, case: Case, me: int) -> bool:
    """Whether the allowed change is there."""
    session.expire_all()
    lead = session.get(Lead, world.ids["lead"])
    if case.kind == "followup":
        followup = session.get(FollowUp, world.followup.id)
        assert followup is not None
        if case.action == "reassign":
            return followup.owner_id == world.id("spare")
        return followup.due_local == datetime(2030, 3, 5, 11, 0) and followup.owner_id == world.id("watcher")
    if case.kind == "subscription":
        sub = session.get(Subscription, world.subscription.id)
        assert sub is not None
        wanted = {
            "name": sub.name == "Renamed",
            "same_directed_fields": sub.name == "Renamed" and sub.email == world.users["watcher"].email,
            "email": sub.email == "elsewhere@example.org",
            "filters": sub.filters == {"ma_organisation_ids": [world.ma_id]},
            "include_confidential": sub.include_confidential,
        }
        return wanted[case.action]
    if case.action == "delete":
        return lead is None
    assert lead is not None
    watchers = watchers_of(session, lead.id or 0)
    before = {world.id("watcher"), world.id("bystander")}
    return {
        "title": lead.title == "Renamed",
        "same_owner_and_confidential": lead.title == "Renamed"
        and (lead.owner_id, lead.confidential) == (world.id("owner"), case.confidential),
        "owner_id": lead.owner_id == world.id("spare"),
        "confidential": lead.confidential != case.confidential,
        "watch_self": watchers == before | {me},
        "unwatch_self": watchers == before - {me},
        "add_other_watcher": watchers == before | {world.id("spare")},
        "remove_other_watcher": watchers == {world.id("watcher")},
        "watchers_in_edit_form": watchers == {world.id("watcher"), world.id("spare")},
    }[case.action]


# --- the matrix --------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def quick_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """The matrix logs its users in without their password: hash one once, not one per user."""
    from crm.accounts import operations

    if not _HASH:
        _HASH.append(operations.hash_password("Correct-Horse-42"))
    monkeypatch.setattr(operations, "hash_password", lambda _password: _HASH[0])


_HASH: list[str] = []


def _restore(session: Session, world: RightsWorld) -> None:
    """Put the world back as it was built, as Jisr itself (no actor, so no rights apply)."""
    from crm.digests.operations import update_subscription
    from crm.followups.operations import reassign_followup, reschedule_followup
    from crm.leads.operations import update_lead

    session.rollback()
    session.expire_all()
    lead = session.get(Lead, world.ids["lead"])
    if lead is not None:
        watchers = [world.id("watcher"), world.id("bystander")]
        update_lead(session, lead, title=world.lead_title, owner_id=world.id("owner"), watcher_ids=watchers)
        update_lead(session, lead, confidential=world.confidential)
    followup = session.get(FollowUp, world.ids["followup"])
    if followup is not None:
        reassign_followup(session, followup, world.id("watcher"))
        reschedule_followup(session, followup, due_local=world.followup_due)
    sub = session.get(Subscription, world.subscription.id)
    assert sub is not None
    update_subscription(session, sub, **world.subscription_fields)
    session.commit()


MATRIX = sorted(
    {(c.kind, c.channel, c.role, c.confidential) for c in CASES if c.channel != "import"}, key=lambda k: str(k)
)


@pytest.mark.parametrize(
    ("kind", "channel", "role", "confidential"),
    MATRIX,
    ids=[f"{k}-{ch}-{r}" + ("-confidential" if c else "") for k, ch, r, c in MATRIX],
)
def test_rights_matrix_through_pages_and_api(
    app: Any, session: Session, kind: str, channel: str, role: str, confidential: bool
) -> None:
    """Each action of ``kind`` by ``role`` through ``channel``: the status the rule says, the
    change made when allowed (then undone), nothing changed when refused."""
    world = build_rights_world(session, confidential=confidential)
    cases = [c for c in CASES if (c.kind, c.channel, c.role, c.confidential) == (kind, channel, role, confidential)]
    who = _person(cases[0])
    me = world.id(who)
    client = app.test_client() if channel == "api" else client_of(app, world.users[who].email)
    wrong: list[Any] = []
    for case in cases:  # a lead's deletion comes last
        if case.kind == "lead":
            method, url, kwargs = _lead_request(world, case, me)
        elif case.kind == "followup":
            method, url, kwargs = _followup_request(world, case)
        else:
            method, url, kwargs = _subscription_request(world, case)
        if channel == "api":
            kwargs["headers"] = bearer(world.tokens[who])
        before = Picture.take(session, world)
        response = client.open(url, method=method, **kwargs)
        after = Picture.take(session, world)
        expected = case.expected()
        if response.status_code != expected:
            wrong.append((str(case), "status", response.status_code, response.get_data(as_text=True)[:300]))
        elif expected in (200, 204, 302):
            if not _made(session, world, case, me):
                wrong.append((str(case), "not made"))
            _restore(session, world)
        elif before.differences(after):
            wrong.append((str(case), "changed on a refusal", before.differences(after)))
        elif expected == 403 and case.role != "viewer":
            wrong += _refusal_said(case, response)
    assert not wrong, "\n".join(repr(w) for w in wrong)


def _refusal_said(case: Case, response: Any) -> list[Any]:
    """A refusal says why: the API's problem document names the field and the reason; the
    page shows the reason."""
    reasons = {
        "owner_id": REASSIGN,
        "confidential": CONFIDENTIALITY,
        "add_other_watcher": OTHER_WATCHERS,
        "remove_other_watcher": OTHER_WATCHERS,
        "watchers_in_edit_form": OTHER_WATCHERS,
        "delete": DELETE,
        "reassign": REASSIGN_FOLLOWUP,
        "email": DIRECTED,
        "filters": DIRECTED,
        "include_confidential": DIRECTED,
    }
    reason = str(reasons[case.action])
    if case.channel == "api":
        problem = response.get_json()
        if problem.get("code") != "forbidden" or problem.get("detail") != reason:
            return [(str(case), "problem", problem)]
        return []
    if reason not in html.unescape(response.get_data(as_text=True)):
        return [(str(case), "no reason on the page", reason)]
    return []


def _upload(client: Any, rows: list[list[Any]]) -> Any:
    from tests.exchange_helpers import csv_bytes

    content = csv_bytes([[str(cell) for cell in row] for row in rows])
    data = {"kind": "leads", "file": (io.BytesIO(content), "leads.csv")}
    return client.post("/imports", data=data, content_type="multipart/form-data")


IMPORTS = sorted({(c.role, c.confidential) for c in CASES if c.channel == "import"}, key=str)


@pytest.mark.parametrize(
    ("role", "confidential"), IMPORTS, ids=[r + ("-confidential" if c else "") for r, c in IMPORTS]
)
def test_rights_matrix_through_an_imported_file(app: Any, session: Session, role: str, confidential: bool) -> None:
    """A row that changes the owner or the confidentiality of a lead its importer does not
    manage is refused in the preview, with the reason, and left out of the import."""
    world = build_rights_world(session, confidential=confidential)
    who = LEAD_ROLES[role]
    client = client_of(app, world.users[who].email)
    wrong: list[Any] = []
    for case in [c for c in CASES if (c.channel, c.role, c.confidential) == ("import", role, confidential)]:
        found = _import_case(session, world, client, case)
        if found is not None:
            wrong.append(found)
    assert not wrong, "\n".join(repr(w) for w in wrong)


def _import_case(session: Session, world: RightsWorld, client: Any, case: Case) -> Any:
    """Upload, map, preview and confirm one row; what is wrong with the outcome, or None."""
    lead = world.lead
    flip = "no" if case.confidential else "yes"
    same = "yes" if case.confidential else "no"
    row = {
        "title": [lead.id, "Renamed", "", ""],
        "same_owner_and_confidential": [lead.id, "Renamed", world.users["owner"].email, same],
        "owner_id": [lead.id, "", world.users["spare"].email, ""],
        "confidential": [lead.id, "", "", flip],
    }[case.action]
    before = Picture.take(session, world)
    events = lead_events(session, lead.id or 0)
    uploaded = _upload(client, [["ID", "Title", "Owner", "Confidential"], row])
    expected = case.expected()
    if expected == 403:
        changed = before.differences(Picture.take(session, world))
        return None if uploaded.status_code == 403 and not changed else (str(case), uploaded.status_code, changed)
    if uploaded.status_code != 302:
        return (str(case), "upload", uploaded.status_code)
    mapping_url = uploaded.headers["Location"]
    import_id = int(mapping_url.split("/")[2])
    mapped = client.post(mapping_url, data={"mapping": ["id", "title", "owner", "confidential"]})
    if mapped.status_code != 302:
        return (str(case), "mapping", mapped.status_code, mapped.get_data(as_text=True)[:300])
    preview = client.get(f"/imports/{import_id}/preview").get_data(as_text=True)
    shown = re.search(r'data-row="2" data-action="(\w+)">(.*?)</tr>', preview, re.S)
    if shown is None or shown.group(1) != expected:
        return (str(case), "preview", shown and shown.group(0))
    if expected == "error" and case.sees:
        reason = str({"owner_id": REASSIGN, "confidential": CONFIDENTIALITY}[case.action])
        if reason not in html.unescape(shown.group(2)):
            return (str(case), "no reason in the preview", shown.group(2))
    # A row refused is most of a one-row file: confirming it needs the explicit tick.
    if client.post(f"/imports/{import_id}/confirm", data={ACCEPT_FIELD: "1"}).status_code != 302:
        return (str(case), "confirm")
    session.expire_all()
    finished = session.get(DataImport, import_id)
    assert finished is not None and finished.status == "completed", str(case)
    if expected == "update":
        made = _made(session, world, Case("lead", case.action, "page", case.role, case.confidential), 0)
        _restore(session, world)
        return None if made else (str(case), "not made")
    after = Picture.take(session, world)
    # The import's own rows and events, and its write lock on SQLite (a system_state row).
    ignore = frozenset({"event", "data_import", "import_row", "import_file", "import_mapping", "system_state"})
    changed = before.differences(after, ignore=ignore)
    if lead_events(session, lead.id or 0) != events:
        changed["lead events"] = (events, lead_events(session, lead.id or 0))
    if (finished.updated_count, finished.error_count) != (0, 1) or changed:
        return (str(case), "changed on a refusal", changed)
    return None


OWN_CASES = [(kind, role) for kind in ("saved_filter", "api_token", "webhook") for role in OWN_ROLES]
OWN_EXPECTED = {  # who may; the others get this status (the page hides what is not theirs)
    "saved_filter": ({"owner"}, 404),
    "api_token": ({"owner", "admin"}, 404),
    "webhook": ({"admin"}, 403),
}


@pytest.mark.parametrize(("kind", "role"), OWN_CASES, ids=[f"{k}-{r}" for k, r in OWN_CASES])
def test_saved_filters_tokens_and_webhooks_are_their_owners(app: Any, session: Session, kind: str, role: str) -> None:
    world = build_rights_world(session)
    who = OWN_ROLES[role]
    requests = {
        "saved_filter": (f"/leads/filters/{world.saved.id}/delete", {}),
        "api_token": (f"/settings/api-tokens/{world.token.id}/revoke", {}),
        "webhook": (
            f"/admin/webhooks/{world.endpoint.id}/edit",
            {"url": "https://93.184.215.15/taken", "event_types": ["lead.created"], "include_confidential": "y"},
        ),
    }
    url, data = requests[kind]
    before = Picture.take(session, world)
    response = client_of(app, world.users[who].email).post(url, data=data)
    allowed, refusal = OWN_EXPECTED[kind]
    after = Picture.take(session, world)
    if role in allowed:
        assert response.status_code == 302, response.get_data(as_text=True)[:400]
        changed = {"saved_filter": "saved", "api_token": "token", "webhook": "endpoint"}[kind]
        assert before.rows[changed] != after.rows[changed]
    else:
        assert response.status_code == refusal
        assert not before.differences(after), before.differences(after)


def test_the_matrix_covers_every_role_action_and_channel() -> None:
    """The generated matrix is what it claims: a case for each combination, both ways."""
    assert len(CASES) == 2 * (6 * (10 * 2 + 4) + 6 * 2 * 2) + 5 * 5 * 2
    assert len(MATRIX) == 2 * (6 * 2 + 6 * 2) + 5 * 2 and len(IMPORTS) == 12
    outcomes = {case.expected() for case in CASES}
    assert {200, 204, 302, 403, 404, 422, "update", "error"} <= outcomes
    refused = [c for c in CASES if c.expected() == 403 and c.role not in ("viewer",)]
    assert {c.action for c in refused} >= {"owner_id", "confidential", "delete", "reassign", "email", "filters"}


def _disabled(page: str, tag: str, name: str) -> bool:
    found = re.search(rf'<{tag}\b[^>]*\bname="{name}"[^>]*>', page)
    assert found is not None, (tag, name)
    return bool(re.search(r"\sdisabled(\s|>|=)", found.group(0)))


def test_the_pages_offer_only_what_each_role_may_change(app: Any, session: Session) -> None:
    """The edit forms show the managed fields disabled to the others; the lead page offers
    them only themselves as a watcher, removing only themselves, and a follow-up's owner
    stays in its select unless they may give it to someone else."""
    world = build_rights_world(session)
    lead, followup, sub = world.ids["lead"], world.ids["followup"], world.ids["subscription"]
    seen = {}
    for role, who in {**LEAD_ROLES, "followup_owner": "watcher", "bystander": "bystander"}.items():
        if role == "viewer":
            continue
        client, me = client_of(app, world.users[who].email), world.id(who)
        edit = client.get(f"/leads/{lead}/edit").get_data(as_text=True)
        page = client.get(f"/leads/{lead}").get_data(as_text=True)
        digest = client.get(f"/digests/subscriptions/{sub}/edit").get_data(as_text=True)
        watch = re.search(r'<select[^>]*name="watcher-user_id"[^>]*>(.*?)</select>', page, re.S)
        owner = re.search(rf'<select[^>]*name="r{followup}-owner_id"[^>]*>(.*?)</select>', page, re.S)
        assert watch is not None and owner is not None
        seen[role] = {
            "edit form locked": all(
                _disabled(edit, tag, name)
                for tag, name in (("select", "owner_id"), ("select", "watcher_ids"), ("input", "confidential"))
            ),
            "offers as watchers": len(re.findall(r'<option[^>]*value="\d+"', watch.group(1))),
            "removes others": f"/watchers/{world.id('watcher' if who == 'bystander' else 'bystander')}/remove" in page,
            "removes themselves": f"/watchers/{me}/remove" in page,
            "followup owners": len(re.findall(r'<option[^>]*value="\d+"', owner.group(1))),
            "digest locked": _disabled(digest, "input", "email") and _disabled(digest, "select", "sector_ids"),
        }
    officers = len([p for p in world.users if p != "viewer"])
    everyone = len(world.users)
    manager = {
        "edit form locked": False,
        "offers as watchers": everyone,
        "removes others": True,
        "followup owners": officers,
    }
    watching = {"removes themselves": True}
    other = {"edit form locked": True, "offers as watchers": 1, "removes others": False, "followup owners": 1}
    expected = {
        "admin": {**manager, "digest locked": False, "removes themselves": False},
        "owner": {**manager, "digest locked": False, "removes themselves": False},  # who set the subscription up
        "supervisor": {**manager, "digest locked": True, "removes themselves": False},
        "other": {**other, "digest locked": True, "removes themselves": False},
        # The watcher owns the follow-up and reads the digest.
        "watcher": {**other, **watching, "followup owners": officers, "digest locked": False},
        "followup_owner": {**other, **watching, "followup owners": officers, "digest locked": False},
        "bystander": {**other, **watching, "digest locked": True},
    }
    assert seen == expected


OWNER_LIKE = {"owner_id", "confidential", "watcher_ids", "include_confidential", "email", "filters", "user_id"}
# API writes the matrix drives (by name), and the others that carry an owner-like field, with why not.
API_IN_THE_MATRIX = {"update_lead", "delete_lead", "update_followup", "update_subscription"}
API_NOT_IN_THE_MATRIX = {
    "create_lead": "a new lead: whoever creates it chooses its owner, watchers and confidentiality",
    "schedule_followup": "a new follow-up, on a lead the caller works on",
    "create_subscription": "a new subscription: its creator directs it (confidential leads: its reader only)",
    "create_contact": "a contact's email address is where to reach them, nobody's ownership",
    "update_contact": "the same",
}


def test_every_api_write_of_an_owner_like_field_is_in_the_matrix(app: Any) -> None:
    """A new API operation that can change an owner, a confidentiality, watchers or a
    digest's address or filters fails here until it joins the matrix (or says why not)."""
    from crm.api.framework import ENDPOINTS

    touching = {
        name
        for name, endpoint in ENDPOINTS.items()
        if endpoint.method in ("POST", "PUT", "PATCH", "DELETE")
        and (
            (endpoint.body is not None and OWNER_LIKE & set(endpoint.body.model_fields))
            or (endpoint.method == "DELETE" and "lead_id" in endpoint.rule)
        )
    }
    assert touching == API_IN_THE_MATRIX | set(API_NOT_IN_THE_MATRIX)
    driven = {(c.kind, c.action) for c in CASES if c.channel == "api"}
    assert {("lead", "delete"), ("lead", "owner_id"), ("followup", "reassign"), ("subscription", "email")} <= driven


def test_reverting_an_import_does_not_take_a_lead_back_from_its_new_owner(app: Any, session: Session) -> None:
    """An owner who gave their lead away in a file cannot take it back by reverting the
    import: the row is kept, and says why; the new owner keeps it."""
    world = build_rights_world(session)
    client = client_of(app, world.users["owner"].email)
    uploaded = _upload(client, [["ID", "Owner"], [world.ids["lead"], world.users["spare"].email]])
    mapping_url = uploaded.headers["Location"]
    import_id = int(mapping_url.split("/")[2])
    assert client.post(mapping_url, data={"mapping": ["id", "owner"]}).status_code == 302
    assert client.post(f"/imports/{import_id}/confirm").status_code == 302
    session.expire_all()
    assert session.get(Lead, world.ids["lead"]).owner_id == world.id("spare")
    before = Picture.take(session, world)
    assert client.post(f"/imports/{import_id}/revert").status_code == 302
    session.expire_all()
    finished = session.get(DataImport, import_id)
    assert finished is not None and (finished.status, finished.kept_count) == ("reverted", 1)
    assert session.get(Lead, world.ids["lead"]).owner_id == world.id("spare")
    assert before.rows["lead"] == Picture.take(session, world).rows["lead"]
    results = html.unescape(client.get(f"/imports/{import_id}?show=all").get_data(as_text=True))
    assert str(REASSIGN) in results
