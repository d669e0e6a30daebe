"""The card-testing defence of the hosted page, counted in the database (SPEC §7, §8):
every card form that can reach the processor counts, the sixth failure in an hour from
one address or on one invoice is refused before the processor is called, and the count
is the database's, so every process sees it (e2e/test_card_testing.py runs two)."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa

from app import clock
from app.card_testing.models import CardTry, CardTryStatus
from app.payments.processor import SandboxProcessor
from tests.portal.conftest import Hosted, make_hosted

DECLINED = "4000000000000002"
THREEDS = "4000000000003220"
NOT_A_TEST_CARD = "4111111111111111"  # Luhn-valid: the sandbox refuses it (402), as a live processor would a bad card


@pytest.fixture()
def processor_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every call that reached the sandbox: charges, confirmations, card saves."""
    calls: list[str] = []
    for name in ("charge", "confirm", "tokenize", "setup", "confirm_setup"):
        original = getattr(SandboxProcessor, name)

        def counting(self: Any, *args: Any, _name: str = name, _original: Any = original, **kw: Any) -> Any:
            calls.append(_name)
            return _original(self, *args, **kw)

        monkeypatch.setattr(SandboxProcessor, name, counting)
    return calls


def new_hosted(hosted: Hosted) -> Hosted:
    """Another invoice of the same customer (so only the per-address limit is shared)."""
    customer = hosted.invoice["customer"]
    return Hosted(hosted.client, hosted.api, make_hosted(hosted.api, customer))


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert match
    return match[1]


def fail_3ds(hosted: Hosted, **kw: Any) -> Any:
    challenge = hosted.pay(THREEDS, **kw)
    assert challenge.status_code == 303, challenge.status_code
    page = hosted.client.get(challenge.headers["Location"]).get_data(as_text=True)
    return hosted.client.post(challenge.headers["Location"], data={"csrf_token": _csrf(page), "fail": "x"}, **kw)


def save_card(hosted: Hosted, number: str, **kw: Any) -> Any:
    return hosted.client.post(hosted.path + "/payment-method", data={
        "csrf_token": hosted.csrf("/payment-method"), "card_number": number, "expiry": "11/39", "cvc": "321",
        "name": "Jenny"}, **kw)


def counted_tries(db_session: Any, hosted: Hosted) -> list[CardTry]:
    """The tries kept for this invoice (race tests elsewhere commit tries of their own)."""
    return list(db_session.scalars(sa.select(CardTry).where(CardTry.invoice_id == hosted.invoice["id"])
                                   .order_by(CardTry.id)))


def test_failures_on_every_card_form_count_and_the_sixth_never_reaches_the_processor(
        hosted: Hosted, processor_calls: list[str]) -> None:
    assert "declined" in hosted.landed(hosted.pay(DECLINED)).get_data(as_text=True)
    assert "declined" in hosted.landed(hosted.pay(DECLINED, save=True)).get_data(as_text=True)
    assert "declined" in hosted.landed(fail_3ds(hosted)).get_data(as_text=True)  # a failed 3DS answer
    # "Update payment method"
    assert "test card" in hosted.landed(save_card(hosted, NOT_A_TEST_CARD)).get_data(as_text=True)
    assert "incorrect" in hosted.landed(hosted.pay("4242424242424241")).get_data(as_text=True)  # a typo counts too
    reached = len(processor_calls)

    refused = hosted.pay(DECLINED)
    assert refused.status_code == 429
    assert "Too many attempts" in refused.get_data(as_text=True)
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    assert save_card(hosted, "4242424242424242").status_code == 429
    assert len(processor_calls) == reached
    assert hosted.refreshed()["status"] == "open"


def test_a_failed_3ds_save_counts(hosted: Hosted, processor_calls: list[str]) -> None:
    for _ in range(5):
        started = save_card(hosted, THREEDS)
        assert started.status_code == 303
        page = hosted.client.get(started.headers["Location"]).get_data(as_text=True)
        failed = hosted.client.post(started.headers["Location"], data={"csrf_token": _csrf(page), "fail": "x"})
        assert "declined" in hosted.landed(failed).get_data(as_text=True)
    reached = len(processor_calls)
    assert save_card(hosted, THREEDS).status_code == 429
    assert len(processor_calls) == reached


def test_the_limit_follows_one_address_across_invoices(hosted: Hosted, processor_calls: list[str]) -> None:
    tester = {"environ_base": {"REMOTE_ADDR": "203.0.113.7"}}
    for _ in range(5):
        assert new_hosted(hosted).pay(DECLINED, **tester).status_code == 303
    reached = len(processor_calls)
    fresh = new_hosted(hosted)
    assert fresh.pay(DECLINED, **tester).status_code == 429
    assert len(processor_calls) == reached and fresh.refreshed()["attempt_count"] == 0
    # The customer at another address is not held back by the card tester.
    assert fresh.pay(environ_base={"REMOTE_ADDR": "198.51.100.4"}).status_code == 303


def test_the_limit_follows_one_invoice_across_addresses(hosted: Hosted, processor_calls: list[str]) -> None:
    for n in range(5):
        assert hosted.pay(DECLINED, environ_base={"REMOTE_ADDR": f"203.0.113.{n + 1}"}).status_code == 303
    reached = len(processor_calls)
    assert hosted.pay(environ_base={"REMOTE_ADDR": "198.51.100.4"}).status_code == 429
    assert len(processor_calls) == reached
    assert new_hosted(hosted).pay(environ_base={"REMOTE_ADDR": "198.51.100.4"}).status_code == 303


def test_an_hour_later_the_address_may_try_again(hosted: Hosted, monkeypatch: pytest.MonkeyPatch) -> None:
    for _ in range(5):
        assert hosted.pay(DECLINED).status_code == 303
    assert hosted.pay().status_code == 429
    monkeypatch.setattr(clock, "now", lambda real=clock.now: real() + 3600)
    assert hosted.pay().status_code == 303
    assert hosted.refreshed()["status"] == "paid"


def test_only_failures_are_kept(hosted: Hosted, db_session: Any) -> None:
    assert hosted.pay(DECLINED).status_code == 303
    assert fail_3ds(hosted).status_code == 303  # the pay that asked for 3DS is no failure; its answer is
    assert save_card(hosted, "5555555555554444").status_code == 303
    assert hosted.pay().status_code == 303
    assert [(a.status, a.client_address, a.invoice_id) for a in counted_tries(db_session, hosted)] == [
        (CardTryStatus.FAILED, "127.0.0.1", hosted.invoice["id"])] * 2


def test_a_bad_link_counts_nothing(hosted: Hosted, db_session: Any) -> None:
    response = hosted.client.post(hosted.path + "x/pay", data={"csrf_token": hosted.csrf()})
    assert response.status_code == 404
    assert counted_tries(db_session, hosted) == []


def test_form_errors_never_count_and_the_customer_still_pays(hosted: Hosted, db_session: Any,
                                                              processor_calls: list[str]) -> None:
    """An empty CVC or a missing name never reaches the processor (SPEC §7): six of them do
    not lock the customer out, on this invoice or any other."""
    for _ in range(3):
        hosted.pay(cvc="")
        hosted.pay(name="", expiry="")
    assert processor_calls == [] and counted_tries(db_session, hosted) == []
    assert new_hosted(hosted).pay().status_code == 303
    assert hosted.pay().status_code == 303
    assert hosted.refreshed()["status"] == "paid"


def test_a_malformed_security_code_does_not_count(hosted: Hosted, db_session: Any) -> None:
    for _ in range(6):
        hosted.pay(cvc="12")
    assert counted_tries(db_session, hosted) == []
    assert hosted.pay().status_code == 303


def test_an_expired_card_counts_as_the_cards_own_check(hosted: Hosted, db_session: Any) -> None:
    hosted.pay(expiry="01 / 20")
    assert [a.status for a in counted_tries(db_session, hosted)] == [CardTryStatus.FAILED]


def _refusal(response: Any) -> str:
    assert response.status_code == 429, response.status_code
    return " ".join(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)).split())


def test_the_refusal_is_branded_says_when_and_leads_back_from_this_network(hosted: Hosted) -> None:
    hosted.api.ok("POST", "/v1/account/branding", {"display_name": "Acme Studio", "theme": "classic"})
    tester = {"environ_base": {"REMOTE_ADDR": "203.0.113.70"}}
    for _ in range(5):
        new_hosted(hosted).pay(DECLINED, **tester)
    refused = hosted.pay(DECLINED, **tester)
    page = _refusal(refused)
    wait = int(refused.headers["Retry-After"])
    assert 3500 < wait <= 3600
    assert "Acme Studio" in page and "/_theme/classic/theme.css" in refused.get_data(as_text=True)
    assert "from this network" in page and "on this invoice" not in page
    assert "You can try again in 1 hour." in page and "Nothing was charged." in page
    assert f'href="{hosted.path}"' in refused.get_data(as_text=True) and "Back to the invoice" in page


def test_the_refusal_says_on_this_invoice_when_the_invoice_is_held(hosted: Hosted) -> None:
    for n in range(5):
        hosted.pay(DECLINED, environ_base={"REMOTE_ADDR": f"203.0.113.{n + 80}"})
    page = _refusal(hosted.pay(DECLINED, environ_base={"REMOTE_ADDR": "198.51.100.80"}))
    assert "on this invoice" in page and "from this network" not in page


def test_the_refusal_is_in_the_customers_language(api: Any, client: Any) -> None:
    customer = api.ok("POST", "/v1/customers", {"email": "k@example.de", "preferred_locales": ["de"]})
    hosted = Hosted(client, api, make_hosted(api, customer["id"]))
    for _ in range(5):
        hosted.pay(DECLINED)
    page = _refusal(hosted.pay(DECLINED))
    assert "Zu viele Versuche" in page and "Zurück zur Rechnung" in page and "in 1 Stunde" in page
