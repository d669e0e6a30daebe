"""The README's run command, as a new user starts it: on another port, its hosted links
must point at that port (issue: VINR_PORT=5091 minted links on 5000)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

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
            except requests.ConnectionError:
                pass
        time.sleep(0.2)
    raise AssertionError(f"scripts/run did not come up:\n{log_path.read_text(errors='replace')[-3000:]}")
