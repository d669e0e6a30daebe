"""Results: attribute access, mapping behaviour, unknown fields kept, nested objects typed."""

from __future__ import annotations

import copy
import pickle

import pytest

import vinr
from vinr.objects import construct

INVOICE = {
    "id": "inv_1", "object": "invoice", "status": "open", "amount_due": 196000, "metadata": {"order": "42"},
    "customer": {"id": "cust_1", "object": "customer", "email": "jenny@example.com"},
    "lines": {"object": "list", "has_more": False, "url": "/v1/invoices/inv_1/lines", "data": [
        {"id": "il_1", "object": "line_item", "amount": 120000},
        {"id": "il_2", "object": "line_item", "amount": 76000}]},
    "status_transitions": {"finalized_at": 1800000000, "paid_at": None},
    "a_field_from_a_newer_server": {"nested": [1, 2]},
}


def test_fields_are_attributes_and_mapping_items() -> None:
    invoice = vinr.Invoice(INVOICE)
    assert invoice.amount_due == invoice["amount_due"] == 196000
    assert invoice.get("number") is None and "status" in invoice
    assert dict(invoice)["status"] == "open"
    assert invoice.metadata.order == invoice.metadata["order"] == "42"
    assert invoice.status_transitions.finalized_at == 1800000000


def test_unknown_fields_are_kept() -> None:
    invoice = vinr.Invoice(INVOICE)
    assert invoice.a_field_from_a_newer_server.nested == [1, 2]
    assert invoice.to_dict() == INVOICE


def test_nested_objects_get_their_class_by_object_name() -> None:
    invoice = vinr.Invoice(INVOICE)
    assert isinstance(invoice.customer, vinr.Customer) and invoice.customer.email == "jenny@example.com"
    assert isinstance(invoice.lines, vinr.ListObject)
    assert [line.id for line in invoice.lines] == ["il_1", "il_2"]
    assert isinstance(invoice.lines[0], vinr.LineItem) and invoice.lines[-1].amount == 76000
    assert len(invoice.lines) == 2 and invoice.lines["has_more"] is False
    assert isinstance(construct({"object": "something_new", "x": 1}), vinr.VinrObject)


def test_a_missing_field_is_an_attribute_error_naming_it_unless_it_may_be_null() -> None:
    with pytest.raises(AttributeError, match="'amount_due'"):
        _ = vinr.Invoice({"id": "inv_1"}).amount_due
    assert vinr.Invoice({"id": "inv_1"}).last_sent_at is None  # declared "int | None"
    assert "hosted_invoice_url" not in vinr.Invoice({"id": "inv_1"})
    with pytest.raises(KeyError):
        vinr.Invoice({"id": "inv_1"})["hosted_invoice_url"]


def test_results_are_read_only() -> None:
    invoice = vinr.Invoice(INVOICE)
    with pytest.raises(AttributeError, match="read-only"):
        invoice.status = "paid"  # type: ignore[misc]
    with pytest.raises(TypeError):
        invoice["status"] = "paid"  # type: ignore[index]


def test_results_copy_and_pickle_whole() -> None:
    invoice = vinr.Invoice(INVOICE)
    for twin in (copy.deepcopy(invoice), pickle.loads(pickle.dumps(invoice))):
        assert type(twin) is vinr.Invoice and twin == invoice and twin.customer.id == "cust_1"


def test_repr_names_the_class_and_id() -> None:
    assert repr(vinr.Customer({"id": "cust_1", "object": "customer"})).startswith("<Customer id=cust_1 ")
    assert "amount_due" in dir(vinr.Invoice(INVOICE))


def test_metadata_is_the_merchants_data_whatever_its_keys() -> None:
    customer = vinr.Customer({"id": "cust_1", "object": "customer",
                              "metadata": {"object": "list", "sku": "A1"}})
    assert type(customer.metadata) is vinr.VinrObject
    assert customer.metadata.sku == "A1" and dict(customer.metadata) == {"object": "list", "sku": "A1"}
    invoice = vinr.Invoice({**INVOICE, "metadata": {"object": "invoice", "order": "42"}})
    assert type(invoice.metadata) is vinr.VinrObject and invoice.metadata.order == "42"


def test_metadata_is_plain_at_any_depth() -> None:
    event = vinr.Event({"id": "evt_1", "object": "event", "data": {**INVOICE, "lines": {
        "object": "list", "has_more": False, "url": "/v1/invoices/inv_1/lines",
        "data": [{"id": "il_1", "object": "line_item", "metadata": {"object": "customer", "sku": "A1"}}]}}})
    line = event.data.lines[0]
    assert isinstance(event.data, vinr.Invoice) and isinstance(line, vinr.LineItem)
    assert type(line.metadata) is vinr.VinrObject and line.metadata.sku == "A1"
    assert pickle.loads(pickle.dumps(event)) == event


def test_only_an_object_list_with_a_data_array_is_a_list() -> None:
    not_a_list = construct({"object": "list", "data": "a string", "sku": "A1"})
    assert type(not_a_list) is vinr.VinrObject and not_a_list.sku == "A1"
    assert isinstance(construct({"object": "list", "data": []}), vinr.ListObject)


def test_a_nested_list_points_to_its_list_call_instead_of_paging() -> None:
    lines = vinr.Invoice({**INVOICE, "lines": {**INVOICE["lines"], "has_more": True}}).lines  # type: ignore[dict-item]
    with pytest.raises(AttributeError, match=r"vinr\.invoices\.list_lines\(invoice\.id\)\.auto_paging_iter\(\)"):
        lines.auto_paging_iter()
    with pytest.raises(AttributeError, match="/v1/invoices/inv_1/lines"):
        lines.next_page()
