/**
 * docs/payloads.md is generated from src/http/payloadSchemas.ts (the same objects as the OpenAPI
 * `webhooks` section) by `renderPayloadDocs` below. This test fails when the file differs from
 * what the schemas give; `UPDATE_DOCS=1 npx vitest run test/http/payloadDocs.test.ts` rewrites it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { verifyClixSignature, verifyRunhookSignature, verifyWebhook } from '../../sdk/index.js';
import {
  DELIVERY_HEADERS,
  EXAMPLE_SECRET,
  exampleDelivery,
  PAYLOAD_KINDS,
  RECEIVER_ANSWERS,
  SIGNING_KEY_RULE,
} from '../../src/http/payloadSchemas.js';
import { USER_AGENT } from '../../src/version.js';

const DOC = fileURLToPath(new URL('../../docs/payloads.md', import.meta.url));

type Schema = {
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  format?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  description?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema | false;
  prefixItems?: Schema[];
};

function typeOf(s: Schema): string {
  if (s.const !== undefined) return `\`${JSON.stringify(s.const)}\``;
  if (s.enum) return s.enum.map((v) => `\`${JSON.stringify(v)}\``).join(', ');
  let t = Array.isArray(s.type) ? s.type.join(' or ') : (s.type ?? 'any');
  if (s.format) t += ` (${s.format})`;
  else if (s.pattern) t += ` \`${s.pattern}\``;
  if (s.minimum !== undefined && s.maximum !== undefined) t += `, ${s.minimum}–${s.maximum}`;
  else if (s.minimum !== undefined) t += ` ≥ ${s.minimum}`;
  return t;
}

/** One table row per field, nested ones as `a.b`, `a[0].b` (fixed positions) or `a[].b`. */
function fieldRows(schema: Schema, prefix: string, rows: string[]): string[] {
  for (const [name, prop] of Object.entries(schema.properties ?? {})) {
    const path = prefix ? `${prefix}.${name}` : name;
    const required = schema.required?.includes(name) ? 'yes' : 'no';
    rows.push(`| \`${path}\` | ${typeOf(prop)} | ${required} | ${prop.description ?? ''} |`);
    if (prop.properties) fieldRows(prop, path, rows);
    prop.prefixItems?.forEach((item, i) => {
      fieldRows(item, `${path}[${i}]`, rows);
    });
    if (prop.items) fieldRows(prop.items, `${path}[]`, rows);
  }
  return rows;
}

function exampleBlock(kind: (typeof PAYLOAD_KINDS)[number]): string {
  const { headers, body } = exampleDelivery(kind.example);
  const lines = Object.entries(headers).map(
    // The version is not signed; keep the page stable across releases.
    ([k, v]) => `${k}: ${v === USER_AGENT ? 'Runhook/<version>' : v}`,
  );
  // Standard and Slack bodies are JSON.stringify output: indented here, the same bytes once compacted.
  const compactRoundTrip = JSON.stringify(JSON.parse(body)) === body;
  const shown = compactRoundTrip ? JSON.stringify(JSON.parse(body), null, 2) : body;
  const note = compactRoundTrip
    ? 'Indented here; on the wire the body is compact JSON (no spaces or newlines), keys in this order.'
    : 'Exactly as sent.';
  return ['```http', 'POST /your/endpoint HTTP/1.1', ...lines, '', shown, '```', '', note].join('\n');
}

function renderPayloadDocs(): string {
  const out: string[] = [
    '# Webhook payloads',
    '',
    '<!-- Generated from src/http/payloadSchemas.ts by test/http/payloadDocs.test.ts; edit those, then run',
    '     UPDATE_DOCS=1 npx vitest run test/http/payloadDocs.test.ts -->',
    '',
    'When a test run ends, Runhook POSTs one JSON body to the webhook that applies (the agent’s own, else the',
    'organization’s). Its shape depends on the webhook’s `format`: `standard` (the default), `clix` (what',
    'TestCLIX sends), `slack` (a Slack message), `discord` (a Discord message with one embed) or `teams` (a',
    'Microsoft Teams workflow message with an Adaptive Card). The same schemas are in the API description, in the',
    '`webhooks` section of `/openapi.json`, and rendered at `/docs`. How to check signatures, in Node and',
    'Python: [receiving-webhooks.md](receiving-webhooks.md).',
    '',
    'Times are UTC ISO-8601 to the second (`2026-01-30T10:32:45Z`). The body of a delivery is identical,',
    'byte for byte, on every retry and redelivery.',
    '',
    '## Headers',
    '',
    '| header | sent | meaning |',
    '| --- | --- | --- |',
    ...DELIVERY_HEADERS.map((h) => {
      const when = h.always
        ? 'always'
        : h.when !== undefined
          ? h.when
          : h.formats.length === 1
            ? `format \`${h.formats[0]}\`, with a secret`
            : 'with a secret';
      return `| \`${h.name}\` | ${when} | ${h.description} |`;
    }),
    '| your custom headers | when configured | Up to 10, set on the webhook. |',
    '',
    `${SIGNING_KEY_RULE} The examples below are real: rendered and signed by Runhook's own code with the`,
    `secret \`${EXAMPLE_SECRET}\`, so you can test a verifier against them (mind the timestamp window).`,
    '',
  ];
  for (const kind of PAYLOAD_KINDS) {
    out.push(`## ${kind.title}`, '', kind.description, '');
    out.push('| field | type | required | meaning |', '| --- | --- | --- | --- |');
    out.push(...fieldRows(kind.schema as Schema, '', []), '');
    out.push(exampleBlock(kind), '');
  }
  out.push('## What Runhook expects back', '', '| answer | what Runhook does |', '| --- | --- |');
  out.push(
    ...RECEIVER_ANSWERS.map(
      (a) => `| ${a.status === 'default' ? 'anything else' : a.status} | ${a.meaning} |`,
    ),
  );
  out.push('');
  return out.join('\n');
}

describe('docs/payloads.md', () => {
  it('is what the payload schemas generate', () => {
    const expected = renderPayloadDocs();
    if (process.env.UPDATE_DOCS === '1') writeFileSync(DOC, expected);
    expect(readFileSync(DOC, 'utf8')).toBe(expected);
  });

  it('names every field of every payload schema', () => {
    const doc = readFileSync(DOC, 'utf8');
    for (const kind of PAYLOAD_KINDS) {
      for (const row of fieldRows(kind.schema as Schema, '', [])) {
        const field = /^\| `([^`]+)`/.exec(row)?.[1];
        expect(doc, `${kind.key}: ${field}`).toContain(`\`${field}\``);
      }
    }
    for (const header of DELIVERY_HEADERS) expect(doc).toContain(`\`${header.name}\``);
  });

  it('shows examples whose signatures verify with the receiver SDK', () => {
    for (const kind of PAYLOAD_KINDS) {
      const { headers, body } = exampleDelivery(kind.example);
      const at = Number(headers['webhook-timestamp']) * 1000;
      const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
      expect(() => verifyWebhook(body, lower, EXAMPLE_SECRET, { now: () => at })).not.toThrow();
      expect(verifyRunhookSignature(body, lower['x-runhook-signature']!, EXAMPLE_SECRET)).toBe(true);
      if (kind.format === 'clix')
        expect(verifyClixSignature(body, lower['x-clix-signature']!, EXAMPLE_SECRET)).toBe(true);
    }
  });
});
