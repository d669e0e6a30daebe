"""Where a webhook may be sent (SPEC §4 "Live-mode endpoint URLs"): the SSRF defence.

DNS is outside the product, so ``socket.getaddrinfo`` is the one thing stubbed here
(the ``dns`` fixture).
"""

from __future__ import annotations

import ipaddress

import pytest

from app.errors import InvalidRequest
from app.webhooks.addresses import (
    METADATA_ADDRESSES,
    BlockedDestination,
    Destination,
    check_url,
    is_allowed_address,
    refusal_message,
    resolve_destination,
    why_refused,
)
from tests.webhooks.conftest import FakeDNS

REFUSED_IN_BOTH_MODES = [
    ("10.0.0.1", "private"),
    ("10.255.255.255", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.254", "private"),
    ("192.168.1.1", "private"),
    ("fc00::1", "private"),
    ("fd12:3456::1", "private"),
    ("169.254.1.1", "link-local"),
    ("fe80::1", "link-local"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("100.127.255.254", "carrier-grade NAT"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("ff02::1", "multicast"),
    ("ff0e::1", "multicast"),
    ("0.0.0.0", "unspecified"),
    ("0.1.2.3", "unspecified"),
    ("::", "unspecified"),
    ("255.255.255.255", "broadcast"),
    ("240.0.0.1", "reserved"),
    ("192.0.2.1", "documentation"),
    ("198.51.100.1", "documentation"),
    ("203.0.113.1", "documentation"),
    ("2001:db8::1", "documentation"),
    ("198.18.0.1", "benchmarking"),
    ("2001:2::1", "benchmarking"),
    ("192.0.0.8", "IETF protocol"),
    ("fec0::1", "site-local"),
    ("::ffff:127.0.0.1", "IPv4-mapped"),
    ("::ffff:10.0.0.1", "IPv4-mapped"),
    ("::ffff:8.8.8.8", "IPv4-mapped"),  # even a public IPv4 inside: the embedded form is refused as such
    ("::ffff:0:a00:1", "IPv4-translated"),
    ("::10.0.0.1", "IPv4-compatible"),
    ("::127.0.0.1", "IPv4-compatible"),
    ("64:ff9b::a00:1", "NAT64"),
    ("64:ff9b::7f00:1", "NAT64"),
    ("64:ff9b:1::a00:1", "NAT64"),
    ("2002:a00:1::1", "6to4"),
    ("2002:808:808::1", "6to4"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),
    ("192.88.99.1", "6to4 relay"),
    ("169.254.169.254", "cloud metadata"),
    ("fd00:ec2::254", "cloud metadata"),
    ("100.100.100.200", "cloud metadata"),
    ("168.63.129.16", "cloud metadata"),
]
LOOPBACK = ["127.0.0.1", "127.1.2.3", "::1"]
PUBLIC = ["8.8.8.8", "1.1.1.1", "93.184.215.14", "2606:4700:4700::1111", "2001:4860:4860::8888"]


def literal_url(ip: str, scheme: str = "https") -> str:
    host = f"[{ip}]" if ":" in ip else ip
    return f"{scheme}://{host}/hooks"


def rejection(url: str, *, livemode: bool) -> str:
    """Why ``url`` is refused, as the server logs it; the merchant is told one sentence whatever the reason."""
    with pytest.raises(InvalidRequest) as caught:
        check_url(url, livemode=livemode)
    assert caught.value.param == "url"
    assert caught.value.code == "url_invalid"
    assert caught.value.message == refusal_message(livemode=livemode)
    reason = why_refused(url, livemode=livemode)
    assert reason is not None
    return reason


@pytest.mark.parametrize("livemode", [True, False], ids=["live", "test"])
@pytest.mark.parametrize(("ip", "what"), REFUSED_IN_BOTH_MODES)
def test_refused_ranges_are_refused_in_both_modes(ip: str, what: str, livemode: bool) -> None:
    error = rejection(literal_url(ip), livemode=livemode)

    assert error.startswith(f"{ip} is ")  # as written, not as Python normalises it
    assert what in error
    assert not is_allowed_address(ipaddress.ip_address(ip), livemode=livemode)


@pytest.mark.parametrize("livemode", [True, False], ids=["live", "test"])
@pytest.mark.parametrize(("ip", "what"), REFUSED_IN_BOTH_MODES)
def test_a_host_name_resolving_into_a_refused_range_is_refused(dns: FakeDNS, ip: str, what: str,
                                                                livemode: bool) -> None:
    dns.answer("hooks.example.com", ip)

    error = rejection("https://hooks.example.com/hooks", livemode=livemode)

    assert error.startswith(f"hooks.example.com resolves to {ipaddress.ip_address(ip)}, ")
    assert what in error
    with pytest.raises(BlockedDestination, match=what):
        resolve_destination("https://hooks.example.com/hooks", livemode=livemode)


def test_every_metadata_address_is_named_and_refused() -> None:
    assert {str(ip) for ip in METADATA_ADDRESSES} >= {"169.254.169.254", "fd00:ec2::254", "100.100.100.200"}
    for ip in METADATA_ADDRESSES:
        for livemode in (True, False):
            assert not is_allowed_address(ip, livemode=livemode)
            assert "cloud metadata" in rejection(literal_url(str(ip)), livemode=livemode)


@pytest.mark.parametrize("ip", LOOPBACK)
def test_loopback_is_refused_live_and_allowed_in_test_mode(ip: str) -> None:
    error = rejection(literal_url(ip), livemode=True)
    assert "loopback" in error and "test-mode" in error

    assert check_url(literal_url(ip, "http"), livemode=False) == literal_url(ip, "http")
    assert is_allowed_address(ipaddress.ip_address(ip), livemode=False)


def test_localhost_is_for_test_mode_only(dns: FakeDNS) -> None:
    dns.answer("localhost", "::1", "127.0.0.1")

    assert check_url("http://localhost:4242/webhooks", livemode=False) == "http://localhost:4242/webhooks"
    assert "localhost resolves to ::1, a loopback address" in rejection("https://localhost/", livemode=True)
    assert resolve_destination("http://localhost:4242/webhooks", livemode=False) == Destination(
        scheme="http", host="localhost", port=4242, address="::1", target="/webhooks")


@pytest.mark.parametrize("ip", PUBLIC)
@pytest.mark.parametrize("livemode", [True, False], ids=["live", "test"])
def test_public_addresses_are_accepted(ip: str, livemode: bool) -> None:
    assert check_url(literal_url(ip), livemode=livemode) == literal_url(ip)
    assert is_allowed_address(ipaddress.ip_address(ip), livemode=livemode)


def test_http_is_refused_live_and_accepted_in_test_mode(dns: FakeDNS) -> None:
    dns.answer("hooks.example.com", "93.184.215.14")

    assert "must use https" in rejection("http://hooks.example.com/hooks", livemode=True)
    assert check_url("http://hooks.example.com/hooks", livemode=False) == "http://hooks.example.com/hooks"
    with pytest.raises(BlockedDestination, match="must use https"):
        resolve_destination("http://hooks.example.com/hooks", livemode=True)


@pytest.mark.parametrize("url", ["https://user:pass@hooks.example.com/", "https://user@hooks.example.com/",
                                 "https://hooks.example.com@10.0.0.1/"])
def test_userinfo_is_refused(dns: FakeDNS, url: str) -> None:
    dns.answer("hooks.example.com", "93.184.215.14")

    assert "user name or password" in rejection(url, livemode=True)


def test_one_private_address_among_public_ones_is_refused(dns: FakeDNS) -> None:
    dns.answer("mixed.example.com", "93.184.215.14", "10.0.0.5")

    error = rejection("https://mixed.example.com/hooks", livemode=True)

    assert error == "mixed.example.com resolves to 10.0.0.5, a private address."
    with pytest.raises(BlockedDestination) as caught:
        resolve_destination("https://mixed.example.com/hooks", livemode=True)
    assert caught.value.reason == "mixed.example.com resolves to 10.0.0.5, a private address."


def test_an_unresolvable_host_is_refused_live_and_accepted_in_test_mode(dns: FakeDNS) -> None:
    error = rejection("https://nowhere.example.com/", livemode=True)
    assert "nowhere.example.com could not be resolved" in error
    assert check_url("https://nowhere.example.com/", livemode=False) == "https://nowhere.example.com/"
    with pytest.raises(BlockedDestination, match="could not be resolved"):
        resolve_destination("https://nowhere.example.com/", livemode=False)


def test_resolve_false_checks_only_what_needs_no_lookup(dns: FakeDNS) -> None:
    dns.answer("private.example.com", "10.0.0.1")

    assert check_url("https://private.example.com/", livemode=True, resolve=False) == "https://private.example.com/"
    assert dns.calls == []
    with pytest.raises(InvalidRequest):
        check_url("https://10.0.0.1/", livemode=True, resolve=False)
    assert why_refused("https://10.0.0.1/", livemode=True, resolve=False) == "10.0.0.1 is a private address."
    assert dns.calls == []


@pytest.mark.parametrize(("url", "problem"), [
    ("hooks.example.com/webhooks", "must use https"),
    ("ftp://hooks.example.com/", "must use https"),
    ("https:///webhooks", "no host"),
    ("https://hooks.example.com/webhooks#top", "fragment"),
    ("https://hooks.example.com/#", "fragment"),
    ("https://hooks.example.com:0/", "port"),
    ("https://hooks.example.com:65536/", "port"),
    ("https://hooks.example.com:https/", "port"),
    ("https://hooks.example.com/" + "a" * 2048, "longer than 2048"),
    ("https://hooks.exa mple.com/", "space"),
    ("https://hooks.example.com/\nGET", "control character"),
    ("https://hooks.example.com\\@10.0.0.1/", "backslash"),
    ("https://bücher.example/", "ASCII"),
    ("https://hooks_-.example..com/", "not a valid host name"),
    ("https://2130706433/", "unusual form"),
    ("https://0x7f.1/", "unusual form"),
    ("https://127.1/", "unusual form"),
    ("https://[fe80::1%25eth0]/", "zone"),
    ("https://[::1/", "not valid"),
])
def test_malformed_urls_are_refused_with_the_problem_named(dns: FakeDNS, url: str, problem: str) -> None:
    dns.answer("hooks.example.com", "93.184.215.14")

    assert problem in rejection(url, livemode=True)


def test_a_2048_character_url_is_accepted(dns: FakeDNS) -> None:
    dns.answer("hooks.example.com", "93.184.215.14")
    url = "https://hooks.example.com/"
    url += "a" * (2048 - len(url))

    assert check_url(url, livemode=True) == url


def test_resolve_destination_returns_the_checked_address_after_one_lookup(dns: FakeDNS) -> None:
    dns.answer("hooks.example.com", "2606:4700:4700::1111", "93.184.215.14", "93.184.215.14")

    destination = resolve_destination("https://Hooks.Example.com:8443/in?source=vinr&x=1", livemode=True)

    assert destination == Destination(scheme="https", host="hooks.example.com", port=8443,
                                      address="2606:4700:4700::1111", target="/in?source=vinr&x=1")
    assert dns.calls == ["hooks.example.com"]


def test_resolve_destination_of_an_ip_literal_needs_no_lookup(dns: FakeDNS) -> None:
    dns.answer("unused.example.com", "93.184.215.14")

    destination = resolve_destination("https://[2606:4700:4700::1111]", livemode=True)

    assert destination == Destination(scheme="https", host="2606:4700:4700::1111", port=443,
                                      address="2606:4700:4700::1111", target="/")
    assert destination.authority == "[2606:4700:4700::1111]"
    assert dns.calls == []


def test_the_host_header_value_carries_the_port_only_when_it_is_not_the_default() -> None:
    def authority(scheme: str, host: str, port: int) -> str:
        return Destination(scheme=scheme, host=host, port=port, address="93.184.215.14", target="/").authority

    assert authority("https", "hooks.example.com", 443) == "hooks.example.com"
    assert authority("http", "hooks.example.com", 80) == "hooks.example.com"
    assert authority("https", "hooks.example.com", 80) == "hooks.example.com:80"
    assert authority("http", "::1", 8080) == "[::1]:8080"
