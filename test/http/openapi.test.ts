import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { otherEventSample } from '../../src/domain/eventPayloads.js';
import {
  renderBody,
  renderGroupEvent,
  renderOtherEvent,
  standardPayload,
  testPayload,
} from '../../src/domain/payloads.js';
import { groupCompletedPayload } from '../../src/domain/runGroups.js';
import type { TestRun } from '../../src/domain/types.js';
import { VERSION } from '../../src/version.js';
import { sqliteBackend } from '../helpers/backends.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { type ServedApp, serveApp } from './serveApp.js';

type Json = Record<string, any>;

/**
 * Routes the app registers outside /api/v1 that are deliberately not in the document; every
 * other route must be. Prometheus and the docs themselves are described in docs/api.md; the
 * dashboard is HTML. (The health probes, /healthz and /readyz, are registered by app.ts before
 * any plugin, hidden, and described in docs/api.md too.)
 */
const UNDOCUMENTED: Array<[RegExp, string]> = [
  [/^\/metrics$/, 'Prometheus text format, see docs/api.md'],
  [/^\/openapi\.json$/, 'this document'],
  [/^\/docs(\/.*)?$/, 'the rendered reference and its assets'],
  [/^\/(index\.html|assets\/.*)?$/, 'the dashboard (static files)'],
];

function newAjv() {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  // OpenAPI's annotation keyword, next to JSON Schema's `examples`.
  ajv.addKeyword('example');
  // ajv-formats is CommonJS; under NodeNext its default export arrives wrapped.
  const formats = addFormats as unknown as { default?: (a: Ajv2020) => void } & ((a: Ajv2020) => void);
  (formats.default ?? formats)(ajv);
  return ajv;
}

/** Replaces `#/components/schemas/X` references (one level: the payload schemas hold none). */
function deref(doc: Json, schema: Json): Json {
  const ref = schema.$ref as string | undefined;
  if (!ref) return schema;
  const name = ref.replace('#/components/schemas/', '');
  const target = doc.components.schemas[name];
  if (!target) throw new Error(`unresolved ${ref}`);
  return target;
}

/** Every sub-schema with an `examples` array, with the path it was found at. */
function schemasWithExamples(node: unknown, path: string, out: Array<{ path: string; schema: Json }>) {
  if (Array.isArray(node)) {
    for (const [i, n] of node.entries()) schemasWithExamples(n, `${path}/${i}`, out);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const obj = node as Json;
  if (Array.isArray(obj.examples) && typeof obj.type !== 'undefined') out.push({ path, schema: obj });
  for (const [k, v] of Object.entries(obj)) schemasWithExamples(v, `${path}/${k}`, out);
}

describe('OpenAPI document', () => {
  let ctx: TestContext;
  let served: ServedApp;
  let doc: Json;
  // Every route registered after the plugins start, i.e. all but the health probes of app.ts.
  const routes: Array<{ method: string; path: string }> = [];

  beforeAll(async () => {
    ctx = await createTestContext(sqliteBackend);
    served = await serveApp(ctx, {
      before: (app) =>
        app.addHook('onRoute', (route) => {
          for (const method of [route.method].flat()) routes.push({ method, path: route.url });
        }),
    });
    const res = await served.call('GET', '/openapi.json', undefined, null);
    expect(res.status).toBe(200);
    doc = res.body;
  });
  afterAll(async () => {
    await served.app.close();
    await ctx.close();
  });

  it('is valid OpenAPI 3.1, served without a key, with the version and a bearer scheme', async () => {
    const validator = new Validator();
    const result = await validator.validate(doc);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toMatchObject({ title: 'Runhook', version: VERSION });
    expect(doc.servers).toEqual([{ url: 'http://runhook.test/api/v1', description: 'RUNHOOK_PUBLIC_URL' }]);
    expect(doc.components.securitySchemes.apiKey).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.security).toEqual([{ apiKey: [] }]);
    // The key is still needed for the API itself.
    expect((await served.call('GET', '/api/v1/agents', undefined, null)).status).toBe(401);
  });

  it('lists every route the app registers under /api/v1, with its method; the rest are known exclusions', () => {
    const api = routes.filter((r) => r.method !== 'HEAD' && r.path.startsWith('/api/v1/'));
    expect(api.length).toBeGreaterThanOrEqual(25);
    const missing = api
      .map((r) => ({ ...r, docPath: r.path.slice('/api/v1'.length).replace(/:([A-Za-z_]+)/g, '{$1}') }))
      .filter((r) => !doc.paths[r.docPath]?.[r.method.toLowerCase()])
      .map((r) => `${r.method} ${r.path}`);
    expect(missing).toEqual([]);

    const unexplained = routes
      .filter((r) => r.method !== 'HEAD' && !r.path.startsWith('/api/v1/'))
      .filter((r) => !UNDOCUMENTED.some(([pattern]) => pattern.test(r.path)))
      .map((r) => `${r.method} ${r.path}`);
    expect(unexplained).toEqual([]);

    // And nothing documented that the app does not serve.
    const documented = Object.entries(doc.paths as Json).flatMap(([path, item]) =>
      Object.keys(item).map((m) => `${m.toUpperCase()} /api/v1${path.replace(/\{([^}]+)\}/g, ':$1')}`),
    );
    const served_ = new Set(api.map((r) => `${r.method} ${r.path}`));
    expect(documented.filter((d) => !served_.has(d))).toEqual([]);
  });

  it('gives every operation a real success response and the error shape', () => {
    for (const [path, item] of Object.entries(doc.paths as Json)) {
      for (const [method, op] of Object.entries(item as Json)) {
        const codes = Object.keys(op.responses);
        const success = codes.filter((c) => /^2\d\d$/.test(c));
        expect(success, `${method} ${path}`).toHaveLength(1);
        expect(op.responses[success[0]!].description, `${method} ${path}`).not.toBe('Default Response');
        expect(op.responses['4XX'], `${method} ${path}`).toEqual({ $ref: '#/components/responses/Error' });
        expect(op.tags?.length, `${method} ${path} has a tag`).toBe(1);
        expect(op.summary, `${method} ${path} has a summary`).toBeTruthy();
      }
    }
    expect(Object.keys(doc.paths['/webhooks/{id}'].delete.responses)).toEqual(['204', '4XX']);
    expect(doc.paths['/runs/{id}/cancel'].post.requestBody.required).toBe(false);
    expect(doc.paths['/runs/{id}/complete'].post.requestBody.required).toBe(true);
  });

  it('every example in a request body, and in any schema, validates against its schema', () => {
    const ajv = newAjv();
    let checked = 0;
    for (const [path, item] of Object.entries(doc.paths as Json)) {
      for (const [method, op] of Object.entries(item as Json)) {
        const media = op.requestBody?.content?.['application/json'];
        if (!media) continue;
        const validate = ajv.compile(media.schema);
        const examples = [
          ...(media.example !== undefined ? [media.example] : []),
          ...Object.values((media.examples ?? {}) as Json).map((e) => e.value),
        ];
        if (media.schema.required?.length) expect(examples.length, `${method} ${path}`).toBeGreaterThan(0);
        for (const example of examples) {
          expect(validate(example), `${method} ${path}: ${ajv.errorsText(validate.errors)}`).toBe(true);
          checked++;
        }
      }
    }
    const nested: Array<{ path: string; schema: Json }> = [];
    schemasWithExamples(doc.paths, '#/paths', nested);
    for (const { path, schema } of nested) {
      const validate = ajv.compile(schema);
      for (const example of schema.examples) {
        expect(validate(example), `${path}: ${ajv.errorsText(validate.errors)}`).toBe(true);
        checked++;
      }
    }
    for (const [name, hook] of Object.entries(doc.webhooks as Json)) {
      const media = hook.post.requestBody.content['application/json'];
      const validate = ajv.compile(deref(doc, media.schema));
      expect(validate(media.example), `webhook ${name}: ${ajv.errorsText(validate.errors)}`).toBe(true);
      checked++;
    }
    // 7 body examples, 4 webhook examples and the date-time examples of nested fields.
    expect(checked).toBeGreaterThanOrEqual(15);
  });

  it('documents the webhooks Runhook sends, with their headers', () => {
    expect(Object.keys(doc.webhooks).sort()).toEqual([
      'test',
      'test_run_completed',
      'test_run_completed_clix',
      'test_run_completed_discord',
      'test_run_completed_slack',
      'test_run_completed_teams',
      'test_run_group_completed',
      'test_run_started',
      'test_status_changed',
      'webhook_disabled',
      'webhook_recovered',
    ]);
    const headers = (name: string) =>
      Object.fromEntries(
        (doc.webhooks[name].post.parameters as Json[]).map((p) => [
          p.name,
          { in: p.in, required: p.required },
        ]),
      );
    expect(headers('test_run_completed')).toEqual({
      'User-Agent': { in: 'header', required: true },
      'webhook-id': { in: 'header', required: true },
      'webhook-timestamp': { in: 'header', required: true },
      'webhook-signature': { in: 'header', required: false },
      'X-Runhook-Signature': { in: 'header', required: false },
    });
    expect(headers('test_run_completed_clix')['X-Clix-Signature']).toEqual({ in: 'header', required: false });
    expect(doc.webhooks.test_run_completed.post.requestBody.content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/TestRunCompletedPayload',
    });
  });

  it('real payloads from the domain functions validate against the webhooks schemas', () => {
    const ajv = newAjv();
    const schemaOf = (name: string) =>
      ajv.compile(deref(doc, doc.webhooks[name].post.requestBody.content['application/json'].schema));
    const standard = schemaOf('test_run_completed');
    const test = schemaOf('test');
    const clix = schemaOf('test_run_completed_clix');
    const slack = schemaOf('test_run_completed_slack');
    const discord = schemaOf('test_run_completed_discord');
    const teams = schemaOf('test_run_completed_teams');
    const base: TestRun = {
      id: '0b6f9d1e-6a43-4b55-9c55-1f7c3f1c2d11',
      orgId: 'a3c5e7f9-1111-4222-8333-944455556666',
      seq: 123456,
      name: 'Nightly <regression> & "smoke"\nsecond line',
      agentId: '9d2c0a47-8e1f-4b3a-9c6d-5e4f3a2b1c0d',
      agentName: 'Агент 🤖',
      status: 'completed',
      passedCount: 2,
      failedCount: 1,
      errorCount: 0,
      totalScenarios: 3,
      startedAt: Date.UTC(2026, 1, 28, 23, 59, 59, 999),
      completedAt: Date.UTC(2026, 2, 1, 0, 0, 1, 500),
      createdAt: Date.UTC(2026, 1, 28, 23, 59, 0),
      failures: [],
      testSuiteId: null,
      testMode: null,
      maxScenarios: null,
      maxTurns: null,
    };
    const runs: TestRun[] = [
      base,
      { ...base, status: 'failed', passedCount: 0, failedCount: 0, errorCount: 0, totalScenarios: null },
      { ...base, status: 'canceled', totalScenarios: 10, name: '' },
      { ...base, passedCount: 3, failedCount: 0, totalScenarios: null, seq: 1 },
    ];
    const eventAt = Date.UTC(2026, 2, 1, 0, 0, 2, 250);
    for (const run of runs) {
      const payload = standardPayload(run, eventAt, 'https://runhook.example.com/base/');
      const body = renderBody('standard', payload, eventAt);
      expect(standard(JSON.parse(body)), ajv.errorsText(standard.errors)).toBe(true);
      expect(clix(JSON.parse(renderBody('clix', payload, eventAt))), ajv.errorsText(clix.errors)).toBe(true);
      expect(slack(JSON.parse(renderBody('slack', payload, eventAt))), ajv.errorsText(slack.errors)).toBe(
        true,
      );
      for (const [format, check] of [
        ['discord', discord],
        ['teams', teams],
      ] as const) {
        expect(check(JSON.parse(renderBody(format, payload, eventAt))), ajv.errorsText(check.errors)).toBe(
          true,
        );
      }
      // A test body is not a real event, and the other way round.
      expect(test(JSON.parse(body))).toBe(false);
    }
    // A run group of these runs, in every format that carries it (docs/delivery.md#run-groups).
    const group = schemaOf('test_run_group_completed');
    const grouped = renderGroupEvent(
      groupCompletedPayload({
        name: 'build <1> & "two"',
        groupSize: null,
        completedBy: 'window',
        runs,
        eventCreatedAt: eventAt,
        publicUrl: 'https://runhook.example.com/base/',
      }),
    );
    expect(group(JSON.parse(grouped.body('standard'))), ajv.errorsText(group.errors)).toBe(true);
    expect(standard(JSON.parse(grouped.body('standard')))).toBe(false);
    for (const [format, check] of [
      ['slack', slack],
      ['discord', discord],
      ['teams', teams],
    ] as const) {
      expect(check(JSON.parse(grouped.body(format))), ajv.errorsText(check.errors)).toBe(true);
    }
    const sample = testPayload(eventAt, 'https://runhook.example.com');
    expect(test(sample), ajv.errorsText(test.errors)).toBe(true);
    expect(standard(sample)).toBe(false);
    expect(slack(JSON.parse(renderBody('slack', sample, eventAt))), ajv.errorsText(slack.errors)).toBe(true);

    // The other event types: their samples (hostile names included) in every format that carries them.
    for (const type of [
      'test_run_started',
      'test_status_changed',
      'webhook_disabled',
      'webhook_recovered',
    ] as const) {
      const own = schemaOf(type);
      const payload = otherEventSample(type, eventAt, 'https://runhook.example.com')!;
      const hostile = JSON.parse(
        JSON.stringify(payload).replaceAll(
          'Sample',
          'Nightly <regression> & \\"smoke\\" [x](https://evil) @everyone',
        ),
      );
      for (const p of [payload, hostile]) {
        const rendered = renderOtherEvent(p);
        expect(own(JSON.parse(rendered.payload)), ajv.errorsText(own.errors)).toBe(true);
        expect(rendered.body('clix')).toBeNull();
        for (const [format, check] of [
          ['slack', slack],
          ['discord', discord],
          ['teams', teams],
        ] as const) {
          const body = rendered.body(format);
          expect(check(JSON.parse(body!)), `${type} ${format}: ${ajv.errorsText(check.errors)}`).toBe(true);
        }
        expect(rendered.body('slack')).not.toContain('<regression>');
        expect(rendered.body('discord')).toContain('"allowed_mentions":{"parse":[]}');
      }
      // Each type's body is its own: not another type's, not a finished run's.
      expect(standard(payload)).toBe(false);
    }
  });

  it('a payload stored by the API for a finished run validates too', async () => {
    const agent = await served.call('POST', '/api/v1/agents', { name: 'Healthcare Assistant' });
    const hook = await served.call('POST', '/api/v1/webhooks', { url: 'http://127.0.0.1:9/hook' });
    expect(hook.status).toBe(201);
    const run = await served.call('POST', '/api/v1/runs', {
      agent_id: agent.body.id,
      name: 'Emergency Response Test',
      status: 'completed',
      passed_count: 17,
      failed_count: 3,
    });
    expect(run.status).toBe(201);
    const list = await served.call('GET', '/api/v1/deliveries');
    const detail = await served.call('GET', `/api/v1/deliveries/${list.body.deliveries[0].id}`);
    const ajv = newAjv();
    const validate = ajv.compile(
      deref(doc, doc.webhooks.test_run_completed.post.requestBody.content['application/json'].schema),
    );
    expect(validate(detail.body.event.payload), ajv.errorsText(validate.errors)).toBe(true);
    expect(detail.body.event.payload.test_run.id).toBe(run.body.id);
  });

  it('/docs renders the reference from local assets only', async () => {
    const page = await served.call('GET', '/docs', undefined, null);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.text).not.toMatch(/https?:\/\//);
    const assets = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(assets).toEqual(
      expect.arrayContaining([
        '/docs/static/swagger-ui.css',
        '/docs/static/swagger-ui-bundle.js',
        '/docs/static/swagger-initializer.js',
      ]),
    );
    for (const asset of assets) {
      const res = await served.call('GET', asset, undefined, null);
      expect(res.status, asset).toBe(200);
      expect(res.text.length, asset).toBeGreaterThan(100);
    }
    const init = await served.call('GET', '/docs/static/swagger-initializer.js', undefined, null);
    // No call to validator.swagger.io; the document comes from this server.
    expect(init.text).toContain('validatorUrl: null');
    expect(init.text).toContain("resolveUrl('./json')");
    const json = await served.call('GET', '/docs/json', undefined, null);
    expect(json.body).toEqual(doc);
  });
});
