"""Property-based fuzzing of the whole HTTP API: no input, however odd, may produce a server error.

Schemathesis reads the running server's /openapi.json and sends generated requests, valid and
invalid, to every operation as a global administrator. The only check is ``not_a_server_error``:
bad input must come back as a 4xx envelope that says what was wrong, never as a 500.

This module starts its own server per database rather than sharing the session ``server``: the
fuzzer signs in with random passwords thousands of times, which would trip the per-address login
lock-out for every other test (they all come from 127.0.0.1), and it adds and deletes objects at
random, which other tests should not have to tolerate.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core import NOT_SET
from schemathesis.core.failures import FailureGroup
from schemathesis.schemas import APIOperation

from tests.support import ADMIN_PASSWORD, ServerProcess, running_server

# Per operation and database: enough to find crashes, small enough for CI (the file takes one to
# three minutes on two cores). Raise it for a deeper search: HOOKDOOR_FUZZ_EXAMPLES=200 pytest ...
MAX_EXAMPLES = int(os.environ.get("HOOKDOOR_FUZZ_EXAMPLES", "10"))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzzed_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    # Random sign-ins must not lock the fuzzer out of its own session.
    env = {"HOOKDOOR_LOGIN_MAX_FAILURES": "1000000", "HOOKDOOR_LOGIN_MAX_FAILURES_PER_IP": "1000000"}
    with running_server(request.param, workdir, env) as process:
        yield process


def _admin_token(base_url: str) -> str:
    answer = requests.post(
        f"{base_url}/api/login",
        json={"type": "token", "organization": "built-in", "application": "app-built-in",
              "username": "admin", "password": ADMIN_PASSWORD},
        timeout=30,
    ).json()
    assert answer["status"] == "ok", answer
    return answer["data"]


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    """One connection pool for all the fuzzer's calls: a new connection per call costs more than the call."""
    with requests.Session() as session:
        yield session


@pytest.fixture(scope="module")
def admin_headers(fuzzed_server: ServerProcess) -> dict[str, str]:
    return {"Authorization": f"Bearer {_admin_token(fuzzed_server.url)}"}


# sso-logout revokes every access token of the caller, and logout with a Bearer token revokes that
# token: the fuzzer's own, after which the remaining operations would only ever see "Please login
# first". Their own tests live in tests/identity/test_accounts.py and tests/identity/test_token_authority.py.
EXCLUDED = {(method, path) for method in ("GET", "POST") for path in ("/api/sso-logout", "/api/logout")}

def _in_existing_organization(case: Case) -> Case:
    """Point a generated case at objects that exist, so it gets past "no such organization" and
    reaches the code behind it (paging, sorting, filtering, validation of the object itself)."""
    globally_owned = case.path.endswith(("-organization", "-organizations", "-application", "-applications"))
    owner = "admin" if globally_owned else "built-in"
    if isinstance(case.body, dict):
        case.body["owner"] = owner
        if "organization" in case.body:
            case.body["organization"] = "built-in"
    if isinstance(case.query, dict):
        if "owner" in case.query:
            case.query["owner"] = owner
        if isinstance(case.query.get("id"), str):
            name = case.query["id"].replace("/", "")
            # Never the fuzzer's own account or the built-in objects: renaming those would sign it out.
            case.query["id"] = f"{owner}/{name if name not in ('', 'admin', 'app-built-in', 'built-in') else 'x'}"
    return case


def _fuzz(operation: APIOperation, base_url: str, headers: dict[str, str], session: requests.Session) -> int:
    """Up to MAX_EXAMPLES generated calls, valid and invalid, to one operation; how many had a body."""
    positive = operation.as_strategy(GenerationMode.POSITIVE)
    cases = positive | positive.map(_in_existing_organization) | operation.as_strategy(GenerationMode.NEGATIVE)
    with_body = 0

    @given(case=cases)
    @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def call(case: Case) -> None:
        nonlocal with_body
        with_body += case.body is not NOT_SET
        case.call_and_validate(
            base_url=base_url, session=session, headers=headers, checks=[not_a_server_error], timeout=30
        )

    call()
    return with_body


def _describe(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        return "\n".join([str(exc), *(_describe(inner) for inner in exc.exceptions)])
    return f"{type(exc).__name__}: {exc}"


def _operations(base_url: str) -> tuple[dict[tuple[str, str], APIOperation], set[tuple[str, str]]]:
    """Every operation, and those whose request body the document declares."""
    # schemathesis' own pytest integration (from_fixture) does not work with pytest 9 (it sets
    # request.node._nodeid), so each operation is driven through its Hypothesis strategy instead.
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json", timeout=30)
    operations = (result.ok() for result in schema.get_all_operations())
    declared = {(method.upper(), path) for path, methods in schema.raw_schema["paths"].items()
                for method, spec in methods.items() if "requestBody" in spec}
    return {(operation.method.upper(), operation.path): operation for operation in operations}, declared


def test_no_input_makes_a_server_error(
    fuzzed_server: ServerProcess, admin_headers: dict[str, str], http: requests.Session
) -> None:
    operations, declared_bodies = _operations(fuzzed_server.url)
    assert len(operations) > 100, f"only {len(operations)} operations found in /openapi.json"
    # A body schema schemathesis cannot resolve is dropped without a word, and the operation is
    # then fuzzed with no body at all: its validation would go untested.
    unreadable = sorted(key for key in declared_bodies if not list(operations[key].body))
    assert not unreadable, f"schemathesis could not read these request bodies: {unreadable}"
    failures, bodiless = [], []
    for key, operation in operations.items():
        if key in EXCLUDED:
            continue
        try:
            if not _fuzz(operation, fuzzed_server.url, admin_headers, http) and key in declared_bodies:
                bodiless.append(key)
        except (Exception, FailureGroup) as exc:  # keep going: one report with every failing operation
            failures.append(f"{' '.join(key)}:\n{_describe(exc)}")
    assert not failures, "\n\n".join(failures)
    assert not bodiless, f"no generated call to these operations had a body: {bodiless}"
    still = http.get(f"{fuzzed_server.url}/api/get-account", headers=admin_headers, timeout=30).json()
    assert still["name"] == "admin", f"the fuzzer lost its session part-way, so it tested less than it seems: {still}"
