/** The Fastify recipe of sdk/README.md, run for real: the raw body survives and verifies. */
import Fastify from 'fastify';
import { afterAll, expect, it } from 'vitest';
import { signStandardWebhook, verifyWebhook, WebhookVerificationError } from '../../sdk/index.js';

const SECRET = 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD';
const received: unknown[] = [];

const app = Fastify();
app.post('/elsewhere', async (request) => ({ parsed: typeof request.body }));
app.register(async (scope) => {
  scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) =>
    done(null, body),
  );
  scope.post('/webhooks/runhook', async (request, reply) => {
    try {
      const event = verifyWebhook(request.body as Buffer, request.headers, SECRET);
      received.push(event);
      return reply.code(204).send();
    } catch (error) {
      if (error instanceof WebhookVerificationError) return reply.code(400).send(error.message);
      throw error;
    }
  });
});
afterAll(() => app.close());

// Spacing and key order that JSON.stringify would not reproduce: only the raw bytes verify.
const body = '{ "event":"test_run_completed",  "test_run": {"id": "r1", "name": "Prüfung"} }';

function post(payload: string, signedBody = payload) {
  const ts = Math.floor(Date.now() / 1000);
  return app.inject({
    method: 'POST',
    url: '/webhooks/runhook',
    payload,
    headers: {
      'content-type': 'application/json',
      'webhook-id': 'msg_1',
      'webhook-timestamp': String(ts),
      'webhook-signature': signStandardWebhook(SECRET, 'msg_1', ts, signedBody),
    },
  });
}

it('accepts a signed delivery with its raw body and refuses a tampered one', async () => {
  expect((await post(body)).statusCode).toBe(204);
  expect(received).toEqual([JSON.parse(body)]);
  const tampered = await post(body.replace('r1', 'r2'), body);
  expect(tampered.statusCode).toBe(400);
  expect(tampered.body).toMatch(/No webhook-signature entry matches/);
});

it('leaves JSON parsing alone on the other routes', async () => {
  const response = await app.inject({ method: 'POST', url: '/elsewhere', payload: { a: 1 } });
  expect(response.json()).toEqual({ parsed: 'object' });
});
