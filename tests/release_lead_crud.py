"""Run by tests/test_migration_policy.py with the *release's* code on the import path (an
extracted copy of the commit in migrations/RELEASE) against a database migrated by today's
code: a user signs in, creates a lead through the web form, lists and opens it, edits it,
moves it, gives it a follow-up, lets the consumers run, deletes it.  Prints one JSON line.

It uses only what that release already had: the web routes, the factories and the
operations of the leads and follow-ups.  When the release moves forward and one of them
changes, this script follows it."""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime, timedelta


def main() -> int:
    from sqlmodel import col, select

    from crm import create_app
    from crm.core.consumers import consume, consumers_for
    from crm.core.db import db
    from crm.core.events import Event
    from crm.core.outbox import publish_pending
    from crm.followups.operations import schedule_followup
    from crm.leads.models import Lead
    from crm.leads.operations import delete_lead, move_lead_to_stage, update_lead
    from tests.factories import PASSWORD, make_organisation, make_user

    app = create_app(
        {
            "DATABASE_URL": os.environ["DATABASE_URL"],
            "TESTING": True,
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "RELAY_KICK": False,
            "SERVER_NAME": "jisr.test",
        }
    )
    done: dict[str, object] = {}
    with app.app_context():
        session = db.session
        admin = make_user(session, role="admin", email="release@jisr.example", language="fr")
        ma = make_organisation(session, "MA", name_fr="Agence du Digital", acronym="ADD")
        us = make_organisation(session, "US", name_en="Oracle")
        session.commit()
        client = app.test_client()
        assert client.post("/login", data={"email": admin.email, "password": PASSWORD}).status_code == 302
        form = {
            "title": "Cloud souverain", "ma_organisation_id": str(ma.id), "us_organisation_id": str(us.id),
            "partnership_type": "technology_partnership", "sector_id": "", "stage": "contacted",
            "owner_id": str(admin.id), "priority": "high", "estimated_value": "250 000", "currency": "USD",
            "mission_id": "", "meeting_id": "", "description": "",
        }  # fmt: skip
        created = client.post("/leads/new", data=form)
        assert created.status_code == 302, created.status_code
        lead = session.exec(select(Lead).where(Lead.title == "Cloud souverain")).one()
        listed = client.get("/leads")
        assert listed.status_code == 200 and "Cloud souverain" in listed.get_data(as_text=True)
        assert client.get(f"/leads/{lead.id}").status_code == 200
        assert client.get("/pipeline").status_code == 200
        update_lead(session, lead, actor=admin, title="Cloud souverain marocain")
        move_lead_to_stage(session, lead, "proposal", actor=admin)
        due = (datetime.now() + timedelta(days=5)).replace(hour=10, minute=0, second=0, microsecond=0)
        schedule_followup(session, lead, title="Envoyer la proposition", due_local=due, timezone="UTC", actor=admin)
        session.commit()
        assert "Cloud souverain marocain" in client.get(f"/leads/{lead.id}").get_data(as_text=True)
        published: list[tuple[list[int], str]] = []
        while publish_pending(session, lambda ids, name: published.append((list(ids), name))):
            pass
        ran = 0
        for ids, name in published:
            for event_id in ids:
                ran += int(consume(session, event_id, name))
        done["consumed"] = ran
        done["lead_id"] = lead.id
        delete_lead(session, lead, actor=admin)
        session.commit()
        assert session.get(Lead, done["lead_id"]) is None
        done["events"] = [e.type for e in session.exec(select(Event).order_by(col(Event.id))).all()]
        done["consumers_of_created"] = consumers_for("lead.created")
    print(json.dumps(done))
    return 0


if __name__ == "__main__":
    sys.exit(main())
