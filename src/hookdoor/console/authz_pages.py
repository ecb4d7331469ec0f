"""Access control > Enforcers > Policies: an enforcer's rules (list, add, edit, remove) and an enforce
tester (a request → allowed or denied, and the rule that decided).

Each form performs the Casdoor action of the same name (add-policy, update-policy, remove-policy,
enforce) through AuthzService, in the API's unit of work, and so records the same event.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from hookdoor.authz.schemas import MAX_FIELDS, PolicyRule, request_values, rule_from
from hookdoor.authz.service import AuthzService
from hookdoor.console.web import ConsoleRoute, CsrfRefused, acting, read_form, redirect, render, segment, viewing
from hookdoor.errors import BadRequest, HookdoorError, NotAuthenticated

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
PTYPES = ("p", "p2", "g", "g2", "g3")


def policies_path(owner: str, name: str) -> str:
    return f"/console/enforcers/{segment(owner)}/{segment(name)}/policies"


def _posted_rule(form: FormData, prefix: str = "") -> PolicyRule:
    body = {"ptype": form.get(f"{prefix}ptype") or ""}
    body.update({f"v{i}": str(form.get(f"{prefix}v{i}") or "").strip() for i in range(MAX_FIELDS)})
    return rule_from(body, "policy")


def _posted_request(form: FormData) -> list[Any]:
    """The tester's request: one value per line (a line holding a JSON object is an ABAC object)."""
    text = str(form.get("request") or "")
    return request_values([line.strip() for line in text.splitlines() if line.strip()], "request")


async def _page(request: Request, owner: str, name: str, *, error: HookdoorError | None = None,
                verdict: dict[str, Any] | None = None, tested: str = "") -> Response:
    enforcer_id = f"{owner}/{name}"
    async with viewing(request) as context:
        service = AuthzService(context)
        enforcer = await service.enforcer(enforcer_id, "read the policies of enforcers")
        policies = await service.policies(enforcer)
        definitions = await service.definitions(enforcer)
    rows = [{"ptype": p["Ptype"], "values": [p[f"V{i}"] for i in range(MAX_FIELDS)]} for p in policies]
    return render(request, "authz/policies.html", status_code=error.status_code if error else 200,
                  enforcer=enforcer, policies=rows, ptypes=list(definitions) or list(PTYPES),
                  definitions=definitions, fields=range(MAX_FIELDS),
                  error=error.message if error else None, verdict=verdict, tested=tested,
                  path=policies_path(owner, name), active="enforcers")


@router.get("/console/enforcers/{owner}/{name}/policies")
async def show_policies(request: Request, owner: str, name: str) -> Response:
    return await _page(request, owner, name)


def _shown_in_place(exc: HookdoorError) -> bool:
    return not isinstance(exc, NotAuthenticated | CsrfRefused)


async def _change(request: Request, owner: str, name: str, action: str) -> Response:
    form = await read_form(request)
    try:
        async with acting(request, action, form) as context:
            service = AuthzService(context)
            enforcer = await service.enforcer(f"{owner}/{name}", "change the policies of enforcers")
            if action == "add-policy":
                changed = await service.add_policy(enforcer, _posted_rule(form))
            elif action == "update-policy":
                changed = await service.update_policy(enforcer, _posted_rule(form, "old_"), _posted_rule(form))
            else:
                changed = await service.remove_policy(enforcer, _posted_rule(form))
            if not changed:
                raise BadRequest("nothing changed: the policy is already there, or no longer there")
    except HookdoorError as exc:
        if not _shown_in_place(exc):
            raise
        return await _page(request, owner, name, error=exc)
    return redirect(policies_path(owner, name), notice="saved")


@router.post("/console/enforcers/{owner}/{name}/policies/add")
async def add_policy(request: Request, owner: str, name: str) -> Response:
    return await _change(request, owner, name, "add-policy")


@router.post("/console/enforcers/{owner}/{name}/policies/update")
async def update_policy(request: Request, owner: str, name: str) -> Response:
    return await _change(request, owner, name, "update-policy")


@router.post("/console/enforcers/{owner}/{name}/policies/remove")
async def remove_policy(request: Request, owner: str, name: str) -> Response:
    return await _change(request, owner, name, "remove-policy")


@router.post("/console/enforcers/{owner}/{name}/enforce")
async def test_enforce(request: Request, owner: str, name: str) -> Response:
    form = await read_form(request)
    tested = str(form.get("request") or "")
    try:
        async with acting(request, "enforce", form) as context:
            service = AuthzService(context)
            enforcer = await service.enforcer(f"{owner}/{name}", "enforce with enforcers")
            values = _posted_request(form)
            allowed, matched = await service.explain(enforcer, values)
            context.action.concerns(obj={"enforcerId": f"{owner}/{name}", "results": [allowed]})
    except HookdoorError as exc:
        if not _shown_in_place(exc):
            raise
        return await _page(request, owner, name, error=exc, tested=tested)
    return await _page(request, owner, name, verdict={"allowed": allowed, "matched": matched}, tested=tested)
