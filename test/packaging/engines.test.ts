/**
 * Every installed package supports the oldest Node that package.json promises, so `npm ci` (and a
 * global install of the packed tarball, where `overrides` would not apply) on Node 20.19 prints no
 * EBADENGINE warning. Two parents are pinned for that: @fastify/static 10.1.3 (the last release on
 * content-disposition 2, and after the 2026 path advisories) and light-my-request 6.6.0 (the last
 * on cookie 1, a direct dependency so that fastify's `^6` settles on it). They still do their jobs.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyReply } from 'fastify';
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

it('@fastify/static 10.1.3 serves files, refuses traversal and names downloads (content-disposition 2)', async () => {
  mkdirSync(join(dir, 'web'));
  writeFileSync(join(dir, 'web', 'index.html'), '<p>dashboard</p>');
  writeFileSync(join(dir, 'secret.txt'), 'not served');
  writeFileSync(join(dir, 'report.txt'), 'hello');
  const app = Fastify();
  await app.register(fastifyStatic, { root: join(dir, 'web') });
  // 10.1.3's download() does not fall back to the plugin's root (Runhook never calls it): pass it.
  // (its types omit `root` from the options, its code reads it).
  const withRoot = { root: dir } as Parameters<FastifyReply['download']>[2];
  app.get('/download', (_req, reply) => reply.download('report.txt', 'Prüfbericht.txt', withRoot));
  const page = await app.inject({ url: '/index.html' });
  const traversal = await Promise.all(
    ['/../secret.txt', '/%2e%2e/secret.txt', '/a/..%2f..%2fsecret.txt'].map((url) => app.inject({ url })),
  );
  const response = await app.inject({ url: '/download' });
  await app.close();
  expect(page.body).toBe('<p>dashboard</p>');
  expect(traversal.map((r) => [r.statusCode, r.body.includes('not served')])).toEqual([
    [404, false],
    [404, false],
    [404, false],
  ]);
  expect(response.statusCode).toBe(200);
  expect(response.body).toBe('hello');
  expect(response.headers['content-disposition']).toBe(
    `attachment; filename="Pr?fbericht.txt"; filename*=UTF-8''Pr%C3%BCfbericht.txt`,
  );
});

it('light-my-request 6.6.0 (cookie 1) serialises cookies for inject()', async () => {
  const app = Fastify();
  app.get('/echo', (request) => ({ cookie: request.headers.cookie ?? null }));
  const response = await app.inject({ url: '/echo', cookies: { session: 'a b', theme: 'dark' } });
  await app.close();
  expect(response.json()).toEqual({ cookie: 'session=a%20b; theme=dark' });
});
