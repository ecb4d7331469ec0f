"""Why a webhook was refused. Every error is a :class:`WebhookVerificationError`, which is also the
``standardwebhooks`` package's error class, so code written against that package keeps working."""

from __future__ import annotations

from standardwebhooks.webhooks import WebhookVerificationError as _StandardError


class WebhookVerificationError(_StandardError):
    """The request is not an authentic, fresh, well-formed Hookdoor webhook; answer 4xx."""

    #: The HTTP status the framework helpers answer with.
    status_code = 400


class SignatureError(WebhookVerificationError):
    """Missing Standard Webhooks headers, or no signature made with any of the given secrets."""

    status_code = 401


class TimestampError(WebhookVerificationError):
    """Authentic, but ``webhook-timestamp`` is outside the tolerance (a replay, or clocks far apart),
    or not a Unix time at all."""

    status_code = 401


class PayloadError(WebhookVerificationError):
    """The body is not one of Hookdoor's payload formats (or not UTF-8, JSON or a form)."""

    status_code = 400
