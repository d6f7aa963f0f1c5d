/**
 * A probe, not the product: the least CPU per delivery that "every attempt durably logged" costs on
 * this machine, beside the raw ceiling measured in the same process and run (bench/README.md, "The
 * floor of a durable relay"). The goals ask for `cpu_us_per_delivery` ≤ 3 × `raw_cpu_us_per_request`
 * and for 0.3 (SQLite) and 0.25 (PostgreSQL) of the raw ceiling's rate; this measures how much of
 * that the simplest relay that keeps the same promise spends, before any of Runhook's other work:
 * fair claims across webhooks and organizations, the caps, endpoint health, retries, several
 * workers on one database, and the SQLite thread that keeps the event loop free for the API.
 *
 * The variants of bench/floorRelay.ts (`log`, `lease+log`, `real tables`, and `postgres` on
 * FLOOR_PG_URL, default the bench's database, `off` skips it), against bench/receiver.ts in its own
 * process, alternated FLOOR_ROUNDS times beside `raw` (bench/rawCeiling.ts: undici Pool, 64
 * connections, nothing stored, signed or logged). The bench's `floor` phase runs `real tables` and
 * `postgres` once, in the same run as Runhook's drains.
 *
 * Prints, per round, CPU µs per delivery of this process (every thread, as the bench's
 * `cpu_us_per_delivery`) and its multiple of raw's CPU µs per request, the part spent in SQLite's
 * synchronous calls or PostgreSQL's server, and deliveries per second; the last line is JSON.
 * `npm run build && node dist/bench/floorProbe.js` (FLOOR_ROUNDS, default 3; FLOOR_DELIVERIES
 * per variant and round, default 10000).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import {
  CONCURRENCY,
  minimalQueue,
  pgQueue,
  type Queue,
  realQueue,
  relay,
  type Variant,
} from './floorRelay.js';
import { measureRaw, postgresReachable, sampleDeliveries, startReceiver } from './harness.js';

const ROUNDS = Number(process.env.FLOOR_ROUNDS ?? 3);
const DELIVERIES = Number(process.env.FLOOR_DELIVERIES ?? 10_000);
const PG_URL = process.env.FLOOR_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/runhook_bench';
/** Delivered by each variant once before the first round, as the bench's drains warm up. */
const WARMUP = 3_000;

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

async function main(): Promise<void> {
  const receiver = await startReceiver();
  const dir = mkdtempSync(join(tmpdir(), 'runhook-floor-'));
  const queues = new Map<Variant, Queue>();
  const pool = new Pool(receiver.origin, { connections: CONCURRENCY, keepAliveTimeout: 30_000 });
  try {
    const { bodies, headers } = sampleDeliveries(256);
    const secret = `whsec_${randomBytes(24).toString('base64')}`;
    const total = WARMUP + ROUNDS * DELIVERIES;
    const url = receiver.handle.url;
    queues.set('log', minimalQueue(join(dir, 'log.db'), false, bodies, url, total));
    queues.set('lease+log', minimalQueue(join(dir, 'lease.db'), true, bodies, url, total));
    queues.set('real tables', await realQueue(join(dir, 'real.db'), bodies, total));
    let pgSkipped = '';
    if (PG_URL === 'off') pgSkipped = 'FLOOR_PG_URL=off';
    else if (!(await postgresReachable(PG_URL))) pgSkipped = `not reachable at ${PG_URL}`;
    else queues.set('postgres', await pgQueue(PG_URL, bodies, url, total));
    const variants = [...queues.keys()];
    const queue = (v: Variant) => queues.get(v) as Queue;

    for (const v of variants) await relay(queue(v), WARMUP, pool, url, secret);

    type Cell = { us: number; dbUs: number; rate: number };
    const rows: Array<{ raw: number; rawRps: number } & Partial<Record<Variant, Cell>>> = [];
    console.log(
      `floor probe: ${ROUNDS} rounds, ${DELIVERIES} deliveries per variant and round, ${CONCURRENCY} in flight` +
        (pgSkipped ? `; PostgreSQL skipped (${pgSkipped})` : ''),
    );
    console.log(
      `round | raw µs/request (req/s) | ${variants.map((v) => `${v}: µs/delivery; database µs (× raw; /s, of raw's)`).join(' | ')}`,
    );
    for (let round = 1; round <= ROUNDS; round++) {
      const raw = await measureRaw(receiver, { bodies, headers }, CONCURRENCY);
      const row: (typeof rows)[number] = { raw: raw.cpuUsPerRequest, rawRps: raw.rps };
      for (const v of variants) {
        const before = await queue(v).attempts();
        receiver.handle.start({ keepArrivals: false });
        const r = await relay(queue(v), DELIVERIES, pool, url, secret);
        const got = await receiver.handle.collect({ keepArrivals: false });
        const logged = (await queue(v).attempts()) - before;
        if (got.count !== r.delivered || logged !== r.delivered || got.duplicates !== 0)
          throw new Error(`${v}: ${r.delivered} delivered, receiver got ${got.count}, ${logged} logged`);
        row[v] = { us: r.cpuUs / r.delivered, dbUs: r.dbCpuUs / r.delivered, rate: r.delivered / r.seconds };
      }
      rows.push(row);
      const cell = ({ us, dbUs, rate }: Cell) =>
        `${us.toFixed(0)}; ${dbUs.toFixed(0)} (${(us / row.raw).toFixed(2)} ×; ${rate.toFixed(0)}, ${(rate / row.rawRps).toFixed(2)})`;
      console.log(
        `${round} | ${row.raw.toFixed(1)} (${row.rawRps.toFixed(0)}) | ${variants.map((v) => cell(row[v] as Cell)).join(' | ')}`,
      );
    }
    const med = (f: (r: (typeof rows)[number]) => number, digits: number) =>
      Number(median(rows.map(f)).toFixed(digits));
    const cellOf = (r: (typeof rows)[number], v: Variant) => r[v] as Cell;
    console.log(
      JSON.stringify({
        raw_cpu_us_per_request: med((r) => r.raw, 1),
        raw_rps: med((r) => r.rawRps, 0),
        ...Object.fromEntries(
          variants.flatMap((v) => {
            const key = v.replace(/\W+/g, '_');
            return [
              [`${key}_cpu_us_per_delivery`, med((r) => cellOf(r, v).us, 0)],
              [`${key}_db_cpu_us_per_delivery`, med((r) => cellOf(r, v).dbUs, 0)],
              [`${key}_x_raw`, med((r) => cellOf(r, v).us / r.raw, 2)],
              [`${key}_ratio`, med((r) => cellOf(r, v).rate / r.rawRps, 2)],
            ];
          }),
        ),
      }),
    );
  } finally {
    await pool.close();
    for (const q of queues.values()) await q.close();
    receiver.exit();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
