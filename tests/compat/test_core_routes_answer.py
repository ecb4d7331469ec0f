"""Every Casdoor route of the core areas answers on Hookdoor: not 404 (no such route), 405 (wrong
method) or 500 (a crash), whatever it is given. The list is Casdoor's router
(casdoor_core_routes.md); each route is called as a global administrator with no parameters and
an empty JSON object, then with Casdoor's usual ``owner``/``id`` parameters."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
import requests

from tests.support import Api, ServerProcess

ROUTES_FILE = Path(__file__).with_name("casdoor_core_routes.md")
ROW = re.compile(r"^\| (GET|POST|ANY) \| `([^`]+)` \| [^|]+ \| (yes)? ?\|$")
# Built in authz/ (issue 12's Casbin part, on its own branch): probed once that package exists.
CASBIN_ROUTES = {"/api/add-policy", "/api/get-filtered-policies", "/api/get-policies", "/api/remove-policy",
                 "/api/update-policy", "/api/get-permissions-by-submitter", "/api/get-permissions-by-role"}
CASBIN_BUILT = importlib.util.find_spec("hookdoor.authz") is not None
# Casdoor's ID-verification providers (real-name checks by a cloud service) are not part of
# issue 12's routes: verify-identification comes with them.
NOT_IN_ISSUE = {"/api/verify-identification"}


def core_routes() -> list[tuple[str, str]]:
    routes = []
    for line in ROUTES_FILE.read_text().splitlines():
        if (match := ROW.match(line)) and not match.group(3):
            if (match.group(2) in CASBIN_ROUTES and not CASBIN_BUILT) or match.group(2) in NOT_IN_ISSUE:
                continue
            routes.append((match.group(1), match.group(2)))
    return routes


def test_the_list_holds_the_core_areas() -> None:
    routes = core_routes()
    assert len(routes) >= 100 - (0 if CASBIN_BUILT else len(CASBIN_ROUTES))
    assert ("POST", "/api/upload-users") in routes and ("GET", "/api/get-dashboard-heatmap") in routes


def _unanswered(response: requests.Response) -> bool:
    """A route that does not exist (404 "no such API", 405) or that crashed; a 404 naming a
    missing object is an answer."""
    if response.status_code == 404:
        return response.json().get("msg", "").startswith("no such API")
    return response.status_code in (405, 500)


def _calls(server: ServerProcess, admin: Api, method: str, path: str) -> list[requests.Response]:
    url = f"{server.url}{path}"
    tries = ({}, {"owner": "built-in", "id": "built-in/admin", "organization": "built-in"})
    if method == "GET":
        return [admin.http.get(url, params=params, timeout=30) for params in tries]
    return [admin.http.post(url, params=params, json={}, timeout=30) for params in tries]


def test_every_core_route_answers(server: ServerProcess, admin: Api) -> None:
    problems = []
    for method, path in core_routes():
        if path in ("/api/logout", "/api/delete-user", "/api/delete-organization"):
            continue  # would sign the administrator out, or try to delete what the calls use
        for response in _calls(server, admin, method, path):
            if _unanswered(response):
                problems.append(f"{method} {path}: {response.status_code} {response.text[:200]}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", ["/api/delete-user", "/api/delete-organization"])
def test_the_deletions_answer_without_deleting(server: ServerProcess, admin: Api, path: str) -> None:
    response = admin.http.post(f"{server.url}{path}", json={}, timeout=30)
    assert response.status_code == 400 and "owner/name" in response.json()["msg"]
