"""Webhook secrets and both signature schemes (app/webhooks/signing.py, SPEC §4),
and the verification examples merchants copy from docs/webhooks.md."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from app.webhooks.signing import (
    SECRET_PREFIX,
    SignatureVerificationError,
    new_secret,
    signature_headers,
    verify_signature,
    verify_standard,
)

BODY = b'{"id":"evt_1","object":"event","type":"invoice.paid","data":{"amount_due":1050,"name":"J\xc3\xbcrgen"}}'
EVENT_ID = "evt_1"
T = 1_700_000_000
DOCS = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def _hex(secret: str, timestamp: int, body: bytes) -> str:
    """The x-vinr-signature v1 value, written out from SPEC §4 rather than taken from the module."""
    return hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def _vinr(secret: str, timestamp: int = T, body: bytes = BODY) -> str:
    return signature_headers(event_id=EVENT_ID, body=body, secrets=[secret], timestamp=timestamp)["x-vinr-signature"]


# --- Standard Webhooks ---------------------------------------------------------------------------------------------


def test_the_standard_webhooks_published_test_vector_is_reproduced() -> None:
    # standard-webhooks/standard-webhooks, libraries/python/tests/test_webhooks.py::test_sign_function
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    headers = signature_headers(event_id="msg_p5jXN8AQM9LWM0D4loKWxJek", body=body, secrets=[secret],
                                timestamp=1614265330)
    assert headers["webhook-signature"] == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert headers["webhook-id"] == "msg_p5jXN8AQM9LWM0D4loKWxJek"
    assert headers["webhook-timestamp"] == "1614265330"
    verify_standard(body, headers, secret, now=1614265330)


def test_a_delivery_carries_exactly_the_four_signature_headers() -> None:
    secret = new_secret()
    headers = signature_headers(event_id=EVENT_ID, body=BODY, secrets=[secret], timestamp=T)
    assert headers == {
        "x-vinr-signature": f"t={T},v1={_hex(secret, T, BODY)}",
        "webhook-id": EVENT_ID,
        "webhook-timestamp": str(T),
        "webhook-signature": headers["webhook-signature"],
    }
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, f"{EVENT_ID}.{T}.".encode() + BODY, hashlib.sha256).digest()).decode()
    assert headers["webhook-signature"] == f"v1,{expected}"


def test_the_standardwebhooks_library_verifies_what_we_send_and_refuses_a_tampered_body() -> None:
    secret = new_secret()
    headers = signature_headers(event_id=EVENT_ID, body=BODY, secrets=[secret], timestamp=int(time.time()))
    assert Webhook(secret).verify(BODY, headers) == json.loads(BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace(b"1050", b"1"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, headers)


def test_during_a_roll_the_standardwebhooks_library_accepts_either_secret() -> None:
    current, old = new_secret(), new_secret()
    headers = signature_headers(event_id=EVENT_ID, body=BODY, secrets=[current, old], timestamp=int(time.time()))
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (current, old):
        assert Webhook(secret).verify(BODY, headers) == json.loads(BODY)
        verify_standard(BODY, headers, secret)


def test_verify_standard_reads_header_names_in_any_case() -> None:
    secret = new_secret()
    headers = signature_headers(event_id=EVENT_ID, body=BODY, secrets=[secret], timestamp=T)
    shouted = {name.upper(): value for name, value in headers.items()}
    verify_standard(BODY, shouted, secret, now=T)
    verify_standard(BODY, {"Webhook-Id": EVENT_ID, "Webhook-Timestamp": str(T),
                           "Webhook-Signature": headers["webhook-signature"]}, secret, now=T)


def test_verify_standard_refuses_a_tampered_body_id_or_timestamp() -> None:
    secret = new_secret()
    headers = signature_headers(event_id=EVENT_ID, body=BODY, secrets=[secret], timestamp=T)
    with pytest.raises(SignatureVerificationError, match="no v1 signature .* matches"):
        verify_standard(BODY + b" ", headers, secret, now=T)
    with pytest.raises(SignatureVerificationError, match="no v1 signature .* matches"):
        verify_standard(BODY, {**headers, "webhook-id": "evt_2"}, secret, now=T)
    with pytest.raises(SignatureVerificationError, match="no v1 signature .* matches"):
        verify_standard(BODY, {**headers, "webhook-timestamp": str(T + 1)}, secret, now=T)


@pytest.mark.parametrize(("skew", "ok"), [(300, True), (301, False), (-300, True), (-301, False)])
def test_verify_standard_tolerates_five_minutes_either_way(skew: int, ok: bool) -> None:
    secret = new_secret()
    headers = signature_headers(event_id=EVENT_ID, body=BODY, secrets=[secret], timestamp=T)
    if ok:
        verify_standard(BODY, headers, secret, now=T + skew)
    else:
        with pytest.raises(SignatureVerificationError, match="outside the tolerance"):
            verify_standard(BODY, headers, secret, now=T + skew)


@pytest.mark.parametrize(("change", "message"), [
    ({"webhook-id": None}, "no webhook-id header"),
    ({"webhook-timestamp": None, "webhook-signature": None}, "no webhook-timestamp, webhook-signature header"),
    ({"webhook-timestamp": "soon"}, "webhook-timestamp: 'soon' is not an integer"),
    ({"webhook-timestamp": "9" * 5000}, "webhook-timestamp: '99999999999999999999…' is not an integer"),
    ({"webhook-timestamp": "1" + "0" * 12}, "webhook-timestamp: '1000000000000' is not an integer"),
    ({"webhook-signature": "v2,abc garbage"}, "no v1,<base64> entry"),
])
def test_verify_standard_says_what_is_wrong_with_malformed_headers(change: dict[str, str | None],
                                                                   message: str) -> None:
    secret = new_secret()
    headers: dict[str, str] = signature_headers(event_id=EVENT_ID, body=BODY, secrets=[secret], timestamp=T)
    for name, value in change.items():
        if value is None:
            del headers[name]
        else:
            headers[name] = value
    with pytest.raises(SignatureVerificationError, match=re.escape(message)):
        verify_standard(BODY, headers, secret, now=T)


# --- x-vinr-signature ----------------------------------------------------------------------------------------------


def test_x_vinr_signature_round_trips_and_matches_an_independent_hmac() -> None:
    secret = new_secret()
    header = _vinr(secret)
    assert header == f"t={T},v1={_hex(secret, T, BODY)}"
    verify_signature(BODY, header, secret, now=T)


def test_x_vinr_signature_verifies_with_the_real_clock_by_default() -> None:
    secret = new_secret()
    verify_signature(BODY, _vinr(secret, timestamp=int(time.time())), secret)
    with pytest.raises(SignatureVerificationError, match="outside the tolerance"):
        verify_signature(BODY, _vinr(secret, timestamp=int(time.time()) - 3600), secret)


def test_during_a_roll_the_header_carries_two_v1_and_each_secret_verifies_alone() -> None:
    current, old = new_secret(), new_secret()
    header = signature_headers(event_id=EVENT_ID, body=BODY, secrets=[current, old], timestamp=T)["x-vinr-signature"]
    assert header == f"t={T},v1={_hex(current, T, BODY)},v1={_hex(old, T, BODY)}"
    verify_signature(BODY, header, current, now=T)
    verify_signature(BODY, header, old, now=T)
    with pytest.raises(SignatureVerificationError, match="no v1 signature .* matches"):
        verify_signature(BODY, header, new_secret(), now=T)


@pytest.mark.parametrize(("skew", "ok"), [(300, True), (301, False), (-300, True), (-301, False)])
def test_x_vinr_signature_tolerates_five_minutes_either_way(skew: int, ok: bool) -> None:
    secret = new_secret()
    header = _vinr(secret)
    if ok:
        verify_signature(BODY, header, secret, now=T + skew)
    else:
        with pytest.raises(SignatureVerificationError,
                           match="outside the tolerance: it is 301 s " + ("old" if skew > 0 else "in the future")):
            verify_signature(BODY, header, secret, now=T + skew)


def test_the_tolerance_can_be_narrowed() -> None:
    secret = new_secret()
    verify_signature(BODY, _vinr(secret), secret, tolerance=10, now=T + 10)
    with pytest.raises(SignatureVerificationError, match="more than 10 s"):
        verify_signature(BODY, _vinr(secret), secret, tolerance=10, now=T + 11)


def test_x_vinr_signature_refuses_a_tampered_body_timestamp_or_secret() -> None:
    secret = new_secret()
    header = _vinr(secret)
    with pytest.raises(SignatureVerificationError, match="no v1 signature .* matches"):
        verify_signature(BODY.replace(b"1050", b"1051"), header, secret, now=T)
    with pytest.raises(SignatureVerificationError, match="no v1 signature .* matches"):
        verify_signature(BODY, header.replace(f"t={T}", f"t={T + 1}"), secret, now=T)  # a replay with a fresh t
    with pytest.raises(SignatureVerificationError, match="no v1 signature .* matches"):
        verify_signature(BODY, header, secret.removeprefix(SECRET_PREFIX), now=T)  # keyed with the whole string


def test_x_vinr_signature_ignores_unknown_schemes_and_spaces() -> None:
    secret = new_secret()
    header = f"t={T}, v0=0123, v1={_hex(secret, T, BODY)}, v9=future"
    verify_signature(BODY, header, secret, now=T)


@pytest.mark.parametrize(("header", "message"), [
    ("", "no x-vinr-signature header"),
    ("v1=abcdef", "expected one t=<unix seconds>, found 0"),
    (f"t={T},t={T},v1=abcdef", "expected one t=<unix seconds>, found 2"),
    ("t=soon,v1=abcdef", "t in x-vinr-signature: 'soon' is not an integer"),
    ("t=-5,v1=abcdef", "'-5' is not an integer"),
    ("t=1_700_000_000,v1=abcdef", "'1_700_000_000' is not an integer"),
    ("t=" + "9" * 5000 + ",v1=abcdef", "t in x-vinr-signature: '99999999999999999999…' is not an integer"),
    ("t=" + "0" * 13 + ",v1=abcdef", "'0000000000000' is not an integer"),
    (f"t={T}", "no v1= signature"),
    (f"t={T},v0=abcdef", "no v1= signature"),
    (f"t={T},abcdef", "'abcdef' is not key=value"),
])
def test_malformed_x_vinr_signature_headers_say_what_is_wrong(header: str, message: str) -> None:
    with pytest.raises(SignatureVerificationError, match=re.escape(message)):
        verify_signature(BODY, header, new_secret(), now=T)


@pytest.mark.parametrize("forge", [
    lambda good: good[:-1] + ("0" if good[-1] != "0" else "1"),  # the last character differs
    lambda good: good[:32],  # a prefix
    lambda good: good + "00",  # too long
    lambda good: good.upper(),  # hex of another case is another string
    lambda good: "é" * 64,  # not ASCII: refused, not a TypeError from the comparison
    lambda good: "",
])
def test_only_the_exact_signature_passes(forge: Any) -> None:
    secret = new_secret()
    good = _hex(secret, T, BODY)
    with pytest.raises(SignatureVerificationError, match="no v1 signature .* matches"):
        verify_signature(BODY, f"t={T},v1={forge(good)}", secret, now=T)


# What a sender controls: the headers and the body. Plain text (surrogates included) mixed
# with values near the real forms: timestamps of any length, around now, and v1 entries.
_text = st.text(st.characters(exclude_categories=()))
_timestamps = st.one_of(st.integers(T - 400, T + 400).map(str), st.integers(0, 10**13).map(str),
                        st.integers(1, 6000).map(lambda n: "9" * n), _text)
_vinr_headers = st.one_of(_text, st.builds("t={},v1={}{}".format, _timestamps, _text, _text))
_standard_headers = st.one_of(
    st.fixed_dictionaries({"webhook-id": _text, "webhook-timestamp": _timestamps,
                           "webhook-signature": st.builds("v1,{}".format, _text)}),
    st.dictionaries(st.one_of(st.sampled_from(["webhook-id", "Webhook-Timestamp", "webhook-signature"]), _text),
                    st.one_of(_timestamps, _text)))


@settings(max_examples=200, deadline=None)
@given(payload=st.one_of(st.binary(), st.just(BODY)), header=_vinr_headers, headers=_standard_headers)
@example(payload=BODY, header="t=" + "9" * 5000 + ",v1=00",
         headers={"webhook-id": EVENT_ID, "webhook-timestamp": "9" * 5000, "webhook-signature": "v1,AA=="})
@example(payload=BODY, header=f"t={T},v1=\ud800",
         headers={"webhook-id": "\ud800", "webhook-timestamp": str(T), "webhook-signature": "v1,\ud800"})
def test_whatever_a_sender_sends_verification_raises_only_signature_verification_error(
        payload: bytes, header: str, headers: dict[str, str]) -> None:
    secret = new_secret()
    for verify in (lambda: verify_signature(payload, header, secret, now=T),
                   lambda: verify_standard(payload, headers, secret, now=T)):
        with contextlib.suppress(SignatureVerificationError):
            verify()


# --- secrets -------------------------------------------------------------------------------------------------------


def test_new_secrets_are_prefixed_base64_of_at_least_24_random_bytes() -> None:
    made = [new_secret() for _ in range(50)]
    assert len(set(made)) == len(made)
    for secret in made:
        assert secret.startswith("whsec_") and SECRET_PREFIX == "whsec_"
        assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) >= 24


def test_signing_needs_a_list_of_well_formed_secrets() -> None:
    with pytest.raises(ValueError, match="at least one secret"):
        signature_headers(event_id=EVENT_ID, body=BODY, secrets=[], timestamp=T)
    with pytest.raises(TypeError, match="not one string"):
        signature_headers(event_id=EVENT_ID, body=BODY, secrets=new_secret(), timestamp=T)
    with pytest.raises(ValueError, match="starts with 'whsec_'"):
        signature_headers(event_id=EVENT_ID, body=BODY, secrets=["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"], timestamp=T)
    with pytest.raises(ValueError, match="base64"):
        signature_headers(event_id=EVENT_ID, body=BODY, secrets=["whsec_not base64!"], timestamp=T)


# --- the examples in docs/webhooks.md ------------------------------------------------------------------------------


def _doc_block(language: str, defines: str) -> str:
    blocks: list[str] = re.findall(rf"```{language}\n(.*?)```", DOCS.read_text(), flags=re.DOTALL)
    [block] = [b for b in blocks if defines in b]
    return block


def _cases(secret: str) -> list[tuple[bytes, str, bool]]:
    now = int(time.time())
    other = new_secret()
    rolled = signature_headers(event_id=EVENT_ID, body=BODY, secrets=[other, secret], timestamp=now)
    return [
        (BODY, _vinr(secret, timestamp=now), True),
        (BODY, rolled["x-vinr-signature"], True),
        (BODY, _vinr(secret, timestamp=now - 400), False),
        (BODY, _vinr(secret, timestamp=now + 400), False),
        (BODY + b" ", _vinr(secret, timestamp=now), False),
        (BODY, _vinr(other, timestamp=now), False),
        (BODY, f"v1={_hex(secret, now, BODY)}", False),
        (BODY, f"t=x{now},v1={_hex(secret, now, BODY)}", False),
        (BODY, f"t={'9' * 5000},v1={_hex(secret, now, BODY)}", False),  # no ValueError from int()
        (BODY, f"t={now},v1=é", False),
        (BODY, "", False),
    ]


def test_the_python_example_in_the_docs_verifies_our_deliveries() -> None:
    namespace: dict[str, Any] = {}
    exec(_doc_block("python", "def verify_vinr_signature"), namespace)
    secret = new_secret()
    cases = _cases(secret)
    assert [namespace["verify_vinr_signature"](body, header, secret) for body, header, _ in cases] == [
        ok for _, _, ok in cases]


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js")
def test_the_node_example_in_the_docs_verifies_our_deliveries() -> None:
    secret = new_secret()
    cases = _cases(secret)
    script = _doc_block("js", "function verifyVinrSignature") + """
const cases = JSON.parse(require("node:fs").readFileSync(0, "utf8"));
console.log(JSON.stringify(cases.map(([body, header]) =>
  verifyVinrSignature(Buffer.from(body, "base64"), header, process.argv[1]))));
"""
    stdin = json.dumps([[base64.b64encode(body).decode(), header] for body, header, _ in cases])
    run = subprocess.run(["node", "-e", script, secret], input=stdin, capture_output=True, text=True, timeout=30,
                         check=True)
    assert json.loads(run.stdout) == [ok for _, _, ok in cases]
