/**
 * Run groups' rules (docs/delivery.md#run-groups): when a group is complete, what its payload sums,
 * and that every rendering fits its format's schema.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { groupCompletedPayloadSchema } from '../../src/domain/payloadSchemas.js';
import {
  formatCarries,
  groupTestSample,
  renderGroupEvent,
  sampleGroupCompleted,
} from '../../src/domain/payloads.js';
import { type GroupState, groupCompletedPayload, groupCompletion } from '../../src/domain/runGroups.js';
import type { TestRun } from '../../src/domain/types.js';
import {
  discordPayloadSchema,
  slackPayloadSchema,
  teamsPayloadSchema,
} from '../../src/http/payloadSchemas.js';
import { adaptiveCardValidator } from '../helpers/adaptiveCard.js';

function newAjv() {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  const formats = addFormats as unknown as { default?: (a: Ajv2020) => void } & ((a: Ajv2020) => void);
  (formats.default ?? formats)(ajv);
  return ajv;
}

const NOW = Date.UTC(2026, 0, 30, 10, 0, 0);
const WINDOW = 120_000;
const state = (s: Partial<GroupState>): GroupState => ({
  runCount: 3,
  openCount: 0,
  groupSize: 3,
  lastActivityAt: NOW,
  ...s,
});

describe('groupCompletion', () => {
  it.each([
    ['size reached, all final', state({}), 'group_size'],
    ['more than the size, all final', state({ runCount: 4 }), 'group_size'],
    ['size reached, one still open', state({ openCount: 1 }), null],
    ['below the size, inside the window', state({ runCount: 2 }), null],
    ['below the size, window passed', state({ runCount: 2, lastActivityAt: NOW - WINDOW }), 'window'],
    ['no size, inside the window', state({ groupSize: null, lastActivityAt: NOW - WINDOW + 1 }), null],
    ['no size, window passed', state({ groupSize: null, lastActivityAt: NOW - WINDOW }), 'window'],
    ['no size, window passed, one open', state({ groupSize: null, openCount: 1, lastActivityAt: 0 }), null],
    ['no runs', state({ runCount: 0, lastActivityAt: 0 }), null],
  ])('%s → %s', (_name, s, expected) => {
    expect(groupCompletion(s, NOW, WINDOW)).toBe(expected);
  });
});

function run(n: number, over: Partial<TestRun> = {}): TestRun {
  return {
    id: `00000000-0000-4000-8000-00000000000${n}`,
    orgId: 'org',
    seq: n,
    name: `shard ${n}`,
    agentId: '11111111-1111-4111-8111-111111111111',
    agentName: 'Agent',
    status: 'completed',
    passedCount: 10,
    failedCount: 0,
    errorCount: 0,
    totalScenarios: 10,
    startedAt: NOW - 60_000 * n,
    completedAt: NOW - 1_000 * n,
    createdAt: NOW - 60_000 * n,
    failures: [],
    testSuiteId: null,
    testMode: null,
    maxScenarios: null,
    maxTurns: null,
    ...over,
  };
}

const changes = (newFailures: number, fixed: number) => ({
  baseline_test_run_id: 'TR-00001',
  basis: 'results' as const,
  new_failures: Array.from({ length: newFailures }, (_, i) => ({ name: `t${i}`, suite: null, message: 'x' })),
  fixed: Array.from({ length: fixed }, (_, i) => ({ name: `f${i}`, suite: 's' })),
  flaky: [],
  counts: { new_failures: newFailures, fixed, still_failing: 1, flaky: 0, new_tests: 2, missing_tests: 0 },
  pass_rate_delta: -10,
  duration_delta_seconds: 1,
  score_delta: null,
});

describe('groupCompletedPayload', () => {
  it('sums counts and changes over the runs, lists are cut at 20 with counts whole', () => {
    const p = groupCompletedPayload({
      name: 'build-9',
      groupSize: 3,
      completedBy: 'group_size',
      runs: [
        run(1, { changes: changes(15, 1) }),
        run(2, { status: 'failed', passedCount: 7, failedCount: 2, errorCount: 1, changes: changes(10, 0) }),
        run(3, { totalScenarios: null, passedCount: 4, changes: null }),
      ],
      eventCreatedAt: NOW,
      publicUrl: 'http://runhook.test/',
    });
    expect(newAjv().validate(groupCompletedPayloadSchema, p)).toBe(true);
    const g = p.group;
    expect(g).toMatchObject({
      name: 'build-9',
      status: 'failed',
      run_count: 3,
      passed_count: 21,
      failed_count: 2,
      error_count: 1,
      total_scenarios: 24,
      pass_rate: 87.5,
      agent_name: 'Agent',
      started_at: new Date(NOW - 180_000).toISOString().replace('.000', ''),
      completed_at: new Date(NOW - 1_000).toISOString().replace('.000', ''),
    });
    expect(g.runs.map((r) => [r.test_run_id, r.status, r.total_scenarios])).toEqual([
      ['TR-00001', 'completed', 10],
      ['TR-00002', 'failed', 10],
      ['TR-00003', 'completed', 4],
    ]);
    expect(g.runs[1]!.results_url).toBe(`http://runhook.test/runs/${run(2).id}`);
    expect(g.changes?.runs_compared).toBe(2);
    expect(g.changes?.counts).toEqual({
      new_failures: 25,
      fixed: 1,
      still_failing: 2,
      flaky: 0,
      new_tests: 4,
      missing_tests: 0,
    });
    expect(g.changes?.new_failures).toHaveLength(20);
    expect(g.changes?.new_failures[15]).toEqual({
      name: 't0',
      suite: null,
      message: 'x',
      test_run_id: 'TR-00002',
    });
    expect(g.changes?.fixed).toEqual([{ name: 'f0', suite: 's', test_run_id: 'TR-00001' }]);
  });

  it('runs of several agents: no agent; no baseline anywhere: changes null', () => {
    const p = groupCompletedPayload({
      name: 'mixed',
      groupSize: null,
      completedBy: 'window',
      runs: [run(1), run(2, { agentId: '22222222-2222-4222-8222-222222222222', agentName: 'Other' })],
      eventCreatedAt: NOW,
      publicUrl: 'http://runhook.test',
    });
    expect(p.group).toMatchObject({ agent_id: null, agent_name: null, changes: null, status: 'completed' });
  });

  it('refuses a run that is not final', () => {
    expect(() =>
      groupCompletedPayload({
        name: 'open',
        groupSize: 1,
        completedBy: 'group_size',
        runs: [run(1, { status: 'running', completedAt: null })],
        eventCreatedAt: NOW,
        publicUrl: 'http://runhook.test',
      }),
    ).toThrow(/not finished/);
  });
});

describe('rendering a group', () => {
  const ajv = newAjv();
  const payload = sampleGroupCompleted(NOW);
  const rendered = renderGroupEvent(payload);

  it('the sample fits the schema and is a failed build of three shards', () => {
    expect(ajv.validate(groupCompletedPayloadSchema, payload)).toBe(true);
    expect(payload.group).toMatchObject({ run_count: 3, status: 'failed', failed_count: 1 });
    expect(JSON.parse(rendered.body('standard'))).toEqual(payload);
  });

  it.each([
    ['slack', slackPayloadSchema],
    ['discord', discordPayloadSchema],
    ['teams', teamsPayloadSchema],
  ] as const)(
    '%s: fits the format’s schema, says the outcome and names the new failure',
    (format, schema) => {
      const body = JSON.parse(rendered.body(format));
      expect(ajv.validate(schema, body), ajv.errorsText()).toBe(true);
      // Discord escapes its markdown characters (`-` among them) with a backslash.
      const text = JSON.stringify(body).replaceAll('\\\\', '');
      expect(text).toContain('Run group ci-build-4711 failed');
      expect(text).toContain('1 new failure');
      expect(text).toContain('applies a discount code');
      expect(text).toContain('TR-00002');
      if (format === 'teams') {
        const card = adaptiveCardValidator()(body.attachments[0].content);
        expect(card.ok, card.errors).toBe(true);
        // Opens with the change, as the run's card does.
        expect(body.attachments[0].content.body[0].text).toMatch(/^1 new failure/);
        expect(body.attachments[0].content.fallbackText).toMatch(/^1 new failure/);
      }
    },
  );

  it('the Test Webhook sample says so in every format, and a real group does not', () => {
    const sample = groupTestSample(NOW, 'https://runhook.example.com');
    expect(ajv.validate(groupCompletedPayloadSchema, sample), ajv.errorsText()).toBe(true);
    expect(Object.keys(sample).slice(0, 2)).toEqual(['event', 'is_test']);
    const test = renderGroupEvent(sample);
    expect(JSON.parse(test.body('slack')).text).toContain('[Test webhook from Runhook] Run group');
    expect(JSON.parse(test.body('discord')).embeds[0].title).toContain('[Test webhook from Runhook]');
    expect(JSON.parse(test.body('teams')).attachments[0].content.body[0].text).toContain(
      '[Test webhook from Runhook]',
    );
    for (const f of ['slack', 'discord', 'teams'] as const)
      expect(rendered.body(f)).not.toContain('Test webhook from Runhook');
  });

  it('clix cannot carry it; every other format can', () => {
    expect(formatCarries('clix', 'test_run_group_completed')).toBe(false);
    expect(formatCarries('clix', 'test_run_completed')).toBe(true);
    for (const f of ['standard', 'slack', 'discord', 'teams'] as const)
      expect(formatCarries(f, 'test_run_group_completed')).toBe(true);
    expect(() => rendered.body('clix')).toThrow(/clix/);
  });

  it('a tenant’s group name shows literally in chat', () => {
    const p = { ...payload, group: { ...payload.group, name: '<!channel> **[x](http://evil)**' } };
    const r = renderGroupEvent(p);
    expect(r.body('slack')).not.toContain('<!channel>');
    expect(JSON.parse(r.body('discord')).embeds[0].title).toContain('\\*\\*\\[x\\]\\(http://evil\\)\\*\\*');
    expect(JSON.parse(r.body('discord')).allowed_mentions).toEqual({ parse: [] });
  });
});
