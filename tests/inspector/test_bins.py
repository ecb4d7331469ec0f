"""Bins on a real server with the default target policy: capture over HTTP, expiry, the live stream,
and webhooks pointing at the server's own bins (admitted without any allow-list, delivered in-process)."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import requests

from tests.console.browser import ConsoleClient, expire_bin, table_rows
from tests.inspector.conftest import new_bin
from tests.support import ADMIN_PASSWORD, Api, ServerProcess, eventually, unique


def captures(server: ServerProcess, bin_id: str) -> list[dict[str, Any]]:
    return table_rows(server, "inspector_requests", bin_id=bin_id)


def test_any_method_and_subpath_is_captured(inspector_server: ServerProcess, console: ConsoleClient) -> None:
    bin_id, url = new_bin(console)
    sent = [("GET", "", {"params": {"a": "1", "b": "two"}}), ("PUT", "/x/y", {"json": {"k": [1, 2]}}),
            ("DELETE", "/item/7", {}), ("PROPFIND", "/dav", {"data": b"<propfind/>"}), ("HEAD", "/h", {}),
            ("POST", "/form", {"data": {"name": "value"}, "headers": {"X-Custom": "c1"}})]
    for method, tail, extra in sent:
        answer = requests.request(method, url + tail, timeout=10, **extra)
        assert answer.status_code == 200, (method, answer.text)
    rows = captures(inspector_server, bin_id)
    token = url.rsplit("/", 1)[1]
    assert [(r["method"], r["path"]) for r in rows] == [(m, f"/inspect/{token}{t}") for m, t, _ in sent]
    assert rows[0]["query"] == "a=1&b=two"
    assert rows[1]["body"] == '{"k": [1, 2]}'
    assert ["x-custom", "c1"] in [[k.lower(), v] for k, v in _headers(rows[5])]

    page = console.get(f"/console/inspector/{bin_id}")
    assert page.status_code == 200
    assert "PROPFIND" in page.text and "name = value" in page.text  # a form body shown as fields
    assert "&#34;k&#34;: [\n    1,\n    2\n  ]" in page.text  # JSON pretty-printed


def _headers(row: dict[str, Any]) -> list[list[str]]:
    headers = row["headers"]
    return json.loads(headers) if isinstance(headers, str) else headers


def test_unknown_bins_answer_404_and_expired_ones_410(inspector_server: ServerProcess,
                                                      console: ConsoleClient) -> None:
    bin_id, url = new_bin(console)
    assert requests.post(url.rsplit("/", 1)[0] + "/" + "n" * 32, timeout=10).status_code == 404
    assert requests.post(url.rsplit("/", 1)[0] + "/bad!token", timeout=10).status_code == 404
    requests.post(url, data=b"before", timeout=10)
    expire_bin(inspector_server, bin_id)
    assert requests.post(url, data=b"after", timeout=10).status_code == 410
    page = console.get(f"/console/inspector/{bin_id}")
    assert "expired" in page.text and "data-stream" not in page.text
    assert len(captures(inspector_server, bin_id)) == 1


def test_arrivals_stream_live_and_resume_after_the_last_event(inspector_server: ServerProcess,
                                                              console: ConsoleClient) -> None:
    bin_id, url = new_bin(console)
    lines: list[str] = []
    opened = threading.Event()

    def listen(headers: dict[str, str]) -> None:
        with console.http.get(f"{inspector_server.url}/console/inspector/{bin_id}/stream", stream=True,
                              timeout=20, headers=headers) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            for line in stream.iter_lines(decode_unicode=True):
                opened.set()
                lines.append(line)
                if not line and any("live-arrival" in seen for seen in lines):
                    return  # the blank line that ends the arrival's event

    listener = threading.Thread(target=listen, args=({},))
    started = time.monotonic()
    listener.start()
    assert opened.wait(10)
    requests.post(url + "/live-arrival", json={"hello": "stream"}, timeout=10)
    listener.join(10)
    assert not listener.is_alive() and time.monotonic() - started < 10
    assert "event: arrival" in lines
    event_id = next(line.removeprefix("id: ") for line in lines if line.startswith("id: "))
    assert any("&#34;hello&#34;: &#34;stream&#34;" in line for line in lines)

    # A reconnecting browser sends Last-Event-ID: what it has already seen is not sent again.
    requests.post(url + "/second", timeout=10)
    with console.http.get(f"{inspector_server.url}/console/inspector/{bin_id}/stream", stream=True, timeout=20,
                          headers={"Last-Event-ID": event_id}) as stream:
        seen = []
        for line in stream.iter_lines(decode_unicode=True):
            seen.append(line)
            if "/second" in line:
                break
    assert not any("live-arrival" in line for line in seen)


def test_webhook_at_an_own_bin_is_admitted_and_delivered_in_process(inspector_server: ServerProcess,
                                                                      console: ConsoleClient) -> None:
    bin_id, url = new_bin(console)
    api = Api(inspector_server.url)
    api.login("admin", ADMIN_PASSWORD)
    name = unique("hook")
    body = {"owner": "built-in", "name": name, "url": url + "/deliveries?source=hookdoor", "events": ["login"],
            "headers": [{"name": "X-Custom", "value": "custom-1"}]}
    assert api.post("add-webhook", body)["status"] == "ok"  # no allow-list: the server's own bin

    Api(inspector_server.url).login("admin", ADMIN_PASSWORD)
    [row] = eventually(lambda: captures(inspector_server, bin_id), "the bin's capture of the delivery")
    assert row["source"] == "delivery" and row["method"] == "POST" and row["query"] == "source=hookdoor"
    assert ["X-Custom", "custom-1"] in _headers(row)
    page = console.get(f"/console/inspector/{bin_id}").text
    assert 'data-signature="valid"' in page  # the bin was linked to the webhook when it was saved
    # The capture is stored as the bin answers; the delivery's outcome a moment later.
    events = eventually(lambda: (found := api.get("get-webhook-events", webhook=f"built-in/{name}")["data"])
                        and found[0]["state"] == "Success" and found, "the delivery's outcome")
    detail = api.get("get-webhook-event-detail", id=events[0]["name"])["data"]
    assert detail["attempts"][0]["responseBody"] == "captured by the Hookdoor inspector"


def test_a_delivery_by_the_worker_process_reaches_the_live_stream(inspector_server: ServerProcess,
                                                                  console: ConsoleClient) -> None:
    """On two cores `serve`'s worker is its child process: its captures are found by the stream's poll."""
    bin_id, url = new_bin(console)
    api = Api(inspector_server.url)
    api.login("admin", ADMIN_PASSWORD)
    body = {"owner": "built-in", "name": unique("hook"), "url": url + "/from-the-worker", "events": ["login"]}
    assert api.post("add-webhook", body)["status"] == "ok"
    seen: list[str] = []
    opened = threading.Event()

    def listen() -> None:
        with console.http.get(f"{inspector_server.url}/console/inspector/{bin_id}/stream", stream=True,
                              timeout=20) as stream:
            for line in stream.iter_lines(decode_unicode=True):
                opened.set()
                seen.append(line)
                if "/from-the-worker" in line:
                    return

    listener = threading.Thread(target=listen)
    listener.start()
    assert opened.wait(10)
    started = time.monotonic()
    Api(inspector_server.url).login("admin", ADMIN_PASSWORD)
    listener.join(12)
    assert not listener.is_alive() and any("/from-the-worker" in line for line in seen)
    assert time.monotonic() - started < 10  # found by the poll (every 0.5 s), before the stream ends (15 s)


def test_other_loopback_targets_stay_refused(inspector_server: ServerProcess, console: ConsoleClient) -> None:
    _, url = new_bin(console)
    api = Api(inspector_server.url)
    api.login("admin", ADMIN_PASSWORD)
    base = inspector_server.url
    for target, problem in ((f"{base}/api/get-users", "loopback"),
                            (f"{base}/inspect/{'n' * 32}", "no live inspector bin"),
                            (url.replace("127.0.0.1", "localhost"), "loopback"),
                            (f"http://127.0.0.1:{inspector_server.port + 1}/inspect/{url.rsplit('/', 1)[1]}",
                             "loopback")):
        answer = api.post("add-webhook", {"owner": "built-in", "name": unique("hook"), "url": target,
                                          "events": ["login"]})
        assert answer["status"] == "error" and problem in answer["msg"], (target, answer)


def test_an_expired_bin_disables_its_webhook(inspector_server: ServerProcess, console: ConsoleClient) -> None:
    bin_id, url = new_bin(console)
    api = Api(inspector_server.url)
    api.login("admin", ADMIN_PASSWORD)
    name = unique("hook")
    assert api.post("add-webhook", {"owner": "built-in", "name": name, "url": url, "events": ["logout"]})[
        "status"] == "ok"
    expire_bin(inspector_server, bin_id)
    api.get("logout")
    api.login("admin", ADMIN_PASSWORD)
    def disabled() -> dict[str, Any] | None:
        webhook = api.get("get-webhook", id=f"built-in/{name}")["data"]
        return None if webhook["isEnabled"] else webhook

    webhook = eventually(disabled, "the webhook to be disabled")
    assert webhook["isEnabled"] is False and "410" in webhook["disabledReason"]


def test_one_click_webhook_then_relink_and_delete_the_bin(inspector_server: ServerProcess,
                                                          console: ConsoleClient) -> None:
    bin_id, url = new_bin(console)
    made = console.submit(f"/console/inspector/{bin_id}/webhook", {})
    assert made.status_code == 303 and made.headers["location"].endswith("notice=webhook-created")
    [bin_row] = table_rows(inspector_server, "inspector_bins", id=bin_id)
    api = Api(inspector_server.url)
    api.login("admin", ADMIN_PASSWORD)
    webhook = api.get("get-webhook", id=f"built-in/{bin_row['webhook_name']}")["data"]
    assert webhook["url"] == url and set(webhook["events"]) == {"signup", "login", "logout", "update-user"}
    assert table_rows(inspector_server, "events", action="add-webhook")[-1]["outcome"] == "ok"  # the API's event

    assert console.submit(f"/console/inspector/{bin_id}/link", {"webhook": ""}).status_code == 303
    assert table_rows(inspector_server, "inspector_bins", id=bin_id)[0]["webhook_name"] is None
    requests.post(url, json={"unsigned": True}, timeout=10)
    page = console.get(f"/console/inspector/{bin_id}").text
    assert "data-signature" not in page  # no webhook linked: no badge at all

    assert console.get(f"/console/inspector/{bin_id}/delete").status_code == 200
    assert console.submit(f"/console/inspector/{bin_id}/delete", {}).status_code == 303
    assert requests.post(url, timeout=10).status_code == 404
    assert console.get(f"/console/inspector/{bin_id}").status_code == 404
    assert table_rows(inspector_server, "inspector_requests", bin_id=bin_id) == []


def test_unknown_console_pages_are_html_404s(inspector_server: ServerProcess, console: ConsoleClient) -> None:
    answer = console.get("/console/no/such/page")
    assert answer.status_code == 404 and "text/html" in answer.headers["content-type"]
    assert "default-src 'self'" in answer.headers["content-security-policy"]
    assert console.get("/console/static/console.css").status_code == 200
