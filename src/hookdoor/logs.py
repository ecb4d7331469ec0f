"""Logging for `hookdoor serve` and `hookdoor worker`: one set-up, and no credential in any line.

Uvicorn's access log writes every request line with its query string, and Casdoor's clients put
credentials there (``/api/get-account?accessToken=...``, ``clientSecret``, ``password``, OAuth's
``code``...). Every handler therefore runs :class:`CredentialFilter`, which replaces the value of
each ``name=value`` pair whose name is one of the event recorder's ``CREDENTIAL_PARAMS`` (the one
list of credential names) with ``***``: in the message, in its arguments and in a traceback.
"""

from __future__ import annotations

import copy
import logging
import logging.config
import re
from typing import Any
from urllib.parse import unquote_plus

from hookdoor.events.recorder import CREDENTIAL_PARAMS

MASK = "***"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# A name and its value as a query string writes them. The name may be percent-encoded
# (`%61ccessToken` is accessToken to the server), so it is decoded before it is looked up.
_PAIR = re.compile(r"(?P<name>[A-Za-z0-9_.~%+-]+)=(?P<value>[^&\s\"'#;,)]*)")


def _masked_pair(match: re.Match[str]) -> str:
    name = match.group("name")
    if unquote_plus(name).lower() in CREDENTIAL_PARAMS and match.group("value"):
        return f"{name}={MASK}"
    return match.group(0)


def redact_credentials(text: str) -> str:
    """``text`` with the value of every credential ``name=value`` pair replaced by ``***``."""
    return _PAIR.sub(_masked_pair, text) if "=" in text else text


def _redacted(value: Any) -> Any:
    return redact_credentials(value) if isinstance(value, str) else value


class CredentialFilter(logging.Filter):
    """Rewrites a record so that no credential query value reaches the output. Arguments are
    redacted one by one first: uvicorn's access formatter reads them separately (the path with its
    query is one of them). A credential that only the assembled message shows (split between the
    format and an argument, or inside an object's text) makes the record a plain redacted message."""

    def filter(self, record: logging.LogRecord) -> bool:
        # The format itself is left alone here: masking `clientSecret=%s` would drop its placeholder.
        if isinstance(record.args, dict):
            record.args = {key: _redacted(value) for key, value in record.args.items()}
        elif record.args:
            record.args = tuple(_redacted(value) for value in record.args)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a bad format: logging reports it itself, with the record
            return True
        if (redacted := redact_credentials(message)) != message:
            record.msg, record.args = redacted, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_credentials(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_credentials(record.stack_info)
        return True


def logging_config() -> dict[str, Any]:
    """Uvicorn's own logging (its formats; access lines on stdout), Hookdoor's lines on stderr,
    every handler behind the credential filter."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"credentials": {"()": CredentialFilter}}
    config["formatters"]["hookdoor"] = {"format": FORMAT}
    config["handlers"]["hookdoor"] = {
        "class": "logging.StreamHandler", "formatter": "hookdoor", "stream": "ext://sys.stderr",
    }
    for handler in config["handlers"].values():
        handler["filters"] = ["credentials"]
    config["root"] = {"handlers": ["hookdoor"], "level": "INFO"}
    return config


def configure_logging() -> None:
    logging.config.dictConfig(logging_config())
    logging.captureWarnings(True)  # Python's warnings go to stderr too: through the same handlers
