/** A test client of the live tail (docs/api.md#live-tail) over a real connection. */
import { readEventStream, type StreamEvent, StreamRefused } from '../../src/cli/eventStream.js';
import { eventually } from './context.js';

export interface OpenStream {
  /** 200 once open, else the refusal's status. */
  status: number;
  code: string | null;
  events: StreamEvent[];
  /** The `attempt` events' data, parsed. */
  attempts(): Array<Record<string, unknown>>;
  waitFor(n: number, timeoutMs?: number): Promise<StreamEvent[]>;
  close(): void;
}

export async function openStream(
  baseUrl: string,
  apiKey: string,
  options: { query?: string; lastEventId?: string } = {},
): Promise<OpenStream> {
  const controller = new AbortController();
  const events: StreamEvent[] = [];
  let status = 0;
  let code: string | null = null;
  let opened!: () => void;
  const open = new Promise<void>((resolve) => {
    opened = resolve;
  });
  readEventStream({
    url: `${baseUrl}/api/v1/deliveries/stream${options.query ? `?${options.query}` : ''}`,
    apiKey,
    lastEventId: options.lastEventId ?? null,
    signal: controller.signal,
    onOpen: () => {
      status = 200;
      opened();
    },
    onEvent: (e) => events.push(e),
  }).catch((err) => {
    if (err instanceof StreamRefused) {
      status = err.status;
      code = err.code;
    } else if (status === 0) status = -1;
    opened();
  });
  await open;
  return {
    status,
    code,
    events,
    attempts: () => events.filter((e) => e.event === 'attempt').map((e) => JSON.parse(e.data)),
    waitFor: (n, timeoutMs = 10_000) =>
      eventually(async () => events.length >= n && events, timeoutMs, `${n} stream events`),
    close: () => controller.abort(),
  };
}
