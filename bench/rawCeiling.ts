/**
 * The raw ceiling: undici `Pool` posting the same bodies and headers as Runhook sends, at the same
 * concurrency, to the same receiver. Nothing is stored, signed or logged: no delivery engine on
 * this machine can beat it.
 */
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { processCpuUs } from './meter.js';

export interface RawResult {
  requests: number;
  seconds: number;
  rps: number;
  /** CPU of this process (the client: undici, the event loop, GC) over the timed part, per request, µs. */
  cpuUsPerRequest: number;
}

/** Posts for `seconds` after `warmupSeconds`, `concurrency` requests at a time. */
export async function measureRawCeiling(input: {
  origin: string;
  path: string;
  bodies: readonly string[];
  headers: Record<string, string>;
  concurrency: number;
  seconds: number;
  warmupSeconds: number;
}): Promise<RawResult> {
  const pool = new Pool(input.origin, { connections: input.concurrency, keepAliveTimeout: 30_000 });
  try {
    let sent = 0;
    const post = async () => {
      const res = await pool.request({
        path: input.path,
        method: 'POST',
        headers: input.headers,
        body: input.bodies[sent++ % input.bodies.length] as string,
      });
      // Read the answer as Runhook does (it keeps it in the attempt log).
      await res.body.text();
      if (res.statusCode !== 200) throw new Error(`receiver answered ${res.statusCode}`);
    };
    const drive = async (seconds: number) => {
      const end = performance.now() + seconds * 1000;
      let done = 0;
      const lanes = Array.from({ length: input.concurrency }, async () => {
        while (performance.now() < end) {
          await post();
          done++;
        }
      });
      const t0 = performance.now();
      await Promise.all(lanes);
      return { requests: done, seconds: (performance.now() - t0) / 1000 };
    };
    await drive(input.warmupSeconds);
    const cpu0 = processCpuUs();
    const { requests, seconds } = await drive(input.seconds);
    const cpuUs = processCpuUs() - cpu0;
    return { requests, seconds, rps: requests / seconds, cpuUsPerRequest: cpuUs / requests };
  } finally {
    await pool.close();
  }
}
