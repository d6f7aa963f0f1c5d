/**
 * The `workers` phase (bench/README.md): real `runhook worker` processes on one PostgreSQL
 * schema, 1, 2 and 4 of them in turn (BENCH_WORKER_COUNTS), each count on a fresh schema with the
 * same backlog: one organization (the common self-hosted case) with 16 agents, each with its own
 * signed webhook to the receiver, and BENCH_WORKER_RUNS finished runs built in bulk. The clock
 * runs from the moment every worker has started until no delivery is pending; deliveries/s =
 * runs / that time. Defaults everywhere (RUNHOOK_ORG_CONCURRENCY=auto, 64 slots per worker).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { closeRuntime, openRuntime } from '../src/runtime.js';
import { generateApiKey, newApiKeyRecord } from '../src/security/apiKeys.js';
import type { Database } from '../src/store/schema.js';
import { type BacklogOrg, buildBacklogBulk } from './backlog.js';
import { BENCH_SECRET_KEY, type ReceiverHandle } from './endToEnd.js';
import { scratchSchema } from './harness.js';
import { pidCpuUs } from './meter.js';

export interface WorkersResult {
  /** Deliveries/s per number of worker processes. */
  rps: Map<number, number>;
  runs: number;
}

/** The CLI the workers run: this build's, or BENCH_WORKER_MAIN (another build's, to compare in one run). */
const MAIN = process.env.BENCH_WORKER_MAIN ?? new URL('../bin/runhook.js', import.meta.url).pathname;

export async function measureWorkers(input: {
  pgUrl: string;
  receiver: ReceiverHandle;
  counts: readonly number[];
  runs: number;
}): Promise<WorkersResult> {
  const rps = new Map<number, number>();
  for (const count of input.counts) {
    const rate = await oneCount(input, count);
    rps.set(count, rate);
    process.stdout.write(
      `  workers: ${count} × runhook worker, ${input.runs} runs: ${rate.toFixed(0)} deliveries/s\n`,
    );
  }
  return { rps, runs: input.runs };
}

async function oneCount(input: { pgUrl: string; receiver: ReceiverHandle; runs: number }, count: number) {
  const admin = new pg.Client({ connectionString: input.pgUrl });
  await admin.connect();
  const { schema, url } = await scratchSchema(admin, input.pgUrl, 'bench_workers');
  const env = {
    RUNHOOK_DATABASE_URL: url.toString(),
    RUNHOOK_SECRET_KEY: BENCH_SECRET_KEY,
    RUNHOOK_ALLOWED_CIDRS: '127.0.0.0/8',
    RUNHOOK_LOG_LEVEL: 'warn',
    RUNHOOK_PUBLIC_URL: 'http://runhook.bench',
  };
  const rt = await openRuntime(loadConfig(env));
  const bulkDb = new Kysely<Database>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url.toString(), max: 1 }) }),
  });
  const workers: ChildProcess[] = [];
  try {
    const now = Date.now();
    const org = await rt.store.createOrganization(
      'bench',
      newApiKeyRecord(generateApiKey(), 'bench', null),
      now,
    );
    const agents: BacklogOrg['agents'] = [];
    for (let a = 0; a < 16; a++) {
      const name = `agent ${a}`;
      const agent = await rt.store.createAgent(
        org.id,
        { name, description: '', provider: null, isActive: true },
        now,
      );
      const webhook = await rt.store.createWebhook(
        org.id,
        {
          agentId: agent.id,
          url: `${input.receiver.url}/a${a}`,
          description: 'bench',
          isEnabled: true,
          format: 'standard',
          headers: {},
          secretEnc: rt.secretBox.seal(`whsec_${randomBytes(24).toString('base64')}`),
        },
        now,
      );
      agents.push({ id: agent.id, name, webhookId: webhook.id });
    }
    await buildBacklogBulk({
      store: rt.store,
      db: bulkDb,
      target: { kind: 'postgres', url: url.toString() },
      orgs: [{ id: org.id, agents }],
      runs: input.runs,
      publicUrl: 'http://runhook.bench',
    });
    await admin.query(`ANALYZE ${schema}.deliveries, ${schema}.webhooks, ${schema}.attempts`);
    const started = await Promise.all(
      Array.from({ length: count }, () => {
        const child = spawn(process.execPath, [MAIN, 'worker'], {
          env: { ...process.env, ...env },
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        workers.push(child);
        return new Promise<void>((resolve, reject) => {
          child.stdout?.on('data', (b: Buffer) => {
            if (b.toString().includes('started')) resolve();
          });
          child.once('exit', (code) => reject(new Error(`runhook worker exited with ${code}`)));
        });
      }),
    );
    void started;
    const before = await serverCounters(admin);
    const workersBefore = workers.map((w) => (w.pid ? (pidCpuUs(w.pid) ?? 0) : 0));
    const t0 = performance.now();
    for (;;) {
      const r = await admin.query(
        `SELECT count(*)::int AS n FROM ${schema}.deliveries WHERE status = 'pending'`,
      );
      if (r.rows[0].n === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const seconds = (performance.now() - t0) / 1000;
    const workersUs = workers.reduce(
      (sum, w, i) => sum + (w.pid ? (pidCpuUs(w.pid) ?? 0) - (workersBefore[i] ?? 0) : 0),
      0,
    );
    const after = await serverCounters(admin);
    const per = (n: number) => (n / input.runs).toFixed(2);
    process.stdout.write(
      `  workers: ${count} × per delivery: server CPU ${per((after.cpuUs - before.cpuUs) / 1000)} ms, ` +
        `workers' CPU ${per(workersUs / 1000)} ms, transactions ${per(after.xacts - before.xacts)}, ` +
        `buffer hits ${per(after.hits - before.hits)}\n`,
    );
    const ok = await admin.query(
      `SELECT count(*)::int AS n FROM ${schema}.deliveries WHERE status = 'succeeded'`,
    );
    if (ok.rows[0].n !== input.runs)
      process.stdout.write(`PROBLEM: ${ok.rows[0].n} of ${input.runs} succeeded\n`);
    return input.runs / seconds;
  } finally {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.exitCode !== null || w.signalCode !== null) return resolve();
            w.once('exit', () => resolve());
            w.kill('SIGTERM');
          }),
      ),
    );
    await bulkDb.destroy();
    await closeRuntime(rt);
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  }
}

/**
 * What this database's server processes have done so far: their CPU (every backend connected to
 * it now, so read while the workers run), its committed transactions and its shared-buffer hits.
 * Counts per delivery hold on a busy machine, where the rate does not.
 */
async function serverCounters(admin: pg.Client): Promise<{ cpuUs: number; xacts: number; hits: number }> {
  // Statistics reach pg_stat_database when a backend is idle for a while (or at its transaction's
  // end in older versions): give them that time.
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  const backends = await admin.query<{ pid: number }>(
    // Not this connection: its polling for the end of the drain is the bench's, not the workers'.
    'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
  );
  let cpuUs = 0;
  for (const b of backends.rows) cpuUs += pidCpuUs(b.pid) ?? 0;
  const db = await admin.query<{ xacts: string; hits: string }>(
    'SELECT xact_commit AS xacts, blks_hit AS hits FROM pg_stat_database WHERE datname = current_database()',
  );
  return { cpuUs, xacts: Number(db.rows[0]?.xacts ?? 0), hits: Number(db.rows[0]?.hits ?? 0) };
}
