from tests.messaging.conftest import smtp  # noqa: F401 (the SMTP server, a fixture here too)
