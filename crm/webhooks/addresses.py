"""Where a webhook may go: public internet addresses over HTTPS, and nowhere else.

A webhook URL is typed by an administrator but fetched by the server, so it could point
Jisr at its own network (server-side request forgery): the database, Redis, a cloud
metadata service.  The check therefore

* accepts only ``https://`` (plain ``http://`` to a loopback address only under the
  test-only allowance), no user name or password, port 443 or above 1023;
* reads an IP literal the way the C resolver does, so the disguised forms of 127.0.0.1
  (``0177.0.0.1``, ``2130706433``, ``0x7f.1``, ``127.1``) are recognised, as are
  IPv6 literals and IPv4 addresses hidden inside IPv6 ones (``[::ffff:127.0.0.1]``,
  6to4, NAT64);
* refuses names that are local by definition (``localhost``, ``*.internal``,
  ``metadata.google.internal``, single-label intranet names…);
* resolves every other name and refuses it when ANY of its addresses is loopback,
  private, link-local, multicast, reserved, unspecified, carrier-grade NAT, IPv6
  unique-local or a metadata address.

The check runs when an endpoint is saved and again before every delivery, and the
sender connects to the addresses this check returned (it never resolves the name a
second time), so a name that turns private after registration (DNS rebinding) is refused
at delivery.  The test-only allowance (``WEBHOOKS_ALLOW_LOOPBACK``, honoured only when
``TESTING`` is set through ``create_app``) lets tests use a receiver on 127.0.0.1; it
waives the loopback rule and nothing else.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from crm.core.i18n import lazy_gettext as _l
from crm.core.text import isolate

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

MAX_URL_LENGTH = 2000

REASONS: dict[str, Any] = {
    "loopback": _l("this machine (a loopback address)"),
    "private": _l("a private network"),
    "link_local": _l("a link-local address"),
    "multicast": _l("a multicast address"),
    "reserved": _l("a reserved address range"),
    "unspecified": _l("an unspecified address"),
    "shared": _l("a carrier-grade NAT range"),
    "unique_local": _l("an IPv6 unique-local address"),
    "metadata": _l("a cloud metadata service"),
}

METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack…
        "169.254.169.123",  # AWS time sync
        "169.254.170.2",  # AWS ECS task metadata
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud
        "fd00:ec2::254",  # AWS over IPv6
        "fd00:ec2::23",
    )
)
METADATA_NAMES = frozenset(
    {"metadata", "metadata.google.internal", "metadata.goog", "instance-data", "instance-data.ec2.internal"}
)
LOCAL_SUFFIXES = (".localhost", ".local", ".localdomain", ".internal", ".home.arpa", ".arpa", ".lan", ".intranet")

_V4_RANGES: list[tuple[ipaddress.IPv4Network, str]] = [
    (ipaddress.IPv4Network(net), reason)
    for net, reason in (
        ("0.0.0.0/32", "unspecified"),
        ("0.0.0.0/8", "reserved"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "shared"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link_local"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "reserved"),
        ("192.0.2.0/24", "reserved"),
        ("192.88.99.0/24", "reserved"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "reserved"),
        ("198.51.100.0/24", "reserved"),
        ("203.0.113.0/24", "reserved"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),  # with 255.255.255.255
    )
]
_V6_RANGES: list[tuple[ipaddress.IPv6Network, str]] = [
    (ipaddress.IPv6Network(net), reason)
    for net, reason in (
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("fe80::/10", "link_local"),
        ("fec0::/10", "private"),
        ("fc00::/7", "unique_local"),
        ("ff00::/8", "multicast"),
        ("100::/64", "reserved"),
        ("64:ff9b:1::/48", "reserved"),
        ("2001::/23", "reserved"),  # Teredo and other protocol assignments
        ("2001:db8::/32", "reserved"),
        ("3fff::/20", "reserved"),
    )
]
_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_V4_COMPATIBLE = ipaddress.IPv6Network("::/96")

_NUMERIC_HOST = re.compile(r"^[0-9][0-9a-fx]*(\.[0-9][0-9a-fx]*){0,3}$")
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")
_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_FORBIDDEN_CHARACTERS = re.compile(r"[\s\\\x00-\x1f\x7f]")


class UnsafeTarget(ValueError):
    """The URL may not receive webhooks; ``message`` says why in the user's language."""

    def __init__(self, code: str, *, host: str = "", address: str = "", reason: str = "") -> None:
        self.code = code
        self.host = host
        self.address = address
        self.reason = reason
        super().__init__(f"{code}: host={host!r} address={address!r} reason={reason!r}")

    @property
    def message(self) -> Any:
        host = isolate(self.host)
        if self.code == "refused":
            label = REASONS[self.reason]
            if self.address and self.address != self.host:
                return _l(
                    "%(host)s is refused: it points to %(reason)s (%(address)s). "
                    "Webhooks go only to public internet addresses.",
                    host=host,
                    reason=label,
                    address=isolate(self.address),
                )
            return _l(
                "%(host)s is refused: it is %(reason)s. Webhooks go only to public internet addresses.",
                host=host,
                reason=label,
            )
        if self.code == "scheme":
            return _l("The address must start with https://.")
        if self.code == "credentials":
            return _l("The address must not contain a user name or password.")
        if self.code == "port":
            return _l("Use port 443 or a port above 1023.")
        if self.code == "too_long":
            return _l("At most %(n)d characters.", n=MAX_URL_LENGTH)
        if self.code == "unresolvable":
            return _l("The host name %(host)s does not resolve to an address.", host=host)
        return _l("This is not a valid web address.")


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the machine's resolver gives for ``host`` (IPv4 and IPv6)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class AddressPolicy:
    allow_loopback: bool = False
    resolve: Resolver = field(default=system_resolver)

    @classmethod
    def from_config(cls, config: Mapping[str, Any], resolve: Resolver | None = None) -> AddressPolicy:
        """The test-only allowance counts only in a testing app (``create_app`` refuses it
        elsewhere); the environment cannot set it."""
        allow = bool(config.get("WEBHOOKS_ALLOW_LOOPBACK")) and bool(config.get("TESTING"))
        return cls(allow_loopback=allow, resolve=resolve or system_resolver)


@dataclass(frozen=True)
class Target:
    """A checked URL and the addresses it may be reached at (connect to these only)."""

    url: str
    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[str, ...]

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def refusal(ip: IPAddress) -> str | None:
    """Why ``ip`` may not receive webhooks (a key of :data:`REASONS`), or None."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return "link_local"
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return refusal(embedded)
    if ip in METADATA_ADDRESSES:
        return "metadata"
    ranges: list[Any] = _V4_RANGES if isinstance(ip, ipaddress.IPv4Address) else _V6_RANGES
    for network, reason in ranges:
        if ip in network:
            return str(reason)
    if isinstance(ip, ipaddress.IPv6Address) and ip not in _GLOBAL_UNICAST:
        return "reserved"
    return None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, compatible, 6to4, NAT64), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or (ip in _V4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def parse_ipv4_loosely(host: str) -> ipaddress.IPv4Address | None:
    """An IPv4 address written as ``inet_aton`` reads it: one to four parts, each decimal,
    octal (leading 0) or hexadecimal (0x); the last part fills the remaining bytes."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values: list[int] = []
    for part in parts:
        try:
            if part.startswith(("0x", "0X")):
                values.append(int(part[2:], 16))
            elif len(part) > 1 and part.startswith("0"):
                values.append(int(part[1:], 8))
            else:
                values.append(int(part, 10))
        except ValueError:
            return None
    *leading, last = values
    if any(v > 255 for v in leading) or last >= 256 ** (4 - len(leading)):
        return None
    number = last
    for index, value in enumerate(leading):
        number += value << (8 * (3 - index))
    return ipaddress.IPv4Address(number)


@dataclass(frozen=True)
class _Parsed:
    scheme: str
    host: str
    port: int
    path: str
    literal: IPAddress | None
    typed_host: str  # as written, for messages


def _parse(url: str, *, allow_http: bool) -> _Parsed:
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeTarget("too_long")
    if not url or _FORBIDDEN_CHARACTERS.search(url):
        raise UnsafeTarget("invalid")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeTarget("invalid") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise UnsafeTarget("scheme" if scheme else "invalid")
    if scheme == "http" and not allow_http:
        raise UnsafeTarget("scheme")
    if "@" in parts.netloc or parts.username is not None or parts.password is not None:
        raise UnsafeTarget("credentials")
    if parts.fragment:
        raise UnsafeTarget("invalid")
    raw_host = parts.hostname or ""
    if not raw_host:
        raise UnsafeTarget("invalid")
    if port is None:
        port = 443 if scheme == "https" else 80
    if not (port == 443 or 1024 <= port <= 65535 or (allow_http and port == 80)):
        raise UnsafeTarget("port", host=raw_host)
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    if "[" in parts.netloc:
        if "%" in raw_host:
            raise UnsafeTarget("invalid", host=raw_host)
        try:
            return _Parsed(scheme, raw_host, port, path, ipaddress.IPv6Address(raw_host), raw_host)
        except ValueError:
            raise UnsafeTarget("invalid", host=raw_host) from None
    host = raw_host.rstrip(".")
    if _NUMERIC_HOST.match(host) or _NUMERIC_LABEL.match(host.rsplit(".", 1)[-1]):
        # A host whose last label is a number is an IPv4 address or nothing (as browsers read it).
        literal = parse_ipv4_loosely(host)
        if literal is None:
            raise UnsafeTarget("invalid", host=raw_host)
        return _Parsed(scheme, str(literal), port, path, literal, raw_host)
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise UnsafeTarget("invalid", host=raw_host) from None
    labels = ascii_host.split(".")
    if len(ascii_host) > 253 or not all(_LABEL.match(label) for label in labels):
        raise UnsafeTarget("invalid", host=raw_host)
    return _Parsed(scheme, ascii_host, port, path, None, raw_host)


def _name_refusal(host: str) -> str | None:
    if host in METADATA_NAMES:
        return "metadata"
    if host == "localhost" or host.endswith(".localhost"):
        return "loopback"
    if "." not in host or host.endswith(LOCAL_SUFFIXES):
        return "private"
    return None


def check_target(url: str, policy: AddressPolicy) -> Target:
    """The checked target of ``url``, or :class:`UnsafeTarget`."""
    parsed = _parse(url, allow_http=policy.allow_loopback)
    if parsed.literal is not None:
        addresses: list[IPAddress] = [parsed.literal]
    else:
        reason = _name_refusal(parsed.host)
        if reason:
            raise UnsafeTarget("refused", host=parsed.host, reason=reason)
        try:
            resolved = policy.resolve(parsed.host, parsed.port)
        except (OSError, UnicodeError):
            raise UnsafeTarget("unresolvable", host=parsed.host) from None
        try:
            addresses = [ipaddress.ip_address(raw) for raw in resolved]
        except ValueError:
            raise UnsafeTarget("unresolvable", host=parsed.host) from None
        if not addresses:
            raise UnsafeTarget("unresolvable", host=parsed.host)
    for ip in addresses:
        reason = refusal(ip)
        if reason is None or (reason == "loopback" and policy.allow_loopback):
            continue
        raise UnsafeTarget("refused", host=parsed.typed_host, address=str(ip), reason=reason)
    if parsed.scheme == "http" and not all(refusal(ip) == "loopback" for ip in addresses):
        raise UnsafeTarget("scheme", host=parsed.typed_host)
    return Target(
        url=url.strip(),
        scheme=parsed.scheme,
        host=parsed.host,
        port=parsed.port,
        path=parsed.path,
        addresses=tuple(dict.fromkeys(str(ip) for ip in addresses)),
    )
