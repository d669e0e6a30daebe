"""Merchants on other languages generate their client from ``/v1/openapi.json``: the
document must give a complete one, with every operation's request and response models.

Two generators, pinned: ``openapi-python-client`` (the ``test`` extra of sdk/python) and
``openapi-typescript`` with the TypeScript compiler (``package-lock.json`` here, installed
by ``scripts/setup`` with ``npm ci``). Each must run without a warning; then

* Python: every component schema is a model class, and each operation's module parses
  its 200 answer into the model of its response schema and takes its body's model (an
  operation that answers a document, such as the e-invoice XML, answers a ``File``: the
  generator is told to read ``application/xml`` as bytes, its ``content_type_overrides``);
* TypeScript: a file that states, for every operation, "the 200 JSON is exactly
  ``components["schemas"][<its schema>]``" (and the same for the body), and names every
  component schema, type-checks under ``tsc --strict``.

Run from the repository root: ``.venv/bin/python -m pytest sdk/openapi-check``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from openapi_python_client.strings import ClassName, PythonIdentifier

from app import create_app

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
NODE_BIN = HERE / "node_modules" / ".bin"


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The document exactly as the server serves it."""
    instance = tmp_path_factory.mktemp("instance")
    app = create_app(instance_path=str(instance), overrides={
        "DATABASE_URL": f"sqlite:///{instance / 'unused.sqlite3'}", "SECRET_KEY": "openapi-check-0123456789",
        "TESTING": True})
    response = app.test_client().get("/v1/openapi.json")
    assert response.status_code == 200
    doc: dict[str, Any] = response.get_json()
    return doc


@pytest.fixture(scope="module")
def document_path(document: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("openapi") / "openapi.json"
    path.write_text(json.dumps(document))
    return path


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, op) for path, item in document["paths"].items() for method, op in item.items()]


def ref_name(schema: dict[str, Any] | None) -> str | None:
    ref = (schema or {}).get("$ref")
    return ref.rsplit("/", 1)[1] if isinstance(ref, str) else None


def response_schema(op: dict[str, Any]) -> str | None:
    return ref_name(op["responses"]["200"].get("content", {}).get("application/json", {}).get("schema"))


def document_type(op: dict[str, Any]) -> str | None:
    """The media type of an operation whose 200 answer is a document (a string), not JSON."""
    content = op["responses"]["200"].get("content", {})
    found = [media for media, answer in content.items()
             if media != "application/json" and (answer.get("schema") or {}).get("type") == "string"]
    return found[0] if found else None


def body_schema(op: dict[str, Any]) -> str | None:
    return ref_name(op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema"))


def error_statuses(op: dict[str, Any]) -> list[str]:
    """The error answers an operation declares (each with the Error object)."""
    return [code for code, answer in op["responses"].items() if code != "200"
            and ref_name(answer.get("content", {}).get("application/json", {}).get("schema")) == "Error"]


# What a merchant's generated client must know to tell a refusal from an outage (SPEC §2, §3).
ERRORS_EVERYWHERE = {"400", "401", "404", "409", "413", "429", "500"}
ERRORS_OF = {("POST", "/v1/customers/{customer_id}/payment_methods"): {"402"},
             ("POST", "/v1/invoices/{invoice_id}/pay"): {"503"}}


def test_every_operation_declares_its_response_model(document: dict[str, Any]) -> None:
    missing = [f"{method} {path}" for method, path, op in operations(document)
               if response_schema(op) is None and document_type(op) is None]
    assert not missing, f"operations whose 200 answer has no schema: {missing}"


def test_every_operation_declares_the_errors_it_answers(document: dict[str, Any]) -> None:
    wrong = []
    for method, path, op in operations(document):
        if not op.get("security"):
            continue  # the document itself: no key, no errors of its own
        expected = ERRORS_EVERYWHERE | ERRORS_OF.get((method, path), set())
        if not expected <= set(error_statuses(op)):
            wrong.append(f"{method} {path}: lacks {sorted(expected - set(error_statuses(op)))}")
        if method == "POST" and not any(p["name"] == "Idempotency-Key" and p["in"] == "header"
                                        for p in op["parameters"]):
            wrong.append(f"{method} {path}: no Idempotency-Key header")
    assert not wrong, "\n".join(wrong)


def generated_output(command: list[str], cwd: Path) -> str:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{NODE_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,  # noqa: S603 - our tools
                          timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_openapi_python_client_generates_every_model_and_response(document: dict[str, Any], document_path: Path,
                                                                  tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"content_type_overrides": {"application/xml": "application/octet-stream"}}))
    out = generated_output([str(BIN / "openapi-python-client"), "generate", "--path", str(document_path),
                            "--meta", "none", "--output-path", "vinr_client", "--config", str(config)], tmp_path)
    # Anything but the one progress line is a warning: a dropped schema, an omitted response, …
    assert [line for line in out.splitlines() if line.strip()] == ["Generating vinr_client"], out
    package = tmp_path / "vinr_client"
    models = (package / "models" / "__init__.py").read_text()
    schemas = document["components"]["schemas"]
    absent = [name for name, schema in schemas.items()
              if not re.search(rf"\b{ClassName(schema.get('title', name), prefix='')}\b", models)]
    assert not absent, f"component schemas without a model: {absent}"
    wrong = []
    for method, path, op in operations(document):
        module = package / "api" / "default" / f"{PythonIdentifier(op['operationId'], prefix='')}.py"
        source = module.read_text() if module.exists() else ""
        if document_type(op) is not None:
            if not re.search(r"response_200 = File\(", source):
                wrong.append(f"{method} {path}: its 200 document is not a File")
        else:
            response = ClassName(schemas[response_schema(op)].get("title"), prefix="")  # type: ignore[index]
            if not re.search(rf"response_200 = {response}\.from_dict\(", source):
                wrong.append(f"{method} {path}: no {response} for its 200 answer")
        body = body_schema(op)
        if body is not None and not re.search(rf"body: {ClassName(schemas[body].get('title'), prefix='')}\b",
                                              source):
            wrong.append(f"{method} {path}: no {body} body model")
        error = ClassName(schemas["Error"].get("title", "Error"), prefix="")
        for code in error_statuses(op):
            if not re.search(rf"response_{code} = {error}\.from_dict\(", source):
                wrong.append(f"{method} {path}: its {code} answer is not parsed into {error}")
    assert not wrong, "\n".join(wrong)


def test_openapi_typescript_types_every_operation(document: dict[str, Any], document_path: Path,
                                                  tmp_path: Path) -> None:
    if not (NODE_BIN / "openapi-typescript").exists():
        pytest.fail("sdk/openapi-check/node_modules is missing: run ./scripts/setup (npm ci)")
    out = generated_output([str(NODE_BIN / "openapi-typescript"), str(document_path), "-o", "schema.d.ts"], tmp_path)
    noise = [line for line in out.splitlines() if re.search(r"warn|error|⚠|✘", line, re.IGNORECASE)]
    assert not noise, out
    checks = ['import type { components, operations } from "./schema";',
              'type Json<T> = T extends { content: { "application/json": infer B } } ? B : never;',
              "type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;"]
    for index, name in enumerate(document["components"]["schemas"]):
        checks.append(f"export type Schema{index} = components[\"schemas\"][{json.dumps(name)}];")
    for _method, _path, op in operations(document):
        name = op["operationId"]
        media = document_type(op)
        if media is not None:  # a document: the 200 answer of that media type is a string
            checks.append(f'export const {name}_200: Same<operations["{name}"]["responses"][200]["content"]'
                          f'[{json.dumps(media)}], string> = true;')
        else:
            answer = json.dumps(response_schema(op))
            checks.append(f'export const {name}_200: Same<Json<operations["{name}"]["responses"][200]>, '
                          f'components["schemas"][{answer}]> = true;')
        for code in error_statuses(op):
            checks.append(f'export const {name}_{code}: Same<Json<operations["{name}"]["responses"][{code}]>, '
                          'components["schemas"]["Error"]> = true;')
        body = body_schema(op)
        if body is not None:
            checks.append(f'export const {name}_body: Same<Json<NonNullable<operations["{name}"]["requestBody"]>>, '
                          f'components["schemas"][{json.dumps(body)}]> = true;')
    (tmp_path / "check.ts").write_text("\n".join(checks) + "\n")
    generated_output([str(NODE_BIN / "tsc"), "--noEmit", "--strict", "--target", "es2022", "--module", "es2022",
                      "--moduleResolution", "bundler", "check.ts"], tmp_path)
