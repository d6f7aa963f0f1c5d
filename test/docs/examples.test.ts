/** The receivers shown in the docs are the files in examples/, byte for byte. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';

const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** Every fenced code block of a markdown file, with its language. */
function codeBlocks(markdown: string): { lang: string; code: string }[] {
  return [...markdown.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1]!, code: m[2]! }));
}

const SHOWN: Record<string, { doc: string; lang: string }[]> = {
  'examples/express/server.mjs': [
    { doc: 'sdk/README.md', lang: 'js' },
    { doc: 'docs/receiving-webhooks.md', lang: 'js' },
  ],
  'examples/fastify/server.mjs': [{ doc: 'sdk/README.md', lang: 'js' }],
  'examples/hono/server.mjs': [{ doc: 'sdk/README.md', lang: 'js' }],
  'examples/python/receiver.py': [{ doc: 'docs/receiving-webhooks.md', lang: 'python' }],
  'examples/flask/app.py': [{ doc: 'docs/receiving-webhooks.md', lang: 'python' }],
};

describe('examples in the docs', () => {
  for (const [file, places] of Object.entries(SHOWN)) {
    for (const { doc, lang } of places) {
      it(`${doc} shows ${file} verbatim`, () => {
        const blocks = codeBlocks(read(doc)).filter((b) => b.lang === lang);
        const source = read(file);
        // The block whose first line is the file's first line: it must be the whole file.
        const shown = blocks.find((b) => b.code.split('\n')[0] === source.split('\n')[0]);
        expect(shown, `${doc} has no \`\`\`${lang} block starting like ${file}`).toBeDefined();
        expect(shown!.code).toBe(source);
      });
    }
  }

  it('examples/README.md lists every example, and every example reads RUNHOOK_WEBHOOK_SECRET', () => {
    const index = read('examples/README.md');
    for (const file of Object.keys(SHOWN)) {
      expect(index).toContain(`(${file.replace('examples/', '')})`);
      expect(read(file)).toContain('RUNHOOK_WEBHOOK_SECRET');
    }
  });

  it('no doc or SDK comment still uses the old variable name (RUNHOOK_SECRET) or status (401)', () => {
    const places = ['docs/receiving-webhooks.md', 'docs/python/verify_runhook.py', 'sdk/README.md'];
    for (const doc of [
      ...places,
      'sdk/index.ts',
      'sdk/standardWebhooks.ts',
      'README.md',
      'docs/quickstart.md',
    ]) {
      expect(read(doc)).not.toMatch(/RUNHOOK_SECRET\b|abort\(401/);
    }
    expect(read('docs/receiving-webhooks.md')).not.toMatch(/Python: standard library only/);
  });
});
