"""A local payment provider on 127.0.0.1 (aiohttp), playing the external payment page of the
``Custom HTTP`` payment provider: it opens checkouts, and its payment page calls notify-payment
(signed) and sends the browser back to the return URL."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from tests.support import free_port


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class Notified:
    body: bytes
    status: int
    answer: dict[str, Any]


@dataclass
class PaymentServer:
    secret: str
    port: int = field(default_factory=free_port)
    checkouts: dict[str, dict[str, Any]] = field(default_factory=dict)
    notified: list[Notified] = field(default_factory=list)
    refused_checkouts: int = 0
    outcome: str = "Paid"  # what the payment page reports
    price_override: str | None = None  # a provider that reports another price

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/checkout"

    def start(self) -> PaymentServer:
        self._loop = asyncio.new_event_loop()
        started = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(started,), daemon=True)
        self._thread.start()
        started.wait(10)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def _serve(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_post("/checkout", self._checkout)
        app.router.add_get("/pay/{order_id}", self._pay_page)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        self._loop.run_until_complete(self._runner.setup())
        self._loop.run_until_complete(web.TCPSite(self._runner, "127.0.0.1", self.port).start())
        started.set()
        self._loop.run_forever()

    async def _checkout(self, request: web.Request) -> web.Response:
        body = await request.read()
        if not hmac.compare_digest(sign(self.secret, body), request.headers.get("Payment-Signature", "")):
            self.refused_checkouts += 1
            return web.json_response({"error": "bad signature"}, status=401)
        order_id = uuid.uuid4().hex
        self.checkouts[order_id] = json.loads(body)
        return web.json_response({"payUrl": f"http://127.0.0.1:{self.port}/pay/{order_id}", "orderId": order_id})

    def report(self, order_id: str, state: str | None = None) -> bytes:
        checkout = self.checkouts[order_id]
        return json.dumps({"orderId": order_id, "state": state or self.outcome,
                           "price": self.price_override or checkout["price"],
                           "currency": checkout["currency"]}).encode()

    async def _pay_page(self, request: web.Request) -> web.Response:
        """The customer paid: tell the identity server, then send the browser back."""
        order_id = request.match_info["order_id"]
        checkout = self.checkouts[order_id]
        body = self.report(order_id)
        await self.notify(checkout["notifyUrl"], body, sign(self.secret, body))
        raise web.HTTPFound(checkout["returnUrl"])

    async def notify(self, url: str, body: bytes, signature: str) -> Notified:
        async with aiohttp.ClientSession() as http, http.post(
            url, data=body, headers={"Payment-Signature": signature, "Content-Type": "application/json"}
        ) as response:
            notified = Notified(body, response.status, await response.json(content_type=None))
        self.notified.append(notified)
        return notified

    def notify_now(self, url: str, body: bytes, signature: str) -> Notified:
        return asyncio.run_coroutine_threadsafe(self.notify(url, body, signature), self._loop).result(30)
