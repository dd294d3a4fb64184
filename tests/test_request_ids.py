"""One request id from the click to the SMTP server's answer: echoed in the response,
recorded with the events and the mail ledger rows the request causes, carried in the
Celery headers of its tasks, and on every log line (JSON lines with ``LOG_FORMAT=json``)."""

from __future__ import annotations

import io
import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select

from crm.core.consumers import consume
from crm.core.events import Event
from crm.core.ledger import OutboundMail
from crm.core.logs import ContextFilter, JsonFormatter, configure_logging, logging_config
from crm.core.requestid import HEADER, well_formed
from tests.factories import PASSWORD, make_user
from tests.processes import app_for, start_worker, stop
from tests.spine_helpers import Sink, wait_for

REQUEST_ID = "click-7f3a9c1e-5b2d"


def _link_requests(session: Session) -> list[Event]:
    session.rollback()
    query = select(Event).where(Event.type == "user.password_link_requested").order_by(col(Event.id))
    return list(session.exec(query).all())


def test_a_well_formed_request_id_is_kept_and_echoed_and_a_bad_one_replaced(client: Any) -> None:
    kept = client.get("/login", headers={HEADER: REQUEST_ID})
    assert kept.headers[HEADER] == REQUEST_ID
    for bad in ("short", "x" * 65, "two words here", "id;Set-Cookie=a", "<script>alert(1)</script>"):
        answered = client.get("/login", headers={HEADER: bad})
        assert answered.status_code == 200
        assert answered.headers[HEADER] != bad and well_formed(answered.headers[HEADER])
    first, second = client.get("/login").headers[HEADER], client.get("/login").headers[HEADER]
    assert first != second and well_formed(first) and well_formed(second)


def test_a_mail_caused_by_a_request_has_its_id_in_the_ledger(session: Session, client: Any) -> None:
    make_user(session, email="salma@jisr.example", language="ar")
    session.commit()
    response = client.post("/password/forgotten", data={"email": "salma@jisr.example"}, headers={HEADER: REQUEST_ID})
    assert response.status_code == 302 and response.headers[HEADER] == REQUEST_ID
    (event,) = _link_requests(session)
    assert event.request_id == REQUEST_ID
    # The consumer runs later, in a worker, outside any request: the event brings the id.
    assert consume(session, int(event.id or 0), "account_mail")
    mail = session.exec(select(OutboundMail).where(OutboundMail.dedupe_key == f"password-link:{event.id}")).one()
    assert mail.request_id == REQUEST_ID


def test_json_log_lines_parse_and_carry_the_request_and_the_user(app: Any, session: Session) -> None:
    user = make_user(session, email="omar@jisr.example")
    session.commit()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("crm.request")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        client = app.test_client()
        client.post("/login", data={"email": "omar@jisr.example", "password": PASSWORD})
        client.get("/leads", headers={HEADER: REQUEST_ID})
        logging.getLogger("crm.request").info("élan « مرحبا »", extra={"lead_id": 7})
    finally:
        logger.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert len(lines) >= 3
    for line in lines:
        assert {"time", "level", "logger", "message", "request_id", "user_id"} <= set(line)
        assert line["time"].endswith("+00:00") and line["level"] in ("INFO", "WARNING")
    (leads,) = [line for line in lines if line["message"].startswith("GET /leads ")]
    assert leads["request_id"] == REQUEST_ID and leads["user_id"] == user.id and leads["status"] == 200
    assert leads["logger"] == "crm.request" and isinstance(leads["duration_ms"], float)
    outside = lines[-1]
    assert outside["message"] == "élan « مرحبا »" and outside["lead_id"] == 7
    assert outside["request_id"] is None and outside["user_id"] is None


def test_the_log_format_setting_is_checked_and_both_formats_configure(tmp_path: Path) -> None:
    from crm.config import ConfigError, load_settings

    base = {"JISR_INSTANCE_PATH": str(tmp_path)}
    assert load_settings(base).extra["LOG_FORMAT"] == "text"
    assert load_settings({**base, "LOG_FORMAT": "JSON"}).extra["LOG_FORMAT"] == "json"
    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        load_settings({**base, "LOG_FORMAT": "xml"})
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        logging_config("xml")
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        for log_format in ("text", "json"):
            configure_logging(log_format, "WARNING")
            assert root.level == logging.WARNING
            assert [type(h.formatter).__name__ for h in root.handlers] == [
                "JsonFormatter" if log_format == "json" else "Formatter"
            ]
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])


def _json_lines(log: Path) -> list[dict[str, Any]]:
    found = []
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            found.append(json.loads(line))
    return found


@pytest.mark.slow
def test_the_tasks_a_request_causes_log_its_id_up_to_the_smtp_answer(spine: dict[str, Any], tmp_path: Path) -> None:
    with Sink() as sink:
        env = {**spine, "MAIL_URL": sink.url, "LOG_FORMAT": "json"}
        app = app_for(env, RELAY_KICK=True)
        log = tmp_path / "worker.log"
        worker = start_worker(env, log)
        try:
            with app.app_context():
                from crm.core.db import db

                make_user(db.session, email="nadia@jisr.example", language="fr")
                db.session.commit()
                client = app.test_client()
                answer = client.post(
                    "/password/forgotten", data={"email": "nadia@jisr.example"}, headers={HEADER: REQUEST_ID}
                )
                assert answer.status_code == 302
                wait_for(lambda: len(sink.messages) == 1, 60, "the password link mail")
                mail = db.session.exec(select(OutboundMail)).one()
                assert mail.request_id == REQUEST_ID

            def sent_logged() -> bool:
                return any(line.get("mail_id") == mail.id for line in _json_lines(log))

            wait_for(sent_logged, 20, "the log line of the SMTP answer")
            time.sleep(0.5)
            lines = _json_lines(log)
            ours = [line for line in lines if line.get("request_id") == REQUEST_ID]
            tasks = {line.get("task_name") for line in ours}
            # The relay kicked after the request's commit; the sweep kicked when the consumer
            # that wrote the mail committed (it worked under the event's request id); the send.
            assert {"crm.events.relay", "crm.mail.sweep", "crm.mail.send"} <= tasks, tasks
            (smtp,) = [line for line in ours if line.get("mail_id") == mail.id]
            assert smtp["mail_status"] == "sent" and smtp["task_name"] == "crm.mail.send" and smtp["task_id"]
            assert smtp["level"] == "INFO" and smtp["logger"] == "crm.core.ledger"
            # Every line written inside a task has a request id (its own when no request caused it).
            assert all(line["request_id"] for line in lines if line.get("task_name"))
        finally:
            stop(worker)
