import base64
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from hookdoor.events.ids import encode_ulid
from hookdoor.webhooks.signing import (
    generate_secret,
    new_message_id,
    signature_header,
    standard_headers,
    unix_seconds,
    validate_secret,
)

BODY = json.dumps({"type": "user.created", "data": {"name": "alice", "displayName": "Ålice ✓"}}).encode()


def now() -> datetime:
    return datetime.now(UTC)


def test_generated_secret_is_whsec_and_32_bytes() -> None:
    secret = generate_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    validate_secret(secret)
    assert generate_secret() != secret


def test_receiver_verifies_signature() -> None:
    secret = generate_secret()
    headers = standard_headers(new_message_id(), now(), BODY, [secret])
    assert Webhook(secret).verify(BODY, headers) == json.loads(BODY)


def test_rotation_both_old_and_new_secret_verify() -> None:
    new, old = generate_secret(), generate_secret()
    headers = standard_headers(new_message_id(), now(), BODY, [new, old])
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(new).verify(BODY, headers) == json.loads(BODY)
    assert Webhook(old).verify(BODY, headers) == json.loads(BODY)


def test_unrelated_secret_fails() -> None:
    headers = standard_headers(new_message_id(), now(), BODY, [generate_secret()])
    with pytest.raises(WebhookVerificationError):
        Webhook(generate_secret()).verify(BODY, headers)


def test_tampered_body_fails() -> None:
    secret = generate_secret()
    headers = standard_headers(new_message_id(), now(), BODY, [secret])
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace(b"alice", b"mallory"), headers)


def test_tampered_id_fails() -> None:
    secret = generate_secret()
    headers = standard_headers(new_message_id(), now(), BODY, [secret])
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, {**headers, "webhook-id": new_message_id()})


def test_headers_carry_id_and_integer_timestamp() -> None:
    when = datetime(2026, 8, 22, 8, 53, 36, 900_000, tzinfo=UTC)
    headers = standard_headers("msg_1", when, BODY, [generate_secret()])
    assert headers["webhook-id"] == "msg_1"
    assert headers["webhook-timestamp"] == str(int(when.timestamp()))
    assert headers["webhook-signature"].startswith("v1,")


def test_non_utc_timestamp_is_converted_not_relabelled() -> None:
    secret = generate_secret()
    utc = datetime(2026, 8, 22, 8, 53, 36, tzinfo=UTC)
    shanghai = utc.astimezone(timezone(timedelta(hours=8)))
    assert signature_header([secret], "msg_1", shanghai, BODY) == signature_header([secret], "msg_1", utc, BODY)
    assert unix_seconds(shanghai) == unix_seconds(utc)


def test_signature_matches_the_reference_library() -> None:
    secret = generate_secret()
    when = datetime(2026, 8, 22, 8, 53, 36, tzinfo=UTC)
    assert signature_header([secret], "msg_1", when, BODY) == Webhook(secret).sign("msg_1", when, BODY.decode())


def test_signing_refuses_naive_timestamps_non_utf8_bodies_and_no_secret() -> None:
    secret = generate_secret()
    with pytest.raises(ValueError, match="timezone-aware"):
        signature_header([secret], "msg_1", datetime(2026, 8, 22), BODY)
    with pytest.raises(ValueError, match="UTF-8"):
        signature_header([secret], "msg_1", now(), b"\xff\xfe")
    with pytest.raises(ValueError, match="at least one secret"):
        signature_header([], "msg_1", now(), BODY)


@given(body=st.binary(max_size=200).filter(lambda b: _is_utf8(b)))
def test_any_utf8_body_verifies(body: bytes) -> None:
    secret = "whsec_" + base64.b64encode(bytes(range(32))).decode()
    headers = standard_headers("msg_x", now(), body, [secret])
    Webhook(secret).verify(body, headers, json_parse=False)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@pytest.mark.parametrize(
    "secret",
    [
        "whsec_" + base64.b64encode(bytes(24)).decode(),
        "whsec_" + base64.b64encode(bytes(64)).decode(),
        "whsec_" + base64.b64encode(bytes(32)).decode().rstrip("="),
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    ],
)
def test_valid_secrets(secret: str) -> None:
    validate_secret(secret)


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("", "must start with 'whsec_'"),
        (base64.b64encode(bytes(32)).decode(), "must start with 'whsec_'"),
        ("whsec_", "24 to 64 bytes, not 0"),
        ("whsec_" + base64.b64encode(bytes(23)).decode(), "24 to 64 bytes, not 23"),
        ("whsec_" + base64.b64encode(bytes(65)).decode(), "24 to 64 bytes, not 65"),
        ("whsec_" + base64.urlsafe_b64encode(b"\xfb" * 32).decode(), "standard base64"),
        ("whsec_not base64 at all!", "standard base64"),
    ],
)
def test_invalid_secrets(secret: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_secret(secret)


def test_signing_validates_every_secret() -> None:
    with pytest.raises(ValueError):
        signature_header([generate_secret(), "whsec_short"], "msg_1", now(), BODY)


def test_message_ids_are_prefixed_unique_and_sorted() -> None:
    ids = [new_message_id() for _ in range(2000)]
    assert all(i.startswith("msg_") and len(i) == 30 for i in ids)
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)


def test_message_ids_sort_by_time() -> None:
    earlier = new_message_id()
    assert encode_ulid(0) == "0" * 26
    assert encode_ulid(2**128 - 1) == "7" + "Z" * 25
    assert new_message_id() > earlier


@given(st.integers(min_value=0, max_value=2**128 - 1), st.integers(min_value=0, max_value=2**128 - 1))
def test_ulid_encoding_preserves_order(a: int, b: int) -> None:
    assert (encode_ulid(a) < encode_ulid(b)) == (a < b)
