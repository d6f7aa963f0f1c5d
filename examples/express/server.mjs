// A Runhook webhook receiver on Express 5.
//
//   npm install express @runhook/sdk     # @runhook/sdk: see docs/installing.md
//   RUNHOOK_WEBHOOK_SECRET=whsec_... node server.mjs
//
// Point a Runhook webhook (with that secret) at http://<this host>:3000/webhooks/runhook.
import { verifyWebhook, WebhookVerificationError } from '@runhook/sdk';
import express from 'express';

const secret = process.env.RUNHOOK_WEBHOOK_SECRET;
if (!secret) throw new Error("Set RUNHOOK_WEBHOOK_SECRET to the webhook's signing secret");
const host = process.env.HOST ?? '127.0.0.1'; // 0.0.0.0 to accept deliveries from another machine
const port = Number(process.env.PORT ?? 3000);

const app = express();

// express.raw keeps the body as the exact bytes Runhook signed (a Buffer), on this route only:
// a body parsed and re-serialised by express.json() would not verify.
app.post('/webhooks/runhook', express.raw({ type: 'application/json' }), (req, res) => {
  let event;
  try {
    event = verifyWebhook(req.body, req.headers, secret);
  } catch (error) {
    if (error instanceof WebhookVerificationError) return res.status(400).send(error.message);
    throw error;
  }
  // Answer within 15 seconds; do slow work after answering (a queue, a background job).
  // Retries and redeliveries repeat the webhook-id: skip the ones you have already handled.
  const run = event.test_run ?? {};
  console.log(
    `received ${event.event} ${run.test_run_id} ${run.status} (webhook-id ${req.get('webhook-id')})`,
  );
  res.sendStatus(204);
});

app.listen(port, host, () => console.log(`Listening on http://${host}:${port}/webhooks/runhook`));
