import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { USER_AGENT, VERSION } from '../src/version.js';

it('src/version.ts matches package.json', () => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  expect(VERSION).toBe(pkg.version);
  expect(USER_AGENT).toBe(`Runhook/${pkg.version}`);
});

it('the SDK package (sdk/package.json) has the same version', () => {
  const read = (path: string) =>
    (JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as { version: string }).version;
  expect(read('../sdk/package.json')).toBe(read('../package.json'));
});
