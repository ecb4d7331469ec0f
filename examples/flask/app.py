"""A Flask receiver for Hookdoor webhooks, using the hookdoor.receiver SDK.

Run:  WEBHOOK_SECRET=whsec_... python examples/flask/app.py     (PORT, default 3000; needs flask)
"""

import os
import sys

from flask import Flask

from hookdoor.receiver import Idempotency, WebhookEvent
from hookdoor.receiver.flask import verify_webhook

# During a secret rotation, give both secrets separated by a space: either may sign.
SECRETS = os.environ.get("WEBHOOK_SECRET", "").split()
if not SECRETS:
    sys.exit("Set WEBHOOK_SECRET to the webhook's signing secret (hookdoor webhooks show NAME --show-secrets).")

app = Flask(__name__)
seen = Idempotency()  # Hookdoor may deliver a message twice, always under the same webhook-id


@app.post("/webhook")
@verify_webhook(SECRETS, idempotency=seen)
def receive(event: WebhookEvent) -> dict[str, str]:
    if event.duplicate:
        print(f"duplicate {event.event_type} webhook {event.webhook_id}: already handled", flush=True)
        return {"status": "duplicate"}
    who = getattr(event, "username", "") or getattr(event, "user", "") or ""
    print(f"verified {event.event_type} webhook {event.webhook_id} ({event.format} format, user {who!r})", flush=True)
    return {"status": "received"}


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "3000")))
