/**
 * What changed since the baseline (src/domain/changes.ts, docs/api.md#what-changed), as tables:
 * flips and states from recent outcomes, the comparison on each basis, the summary line.
 */
import { describe, expect, it } from 'vitest';
import {
  type ComparedResult,
  type ComparedRun,
  changeSummary,
  compareRuns,
  countFlips,
  isNotable,
  pushOutcome,
  testState,
} from '../../src/domain/changes.js';
import { testKey } from '../../src/domain/results.js';

function run(over: Partial<ComparedRun> = {}): ComparedRun {
  return {
    testRunId: 'TR-00001',
    status: 'completed',
    passRate: 100,
    durationSeconds: 60,
    failingCount: 0,
    failures: [],
    results: null,
    score: null,
    ...over,
  };
}

function results(entries: Array<[string, ComparedResult['status'], number?, string?]>) {
  const map = new Map<string, ComparedResult>();
  for (const [name, status, attempts = 1, recentBefore = ''] of entries) {
    map.set(testKey('s', name), { name, suite: 's', status, attempts, message: null, recentBefore });
  }
  return map;
}

describe('countFlips and testState', () => {
  it.each([
    ['', 0, 'passing'],
    ['P', 0, 'passing'],
    ['F', 0, 'failing'],
    ['SF', 0, 'failing'],
    ['FP', 1, 'failing'],
    ['PF', 1, 'passing'],
    ['FPF', 2, 'failing'],
    ['FPFP', 3, 'flaky'],
    ['FSPSF', 2, 'failing'],
    ['RPPP', 0, 'flaky'],
    // Flips past the last 10 outcomes do not count.
    ['PPPPPPPPPPFPFP', 0, 'passing'],
    ['EPEP', 3, 'flaky'],
  ])('%s: %i flips, %s', (recent, flips, state) => {
    expect(countFlips(recent)).toBe(flips);
    expect(testState(recent)).toBe(state);
  });

  it('keeps 20 outcomes, newest first', () => {
    let recent = '';
    for (let i = 0; i < 25; i++) recent = pushOutcome(recent, i % 2 === 0 ? 'P' : 'F');
    expect(recent).toHaveLength(20);
    expect(recent[0]).toBe('P');
  });
});

describe('compareRuns', () => {
  it('without a baseline: no changes, every result new', () => {
    const out = compareRuns(run({ results: results([['a', 'passed']]) }), null);
    expect(out.changes).toBeNull();
    expect(out.perResult.get(testKey('s', 'a'))).toBe('new');
  });

  it('basis results: each kind of change, counted and listed', () => {
    const base = run({
      testRunId: 'TR-00007',
      passRate: 50,
      durationSeconds: 50,
      score: 80,
      results: results([
        ['same', 'passed'],
        ['breaks', 'passed'],
        ['fixed', 'failed'],
        ['still', 'error'],
        ['gone', 'passed'],
        ['skipped-now', 'failed'],
      ]),
    });
    const now = run({
      passRate: 40,
      durationSeconds: 62,
      score: 70.5,
      results: results([
        ['same', 'passed'],
        ['breaks', 'failed'],
        ['fixed', 'passed'],
        ['still', 'failed'],
        ['brand-new', 'failed'],
        ['retried', 'passed', 3],
        ['flipper', 'failed', 1, 'PFP'],
        ['skipped-now', 'skipped'],
      ]),
    });
    const { changes, perResult } = compareRuns(now, base);
    const change = (n: string) => perResult.get(testKey('s', n));
    expect([
      change('same'),
      change('breaks'),
      change('fixed'),
      change('still'),
      change('brand-new'),
      change('retried'),
      change('flipper'),
      change('skipped-now'),
    ]).toEqual([
      'unchanged',
      'new_failure',
      'fixed',
      'still_failing',
      'new_failure',
      'flaky',
      'flaky',
      'unchanged',
    ]);
    expect(changes).toMatchObject({
      baseline_test_run_id: 'TR-00007',
      basis: 'results',
      counts: { new_failures: 2, fixed: 1, still_failing: 1, flaky: 2, new_tests: 3, missing_tests: 1 },
      pass_rate_delta: -10,
      duration_delta_seconds: 12,
      score_delta: -9.5,
    });
    expect(changes?.flaky.map((f) => f.reason)).toEqual(['passed_on_retry', 'flipping']);
  });

  it('basis failures: by names; fixed only from a complete list', () => {
    const f = (name: string) => ({
      name,
      classname: 'c',
      file: null,
      message: null,
      kind: 'failed' as const,
    });
    const base = run({ failingCount: 2, failures: [f('a'), f('b')] });
    const complete = compareRuns(run({ failingCount: 2, failures: [f('b'), f('c')] }), base).changes;
    expect(complete).toMatchObject({
      basis: 'failures',
      counts: { new_failures: 1, fixed: 1, still_failing: 1 },
    });
    const partial = compareRuns(run({ failingCount: 5, failures: [f('b')] }), base).changes;
    expect(partial?.counts).toMatchObject({ new_failures: 0, fixed: 0, still_failing: 1 });
    // The names are unknown on one side: only the numbers.
    const unnamed = compareRuns(run({ failingCount: 3 }), base).changes;
    expect(unnamed?.basis).toBe('none');
    expect(unnamed?.counts.new_failures).toBe(0);
    expect(changeSummary(complete ?? null, 100)).toBe(
      '1 new failure · 1 fixed · 1 still failing · pass rate 100 %',
    );
  });

  it('lists at most 20 of each and counts them all', () => {
    const entries: Array<[string, 'failed']> = Array.from({ length: 30 }, (_, i) => [`t${i}`, 'failed']);
    const { changes } = compareRuns(run({ results: results(entries) }), run({ results: results([]) }));
    expect(changes?.new_failures).toHaveLength(20);
    expect(changes?.counts.new_failures).toBe(30);
  });
});

describe('changeSummary and isNotable', () => {
  const base = {
    baseline_test_run_id: 'TR-00001',
    basis: 'results' as const,
    new_failures: [],
    fixed: [],
    flaky: [],
    counts: { new_failures: 0, fixed: 0, still_failing: 3, flaky: 0, new_tests: 0, missing_tests: 0 },
    pass_rate_delta: 0,
    duration_delta_seconds: 0,
    score_delta: null,
  };
  it('says "No change" with what still fails', () => {
    expect(changeSummary(base, 85)).toBe('No change: 3 still failing');
    expect(changeSummary({ ...base, pass_rate_delta: 2.5 }, 85)).toBe(
      'No change: 3 still failing · pass rate 85 % (+2.5)',
    );
    expect(changeSummary(null, 85)).toBeNull();
  });
  it('a run is notable without a baseline, on a status change, a new failure or a fix', () => {
    expect(isNotable(null, 'completed', null)).toBe(true);
    expect(isNotable(base, 'failed', 'failed')).toBe(false);
    expect(isNotable(base, 'completed', 'failed')).toBe(true);
    expect(isNotable({ ...base, counts: { ...base.counts, fixed: 1 } }, 'failed', 'failed')).toBe(true);
  });
});
