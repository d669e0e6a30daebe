"""A full card number or CVC never reaches the database, a log line, an event,
an error message or a response (SPEC §3 payment methods, §6).

One test drives every SPEC §6 test card (and a handful of refused cards)
through the API in test mode: save, pay, replay with an Idempotency-Key, list.
Then it dumps every row of every table, the captured log records and every
response body, and scans them for:

(a) any card number it sent, in any formatting (digits, spaced, dashed);
(b) any Luhn-valid run of 13-19 digits standing on its own, i.e. a PAN
    nobody told us about (a run glued to letters, digits or "_" is part of
    a hash, an id or a token, not a card number);
(c) the CVCs, which are chosen to be distinctive values.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from typing import Any

import pytest
import sqlalchemy as sa

import app.models  # noqa: F401  (every table in Base.metadata)
from app.db import Base
from app.payments.cards import luhn_valid
from app.payments.processor import TEST_CARDS

FUTURE = {"exp_month": 12, "exp_year": 2040}
CVC = "987"
AMEX_CVC = "7531"
BAD_CVC = "9876"  # four digits on a Visa: invalid_cvc
CVCS = (CVC, AMEX_CVC, BAD_CVC)

# SPEC §6, as printed there: number, brand, expected invoice status after /pay.
SPEC_CARDS = [
    ("4242 4242 4242 4242", "visa", "paid"),
    ("5555 5555 5555 4444", "mastercard", "paid"),
    ("3782 822463 10005", "amex", "paid"),
    ("4000 0000 0000 0002", "visa", "open"),
    ("4000 0000 0000 9995", "visa", "open"),
    ("4000 0000 0000 0069", "visa", "open"),
    ("4000 0000 0000 0127", "visa", "open"),
    ("4000 0000 0000 0119", "visa", "open"),
    ("4000 0000 0000 3220", "visa", "open"),
    ("4000 0000 0000 5126", "visa", "paid"),  # its refunds fail
]

# Refused at the door: (card, status, error code).
BAD_CARDS: list[tuple[dict[str, Any], int, str]] = [
    ({"number": "4242424242424241", "cvc": CVC, **FUTURE}, 402, "incorrect_number"),  # bad Luhn
    ({"number": "4242 4242 4242 4241", "cvc": CVC, **FUTURE}, 402, "incorrect_number"),
    ({"number": "4242424242424242", "cvc": CVC, "exp_month": 1, "exp_year": 2020}, 402, "expired_card"),
    ({"number": "4242-4242-4242-4242", "cvc": CVC, "exp_month": 13, "exp_year": 2040}, 402,
     "invalid_expiry_month"),
    ({"number": "4242424242424242", "cvc": BAD_CVC, **FUTURE}, 402, "invalid_cvc"),
    ({"number": "378282246310005", "cvc": CVC, **FUTURE}, 402, "invalid_cvc"),  # Amex wants 4
    ({"number": "4012888888881881", "cvc": CVC, **FUTURE}, 402, "test_mode_live_card"),
    ({"number": "4012 8888 8888 1881", "cvc": CVC, **FUTURE}, 402, "test_mode_live_card"),
    ({"number": "4012-8888-8888-1881", "cvc": CVC, **FUTURE}, 402, "test_mode_live_card"),
    ({"number": "5105105105105100", "cvc": CVC, **FUTURE}, 402, "test_mode_live_card"),
    ({"number": 4242424242424242, "cvc": CVC, **FUTURE}, 400, "parameter_invalid"),  # not a string
    ({"number": "4242424242424242", "cvc": 987, **FUTURE}, 400, "parameter_invalid"),
    ({"number": "4242424242424242" * 3, "cvc": CVC, **FUTURE}, 400, "parameter_invalid"),  # too long
    ({"number": "4242424242424242", "cvc": CVC, "exp_month": 12}, 400, "parameter_missing"),
    ({"number": "4242424242424242", "cvc": CVC, "nickname": "4242424242424242", **FUTURE}, 400,
     "parameter_unknown"),
]

# Every number this test sends, as digits.
SENT_NUMBERS = sorted({re.sub(r"[ -]", "", n) for n, _, _ in SPEC_CARDS}
                      | {re.sub(r"[ -]", "", str(c["number"])) for c, _, _ in BAD_CARDS if len(str(c["number"])) < 20}
                      | {"4242424242424242"})

# (b): 13-19 digits, optionally grouped by single spaces or dashes, not glued
# to letters, digits or "_" (ids are "<prefix>_<base36>", sandbox refs end in hex).
_PAN_RUN = re.compile(r"(?<![0-9A-Za-z_])(?:\d[ -]?){12,18}\d(?![0-9A-Za-z_])")
_SENT = [(n, re.compile(r"[ \-]?".join(n))) for n in SENT_NUMBERS]
_CVC_ALTERNATIVES = "|".join(CVCS)
_CVC_NEAR = re.compile(rf"cvc\W{{0,12}}(?:{_CVC_ALTERNATIVES})(?!\d)", re.IGNORECASE)
# A CVC kept anywhere would be a string: as a JSON/repr string value or a text column (quoted in the dump).
_CVC_QUOTED = re.compile(rf"""["'](?:{_CVC_ALTERNATIVES})["']""")


def find_card_data(text: str) -> list[str]:
    """Every card number or CVC in ``text``, with a little context."""
    hits: list[str] = []

    def hit(match: re.Match[str], why: str) -> None:
        hits.append(f"{why}: ...{text[max(0, match.start() - 40):match.end() + 40]}...")

    for number, pattern in _SENT:
        for match in pattern.finditer(text):
            hit(match, f"sent card {number}")
    for match in _PAN_RUN.finditer(text):
        if luhn_valid(re.sub(r"[ -]", "", match.group())):
            hit(match, "Luhn-valid digit run")
    for match in _CVC_NEAR.finditer(text):
        hit(match, "cvc")
    for match in _CVC_QUOTED.finditer(text):
        hit(match, "cvc value")
    return hits


def _text(value: Any) -> str:
    """A column value as text; strings quoted, so that a CVC column would read ``"987"``."""
    if value is None:
        return "null"
    if isinstance(value, bytes | bytearray | memoryview):
        return json.dumps(bytes(value).decode("utf-8", "replace"))
    if isinstance(value, dict | list | str):
        return json.dumps(value)
    return str(value)


def dump_database(session: Any) -> dict[str, str]:
    """``table -> every row of it as text``, read on the test's connection."""
    dump: dict[str, str] = {}
    for table in Base.metadata.sorted_tables:
        rows = session.execute(sa.select(table)).all()
        dump[table.name] = "\n".join(
            " | ".join(f"{column}={_text(value)}" for column, value in zip(row._fields, row, strict=True))
            for row in rows)
    return dump


def _digits_grouped(number: str, sep: str) -> str:
    groups = (4, 6, 5) if len(number) == 15 else (4, 4, 4, 4)
    out, start = [], 0
    for size in groups:
        out.append(number[start:start + size])
        start += size
    return sep.join(out)


class Recorder:
    """The merchant's test-mode API, keeping every response."""

    def __init__(self, api: Any) -> None:
        self.api = api
        self.bodies: list[tuple[str, str]] = []

    def call(self, method: str, path: str, json_body: Any = None, *, key: str | None = None,
             **kw: Any) -> Any:
        headers = {"Idempotency-Key": key} if key else None
        if method == "GET":
            response = self.api.get(path, headers=headers, **kw)
        else:
            response = self.api.post(path, json_body, headers=headers, **kw)
        headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items() if k != "Content-Length")
        self.bodies.append((f"{method} {path} -> {response.status_code}",
                            response.get_data(as_text=True) + "\n" + headers))
        assert response.status_code < 500, (path, response.get_data(as_text=True))
        return response

    def ok(self, method: str, path: str, json_body: Any = None, **kw: Any) -> dict[str, Any]:
        response = self.call(method, path, json_body, **kw)
        assert response.status_code == 200, (path, response.status_code, response.get_json())
        return response.get_json()  # type: ignore[no-any-return]


def _open_invoice(rec: Recorder, customer_id: str, amount: int, n: int) -> dict[str, Any]:
    inv = rec.ok("POST", "/v1/invoices", {"customer": customer_id}, key=f"inv-create-{n}")
    rec.ok("POST", f"/v1/invoices/{inv['id']}/lines", {"description": "Work", "unit_amount": amount},
           key=f"inv-line-{n}")
    return rec.ok("POST", f"/v1/invoices/{inv['id']}/finalize", {"auto_advance": False}, key=f"inv-fin-{n}")


def test_the_scanner_finds_card_data() -> None:
    """The scanner itself has teeth (the end-to-end test below relies on it)."""
    assert find_card_data('{"metadata": {"n": "4242424242424242"}}')
    assert find_card_data("number=4242 4242 4242 4242 ok")
    assert find_card_data("x 3782-822463-10005 y")
    assert find_card_data("log: card 6011111111111117 refused")  # not sent, but Luhn-valid
    assert find_card_data('{"card": {"cvc": "7531"}}')
    assert find_card_data("cvc=987")
    assert find_card_data("'9876'")
    # Ids, hex hashes, timestamps and amounts are not card data.
    assert not find_card_data('pay_0lz3k4abcd1234567890123 sbx_card_success_1234567890123403 '
                              'created=1767225600 amount=987 service.py:987 last4="4242" fp=0123456789abcdef0123')


def test_every_card_leaves_no_trace(api: Any, customer: dict, db_session: Any,
                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # the root logger: every logger propagates here
    rec = Recorder(api)
    cid = customer["id"]
    assert {re.sub(r"\D", "", n) for n, _, _ in SPEC_CARDS} == set(TEST_CARDS)  # SPEC and sandbox agree

    for n, (printed, brand, outcome) in enumerate(SPEC_CARDS):
        digits = printed.replace(" ", "")
        cvc = AMEX_CVC if brand == "amex" else CVC
        # Each card in three formattings: digits, spaced, dashed. The last one saved is the default.
        for form, number in enumerate((digits, _digits_grouped(digits, " "), _digits_grouped(digits, "-"))):
            body = {"card": {"number": number, "cvc": cvc, **FUTURE}, "set_default": True}
            key = f"save-{n}-{form}"
            pm = rec.ok("POST", f"/v1/customers/{cid}/payment_methods", body, key=key)
            assert pm["card"] == {"brand": brand, "last4": digits[-4:], **FUTURE}
            replay = rec.call("POST", f"/v1/customers/{cid}/payment_methods", body, key=key)
            assert replay.headers.get("Idempotent-Replayed") == "true"
        amount = 1100 + 10 * n
        inv = _open_invoice(rec, cid, amount, n)
        paid = rec.ok("POST", f"/v1/invoices/{inv['id']}/pay", key=f"pay-{n}")
        assert paid["status"] == outcome, (printed, paid["last_payment_error"])
        replay = rec.call("POST", f"/v1/invoices/{inv['id']}/pay", key=f"pay-{n}")
        assert replay.headers.get("Idempotent-Replayed") == "true"
        again = rec.call("POST", f"/v1/invoices/{inv['id']}/pay", {"payment_method": pm["id"]},
                         key=f"pay-again-{n}")
        assert again.status_code in (200, 409)
        rec.ok("GET", f"/v1/payments/{paid['payment']}")
        # charge_automatically at finalize, with this card as the default.
        auto = rec.ok("POST", "/v1/invoices", {"customer": cid})
        rec.ok("POST", f"/v1/invoices/{auto['id']}/lines", {"unit_amount": amount + 1})
        assert rec.ok("POST", f"/v1/invoices/{auto['id']}/finalize", key=f"fin-auto-{n}")["status"] == outcome

    for n, (card, status, code) in enumerate(BAD_CARDS):
        body = {"card": card, "set_default": True}
        refused = rec.call("POST", f"/v1/customers/{cid}/payment_methods", body, key=f"bad-{n}")
        assert (refused.status_code, refused.get_json()["error"]["code"]) == (status, code), card
        replayed = rec.call("POST", f"/v1/customers/{cid}/payment_methods", body, key=f"bad-{n}")
        assert replayed.get_data() == refused.get_data()
        rec.call("POST", f"/v1/customers/{cid}/payment_methods", body)  # and without a key

    rec.ok("GET", f"/v1/customers/{cid}/payment_methods", query_string={"limit": 100})
    rec.ok("GET", f"/v1/customers/{cid}")
    rec.ok("GET", "/v1/payments", query_string={"limit": 100})
    rec.ok("GET", "/v1/invoices", query_string={"limit": 100})
    for type_ in ("payment.completed", "payment.failed", "invoice.payment_action_required", "customer.updated"):
        assert rec.ok("GET", "/v1/events", query_string={"type": type_, "limit": 100})["data"], type_

    db_session.flush()
    haystacks: list[tuple[str, str]] = [(f"table {name}", text) for name, text in dump_database(db_session).items()]
    assert "sbx_card_" in dict(haystacks)["table payment_methods"]  # the cards really were saved
    # Every tokenization is a processor call's row, a refused card's too: scanned like the rest.
    calls = dict(haystacks)["table processor_calls"]
    assert 'kind="tokenize"' in calls and 'failure_code="test_mode_live_card"' in calls
    haystacks += rec.bodies
    haystacks.append(("log text", caplog.text))
    haystacks += [(f"log record {r.name}", f"{r.getMessage()} {r.args!r} {r.exc_text or ''}")
                  for r in caplog.records]
    found = [f"{where}: {hit}" for where, text in haystacks for hit in find_card_data(text)]
    assert not found, "\n".join(found)


def _formatted(numbers: Iterable[str]) -> list[str]:
    return [f for n in numbers for f in (n, _digits_grouped(n, " "), _digits_grouped(n, "-"))]


def test_the_sent_numbers_are_all_covered() -> None:
    """(a) knows every number the big test sends, in every formatting it sends."""
    for number in _formatted(SENT_NUMBERS):
        assert find_card_data(f"x {number} y"), number
