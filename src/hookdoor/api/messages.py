"""Validation errors in words a person reads: the one place the API, the console and the CLI get
them from (the CLI prints the API's message; the console shows it beside the field it names).

Every message starts ``invalid field <field>: `` so a form can tell which input to mark, then says
what is wrong without the validator's internals (no "Value error,", no "headers.0.name").
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

# What one item of a list field is called: "header 2" reads better than "headers.1".
ITEM_NOUNS = {"headers": "header", "redirectUris": "redirect URI", "users": "user", "roles": "role",
              "groups": "group", "events": "event", "resources": "resource", "actions": "action"}

_BY_TYPE = {
    "missing": "is required",
    "extra_forbidden": "is not a field this object has",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "int_type": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be text",
    "list_type": "must be a list",
    "dict_type": "must be an object",
    "model_type": "must be an object",
}


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _detail(error: dict[str, Any]) -> str:
    kind, context = error["type"], error.get("ctx") or {}
    if kind in _BY_TYPE:
        return _BY_TYPE[kind]
    if kind == "greater_than_equal":
        return f"must be at least {_number(context.get('ge'))}"
    if kind == "greater_than":
        return f"must be more than {_number(context.get('gt'))}"
    if kind == "less_than_equal":
        return f"must be at most {_number(context.get('le'))}"
    if kind == "less_than":
        return f"must be less than {_number(context.get('lt'))}"
    if kind == "string_too_long":
        return f"must be at most {context.get('max_length')} characters"
    if kind == "string_too_short":
        return f"must be at least {context.get('min_length')} characters"
    if kind == "literal_error":
        return f"must be one of {context.get('expected', '').replace(chr(39), '')}"
    if kind in ("value_error", "assertion_error") and "error" in context:
        return str(context["error"])  # our own validators' words, without pydantic's "Value error, "
    return str(error["msg"])


def _where(location: tuple[Any, ...]) -> tuple[str, str]:
    """(the field, what within it): ("headers", 0, "name") -> ("headers", "header 1, name"); the keys
    of an object stay in the field's name: ("properties", "team") -> ("properties.team", "")."""
    if not location:
        return "body", ""
    parts = list(location)
    path = []
    while parts and not isinstance(parts[0], int):
        path.append(str(parts.pop(0)))
    field, words = ".".join(path), []
    for part in parts:
        words.append(f"{ITEM_NOUNS.get(path[-1] if path else '', 'item')} {part + 1}" if isinstance(part, int)
                     else str(part))
    return field or "body", ", ".join(words)


def problem_of(error: dict[str, Any]) -> tuple[str, str]:
    """(field, words) of one pydantic error."""
    field, within = _where(tuple(error["loc"]))
    detail = _detail(error)
    return field, f"{within}: {detail}" if within else detail


def validation_message(exc: ValidationError) -> str:
    """``invalid field <first field>: <what is wrong>``; other problems follow, each naming its field."""
    problems = [problem_of(error) for error in exc.errors()]
    first_field, first = problems[0]
    rest = [f"{field}: {words}" for field, words in problems[1:]]
    return "; ".join([f"invalid field {first_field}: {first}", *rest])


def field_of_message(message: str) -> str | None:
    """The field a message from here (or any ``invalid field x: ...``) names."""
    prefix = "invalid field "
    if not message.startswith(prefix):
        prefix = "invalid parameter "
        if not message.startswith(prefix):
            return None
    name = message[len(prefix):].split(":", 1)[0].split(" ", 1)[0]
    return name.split(".")[0] or None
