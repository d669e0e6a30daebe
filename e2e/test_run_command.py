"""The README's run command, as a new user starts it: on another port, its hosted links
must point at that port (issue: VINR_PORT=5091 minted links on 5000)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from e2e.server import free_port
from e2e.support import ARTIFACTS, ROOT


def test_run_on_another_port_mints_hosted_links_on_that_port() -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VINR_")}
    env.update(VINR_PORT=str(port), VINR_HOST="127.0.0.1")
    log_path = ARTIFACTS / "run-command.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen([str(ROOT / "scripts" / "run")], cwd=ROOT, env=env,  # noqa: S603
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        base, key = _started(port, process, log_path)
        headers = {"X-Api-Key": key}
        customer = requests.post(f"{base}/v1/customers", json={"email": "jenny@example.com"}, headers=headers,
                                 timeout=30).json()
        inv = requests.post(f"{base}/v1/invoices", json={"customer": customer["id"], "days_until_due": 14,
                                                         "collection_method": "send_invoice"},
                            headers=headers, timeout=30).json()
        requests.post(f"{base}/v1/invoices/{inv['id']}/lines", json={"unit_amount": 1000}, headers=headers,
                      timeout=30)
        inv = requests.post(f"{base}/v1/invoices/{inv['id']}/finalize", headers=headers, timeout=30).json()
        assert inv["hosted_invoice_url"].startswith(f"http://127.0.0.1:{port}/i/"), inv["hosted_invoice_url"]
        assert requests.get(inv["hosted_invoice_url"], timeout=30).status_code == 200
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def _started(port: int, process: subprocess.Popen[bytes], log_path: Path) -> tuple[str, str]:
    """Wait for the printed demo key and a listening server; return the base URL and the key."""
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120  # the command first runs the set-up (installed already: quick)
    while time.monotonic() < deadline:
        assert process.poll() is None, f"scripts/run exited:\n{log_path.read_text(errors='replace')[-3000:]}"
        found = re.search(r"Demo merchant test key: (sk_test_\S+)", log_path.read_text(errors="replace"))
        if found:
            try:
                requests.get(f"{base}/v1/openapi.json", timeout=2)
                return base, found[1]
            except (requests.ConnectionError, requests.Timeout):
                pass  # not listening yet, or gunicorn listens while its workers still load the app
        time.sleep(0.2)
    raise AssertionError(f"scripts/run did not come up:\n{log_path.read_text(errors='replace')[-3000:]}")


def test_the_seed_flows_over_time_on_the_embedded_default_with_its_worker() -> None:
    """SPEC §5 as a merchant watches it on ``./scripts/run`` (SQLite, web server and worker):
    send → emailed (the local outbox) → paid → receipt; auto-finalize after an hour of test
    clock; dunning tries, then uncollectible. The worker acts within seconds of each move."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VINR_")}
    env.update(VINR_PORT=str(port), VINR_HOST="127.0.0.1")
    log_path = ARTIFACTS / "run-command-flows.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen([str(ROOT / "scripts" / "run")], cwd=ROOT, env=env,  # noqa: S603
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        base, key = _started(port, process, log_path)
        api = _Api(base, key)
        good, declined = api.customer("4242424242424242"), api.customer("4000000000000002")

        sent = api.finalized(api.draft(good, collection_method="send_invoice", days_until_due=14))
        api.post(f"/v1/invoices/{sent['id']}/send")
        _eventually(lambda: api.emails_sent(sent["id"]) == ["invoice"], "email the invoice")
        assert api.post(f"/v1/invoices/{sent['id']}/pay")["status"] == "paid"
        _eventually(lambda: api.emails_sent(sent["id"]) == ["invoice", "receipt"], "email the receipt")

        auto = api.draft(good, auto_advance=True)
        dunned = api.finalized(api.draft(declined))
        assert dunned["attempt_count"] == 1 and dunned["next_payment_attempt"]
        api.post("/v1/test_helpers/advance_clock", {"seconds": 3601})
        _eventually(lambda: api.get(f"/v1/invoices/{auto['id']}")["status"] == "paid", "auto-finalize and charge")
        for tries, days in ((2, 3), (3, 5), (4, 7)):
            api.post("/v1/test_helpers/advance_clock", {"seconds": days * 86400})
            _eventually(lambda n=tries: api.get(f"/v1/invoices/{dunned['id']}")["attempt_count"] == n,
                        f"make dunning try {tries}")
        assert api.get(f"/v1/invoices/{dunned['id']}")["status"] == "uncollectible"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


class _Api:
    def __init__(self, base: str, key: str) -> None:
        self.base, self.headers = base, {"X-Api-Key": key}

    def get(self, path: str, **params: str) -> dict[str, Any]:
        response = requests.get(f"{self.base}{path}", params=params, headers=self.headers, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = requests.post(f"{self.base}{path}", json=body or {}, headers=self.headers, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def customer(self, card: str) -> dict[str, Any]:
        customer = self.post("/v1/customers", {"email": f"flows-{card[-4:]}@example.com"})
        self.post(f"/v1/customers/{customer['id']}/payment_methods",
                  {"card": {"number": card, "exp_month": 12, "exp_year": 2040, "cvc": "123"}, "set_default": True})
        return customer

    def draft(self, customer: dict[str, Any], **fields: Any) -> dict[str, Any]:
        invoice = self.post("/v1/invoices", {"customer": customer["id"], **fields})
        self.post(f"/v1/invoices/{invoice['id']}/lines", {"description": "Design", "unit_amount": 120000})
        return invoice

    def finalized(self, invoice: dict[str, Any]) -> dict[str, Any]:
        return self.post(f"/v1/invoices/{invoice['id']}/finalize")

    def emails_sent(self, invoice_id: str) -> list[str]:
        events = self.get("/v1/events", type="email.sent", limit="100")["data"]
        return [e["data"]["kind"] for e in reversed(events) if e["data"]["invoice"] == invoice_id]


def _eventually(check: Callable[[], bool], what: str, within: float = 20) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, f"the worker of scripts/run did not {what} within {within} s"
        time.sleep(0.25)
