"""SPEC §7/§8: the card-testing defence counts per address and per invoice however many
processes serve the page. Two more gunicorn servers, separate processes on their own ports
as two hosts would be, on the session's database, each behind one trusted proxy hop (so each
test can speak from its own address), with the default limits: five failures an hour, the
sixth refused before the processor is called. Tries alternate between the two servers, so
every count below is made by both processes together.

The pay form is driven over plain HTTP, as a card-testing script would: the page for the
CSRF token and the session cookie, then the POST.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from e2e.server import LiveServer, free_port, gunicorn
from e2e.support import ARTIFACTS, CARD_DECLINED, CARD_OK, CARDHOLDER, CVC, EXPIRY, Api

CARD_ATTEMPTS = 5  # the default VINR_CARD_ATTEMPTS_PER_ADDRESS and _PER_INVOICE: "5 per hour"
_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


@dataclass
class TwoWorkers:
    urls: tuple[str, str]
    api: Api
    _turns: Iterator[int] = field(default_factory=lambda: itertools.cycle((0, 1)))
    answered: list[int] = field(default_factory=list)
    sessions: list[requests.Session] = field(default_factory=list)

    def invoice(self) -> dict[str, Any]:
        return self.api.hosted_invoice(self.api.customer()["id"])

    def pay(self, invoice: dict[str, Any], number: str, *, address: str) -> requests.Response:
        """One try at the pay form from ``address``, in a browser session of its own, on the
        server whose turn it is."""
        server = next(self._turns)
        self.answered.append(server)
        link = self.urls[server] + "/i/" + invoice["hosted_invoice_url"].split("/i/", 1)[1]
        browser = requests.Session()
        self.sessions.append(browser)
        headers = {"X-Forwarded-For": address}
        page = browser.get(link, headers=headers, timeout=30)
        assert page.status_code == 200, page.status_code
        match = _CSRF.search(page.text)
        assert match, page.text[:500]
        form = {"csrf_token": match[1], "method": "new", "card_number": number, "expiry": EXPIRY, "cvc": CVC,
                "name": CARDHOLDER}
        return browser.post(link + "/pay", data=form, headers=headers, timeout=60, allow_redirects=False)

    def landed(self, posted: requests.Response, *, address: str) -> requests.Response:
        """The GET page a POST redirected to (Post/Redirect/Get), in the same browser session."""
        assert posted.status_code == 303, posted.status_code
        page = self.sessions[-1].get(requests.compat.urljoin(posted.url, posted.headers["Location"]),
                                     headers={"X-Forwarded-For": address}, timeout=30)
        assert page.status_code == 200, page.status_code
        return page

    def processor_calls(self, invoice: dict[str, Any]) -> int:
        """Every charge the sandbox was asked for is a payment row (SPEC §3)."""
        return len(self.api.payments(invoice["id"]))

    def both_answered(self) -> bool:
        return set(self.answered) == {0, 1}


@pytest.fixture(scope="module")
def two_workers(live_server: LiveServer, api: Api) -> Iterator[TwoWorkers]:
    ports = (free_port(), free_port())
    urls: list[str] = []
    with ExitStack() as servers:
        for n, port in enumerate(ports):
            # Both mint links on the first; a link works on either (same secret, same database).
            env = {**live_server.env, "VINR_PUBLIC_URL": f"http://127.0.0.1:{ports[0]}", "VINR_PROXY_HOPS": "1"}
            env.pop("VINR_CARD_ATTEMPTS_PER_ADDRESS", None)  # the session server raises it for its own tests
            urls.append(servers.enter_context(gunicorn(env, port, ARTIFACTS / f"server-card-testing-{n}.log",
                                                       workers=1)))
        yield TwoWorkers((urls[0], urls[1]), Api(urls[0], api.key))


def test_the_sixth_failure_from_one_address_is_refused_whichever_server_answers(two_workers: TwoWorkers) -> None:
    address = "203.0.113.10"
    invoices = [two_workers.invoice() for _ in range(CARD_ATTEMPTS + 1)]
    for invoice in invoices[:CARD_ATTEMPTS]:
        declined = two_workers.pay(invoice, CARD_DECLINED, address=address)
        assert "declined" in two_workers.landed(declined, address=address).text
        assert two_workers.processor_calls(invoice) == 1

    refused = two_workers.pay(invoices[-1], CARD_DECLINED, address=address)
    assert refused.status_code == 429, refused.status_code
    assert int(refused.headers["Retry-After"]) > 0
    assert "from this network" in refused.text and "Back to the invoice" in refused.text
    assert two_workers.processor_calls(invoices[-1]) == 0
    assert two_workers.api.invoice(invoices[-1]["id"])["attempt_count"] == 0
    # Another address is not held back by this one.
    assert two_workers.pay(invoices[-1], CARD_OK, address="203.0.113.11").status_code == 303
    assert two_workers.both_answered()


def test_the_sixth_failure_on_one_invoice_is_refused_from_any_address(two_workers: TwoWorkers) -> None:
    invoice = two_workers.invoice()
    for n in range(CARD_ATTEMPTS):
        address = f"198.51.100.{n + 1}"
        declined = two_workers.pay(invoice, CARD_DECLINED, address=address)
        assert "declined" in two_workers.landed(declined, address=address).text

    refused = two_workers.pay(invoice, CARD_DECLINED, address="198.51.100.99")
    assert refused.status_code == 429, refused.status_code
    assert "on this invoice" in refused.text
    assert two_workers.processor_calls(invoice) == CARD_ATTEMPTS
    assert two_workers.api.invoice(invoice["id"])["attempt_count"] == CARD_ATTEMPTS
    assert two_workers.both_answered()


def test_a_customer_who_mistyped_twice_still_pays(two_workers: TwoWorkers) -> None:
    invoice = two_workers.invoice()
    address = "192.0.2.20"
    for _ in range(2):
        assert two_workers.pay(invoice, CARD_DECLINED, address=address).status_code == 303
    assert two_workers.pay(invoice, CARD_OK, address=address).status_code == 303
    assert two_workers.api.invoice(invoice["id"])["status"] == "paid"
