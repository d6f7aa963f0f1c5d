/**
 * Files of one role, functions one can read (CONTRIBUTING.md, "Layout"): no file in src/ over 500
 * lines and no function over 150, except declarative tables (the request schemas, route tables,
 * migrations) and the files listed in NOT_YET, which are being split.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAX_FILE_LINES = 500;
const MAX_FUNCTION_LINES = 150;

/** Declarative: a schema or a table of routes reads top to bottom however long it is. */
const DECLARATIVE = [/^src\/http\/schemas\.ts$/, /^src\/http\/routes\//, /^src\/store\/migrations\//];
/** Over a limit today, to be split; remove a line when its file is. */
const NOT_YET = new Set<string>([]);

const files = readdirSync(join(ROOT, 'src'), { recursive: true, withFileTypes: true })
  .filter((e) => e.isFile() && e.name.endsWith('.ts'))
  .map((e) => relative(ROOT, join(e.parentPath, e.name)).split('\\').join('/'))
  .filter((f) => !DECLARATIVE.some((pattern) => pattern.test(f)) && !NOT_YET.has(f));

function longFunctions(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const first = source.getLineAndCharacterOfPosition(node.getStart()).line;
      const last = source.getLineAndCharacterOfPosition(node.end).line;
      const lines = last - first + 1;
      const name = node.name && ts.isIdentifier(node.name) ? node.name.text : '(anonymous)';
      if (lines > MAX_FUNCTION_LINES) found.push(`${file}:${first + 1} ${name}: ${lines} lines`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('code size', () => {
  it(`has no file in src/ over ${MAX_FILE_LINES} lines`, () => {
    expect(files.length).toBeGreaterThan(50);
    const long = files
      .map((f) => [f, readFileSync(join(ROOT, f), 'utf8').split('\n').length] as const)
      .filter(([, lines]) => lines > MAX_FILE_LINES)
      .map(([f, lines]) => `${f}: ${lines} lines`);
    expect(long).toEqual([]);
  });

  it(`has no function in src/ over ${MAX_FUNCTION_LINES} lines`, () => {
    expect(files.flatMap(longFunctions)).toEqual([]);
  });
});
