import { describe, expect, it } from 'vitest';
import type { TestFailure } from '../../src/domain/failures.js';
import { renderBody, type StandardPayload, standardPayload, testPayload } from '../../src/domain/payloads.js';
import type { TestRun } from '../../src/domain/types.js';

const STARTED = Date.UTC(2026, 0, 30, 10, 30, 0);
const COMPLETED = Date.UTC(2026, 0, 30, 10, 32, 45, 600);
const EVENT_AT = Date.UTC(2026, 0, 30, 10, 32, 45, 789);

function run(overrides: Partial<TestRun> = {}): TestRun {
  return {
    id: '7c9e6679-7425-40de-944b-e07fc1f90ae7',
    orgId: 'org-1',
    seq: 42,
    name: 'Emergency Response Test',
    agentId: '6ba7b810-9dad-11d1-80b4-00c04fd430c8',
    agentName: 'Healthcare Assistant',
    status: 'completed',
    passedCount: 17,
    failedCount: 3,
    errorCount: 0,
    totalScenarios: null,
    startedAt: STARTED,
    completedAt: COMPLETED,
    createdAt: STARTED - 1000,
    failures: [],
    testSuiteId: null,
    testMode: null,
    maxScenarios: null,
    maxTurns: null,
    ...overrides,
  };
}

const EXPECTED_JSON =
  '{"event":"test_run_completed","timestamp":"2026-01-30T10:32:45Z","test_run":{' +
  '"id":"7c9e6679-7425-40de-944b-e07fc1f90ae7","test_run_id":"TR-00042","name":"Emergency Response Test",' +
  '"agent_id":"6ba7b810-9dad-11d1-80b4-00c04fd430c8","agent_name":"Healthcare Assistant","status":"completed",' +
  '"pass_rate":85,"passed_count":17,"failed_count":3,"error_count":0,"total_scenarios":20,' +
  '"started_at":"2026-01-30T10:30:00Z","completed_at":"2026-01-30T10:32:45Z","duration_seconds":165},' +
  '"changes":null,"results_url":"https://runhook.example.com/runs/7c9e6679-7425-40de-944b-e07fc1f90ae7"}';

function failure(name: string, message: string | null = 'expected 1, got 2'): TestFailure {
  return { name, classname: 'suite', file: 'test/a.test.ts', message, kind: 'failed' };
}

const RUN_KEYS = [
  'id',
  'test_run_id',
  'name',
  'agent_id',
  'agent_name',
  'status',
  'pass_rate',
  'passed_count',
  'failed_count',
  'error_count',
  'total_scenarios',
  'started_at',
  'completed_at',
  'duration_seconds',
];

describe('standardPayload', () => {
  it('has the key order of docs/payloads.md and exact bytes for a fixed run', () => {
    const payload = standardPayload(run(), EVENT_AT, 'https://runhook.example.com');
    expect(Object.keys(payload)).toEqual(['event', 'timestamp', 'test_run', 'changes', 'results_url']);
    expect(Object.keys(payload.test_run)).toEqual(RUN_KEYS);
    expect(renderBody('standard', payload, EVENT_AT)).toBe(EXPECTED_JSON);
  });

  it('adds the first 20 failures after duration_seconds, and changes no other byte', () => {
    const failures = Array.from({ length: 50 }, (_, i) => failure(`test ${i}`));
    const body = renderBody(
      'standard',
      standardPayload(run({ failures }), EVENT_AT, 'https://runhook.example.com'),
      EVENT_AT,
    );
    const parsed = JSON.parse(body) as StandardPayload;
    expect(Object.keys(parsed.test_run)).toEqual([...RUN_KEYS, 'failures']);
    expect(parsed.test_run.failures?.map((f) => f.name)).toEqual(failures.slice(0, 20).map((f) => f.name));
    const { failures: _dropped, ...rest } = parsed.test_run;
    expect(JSON.stringify({ ...parsed, test_run: rest })).toBe(EXPECTED_JSON);
  });

  it.each([
    ['https://runhook.example.com', 'https://runhook.example.com/runs/r1'],
    ['https://runhook.example.com/', 'https://runhook.example.com/runs/r1'],
    ['https://runhook.example.com//', 'https://runhook.example.com/runs/r1'],
    ['http://127.0.0.1:8080/runhook/', 'http://127.0.0.1:8080/runhook/runs/r1'],
  ])('public URL %s → results_url %s', (publicUrl, expected) => {
    expect(standardPayload(run({ id: 'r1' }), EVENT_AT, publicUrl).results_url).toBe(expected);
  });

  it.each([
    [
      'no total given: sum',
      { passedCount: 2, failedCount: 1, errorCount: 0, totalScenarios: null },
      3,
      66.67,
    ],
    ['given total larger', { passedCount: 2, failedCount: 0, errorCount: 0, totalScenarios: 8 }, 8, 25],
    ['zero total', { passedCount: 0, failedCount: 0, errorCount: 0, totalScenarios: null }, 0, 0],
  ])('%s', (_label, counts, total, rate) => {
    const t = standardPayload(run(counts), EVENT_AT, 'https://x').test_run;
    expect([t.total_scenarios, t.pass_rate]).toEqual([total, rate]);
  });

  it.each([
    ['running', COMPLETED],
    ['completed', null],
  ] as const)('refuses an unfinished run (status %s, completedAt %j)', (status, completedAt) => {
    expect(() => standardPayload(run({ status, completedAt }), EVENT_AT, 'https://x')).toThrow(
      /not finished/,
    );
  });
});

describe('testPayload', () => {
  const now = Date.UTC(2026, 1, 2, 8, 0, 0, 250);
  const payload = testPayload(now, 'https://runhook.example.com/');

  it('is marked as a test, right after event', () => {
    expect(Object.keys(payload)).toEqual([
      'event',
      'is_test',
      'timestamp',
      'test_run',
      'changes',
      'results_url',
    ]);
    expect(payload.event).toBe('test');
    expect(payload.is_test).toBe(true);
    expect(Object.keys(payload.test_run)).toEqual([...RUN_KEYS, 'failures']);
    expect(payload.test_run.failures).toHaveLength(payload.test_run.failed_count);
  });

  it('carries a consistent sample run with zero UUIDs', () => {
    const zero = '00000000-0000-0000-0000-000000000000';
    const t = payload.test_run;
    expect(payload.timestamp).toBe('2026-02-02T08:00:00Z');
    expect([t.id, t.agent_id, t.test_run_id, t.status]).toEqual([zero, zero, 'TR-00000', 'completed']);
    expect(t.total_scenarios).toBe(t.passed_count + t.failed_count + t.error_count);
    expect(t.completed_at).toBe('2026-02-02T08:00:00Z');
    expect(Date.parse(t.completed_at) - Date.parse(t.started_at)).toBe(t.duration_seconds * 1000);
    expect(payload.results_url).toBe(`https://runhook.example.com/runs/${zero}`);
  });
});

function withRun(overrides: Partial<StandardPayload['test_run']>, isTest = false): StandardPayload {
  const base = standardPayload(run(), EVENT_AT, 'https://runhook.example.com');
  const payload: StandardPayload = isTest
    ? {
        event: 'test',
        is_test: true,
        timestamp: base.timestamp,
        test_run: base.test_run,
        changes: null,
        results_url: base.results_url,
      }
    : base;
  return { ...payload, test_run: { ...payload.test_run, ...overrides } };
}

describe('renderBody clix', () => {
  it.each([
    ['completed, all passed', { status: 'completed', failed_count: 0, error_count: 0 }, 'pass'],
    ['completed with failures', { status: 'completed', failed_count: 3, error_count: 0 }, 'error'],
    ['completed with errors', { status: 'completed', failed_count: 0, error_count: 1 }, 'error'],
    ['failed run', { status: 'failed', failed_count: 0, error_count: 0 }, 'error'],
    ['canceled run', { status: 'canceled', failed_count: 0, error_count: 0 }, 'error'],
  ] as const)('%s → %s', (_label, overrides, status) => {
    expect(JSON.parse(renderBody('clix', withRun(overrides), EVENT_AT)).status).toBe(status);
  });

  it.each([
    [EVENT_AT, '1769769165.789'],
    [Date.UTC(2026, 0, 30, 10, 32, 45), '1769769165.000'],
    [Date.UTC(2026, 0, 30, 10, 32, 45, 5), '1769769165.005'],
  ])('exact bytes, timestamp in seconds with fraction (%i)', (eventAt, seconds) => {
    const payload = withRun({ status: 'completed', failed_count: 0, error_count: 0 });
    expect(renderBody('clix', payload, eventAt)).toBe(
      `{"timestamp":${seconds},"test_id":"7c9e6679-7425-40de-944b-e07fc1f90ae7",` +
        '"status":"pass","created_at":"2026-01-30T10:30:00Z"}',
    );
  });
});

type SlackBody = {
  text: string;
  blocks: [
    { type: string; text: { type: string; text: string } },
    { type: string; elements: [{ type: string; text: { type: string; text: string }; url: string }] },
  ];
};

describe('renderBody slack', () => {
  it.each([
    ['completed, all passed', { status: 'completed', failed_count: 0, error_count: 0 }, '✅'],
    ['completed with failures', { status: 'completed', failed_count: 3, error_count: 0 }, '❌'],
    ['failed run', { status: 'failed', failed_count: 0, error_count: 2 }, '❌'],
    ['completed with errors only', { status: 'completed', failed_count: 0, error_count: 2 }, '⚠️'],
    ['canceled', { status: 'canceled', failed_count: 1, error_count: 0 }, '⚠️'],
  ] as const)('%s → %s', (_label, overrides, emoji) => {
    const body = JSON.parse(renderBody('slack', withRun(overrides), EVENT_AT)) as SlackBody;
    expect(body.text.startsWith(emoji)).toBe(true);
    expect(body.blocks[0].text.text.startsWith(emoji)).toBe(true);
  });

  it('states the facts in text and blocks and links to the results', () => {
    const body = JSON.parse(renderBody('slack', withRun({}), EVENT_AT)) as SlackBody;
    expect(Object.keys(body)).toEqual(['text', 'blocks']);
    expect(body.text).not.toMatch(/\n/);
    for (const fact of ['Emergency Response Test', 'Healthcare Assistant', '17/20', '85%']) {
      expect(body.text).toContain(fact);
      expect(body.blocks[0].text.text).toContain(fact);
    }
    expect(body.blocks[0]).toMatchObject({ type: 'section', text: { type: 'mrkdwn' } });
    expect(body.blocks[0].text.text).toContain('TR-00042');
    expect(body.blocks[1]).toEqual({
      type: 'actions',
      elements: [
        {
          type: 'button',
          text: { type: 'plain_text', text: 'View results' },
          url: 'https://runhook.example.com/runs/7c9e6679-7425-40de-944b-e07fc1f90ae7',
        },
      ],
    });
  });

  it('says so for a test delivery', () => {
    const body = JSON.parse(renderBody('slack', withRun({}, true), EVENT_AT)) as SlackBody;
    expect(body.text).toMatch(/test/i);
    const real = JSON.parse(renderBody('slack', withRun({}), EVENT_AT)) as SlackBody;
    expect(real.text).not.toMatch(/\btest webhook\b/i);
  });

  it.each([
    ['<!channel> & co', '&lt;!channel&gt; &amp; co'],
    ['two\nlines', 'two lines'],
  ])('escapes user text %j for Slack', (name, shown) => {
    const body = JSON.parse(renderBody('slack', withRun({ name }), EVENT_AT)) as SlackBody;
    expect(body.text).toContain(shown);
    expect(body.text).not.toMatch(/\n/);
    expect(body.blocks[0].text.text).toContain(shown);
  });

  it('lists up to 5 failing tests, counts the rest, and stays under Slack’s 3,000 characters', () => {
    const long = 'x'.repeat(1000);
    const failures = Array.from({ length: 20 }, (_, i) => failure(`${'n'.repeat(490)} ${i}`, long));
    const body = JSON.parse(
      renderBody('slack', withRun({ failures, failed_count: 30, error_count: 2 }), EVENT_AT),
    ) as SlackBody;
    const text = body.blocks[0].text.text;
    expect(text).toContain('*Failing tests:*');
    expect(text.match(/^• /gm)).toHaveLength(5);
    expect(text).toContain('…and 27 more');
    expect(text.length).toBeLessThanOrEqual(3000);
    expect(body.text).not.toMatch(/\n/);
  });

  it('names failures with their message, escaped, and adds no "more" line when all are shown', () => {
    const failures = [failure('a <b> & c', 'boom'), failure('second', null)];
    const body = JSON.parse(
      renderBody('slack', withRun({ failures, failed_count: 2 }), EVENT_AT),
    ) as SlackBody;
    const text = body.blocks[0].text.text;
    expect(text).toContain('• a &lt;b&gt; &amp; c — boom');
    expect(text).toMatch(/• second$/m);
    expect(text).not.toContain('more');
  });

  it('lists no failures section when the run has none', () => {
    const body = JSON.parse(renderBody('slack', withRun({}), EVENT_AT)) as SlackBody;
    expect(body.blocks[0].text.text).not.toContain('Failing tests');
  });
});
