"""The served /openapi.json is a valid OpenAPI document whose every reference resolves.

openapi-spec-validator checks the document's structure and its schemas against the OpenAPI 3.1
meta-schema, but it does not follow a ``$ref`` inside a schema: a reference that resolves nowhere
(as ``#/$defs/WebhookHeader`` once did) passes it, and only shows when a client such as schemathesis
tries to build a body from it. So every reference is also followed here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import requests
from openapi_spec_validator import validate

from tests.support import ServerProcess


def _document(server: ServerProcess) -> dict[str, Any]:
    response = requests.get(f"{server.url}/openapi.json", timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def _references(node: Any) -> Iterator[str]:
    if isinstance(node, list):
        for item in node:
            yield from _references(item)
    elif isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _references(value)


def _resolves(document: dict[str, Any], reference: str) -> bool:
    """Whether a local reference (``#/a/b``, RFC 6901 escapes) names something in ``document``."""
    if not reference.startswith("#/"):
        return False  # the document is served alone: anything else points outside it
    target: Any = document
    for token in reference[2:].split("/"):
        key = token.replace("~1", "/").replace("~0", "~")
        if not isinstance(target, dict) or key not in target:
            return False
        target = target[key]
    return True


def test_the_document_is_valid_openapi(server: ServerProcess) -> None:
    validate(_document(server))  # raises, naming the problem, if it is not


def test_every_reference_resolves(server: ServerProcess) -> None:
    document = _document(server)
    references = set(_references(document))
    assert "#/components/schemas/WebhookHeader" in references, "the webhook bodies' nested model is not referenced"
    unresolved = sorted(reference for reference in references if not _resolves(document, reference))
    assert not unresolved, f"references that resolve nowhere in /openapi.json: {unresolved}"


def test_no_schema_keeps_definitions_of_its_own(server: ServerProcess) -> None:
    # A nested "$defs" is legal JSON Schema, but its "#/$defs/..." references would be read
    # against the whole document; every definition belongs in components/schemas.
    assert '"$defs"' not in requests.get(f"{server.url}/openapi.json", timeout=30).text
