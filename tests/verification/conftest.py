from __future__ import annotations

import ssl
from collections.abc import Iterator

import pytest

from tests.conftest import SERVER_ENV
from tests.messaging.conftest import smtp  # noqa: F401 (the SMTP server, a fixture here too)
from tests.messaging.peers import self_signed_localhost
from tests.support import ServerProcess, running_server


@pytest.fixture(scope="session")
def localhost_tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, ssl.SSLContext]:
    return self_signed_localhost(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def brief_codes_server(tmp_path_factory: pytest.TempPathFactory,
                       localhost_tls: tuple[str, ssl.SSLContext]) -> Iterator[ServerProcess]:
    """A server whose codes expire after two seconds and whose callers send three messages an hour, for
    the tests that let a code expire and that reach the limit per caller, and that trusts a test CA."""
    env = {**SERVER_ENV, "HOOKDOOR_VERIFICATION_CODE_SECONDS": "2", "HOOKDOOR_SEND_LIMIT_PER_CALLER": "3",
           # It trusts the tests' certificate for "localhost" (and nothing else): the SMTP TLS tests.
           "SSL_CERT_FILE": localhost_tls[0]}
    with running_server("sqlite", tmp_path_factory.mktemp("brief-codes"), env) as process:
        yield process
