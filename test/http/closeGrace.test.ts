/** A closing server cuts connections still open after its grace (src/http/app.ts, CLOSE_GRACE_MS). */

import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/http/app.js';
import { sqliteBackend } from '../helpers/backends.js';
import { createTestContext, type TestContext } from '../helpers/context.js';

describe('closing the API', () => {
  let ctx: TestContext | null = null;
  afterEach(async () => {
    await ctx?.close();
    ctx = null;
  });

  it('a request that never ends holds a close for the grace only, then its connection is cut', async () => {
    ctx = await createTestContext(sqliteBackend, { worker: false });
    const app = await buildApp({
      store: ctx.rt.store,
      config: ctx.config,
      secretBox: ctx.rt.secretBox,
      send: ctx.rt.send,
      closeGraceMs: 300,
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    // Headers promising a body that never comes: the request stays in flight.
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const cut = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => {});
    socket.write(
      `POST /api/v1/agents HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${ctx.apiKey}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name":',
    );
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    await app.close();
    const took = Date.now() - t0;
    await cut;
    expect(took).toBeGreaterThanOrEqual(250);
    expect(took).toBeLessThan(5_000);
  });
});
