/**
 * What bench/run.ts and bench/floorProbe.ts share: the receiver in its own process, and bodies and
 * headers shaped like Runhook's standard deliveries.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { standardPayload } from '../src/domain/payloads.js';
import { buildDeliveryHeaders } from '../src/domain/signing.js';
import { USER_AGENT } from '../src/version.js';
import { benchTestRun } from './backlog.js';
import type { ReceiverHandle } from './endToEnd.js';
import { measureRawCeiling, type RawResult } from './rawCeiling.js';
import type { Collected, ReceiverCommand, ReceiverMessage } from './receiver.js';

/** Starts bench/receiver.ts in its own process; `exit` stops it. */
export async function startReceiver(): Promise<{
  handle: ReceiverHandle;
  origin: string;
  child: ChildProcess;
  exit: () => void;
}> {
  const child = fork(new URL('./receiver.js', import.meta.url), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiters: Array<(c: Collected) => void> = [];
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.on('message', (msg: ReceiverMessage) => {
      if (msg.type === 'ready') resolve(msg.port);
      else if (msg.type === 'collected') waiters.shift()?.(msg);
    });
  });
  const send = (command: ReceiverCommand) => child.send(command);
  const origin = `http://127.0.0.1:${port}`;
  return {
    child,
    origin,
    exit: () => send({ type: 'exit' }),
    handle: {
      url: `${origin}/hook`,
      start: ({ keepArrivals }) => send({ type: 'start', keepArrivals }),
      collect: ({ keepArrivals }) =>
        new Promise<Collected>((resolve) => {
          waiters.push(resolve);
          send({ type: 'collect', keepArrivals });
        }),
    },
  };
}

/** Bodies and headers shaped exactly like Runhook's standard deliveries, for the raw ceiling. */
export function sampleDeliveries(count: number): { bodies: string[]; headers: Record<string, string> } {
  const now = Date.now();
  const bodies = Array.from({ length: count }, (_, i) => {
    const run = benchTestRun(
      { id: randomUUID(), orgId: randomUUID(), seq: i + 1, agentId: randomUUID(), agentName: 'agent 0' },
      now,
    );
    return JSON.stringify(standardPayload(run, now, 'http://runhook.bench'));
  });
  const headers = buildDeliveryHeaders({
    format: 'standard',
    eventId: randomUUID(),
    timestampSec: Math.floor(now / 1000),
    body: bodies[0] as string,
    secret: `whsec_${randomBytes(24).toString('base64')}`,
    customHeaders: {},
    userAgent: USER_AGENT,
  });
  return { bodies, headers };
}

/**
 * A fresh schema for one measurement, made through `admin`, and `baseUrl` with it as the search path.
 * The caller drops it (`DROP SCHEMA … CASCADE`).
 */
export async function scratchSchema(
  admin: pg.Client,
  baseUrl: string,
  prefix: string,
): Promise<{ schema: string; url: URL }> {
  const schema = `${prefix}_${randomBytes(5).toString('hex')}`;
  await admin.query(`CREATE SCHEMA ${schema}`);
  const url = new URL(baseUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return { schema, url };
}

/** Whether PostgreSQL answers at `url`; creates its database when missing. */
export async function postgresReachable(url: string): Promise<boolean> {
  const target = new URL(url);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString(), connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
  } catch {
    return false;
  }
  try {
    const name = target.pathname.slice(1);
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE "${name.replace(/"/g, '')}"`);
    return true;
  } finally {
    await client.end();
  }
}

/** The raw ceiling against the receiver: 3 s measured after 0.5 s of warm-up (bench/README.md). */
export async function measureRaw(
  receiver: { origin: string; handle: ReceiverHandle },
  sample: { bodies: readonly string[]; headers: Record<string, string> },
  concurrency: number,
): Promise<RawResult> {
  receiver.handle.start({ keepArrivals: false });
  const raw = await measureRawCeiling({
    origin: receiver.origin,
    path: '/hook',
    ...sample,
    concurrency,
    seconds: 3,
    warmupSeconds: 0.5,
  });
  await receiver.handle.collect({ keepArrivals: false });
  return raw;
}
