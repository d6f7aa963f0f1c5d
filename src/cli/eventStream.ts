/**
 * A client of Runhook's server-sent event streams (docs/api.md#live-tail): opens the stream with
 * the bearer key, parses its events, and gives each to `onEvent`. `runhook tail` reconnects
 * around it with the last event's id.
 */
import { request } from 'undici';

export interface StreamEvent {
  id: string | null;
  event: string;
  data: string;
}

/** Splits server-sent event text into events; feed it chunks, it keeps the unfinished tail. */
export class EventStreamParser {
  private buffer = '';
  private id: string | null = null;
  private event = '';
  private data: string[] = [];

  push(chunk: string): StreamEvent[] {
    this.buffer += chunk;
    const events: StreamEvent[] = [];
    for (;;) {
      const nl = this.buffer.search(/\r\n|\n|\r/);
      if (nl < 0) break;
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + (this.buffer.startsWith('\r\n', nl) ? 2 : 1));
      if (line === '') {
        if (this.data.length > 0)
          events.push({ id: this.id, event: this.event || 'message', data: this.data.join('\n') });
        this.event = '';
        this.data = [];
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'data') this.data.push(value);
      else if (field === 'event') this.event = value;
      else if (field === 'id') this.id = value;
    }
    return events;
  }
}

export class StreamRefused extends Error {
  constructor(
    readonly status: number,
    readonly code: string | null,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Reads one connection of the stream at `url` until it ends (resolves) or fails (rejects; a
 * refusal is a StreamRefused). `onOpen` is called once the answer is a 200.
 */
export async function readEventStream(input: {
  url: string;
  apiKey: string;
  lastEventId?: string | null;
  signal?: AbortSignal;
  onOpen?: () => void;
  onEvent: (event: StreamEvent) => void;
}): Promise<void> {
  const headers: Record<string, string> = {
    authorization: `Bearer ${input.apiKey}`,
    accept: 'text/event-stream',
  };
  if (input.lastEventId) headers['last-event-id'] = input.lastEventId;
  const res = await request(input.url, {
    method: 'GET',
    headers,
    ...(input.signal && { signal: input.signal }),
    // The stream is quiet between attempts; its keep-alive comes every 15 s.
    bodyTimeout: 60_000,
  });
  if (res.statusCode !== 200) {
    const text = await res.body.text();
    let code: string | null = null;
    let message = `HTTP ${res.statusCode}`;
    try {
      const json = JSON.parse(text) as { code?: string; error?: string };
      code = json.code ?? null;
      if (json.error) message = `${json.error} (HTTP ${res.statusCode})`;
    } catch {
      // not the API's JSON: keep the status
    }
    throw new StreamRefused(res.statusCode, code, message);
  }
  input.onOpen?.();
  const parser = new EventStreamParser();
  res.body.setEncoding('utf8');
  for await (const chunk of res.body) {
    for (const event of parser.push(chunk as string)) input.onEvent(event);
  }
}
