from __future__ import annotations

import http.client
import json
import threading
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from werkzeug.serving import make_server

from app.accounts.service import create_merchant
from app.customers.models import Customer
from app.extensions import db


def test_list_object_shape_and_newest_first(api: Any) -> None:
    ids = [api.ok("POST", "/v1/customers", {"name": f"c{i}"})["id"] for i in range(3)]
    page = api.ok("GET", "/v1/customers")
    assert page["object"] == "list" and page["url"] == "/v1/customers" and page["has_more"] is False
    assert [c["id"] for c in page["data"]] == list(reversed(ids))


def test_cursor_pagination_walks_every_object_once(api: Any) -> None:
    ids = [api.ok("POST", "/v1/customers", {"name": f"c{i}"})["id"] for i in range(7)]
    seen, cursor = [], None
    while True:
        query = {"limit": 3, **({"starting_after": cursor} if cursor else {})}
        page = api.ok("GET", "/v1/customers", query_string=query)
        seen += [c["id"] for c in page["data"]]
        if not page["has_more"]:
            break
        cursor = page["data"][-1]["id"]
    assert seen == list(reversed(ids))
    back = api.ok("GET", "/v1/customers", query_string={"limit": 2, "ending_before": ids[2]})
    assert [c["id"] for c in back["data"]] == [ids[4], ids[3]] and back["has_more"] is True


@pytest.mark.parametrize("limit", ["0", "101", "ten"])
def test_limit_out_of_range_names_limit(api: Any, limit: str) -> None:
    response = api.get("/v1/customers", query_string={"limit": limit})
    assert response.status_code == 400
    assert response.get_json()["error"]["param"] == "limit"


def test_unknown_cursor_is_a_400_naming_it(api: Any) -> None:
    response = api.get("/v1/customers", query_string={"starting_after": "cust_nope"})
    assert response.status_code == 400 and response.get_json()["error"]["param"] == "starting_after"


def test_unknown_body_parameter_is_rejected_with_param(api: Any) -> None:
    response = api.post("/v1/customers", {"name": "x", "nmae": "typo"})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == "nmae"
    assert api.ok("GET", "/v1/customers")["data"] == []


def test_unknown_nested_and_query_parameters_are_rejected(api: Any) -> None:
    nested = api.post("/v1/customers", {"address": {"country": "DE", "zip": "1"}})
    assert nested.status_code == 400 and nested.get_json()["error"]["param"] == "address[zip]"
    query = api.get("/v1/customers", query_string={"colour": "red"})
    assert query.status_code == 400 and query.get_json()["error"]["param"] == "colour"


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"text"', b'{"name": NaN}'])
def test_body_that_is_not_a_json_object_is_400(api: Any, body: bytes) -> None:
    response = api.client.post("/v1/customers", data=body, content_type="application/json",
                               headers={"X-Api-Key": api.key})
    assert response.status_code == 400
    assert response.get_json()["error"]["type"] == "invalid_request_error"


def test_empty_body_is_an_empty_object(api: Any, customer: dict[str, Any]) -> None:
    inv = api.ok("POST", "/v1/invoices", {"customer": customer["id"]})
    response = api.client.post(f"/v1/invoices/{inv['id']}/finalize", headers={"X-Api-Key": api.key})
    assert response.status_code == 200 and response.get_json()["status"] in ("open", "paid")


def test_body_over_one_mebibyte_is_413(api: Any) -> None:
    body = json.dumps({"name": "x" * (1024 * 1024)}).encode()
    response = api.client.post("/v1/customers", data=body, content_type="application/json",
                               headers={"X-Api-Key": api.key})
    assert response.status_code == 413
    assert response.get_json()["error"]["type"] == "invalid_request_error"


def _chunked_post(port: int, path: str, key: str, body: bytes) -> tuple[int, dict[str, Any]]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", path, body=iter([body[i:i + 65536] for i in range(0, len(body), 65536)]),
                           headers={"X-Api-Key": key, "Content-Type": "application/json"}, encode_chunked=True)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_a_chunked_body_over_one_mebibyte_is_413_and_creates_nothing(committed_app: Flask) -> None:
    """Sent chunked, with no Content-Length, to a real server: refused whole, not cut at 1 MiB."""
    with committed_app.app_context():
        merchant = create_merchant(db.session, "Chunked Ltd", "CHUNK", "eur")
        db.session.commit()
    # JSON may end in whitespace: cut anywhere in the padding, the body would still be a valid customer.
    cut = json.dumps({"name": "Cut"}).encode()
    padded = cut + b" " * (1024 * 1024)
    server = make_server("127.0.0.1", 0, committed_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        status, body = _chunked_post(server.port, "/v1/customers", merchant.test_secret_key, padded)
        assert status == 413, body
        assert body["error"]["code"] == "body_too_large" and body["error"]["type"] == "invalid_request_error"
        status, body = _chunked_post(server.port, "/v1/customers", merchant.test_secret_key, cut)
        assert status == 200 and body["name"] == "Cut"  # a chunked body under the limit is read whole
    finally:
        server.shutdown()
        thread.join()
    with committed_app.app_context():
        names = db.session.scalars(sa.select(Customer.name).where(Customer.account_id == merchant.account.id))
        assert list(names) == ["Cut"]


def test_unknown_url_and_wrong_method_answer_json(api: Any) -> None:
    missing = api.get("/v1/nothing-here")
    assert missing.status_code == 404 and missing.get_json()["error"]["type"] == "invalid_request_error"
    wrong = api.client.put("/v1/customers", headers={"X-Api-Key": api.key})
    assert wrong.status_code == 405 and "error" in wrong.get_json()


def test_openapi_document_is_public_and_describes_the_api(client: Any) -> None:
    response = client.get("/v1/openapi.json")
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["openapi"].startswith("3.1")
    assert "post" in doc["paths"]["/v1/invoices/{invoice_id}/finalize"]
    create = doc["paths"]["/v1/customers"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    name = create["$ref"].rsplit("/", 1)[-1]
    schema = doc["components"]["schemas"][name]
    assert schema["additionalProperties"] is False and "email" in schema["properties"]
    params = {p["name"] for p in doc["paths"]["/v1/invoices"]["get"]["parameters"]}
    assert {"limit", "starting_after", "ending_before", "customer", "status", "created[gte]", "expand[]"} <= params


@pytest.mark.parametrize(("method", "path", "body", "param"), [
    ("POST", "/v1/customers", {"name": "Jen\u0000ny"}, "name"),
    ("POST", "/v1/customers", {"address": {"city": "Ber\u0000lin"}}, "address[city]"),
    ("POST", "/v1/customers", {"metadata": {"ke\u0000y": "v"}}, "metadata"),
    ("POST", "/v1/customers", {"preferred_locales": ["de", "e\u0000n"]}, "preferred_locales[1]"),
    ("GET", "/v1/invoices?customer=cust_%00", None, "customer"),
    ("GET", "/v1/customers/cust_%00", None, "customer_id"),
    ("POST", "/v1/invoices/inv_%00/finalize", {}, "invoice_id"),
])
def test_a_nul_character_anywhere_is_a_400_naming_it(api: Any, method: str, path: str, body: Any,
                                                     param: str) -> None:
    """PostgreSQL cannot store or even compare a NUL; SQLite could. Both refuse it, naming where."""
    before = api.ok("GET", "/v1/customers")["data"]
    response = api.get(path) if method == "GET" else api.post(path, body)
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert error["param"] == param and "NUL" in error["message"]
    assert api.ok("GET", "/v1/customers")["data"] == before


@pytest.mark.parametrize(("encoding", "name"), [
    ("utf-16", "Jen\u0000ny"), ("utf-16-le", "Jen\u0000ny"), ("utf-32", "Jen\u0000ny"),
    ("utf-16", "Jürgen"), ("utf-32-be", "Jürgen"), ("latin-1", "Jürgen"),
])
def test_a_body_not_in_utf8_is_refused_whatever_it_holds(api: Any, encoding: str, name: str) -> None:
    """JSON travels as UTF-8 (RFC 8259 §8.1). A body in another encoding is refused as a whole,
    so nothing it carries (a NUL, say) can slip past the checks made on UTF-8 text."""
    before = api.ok("GET", "/v1/customers")["data"]
    raw = json.dumps({"name": name}, ensure_ascii=False).encode(encoding)
    response = api.client.post("/v1/customers", data=raw, content_type="application/json",
                               headers={"X-Api-Key": api.key})
    assert response.status_code == 400, (name, response.get_json())
    error = response.get_json()["error"]
    assert error["code"] == "body_not_json" and "UTF-8" in error["message"]
    assert api.ok("GET", "/v1/customers")["data"] == before


@pytest.mark.parametrize("text", ["\ud800", "Jen\udfffny"])
def test_half_a_surrogate_pair_is_a_400_naming_it(api: Any, text: str) -> None:
    """JSON can escape half of a UTF-16 surrogate pair, which is no character at all: neither
    database can store it (they would fail the request with a 500)."""
    raw = json.dumps({"name": text}).encode()  # ascii, with the \\ud800 escape
    response = api.client.post("/v1/customers", data=raw, content_type="application/json",
                               headers={"X-Api-Key": api.key})
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert error["param"] == "name" and "surrogate" in error["message"]


BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"]


@pytest.mark.parametrize("control", BIDI)
@pytest.mark.parametrize("ensure_ascii", [True, False], ids=["escaped", "raw"])
def test_bidirectional_controls_in_displayed_text_are_a_400_naming_the_field(
        api: Any, customer: dict, control: str, ensure_ascii: bool) -> None:
    """They would reorder the text around them on the hosted page and in the PDF."""
    draft = api.ok("POST", "/v1/invoices", {"customer": customer["id"]})
    for path, body, param in [
        ("/v1/customers", {"name": f"Jenny {control}LTR-override"}, "name"),
        (f"/v1/invoices/{draft['id']}/lines", {"unit_amount": 100, "description": f"Design{control}"}, "description"),
        (f"/v1/invoices/{draft['id']}", {"footer": f"Thanks{control}"}, "footer"),
        ("/v1/account/branding", {"display_name": f"Acme{control}"}, "display_name"),
        ("/v1/customers", {"address": {"city": f"Ber{control}lin"}}, "address[city]"),
    ]:
        raw = json.dumps(body, ensure_ascii=ensure_ascii).encode()
        response = api.client.post(path, data=raw, content_type="application/json", headers={"X-Api-Key": api.key})
        assert response.status_code == 400, (path, response.get_json())
        error = response.get_json()["error"]
        assert error["param"] == param and "bidirectional" in error["message"]
    assert api.ok("GET", f"/v1/invoices/{draft['id']}")["lines"]["data"] == []
    assert [c["id"] for c in api.ok("GET", "/v1/customers")["data"]] == [customer["id"]]
    assert api.ok("GET", "/v1/account/branding")["display_name"] == "Acme GmbH"


def test_right_to_left_text_itself_is_accepted(api: Any) -> None:
    created = api.ok("POST", "/v1/customers", {"name": "שלום עולם", "address": {"city": "القاهرة"}})
    assert created["name"] == "שלום עולם"


def test_utf8_with_or_without_a_bom_and_escapes_is_accepted(api: Any) -> None:
    for raw in (json.dumps({"name": "Jürgen"}, ensure_ascii=False).encode(),
                "\ufeff".encode() + json.dumps({"name": "Jürgen"}, ensure_ascii=False).encode(),
                json.dumps({"name": "Jürgen \U0001F600"}).encode()):
        response = api.client.post("/v1/customers", data=raw, content_type="application/json",
                                   headers={"X-Api-Key": api.key})
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["name"].startswith("Jürgen")


def test_every_v1_answer_names_its_request(api: Any, client: Any) -> None:
    ok = api.get("/v1/customers")
    refused = client.get("/v1/customers")  # no key
    unknown = api.get("/v1/no_such_thing")
    ids = [r.headers.get("Request-Id") for r in (ok, refused, unknown)]
    assert all(i and i.startswith("req_") for i in ids), ids
    assert len(set(ids)) == 3
    assert "Request-Id" not in client.get("/i/inv_x/not-a-token").headers  # the hosted page is not the API


def test_paging_on_while_the_loop_changes_what_it_lists(api: Any) -> None:
    """The merchant's "finalize every draft" loop: the cursor is the last object of the page
    seen, which no longer matches status=draft once finalized (nor a deleted item)."""
    customer = api.ok("POST", "/v1/customers", {"email": "loop@example.com"})
    drafts = []
    for _ in range(5):
        draft = api.ok("POST", "/v1/invoices", {"customer": customer["id"]})
        api.ok("POST", f"/v1/invoices/{draft['id']}/lines", {"description": "Work", "unit_amount": 100})
        drafts.append(draft["id"])
    seen: list[str] = []
    query: dict[str, Any] = {"status": "draft", "limit": 2}
    while True:
        page = api.ok("GET", "/v1/invoices", query_string=query)
        for invoice in page["data"]:
            seen.append(invoice["id"])
            api.ok("POST", f"/v1/invoices/{invoice['id']}/finalize", {"auto_advance": False})
        if not page["has_more"]:
            break
        query["starting_after"] = page["data"][-1]["id"]
    assert sorted(seen) == sorted(drafts) and len(seen) == 5
    items = [api.ok("POST", "/v1/invoiceitems", {"customer": customer["id"], "currency": "eur", "amount": 100})["id"]
             for _ in range(3)]
    first = api.ok("GET", "/v1/invoiceitems", query_string={"limit": 1})["data"][0]["id"]
    api.ok("DELETE", f"/v1/invoiceitems/{first}")
    rest = api.ok("GET", "/v1/invoiceitems", query_string={"limit": 10, "starting_after": first})["data"]
    assert [item["id"] for item in rest] == list(reversed(items))[1:]


def test_a_cursor_of_another_account_is_still_unknown(api: Any, other_merchant: Any) -> None:
    theirs = other_merchant.test.ok("POST", "/v1/customers", {"email": "theirs@example.com"})
    response = api.get("/v1/customers", query_string={"starting_after": theirs["id"]})
    assert response.status_code == 400 and response.get_json()["error"]["param"] == "starting_after"
