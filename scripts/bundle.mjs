#!/usr/bin/env node
/**
 * Bundles the `runhook` command (src/cli/main.ts) and what it imports, dependencies included,
 * into dist/bin: the process `npm start`, `runhook serve`, `runhook worker` and every other command
 * runs. A process then reads a few files where it read hundreds (Fastify, Kysely, undici and pg
 * are many small modules each), and starts in about two thirds of the CPU time (bench/README.md).
 * Each command is still its own chunk, loaded only when it runs (src/cli/main.ts).
 *
 * Left outside the bundle, loaded from node_modules as usual: better-sqlite3 (a native addon),
 * pg-native (an optional addon pg looks for), and the Fastify plugins that read their own files
 * beside them (the API reference's static assets).
 *
 * Plain JavaScript, run by scripts/build.mjs after the TypeScript build.
 */
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { rolldown } from 'rolldown';

const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = `${root}dist/bin`;
const EXTERNAL = [
  'better-sqlite3',
  'pg-native',
  '@fastify/static',
  '@fastify/swagger',
  '@fastify/swagger-ui',
];

rmSync(outDir, { recursive: true, force: true });
const bundle = await rolldown({
  input: { runhook: `${root}src/cli/main.ts` },
  platform: 'node',
  tsconfig: `${root}tsconfig.json`,
  external: (id) => EXTERNAL.some((name) => id === name || id.startsWith(`${name}/`)),
  logLevel: 'warn',
});
await bundle.write({
  dir: outDir,
  format: 'esm',
  entryFileNames: '[name].js',
  chunkFileNames: '[name]-[hash].js',
});
await bundle.close();
