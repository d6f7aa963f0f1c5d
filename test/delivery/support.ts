/** Small helpers shared by the delivery suites (test/delivery only). */
import { expect } from 'vitest';
import type { Worker, WorkerSettings } from '../../src/delivery/deliveryWorker.js';
import { createWorkerWithHealth } from '../../src/delivery/workerWithHealth.js';
import type { Store } from '../../src/store/store.js';
import type { Delivery, DeliveryDetail, TestRun, Webhook } from '../../web/src/apiTypes.js';
import { eventually, type TestContext } from '../helpers/context.js';
import { freePort } from '../helpers/freePort.js';

/** The API's JSON shapes (docs/api.md), generated from src/http/schemas.ts. */
export type {
  Attempt as AttemptJson,
  Delivery as DeliveryJson,
  DeliveryDetail as DeliveryDetailJson,
  TestRun as RunJson,
  Webhook as WebhookJson,
} from '../../web/src/apiTypes.js';

/** A port nothing listens on: bound once by us, then closed (freePort, under the name these tests mean). */
export const closedPort = freePort;

export async function createAgent(ctx: TestContext, name = 'Delivery agent'): Promise<string> {
  const res = await ctx.api('POST', '/api/v1/agents', { name });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id as string;
}

export async function createWebhook(ctx: TestContext, body: Record<string, unknown>): Promise<Webhook> {
  const res = await ctx.api('POST', '/api/v1/webhooks', body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

/** Creates a run of `agentId` that is already finished (one call from CI): it fires the event. */
export async function finishedRun(
  ctx: TestContext,
  agentId: string,
  extra: Record<string, unknown> = {},
): Promise<TestRun> {
  const res = await ctx.api('POST', '/api/v1/runs', {
    agent_id: agentId,
    name: 'Emergency Response Test',
    status: 'completed',
    passed_count: 17,
    failed_count: 3,
    error_count: 0,
    ...extra,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

/** The only delivery of a run (docs/delivery.md#one-event-per-run). */
export async function deliveryOfRun(ctx: TestContext, runId: string): Promise<Delivery> {
  const list = await ctx.api('GET', `/api/v1/deliveries?test_run_id=${runId}`);
  expect(list.status).toBe(200);
  expect(list.body.total).toBe(1);
  return list.body.deliveries[0];
}

export async function getDelivery(ctx: TestContext, id: string): Promise<DeliveryDetail> {
  const res = await ctx.api('GET', `/api/v1/deliveries/${id}`);
  expect(res.status).toBe(200);
  return res.body;
}

/** Waits until the delivery is no longer pending and returns its detail (attempts included). */
export async function settled(ctx: TestContext, id: string, timeoutMs = 10_000): Promise<DeliveryDetail> {
  return eventually(
    async () => {
      const d = await getDelivery(ctx, id);
      return d.status !== 'pending' && d;
    },
    timeoutMs,
    `delivery ${id} to leave pending`,
  );
}

export async function getWebhook(ctx: TestContext, id: string): Promise<Webhook> {
  const res = await ctx.api('GET', `/api/v1/webhooks/${id}`);
  expect(res.status).toBe(200);
  return res.body;
}

/**
 * Starts a worker over the context's runtime, for tests that create deliveries first and deliver
 * later. Stop it before `ctx.close()`.
 */
export function startWorker(
  ctx: TestContext,
  settings: Partial<WorkerSettings> = {},
  options: { idlePollMs?: number; store?: Store; leaseAhead?: boolean } = {},
): Worker {
  const worker = createWorkerWithHealth({
    send: ctx.rt.send,
    // An explicit organization cap is a hard cap, as RUNHOOK_ORG_CONCURRENCY=<number> makes it.
    settings: { ...ctx.config, ...(settings.orgConcurrency ? { orgBorrow: false } : {}), ...settings },
    config: ctx.config,
    logger: ctx.rt.logger,
    ...options,
    store: options.store ?? ctx.rt.store,
  });
  worker.start();
  return worker;
}

/**
 * The real store with one method wrapped (to watch or slow it); everything else goes straight
 * through. For a worker's view of the store, not a fake one.
 */
export function wrapStoreMethod<K extends keyof Store>(
  store: Store,
  name: K,
  wrap: (original: Store[K]) => Store[K],
): Store {
  const wrapped = wrap((store[name] as (...args: unknown[]) => unknown).bind(store) as Store[K]);
  return new Proxy(store, {
    get(target, prop) {
      if (prop === name) return wrapped;
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** One agent whose webhook points at `receiver`, with `runs` finished runs (due deliveries). */
export async function webhookWithBacklog(
  ctx: TestContext,
  receiver: { url: string },
  runs: number,
): Promise<string> {
  const agent = await createAgent(ctx);
  await createWebhook(ctx, { url: receiver.url, agent_id: agent });
  for (let i = 0; i < runs; i++) await finishedRun(ctx, agent);
  return agent;
}
