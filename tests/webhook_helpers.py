"""Helpers for webhook tests: a real HTTP(S) receiver on 127.0.0.1, a self-signed
certificate, and the relay + consumers run in this process."""

from __future__ import annotations

import json
import ssl
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from crm.core.consumers import consume
from crm.core.outbox import publish_pending
from crm.webhooks.addresses import AddressPolicy
from crm.webhooks.delivery import DeliverySettings
from crm.webhooks.models import WebhookDelivery
from crm.webhooks.operations import create_webhook_endpoint


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """A threaded HTTP server that keeps every request and answers as ``script`` says
    (``script(n)`` for the n-th request, counting from 1), or by path from ``routes``."""

    def __init__(
        self,
        script: Callable[[int], Reply] | None = None,
        *,
        routes: dict[str, Reply] | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.requests: list[Received] = []
        self.lock = threading.Lock()
        self.script = script or (lambda n: Reply())
        self.routes = routes or {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver.lock:
                    receiver.requests.append(Received(self.path, dict(self.headers.items()), body))
                    reply = receiver.routes.get(self.path) or receiver.script(len(receiver.requests))
                if reply.delay:
                    time.sleep(reply.delay)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.scheme = "https" if tls is not None else "http"
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def url(self, path: str = "/hook", host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def self_signed(tmp_path: Path, name: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context, client context trusting only this certificate) for ``name``."""
    cert, key = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}"],
        check=True, capture_output=True,
    )  # fmt: skip
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(cafile=str(cert))
    return server, client


LOOPBACK = AddressPolicy(allow_loopback=True)


def settings(**overrides: Any) -> DeliverySettings:
    """Delivery settings for tests: the loopback allowance, short timeouts."""
    values: dict[str, Any] = {"policy": LOOPBACK, "timeout": 3.0, "retry_base": 30.0, **overrides}
    return DeliverySettings(**values)


def relay_and_consume(session: Session) -> int:
    """What the relay and the workers do, in this process."""
    deliveries: list[tuple[int, str]] = []
    while publish_pending(session, lambda ids, name: deliveries.extend((i, name) for i in ids)):
        pass
    for event_id, name in deliveries:
        consume(session, event_id, name)
    return len(deliveries)


def endpoint_for(session: Session, url: str, *, policy: AddressPolicy = LOOPBACK, **kwargs: Any) -> Any:
    kwargs.setdefault("event_types", ["*"])
    endpoint = create_webhook_endpoint(session, url=url, policy=policy, **kwargs)
    session.commit()
    return endpoint


def deliveries(session: Session, event_type: str | None = None) -> list[WebhookDelivery]:
    session.expire_all()
    query = select(WebhookDelivery).order_by(col(WebhookDelivery.id))
    if event_type:
        query = query.where(WebhookDelivery.event_type == event_type)
    return list(session.exec(query).all())
