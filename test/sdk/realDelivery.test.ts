/**
 * Round trips against deliveries made by a real Runhook (server, store and delivery worker in a
 * child process), captured by real HTTP receivers: the SDK, the official `standardwebhooks`
 * library and the Python script must all accept them, and all refuse them once tampered with.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ClixPayload,
  type TestEvent,
  type TestRunCompletedEvent,
  verifyClixSignature,
  verifyRunhookSignature,
  verifyWebhook,
  WebhookVerificationError,
} from '../../sdk/index.js';
import { type ReceivedRequest, type Receiver, startReceiver } from '../helpers/receiver.js';
import { type RealServer, startRealServer } from './realServer.js';

const PYTHON_SCRIPT = fileURLToPath(new URL('../../docs/python/verify_runhook.py', import.meta.url));
const ORG_SECRET = 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD';
const ROTATED_SECRET = 'whsec_b3RoZXIgc2VjcmV0IGFmdGVyIHJvdGF0aW9u';
const CLIX_SECRET = 'a plain clix secret';

let server: RealServer;
let orgReceiver: Receiver;
let clixReceiver: Receiver;
let orgWebhookId: string;
let clixAgentId: string;
let plainAgentId: string;
const tmp = mkdtempSync(join(tmpdir(), 'runhook-real-delivery-'));

beforeAll(async () => {
  [server, orgReceiver, clixReceiver] = await Promise.all([
    startRealServer(),
    startReceiver(),
    startReceiver(),
  ]);
  const orgHook = await server.api('POST', '/webhooks', { url: orgReceiver.url, secret: ORG_SECRET });
  expect(orgHook.status, JSON.stringify(orgHook.json)).toBe(201);
  orgWebhookId = orgHook.json.id;
  plainAgentId = (await server.api('POST', '/agents', { name: 'Standard agent' })).json.id;
  clixAgentId = (await server.api('POST', '/agents', { name: 'Clix agent' })).json.id;
  const clixHook = await server.api('POST', '/webhooks', {
    url: clixReceiver.url,
    secret: CLIX_SECRET,
    agent_id: clixAgentId,
    format: 'clix',
  });
  expect(clixHook.status, JSON.stringify(clixHook.json)).toBe(201);
}, 120_000);

afterAll(async () => {
  await Promise.all([server?.stop(), orgReceiver?.close(), clixReceiver?.close()]);
  rmSync(tmp, { recursive: true, force: true });
});

async function finishRun(agentId: string, counts: { passed: number; failed: number }) {
  const run = await server.api('POST', '/runs', {
    agent_id: agentId,
    name: 'Emergency Response Test',
    status: counts.failed > 0 ? 'failed' : 'completed',
    passed_count: counts.passed,
    failed_count: counts.failed,
    error_count: 0,
  });
  expect(run.status, JSON.stringify(run.json)).toBe(201);
  return run.json as { id: string; test_run_id: string };
}

function flatHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [
      name,
      Array.isArray(value) ? value.join(', ') : (value ?? ''),
    ]),
  );
}

function official(secret: string, request: ReceivedRequest, body = request.body): boolean {
  const key = secret.startsWith('whsec_') ? secret : Buffer.from(secret, 'utf8').toString('base64');
  try {
    new Webhook(key).verify(body, flatHeaders(request.headers));
    return true;
  } catch {
    return false;
  }
}

function sdk(secret: string | string[], request: ReceivedRequest, body = request.body): boolean {
  try {
    verifyWebhook(body, request.headers, secret);
    return true;
  } catch (error) {
    if (error instanceof WebhookVerificationError) return false;
    throw error;
  }
}

function python(secret: string, request: ReceivedRequest, body = request.body): number | null {
  const file = join(tmp, `${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify({ body, headers: flatHeaders(request.headers), secret }));
  return spawnSync('python3', [PYTHON_SCRIPT, file], { encoding: 'utf8', timeout: 20_000 }).status;
}

describe('deliveries from a real Runhook', () => {
  let first: ReceivedRequest;
  let run: { id: string; test_run_id: string };

  it('a finished run (standard format) verifies with the SDK, standardwebhooks and Python', async () => {
    run = await finishRun(plainAgentId, { passed: 17, failed: 3 });
    await orgReceiver.waitFor(1, 15_000);
    first = orgReceiver.requests[0]!;

    const event = verifyWebhook(first.body, first.headers, ORG_SECRET) as TestRunCompletedEvent;
    expect(Object.keys(event)).toEqual(['event', 'timestamp', 'test_run', 'changes', 'results_url']);
    expect(event).toMatchObject({
      event: 'test_run_completed',
      test_run: { id: run.id, test_run_id: run.test_run_id, agent_name: 'Standard agent', pass_rate: 85 },
      results_url: `${server.baseUrl}/runs/${run.id}`,
    });
    expect(first.headers['webhook-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(verifyRunhookSignature(first.body, first.headers['x-runhook-signature'], ORG_SECRET)).toBe(true);
    expect(official(ORG_SECRET, first)).toBe(true);
    expect(python(ORG_SECRET, first)).toBe(0);
  });

  it('the same delivery, tampered with or checked with another secret, is refused by all three', () => {
    const tampered = first.body.replace('"passed_count":17', '"passed_count":20');
    expect(tampered).not.toBe(first.body);
    expect({
      sdk: sdk(ORG_SECRET, first, tampered),
      official: official(ORG_SECRET, first, tampered),
    }).toEqual({
      sdk: false,
      official: false,
    });
    expect(python(ORG_SECRET, first, tampered)).toBe(1);
    expect(verifyRunhookSignature(tampered, first.headers['x-runhook-signature'], ORG_SECRET)).toBe(false);
    expect({ sdk: sdk(ROTATED_SECRET, first), official: official(ROTATED_SECRET, first) }).toEqual({
      sdk: false,
      official: false,
    });
    expect(python(ROTATED_SECRET, first)).toBe(1);
  });

  it('a redelivery keeps the webhook-id, gets a new timestamp and signature, and verifies', async () => {
    const deliveries = await server.api('GET', `/webhooks/${orgWebhookId}/deliveries`);
    const deliveryId = deliveries.json.deliveries[0].id;
    expect((await server.api('POST', `/deliveries/${deliveryId}/redeliver`)).status).toBe(202);
    await orgReceiver.waitFor(2, 15_000);
    const again = orgReceiver.requests[1]!;
    expect(again.headers['webhook-id']).toBe(first.headers['webhook-id']);
    expect(again.body).toBe(first.body);
    expect({ sdk: sdk(ORG_SECRET, again), official: official(ORG_SECRET, again) }).toEqual({
      sdk: true,
      official: true,
    });
  });

  it('Test Webhook sends a signed "test" event', async () => {
    const before = orgReceiver.requests.length;
    const test = await server.api('POST', `/webhooks/${orgWebhookId}/test`);
    expect(test.json).toMatchObject({ success: true, http_status: 200 });
    await orgReceiver.waitFor(before + 1);
    const request = orgReceiver.requests[before]!;
    const event = verifyWebhook(request.body, request.headers, ORG_SECRET) as TestEvent;
    expect(event).toMatchObject({ event: 'test', is_test: true });
    expect(event.test_run.id).toBe('00000000-0000-0000-0000-000000000000');
    expect(official(ORG_SECRET, request)).toBe(true);
    expect(python(ORG_SECRET, request)).toBe(0);
  });

  it('after a secret rotation, the header carries both secrets and each one verifies alone', async () => {
    const updated = await server.api('PUT', `/webhooks/${orgWebhookId}`, { secret: ROTATED_SECRET });
    expect(updated.status, JSON.stringify(updated.json)).toBe(200);
    const before = orgReceiver.requests.length;
    await finishRun(plainAgentId, { passed: 5, failed: 0 });
    await orgReceiver.waitFor(before + 1, 15_000);
    const request = orgReceiver.requests[before]!;
    expect(String(request.headers['webhook-signature']).split(' ')).toHaveLength(2);
    for (const secret of [ORG_SECRET, ROTATED_SECRET]) {
      expect({ secret, sdk: sdk(secret, request), official: official(secret, request) }).toEqual({
        secret,
        sdk: true,
        official: true,
      });
      expect(python(secret, request)).toBe(0);
    }
    expect(verifyRunhookSignature(request.body, request.headers['x-runhook-signature'], ROTATED_SECRET)).toBe(
      true,
    );
  });

  it('a clix-format webhook with a plain-string secret: X-Clix-Signature and Standard Webhooks both verify', async () => {
    const clixRun = await finishRun(clixAgentId, { passed: 4, failed: 1 });
    await clixReceiver.waitFor(1, 15_000);
    const request = clixReceiver.requests[0]!;
    expect(verifyClixSignature(request.body, request.headers['x-clix-signature'], CLIX_SECRET)).toBe(true);
    expect(verifyClixSignature(`${request.body} `, request.headers['x-clix-signature'], CLIX_SECRET)).toBe(
      false,
    );
    const payload = verifyWebhook<ClixPayload>(request.body, request.headers, CLIX_SECRET);
    expect(payload).toMatchObject({ test_id: clixRun.id, status: 'error' });
    expect(typeof payload.timestamp).toBe('number');
    expect(official(CLIX_SECRET, request)).toBe(true);
    expect(python(CLIX_SECRET, request)).toBe(0);
  });
});
