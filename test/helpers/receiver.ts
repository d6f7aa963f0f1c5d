import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

export type Behaviour =
  | { kind: 'status'; status: number; body?: string; headers?: Record<string, string> }
  | { kind: 'hang' }
  | { kind: 'reset' }
  | { kind: 'slow'; delayMs: number; status?: number };

/**
 * A real HTTP receiver on 127.0.0.1 that records every request and answers as told: a status,
 * a hang (never answers), a connection reset, or a slow answer. `script` answers request N with
 * its Nth behaviour (the last one repeats).
 */
export class Receiver {
  readonly requests: ReceivedRequest[] = [];
  behaviour: Behaviour = { kind: 'status', status: 200, body: '{"ok":true}' };
  script: Behaviour[] = [];
  inFlight = 0;
  maxInFlight = 0;
  /** Answers sent in full (a hang, a reset or an answer cut off by the client never count). */
  answered = 0;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly waiters: Array<{ n: number; resolve: () => void }> = [];
  private readonly hung: ServerResponse[] = [];

  constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const index = this.requests.length;
        this.requests.push({
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          at: Date.now(),
        });
        this.inFlight++;
        this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
        res.on('close', () => this.inFlight--);
        res.on('finish', () => this.answered++);
        const behaviour =
          this.script.length > 0
            ? (this.script[Math.min(index, this.script.length - 1)] as Behaviour)
            : this.behaviour;
        this.answer(behaviour, res);
        for (const w of [...this.waiters]) {
          if (this.requests.length >= w.n) {
            this.waiters.splice(this.waiters.indexOf(w), 1);
            w.resolve();
          }
        }
      });
    });
    this.server.keepAliveTimeout = 5_000;
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  private answer(b: Behaviour, res: ServerResponse): void {
    switch (b.kind) {
      case 'status':
        res.writeHead(b.status, { 'content-type': 'application/json', ...b.headers });
        res.end(b.body ?? '');
        return;
      case 'hang':
        this.hung.push(res);
        return;
      case 'reset':
        res.socket?.destroy();
        return;
      case 'slow':
        setTimeout(() => {
          res.writeHead(b.status ?? 200, { 'content-type': 'application/json' });
          res.end('{"ok":true}');
        }, b.delayMs);
        return;
    }
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  /** Resolves once `n` requests in total have arrived; rejects after `timeoutMs`. */
  waitFor(n: number, timeoutMs = 10_000): Promise<void> {
    if (this.requests.length >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(new Error(`receiver got ${this.requests.length} of ${n} requests within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiters.push({
        n,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  async close(): Promise<void> {
    for (const res of this.hung) res.destroy();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export async function startReceiver(): Promise<Receiver> {
  return new Receiver().start();
}
