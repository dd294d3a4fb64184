"""The lead list's sort form (shown on a phone, where the table's headers are hidden):
the same orders as the headers, the current one chosen, the filters carried along."""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import Session

from tests.factories import make_lead, make_user
from tests.web_helpers import login


def test_the_sort_form_offers_the_headers_orders_and_keeps_the_filters(session: Session, client: Any) -> None:
    me = make_user(session, email="officer@jisr.example")
    make_lead(session, owner=me, title="Beta")
    make_lead(session, owner=me, title="Alpha")
    session.commit()
    login(client, "officer@jisr.example")
    page = client.get(f"/leads?owner={me.id}&stage=identified&sort=title&order=asc").get_data(as_text=True)
    form = re.search(r'<form class="lead-sort.*?</form>', page, re.S).group(0)
    headers = re.findall(r'data-sort="([a-z_]+)"', page)
    assert re.findall(r'<option value="([a-z_]+)"', form) == [*headers, "asc", "desc"]
    assert '<option value="title" selected>' in form and '<option value="asc" selected>' in form
    hidden = re.findall(r'<input type="hidden" name="([a-z]+)" value="([^"]+)">', form)
    assert hidden == [("stage", "identified"), ("owner", str(me.id))]  # the filters, not the old order
    assert page.index("Alpha") < page.index("Beta")
    page = client.get(f"/leads?owner={me.id}&stage=identified&sort=title&order=desc").get_data(as_text=True)
    assert page.index("Beta") < page.index("Alpha")
