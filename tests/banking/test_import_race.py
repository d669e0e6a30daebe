"""Concurrent imports of the same and of overlapping statements, on real connections that
commit (SPEC §12: nothing recorded or applied twice). On PostgreSQL the second insert waits
for the first's commit and then skips the rows it brought; SQLite runs writers one by one."""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask

from app.accounts.service import create_merchant
from app.extensions import db
from tests.banking.helpers import XML, entry, statement


def test_concurrent_imports_of_one_statement_and_an_overlapping_one(committed_app: Flask) -> None:
    with committed_app.app_context():
        new = create_merchant(db.session, "Race Statements", "RACEST")
        db.session.commit()
    headers = {"X-Api-Key": new.test_secret_key}
    client = committed_app.test_client()
    cust = client.post("/v1/customers", json={"email": "race@example.com"}, headers=headers).get_json()
    inv = client.post("/v1/invoices", json={"customer": cust["id"]}, headers=headers).get_json()
    client.post(f"/v1/invoices/{inv['id']}/lines", json={"unit_amount": 100_000}, headers=headers)
    inv = client.post(f"/v1/invoices/{inv['id']}/finalize", json={"auto_advance": False}, headers=headers).get_json()
    paying = entry("100.00", f"Rechnung {inv['number']}", ref="PAY-1")
    bodies = ([statement([paying, *generated_entries(0, 50)])] * 4
              + [statement([paying, *generated_entries(30, 80)])] * 4)
    barrier = threading.Barrier(len(bodies))
    results: list[tuple[int, Any]] = []

    def send(body: bytes) -> None:
        own = committed_app.test_client()
        barrier.wait()
        response = own.post("/v1/bank_statements", data=body, headers={**headers, **XML})
        results.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=send, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [status for status, _ in results] == [200] * len(bodies), results
    assert sum(summary["created"] for _, summary in results) == 81  # PAY-1 and entries 0-79, each once
    assert sum(summary["matched"] for _, summary in results) == 1
    listed = client.get("/v1/payments", query_string={"invoice": inv["id"]}, headers=headers).get_json()["data"]
    assert [p["amount"] for p in listed] == [10_000]
    assert client.get(f"/v1/invoices/{inv['id']}", headers=headers).get_json()["amount_paid"] == 10_000


def generated_entries(start: int, stop: int) -> list[str]:
    return [entry("1.00", f"order {i}", ref=f"R{i:010d}") for i in range(start, stop)]

