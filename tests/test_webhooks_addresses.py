"""Where webhooks may go: public addresses over HTTPS only, whatever the disguise; and the
test-only loopback allowance cannot be switched on outside tests (no database needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crm.config import ConfigError
from crm.webhooks.addresses import AddressPolicy, UnsafeTarget, check_target, parse_ipv4_loosely

PUBLIC = "93.184.215.14"


def resolver(table: dict[str, list[str]]) -> Any:
    calls: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        if host not in table:
            raise OSError(f"no such host: {host}")
        return table[host]

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


NO_DNS = AddressPolicy(resolve=resolver({}))

DISGUISED_LOOPBACK = [
    "https://0177.0.0.1/hook",
    "https://2130706433/hook",
    "https://0x7f.1/hook",
    "https://127.1/hook",
    "https://0x7f000001/hook",
    "https://127.0.0.1./hook",
    "https://[::1]/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://[::ffff:7f00:1]/hook",
    "https://[2002:7f00:1::]/hook",  # 6to4 around 127.0.0.1
]


@pytest.mark.parametrize("url", DISGUISED_LOOPBACK)
def test_disguised_loopback_addresses_are_refused(url: str) -> None:
    with pytest.raises(UnsafeTarget) as refused:
        check_target(url, NO_DNS)
    assert (refused.value.code, refused.value.reason) == ("refused", "loopback")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://10.1.2.3/", "private"),
        ("https://172.16.0.1/", "private"),
        ("https://192.168.1.10/", "private"),
        ("https://012.0.0.1/", "private"),  # octal 10.0.0.1
        ("https://169.254.169.254/latest/meta-data/", "metadata"),
        ("https://0xa9fea9fe/", "metadata"),  # 169.254.169.254 in hexadecimal
        ("https://[fd00:ec2::254]/", "metadata"),
        ("https://100.100.100.200/", "metadata"),
        ("https://169.254.10.1/", "link_local"),
        ("https://[fe80::1]/", "link_local"),
        ("https://224.0.0.251/", "multicast"),
        ("https://[ff02::1]/", "multicast"),
        ("https://0.0.0.0/", "unspecified"),
        ("https://[::]/", "unspecified"),
        ("https://100.64.0.1/", "shared"),
        ("https://[fc00::1]/", "unique_local"),
        ("https://[::ffff:10.0.0.1]/", "private"),
        ("https://[64:ff9b::a9fe:a9fe]/", "metadata"),  # NAT64 around 169.254.169.254
        ("https://240.0.0.1/", "reserved"),
        ("https://255.255.255.255/", "reserved"),
        ("https://192.0.2.1/", "reserved"),
        ("https://[2001:db8::1]/", "reserved"),
        ("https://metadata.google.internal/computeMetadata/v1/", "metadata"),
        ("https://localhost/", "loopback"),
        ("https://api.localhost/", "loopback"),
        ("https://files.corp.internal/", "private"),
        ("https://intranet/", "private"),
    ],
)
def test_internal_addresses_are_refused_with_the_reason(url: str, reason: str) -> None:
    with pytest.raises(UnsafeTarget) as refused:
        check_target(url, NO_DNS)
    assert refused.value.reason == reason


def test_a_name_resolving_to_a_private_address_is_refused() -> None:
    policy = AddressPolicy(resolve=resolver({"crm.partner.example": ["10.0.0.7"]}))
    with pytest.raises(UnsafeTarget) as refused:
        check_target("https://crm.partner.example/jisr", policy)
    assert (refused.value.reason, refused.value.address) == ("private", "10.0.0.7")


def test_every_resolved_address_must_be_public() -> None:
    policy = AddressPolicy(resolve=resolver({"mixed.example": [PUBLIC, "2606:4700::1111", "127.0.0.1"]}))
    with pytest.raises(UnsafeTarget) as refused:
        check_target("https://mixed.example/", policy)
    assert refused.value.address == "127.0.0.1"


def test_a_public_name_is_accepted_with_its_addresses() -> None:
    policy = AddressPolicy(resolve=resolver({"hooks.partner.example": [PUBLIC, "2606:4700::1111"]}))
    target = check_target("https://Hooks.Partner.Example:8443/in?source=jisr", policy)
    assert (target.host, target.port, target.path) == ("hooks.partner.example", 8443, "/in?source=jisr")
    assert target.addresses == (PUBLIC, "2606:4700::1111")
    assert target.host_header == "hooks.partner.example:8443"


def test_public_literals_are_accepted_without_a_lookup() -> None:
    policy = AddressPolicy(resolve=resolver({}))
    assert check_target(f"https://{PUBLIC}/hook", policy).addresses == (PUBLIC,)
    assert check_target("https://[2606:4700::1111]/hook", policy).host_header == "[2606:4700::1111]"
    assert policy.resolve.calls == []  # type: ignore[attr-defined]


def test_a_name_that_turns_private_after_registration_is_refused_the_second_time() -> None:
    """DNS rebinding: the check runs again at delivery, with a fresh answer."""
    answers = iter([[PUBLIC], ["127.0.0.1"]])
    policy = AddressPolicy(resolve=lambda host, port: next(answers))
    assert check_target("https://rebind.example/hook", policy).addresses == (PUBLIC,)
    with pytest.raises(UnsafeTarget) as refused:
        check_target("https://rebind.example/hook", policy)
    assert refused.value.reason == "loopback"


@pytest.mark.parametrize(
    ("url", "code"),
    [
        (f"http://{PUBLIC}/hook", "scheme"),
        (f"ftp://{PUBLIC}/hook", "scheme"),
        (f"https://user:pass@{PUBLIC}/", "credentials"),
        (f"https://{PUBLIC}@evil.example/", "credentials"),
        (f"https://{PUBLIC}:22/", "port"),
        (f"https://{PUBLIC}:0/", "port"),
        ("https://256.1.1.1/", "invalid"),
        ("https://08.1.2.3/", "invalid"),
        ("https://1.2.3.4.5/", "invalid"),
        ("https://example.123/", "invalid"),
        ("https://[fe80::1%25eth0]/", "invalid"),
        ("https://exa mple.org/", "invalid"),
        ("https://example.org\\@10.0.0.1/", "invalid"),
        ("https:///nohost", "invalid"),
        ("https://example.org/#frag", "invalid"),
        ("https://" + "a" * 2000 + ".example/", "too_long"),
        ("https://nowhere.example/", "unresolvable"),
    ],
)
def test_malformed_or_unsafe_urls_are_refused(url: str, code: str) -> None:
    with pytest.raises(UnsafeTarget) as refused:
        check_target(url, NO_DNS)
    assert refused.value.code == code


def test_inet_aton_forms_are_read_like_the_c_resolver() -> None:
    assert str(parse_ipv4_loosely("0177.0.0.1")) == "127.0.0.1"
    assert str(parse_ipv4_loosely("2130706433")) == "127.0.0.1"
    assert str(parse_ipv4_loosely("0x7f.1")) == "127.0.0.1"
    assert str(parse_ipv4_loosely("127.1")) == "127.0.0.1"
    assert str(parse_ipv4_loosely("10.1.258")) == "10.1.1.2"
    assert parse_ipv4_loosely("1.2.3.256") is None
    assert parse_ipv4_loosely("09.1.1.1") is None


def test_the_loopback_allowance_waives_loopback_and_nothing_else() -> None:
    allowed = AddressPolicy(allow_loopback=True, resolve=resolver({}))
    assert check_target("http://127.0.0.1:8080/hook", allowed).addresses == ("127.0.0.1",)
    for url in ("https://10.0.0.1/", "https://169.254.169.254/", f"http://{PUBLIC}/"):
        with pytest.raises(UnsafeTarget):
            check_target(url, allowed)


def test_the_allowance_needs_a_testing_app_and_is_not_read_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crm import create_app

    monkeypatch.setenv("JISR_INSTANCE_PATH", str(tmp_path))
    with pytest.raises(ConfigError, match="WEBHOOKS_ALLOW_LOOPBACK"):
        create_app({"WEBHOOKS_ALLOW_LOOPBACK": True, "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite"})
    monkeypatch.setenv("WEBHOOKS_ALLOW_LOOPBACK", "1")
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite"})
    assert AddressPolicy.from_config(app.config).allow_loopback is False
    assert AddressPolicy.from_config({"WEBHOOKS_ALLOW_LOOPBACK": True}).allow_loopback is False
    app.extensions["jisr.db"][0].dispose()
