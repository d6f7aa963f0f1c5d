// A Runhook webhook receiver on Fastify 5.
//
//   npm install fastify @runhook/sdk     # @runhook/sdk: see docs/installing.md
//   RUNHOOK_WEBHOOK_SECRET=whsec_... node server.mjs
//
// Point a Runhook webhook (with that secret) at http://<this host>:3000/webhooks/runhook.
import { verifyWebhook, WebhookVerificationError } from '@runhook/sdk';
import Fastify from 'fastify';

const secret = process.env.RUNHOOK_WEBHOOK_SECRET;
if (!secret) throw new Error("Set RUNHOOK_WEBHOOK_SECRET to the webhook's signing secret");
const host = process.env.HOST ?? '127.0.0.1'; // 0.0.0.0 to accept deliveries from another machine
const port = Number(process.env.PORT ?? 3000);

const app = Fastify();

app.register(async (scope) => {
  // Inside this plugin only, JSON bodies stay the exact bytes Runhook signed (a Buffer);
  // the rest of the app still parses JSON as usual.
  scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) =>
    done(null, body),
  );
  scope.post('/webhooks/runhook', async (request, reply) => {
    let event;
    try {
      event = verifyWebhook(request.body, request.headers, secret);
    } catch (error) {
      if (error instanceof WebhookVerificationError) return reply.code(400).send(error.message);
      throw error;
    }
    // Answer within 15 seconds; do slow work after answering (a queue, a background job).
    // Retries and redeliveries repeat the webhook-id: skip the ones you have already handled.
    const run = event.test_run ?? {};
    const id = request.headers['webhook-id'];
    console.log(`received ${event.event} ${run.test_run_id} ${run.status} (webhook-id ${id})`);
    return reply.code(204).send();
  });
});

await app.listen({ host, port });
console.log(`Listening on http://${host}:${port}/webhooks/runhook`);
