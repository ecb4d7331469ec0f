"""What the recorder keeps of a request: the URI as Casdoor writes it, the body with credentials masked."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from hookdoor.events.recorder import (
    CREDENTIAL_PARAMS,
    MASK,
    RECORDED_BODY_LIMIT,
    ParsedBody,
    casdoor_language,
    masked,
    recorded_body,
    redacted_uri,
)
from hookdoor.identity.registry import KINDS


def _request(path: str, query: bytes) -> Request:
    return Request({"type": "http", "method": "POST", "path": path, "query_string": query, "headers": []})


@pytest.mark.parametrize(
    ("query", "uri"),
    [
        (b"", "/api/update-user"),
        (b"id=built-in%2Fchk-alice", "/api/update-user?id=built-in/chk-alice"),  # `/` unescaped, as FilterQuery
        (b"id=built-in/a&columns=displayName", "/api/update-user?columns=displayName&id=built-in/a"),  # sorted
        (b"b=2&a=1&b=1", "/api/update-user?a=1&b=2&b=1"),  # a name's values keep their order
        (b"id=a+b%26c%3Dd", "/api/update-user?id=a+b%26c%3Dd"),  # Go's QueryEscape: space as +
        (b"flag", "/api/update-user?flag="),
    ],
)
def test_uri_is_written_as_casdoors_filter_query(query: bytes, uri: str) -> None:
    assert redacted_uri(_request("/api/update-user", query)) == uri


def test_credential_parameters_are_left_out_of_the_uri() -> None:
    query = b"id=a/b&accessToken=t&clientId=c&clientSecret=s&ACCESS_TOKEN=u&password=p&code=x&id_token_hint=j"
    assert redacted_uri(_request("/api/get-account", query)) == "/api/get-account?clientId=c&id=a/b"
    assert redacted_uri(_request("/api/get-account", b"accessToken=t")) == "/api/get-account"


def test_uri_is_cut_at_casdoors_column_size() -> None:
    assert len(redacted_uri(_request("/api/get-users", b"owner=" + b"x" * 2000))) == 1000


def test_every_credential_in_a_body_is_masked_at_any_depth() -> None:
    body = {"userName": "bob", "newPassword": "n", "OldPassword": "o", "password": "",
            "nested": {"clientSecret": {"deep": 1}, "list": [{"refresh_token": "r", "keep": "k"}]},
            "accessSecret": 12, "code": None}
    assert masked(body) == {"userName": "bob", "newPassword": MASK, "OldPassword": MASK, "password": MASK,
                            "nested": {"clientSecret": MASK, "list": [{"refresh_token": MASK, "keep": "k"}]},
                            "accessSecret": MASK, "code": MASK}
    assert body["newPassword"] == "n", "the parsed body the route uses is not changed"


def test_every_secret_field_of_every_kind_is_a_credential() -> None:
    """One list: a body that creates or changes an object must not carry its secrets out."""
    fields = {name for kind in KINDS for name in (*kind.secret_fields, *kind.hidden_fields)}
    assert {name for name in fields if name.lower() not in CREDENTIAL_PARAMS} == set()


def test_a_body_is_recorded_within_a_bound() -> None:
    assert recorded_body(None) == {}
    assert recorded_body(ParsedBody({"password": "p"}, "form", 12)) == {"body": {"password": MASK},
                                                                        "bodyEncoding": "form"}
    assert recorded_body(ParsedBody({"a": "x"}, "json", RECORDED_BODY_LIMIT + 1)) == {}


@pytest.mark.parametrize(
    ("header", "language"),
    [("", "en"), ("*", "en"), ("de-DE,de;q=0.9", "de"), ("DE", "DE"), ("nu", "en"), ("é", "en"), ("zh", "zh")],
)
def test_language_is_casdoors(header: str, language: str) -> None:
    assert casdoor_language(header) == language
