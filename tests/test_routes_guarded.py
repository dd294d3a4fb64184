"""Every route of the app, read from its URL map, against the access rules: pages need a
login, viewers only read, a confidential lead and everything hanging from it exist only for
its owner, watchers and admins, and the administration is for administrators.

A new route is walked without being listed here; only the public routes are listed, each
with the reason it needs no login.  Each request's answer is checked, and the row counts of
every table before and after it."""

from __future__ import annotations

import subprocess
from typing import Any
from urllib.parse import urlsplit

from sqlmodel import Session, col, select

from crm.core.events import Event
from tests.route_pages import form_body, harvest
from tests.route_world import (
    PRIVATE_ARGUMENTS,
    SECRET_MARKERS,
    SECRET_TITLE,
    WRITE_METHODS,
    Walk,
    World,
    build_world,
    client_of,
    fill,
    is_api,
    methods_of,
    report,
    web_rules,
)

# Routes that answer without a login, and why.
PUBLIC = {
    "accounts.login": "the login page itself",
    "accounts.switch_language": "the login page's language switch (a cookie; once logged in, the user's choice)",
    "core.healthz": "the load balancer's health check",
    "static": "the app's own CSS, JavaScript and icons",
    "vendor": "the front-end packages served from node_modules",
    "digests.unsubscribe_link": "one-click unsubscribe from a digest email, authorised by its signed token",
    "admin_users.set_password": "the set-password link of an invitation or reset, authorised by its signed token",
    "accounts.forgot_password": "asking for a set-password link by email (the same answer for any address)",
    "followups.calendar": "the iCalendar feed, authorised by the secret token in its address",
    "followups.reminder_link": "a reminder's one-click link (done, snooze), authorised by its signed token",
    "checkins.answer": "an outcome check-in answer link (form on GET, answer on POST), authorised by its signed token",
    "checkins.stop": "one-click stop of outcome check-in emails (RFC 8058), authorised by its signed token",
    "itineraries.feed": "a delegate's itinerary calendar feed, authorised by its signed, revocable token",
    "api.openapi_json": "the API's OpenAPI document: a description, no data",
    "api.docs": "the API's readable documentation: a description, no data",
    "metrics": "Prometheus metrics: METRICS_TOKEN or an address of METRICS_ALLOW, else 404 (tests/test_metrics.py)",
}
# What a viewer may post: their own sessions, language (and keeping the login page's),
# preferences, API tokens, calendar address, notification marks and saved filters.
VIEWER_MAY_POST = {
    "accounts.logout",
    "accounts.switch_language",
    "accounts.keep_language",
    "accounts.settings",
    "accounts.change_password",
    "login_sessions.log_out_others",
    "login_sessions.log_out_one",
    "api_tokens.create",
    "api_tokens.revoke",
    "followups.new_calendar_token",
    "notifications.mark_read",
    "leads.save_current_filter",
    "leads.delete_filter",
}
VIEWER_OWN_ROWS = {"user_account", "api_token", "saved_filter", "login_session"}
# Pages that only administrators open, beyond the /admin/ addresses.
ADMIN_ONLY_ADDRESSES = ["/followups?owner=all"]
REFUSED = (403, 404)
HTMX = {"HX-Request": "true"}
# Valid bodies of the API's writes on one resource (an empty body is valid for the others).
API_BODIES: dict[str, dict[str, Any]] = {
    "api.update_lead": {"title": "Taken over"},
    "api.move_lead": {"stage": "agreement_signed"},
    "api.update_followup": {"due_local": "2026-12-24T10:00:00"},
    "api.update_subscription": {"name": "Taken over"},
    "api.send_digest": {"period": "2026-W47", "again": True},
}


def test_anonymous_requests_go_to_the_login_page_or_get_a_401_but_the_public_routes_answer(
    app: Any, session: Session
) -> None:
    world = build_world(session)
    endpoints = {rule.endpoint for rule in web_rules(app)}
    assert endpoints >= set(PUBLIC) | VIEWER_MAY_POST, f"stale: {sorted((set(PUBLIC) | VIEWER_MAY_POST) - endpoints)}"
    walk = Walk(session, client_of(app, None))
    for rule in web_rules(app):
        fill(rule, world.values("secret"))  # every argument names a row of the world
        if rule.endpoint in PUBLIC:
            continue
        url = fill(rule, world.values())
        for method in methods_of(rule):
            response = walk.send(method, url)
            if is_api(rule):
                ok = response.status_code == 401 and response.mimetype == "application/problem+json"
            else:
                ok = response.status_code == 302 and urlsplit(response.headers.get("Location", "")).path == "/login"
            if not ok or walk.written:
                walk.complain("let in", method, url, "", response, walk.written)
    assert walk.sent > 140
    assert not walk.wrong, report(walk.wrong)
    public = {
        f"/followups/calendar/{world.public['calendar']}.ics": 200,
        f"/digests/unsubscribe/{world.public['unsubscribe']}": 200,
        f"/set-password/{world.public['set_password']}": 200,
        "/followups/calendar/not-a-token.ics": 404,
        "/digests/unsubscribe/not-a-token": 404,
        "/set-password/not-a-token": 404,
        f"/followups/link/{world.public['reminder_link']}": 200,
        "/followups/link/not-a-token": 404,
        f"/checkins/answer/{world.public['checkin_answer']}": 200,
        "/checkins/answer/not-a-token": 404,
        f"/checkins/stop/{world.public['checkin_stop']}": 200,
        "/checkins/stop/not-a-token": 404,
        "/healthz": 200,
        "/api/v1/openapi.json": 200,
        "/api/v1/docs": 200,
        "/login": 200,
        "/password/forgotten": 200,
    }
    assert {url: walk.send("GET", url).status_code for url in public} == public
    assert not walk.wrong, report(walk.wrong)


def test_a_viewer_writes_nothing_but_their_own_account(app: Any, session: Session) -> None:
    world = build_world(session)
    forms = harvest(app, "admin", world)
    walk = Walk(session, client_of(app, world.emails["viewer"]))
    for rule in web_rules(app):
        if rule.endpoint in VIEWER_MAY_POST or rule.endpoint in PUBLIC:
            continue  # a public route is authorised by its token, not by the session
        url = fill(rule, world.values())
        for method in sorted(set(methods_of(rule)) & set(WRITE_METHODS)):
            if is_api(rule):
                response = walk.send(
                    method, url, json=API_BODIES.get(rule.endpoint, {}), headers=world.bearer("viewer")
                )
            else:  # the form as an editor sends it, so that a missing check would let it through
                response = walk.send(method, url, data=form_body(forms, url))
            if response.status_code != 403 or walk.written:
                walk.complain("viewer wrote", method, url, "", response, walk.written)
    assert walk.sent > 60
    last_event = session.exec(select(Event.id).order_by(col(Event.id).desc())).first()
    own = harvest(app, "viewer", world)
    for rule in sorted(web_rules(app), key=lambda r: r.endpoint):
        if rule.endpoint in VIEWER_MAY_POST and rule.endpoint != "accounts.logout":  # logging out ends the walk
            url = fill(rule, world.values())
            response = walk.send("POST", url, data=form_body(own, url))
            if touched := set(walk.written) - VIEWER_OWN_ROWS - {"event"}:
                walk.complain("viewer touched", "POST", url, "", response, touched)
    session.expire_all()
    recorded = session.exec(select(Event).where(col(Event.id) > (last_event or 0))).all()
    assert {e.entity_type for e in recorded} <= VIEWER_OWN_ROWS, [(e.type, e.entity_type) for e in recorded]
    assert {e.type for e in recorded} >= {"api_token.created", "saved_filter.created", "user.calendar_token_generated"}
    assert not walk.wrong, report(walk.wrong)


def test_another_officer_cannot_reach_a_confidential_lead_nor_what_hangs_from_it(app: Any, session: Session) -> None:
    world = build_world(session)
    forms = harvest(app, "a", world, "secret")
    walk = Walk(session, client_of(app, world.emails["b"]))
    for rule in web_rules(app):
        if not PRIVATE_ARGUMENTS & set(rule.arguments):
            continue
        url = fill(rule, world.values("secret"))
        for method in methods_of(rule):
            for headers in ({}, HTMX) if not is_api(rule) else ({},):
                if is_api(rule):
                    body = API_BODIES.get(rule.endpoint, {}) if method != "GET" else None
                    response = walk.send(method, url, json=body, headers=world.bearer("b"))
                else:
                    data = form_body(forms, url) if method != "GET" else None
                    response = walk.send(method, url, data=data, headers=headers)
                leaked = [m for m in SECRET_MARKERS if m in response.get_data(as_text=True)]
                if response.status_code not in REFUSED or walk.written or leaked:
                    walk.complain("reached", method, url, str(headers), response, walk.written, leaked)
    attach = {
        "/api/v1/activities": {"kind": "note", "body": "Taken over"},
        "/api/v1/followups": {"title": "Taken over", "due_local": "2026-12-24T10:00:00", "timezone": "UTC"},
    }
    for url, body in attach.items():
        response = walk.send("POST", url, json={**body, "lead_id": world.secret["lead_id"]}, headers=world.bearer("b"))
        if response.status_code not in (*REFUSED, 422) or walk.written:
            walk.complain("attached", "POST", url, "", response, walk.written)
        mine = walk.send("POST", url, json={**body, "lead_id": world.open["lead_id"]}, headers=world.bearer("b"))
        assert mine.status_code == 201, (url, mine.get_json())
    assert walk.sent > 60
    assert not walk.wrong, report(walk.wrong)


def readable(response: Any) -> str:
    """A page's text; a PDF's as ``pdftotext`` reads it (a briefing sheet names leads too)."""
    if response.mimetype != "application/pdf":
        return str(response.get_data(as_text=True))
    done = subprocess.run(["pdftotext", "-", "-"], input=response.data, check=True, capture_output=True)
    return done.stdout.decode()


def _pages_naming_the_secret(app: Any, walk: Walk, world: World, who: str, only: set[str] | None = None) -> set[str]:
    """Every page without a private argument (plain, as an htmx fragment, and searching
    for the lead) as ``who`` sees it: the endpoints whose answer names the confidential lead."""
    showing = set()
    for rule in web_rules(app):
        if "GET" not in methods_of(rule) or PRIVATE_ARGUMENTS & set(rule.arguments) or rule.endpoint in PUBLIC:
            continue
        if only is not None and rule.endpoint not in only:
            continue
        url = fill(rule, world.values())
        variants = [(world.bearer(who), "")] if is_api(rule) else [({}, ""), (HTMX, ""), ({}, "?q=Quokka")]
        for headers, query in variants:
            if any(m in readable(walk.send("GET", url + query, headers=headers)) for m in SECRET_MARKERS):
                showing.add(rule.endpoint)
    return showing


def test_another_officer_never_reads_the_confidential_lead_on_any_page(app: Any, session: Session) -> None:
    app.config["API_EVENT_FEED_SETTLE_SECONDS"] = 0
    world = build_world(session)
    expected = {"leads.index", "pipeline.board", "exports.leads", "search.index", "followups.index"}
    expected |= {"organisations.detail", "missions.detail", "api.list_leads", "api.list_followups"}
    expected |= {"api.list_activities", "api.list_events"}
    expected |= {"itineraries.briefing_pdf"}  # the meeting's briefing sheet lists the lead
    owner = Walk(session, client_of(app, world.emails["a"]))
    showing = _pages_naming_the_secret(app, owner, world, "a", expected)
    assert showing == expected, f"the owner should see the lead on {sorted(expected - showing)}"
    other = Walk(session, client_of(app, world.emails["b"]))
    assert not _pages_naming_the_secret(app, other, world, "b"), f"{SECRET_TITLE} shown to another officer"
    assert other.sent > 150
    assert not owner.wrong + other.wrong, report(owner.wrong + other.wrong)


def test_officers_and_viewers_get_403_on_every_admin_page(app: Any, session: Session) -> None:
    world = build_world(session)
    forms = harvest(app, "admin", world)
    for who in ("b", "viewer"):
        walk = Walk(session, client_of(app, world.emails[who]))
        for rule in web_rules(app):
            # The admin pages, and a contact's personal data (export, erasure, deletion).
            if not (rule.rule.startswith("/admin") or rule.endpoint.startswith("privacy.")):
                continue
            url = fill(rule, world.values())
            for method in methods_of(rule):
                data = form_body(forms, url) if method in WRITE_METHODS else None
                response = walk.send(method, url, data=data)
                if response.status_code != 403 or walk.written:
                    walk.complain("let in", method, url, who, response, walk.written)
        for url in ADMIN_ONLY_ADDRESSES:
            if (response := walk.send("GET", url)).status_code != 403:
                walk.complain("let in", "GET", url, who, response)
        assert walk.sent > 25
        assert not walk.wrong, report(walk.wrong)
