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

from collections.abc import Iterator
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.schemas import APIOperation

from tests.support import (
    ADMIN_PASSWORD,
    ServerProcess,
    drop_postgres_database,
    new_postgres_database,
)

MAX_EXAMPLES = 10  # per operation and database: enough to find crashes, small enough for CI


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzzed_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    url = f"sqlite:///{workdir / 'hookdoor.db'}" if request.param == "sqlite" else new_postgres_database()
    # Random sign-ins must not lock the fuzzer out of its own session.
    env = {"HOOKDOOR_LOGIN_MAX_FAILURES": "1000000", "HOOKDOOR_LOGIN_MAX_FAILURES_PER_IP": "1000000"}
    process = ServerProcess(database_url=url, workdir=workdir, env=env).start()
    try:
        yield process
    finally:
        process.stop()
        if request.param == "postgresql":
            drop_postgres_database(url)


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
def admin_headers(fuzzed_server: ServerProcess) -> dict[str, str]:
    return {"Authorization": f"Bearer {_admin_token(fuzzed_server.url)}"}


# sso-logout revokes every access token of the caller, the fuzzer's own included: after it the
# remaining operations would only ever see "Please login first". Its own tests live in
# tests/identity/test_accounts.py.
EXCLUDED = {("POST", "/api/sso-logout")}


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
            case.query["id"] = f"{owner}/{case.query['id'].replace('/', '') or 'x'}"
    return case


def _fuzz(operation: APIOperation, base_url: str, headers: dict[str, str]) -> None:
    """Up to MAX_EXAMPLES generated calls, valid and invalid, to one operation."""
    positive = operation.as_strategy(GenerationMode.POSITIVE)
    cases = positive | positive.map(_in_existing_organization) | operation.as_strategy(GenerationMode.NEGATIVE)

    @given(case=cases)
    @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def call(case: Case) -> None:
        case.call_and_validate(base_url=base_url, headers=headers, checks=[not_a_server_error], timeout=30)

    call()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        return "\n".join([str(exc), *(_describe(inner) for inner in exc.exceptions)])
    return f"{type(exc).__name__}: {exc}"


def test_no_input_makes_a_server_error(fuzzed_server: ServerProcess, admin_headers: dict[str, str]) -> None:
    # schemathesis' own pytest integration (from_fixture) does not work with pytest 9 (it sets
    # request.node._nodeid), so each operation is driven through its Hypothesis strategy instead.
    schema = schemathesis.openapi.from_url(f"{fuzzed_server.url}/openapi.json", timeout=30)
    failures, tried = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in EXCLUDED:
            continue
        tried += 1
        try:
            _fuzz(operation, fuzzed_server.url, admin_headers)
        except (Exception, FailureGroup) as exc:  # keep going: one report with every failing operation
            failures.append(f"{operation.method.upper()} {operation.path}:\n{_describe(exc)}")
    assert tried > 100, f"only {tried} operations found in /openapi.json"
    assert not failures, "\n\n".join(failures)
