"""SPEC §7: "The token never appears in a log line (redacted)" — with gunicorn's access log on,
as a production deployment runs it. A short-lived second gunicorn on the session's database."""

from __future__ import annotations

from typing import Any

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
    log = log_path.read_text(errors="replace")

    invoice_prefix, token = path.rsplit("/", 1)
    assert f"GET {invoice_prefix}/" in log, f"the hosted page's request was not logged at all:\n{log[-2000:]}"
    problems = [what for what, leaked in (("the hosted-link token", token), ("the secret API key", api.key),
                                          ("a logging error", "--- Logging error ---")) if leaked in log]
    # (The log itself is not repeated here: it holds the secret it leaked.)
    first_bad = next((line for line in log.splitlines() if token in line or api.key in line or "Logging error" in line),
                     "")
    assert not problems, (f"{log_path} shows {', '.join(problems)}; first such line starts: "
                          f"{first_bad[:90].replace(token, '<token>').replace(api.key, '<key>')!r}")
