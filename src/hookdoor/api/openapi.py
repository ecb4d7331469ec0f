"""The /openapi.json document: FastAPI's, with every schema reference resolvable.

Routes that parse their own body (Casdoor's clients send JSON with or without a Content-Type)
declare it with ``openapi_extra`` from ``model.model_json_schema()``. Pydantic puts a model's nested
models in the schema's own ``$defs`` and refers to them as ``#/$defs/Name``; in an OpenAPI document
``#`` is the document, not the schema, so those references resolve nowhere. Here the nested
definitions move to ``components/schemas`` and the references follow them.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

NESTED_PREFIX = "#/$defs/"
COMPONENT_PREFIX = "#/components/schemas/"


def install(app: FastAPI) -> None:
    """Serve ``app``'s document with its nested definitions hoisted (once: FastAPI caches it)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            hoist_nested_definitions(generate())
        return generate()

    app.openapi = openapi  # type: ignore[method-assign]


def hoist_nested_definitions(document: dict[str, Any]) -> dict[str, Any]:
    """Move every schema's ``$defs`` into ``components/schemas``, in place, and point references there."""
    components = document.setdefault("components", {}).setdefault("schemas", {})
    _hoist(document.get("paths", {}), components)
    return document


def _hoist(node: Any, components: dict[str, Any]) -> None:
    if isinstance(node, list):
        for item in node:
            _hoist(item, components)
    elif isinstance(node, dict):
        for name, schema in node.pop("$defs", {}).items():
            _hoist(schema, components)  # first, so that two copies of one model compare equal
            _add_component(components, name, schema)
        reference = node.get("$ref")
        if isinstance(reference, str) and reference.startswith(NESTED_PREFIX):
            node["$ref"] = COMPONENT_PREFIX + reference.removeprefix(NESTED_PREFIX)
        for value in node.values():
            _hoist(value, components)


def _add_component(components: dict[str, Any], name: str, schema: dict[str, Any]) -> None:
    # Two models of one name would make one reference mean two things: refuse at start-up, where a
    # test sees it, rather than serve a document that describes one of them wrongly.
    if name in components and components[name] != schema:
        raise ValueError(f"two different schemas are both named {name!r} in the OpenAPI document")
    components[name] = schema
