/**
 * The raw ceiling: undici `Pool` posting the same bodies and headers as Runhook sends, at the same
 * concurrency, to the same receiver. Nothing is stored, signed or logged: no delivery engine on
 * this machine can beat it.
 */
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';

export interface RawResult {
  requests: number;
  seconds: number;
  rps: number;
}

export async function measureRawCeiling(input: {
  origin: string;
  path: string;
  bodies: readonly string[];
  headers: Record<string, string>;
  concurrency: number;
  count: number;
  warmup: number;
}): Promise<RawResult> {
  const pool = new Pool(input.origin, { connections: input.concurrency, keepAliveTimeout: 30_000 });
  try {
    const post = async (i: number) => {
      const res = await pool.request({
        path: input.path,
        method: 'POST',
        headers: input.headers,
        body: input.bodies[i % input.bodies.length] as string,
      });
      // Read the answer as Runhook does (it keeps it in the attempt log).
      await res.body.text();
      if (res.statusCode !== 200) throw new Error(`receiver answered ${res.statusCode}`);
    };
    const drive = async (count: number) => {
      let next = 0;
      const lanes = Array.from({ length: input.concurrency }, async () => {
        while (next < count) await post(next++);
      });
      await Promise.all(lanes);
    };
    await drive(input.warmup);
    const t0 = performance.now();
    await drive(input.count);
    const seconds = (performance.now() - t0) / 1000;
    return { requests: input.count, seconds, rps: input.count / seconds };
  } finally {
    await pool.close();
  }
}
