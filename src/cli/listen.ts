import { createServer } from 'node:http';
import type { Command } from 'commander';
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

/** Verdict per signature header present: "ok", "INVALID", or "present (no --secret to check it)". */
export function checkSignatures(
  body: string,
  headers: Record<string, string | string[] | undefined>,
  secret: string | undefined,
) {
  const verdicts: Record<string, string> = {};
  const noSecret = 'present (no --secret given to check it)';
  if (headers['webhook-signature'] !== undefined) {
    if (!secret) verdicts['webhook-signature'] = noSecret;
    else {
      try {
        verifyWebhook(body, headers, secret);
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

export function registerListenCommand(program: Command): void {
  program
    .command('listen')
    .description(
      'a local receiver for development: prints each delivery and whether its signatures verify, answers 200',
    )
    .requiredOption('--port <port>', 'port to listen on (127.0.0.1)', (v) => Number.parseInt(v, 10))
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--secret <secret>', "the webhook's secret, to check signatures")
    .action(async (opts: { port: number; host: string; secret?: string }) => {
      const server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          const s = summarise(body);
          const verdicts = checkSignatures(body, req.headers, opts.secret);
          const sigs =
            Object.keys(verdicts).length === 0
              ? 'unsigned'
              : Object.entries(verdicts)
                  .map(([k, v]) => `${k}: ${v}`)
                  .join('; ');
          process.stdout.write(
            `${new Date().toISOString()}  ${req.method} ${req.url}  event=${s.event} run=${s.run} status=${s.status}  webhook-id=${req.headers['webhook-id'] ?? '-'}\n    signatures: ${sigs}\n`,
          );
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end('{"received":true}');
        });
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(opts.port, opts.host, () => resolve());
      });
      process.stdout.write(`runhook listen: waiting for deliveries on http://${opts.host}:${opts.port}/\n`);
    });
}
