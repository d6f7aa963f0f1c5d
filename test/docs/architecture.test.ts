/**
 * docs/architecture.md stays true to the tree: it names every folder under src/, every file it
 * names exists, every import in src/ goes where the parts table's "may import" column lets it,
 * and the walk of one event goes from a route to the HTTP client.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
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

/** Every `.ts` file under `dir`, relative to the repository. */
function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)).split('\\').join('/'));
}

/** What each file imports from the repository: static, `export … from` and dynamic imports. */
function repositoryImports(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const specs = [
    ...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/g),
    ...text.matchAll(/(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g),
    ...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map((m) => m[1]!);
  return specs
    .filter((spec) => spec.startsWith('.'))
    .map((spec) => posix.normalize(posix.join(dirname(file), spec)).replace(/\.js$/, '.ts'));
}

interface Layer {
  /** A folder (ending in `/`) or one file. */
  part: string;
  mayImport: string[];
}

/** The parts table, top to bottom, with each row's "may import" cell as a list of parts. */
function layers(): Layer[] {
  const rows = doc
    .slice(doc.indexOf('## The parts'), doc.indexOf('## One event'))
    .split('\n')
    .filter((l) => /^\| `src\//.test(l));
  const parsed = rows.map((row) => {
    const cells = row.split(' | ');
    const part = /`([^`]+)`/.exec(cells[0]!)![1]!;
    const cell = cells.at(-1)!;
    const named = [...cell.matchAll(/`((?:src|sdk)\/[^`]*)`/g)].map((m) => m[1]!);
    return { part, cell, named };
  });
  return parsed.map(({ part, cell, named }, i) => ({
    part,
    mayImport: /everything below/.test(cell) ? [...parsed.slice(i + 1).map((r) => r.part), ...named] : named,
  }));
}

/** Which part a path is in: the longest folder of the table that holds it, or the file itself. */
function partOf(path: string, parts: string[]): string | undefined {
  return parts
    .filter((p) => (p.endsWith('/') ? path.startsWith(p) : path === p))
    .sort((a, b) => b.length - a.length)[0];
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
    const rows = doc.split('\n').filter((l) => /^\| `src\/[^`]*\/`/.test(l));
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

  it('has every import in src/ point where the parts table lets it', () => {
    const table = layers();
    const parts = table.map((l) => l.part);
    const allowed = new Map(table.map((l) => [l.part, new Set(l.mayImport)]));
    const files = sources('src');
    expect(files.length).toBeGreaterThan(50);
    const wrong: string[] = [];
    for (const file of files) {
      const from = partOf(file, parts);
      if (from === undefined) {
        wrong.push(`${file} is in no row of the table`);
        continue;
      }
      for (const target of repositoryImports(file)) {
        const to = partOf(target, parts) ?? (target.startsWith('sdk/') ? 'sdk/' : target);
        if (to !== from && !allowed.get(from)!.has(to)) wrong.push(`${file} imports ${target} (${to})`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('lists, for each layer outside src/http/ and src/store/, only rows below it', () => {
    const table = layers();
    const family = (part: string) => /^src\/(http|store)\//.exec(part)?.[0] ?? part;
    const upward: string[] = [];
    table.forEach((layer, i) => {
      const above = new Set(table.slice(0, i).map((l) => family(l.part)));
      for (const target of layer.mayImport) {
        if (family(target) !== family(layer.part) && above.has(family(target)))
          upward.push(`${layer.part} may import ${target}, which is above it`);
      }
    });
    expect(upward).toEqual([]);
  });

  it('walks one event from a route, through the store and the worker, to the HTTP client', () => {
    const walk = doc.slice(doc.indexOf('## One event'), doc.indexOf('## Invariants'));
    const order = [
      'src/http/routes/runs.ts',
      'src/store/ops/finishRun.ts',
      'src/delivery/deliveryWorker.ts',
      'src/delivery/attempt.ts',
      'src/delivery/httpClient.ts',
      'src/store/ops/recordResults.ts',
    ].map((file) => walk.indexOf(`\`${file}\``));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });
});
