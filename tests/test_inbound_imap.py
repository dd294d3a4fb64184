"""IMAP polling against a real server: a private Dovecot (Debian's ``dovecot-imapd``) on a
free port, fed with IMAPClient.  New messages are filed once across restarts of the
poller, and a mailbox rebuilt under a new UIDVALIDITY is read again without doubling."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from imapclient import IMAPClient
from sqlmodel import Session, func, select

from crm.inbound.addresses import lead_address
from crm.inbound.imap import ImapCursor, ImapSettings, parse_imap_url, poll_mailbox
from crm.inbound.models import EmailMessage, InboundMail
from crm.organisations.operations import create_contact
from tests.factories import make_lead, make_organisation, make_user
from tests.inbound_corpus import plain
from tests.processes import free_port, stop
from tests.test_spine import relay_and_consume

DOVECOT = Path("/usr/sbin/dovecot")
USER, PASSWORD, FOLDER = "jisr", "imap-secret-42", "Jisr"

CONFIG = """
base_dir = {root}/run
state_dir = {root}/state
instance_name = jisr-test-{port}
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
log_path = {root}/dovecot.log
default_login_user = dovenull
default_internal_user = dovecot
default_internal_group = dovecot
first_valid_uid = {uid}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""


@pytest.fixture
def imap_server() -> Iterator[ImapSettings]:
    if not DOVECOT.exists():
        pytest.fail(
            "Debian's dovecot-imapd is missing: `apt-get install -y dovecot-imapd` (.ci/run installs it)",
            pytrace=False,
        )
    if os.geteuid() != 0:
        pytest.skip("a private Dovecot starts as root (its login processes drop to dovenull)")
    # Dovecot's own processes (users dovecot and dovenull) must reach it: not under
    # pytest's private temporary folder.
    holder = tempfile.TemporaryDirectory(prefix="jisr-dovecot-")
    root = Path(holder.name)
    os.chmod(root, 0o755)
    for name in ("run", "state", "mail", "home"):
        (root / name).mkdir(parents=True)
    mail_owner = pwd.getpwnam("dovecot")
    for name in ("mail", "home"):
        shutil.chown(root / name, mail_owner.pw_uid, mail_owner.pw_gid)
    port = free_port()
    (root / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
    config = root / "dovecot.conf"
    config.write_text(CONFIG.format(root=root, port=port, uid=mail_owner.pw_uid, gid=mail_owner.pw_gid))
    process = subprocess.Popen(
        [str(DOVECOT), "-F", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                stop(process)
                log = root / "dovecot.log"
                said = log.read_text() if log.exists() else ""
                holder.cleanup()
                pytest.fail(f"Dovecot did not start: {said}")
            time.sleep(0.1)
    try:
        yield parse_imap_url(f"imap://{USER}:{PASSWORD}@127.0.0.1:{port}/{FOLDER}")
    finally:
        stop(process)
        holder.cleanup()


def _append(settings: ImapSettings, *messages: bytes, recreate: bool = False) -> None:
    with IMAPClient(settings.host, port=settings.port, ssl=False) as client:
        client.login(settings.username, settings.password)
        if recreate and client.folder_exists(settings.folder):
            client.delete_folder(settings.folder)
        if not client.folder_exists(settings.folder):
            client.create_folder(settings.folder)
        for raw in messages:
            client.append(settings.folder, raw)


def _count(session: Session, model: Any) -> int:
    session.expire_all()
    return int(session.exec(select(func.count()).select_from(model)).one())


def test_a_bad_mailbox_url_is_refused_at_start() -> None:
    from crm.config import ConfigError, load_settings

    with pytest.raises(ConfigError, match="INBOUND_IMAP_URL"):
        load_settings({"INBOUND_IMAP_URL": "http://box.example/", "SECRET_KEY": "k" * 40})
    settings = load_settings({"INBOUND_IMAP_URL": "imaps://a%40b.ma:p@mail.example/Jisr", "SECRET_KEY": "k" * 40})
    assert parse_imap_url(settings.flask_config()["INBOUND_IMAP_URL"]).port == 993


def test_polling_files_new_messages_once_across_restarts_and_uidvalidity(
    session: Session, imap_server: ImapSettings
) -> None:
    officer = make_user(session, email="amal@agency.example")
    aws = make_organisation(session, "US", name_en="AWS")
    create_contact(session, organisation_id=aws.id, name="Jane Doe", email="jane@aws.example")
    lead = make_lead(session, owner=officer, us_organisation_id=aws.id)
    session.commit()
    to_lead = plain("imap-1@aws.example", "jane@aws.example", f"officer@agency.example, {lead_address(lead)}")
    copied = plain("imap-2@agency.example", officer.email, "Jane Doe <jane@aws.example>")  # Bcc: the shared box
    stranger = plain("imap-3@evil.example", "x@evil.example", "jisr@agency.example")
    _append(imap_server, to_lead, copied, stranger)

    assert poll_mailbox(session, imap_server) == 3
    assert poll_mailbox(session, imap_server) == 0  # a poller started again reads nothing twice
    cursor = session.get(ImapCursor, imap_server.mailbox)
    assert cursor is not None and cursor.last_uid == 3
    relay_and_consume(session)
    session.expire_all()
    filed = session.exec(select(EmailMessage.message_id).where(EmailMessage.lead_id == lead.id)).all()
    assert sorted(filed) == ["imap-1@aws.example", "imap-2@agency.example"]
    held = session.exec(select(InboundMail).where(InboundMail.message_id == "imap-3@evil.example")).one()
    assert held.state.value == "review"

    _append(imap_server, plain("imap-4@aws.example", "jane@aws.example", lead_address(lead)))
    assert poll_mailbox(session, imap_server) == 1

    old_validity = cursor.uid_validity
    _append(imap_server, to_lead, copied, recreate=True)  # a rebuilt mailbox: new UIDVALIDITY, UIDs from 1
    assert poll_mailbox(session, imap_server) == 0
    session.expire_all()
    cursor = session.get(ImapCursor, imap_server.mailbox)
    assert cursor is not None and cursor.uid_validity != old_validity and cursor.last_uid == 2
    relay_and_consume(session)
    assert _count(session, EmailMessage) == 3
    assert _count(session, InboundMail) == 4
