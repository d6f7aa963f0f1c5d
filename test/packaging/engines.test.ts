/**
 * Every installed package supports the oldest Node that package.json promises, so `npm ci` on
 * Node 20.19 prints no EBADENGINE warning (and `engine-strict` installs). The two packages
 * pinned back by `overrides` still do the jobs their parents use them for.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import Fastify from 'fastify';
import { afterAll, expect, it } from 'vitest';

// semver ships no types, and everyone's node_modules already has it (fastify uses it): typed here.
const semver = createRequire(import.meta.url)('semver') as {
  minVersion(range: string): { version: string } | null;
  satisfies(version: string, range: string): boolean;
};
const readJson = (file: string) =>
  JSON.parse(readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8'));
const pkg = readJson('package.json') as { engines: { node: string } };
const lock = readJson('package-lock.json') as { packages: Record<string, { engines?: unknown }> };

it('no package in package-lock.json excludes the oldest Node that package.json declares', () => {
  const oldest = semver.minVersion(pkg.engines.node)!.version;
  expect(oldest).toBe('20.19.0');
  const refusing = Object.entries(lock.packages)
    .filter(([, meta]) => {
      const range = (meta.engines as { node?: unknown } | undefined)?.node;
      return typeof range === 'string' && !semver.satisfies(oldest, range);
    })
    .map(([name, meta]) => `${name} (${JSON.stringify(meta.engines)})`);
  expect(refusing).toEqual([]);
});

const dir = mkdtempSync(join(tmpdir(), 'runhook-engines-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('content-disposition (overridden to a Node 20 version) still names downloads for @fastify/static', async () => {
  writeFileSync(join(dir, 'report.txt'), 'hello');
  const app = Fastify();
  await app.register(fastifyStatic, { root: dir, serve: false });
  app.get('/download', (_req, reply) => reply.download('report.txt', 'Prüfbericht.txt'));
  const response = await app.inject({ url: '/download' });
  await app.close();
  expect(response.statusCode).toBe(200);
  expect(response.body).toBe('hello');
  expect(response.headers['content-disposition']).toBe(
    `attachment; filename="Pr?fbericht.txt"; filename*=UTF-8''Pr%C3%BCfbericht.txt`,
  );
});

it('cookie (overridden to a Node 20 version) still serialises cookies for inject()', async () => {
  const app = Fastify();
  app.get('/echo', (request) => ({ cookie: request.headers.cookie ?? null }));
  const response = await app.inject({ url: '/echo', cookies: { session: 'a b', theme: 'dark' } });
  await app.close();
  expect(response.json()).toEqual({ cookie: 'session=a%20b; theme=dark' });
});
