"""One HTTP POST to a checked target, over a socket to an address the check approved.

The standard library's clients resolve the host name themselves when they connect, which
would reopen the door that :mod:`crm.webhooks.addresses` closed (the name could resolve
to a private address the second time).  Here the TCP connection goes to one of
``Target.addresses``; TLS still verifies the certificate against the host name (SNI and
hostname check), and the ``Host`` header is the URL's.  Redirects are never followed
(``http.client`` does not), no proxy from the environment is used, and the answer is read
only up to a small limit within an overall deadline.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from crm.core.mail import tls_context
from crm.core.time import utcnow
from crm.webhooks.addresses import Target

# The one place a webhook socket is opened (tests check it goes to this machine only).
open_socket = socket.create_connection

MAX_RESPONSE_BYTES = 64 * 1024
EXCERPT_CHARS = 500
USER_AGENT = "Jisr-Webhooks/1"


@dataclass(frozen=True)
class Answer:
    """What the receiver said."""

    status: int
    excerpt: str
    duration_ms: int
    retry_after: float | None = None


class TransportError(Exception):
    """No HTTP answer: the connection, TLS or the receiver's timing failed."""

    def __init__(self, kind: str, detail: str, duration_ms: int) -> None:
        self.kind = kind  # "timeout", "connection", "tls" or "protocol"
        self.detail = detail
        self.duration_ms = duration_ms
        super().__init__(f"{kind}: {detail}")


class _PinnedConnection(http.client.HTTPConnection):
    """An HTTP(S) connection to a fixed address, whatever the host name resolves to now."""

    def __init__(self, target: Target, deadline: float, tls: ssl.SSLContext | None) -> None:
        super().__init__(target.host, target.port, timeout=_remaining(deadline))
        self.target = target
        self.deadline = deadline
        self.tls = tls

    def connect(self) -> None:
        error: OSError | None = None
        for address in self.target.addresses:
            try:
                sock = open_socket((address, self.target.port), _remaining(self.deadline))
            except OSError as exc:
                error = exc
                continue
            break
        else:
            raise error or OSError("no address to connect to")
        if self.target.scheme == "https":
            context = self.tls or tls_context()
            try:
                sock = context.wrap_socket(sock, server_hostname=self.target.host)
            except BaseException:
                sock.close()
                raise
        self.sock = sock


def _remaining(deadline: float) -> float:
    """Every network wait shares one deadline, so a slow receiver cannot hold a sender
    for longer than the timeout (plus one last read)."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError("the receiver took too long")
    return remaining


def _excerpt(raw: bytes) -> str:
    text = raw.decode("utf-8", errors="replace")
    text = "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in text)
    return text.strip()[:EXCERPT_CHARS]


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (a number or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdecimal():  # not isdigit(): "²" is a digit that float() refuses
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - utcnow()).total_seconds())


def _read_some(response: http.client.HTTPResponse, sock: socket.socket | None, deadline: float) -> bytes:
    """The start of the body, as much as arrives before the deadline: the status is
    what counts, the body is only an excerpt for the log."""
    received = bytearray()
    while len(received) < MAX_RESPONSE_BYTES:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        if sock is not None:
            sock.settimeout(left)
        try:
            chunk = response.read1(min(4096, MAX_RESPONSE_BYTES - len(received)))
        except (TimeoutError, OSError, http.client.HTTPException):
            break
        if not chunk:
            break
        received.extend(chunk)
    return bytes(received)


def post(
    target: Target, body: bytes, headers: dict[str, str], *, timeout: float, tls: ssl.SSLContext | None = None
) -> Answer:
    """POST ``body`` to ``target``; an :class:`Answer` for any HTTP status, else raise
    :class:`TransportError`."""
    started = time.monotonic()
    deadline = started + timeout

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    connection = _PinnedConnection(target, deadline, tls)
    try:
        connection.request(
            "POST",
            target.path,
            body=body,
            headers={
                "Host": target.host_header,
                "User-Agent": USER_AGENT,
                "Content-Type": "application/json; charset=utf-8",
                "Accept": "*/*",
                "Connection": "close",
                **headers,
            },
        )
        sock = connection.sock  # the response keeps reading from it after the connection lets go
        if sock is not None:
            sock.settimeout(_remaining(deadline))
        response = connection.getresponse()
        received = _read_some(response, sock, deadline)
        return Answer(
            status=response.status,
            excerpt=_excerpt(received),
            duration_ms=elapsed(),
            retry_after=_retry_after(response.getheader("Retry-After")),
        )
    except TimeoutError as exc:
        raise TransportError("timeout", str(exc) or "timed out", elapsed()) from exc
    except ssl.SSLError as exc:
        raise TransportError("tls", str(exc), elapsed()) from exc
    except http.client.HTTPException as exc:
        raise TransportError("protocol", f"{type(exc).__name__}: {exc}", elapsed()) from exc
    except OSError as exc:
        raise TransportError("connection", str(exc), elapsed()) from exc
    finally:
        connection.close()
