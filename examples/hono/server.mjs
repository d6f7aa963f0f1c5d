// A Runhook webhook receiver on Hono, served on Node by @hono/node-server.
//
//   npm install hono @hono/node-server @runhook/sdk     # @runhook/sdk: see docs/installing.md
//   RUNHOOK_WEBHOOK_SECRET=whsec_... node server.mjs
//
// Point a Runhook webhook (with that secret) at http://<this host>:3000/webhooks/runhook.
import { serve } from '@hono/node-server';
import { verifyWebhook, WebhookVerificationError } from '@runhook/sdk';
import { Hono } from 'hono';

const secret = process.env.RUNHOOK_WEBHOOK_SECRET;
if (!secret) throw new Error("Set RUNHOOK_WEBHOOK_SECRET to the webhook's signing secret");
const host = process.env.HOST ?? '127.0.0.1'; // 0.0.0.0 to accept deliveries from another machine
const port = Number(process.env.PORT ?? 3000);

const app = new Hono();

app.post('/webhooks/runhook', async (c) => {
  // The exact bytes Runhook signed: read the raw body, never c.req.json() first.
  const body = Buffer.from(await c.req.arrayBuffer());
  let event;
  try {
    event = verifyWebhook(body, c.req.raw.headers, secret);
  } catch (error) {
    if (error instanceof WebhookVerificationError) return c.text(error.message, 400);
    throw error;
  }
  // Answer within 15 seconds; do slow work after answering (a queue, a background job).
  // Retries and redeliveries repeat the webhook-id: skip the ones you have already handled.
  const run = event.test_run ?? {};
  console.log(
    `received ${event.event} ${run.test_run_id} ${run.status} (webhook-id ${c.req.header('webhook-id')})`,
  );
  return c.body(null, 204);
});

serve({ fetch: app.fetch, hostname: host, port }, () =>
  console.log(`Listening on http://${host}:${port}/webhooks/runhook`),
);
