/**
 * docs/architecture.md stays true to the tree: it names every folder under src/, every file it
 * names exists, and the walk of one event goes from a route to the HTTP client.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const doc = readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8');

function folders(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .flatMap((e) => {
      const path = posix.join(dir, e.name);
      return [path, ...folders(path)];
    });
}

/** Every `code span` of the document. */
const spans = [...doc.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!);

describe('docs/architecture.md', () => {
  it('names every folder under src/', () => {
    const all = ['src', ...folders('src')];
    expect(all.length).toBeGreaterThan(8);
    const named = new Set(spans.map((s) => s.replace(/\/$/, '')));
    expect(all.filter((f) => !named.has(f))).toEqual([]);
  });

  it('names only files and folders that exist', () => {
    const paths = spans.filter((s) => /^(src|test|docs|web|sdk|bench)\//.test(s));
    expect(paths.length).toBeGreaterThan(30);
    expect(paths.filter((p) => !existsSync(join(ROOT, p)))).toEqual([]);
  });

  it('names, in each row of the parts table, only files that exist in that row’s folder', () => {
    const rows = doc.split('\n').filter((l) => /^\| `src\//.test(l));
    expect(rows.length).toBeGreaterThan(8);
    const missing: string[] = [];
    for (const row of rows) {
      const folder = /^\| `([^`]+)`/.exec(row)![1]!;
      expect(statSync(join(ROOT, folder)).isDirectory(), folder).toBe(true);
      for (const [, name] of row.matchAll(/`([\w.-]+\.ts)`/g)) {
        if (!existsSync(join(ROOT, folder, name!))) missing.push(`${folder}${name}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('walks one event from a route, through the store and the worker, to the HTTP client', () => {
    const walk = doc.slice(doc.indexOf('## One event'), doc.indexOf('## Invariants'));
    const order = [
      'src/http/routes/runs.ts',
      'src/store/ops/runs.ts',
      'src/delivery/deliveryWorker.ts',
      'src/delivery/attempt.ts',
      'src/delivery/httpClient.ts',
      'src/store/ops/recordResults.ts',
    ].map((file) => walk.indexOf(`\`${file}\``));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });
});
