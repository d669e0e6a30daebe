from __future__ import annotations

import subprocess
import sys
from typing import Any

from app import clock, processes
from app.idempotency import service as idempotency
from app.idempotency.models import IdempotencyKey


def test_same_key_same_body_replays_byte_for_byte(api: Any) -> None:
    first = api.post("/v1/customers", {"name": "Once"}, headers={"Idempotency-Key": "k1"})
    second = api.post("/v1/customers", {"name": "Once"}, headers={"Idempotency-Key": "k1"})
    assert first.status_code == second.status_code == 200
    assert second.get_data() == first.get_data()
    assert second.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert len(api.ok("GET", "/v1/customers")["data"]) == 1


def test_same_key_different_body_is_an_idempotency_error(api: Any) -> None:
    api.post("/v1/customers", {"name": "A"}, headers={"Idempotency-Key": "k2"})
    response = api.post("/v1/customers", {"name": "B"}, headers={"Idempotency-Key": "k2"})
    assert response.status_code == 400
    assert response.get_json()["error"]["type"] == "idempotency_error"
    assert [c["name"] for c in api.ok("GET", "/v1/customers")["data"]] == ["A"]


def test_client_errors_are_replayed_too(api: Any) -> None:
    first = api.post("/v1/customers", {"email": "nope"}, headers={"Idempotency-Key": "k3"})
    second = api.post("/v1/customers", {"email": "nope"}, headers={"Idempotency-Key": "k3"})
    assert first.status_code == second.status_code == 400
    assert first.get_data() == second.get_data() and second.headers["Idempotent-Replayed"] == "true"


def test_a_refusal_of_the_objects_state_is_replayed_not_run_again(api: Any, customer: dict[str, Any]) -> None:
    draft = api.ok("POST", "/v1/invoices", {"customer": customer["id"]})
    api.ok("POST", f"/v1/invoices/{draft['id']}/lines", {"unit_amount": 1000})
    first = api.post(f"/v1/invoices/{draft['id']}/void", {}, headers={"Idempotency-Key": "void-1"})
    assert first.status_code == 409 and first.get_json()["error"]["code"] == "invoice_unexpected_status"
    api.ok("POST", f"/v1/invoices/{draft['id']}/finalize", {"auto_advance": False})
    again = api.post(f"/v1/invoices/{draft['id']}/void", {}, headers={"Idempotency-Key": "void-1"})
    assert again.status_code == 409 and again.get_data() == first.get_data()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert api.ok("GET", f"/v1/invoices/{draft['id']}")["status"] == "open"


def test_a_refusal_because_a_payment_was_under_way_gives_the_key_back(api: Any, customer: dict[str, Any],
                                                                     db_session: Any) -> None:
    from app.invoices.models import Invoice

    draft = api.ok("POST", "/v1/invoices", {"customer": customer["id"]})
    api.ok("POST", f"/v1/invoices/{draft['id']}/lines", {"unit_amount": 1000})
    api.ok("POST", f"/v1/invoices/{draft['id']}/finalize", {"auto_advance": False})
    invoice = db_session.get(Invoice, draft["id"])
    invoice.collecting_payment_id = "pay_under_way"  # as while another request charges it
    db_session.flush()
    body = {"paid_out_of_band": True}
    refused = api.post(f"/v1/invoices/{draft['id']}/pay", body, headers={"Idempotency-Key": "pay-1"})
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "payment_in_progress"
    invoice.collecting_payment_id = None  # that collection ended without paying it
    db_session.flush()
    retried = api.post(f"/v1/invoices/{draft['id']}/pay", body, headers={"Idempotency-Key": "pay-1"})
    assert retried.status_code == 200 and retried.get_json()["status"] == "paid"
    assert "Idempotent-Replayed" not in retried.headers


def request_hash(app: Any, body: bytes) -> str:
    return idempotency.request_hash(app.config["SECRET_KEY"], "POST", "/v1/customers", body)


def test_a_request_still_in_flight_answers_409(app: Any, api: Any, merchant: Any, db_session: Any) -> None:
    db_session.add(IdempotencyKey(account_id=merchant.account_id, livemode=False, key="busy",
                                  request_hash="x" * 64, created=clock.now(), locked_at=clock.now()))
    db_session.flush()
    response = api.post("/v1/customers", {"name": "A"}, headers={"Idempotency-Key": "busy"})
    # The body differs from the claimed request's hash: a mismatch is reported first.
    assert response.status_code == 400
    body = b'{"name":"A"}'
    row = db_session.get(IdempotencyKey, (merchant.account_id, False, "busy"))
    row.request_hash = request_hash(app, body)
    db_session.flush()
    response = api.client.post("/v1/customers", data=body, content_type="application/json",
                               headers={"X-Api-Key": api.key, "Idempotency-Key": "busy"})
    assert response.status_code == 409
    assert response.get_json()["error"]["type"] == "idempotency_error"
    assert response.headers["Retry-After"] == "1"
    assert api.ok("GET", "/v1/customers")["data"] == []


def ended_process() -> str:
    """The identity of a process of this machine that has run and ended."""
    return subprocess.run([sys.executable, "-c", "from app import processes; print(processes.identity())"],
                          capture_output=True, text=True, check=True).stdout.strip()


def claimed(app: Any, merchant: Any, db_session: Any, key: str, body: bytes, holder: str | None) -> None:
    db_session.add(IdempotencyKey(account_id=merchant.account_id, livemode=False, key=key,
                                  request_hash=request_hash(app, body), created=clock.now(),
                                  locked_at=clock.now(), holder=holder))
    db_session.flush()


def test_the_key_of_a_process_killed_mid_request_is_taken_over_at_once(app: Any, api: Any, merchant: Any,
                                                                       db_session: Any) -> None:
    body = b'{"name":"Survivor"}'
    claimed(app, merchant, db_session, "killed", body, ended_process() + "#1a2b3c4d")
    response = api.client.post("/v1/customers", data=body, content_type="application/json",
                               headers={"X-Api-Key": api.key, "Idempotency-Key": "killed"})
    assert response.status_code == 200 and response.get_json()["name"] == "Survivor"
    replayed = api.client.post("/v1/customers", data=body, content_type="application/json",
                               headers={"X-Api-Key": api.key, "Idempotency-Key": "killed"})
    assert replayed.get_data() == response.get_data() and replayed.headers["Idempotent-Replayed"] == "true"
    assert len(api.ok("GET", "/v1/customers")["data"]) == 1


def test_the_key_of_a_running_process_or_of_another_machine_waits(app: Any, api: Any, merchant: Any,
                                                                  db_session: Any) -> None:
    body = b'{"name":"Patient"}'
    running = processes.identity()
    assert running is not None
    for key, holder in (("alive", running + "#00000000"), ("elsewhere", "another-boot/pid:[1]/4242/99#00000000")):
        claimed(app, merchant, db_session, key, body, holder)
        response = api.client.post("/v1/customers", data=body, content_type="application/json",
                                   headers={"X-Api-Key": api.key, "Idempotency-Key": key})
        assert response.status_code == 409 and response.headers["Retry-After"] == "1"
        assert response.get_json()["error"]["code"] == "idempotency_key_in_use"
    assert api.ok("GET", "/v1/customers")["data"] == []


def test_an_abandoned_claim_can_be_retried(app: Any, api: Any, merchant: Any, db_session: Any) -> None:
    body = b'{"name":"Retry"}'
    db_session.add(IdempotencyKey(
        account_id=merchant.account_id, livemode=False, key="crashed",
        request_hash=request_hash(app, body),
        created=clock.now() - 600, locked_at=clock.now() - 600))
    db_session.flush()
    response = api.client.post("/v1/customers", data=body, content_type="application/json",
                               headers={"X-Api-Key": api.key, "Idempotency-Key": "crashed"})
    assert response.status_code == 200 and response.get_json()["name"] == "Retry"


def test_keys_are_scoped_to_account_and_mode(merchant: Any, other_merchant: Any) -> None:
    a = merchant.test.post("/v1/customers", {"name": "x"}, headers={"Idempotency-Key": "shared"})
    b = merchant.live.post("/v1/customers", {"name": "x"}, headers={"Idempotency-Key": "shared"})
    c = other_merchant.test.post("/v1/customers", {"name": "x"}, headers={"Idempotency-Key": "shared"})
    ids = {r.get_json()["id"] for r in (a, b, c)}
    assert len(ids) == 3 and "Idempotent-Replayed" not in c.headers


def test_an_expired_key_runs_again(api: Any, merchant: Any, db_session: Any) -> None:
    first = api.post("/v1/customers", {"name": "Old"}, headers={"Idempotency-Key": "old"})
    row = db_session.get(IdempotencyKey, (merchant.account_id, False, "old"))
    row.created = clock.now() - 25 * 3600
    db_session.flush()
    second = api.post("/v1/customers", {"name": "Old"}, headers={"Idempotency-Key": "old"})
    assert second.get_json()["id"] != first.get_json()["id"]
    assert "Idempotent-Replayed" not in second.headers


def test_racing_requests_with_one_key_create_one_object(committed_app: Any) -> None:
    """Ten concurrent POSTs with the same key and body: one runs, the others
    replay it byte for byte or are told it is still in flight (409)."""
    import threading

    from app.accounts.service import create_merchant
    from app.extensions import db

    with committed_app.app_context():
        new = create_merchant(db.session, "Idem Race", "IR")
        db.session.commit()
    headers = {"X-Api-Key": new.test_secret_key, "Idempotency-Key": "race-1"}
    barrier = threading.Barrier(10)
    results: list[tuple[int, bytes]] = []

    def post() -> None:
        client = committed_app.test_client()
        barrier.wait()
        response = client.post("/v1/customers", json={"name": "Once only"}, headers=headers)
        results.append((response.status_code, response.get_data()))

    threads = [threading.Thread(target=post) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {status for status, _ in results} <= {200, 409}
    bodies = {body for status, body in results if status == 200}
    assert len(bodies) == 1  # every success is the same answer
    listed = committed_app.test_client().get("/v1/customers", headers={"X-Api-Key": new.test_secret_key})
    assert len(listed.get_json()["data"]) == 1
