"""Where a webhook may be sent: the SSRF defence for endpoint URLs (SPEC §4).

A merchant chooses the URL, our worker makes the request, so a URL is a way to make
our network ask things of itself. Two checks close that door:

- :func:`check_url` when the endpoint is saved, so a merchant learns at once (400);
- :func:`resolve_destination` before every delivery, because DNS can change after
  saving. It resolves once, checks every address, and hands back the address to
  connect to, so the transport never looks the name up again (no DNS rebinding
  between check and connect).

Only globally routable unicast addresses are allowed; test mode also allows loopback
for local development (never private ranges). Python's ``is_global`` differs between
versions (older ones call ``::ffff:8.8.8.8`` global, newer ones judge the embedded
IPv4), so the ranges are listed here rather than trusted to it.

What a merchant is told is one sentence per mode (:func:`refusal_message`), whatever
the reason: a reason such as "vm resolves to 10.0.0.7" or "could not be resolved"
would turn the check into a probe of our internal DNS (SPEC §4). The reason goes to
the server log, for the operator.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
from dataclasses import dataclass
from typing import Final
from urllib.parse import SplitResult, urlsplit

from app.errors import InvalidRequest

log = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_URL_LENGTH: Final = 2048

# Instance metadata services: reading them from a server yields its cloud credentials.
# All fall in refused ranges already (except Azure's, which is a public address);
# they are named so that a refusal says what it prevented, and so tests pin them.
METADATA_ADDRESSES: Final[frozenset[IPAddress]] = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, ...
    "fd00:ec2::254",  # AWS, IPv6
    "fd20:ce::254",  # GCP, IPv6
    "100.100.100.200",  # Alibaba Cloud
    "192.0.0.192",  # Oracle Cloud
    "168.63.129.16",  # Azure WireServer: a public address only reachable from inside Azure
))

_LOOPBACK: Final = "a loopback address (allowed only for test-mode endpoints)"

# First match names the problem, so specific ranges come before the ranges holding them.
_REFUSED: Final[tuple[tuple[IPNetwork, str], ...]] = tuple((ipaddress.ip_network(net), what) for net, what in (
    ("0.0.0.0/8", "an unspecified address"),
    ("10.0.0.0/8", "a private address"),
    ("100.64.0.0/10", "a carrier-grade NAT (shared) address"),
    ("127.0.0.0/8", _LOOPBACK),
    ("169.254.0.0/16", "a link-local address"),
    ("172.16.0.0/12", "a private address"),
    ("192.0.0.0/24", "an IETF protocol address"),
    ("192.0.2.0/24", "a documentation address"),
    ("192.88.99.0/24", "a 6to4 relay address"),
    ("192.168.0.0/16", "a private address"),
    ("198.18.0.0/15", "a benchmarking address"),
    ("198.51.100.0/24", "a documentation address"),
    ("203.0.113.0/24", "a documentation address"),
    ("224.0.0.0/4", "a multicast address"),
    ("255.255.255.255/32", "the broadcast address"),
    ("240.0.0.0/4", "a reserved address"),
    ("::/128", "an unspecified address"),
    ("::1/128", _LOOPBACK),
    # Forms that embed an IPv4 address: the host or a translator would turn them
    # into that IPv4 address, so they would carry any refused IPv4 past this check.
    ("::ffff:0:0/96", "an IPv4-mapped IPv6 address"),
    ("::ffff:0:0:0/96", "an IPv4-translated IPv6 address"),
    ("::/96", "an IPv4-compatible IPv6 address"),
    ("64:ff9b::/96", "a NAT64 address"),
    ("64:ff9b:1::/48", "a NAT64 address"),
    ("2001::/32", "a Teredo address"),
    ("2002::/16", "a 6to4 address"),
    ("100::/64", "a discard-only address"),
    ("2001:2::/48", "a benchmarking address"),
    ("2001:db8::/32", "a documentation address"),
    ("3fff::/20", "a documentation address"),
    ("2001::/23", "an IETF protocol address"),
    ("5f00::/16", "a segment-routing address"),
    ("fc00::/7", "a private address"),
    ("fe80::/10", "a link-local address"),
    ("fec0::/10", "a site-local address"),
    ("ff00::/8", "a multicast address"),
))

# A DNS label (underscores occur in real names, so they are accepted).
_LABEL: Final = re.compile(r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?")
# A last label that is a number is an IP address written in a form ip_address() does
# not parse but the resolver does (http://2130706433/, http://0x7f.1/ are 127.0.0.1).
_NUMERIC_LABEL: Final = re.compile(r"[0-9]+|0x[0-9a-f]*")
# Characters some parsers drop or reinterpret (urlsplit silently removes tabs and
# newlines; browsers read "\" as "/"), so the URL we check could differ from the one sent.
_UNSAFE_CHARS: Final = re.compile(r"[\x00-\x20\x7f\\]")


class BlockedDestination(Exception):
    """A webhook URL that must not be requested; ``reason`` says why, in one sentence for
    the server log (a merchant is told :func:`refusal_message`)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Destination:
    """A checked delivery target: connect to ``address``, speak to ``host``."""

    scheme: str  # "http" or "https"
    host: str  # as in the URL, lower-cased, without brackets: Host header, SNI, certificate name
    port: int
    address: str  # the checked IP address to open the TCP connection to
    target: str  # path and query, "/" when empty: the request target

    @property
    def authority(self) -> str:
        """The ``Host`` header value: the host, bracketed if IPv6, with the port unless it is the default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


@dataclass(frozen=True)
class _Parsed:
    scheme: str
    host: str
    port: int
    target: str
    ip: IPAddress | None  # set when the host is an IP literal


def is_allowed_address(ip: IPAddress, *, livemode: bool) -> bool:
    """Whether a webhook may connect to ``ip``: a public unicast address, or loopback in test mode."""
    return _refusal(ip, livemode=livemode) is None


def refusal_message(*, livemode: bool) -> str:
    """What a merchant is told about any refused URL: the same sentence for every reason."""
    if livemode:
        return "The URL must be a public https URL."
    return "The URL must be a public http or https URL (test mode also accepts loopback addresses)."


def check_url(url: str, *, livemode: bool, resolve: bool = True) -> str:
    """Check an endpoint URL when it is saved and return it unchanged.

    Raises :class:`~app.errors.InvalidRequest` (``param="url"``, ``code="url_invalid"``)
    with :func:`refusal_message` when :func:`why_refused` has a reason, which is logged.
    """
    reason = why_refused(url, livemode=livemode, resolve=resolve)
    if reason is not None:
        log.warning("webhook URL refused (%s mode): %s", "live" if livemode else "test", reason)
        raise InvalidRequest(refusal_message(livemode=livemode), param="url", code="url_invalid")
    return url


def why_refused(url: str, *, livemode: bool, resolve: bool = True) -> str | None:
    """Why an endpoint URL may not be saved, in one sentence for the operator; None when it may.

    Live mode takes only ``https``; test mode also ``http``. An IP host is checked as
    it is; a host name is resolved (unless ``resolve`` is false) and every address
    must be allowed. A name that does not resolve is refused in live mode and accepted
    in test mode, where the receiver is often not running yet; delivery checks again.
    """
    try:
        parsed = _parse(url, livemode=livemode)
        if parsed.ip is not None:
            _check_addresses(parsed.host, [parsed.ip], livemode=livemode)
        elif resolve:
            try:
                addresses = _lookup(parsed.host, parsed.port)
            except BlockedDestination:
                if livemode:
                    raise
            else:
                _check_addresses(parsed.host, addresses, livemode=livemode)
    except BlockedDestination as blocked:
        return blocked.reason
    return None


def resolve_destination(url: str, *, livemode: bool) -> Destination:
    """Resolve a stored endpoint URL for one delivery and check where it leads.

    One ``getaddrinfo`` lookup (none for an IP host); every address it returns must
    be allowed, and the first is returned so the caller connects to exactly that.
    Raises :class:`BlockedDestination` when the URL or any address is refused, or
    when the name does not resolve.
    """
    parsed = _parse(url, livemode=livemode)
    addresses = [parsed.ip] if parsed.ip is not None else _lookup(parsed.host, parsed.port)
    _check_addresses(parsed.host, addresses, livemode=livemode)
    return Destination(scheme=parsed.scheme, host=parsed.host, port=parsed.port, address=str(addresses[0]),
                       target=parsed.target)


def _parse(url: str, *, livemode: bool) -> _Parsed:
    if len(url) > MAX_URL_LENGTH:
        raise BlockedDestination(f"The URL is longer than {MAX_URL_LENGTH} characters.")
    if not url.isascii():
        raise BlockedDestination("The URL must be ASCII: write the host name in its xn-- form and "
                                 "percent-encode other characters.")
    if _UNSAFE_CHARS.search(url):
        raise BlockedDestination("The URL contains a space, a control character or a backslash; "
                                 "percent-encode it.")
    if "#" in url:
        raise BlockedDestination("The URL has a fragment (#...), which is never sent; remove it.")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise BlockedDestination(f"The URL is not valid: {exc}.") from None
    if parts.scheme not in ("http", "https"):
        raise BlockedDestination("The URL must use https." if livemode else "The URL must use http or https.")
    if livemode and parts.scheme != "https":
        raise BlockedDestination("Live-mode webhook URLs must use https.")
    if "@" in parts.netloc:
        raise BlockedDestination("The URL must not contain a user name or password (user:pass@); "
                                 "receivers authenticate webhooks by their signature.")
    host = parts.hostname
    if not host:
        raise BlockedDestination("The URL has no host.")
    port = _port(parts)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        _check_host_name(host)
        return _Parsed(parts.scheme, host, port, target, None)
    if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id is not None:
        raise BlockedDestination(f"The URL's host {host} has an IPv6 zone (%...), which is not allowed.")
    return _Parsed(parts.scheme, host, port, target, ip)


def _port(parts: SplitResult) -> int:
    try:
        port = parts.port
    except ValueError:  # not a number, or above 65535
        port = 0
    if port is None:
        return 443 if parts.scheme == "https" else 80
    if not 1 <= port <= 65535:
        raise BlockedDestination("The URL's port must be a number from 1 to 65535.")
    return port


def _check_host_name(host: str) -> None:
    labels = host.removesuffix(".").split(".")
    if len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise BlockedDestination(f"The URL's host {host!r} is not a valid host name.")
    if _NUMERIC_LABEL.fullmatch(labels[-1]):
        raise BlockedDestination(f"The URL's host {host!r} is an IP address in an unusual form; "
                                 "write an IPv4 address as four decimal numbers, an IPv6 address in brackets.")


def _lookup(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to, in the resolver's order, without duplicates."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:  # socket.gaierror is an OSError
        raise BlockedDestination(f"{host} could not be resolved ({exc}).") from None
    addresses: list[IPAddress] = []
    for family, _, _, _, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        ip = ipaddress.ip_address(str(sockaddr[0]))
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise BlockedDestination(f"{host} does not resolve to any IP address.")
    return addresses


def _check_addresses(host: str, addresses: list[IPAddress], *, livemode: bool) -> None:
    for ip in addresses:
        what = _refusal(ip, livemode=livemode)
        if what is None:
            continue
        if _is_literal(host):
            raise BlockedDestination(f"{host} is {what}.")  # as the merchant wrote it
        raise BlockedDestination(f"{host} resolves to {ip}, {what}.")


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _refusal(ip: IPAddress, *, livemode: bool) -> str | None:
    """What is wrong with connecting to ``ip`` (a noun phrase), or None when it is allowed."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id is not None:
        return "an address bound to one network interface"
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    for network, what in _REFUSED:
        if ip in network:
            return None if what == _LOOPBACK and not livemode else what
    # Whatever the list misses (IANA adds ranges), Python's view of "global" still applies.
    if not ip.is_global or ip.is_multicast or ip.is_reserved:
        return "not a public address"
    return None
