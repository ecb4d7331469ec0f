"""What the authz routes read and answer: Casbin policy rules in Casdoor's shape, filters, enforce
requests, and the check a Casbin model passes before it is stored."""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from typing import Any

import casbin
from casbin import model as casbin_model
from casbin import util
from casbin.model import FunctionMap

from hookdoor.errors import BadRequest

MAX_FIELDS = 6  # v0..v5: what Casdoor's (and Hookdoor's) rule tables hold
MAX_VALUE_LENGTH = 1000
MAX_REQUESTS = 1000  # in one batch-enforce
SECTIONS = {
    "request_definition": "r", "policy_definition": "p", "role_definition": "g",
    "policy_effect": "e", "matchers": "m",
}
REQUIRED_SECTIONS = ("request_definition", "policy_definition", "policy_effect", "matchers")
_SECTION_LINE = re.compile(r"^\[(?P<name>[^\]]*)\]$")
_ASSIGNMENT = re.compile(r"^(?P<key>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?P<value>.*)$")
_MATCHER_FUNCTIONS = tuple(FunctionMap.load_function_map().get_functions())
_TOKEN = re.compile(r"\b(?P<kind>[rp][0-9]*)_(?P<field>[A-Za-z0-9_]+)")


# ---- policy rules -------------------------------------------------------------------------------

@dataclass(frozen=True)
class PolicyRule:
    """One rule: its type (``p``, ``g``, ``p2``...) and its values, without trailing empty ones
    (Casdoor's ``CasbinToSlice``)."""

    ptype: str
    values: tuple[str, ...]

    @property
    def is_grouping(self) -> bool:
        return self.ptype.startswith("g")

    @property
    def section(self) -> str:
        return "g" if self.is_grouping else "p"

    def padded(self) -> tuple[str, ...]:
        return self.values + ("",) * (MAX_FIELDS - len(self.values))

    def as_casdoor(self, rule_id: int = 0) -> dict[str, Any]:
        """Casdoor's xorm CasbinRule, which has no JSON tags: capitalised keys."""
        return {"Id": rule_id, "Ptype": self.ptype, **{f"V{i}": v for i, v in enumerate(self.padded())}}


def trimmed(values: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    values = tuple(values)
    while values and values[-1] == "":
        values = values[:-1]
    return values


def _keys_lowered(body: dict[str, Any]) -> dict[str, Any]:
    """Go's JSON decoding matches field names case-insensitively; the SDKs send "Ptype", "V0"."""
    return {str(key).lower(): value for key, value in body.items()}


def rule_from(body: Any, where: str = "body") -> PolicyRule:
    if not isinstance(body, dict):
        raise BadRequest(f"invalid {where}: a policy object {{ptype, v0..v5}} is expected")
    fields = _keys_lowered(body)
    ptype = fields.get("ptype")
    if not isinstance(ptype, str) or not re.fullmatch(r"[pg][0-9]*", ptype):
        raise BadRequest(f"invalid field {where}.ptype: must be a policy type such as 'p', 'g' or 'g2'")
    values = []
    for i in range(MAX_FIELDS):
        value = fields.get(f"v{i}", "")
        if not isinstance(value, str):
            raise BadRequest(f"invalid field {where}.v{i}: must be a string")
        if len(value) > MAX_VALUE_LENGTH:
            raise BadRequest(f"invalid field {where}.v{i}: longer than {MAX_VALUE_LENGTH} characters")
        values.append(value)
    rule = PolicyRule(ptype, trimmed(values))
    if not rule.values:
        raise BadRequest(f"invalid {where}: the policy has no values")
    return rule


def rule_pair_from(body: Any) -> tuple[PolicyRule, PolicyRule]:
    if not isinstance(body, list) or len(body) != 2:
        raise BadRequest("invalid body: update-policy takes a list of two policies, the old one and the new one")
    old, new = rule_from(body[0], "body[0]"), rule_from(body[1], "body[1]")
    if old.ptype != new.ptype:
        raise BadRequest(f"invalid body: the old policy is a {old.ptype!r} rule and the new one a {new.ptype!r} rule")
    return old, new


@dataclass(frozen=True)
class PolicyFilter:
    """Casdoor's ``object.Filter``: a policy type and, optionally, the values one field may have."""

    ptype: str = "p"
    field_index: int | None = None
    field_values: tuple[str, ...] = ()

    def matches(self, rule: PolicyRule) -> bool:
        if rule.ptype != self.ptype:
            return False
        if self.field_index is None or not 0 <= self.field_index < MAX_FIELDS or not self.field_values:
            return True  # Casdoor filters by type alone then
        return rule.padded()[self.field_index] in self.field_values


def filters_from(body: Any) -> list[PolicyFilter]:
    if body is None:
        return []
    if not isinstance(body, list):
        raise BadRequest("invalid body: a list of filters {ptype, fieldIndex, fieldValues} is expected")
    filters = []
    for index, item in enumerate(body):
        if not isinstance(item, dict):
            raise BadRequest(f"invalid field body[{index}]: a filter object is expected")
        fields = _keys_lowered(item)
        field_index = fields.get("fieldindex")
        values = fields.get("fieldvalues") or []
        if field_index is not None and (not isinstance(field_index, int) or isinstance(field_index, bool)):
            raise BadRequest(f"invalid field body[{index}].fieldIndex: must be an integer")
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise BadRequest(f"invalid field body[{index}].fieldValues: must be a list of strings")
        filters.append(PolicyFilter(str(fields.get("ptype") or "p"), field_index, tuple(values)))
    return filters


# ---- enforce requests -----------------------------------------------------------------------------

def request_values(item: Any, where: str) -> list[Any]:
    """One Casbin request: strings, and for ABAC objects (or strings holding a JSON object), which
    Casbin's matchers read with dot notation (``r.sub.Age``), as Casdoor's InterfaceToEnforceArray."""
    if not isinstance(item, list) or not item:
        raise BadRequest(f"invalid {where}: a Casbin request is a non-empty list such as "
                         '["alice", "data1", "read"]')
    return [_request_value(value, f"{where}[{i}]") for i, value in enumerate(item)]


def _request_value(value: Any, where: str) -> Any:
    if isinstance(value, str) and value.startswith("{"):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    if isinstance(value, dict):
        return Attributes(value)
    if isinstance(value, (str, int, float, bool)):
        return value
    raise BadRequest(f"invalid {where}: must be a string, a number or an object")


class Attributes:
    """An ABAC request object: its JSON fields as attributes (nested objects too)."""

    def __init__(self, fields: dict[str, Any]) -> None:
        for key, value in fields.items():
            setattr(self, str(key), Attributes(value) if isinstance(value, dict) else value)

    def __repr__(self) -> str:
        return f"Attributes({vars(self)!r})"


def requests_from(body: Any) -> list[list[Any]]:
    if not isinstance(body, list):
        raise BadRequest("invalid body: batch-enforce takes a list of Casbin requests")
    if len(body) > MAX_REQUESTS:
        raise BadRequest(f"invalid body: at most {MAX_REQUESTS} requests in one batch")
    return [request_values(item, f"body[{i}]") for i, item in enumerate(body)]


# ---- model text -----------------------------------------------------------------------------------

class ModelProblem(BadRequest):
    def __init__(self, section: str, problem: str) -> None:
        super().__init__(f"invalid field modelText: [{section}] {problem}" if section else
                         f"invalid field modelText: {problem}")
        self.section = section


def _sections(text: str) -> dict[str, dict[str, str]]:
    sections: dict[str, dict[str, str]] = {}
    current = ""
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if header := _SECTION_LINE.match(line):
            current = header["name"].strip()
            if current not in SECTIONS:
                raise ModelProblem(current, f"line {number}: unknown section; Casbin models have "
                                            + ", ".join(f"[{s}]" for s in SECTIONS))
            sections.setdefault(current, {})
            continue
        assignment = _ASSIGNMENT.match(line)
        if not current:
            raise ModelProblem("", f"line {number}: {line[:60]!r} comes before any [section]")
        if assignment is None:
            raise ModelProblem(current, f"line {number}: {line[:60]!r} is not 'key = value'")
        sections[current][assignment["key"]] = assignment["value"].strip()
    return sections


def _fields(value: str) -> list[str]:
    return [f.strip() for f in value.split(",") if f.strip()]


def _check_definitions(sections: dict[str, dict[str, str]]) -> dict[str, list[str]]:
    """The request and policy fields by key (``r``, ``p``, ``p2``...)."""
    for section in REQUIRED_SECTIONS:
        if section not in sections:
            raise ModelProblem(section, "is missing")
        prefix = SECTIONS[section]
        if not any(key.startswith(prefix) for key in sections[section]):
            raise ModelProblem(section, f"has no '{prefix} = ...' line")
    tokens: dict[str, list[str]] = {}
    for section in ("request_definition", "policy_definition"):
        prefix = SECTIONS[section]
        for key, value in sections[section].items():
            if not re.fullmatch(rf"{prefix}[0-9]*", key):
                raise ModelProblem(section, f"{key!r} is not a {prefix}, {prefix}2... definition")
            fields = _fields(value)
            if not fields:
                raise ModelProblem(section, f"{key} defines no fields")
            if section == "policy_definition" and len(fields) > MAX_FIELDS:
                raise ModelProblem(section, f"{key} has {len(fields)} fields; policies hold at most {MAX_FIELDS}")
            tokens[key] = fields
    for key, value in sections.get("role_definition", {}).items():
        fields = _fields(value)
        if not re.fullmatch(r"g[0-9]*", key) or any(f != "_" for f in fields) or not 2 <= len(fields) <= MAX_FIELDS:
            raise ModelProblem("role_definition", f"{key} = {value!r}: a role definition is 'g = _, _' "
                                                  "(or '_, _, _' with domains)")
    return tokens


def _check_matchers(sections: dict[str, dict[str, str]], tokens: dict[str, list[str]]) -> None:
    for key, value in sections["matchers"].items():
        rewritten = _as_python(value)
        try:
            tree = ast.parse(rewritten, mode="eval")
        except SyntaxError as exc:
            raise ModelProblem("matchers", f"{key} is not a valid expression: {exc.msg}") from None
        _check_names(key, tree, sections)
        for match in _TOKEN.finditer(rewritten):
            kind, field = match["kind"], match["field"]
            if kind not in tokens:
                raise ModelProblem("matchers", f"{key} uses {kind}.{field}, but no {kind} is defined")
            if field not in tokens[kind] and not (kind.startswith("p") and field == "eft"):
                raise ModelProblem("matchers", f"{key} uses {kind}.{field}, but {kind} defines only "
                                               + ", ".join(tokens[kind]))


def _check_names(key: str, tree: ast.AST, sections: dict[str, dict[str, str]]) -> None:
    """Every bare name is a request or policy token, a role definition or one of pycasbin's functions:
    anything else (``true``, a typo) would fail every enforce."""
    known = set(_MATCHER_FUNCTIONS) | set(sections.get("role_definition", {})) | {"eval", "True", "False", "None"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not _TOKEN.fullmatch(node.id) and node.id not in known:
            raise ModelProblem("matchers", f"{key} uses {node.id!r}, which is neither a request or policy field "
                                           "nor a function Casbin knows")


def _as_python(matcher: str) -> str:
    """The matcher as pycasbin evaluates it (util.escape_assertion, then its operator rewriting)."""
    text = util.remove_comments(util.escape_assertion(matcher))
    text = text.replace("&&", " and ").replace("||", " or ")
    return re.sub(r"!(?!=)", " not ", text)


def checked_model_text(text: Any) -> str:
    """The model text, checked: each problem is a BadRequest naming the section it is in."""
    if not isinstance(text, str) or not text.strip():
        raise ModelProblem("", "must not be empty")
    sections = _sections(text)
    tokens = _check_definitions(sections)
    _check_matchers(sections, tokens)
    try:
        casbin.Enforcer(model_from_text(text))  # pycasbin's own checks: the effect, the role managers
    except RuntimeError as exc:
        section = "policy_effect" if "effect" in str(exc) else ""
        raise ModelProblem(section, str(exc)) from None
    return text


def model_from_text(text: str) -> casbin_model.Model:
    model = casbin_model.Model()
    model.load_model_from_text(text)
    return model
