/** The docs stay true to the code: every variable documented, every relative link alive. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DOCS = join(ROOT, 'docs');
const read = (path: string) => readFileSync(path, 'utf8');

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes. */
function slug(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .trim()
    .replace(/\s/g, '-');
}

function anchors(markdown: string): Set<string> {
  const withoutCode = markdown.replace(/```[\s\S]*?```/g, '');
  return new Set([...withoutCode.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1]!)));
}

describe('docs', () => {
  it('configuration.md documents every RUNHOOK_* variable that src/config.ts reads', () => {
    const source = read(join(ROOT, 'src/config.ts'));
    const variables = [...new Set([...source.matchAll(/'(RUNHOOK_[A-Z_]+)'/g)].map((m) => m[1]!))];
    expect(variables.length).toBeGreaterThanOrEqual(16);
    const doc = read(join(DOCS, 'configuration.md'));
    const table = new Set([...doc.matchAll(/^\| \[?`(RUNHOOK_[A-Z_]+)`/gm)].map((m) => m[1]));
    // RUNHOOK_HOST and RUNHOOK_PORT have a row each too.
    expect(variables.filter((v) => !table.has(v))).toEqual([]);
  });

  it('configuration.md gives the defaults loadConfig applies', () => {
    const defaults = loadConfig({});
    const doc = read(join(DOCS, 'configuration.md'));
    const row = (name: string) => doc.split('\n').find((l) => l.includes(`\`${name}\``) && l.startsWith('|'));
    expect(row('RUNHOOK_PORT')).toContain(`\`${defaults.port}\``);
    expect(row('RUNHOOK_HOST')).toContain(`\`${defaults.host}\``);
    expect(row('RUNHOOK_WORKER_CONCURRENCY')).toContain(`\`${defaults.workerConcurrency}\``);
    expect(row('RUNHOOK_WEBHOOK_CONCURRENCY')).toContain(`\`${defaults.webhookConcurrency}\``);
    expect(row('RUNHOOK_RETRY_JITTER')).toContain(`\`${defaults.retryJitter}\``);
    expect(row('RUNHOOK_LOG_LEVEL')).toContain(`\`${defaults.logLevel}\``);
    expect(row('RUNHOOK_RATE_LIMIT')).toContain(`\`${defaults.rateLimit}\``);
    expect(defaults.retrySchedule).toEqual([60_000, 300_000, 1_800_000]);
    expect(row('RUNHOOK_RETRY_SCHEDULE')).toContain('`1m,5m,30m`');
    expect(defaults.attemptTimeoutMs).toBe(15_000);
    expect(row('RUNHOOK_ATTEMPT_TIMEOUT')).toContain('`15s`');
    expect(defaults.claimLeaseMs).toBe(10_000);
    expect(row('RUNHOOK_CLAIM_LEASE')).toContain('`10s`');
    expect(row('RUNHOOK_ALERT_INTERVAL')).toContain('`15m`');
    expect(defaults.metricsToken).toBeNull();
  });

  it('every default in configuration.md is the one src/config.ts applies', () => {
    const defaults = loadConfig({});
    const doc = read(join(DOCS, 'configuration.md'));
    const rows = [...doc.matchAll(/^\| \[?`(RUNHOOK_[A-Z_]+)`\]?[^|]*\| ([^|]+) \|/gm)].map((m) => ({
      name: m[1]!,
      cell: m[2]!.trim(),
    }));
    // Read by src/config.ts: the CLI's own client variables (runhook report) are documented there too.
    const source = read(join(ROOT, 'src/config.ts'));
    const checked: string[] = [];
    for (const { name, cell } of rows.filter((r) => source.includes(`'${r.name}'`))) {
      const literal = /^`([^`]+)`/.exec(cell)?.[1];
      if (literal === undefined || literal.includes('<')) {
        // "unset", "empty", "generated …", `http://<host>:<port>`: no value given means that.
        expect(cell, name).toMatch(/^(unset|empty|generated|`http:\/\/<host>:<port>`)/);
        continue;
      }
      // Setting the documented default changes nothing.
      const env = { [name]: literal, RUNHOOK_SECRET_KEY: 'k'.repeat(32) };
      expect(loadConfig(env), `${name}: documented default ${literal}`).toEqual(
        loadConfig({ RUNHOOK_SECRET_KEY: 'k'.repeat(32) }),
      );
      checked.push(name);
    }
    expect(checked.length).toBeGreaterThanOrEqual(20);
    expect(defaults.metricsToken).toBeNull();
    expect(defaults.bootstrapApiKey).toBeNull();
    expect(defaults.alerts.url).toBeNull();
    expect(defaults.allowedCidrs).toEqual([]);
  });

  it('relative links between the docs (and to the repository) lead somewhere', () => {
    const files = readdirSync(DOCS).filter((f) => f.endsWith('.md'));
    expect(files).toEqual(expect.arrayContaining(['quickstart.md', 'api.md', 'scaling-out.md']));
    const broken: string[] = [];
    for (const file of files) {
      const path = join(DOCS, file);
      const text = read(path).replace(/```[\s\S]*?```/g, '');
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue;
        const [relative, anchor] = target!.split('#');
        const linked = relative ? resolve(dirname(path), relative) : path;
        if (!existsSync(linked)) broken.push(`${file}: ${target}`);
        else if (anchor && linked.endsWith('.md') && !anchors(read(linked)).has(anchor))
          broken.push(`${file}: ${target} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('source comments point into docs/ at files and headings that exist, and never at a contract outside the repository', () => {
    const tracked = (dir: string): string[] =>
      readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
        .filter((e) => e.isFile() && /\.(ts|tsx|js|mjs|md)$/.test(e.name))
        .map((e) => join(e.parentPath, e.name))
        .filter((f) => !f.includes('node_modules') && !f.includes('/dist/'));
    const files = ['src', 'test', 'web/src', 'sdk', 'bench'].flatMap(tracked);
    expect(files.length).toBeGreaterThan(50);
    // The word is assembled so that this file does not match itself.
    const outside = new RegExp(`\\b${'SP'}EC\\b`);
    const broken: string[] = [];
    let pointers = 0;
    for (const file of files) {
      const text = read(file);
      const name = file.slice(ROOT.length);
      if (outside.test(text)) broken.push(`${name}: cites a document that is not in the repository`);
      for (const [, doc, anchor] of text.matchAll(/\bdocs\/([a-z-]+\.md)(?:#([a-z0-9_-]+))?/g)) {
        pointers++;
        const target = join(DOCS, doc!);
        if (!existsSync(target)) broken.push(`${name}: docs/${doc} does not exist`);
        else if (anchor && !anchors(read(target)).has(anchor))
          broken.push(`${name}: docs/${doc}#${anchor} (no such heading)`);
      }
    }
    expect(pointers).toBeGreaterThan(30);
    expect(broken).toEqual([]);
  });
});
