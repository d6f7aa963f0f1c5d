import { createServer } from 'node:net';

/**
 * A port on 127.0.0.1 that was free a moment ago. Another process can take it before the caller
 * binds it: a caller that starts a server on it checks that its own server is the one listening
 * (see test/sdk/realServer.ts).
 */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
