"""``vinr.webhooks.verify``: both signature schemes, signed by the server's own signer
(``app.webhooks.signing`` of this repository, imported, no server running), and the
Standard Webhooks specification's published test vector."""

from __future__ import annotations

import hashlib
import hmac
import json
import re

import pytest
from app.webhooks.signing import new_secret, signature_headers
from hypothesis import example, given, settings
from hypothesis import strategies as st

import vinr
from vinr import SignatureVerificationError

NOW = 1_800_000_000
EVENT = {"id": "evt_1", "object": "event", "type": "invoice.paid", "created": NOW, "livemode": False,
         "data": {"id": "inv_1", "object": "invoice", "status": "paid", "amount_paid": 196000}}
BODY = json.dumps(EVENT).encode()


def signed(secrets: list[str], *, body: bytes = BODY, timestamp: int = NOW) -> dict[str, str]:
    """The headers VINR's own signer (app/webhooks/signing.py) puts on a delivery."""
    return signature_headers(event_id="evt_1", body=body, secrets=secrets, timestamp=timestamp)


# The published test vector of the Standard Webhooks specification (and of its libraries' tests).
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_HEADERS = {"webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek", "webhook-timestamp": "1614265330",
                  "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="}
VECTOR_PAYLOAD = '{"test": 2432232314}'


def test_the_standard_webhooks_test_vector() -> None:
    event = vinr.webhooks.verify(VECTOR_PAYLOAD, VECTOR_HEADERS, VECTOR_SECRET, now=1614265330)
    assert event["test"] == 2432232314


def test_the_test_vector_with_another_body_fails() -> None:
    with pytest.raises(SignatureVerificationError, match="matches"):
        vinr.webhooks.verify('{"test": 2432232315}', VECTOR_HEADERS, VECTOR_SECRET, now=1614265330)


def test_x_vinr_signature_returns_the_event_with_its_object() -> None:
    secret = new_secret()
    headers = signed([secret])
    event = vinr.webhooks.verify(BODY, headers["x-vinr-signature"], secret, now=NOW)
    assert isinstance(event, vinr.Event)
    assert (event.id, event.type) == ("evt_1", "invoice.paid")
    assert isinstance(event.data, vinr.Invoice) and event.data.amount_paid == 196000


def test_the_request_headers_verify_by_either_scheme_in_any_case() -> None:
    secret = new_secret()
    headers = signed([secret])
    assert vinr.webhooks.verify(BODY, {name.upper(): value for name, value in headers.items()}, secret, now=NOW)
    standard_only = {name: value for name, value in headers.items() if name.startswith("webhook-")}
    assert vinr.webhooks.verify(BODY, standard_only, secret, now=NOW).id == "evt_1"


@pytest.mark.parametrize("scheme", ["x-vinr-signature", "standard"])
def test_a_tampered_body_is_refused(scheme: str) -> None:
    secret = new_secret()
    headers = signed([secret])
    given = headers["x-vinr-signature"] if scheme == "x-vinr-signature" else {
        name: value for name, value in headers.items() if name.startswith("webhook-")}
    tampered = BODY.replace(b"196000", b"1")
    with pytest.raises(SignatureVerificationError, match="matches"):
        vinr.webhooks.verify(tampered, given, secret, now=NOW)


@pytest.mark.parametrize("skew", [301, -301])
def test_a_timestamp_beyond_the_tolerance_is_refused(skew: int) -> None:
    secret = new_secret()
    headers = signed([secret], timestamp=NOW - skew)
    with pytest.raises(SignatureVerificationError, match="tolerance"):
        vinr.webhooks.verify(BODY, headers["x-vinr-signature"], secret, now=NOW)
    with pytest.raises(SignatureVerificationError, match="tolerance"):
        vinr.webhooks.verify(BODY, {k: v for k, v in headers.items() if k.startswith("webhook-")}, secret, now=NOW)


def test_the_tolerance_is_the_callers() -> None:
    secret = new_secret()
    headers = signed([secret], timestamp=NOW - 290)
    assert vinr.webhooks.verify(BODY, headers["x-vinr-signature"], secret, now=NOW)
    with pytest.raises(SignatureVerificationError):
        vinr.webhooks.verify(BODY, headers["x-vinr-signature"], secret, tolerance=60, now=NOW)


def test_during_a_secret_roll_either_secret_verifies() -> None:
    new, old = new_secret(), new_secret()
    headers = signed([new, old])
    assert headers["x-vinr-signature"].count("v1=") == 2
    for secret in (new, old):
        assert vinr.webhooks.verify(BODY, headers["x-vinr-signature"], secret, now=NOW).id == "evt_1"
        assert vinr.webhooks.verify(BODY, {k: v for k, v in headers.items() if k.startswith("webhook-")},
                                    secret, now=NOW).id == "evt_1"
    with pytest.raises(SignatureVerificationError):
        vinr.webhooks.verify(BODY, headers["x-vinr-signature"], new_secret(), now=NOW)


def hmac_hex(secret: str, timestamp: str, body: bytes = BODY) -> str:
    """The correct v1= of x-vinr-signature for this timestamp text, so a case fails only on its form."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


@pytest.mark.parametrize(("header", "message"), [
    ("v1={sig}", "malformed x-vinr-signature header: expected one t=, found 0"),
    ("t={t}", "malformed x-vinr-signature header: no v1= signature"),
    ("t={t},t={t},v1={sig}", "malformed x-vinr-signature header: expected one t=, found 2"),
    ("t={t},v1={sig},garbage", "malformed x-vinr-signature header: 'garbage' is not key=value"),
    ("t=18e8,v1={sig}", "malformed t in x-vinr-signature: '18e8' is not unix seconds"),
    ("t=+1800000000,v1={sig}", "malformed t in x-vinr-signature: '\\+1800000000' is not unix seconds"),
])
def test_a_malformed_header_is_refused(header: str, message: str) -> None:
    secret = new_secret()
    timestamp = re.search(r"t=([^,]*)", header)
    # Each signature is the correct HMAC of its timestamp's text: only the header's form is wrong.
    sig = hmac_hex(secret, timestamp.group(1) if timestamp else str(NOW))
    with pytest.raises(SignatureVerificationError, match=f"^{message}$"):
        vinr.webhooks.verify(BODY, header.format(t=NOW, sig=sig), secret, now=NOW)
    assert vinr.webhooks.verify(BODY, f"t={NOW},v1={hmac_hex(secret, str(NOW))}", secret, now=NOW).id == "evt_1"


@pytest.mark.parametrize("header", [None, "", "  ", 42])
def test_a_missing_or_empty_header_is_a_verification_error(header: object) -> None:
    with pytest.raises(SignatureVerificationError, match="^no (x-vinr-)?signature header"):
        vinr.webhooks.verify(BODY, header, new_secret(), now=NOW)  # type: ignore[arg-type]
    client = vinr.Vinr("sk_test_x", base_url="http://vinr.test")
    with client, pytest.raises(SignatureVerificationError):
        client.webhooks.verify(BODY, header, new_secret(), now=NOW)  # type: ignore[arg-type]


@pytest.mark.parametrize(("payload", "secret", "message"), [
    (None, "whsec_x", "the payload must be str or bytes, not NoneType"),
    (EVENT, "whsec_x", "the payload must be str or bytes, not dict"),  # the parsed JSON instead of the raw body
    (BODY, None, "the secret must be str or bytes, not NoneType"),
    (BODY, "", "the secret is empty"),
])
def test_a_payload_or_secret_of_the_wrong_kind_is_a_verification_error(payload: object, secret: object,
                                                                       message: str) -> None:
    headers = signed([new_secret()])
    with pytest.raises(SignatureVerificationError, match=f"^{message}"):
        vinr.webhooks.verify(payload, headers, secret, now=NOW)  # type: ignore[arg-type]


def test_the_secret_and_payload_may_be_bytes_or_text() -> None:
    secret = new_secret()
    headers = signed([secret])
    assert vinr.webhooks.verify(BODY.decode(), headers, secret.encode(), now=NOW).id == "evt_1"
    assert vinr.webhooks.verify(bytearray(BODY), headers, secret, now=NOW).id == "evt_1"  # type: ignore[arg-type]


def test_no_signature_headers_at_all_is_refused() -> None:
    with pytest.raises(SignatureVerificationError, match="no x-vinr-signature"):
        vinr.webhooks.verify(BODY, {"content-type": "application/json"}, new_secret(), now=NOW)


def test_a_signed_body_that_is_not_an_object_is_refused() -> None:
    secret = new_secret()
    headers = signed([secret], body=b"[1, 2]")
    with pytest.raises(SignatureVerificationError, match="not a JSON object"):
        vinr.webhooks.verify(b"[1, 2]", headers["x-vinr-signature"], secret, now=NOW)


def test_the_client_offers_the_same_verify() -> None:
    secret = new_secret()
    headers = signed([secret])
    client = vinr.Vinr("sk_test_x", base_url="http://vinr.test")
    try:
        assert client.webhooks.verify(BODY, headers["x-vinr-signature"], secret, now=NOW).id == "evt_1"
    finally:
        client.close()


LONG = "9" * 5000  # more digits than int() converts (sys.get_int_max_str_digits() is 4300)


@pytest.mark.parametrize("timestamp", [LONG, "1" + "0" * 12, "0" * 13])
def test_a_timestamp_longer_than_unix_seconds_is_a_verification_error(timestamp: str) -> None:
    secret = new_secret()
    sig = hmac_hex(secret, timestamp)
    shown = "'[0-9]{13,20}…?' is not unix seconds$"  # at most 20 characters of the value
    with pytest.raises(SignatureVerificationError, match="^malformed t in x-vinr-signature: " + shown):
        vinr.webhooks.verify(BODY, f"t={timestamp},v1={sig}", secret, now=NOW)
    standard = {**{k: v for k, v in signed([secret]).items() if k.startswith("webhook-")},
                "webhook-timestamp": timestamp}
    with pytest.raises(SignatureVerificationError, match="^malformed webhook-timestamp: " + shown):
        vinr.webhooks.verify(BODY, standard, secret, now=NOW)


def test_a_signed_body_nested_too_deep_to_parse_is_a_verification_error() -> None:
    secret, body = new_secret(), b"[" * 100_000
    with pytest.raises(SignatureVerificationError, match="not JSON"):
        vinr.webhooks.verify(body, signed([secret], body=body)["x-vinr-signature"], secret, now=NOW)


# What an unauthenticated sender controls: every header and the body. The fuzz mixes plain
# text with values near the real forms (timestamps of any length, v1 entries, secrets).
_text = st.text(st.characters(exclude_categories=()))  # surrogates included
_timestamps = st.one_of(st.integers(NOW - 400, NOW + 400).map(str), st.integers(0, 10**13).map(str),
                        st.integers(1, 6000).map(lambda n: "9" * n), _text)
_vinr_values = st.one_of(_text, st.builds("t={},v1={}{}".format, _timestamps, _text, _text))
_standard = st.fixed_dictionaries({"webhook-id": _text, "webhook-timestamp": _timestamps,
                                   "webhook-signature": st.builds("v1,{}".format, _text)})
_names = st.sampled_from(["x-vinr-signature", "X-Vinr-Signature", "webhook-id", "webhook-timestamp",
                          "webhook-signature", "content-type"])
_header_maps = st.one_of(_standard, st.dictionaries(st.one_of(_names, _text), st.one_of(_timestamps, _vinr_values)),
                         st.builds(lambda value: {"x-vinr-signature": value}, _vinr_values))


@settings(max_examples=300, deadline=None)
@given(payload=st.one_of(st.binary(), _text, st.just(BODY)),
       header=st.one_of(st.none(), _vinr_values, _header_maps),
       secret=st.one_of(st.just(VECTOR_SECRET), st.builds(lambda: new_secret()), _text, st.binary()))
@example(payload=BODY, header=f"t={LONG},v1=00", secret=VECTOR_SECRET)
@example(payload=BODY, header={"webhook-id": "msg_1", "webhook-timestamp": LONG, "webhook-signature": "v1,AA=="},
         secret=VECTOR_SECRET)
@example(payload="\ud800", header=f"t={NOW},v1=00", secret=VECTOR_SECRET)  # text with a lone surrogate
@example(payload=BODY, header=f"t={NOW},v1=\ud800", secret="\ud800")
@example(payload=BODY, header={"webhook-id": "\ud800", "webhook-timestamp": str(NOW), "webhook-signature": "v1,\ud800"},
         secret=VECTOR_SECRET)
@example(payload=BODY, header={"webhook-id": "msg_1", "webhook-timestamp": str(NOW), "webhook-signature": "v1,AA=="},
         secret="whsec_\x80")  # not base64
def test_whatever_a_sender_sends_verify_raises_only_signature_verification_error(
        payload: bytes | str, header: str | dict[str, str] | None, secret: str | bytes) -> None:
    try:
        event = vinr.webhooks.verify(payload, header, secret, now=NOW)
    except SignatureVerificationError:
        return
    assert isinstance(event, vinr.Event)
