/**
 * The live tail (docs/api.md#live-tail) in the browser. `EventSource` cannot send the session's
 * Bearer key, so the stream is read with fetch() and its body parsed here; a dropped connection
 * is opened again with `Last-Event-ID`.
 */
import { useEffect, useRef } from 'react';
import { API_BASE } from './api';
import { getApiKey } from './session';
import type { LiveAttempt } from './types';

const RECONNECT_MS = 3_000;

/** Calls `onAttempt` for every attempt of the organization recorded while the component is shown. */
export function useLiveAttempts(onAttempt: (attempt: LiveAttempt) => void, webhookId = ''): void {
  const latest = useRef(onAttempt);
  latest.current = onAttempt;
  useEffect(() => {
    const controller = new AbortController();
    let lastEventId: string | null = null;
    const path = `${API_BASE}/deliveries/stream${webhookId ? `?webhook_id=${encodeURIComponent(webhookId)}` : ''}`;
    async function follow() {
      while (!controller.signal.aborted) {
        const key = getApiKey();
        if (!key) return;
        try {
          const headers: Record<string, string> = {
            Authorization: `Bearer ${key}`,
            Accept: 'text/event-stream',
          };
          if (lastEventId) headers['Last-Event-ID'] = lastEventId;
          const response = await fetch(path, { headers, signal: controller.signal });
          // A refusal (a bad key, too many streams) is not retried in a loop: the page still works.
          if (!response.ok || !response.body) return;
          const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
          let buffer = '';
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            buffer += value;
            const blocks = buffer.split(/\r?\n\r?\n/);
            buffer = blocks.pop() ?? '';
            for (const block of blocks) {
              let event = 'message';
              const data: string[] = [];
              for (const line of block.split(/\r?\n/)) {
                if (line.startsWith('id:')) lastEventId = line.slice(3).trim();
                else if (line.startsWith('event:')) event = line.slice(6).trim();
                else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
              }
              if (event === 'attempt' && data.length > 0)
                latest.current(JSON.parse(data.join('\n')) as LiveAttempt);
            }
          }
        } catch {
          if (controller.signal.aborted) return;
        }
        await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
      }
    }
    void follow();
    return () => controller.abort();
  }, [webhookId]);
}
