"""A FastAPI receiver for Hookdoor webhooks, using the hookdoor.receiver SDK.

Run:  WEBHOOK_SECRET=whsec_... python examples/fastapi/app.py     (PORT, default 3000)
"""

import os
import sys

import uvicorn
from fastapi import Depends, FastAPI

from hookdoor.receiver import Idempotency, WebhookEvent
from hookdoor.receiver.fastapi import webhook_event

# During a secret rotation, give both secrets separated by a space: either may sign.
SECRETS = os.environ.get("WEBHOOK_SECRET", "").split()
if not SECRETS:
    sys.exit("Set WEBHOOK_SECRET to the webhook's signing secret (hookdoor webhooks show NAME --show-secrets).")

app = FastAPI(title="Hookdoor webhook receiver")
seen = Idempotency()  # Hookdoor may deliver a message twice, always under the same webhook-id


@app.post("/webhook")
def receive(event: WebhookEvent = Depends(webhook_event(SECRETS, idempotency=seen))) -> dict[str, str]:
    if event.duplicate:
        print(f"duplicate {event.event_type} webhook {event.webhook_id}: already handled", flush=True)
        return {"status": "duplicate"}
    who = getattr(event, "username", "") or getattr(event, "user", "") or ""
    print(f"verified {event.event_type} webhook {event.webhook_id} ({event.format} format, user {who!r})", flush=True)
    return {"status": "received"}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ.get("PORT", "3000")), log_level="warning")
