import { createServer, type IncomingHttpHeaders, STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Command, InvalidArgumentError } from 'commander';
import { verifyClixSignature, verifyRunhookSignature, verifyWebhook } from '../../sdk/index.js';

interface Summary {
  event: string;
  run: string;
  status: string;
}

function summarise(body: string): Summary {
  try {
    const p = JSON.parse(body) as Record<string, unknown>;
    const run = (p.test_run ?? {}) as Record<string, unknown>;
    if (typeof p.event === 'string') {
      return {
        event: p.event,
        run: String(run.test_run_id ?? run.id ?? '-'),
        status: String(run.status ?? '-'),
      };
    }
    if (typeof p.test_id === 'string') return { event: 'clix', run: p.test_id, status: String(p.status) };
    if (typeof p.text === 'string') return { event: 'slack', run: '-', status: p.text.slice(0, 60) };
  } catch {
    // Not JSON: shown as such below.
  }
  return { event: 'unknown', run: '-', status: '-' };
}

/**
 * Verdict per signature header present: "ok", "INVALID", or "present (no --secret to check it)".
 * `publicKey` (`whpk_...`, an ed25519 webhook's) checks the `v1a` entries of `webhook-signature`.
 */
export function checkSignatures(
  body: string,
  headers: Record<string, string | string[] | undefined>,
  secret: string | undefined,
  publicKey?: string,
) {
  const verdicts: Record<string, string> = {};
  const noSecret = 'present (no --secret given to check it)';
  const keys = [secret, publicKey].filter((k): k is string => Boolean(k));
  if (headers['webhook-signature'] !== undefined) {
    if (keys.length === 0)
      verdicts['webhook-signature'] = 'present (no --secret or --public-key given to check it)';
    else {
      try {
        verifyWebhook(body, headers, keys);
        verdicts['webhook-signature'] = 'ok';
      } catch (err) {
        verdicts['webhook-signature'] = `INVALID (${(err as Error).message})`;
      }
    }
  }
  const runhook = headers['x-runhook-signature'];
  if (runhook !== undefined)
    verdicts['x-runhook-signature'] = !secret
      ? noSecret
      : verifyRunhookSignature(body, runhook, secret)
        ? 'ok'
        : 'INVALID';
  const clix = headers['x-clix-signature'];
  if (clix !== undefined)
    verdicts['x-clix-signature'] = !secret
      ? noSecret
      : verifyClixSignature(body, clix, secret)
        ? 'ok'
        : 'INVALID';
  return verdicts;
}

/** Headers that describe one hop, not the delivery: never forwarded. */
const HOP_BY_HOP = new Set([
  'host',
  'connection',
  'content-length',
  'transfer-encoding',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'upgrade',
  'expect',
]);

export type ForwardOutcome =
  | { kind: 'answered'; status: number; contentType: string | null; body: Buffer; ms: number }
  | { kind: 'unreachable'; error: string; ms: number };

/**
 * Sends one delivery on to the local app: same method, body bytes and headers (the signature
 * headers, Content-Type, User-Agent and the webhook's custom headers), no redirects followed.
 */
export async function forwardDelivery(
  target: string,
  method: string,
  headers: IncomingHttpHeaders,
  body: Buffer,
  timeoutMs = 30_000,
): Promise<ForwardOutcome> {
  const outgoing = new Headers();
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name)) continue;
    for (const one of Array.isArray(value) ? value : [value]) outgoing.append(name, one);
  }
  const started = performance.now();
  try {
    const res = await fetch(target, {
      method,
      headers: outgoing,
      body: method === 'GET' || method === 'HEAD' ? undefined : body,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    const answer = Buffer.from(await res.arrayBuffer());
    return {
      kind: 'answered',
      status: res.status,
      contentType: res.headers.get('content-type'),
      body: answer,
      ms: Math.round(performance.now() - started),
    };
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return {
      kind: 'unreachable',
      error: cause?.code ?? cause?.message ?? (err as Error).message,
      ms: Math.round(performance.now() - started),
    };
  }
}

/** The app's answer body for the terminal: one line, at most 200 characters. */
function preview(body: Buffer): string {
  const text = body.toString('utf8').replace(/\s+/g, ' ').trim();
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

interface ListenOptions {
  port: number;
  host: string;
  secret?: string;
  publicKey?: string;
  forwardTo?: string;
}

function parsePort(value: string): number {
  const port = /^\d{1,5}$/.test(value) ? Number(value) : Number.NaN;
  if (!(port >= 0 && port <= 65535)) throw new InvalidArgumentError('expected a port number, 0 to 65535');
  return port;
}

function parsePublicKey(value: string): string {
  if (!/^whpk_[A-Za-z0-9+/]{43}=$/.test(value)) {
    throw new InvalidArgumentError("expected the webhook's public_key, whpk_ and 44 base64 characters");
  }
  return value;
}

function parseForwardTo(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(
      'expected an http:// or https:// URL, e.g. http://localhost:3000/webhooks',
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new InvalidArgumentError('expected an http:// or https:// URL');
  return url.toString();
}

export function registerListenCommand(program: Command): void {
  program
    .command('listen')
    .description(
      'a local receiver for development: prints each delivery and whether its signatures verify; answers 200, ' +
        "or with --forward-to passes each verified delivery on to your app and answers with your app's status",
    )
    .requiredOption('--port <port>', 'port to listen on (127.0.0.1)', parsePort)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--secret <secret>', "the webhook's secret, to check signatures")
    .option(
      '--public-key <whpk>',
      "an ed25519 webhook's public_key (whpk_...), to check the v1a entries of webhook-signature",
      parsePublicKey,
    )
    .option(
      '--forward-to <url>',
      'forward each delivery (same body and headers) to this URL and answer Runhook with its status; ' +
        'with --secret or --public-key, a delivery whose webhook-signature does not verify is answered 400 and not forwarded',
      parseForwardTo,
    )
    .action(async (opts: ListenOptions) => {
      const server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', async () => {
          const raw = Buffer.concat(chunks);
          const body = raw.toString('utf8');
          const s = summarise(body);
          const verdicts = checkSignatures(body, req.headers, opts.secret, opts.publicKey);
          const sigs =
            Object.keys(verdicts).length === 0
              ? 'unsigned'
              : Object.entries(verdicts)
                  .map(([k, v]) => `${k}: ${v}`)
                  .join('; ');
          process.stdout.write(
            `${new Date().toISOString()}  ${req.method} ${req.url}  event=${s.event} run=${s.run} status=${s.status}  webhook-id=${req.headers['webhook-id'] ?? '-'}\n    signatures: ${sigs}\n`,
          );
          if (!opts.forwardTo) {
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end('{"received":true}');
            return;
          }
          const verdict = verdicts['webhook-signature'];
          if ((opts.secret || opts.publicKey) && verdict !== 'ok') {
            const why = verdict ?? 'no webhook-signature header';
            process.stdout.write(`    not forwarded: ${why}\n    <- 400 to the sender\n`);
            res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
            res.end(`runhook listen: not forwarded, the signature does not verify (${why})`);
            return;
          }
          const outcome = await forwardDelivery(opts.forwardTo, req.method ?? 'POST', req.headers, raw);
          if (outcome.kind === 'unreachable') {
            process.stdout.write(
              `    -> ${opts.forwardTo}  FAILED after ${outcome.ms} ms: ${outcome.error}\n    <- 502 to the sender\n`,
            );
            res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8' });
            res.end(`runhook listen: could not reach ${opts.forwardTo} (${outcome.error})`);
            return;
          }
          const text = preview(outcome.body);
          process.stdout.write(
            `    -> ${opts.forwardTo}  ${outcome.status} ${STATUS_CODES[outcome.status] ?? ''} (${outcome.ms} ms)${text ? `  ${text}` : ''}\n`,
          );
          res.writeHead(outcome.status, outcome.contentType ? { 'content-type': outcome.contentType } : {});
          res.end(outcome.body);
        });
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(opts.port, opts.host, () => resolve());
      });
      const { port } = server.address() as AddressInfo;
      process.stdout.write(
        `runhook listen: waiting for deliveries on http://${opts.host}:${port}/` +
          (opts.forwardTo ? `, forwarding to ${opts.forwardTo}` : '') +
          (opts.forwardTo && !opts.secret && !opts.publicKey
            ? ' (no --secret: nothing is verified, everything is forwarded)'
            : '') +
          '\n',
      );
    });
}
