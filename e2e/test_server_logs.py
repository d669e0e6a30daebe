"""SPEC §7: "The token never appears in a log line (redacted)" — with gunicorn's access log on,
as a production deployment runs it. A short-lived second gunicorn on the session's database.
The signed state of a card set-up's 3DS challenge is a credential too, and redacted alike."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import requests

from e2e.server import LiveServer, free_port, gunicorn
from e2e.support import ARTIFACTS, Api, hosted_path


def test_access_log_shows_neither_hosted_tokens_nor_api_keys(live_server: LiveServer, api: Api,
                                                             invoice: dict[str, Any]) -> None:
    port = free_port()
    env = {**live_server.env, "VINR_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    log_path = ARTIFACTS / "server-access-log.log"
    path = hosted_path(invoice)
    with gunicorn(env, port, log_path, "--access-logfile", "-", workers=1) as url:
        assert requests.get(url + path, timeout=30).status_code == 200
        assert requests.get(url + path + "/pdf", timeout=60).status_code == 200
        assert Api(url, api.key).invoice(invoice["id"])["id"] == invoice["id"]
        state = _start_card_setup_challenge(url + path)
    log = log_path.read_text(errors="replace")

    invoice_prefix, token = path.rsplit("/", 1)
    assert f"GET {invoice_prefix}/" in log, f"the hosted page's request was not logged at all:\n{log[-2000:]}"
    assert "/payment-method/authenticate/[redacted]" in log, "the 3DS set-up challenge was not logged"
    secrets = (("the hosted-link token", token), ("the secret API key", api.key),
               ("the 3DS set-up state", state), ("a logging error", "--- Logging error ---"))
    problems = [what for what, leaked in secrets if leaked in log]
    # (The log itself is not repeated here: it holds the secret it leaked.)
    first_bad = next((line for line in log.splitlines() if any(leaked in line for _, leaked in secrets)), "")
    for _, leaked in secrets:
        first_bad = first_bad.replace(leaked, "<secret>")
    assert not problems, f"{log_path} shows {', '.join(problems)}; first such line starts: {first_bad[:90]!r}"


def _start_card_setup_challenge(page_url: str) -> str:
    """"Update payment method" with the 3DS test card, as a browser without JavaScript does;
    returns the signed state in the challenge's path, after opening the challenge."""
    browser = requests.Session()
    form = browser.get(page_url + "/payment-method", timeout=30)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form.text)
    assert csrf, form.text[:500]
    answer = browser.post(page_url + "/payment-method", timeout=30, allow_redirects=False, data={
        "csrf_token": csrf[1], "card_number": "4000000000003220", "expiry": "11/39", "cvc": "321", "name": "Jenny"})
    assert answer.status_code == 303 and "/authenticate/" in answer.headers["Location"], answer.status_code
    challenge = urlsplit(answer.headers["Location"]).path
    assert browser.get(page_url.split("/i/", 1)[0] + challenge, timeout=30).status_code == 200
    return challenge.rsplit("/", 1)[1]
