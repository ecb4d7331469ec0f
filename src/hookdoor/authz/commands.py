"""Casdoor's run-casbin-command, answered by pycasbin in this process.

Casdoor runs a casbin CLI binary (``casbin-go-cli`` and others) with the arguments given; Hookdoor
runs no program and touches no file: the commands the Casbin editor sends (``enforce``, ``enforceEx``,
``--version``) are evaluated on a throwaway enforcer made of the model (``-m``) and policy (``-p``)
texts in the arguments, and answered in the CLIs' output format (``{"allow":...,"explain":[...]}``).
No stored enforcer, model or policy is reachable from here.
"""

from __future__ import annotations

import csv
import json
from importlib.metadata import version

import casbin

from hookdoor.authz.engines import Engine, enforce
from hookdoor.authz.schemas import MAX_FIELDS, PolicyRule, checked_model_text, model_from_text, request_values
from hookdoor.errors import BadRequest

COMMANDS = ("enforce", "enforceEx")
MAX_POLICY_LINES = 10_000


def _options(args: list[str]) -> tuple[str, dict[str, str], list[str]]:
    if not args:
        raise BadRequest("invalid parameter args: the command is missing")
    command, rest = args[0], args[1:]
    options: dict[str, str] = {}
    values: list[str] = []
    index = 0
    while index < len(rest):
        if rest[index] in ("-m", "--model", "-p", "--policy") and index + 1 < len(rest):
            options[rest[index].lstrip("-")[0]] = rest[index + 1]
            index += 2
        else:
            values.append(rest[index])
            index += 1
    return command, options, values


def _policy_rules(text: str) -> list[PolicyRule]:
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if len(lines) > MAX_POLICY_LINES:
        raise BadRequest(f"invalid parameter args: at most {MAX_POLICY_LINES} policy lines")
    rules = []
    for number, row in enumerate(csv.reader(lines, skipinitialspace=True), 1):
        fields = [field.strip() for field in row]
        if len(fields) < 2 or len(fields) > MAX_FIELDS + 1:
            raise BadRequest(f"invalid parameter args: policy line {number} is not 'ptype, v0, v1...'")
        rules.append(PolicyRule(fields[0], tuple(fields[1:])))
    return rules


def _engine(options: dict[str, str]) -> Engine:
    if "m" not in options:
        raise BadRequest("invalid parameter args: the model (-m) is missing")
    model = model_from_text(checked_model_text(options["m"]))
    enforcer = casbin.Enforcer(model)
    for rule in _policy_rules(options.get("p", "")):
        if rule.section not in model.model or rule.ptype not in model.model[rule.section]:
            raise BadRequest(f"invalid parameter args: the model defines no policy type {rule.ptype!r}")
        model.add_policy(rule.section, rule.ptype, list(rule.values))
    enforcer.build_role_links()
    return Engine(enforcer, "")


def run(args: list[str]) -> str:
    command, options, values = _options(args)
    if command == "--version":
        return f"pycasbin {version('casbin')} (in-process)"
    if command not in COMMANDS:
        raise BadRequest(f"invalid parameter args: unsupported command {command!r}; "
                         f"this server evaluates {', '.join(COMMANDS)} and --version")
    allowed, explain = enforce(_engine(options), request_values(values, "args"))
    return json.dumps({"allow": allowed, "explain": explain if command == "enforceEx" else []},
                      separators=(",", ":"))
