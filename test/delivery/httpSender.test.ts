/**
 * The sender on its own (src/delivery/httpClient.ts), against real servers on loopback: the paths
 * the end-to-end delivery tests do not reach.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpSender, type HttpSender } from '../../src/delivery/httpClient.js';
import { parseCidrList } from '../../src/domain/ipRules.js';
import { type Behaviour, type Receiver, startReceiver } from '../helpers/receiver.js';

describe('the HTTP sender', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((c) => c()));
  });

  function sender(connectionsPerOrigin?: number): HttpSender {
    const s = createHttpSender({ allowedCidrs: parseCidrList('127.0.0.0/8'), connectionsPerOrigin });
    cleanups.push(() => s.close());
    return s;
  }

  /** A real receiver on loopback (test/helpers/receiver.ts) answering as told; closed after the test. */
  async function receiver(behaviour: Behaviour): Promise<Receiver> {
    const r = await startReceiver();
    r.behaviour = behaviour;
    cleanups.push(() => r.close());
    return r;
  }

  const bodies = (r: Receiver) => r.requests.map((q) => q.body);

  it('an answer: status, headers and body as the attempt log keeps them', async () => {
    const srv = await receiver({ kind: 'status', status: 201, body: 'ok', headers: { 'x-seen': '1' } });
    const res = await sender().send({ url: srv.url, headers: { 'x-a': '1' }, body: 'one', timeoutMs: 2_000 });
    expect(res).toMatchObject({
      httpStatus: 201,
      errorClass: null,
      response: { body: 'ok', truncated: false },
    });
    expect(res.response?.headers['x-seen']).toBe('1');
    expect(bodies(srv)).toEqual(['one']);
  });

  it('a request still waiting for a connection when its time runs out times out, and is never sent', async () => {
    const srv = await receiver({ kind: 'hang' });
    const s = sender(1);
    const t0 = Date.now();
    const [first, second] = await Promise.all([
      s.send({ url: srv.url, headers: {}, body: 'first', timeoutMs: 300 }),
      s.send({ url: srv.url, headers: {}, body: 'second', timeoutMs: 300 }),
    ]);
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(first).toMatchObject({ httpStatus: null, errorClass: 'timeout' });
    expect(second).toMatchObject({ httpStatus: null, errorClass: 'timeout' });
    // The first's connection is closed by its abort; the second, aborted as it starts, never arrives.
    await new Promise((r) => setTimeout(r, 300));
    expect(bodies(srv)).toEqual(['first']);
  });

  it('a literal address outside the allowed ranges is refused, every time, without a connection', async () => {
    const s = sender();
    for (let i = 0; i < 2; i++) {
      const res = await s.send({ url: 'http://10.1.2.3:9/hook', headers: {}, body: 'x', timeoutMs: 2_000 });
      expect(res).toMatchObject({ httpStatus: null, errorClass: 'ssrf_blocked' });
      expect(res.errorMessage).toContain('10.1.2.3 is not a public address');
    }
  });

  it('a send after the sender was closed (shutdown) is a failed attempt, not a crash', async () => {
    const srv = await receiver({ kind: 'status', status: 200 });
    const s = createHttpSender({ allowedCidrs: parseCidrList('127.0.0.0/8') });
    await s.close();
    const res = await s.send({ url: srv.url, headers: {}, body: 'late', timeoutMs: 2_000 });
    expect(res.httpStatus).toBeNull();
    expect(res.errorClass).toBe('connection_reset');
    expect(bodies(srv)).toEqual([]);
  });

  it('close() cuts off a request still in flight after a second, not at its timeout', async () => {
    const srv = await receiver({ kind: 'hang' });
    const s = createHttpSender({ allowedCidrs: parseCidrList('127.0.0.0/8') });
    const pending = s.send({ url: srv.url, headers: {}, body: 'slow', timeoutMs: 20_000 });
    await srv.waitFor(1);
    const t0 = Date.now();
    await s.close();
    const res = await pending;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(res.httpStatus).toBeNull();
    expect(res.errorClass).not.toBeNull();
  });

  it('a URL that does not parse is a failed attempt, not a crash', async () => {
    const res = await sender().send({ url: 'not a url', headers: {}, body: 'x', timeoutMs: 2_000 });
    expect(res.httpStatus).toBeNull();
    expect(res.errorClass).not.toBeNull();
  });
});
