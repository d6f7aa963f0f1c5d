/**
 * The benchmark's receiver: a bare node:http server in its own process (started by run.ts with
 * `fork`), so answering never competes with the engine for one event loop. It answers 200 at
 * once and records, per request, its arrival time, the `webhook-id` header and the test run id
 * from the body; the parent collects them over IPC.
 *
 * Protocol (process messages): child → `{type: 'ready', port}`; parent → `{type: 'collect'}`,
 * child → `{type: 'collected', arrivals}` (and forgets them); parent → `{type: 'exit'}`.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Arrival {
  /** `Date.now()` when the request's body was complete. */
  at: number;
  webhookId: string;
  /** `test_run.id` from a standard payload, or '' when the body has none (raw ceiling). */
  runId: string;
}

export type ReceiverMessage = { type: 'ready'; port: number } | { type: 'collected'; arrivals: Arrival[] };

const RUN_ID_MARK = '"test_run":{"id":"';
const ANSWER = '{"ok":true}';

let arrivals: Arrival[] = [];

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const at = Date.now();
    const body =
      chunks.length === 1
        ? (chunks[0] as Buffer).toString('latin1')
        : Buffer.concat(chunks).toString('latin1');
    const i = body.indexOf(RUN_ID_MARK);
    arrivals.push({
      at,
      webhookId: String(req.headers['webhook-id'] ?? ''),
      runId: i < 0 ? '' : body.slice(i + RUN_ID_MARK.length, i + RUN_ID_MARK.length + 36),
    });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': ANSWER.length });
    res.end(ANSWER);
  });
});
server.keepAliveTimeout = 30_000;
server.headersTimeout = 35_000;

process.on('message', (msg: { type: string }) => {
  if (msg.type === 'collect') {
    const out = arrivals;
    arrivals = [];
    process.send?.({ type: 'collected', arrivals: out } satisfies ReceiverMessage);
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
