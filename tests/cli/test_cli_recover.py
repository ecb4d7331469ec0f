"""``hookdoor deliveries recover`` against an endpoint whose circuit breaker is open, and with
retrying deliveries (the usual state of a failing endpoint): it names the breaker and finishes."""

from __future__ import annotations

import json
import re

from tests.cli.conftest import Run
from tests.receiver import Receiver
from tests.support import ADMIN_PASSWORD, Api, ServerProcess, eventually, unique

BREAKER_SAMPLES = 10  # CircuitBreaker's min_samples: this many failures in a row open it


def _failing_webhook(run: Run, receiver: Receiver) -> str:
    name = unique("cli-breaker")
    # An event no other test causes: only the test events below reach it.
    added = run("webhooks", "add", name, receiver.url(f"/status/500/{name}"), "-e", "delete-ticket")
    assert added.exit_code == 0, added
    return name


def test_recover_names_an_open_breaker_and_sends_past_it_with_force(logged_in: Run, receiver: Receiver,
                                                                  server: ServerProcess) -> None:
    run = logged_in
    name = _failing_webhook(run, receiver)
    admin = Api(server.url)
    admin.login("admin", ADMIN_PASSWORD)
    for _ in range(BREAKER_SAMPLES):
        assert admin.post("test-webhook", params={"id": f"built-in/{name}"})["status"] == "ok"
    receiver.wait_for(lambda a: a.path.endswith(name), count=BREAKER_SAMPLES)
    # Their first retries come 5 s later and are put off by the open breaker.
    eventually(lambda: admin.get("get-webhook-health", id=f"built-in/{name}")["data"]["circuitBreaker"] == "open",
               "the breaker to hold a retry", every=0.2)

    # A worker may hold one at any instant (it is "delivering" while being put off again).
    retrying = json.loads(run("deliveries", "list", "-w", name, "--state", "retrying", "--json").stdout)
    assert len(retrying) >= BREAKER_SAMPLES - 2 and {r["status"] for r in retrying} == {"retrying"}
    shown = run("webhooks", "show", name)
    counts = re.search(r"0 succeeded, 0 failed, (\d+) retrying \(next try [^)]+\), 0 pending, (\d+) in flight",
                       shown.stdout)
    assert counts and int(counts[1]) + int(counts[2]) == BREAKER_SAMPLES, shown.stdout
    assert "circuit breaker" in shown.stdout and "open" in shown.stdout

    refused = run("deliveries", "recover", name, "--since", "10m")
    assert refused.exit_code == 1
    assert "circuit breaker" in refused.stderr and "--force" in refused.stderr, refused

    forced = run("deliveries", "recover", name, "--since", "10m", "--force", "--json", "--timeout", "30")
    summary = json.loads(forced.stdout)
    # A delivery a worker holds at that instant (to put it off again) is not requeued: all others are,
    # each one tried at once despite the breaker, and followed to its outcome (no "not attempted yet").
    requeued = summary["requeued"]
    assert BREAKER_SAMPLES // 2 <= requeued <= BREAKER_SAMPLES, summary
    assert summary == {"webhook": f"built-in/{name}", "requeued": requeued, "succeeded": 0,
                       "failed": requeued, "heldByBreaker": 0, "waiting": 0}, summary
    assert forced.exit_code == 1
    assert len(receiver.matching(lambda a: a.path.endswith(name))) == BREAKER_SAMPLES + requeued


def test_recover_refuses_a_disabled_webhook(logged_in: Run, receiver: Receiver) -> None:
    run = logged_in
    name = _failing_webhook(run, receiver)
    assert run("webhooks", "disable", name).exit_code == 0
    refused = run("deliveries", "recover", name, "--since", "10m")
    assert refused.exit_code == 1
    assert f"webhook built-in/{name} is disabled" in refused.stderr
    assert f"hookdoor webhooks enable built-in/{name}" in refused.stderr
