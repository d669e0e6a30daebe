"""``GET /v1/openapi.json``: OpenAPI 3.1 generated from the very pydantic models
that validate requests (``routing.ENDPOINTS``), so it cannot drift from them."""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.json_schema import models_json_schema

from app.api import bp, objects
from app.api.routing import ENDPOINTS, endpoint

REF = "#/components/schemas/{model}"

ERRORS = {
    "400": "Invalid request: the error names the parameter",
    "401": "Missing or invalid API key",
    "404": "No such object (also for other accounts' ids)",
    "409": "The object's status does not allow this, or an idempotent request is in flight "
           "(idempotency_key_in_use, with Retry-After)",
    "413": "Request body over 1 MiB",
    "429": "Rate limited; see Retry-After",
    "500": "Something went wrong on our side; the request changed nothing (quote its Request-Id)",
    "503": "The database could not be reached, or the connection to it broke under the request "
           "(database_unavailable); retry after Retry-After, a POST with the same Idempotency-Key",
}
# Errors only some operations answer, by operation id.
ERRORS_OF = {
    "create_payment_method": {"402": "The card was refused (card_error: incorrect_number, expired_card, "
                                     "invalid_cvc, test_mode_live_card)"},
    "get_einvoice": {"409": "A draft (invoice_unexpected_status); the business profile the invoice was finalized "
                            "with lacks what the format needs (business_profile_incomplete), or the customer does "
                            "(customer_details_incomplete); XRechnung without a buyer reference "
                            "(buyer_reference_required); what EN 16931 cannot say: no lines, a currency with three "
                            "decimals, a line paying two VAT rates (einvoice_unsupported)"},
    "create_refund": {"400": "Invalid request: the error names the parameter; an amount above what is left of "
                             "the payment (amount_too_large), nothing left (payment_already_refunded)",
                      "409": "The payment did not complete (payment_unexpected_status), or an idempotent request "
                             "is in flight (idempotency_key_in_use, with Retry-After)",
                      "503": "Live mode has no card processor configured (processor_not_configured): nothing "
                             "was refunded; or the database could not be reached (database_unavailable): retry "
                             "after Retry-After with the same Idempotency-Key"},
    "get_credit_note_einvoice": {"409": "The business profile the invoice was finalized with lacks what the format "
                                        "needs (business_profile_incomplete), or the customer does "
                                        "(customer_details_incomplete); XRechnung without a buyer reference "
                                        "(buyer_reference_required); what EN 16931 cannot say (einvoice_unsupported)"},
    "import_bank_statement": {
        "400": "Invalid request: a body over 10 MiB (body_too_large), not XML (statement_not_xml), not a camt.053 "
               "or camt.054 message of a version read (statement_unsupported), not valid against its ISO 20022 "
               "schema (statement_invalid); the message names the problem, and nothing was imported",
        "413": "Request body over 10 MiB",
        "415": "Sent with a Content-Type other than application/xml or text/xml (unsupported_media_type)"},
    "apply_bank_transaction": {
        "400": "Invalid request: the invoice is in another currency (currency_mismatch)",
        "409": "The bank transaction is matched already (bank_transaction_unexpected_status), or the invoice is a "
               "draft or void (invoice_unexpected_status)"},
    "pay_invoice": {"503": "Live mode has no card processor configured (processor_not_configured): "
                           "nothing was charged or counted; or the database could not be reached or the connection to "
                           "it broke (database_unavailable): retry after Retry-After with the same Idempotency-Key"},
}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string", "maxLength": 255},
    "description": "Sent again with a retry of this request, it answers what the first one did instead of "
                   "doing it twice (kept 24 hours)",
}


@lru_cache(maxsize=1)
def build_document() -> dict[str, Any]:
    models: list[Any] = [(objects.Error, "serialization")]
    for ep in ENDPOINTS:
        if ep.body is not None:
            models.append((ep.body, "validation"))
        if ep.response is not None:
            models.append((ep.response, "serialization"))
    refs, defs = models_json_schema(models, ref_template=REF)
    schemas = _distinct_titles(defs.get("$defs", {}))
    paths: dict[str, dict[str, Any]] = {}
    for ep in ENDPOINTS:
        path = "/v1" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", ep.rule)
        op: dict[str, Any] = {"operationId": ep.name, "summary": ep.summary, "parameters": []}
        for name in ep.path_params:
            op["parameters"].append({"name": name, "in": "path", "required": True, "schema": {"type": "string"}})
        if ep.query is not None:
            schema = ep.query.model_json_schema(by_alias=True, ref_template=REF)
            required = set(schema.get("required", []))
            for name, prop in schema["properties"].items():
                op["parameters"].append({"name": name, "in": "query", "required": name in required,
                                         "schema": prop, **({"style": "form", "explode": True}
                                                           if name.endswith("[]") else {})})
        if ep.method == "POST" and ep.authenticated:
            op["parameters"].append(IDEMPOTENCY_KEY)
        if ep.consumes != "application/json":
            op["requestBody"] = {"required": True, "content": {
                ep.consumes: {"schema": {"type": "string", "format": "binary"}}}}
        if ep.body is not None:
            # A body is optional unless its model has a required field (no body reads as {}).
            required_fields = any(field.is_required() for field in ep.body.model_fields.values())
            op["requestBody"] = {"required": required_fields, "content": {
                "application/json": {"schema": refs[(ep.body, "validation")]}}}
        responses: dict[str, Any] = {"200": {"description": "OK"}}
        if ep.response is not None:
            responses["200"]["content"] = {"application/json": {"schema": refs[(ep.response, "serialization")]}}
        elif ep.produces != "application/json":
            # bytes: a document carries its own encoding (the XML declaration)
            responses["200"]["content"] = {ep.produces: {"schema": {"type": "string", "format": "binary"}}}
        if ep.authenticated:
            for code, text in sorted({**ERRORS, **ERRORS_OF.get(ep.name, {})}.items()):
                responses[code] = {"description": text, "content": {
                    "application/json": {"schema": refs[(objects.Error, "serialization")]}}}
            op["security"] = [{"apiKey": []}, {"bearer": []}]
        op["responses"] = responses
        paths.setdefault(path, {})[ep.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "VINR invoicing API", "version": "1",
                 "description": "Merchant API: customers, invoices, payments and events. "
                                "Amounts are integers in the currency's minor unit."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
        },
    }


def _distinct_titles(schemas: dict[str, Any]) -> dict[str, Any]:
    """Give schemas that share a title their component name as title.

    pydantic names two models of one name by mode (``Address-Input`` for the request
    body's ``customers.schemas.Address``, ``Address-Output`` for ``objects.Address``) but
    keeps both titles ``Address``; client generators name their classes by title, and
    openapi-python-client then drops every schema that refers to the duplicate
    (``CustomerObject``, ``InvoiceObject`` and their responses).
    """
    titles = Counter(schema.get("title") for schema in schemas.values())
    return {name: {**schema, "title": name} if titles[schema.get("title")] > 1 else schema
            for name, schema in schemas.items()}


class OpenAPIDocument(BaseModel):
    """The answer of ``GET /v1/openapi.json``, so that generated clients get a model for it too."""

    model_config = ConfigDict(extra="allow", title="OpenAPIDocument")

    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]
    components: dict[str, Any]


@endpoint(bp, "GET", "/openapi.json", authenticated=False, response=OpenAPIDocument,
          summary="This OpenAPI 3.1 document")
def openapi() -> dict[str, Any]:
    return build_document()
