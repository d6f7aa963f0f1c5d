/**
 * `runhook tail`: the organization's attempts as they are recorded, one line each, from the live
 * tail (docs/api.md#live-tail). A dropped connection is opened again with the last event's id, so
 * nothing recorded meanwhile (within five minutes) is missed.
 */
import type { Command } from 'commander';
import type { presentFeedItem } from '../http/routes/deliveryStream.js';
import { readEventStream, StreamRefused } from './eventStream.js';
import { DEFAULT_API_URL } from './report.js';

/** One `attempt` event of the stream, as the server writes it. */
export type TailAttempt = ReturnType<typeof presentFeedItem>;

export interface TailOptions {
  apiUrl: string;
  apiKey: string;
  webhookId?: string;
  /** Only attempts that did not deliver: the delivery failed after it, or it has an error_class. */
  failed?: boolean;
  write: (line: string) => void;
  /** Connection news (connected, lost, reconnecting), for stderr. */
  note: (line: string) => void;
  signal?: AbortSignal;
  reconnectDelayMs?: number;
}

/** Refusals worth trying again: too many streams, a server restarting. */
const PASSING = new Set([429, 502, 503, 504]);

/** Follows the stream until `signal` aborts; rejects on a refusal that will not pass (a bad key). */
export async function tailAttempts(o: TailOptions): Promise<void> {
  const base = o.apiUrl.replace(/\/+$/, '').replace(/\/api\/v1$/, '');
  const query = o.webhookId ? `?webhook_id=${encodeURIComponent(o.webhookId)}` : '';
  const url = `${base}/api/v1/deliveries/stream${query}`;
  const delay = o.reconnectDelayMs ?? 2_000;
  let lastEventId: string | null = null;
  while (!o.signal?.aborted) {
    try {
      await readEventStream({
        url,
        apiKey: o.apiKey,
        lastEventId,
        ...(o.signal && { signal: o.signal }),
        onOpen: () => o.note(lastEventId ? 'reconnected' : 'connected; waiting for attempts'),
        onEvent: (event) => {
          if (event.id) lastEventId = event.id;
          if (event.event !== 'attempt') return;
          const attempt = JSON.parse(event.data) as TailAttempt;
          if (o.failed && attempt.status !== 'failed' && attempt.error_class === null) return;
          o.write(formatAttempt(attempt));
        },
      });
      if (o.signal?.aborted) return;
      o.note('the server closed the stream; reconnecting');
    } catch (error) {
      if (o.signal?.aborted) return;
      if (error instanceof StreamRefused && !PASSING.has(error.status)) throw error;
      o.note(`connection lost (${(error as Error).message}); reconnecting`);
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, delay);
      o.signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

/** One attempt as a line: time, delivery, webhook, trigger, status, HTTP status, time taken, error. */
export function formatAttempt(a: TailAttempt): string {
  return [
    a.started_at,
    a.delivery_id,
    a.webhook_id,
    a.trigger.padEnd(9),
    a.status.padEnd(9),
    String(a.http_status ?? '-').padStart(3),
    (a.response_time_ms === null ? '-' : `${a.response_time_ms}ms`).padStart(7),
    a.error_class ?? '-',
  ].join('  ');
}

export function registerTailCommand(program: Command): void {
  program
    .command('tail')
    .description(
      "Print the organization's delivery attempts as they are recorded, one line each: start time, " +
        'delivery id, webhook id, trigger, delivery status after the attempt, HTTP status, response ' +
        'time, error class. Reconnects after a dropped connection without missing attempts ' +
        '(within five minutes). Stop with Ctrl-C.',
    )
    .option('--webhook <id>', "only this webhook's attempts")
    .option(
      '--failed',
      'only attempts that did not deliver: the delivery failed after the attempt, or the attempt has an error class (no answer, or a status that is not a success)',
    )
    .option('--api-url <url>', `Runhook server (default: $RUNHOOK_API_URL, else ${DEFAULT_API_URL})`)
    .option('--api-key <key>', 'API key (default: $RUNHOOK_API_KEY)')
    .action(async (options: TailCommandOptions, command: Command) => {
      const apiKey = options.apiKey ?? process.env.RUNHOOK_API_KEY;
      if (!apiKey) {
        command.error('runhook tail: no API key; pass --api-key or set RUNHOOK_API_KEY', {
          exitCode: 2,
          code: 'runhook.tail.missingApiKey',
        });
      }
      const stop = new AbortController();
      process.once('SIGINT', () => stop.abort());
      process.once('SIGTERM', () => stop.abort());
      try {
        await tailAttempts({
          apiUrl: options.apiUrl ?? process.env.RUNHOOK_API_URL ?? DEFAULT_API_URL,
          apiKey: apiKey as string,
          ...(options.webhook !== undefined && { webhookId: options.webhook }),
          failed: options.failed === true,
          write: (line) => process.stdout.write(`${line}\n`),
          note: (line) => process.stderr.write(`runhook tail: ${line}\n`),
          signal: stop.signal,
        });
      } catch (error) {
        if (!(error instanceof StreamRefused)) throw error;
        command.error(`runhook tail: ${error.message}`, { exitCode: 1, code: 'runhook.tail.refused' });
      }
    });
}

interface TailCommandOptions {
  webhook?: string;
  failed?: boolean;
  apiUrl?: string;
  apiKey?: string;
}
