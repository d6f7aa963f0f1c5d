import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { deriveIdempotencyKey, parseJUnitFiles, runBody } from '../../src/cli/report.js';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/junit/${name}`, import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'runhook-junit-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function writeTmp(name: string, xml: string): string {
  const path = join(tmp, name);
  writeFileSync(path, xml);
  return path;
}

/** A zone-less JUnit timestamp is local time; this is what it becomes in UTC here. */
const localToUtcMs = (local: string) => new Date(local).toISOString();

type Failure = {
  name: string;
  classname: string | null;
  file: string | null;
  message: string | null;
  kind: string;
};
const failed = (
  name: string,
  classname: string | null,
  message: string | null,
  file: string | null = null,
): Failure => ({
  name,
  classname,
  file,
  message,
  kind: 'failed',
});
const error = (
  name: string,
  classname: string | null,
  message: string | null,
  file: string | null = null,
): Failure => ({
  ...failed(name, classname, message, file),
  kind: 'error',
});

/** A file without any suite timestamp ends when it was written: start = mtime − duration. */
function fromMtime(file: string, seconds: number) {
  const end = Math.floor(statSync(fixture(file)).mtimeMs);
  return {
    startedAt: new Date(end - Math.round(seconds * 1000)).toISOString(),
    completedAt: new Date(end).toISOString(),
  };
}

describe('parseJUnitFiles on files written by real runners (test/fixtures/junit/README.md)', () => {
  it.each([
    [
      'pytest.xml',
      {
        passed: 3,
        failed: 1,
        errored: 1,
        skipped: 2,
        total: 7,
        name: 'triage',
        durationSeconds: 0.027,
        startedAt: '2026-11-23T09:40:55.386Z',
        completedAt: '2026-11-23T09:40:55.413Z',
        timestamped: true,
        failures: [
          failed(
            'test_fails_on_purpose',
            'test_triage',
            "AssertionError: assert {'pass_rate': 85} == {'pass_rate': 90}\n  \n  Differing items:\n  {'pass_rate': 85} != {'pass_rate': 90}\n  Use -v to get more diff",
          ),
          error(
            'test_needs_database',
            'test_triage',
            'failed on setup with "ConnectionError: database is not reachable"',
          ),
        ],
      },
    ],
    [
      'vitest.xml',
      {
        passed: 3,
        failed: 2,
        errored: 0,
        skipped: 2,
        total: 7,
        name: 'triage.test.ts',
        durationSeconds: 0.012,
        startedAt: '2026-11-23T09:40:46.555Z',
        completedAt: '2026-11-23T09:40:46.567Z',
        timestamped: true,
        failures: [
          failed(
            'triage rules > fails on purpose',
            'triage.test.ts',
            'expected { pass_rate: 85 } to deeply equal { pass_rate: 90 }',
          ),
          failed(
            'triage rules > nested suite > throws an unexpected error',
            'triage.test.ts',
            "Cannot read properties of undefined (reading 'name')",
          ),
        ],
      },
    ],
    [
      'jest-junit.xml',
      {
        // jest-junit writes a test.todo as a plain <testcase>, so it counts as passed.
        passed: 4,
        failed: 2,
        errored: 0,
        skipped: 1,
        total: 7,
        name: 'triage rules',
        durationSeconds: 0.529,
        startedAt: localToUtcMs('2026-12-01T00:14:12'),
        completedAt: new Date(new Date('2026-12-01T00:14:12').getTime() + 529).toISOString(),
        timestamped: true,
        failures: [
          failed(
            'triage rules fails on purpose',
            null,
            'Error: expect(received).toEqual(expected) // deep equality\n\n- Expected  - 1\n+ Received  + 1\n\n  Object {\n-   "pass_rate": 90,\n+   "pass_rate": 85,\n  }',
            'triage.test.js',
          ),
          failed(
            'throws on purpose',
            null,
            "TypeError: Cannot read properties of undefined (reading 'severity')",
            'triage.test.js',
          ),
        ],
      },
    ],
    [
      'surefire-junit5.xml',
      {
        passed: 3,
        failed: 1,
        errored: 1,
        skipped: 2,
        total: 7,
        name: 'triage.TriageTest',
        durationSeconds: 0.131,
        ...fromMtime('surefire-junit5.xml', 0.131),
        timestamped: false,
        failures: [
          failed('failsOnPurpose', 'triage.TriageTest', 'pass rate ==> expected: <90> but was: <85>'),
          error('errorsOnPurpose', 'triage.TriageTest', 'calendar service unreachable'),
        ],
      },
    ],
    [
      'go-junit-report.xml',
      {
        passed: 3,
        failed: 3,
        errored: 1,
        skipped: 1,
        total: 8,
        name: 'example.com/carebot/booking',
        durationSeconds: 0.007,
        startedAt: '2026-12-01T00:15:19.000Z',
        completedAt: '2026-12-01T00:15:19.007Z',
        timestamped: true,
        failures: [
          error(
            '[build failed]',
            'example.com/carebot/reminders',
            'reminders/reminders_test.go:6:6: undefined: provider',
          ),
          failed(
            'TestFailsOnPurpose',
            'example.com/carebot/triage',
            'triage_test.go:8: pass rate = 85, want 90',
          ),
          failed('TestSeverity', 'example.com/carebot/triage', 'Failed'),
          failed(
            'TestSeverity/high',
            'example.com/carebot/triage',
            'triage_test.go:18: expected ESCALATE, got ADVISE',
          ),
        ],
      },
    ],
    [
      'gotestsum.xml',
      {
        passed: 3,
        failed: 3,
        // The package that does not compile is only in the root's errors="1": one errored case.
        errored: 1,
        skipped: 1,
        total: 8,
        name: 'example.com/carebot/booking',
        durationSeconds: 0.859,
        startedAt: '2026-12-01T00:15:18.000Z',
        completedAt: '2026-12-01T00:15:18.859Z',
        timestamped: true,
        failures: [
          failed(
            'TestFailsOnPurpose',
            'example.com/carebot/triage',
            'triage_test.go:8: pass rate = 85, want 90',
          ),
          failed(
            'TestSeverity/high',
            'example.com/carebot/triage',
            'triage_test.go:18: expected ESCALATE, got ADVISE',
          ),
          failed('TestSeverity', 'example.com/carebot/triage', 'Failed'),
          error(
            'an error outside any test case',
            null,
            'The report counts errors="1" but lists 0: the runner failed outside the tests (e.g. a Go package that does not compile).',
            'gotestsum.xml',
          ),
        ],
      },
    ],
    [
      'playwright.xml',
      {
        passed: 2,
        failed: 1,
        errored: 1,
        skipped: 1,
        total: 5,
        name: 'booking.spec.js',
        durationSeconds: 5.857,
        startedAt: '2026-12-01T00:15:29.438Z',
        completedAt: '2026-12-01T00:15:35.295Z',
        timestamped: true,
        failures: [
          failed('triage › shows the pass rate', 'triage.spec.js', 'pass rate on the results page'),
          error(
            'triage › loads the results page in time',
            'triage.spec.js',
            'Test timeout of 300ms exceeded.',
          ),
        ],
      },
    ],
    [
      'node-test.xml',
      {
        passed: 4,
        failed: 2,
        errored: 0,
        skipped: 3,
        total: 9,
        name: 'triage rules',
        durationSeconds: 0.005,
        ...fromMtime('node-test.xml', 0.005),
        timestamped: false,
        failures: [
          failed('fails on purpose', 'test', 'Expected values to be strictly equal:2 !== 3'),
          failed('rejects empty input', 'test', 'unexpected undefined'),
        ],
      },
    ],
    [
      'jenkins-style.xml',
      {
        passed: 5,
        failed: 1,
        errored: 2,
        skipped: 2,
        total: 10,
        name: 'healthcare-assistant.regression',
        durationSeconds: 12.5,
        // The nested suite's timestamp is the earlier one; the root's time is the file's duration.
        startedAt: localToUtcMs('2026-01-30T10:29:30'),
        completedAt: new Date(new Date('2026-01-30T10:29:30').getTime() + 12_500).toISOString(),
        timestamped: true,
        failures: [
          failed('handlesOverdose', 'triage.EmergencyTest', 'expected ESCALATE but was ADVISE'),
          error('cancelsAppointment', 'scheduling.BookingTest', 'Connection refused'),
          error('timesOutOnProvider', 'scheduling.ReminderTest', 'java.util.concurrent.TimeoutException'),
        ],
      },
    ],
  ])('%s', async (file, expected) => {
    expect(await parseJUnitFiles([fixture(file)])).toEqual(expected);
  });

  it('adds up several files: counts and time summed, the run spans from the earliest start to the latest end', async () => {
    const files = ['pytest.xml', 'vitest.xml', 'jenkins-style.xml', 'playwright.xml'].map(fixture);
    const summary = await parseJUnitFiles(files);
    expect(summary).toMatchObject({
      passed: 13,
      failed: 5,
      errored: 4,
      skipped: 7,
      total: 29,
      // The first suite of the first file.
      name: 'triage',
      durationSeconds: 0.027 + 0.012 + 12.5 + 5.857,
      startedAt: localToUtcMs('2026-01-30T10:29:30'),
      completedAt: '2026-12-01T00:15:35.295Z',
    });
    expect(summary.failures.map((f) => f.name)).toEqual([
      'test_fails_on_purpose',
      'test_needs_database',
      'triage rules > fails on purpose',
      'triage rules > nested suite > throws an unexpected error',
      'handlesOverdose',
      'cancelsAppointment',
      'timesOutOnProvider',
      'triage › shows the pass rate',
      'triage › loads the results page in time',
    ]);
  });
});

describe('parseJUnitFiles edge cases', () => {
  it('counts an empty <testsuites/> as nothing', async () => {
    const path = writeTmp('empty.xml', '<?xml version="1.0"?><testsuites/>');
    expect(await parseJUnitFiles([path])).toMatchObject({ total: 0, passed: 0, name: null });
  });

  it('counts a single bare test case (no arrays to lean on)', async () => {
    const path = writeTmp(
      'one.xml',
      '<testsuite name="one"><testcase name="a"><error/></testcase></testsuite>',
    );
    expect(await parseJUnitFiles([path])).toMatchObject({ total: 1, errored: 1, name: 'one' });
  });

  it('ranks failure over error over skipped within one test case', async () => {
    const path = writeTmp(
      'both.xml',
      `<testsuites><testsuite name="s">
         <testcase name="a"><error/><failure/></testcase>
         <testcase name="b"><skipped/><error/></testcase>
       </testsuite></testsuites>`,
    );
    expect(await parseJUnitFiles([path])).toMatchObject({ failed: 1, errored: 1, skipped: 0, total: 2 });
  });

  it('ignores an unparseable timestamp', async () => {
    const path = writeTmp(
      'ts.xml',
      '<testsuite name="s" timestamp="yesterday"><testcase name="a"/></testsuite>',
    );
    const end = Math.floor(statSync(path).mtimeMs);
    expect(await parseJUnitFiles([path])).toMatchObject({
      timestamped: false,
      startedAt: new Date(end).toISOString(),
      completedAt: new Date(end).toISOString(),
      durationSeconds: 0,
      passed: 1,
    });
  });

  it('refuses a truncated file rather than under-counting it', async () => {
    const path = writeTmp('cut.xml', '<testsuites><testsuite name="s"><testcase name="a"/><testcase name');
    await expect(parseJUnitFiles([path])).rejects.toThrow(/cut\.xml is not well-formed XML \(line 1/);
  });

  it('refuses XML that is not a JUnit report', async () => {
    const path = writeTmp('pom.xml', '<project><modelVersion>4.0.0</modelVersion></project>');
    await expect(parseJUnitFiles([path])).rejects.toThrow(/not a JUnit report/);
  });

  it('says which file it cannot read', async () => {
    await expect(parseJUnitFiles([join(tmp, 'missing.xml')])).rejects.toThrow(/cannot read .*missing\.xml/);
  });
});

describe('what report sends for a parsed file', () => {
  it('shortens a suite name over 200 characters instead of being refused, and folds its whitespace', async () => {
    const long = `checkout\n  ${'very long suite name '.repeat(15)}`;
    const path = writeTmp('long.xml', `<testsuite name="${long}"><testcase name="a"/></testsuite>`);
    const body = runBody('agent-1', await parseJUnitFiles([path]));
    const name = body.name as string;
    expect(Array.from(name)).toHaveLength(200);
    expect(name.startsWith('checkout very long suite name very')).toBe(true);
    expect(name.endsWith('…')).toBe(true);
    // --name wins over the suite, and is shortened the same way.
    expect(runBody('agent-1', await parseJUnitFiles([path]), 'Nightly').name).toBe('Nightly');
    expect(
      Array.from(runBody('agent-1', await parseJUnitFiles([path]), 'é'.repeat(250)).name as string),
    ).toHaveLength(200);
  });

  it("skips runners' placeholder names (pytest's default, jest-junit's undefined) and falls back to JUnit report", async () => {
    const pytestDefault = writeTmp(
      'pytest-default.xml',
      '<testsuites name="pytest tests"><testsuite name="pytest" timestamp="2026-11-23T09:40:55+00:00"><testcase name="a"/></testsuite></testsuites>',
    );
    expect((await parseJUnitFiles([pytestDefault])).name).toBeNull();
    expect(runBody('agent-1', await parseJUnitFiles([pytestDefault])).name).toBe('JUnit report');
    const jest = writeTmp(
      'jest-undefined.xml',
      '<testsuites name="jest tests"><testsuite name="undefined"><testcase name="a"/></testsuite><testsuite name="booking"><testcase name="b"/></testsuite></testsuites>',
    );
    expect((await parseJUnitFiles([jest])).name).toBe('booking');
    const named = writeTmp(
      'named-root.xml',
      '<testsuites name="Regression"><testsuite name=""><testcase name="a"/></testsuite></testsuites>',
    );
    expect((await parseJUnitFiles([named])).name).toBe('Regression');
  });

  it('sends at most 50 failures, each message cut to 1,000 characters ending in …', async () => {
    const cases = Array.from(
      { length: 60 },
      (_, i) =>
        `<testcase name="case ${i}" classname="c"><failure message="${'x'.repeat(1500)}"/></testcase>`,
    ).join('');
    const path = writeTmp('many.xml', `<testsuite name="many" time="2">${cases}</testsuite>`);
    const summary = await parseJUnitFiles([path]);
    expect(summary.failures).toHaveLength(60);
    const body = runBody('agent-1', summary);
    const sent = body.failures as Failure[];
    expect(sent).toHaveLength(50);
    expect(sent[49]!.name).toBe('case 49');
    expect(Array.from(sent[0]!.message!)).toHaveLength(1000);
    expect(sent[0]!.message!.endsWith('x…')).toBe(true);
    expect(body).toMatchObject({ status: 'failed', failed_count: 60, total_scenarios: 60 });
  });

  it('sends no failures key for a green run, and a span equal to the JUnit time', async () => {
    const path = writeTmp(
      'green.xml',
      '<testsuite name="green" time="1,234.5" timestamp="2026-03-01T08:00:00Z"><testcase name="a"/></testsuite>',
    );
    const body = runBody('agent-1', await parseJUnitFiles([path]));
    expect(body).not.toHaveProperty('failures');
    expect(body).toMatchObject({
      status: 'completed',
      started_at: '2026-03-01T08:00:00.000Z',
      completed_at: '2026-03-01T08:20:34.500Z',
    });
  });

  it('names a failing case without a name, and reads a message from the body text when there is no attribute', async () => {
    const path = writeTmp(
      'bodies.xml',
      `<testsuite name="s" file="suite_file.py">
         <testcase><failure>
    Expected 3 but got 2
      at check (/src/a.js:1:1)
      at run (/src/b.js:2:2)
         </failure></testcase>
         <testcase name="empty" file="own_file.py"><error type="TimeoutError"/></testcase>
       </testsuite>`,
    );
    expect((await parseJUnitFiles([path])).failures).toEqual([
      failed('(unnamed test case)', null, 'Expected 3 but got 2', 'suite_file.py'),
      error('empty', null, 'TimeoutError', 'own_file.py'),
    ]);
  });
});

describe('errors a report counts outside its test cases', () => {
  it('turns a build failure that only the root counts into an errored case, so the run is not green', async () => {
    const path = writeTmp(
      'build-failed.xml',
      '<testsuites tests="1" errors="1"><testsuite name="pkg/ok" tests="1"><testcase name="TestOk"/></testsuite></testsuites>',
    );
    const summary = await parseJUnitFiles([path]);
    expect(summary).toMatchObject({ passed: 1, errored: 1, total: 2 });
    expect(runBody('agent-1', summary)).toMatchObject({ status: 'failed', error_count: 1 });
    // Errors that are listed as test cases are not counted twice.
    const listed = writeTmp(
      'listed.xml',
      '<testsuites errors="1"><testsuite name="s"><testcase name="a"><error/></testcase></testsuite></testsuites>',
    );
    expect(await parseJUnitFiles([listed])).toMatchObject({ errored: 1, total: 1 });
  });
});

describe('deriveIdempotencyKey', () => {
  it('is the same for the same files, agent and name, and differs when any of them does', async () => {
    const a = writeTmp('key-a.xml', '<testsuite name="a"><testcase name="x"/></testsuite>');
    const b = writeTmp(
      'key-b.xml',
      '<testsuite name="a"><testcase name="x"><failure/></testcase></testsuite>',
    );
    const key = await deriveIdempotencyKey([a], 'ci');
    expect(key).toMatch(/^runhook-report-[0-9a-f]{64}$/);
    expect(await deriveIdempotencyKey([a], 'ci')).toBe(key);
    // A copy of the same content elsewhere is the same report.
    expect(
      await deriveIdempotencyKey(
        [writeTmp('key-a-copy.xml', '<testsuite name="a"><testcase name="x"/></testsuite>')],
        'ci',
      ),
    ).toBe(key);
    expect(await deriveIdempotencyKey([b], 'ci')).not.toBe(key);
    expect(await deriveIdempotencyKey([a], 'other agent')).not.toBe(key);
    expect(await deriveIdempotencyKey([a], 'ci', 'Nightly')).not.toBe(key);
    expect(await deriveIdempotencyKey([a, b], 'ci')).not.toBe(await deriveIdempotencyKey([b, a], 'ci'));
  });
});
