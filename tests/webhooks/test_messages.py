"""Validation messages in words: the field named first, no validator internals."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from hookdoor.api.messages import field_of_message, validation_message
from hookdoor.identity.schemas import User
from hookdoor.webhooks.config import WebhookConfig


def message(model: Any, **body: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        model.model_validate({"owner": "o", "name": "n", "url": "https://example.com/h", **body})
    return validation_message(caught.value)


def test_webhook_messages_read_like_a_person_wrote_them() -> None:
    assert message(WebhookConfig, headers=[{"name": "X-A"}, {"name": "A B"}]) == (
        "invalid field headers: header 2, name: the name 'A B' must be a token (letters, digits, - and _; "
        "no spaces or colons)")
    assert message(WebhookConfig, events=["no-such-event"]) == (
        "invalid field events: unknown event: no-such-event (see 'hookdoor events list' or GET /api/get-event-types)")
    assert message(WebhookConfig, maxRetries=-1) == "invalid field maxRetries: must be at least 0"
    assert message(WebhookConfig, ordered="perhaps") == "invalid field ordered: must be true or false"
    for text in (message(WebhookConfig, headers=[{"name": "A B"}]), message(WebhookConfig, events=["x-y-z"])):
        assert "Value error" not in text and ".0." not in text


def test_object_keys_stay_in_the_field_name_and_the_form_finds_the_field() -> None:
    text = message(User, properties={"team": 1})
    assert text.startswith("invalid field properties.team: ")
    assert field_of_message(text) == "properties"
    assert field_of_message(message(WebhookConfig, headers=[{"name": "A B"}])) == "headers"
    assert field_of_message("invalid parameter state: must be one of ...") == "state"
    assert field_of_message("webhook x does not exist") is None
