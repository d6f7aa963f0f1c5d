/**
 * The benchmark's receiver: a bare node:http server in its own process (started by run.ts with
 * `fork`), so answering never competes with the engine for one event loop. It answers 200 at
 * once and counts requests, and duplicates by their `webhook-id` header; while asked to, it also
 * keeps each request's arrival time, `webhook-id` and run id from the body for the parent.
 *
 * Counting instead of keeping makes a backlog of a million deliveries cheap to check: no list of
 * arrivals crosses the IPC channel or lives in the parent.
 *
 * Protocol (process messages): child → `{type: 'ready', port}`; parent → `{type: 'start',
 * keepArrivals}` begins a new period (forgets the ids seen so far); parent → `{type: 'collect',
 * keepArrivals}`, child → `{type: 'collected', count, duplicates, arrivals}` for the requests
 * since the last start or collect (ids seen are kept, so a duplicate across collects is counted);
 * `keepArrivals` says whether to keep arrivals from then on; parent → `{type: 'exit'}`.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Arrival {
  /** `Date.now()` when the request's body was complete. */
  at: number;
  webhookId: string;
  /** `test_run.id` from a standard payload, or '' when the body has none. */
  runId: string;
}

export interface Collected {
  /** Requests received. */
  count: number;
  /** Requests whose `webhook-id` was seen before in this period (the raw ceiling sends one id). */
  duplicates: number;
  /** Each request, when they were being kept; else empty. */
  arrivals: Arrival[];
}

export type ReceiverCommand =
  | { type: 'start'; keepArrivals: boolean }
  | { type: 'collect'; keepArrivals: boolean }
  | { type: 'exit' };

export type ReceiverMessage = { type: 'ready'; port: number } | ({ type: 'collected' } & Collected);

const RUN_ID_MARK = '"test_run":{"id":"';
const ANSWER = '{"ok":true}';

let seen = new Set<string>();
let keepArrivals = false;
let count = 0;
let duplicates = 0;
let arrivals: Arrival[] = [];

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const at = Date.now();
    const webhookId = String(req.headers['webhook-id'] ?? '');
    count++;
    if (seen.has(webhookId)) duplicates++;
    else seen.add(webhookId);
    if (keepArrivals) {
      const body =
        chunks.length === 1
          ? (chunks[0] as Buffer).toString('latin1')
          : Buffer.concat(chunks).toString('latin1');
      const i = body.indexOf(RUN_ID_MARK);
      arrivals.push({
        at,
        webhookId,
        runId: i < 0 ? '' : body.slice(i + RUN_ID_MARK.length, i + RUN_ID_MARK.length + 36),
      });
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': ANSWER.length });
    res.end(ANSWER);
  });
});
server.keepAliveTimeout = 30_000;
server.headersTimeout = 35_000;

process.on('message', (msg: ReceiverCommand) => {
  if (msg.type === 'start') {
    seen = new Set();
    count = 0;
    duplicates = 0;
    arrivals = [];
    keepArrivals = msg.keepArrivals;
  } else if (msg.type === 'collect') {
    process.send?.({ type: 'collected', count, duplicates, arrivals } satisfies ReceiverMessage);
    count = 0;
    duplicates = 0;
    arrivals = [];
    keepArrivals = msg.keepArrivals;
  } else if (msg.type === 'exit') {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.send?.({ type: 'ready', port } satisfies ReceiverMessage);
});
