// The Node.js receiver from Casdoor's webhook overview, extended to verify Hookdoor's signatures
// (Standard Webhooks, with the `standardwebhooks` package). Run:
//   npm ci && WEBHOOK_SECRET=whsec_... npm start
const express = require('express');
const { Webhook } = require('standardwebhooks');

// During a secret rotation, give both secrets separated by a space: either may sign.
const secrets = (process.env.WEBHOOK_SECRET || '').split(/\s+/).filter(Boolean);
if (secrets.length === 0) {
  console.error('Set WEBHOOK_SECRET to the webhook\'s signing secret (hookdoor webhooks show NAME --show-secrets).');
  process.exit(2);
}
const verifiers = secrets.map((secret) => new Webhook(secret));
const port = Number(process.env.PORT || 3000);
const app = express();

// Not express.json(): the signature covers the exact bytes sent, so keep them raw.
app.post('/webhook', express.raw({ type: '*/*', limit: '1mb' }), (req, res) => {
  const body = req.body.toString('utf8');
  const isForm = (req.get('content-type') || '').startsWith('application/x-www-form-urlencoded');
  let verified = false;
  for (const verifier of verifiers) {
    try {
      verifier.verify(body, req.headers, { jsonParse: false });
      verified = true;
      break;
    } catch (err) {
      // try the next secret
    }
  }
  if (!verified) {
    console.log(`rejected webhook ${req.get('webhook-id') || '(no webhook-id)'}: bad or stale signature`);
    return res.status(401).send('invalid signature');
  }
  const payload = isForm ? Object.fromEntries(new URLSearchParams(body)) : JSON.parse(body);
  // hookdoor format: event; casdoor format: action; cloudevents: type.
  const event = payload.event || payload.action || payload.type;
  console.log('Received webhook:', payload);
  console.log(`verified ${event} webhook ${req.get('webhook-id')}`);
  res.status(200).send('Webhook received');
});

app.listen(port, '127.0.0.1', () => console.log(`Server running on port ${port}`));
