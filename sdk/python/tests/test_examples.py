"""The guides' flows in ``examples/`` run unchanged against a live server and worker,
and print what the guides promise; the webhook receiver sees each event and acts once."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from live import ROOT, Server, free_port, process, worker

from vinr import Vinr

EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="module")
def merchant_env(server: Server) -> dict[str, str]:
    """What a merchant exports before running an example: their key and the server's URL."""
    return {**os.environ, "VINR_API_KEY": server.merchant("Examples GmbH"), "VINR_BASE_URL": server.url,
            "PYTHONUNBUFFERED": "1"}


def run(script: str, env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, str(EXAMPLES / script), *args], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def field(output: str, name: str) -> str:
    match = re.search(rf"^{name}: (.*)$", output, re.MULTILINE)
    assert match, f"no {name!r} line in:\n{output}"
    return match.group(1)


def test_send_an_invoice(merchant_env: dict[str, str], server: Server) -> None:
    out = run("send_invoice.py", merchant_env)
    assert field(out, "status") == "open"
    assert field(out, "total") == "196000 eur"
    url = field(out, "hosted_invoice_url")
    assert url.startswith(f"{server.url}/i/inv_")
    with Vinr(merchant_env["VINR_API_KEY"], base_url=server.url) as vinr:
        invoice = vinr.invoices.retrieve(field(out, "invoice").split()[0], expand=["customer"])
    assert invoice.customer.metadata["crm_id"] == "4711"
    assert [line.amount for line in invoice.lines] == [120000, 76000]
    assert invoice.collection_method == "send_invoice" and invoice.hosted_invoice_url == url


def test_create_an_invoice_directly(merchant_env: dict[str, str]) -> None:
    out = run("create_invoice_directly.py", merchant_env)
    assert re.search(r"^line: Workshop \(2 days\) 2 x 45000 = 90000 \(from ii_\w+\)$", out, re.MULTILINE)
    item, invoice = field(out, "invoice_item").split(" -> ")
    assert item.startswith("ii_") and invoice.startswith("inv_")
    assert field(out, "status") == "open" and field(out, "total") == "90000 eur"


def test_finalize_and_collect_pays(merchant_env: dict[str, str]) -> None:
    out = run("finalize_and_collect.py", merchant_env)
    assert field(out, "status") == "paid"
    assert field(out, "payment").startswith("pay_")


def test_finalize_and_collect_shows_a_decline(merchant_env: dict[str, str]) -> None:
    out = run("finalize_and_collect.py", merchant_env, "4000000000009995")
    assert field(out, "status") == "open"
    assert field(out, "declined") == "card_declined insufficient_funds"
    assert field(out, "hosted_invoice_url").startswith("http")


@contextmanager
def running_receiver(env: dict[str, str], log: Path) -> Iterator[None]:
    """examples/webhook_receiver.py running (it registers or reuses its own endpoint), until the block ends."""
    with process([sys.executable, str(EXAMPLES / "webhook_receiver.py")], env, log):
        wait_for(log, r"Running on http://127\.0\.0\.1")
        yield


@pytest.fixture()
def receiver(merchant_env: dict[str, str], server: Server, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """The receiver running and a worker delivering; its output and its URL."""
    log = tmp_path / "receiver.log"
    port = free_port()
    env = {**merchant_env, "PORT": str(port), "RECEIVER_DB": str(tmp_path / "events.sqlite3")}
    with running_receiver(env, log), worker(server):
        yield log, f"http://127.0.0.1:{port}/webhooks/vinr"


def wait_for(log: Path, pattern: str, timeout: float = 30) -> re.Match[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        match = re.search(pattern, log.read_text(errors="replace"), re.MULTILINE)
        if match:
            return match
        time.sleep(0.2)
    raise AssertionError(f"no {pattern!r} within {timeout}s in the receiver's output:\n{log.read_text()}")


def test_fulfil_from_the_webhook_once_per_event(receiver: tuple[Path, str], merchant_env: dict[str, str],
                                               server: Server) -> None:
    receiver_log, url = receiver
    endpoint = wait_for(receiver_log, r"^registered: (we_\w+) ").group(1)
    paid = field(run("finalize_and_collect.py", merchant_env), "invoice").split()[0]
    failed = field(run("finalize_and_collect.py", merchant_env, "4000000000000002"), "invoice").split()[0]

    wait_for(receiver_log, rf"^fulfilled: {paid} \S+ paid 49000 eur$")
    wait_for(receiver_log, rf"^payment failed: {failed} card_declined -> http")

    # VINR delivers at least once: the same event again is recognized, not fulfilled twice.
    with Vinr(merchant_env["VINR_API_KEY"], base_url=server.url) as vinr:
        event = next(e for e in vinr.events.list(type="invoice.paid").auto_paging_iter() if e.data.id == paid)
        vinr.webhook_endpoints.resend(endpoint, event=event.id)
    wait_for(receiver_log, rf"^duplicate: {event.id} invoice.paid$")
    assert receiver_log.read_text().count(f"fulfilled: {paid} ") == 1
    assert "refused:" not in receiver_log.read_text()

    # A delivery VINR did not sign is refused, and nothing is done for it.
    forged = httpx.post(url, content=json.dumps(event.to_dict()).encode(), timeout=10,
                        headers={"x-vinr-signature": f"t={int(time.time())},v1={'0' * 64}"})
    assert forged.status_code == 400
    wait_for(receiver_log, r"^refused: no v1 signature")
    assert receiver_log.read_text().count(f"fulfilled: {paid} ") == 1

    # Whatever an unauthenticated sender puts in a header is a refusal, never a server error.
    for headers in ({"x-vinr-signature": f"t={'9' * 5000},v1={'0' * 64}"},
                    {"webhook-id": event.id, "webhook-timestamp": "9" * 5000, "webhook-signature": "v1,AA=="}):
        assert httpx.post(url, content=b"{}", headers=headers, timeout=10).status_code == 400
    wait_for(receiver_log, r"^refused: malformed webhook-timestamp: '9+…' is not unix seconds$")
    assert "Traceback" not in receiver_log.read_text()


def test_a_restarted_receiver_rolls_its_endpoints_secret_instead_of_adding_one(
        merchant_env: dict[str, str], server: Server, tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/webhooks/vinr"
    env = {**merchant_env, "PORT": str(port), "RECEIVER_DB": str(tmp_path / "events.sqlite3")}
    with running_receiver(env, tmp_path / "first.log"):
        endpoint = wait_for(tmp_path / "first.log", rf"^registered: (we_\w+) {re.escape(url)}$").group(1)

    second = tmp_path / "second.log"
    with running_receiver(env, second), worker(server):
        wait_for(second, rf"^reused: {endpoint} {re.escape(url)} \(secret rolled\)$")
        with Vinr(merchant_env["VINR_API_KEY"], base_url=server.url) as vinr:
            assert [e.id for e in vinr.webhook_endpoints.list(limit=100).auto_paging_iter() if e.url == url] == [
                endpoint]
        # What VINR signs now, the restarted process verifies with the secret it rolled.
        paid = field(run("finalize_and_collect.py", merchant_env), "invoice").split()[0]
        wait_for(second, rf"^fulfilled: {paid} \S+ paid 49000 eur$")
    assert "refused:" not in second.read_text()
