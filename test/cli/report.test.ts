import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  deriveIdempotencyKey,
  type JUnitResult,
  parseJUnitFiles,
  partKey,
  runBody,
} from '../../src/cli/report.js';

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
    const { results, ...summary } = await parseJUnitFiles([fixture(file)]);
    expect(summary).toEqual(expected);
    expect(results).toHaveLength(expected.total);
  });

  it('adds up several files: counts summed, the run spans from the earliest start to the latest end', async () => {
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
      // The wall clock from jenkins-style.xml's start (January) to playwright.xml's end
      // (December), not the files' times added up (0.027 + 0.012 + 12.5 + 5.857 s).
      durationSeconds:
        (Date.parse('2026-12-01T00:15:35.295Z') - new Date('2026-01-30T10:29:30').getTime()) / 1000,
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

  it('refuses an empty file and external entities by name, and expands no entity bomb', async () => {
    const empty = writeTmp('empty.xml', '');
    await expect(parseJUnitFiles([empty])).rejects.toThrow(/empty\.xml is not well-formed XML \(line 1\): /);
    const external = writeTmp(
      'xxe.xml',
      '<?xml version="1.0"?><!DOCTYPE t [<!ENTITY x SYSTEM "file:///etc/passwd">]>' +
        '<testsuite name="s"><testcase name="a"><failure message="&x;"/></testcase></testsuite>',
    );
    await expect(parseJUnitFiles([external])).rejects.toThrow(/xxe\.xml cannot be read as JUnit XML/);
    const entities = Array.from({ length: 9 }, (_, i) => `<!ENTITY l${i + 1} "${`&l${i};`.repeat(10)}">`);
    const laughs = writeTmp(
      'laughs.xml',
      `<?xml version="1.0"?><!DOCTYPE t [<!ENTITY l0 "lol">${entities.join('')}]>` +
        '<testsuite name="s"><testcase name="&l9;"/></testsuite>',
    );
    // Entities defined in terms of entities are not expanded: no billion laughs.
    const parsed = await parseJUnitFiles([laughs]);
    expect(parsed.results.map((r) => r.name.length)).toEqual([expect.any(Number)]);
    expect(parsed.results[0]!.name.length).toBeLessThan(100);
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
  it('is the same for the same files, agent, name and suite id, and differs when any of them does', async () => {
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
    expect(await deriveIdempotencyKey([a], 'ci', undefined, 'suite-1')).not.toBe(key);
    expect(await deriveIdempotencyKey([a], 'ci', undefined, 'suite-1')).toBe(
      await deriveIdempotencyKey([a], 'ci', undefined, 'suite-1'),
    );
  });
});

/** A result as a compact row: status, suite, name, duration_ms, attempts. */
const row = (r: JUnitResult) => [r.status, r.suite ?? null, r.name, r.duration_ms ?? null, r.attempts ?? 1];

describe('results: every test case once, reruns merged (test/fixtures/junit/README.md)', () => {
  it.each([
    [
      // @playwright/test 1.65.1 with retries: 2 and the junit reporter's includeRetries.
      'playwright-retries.xml',
      [
        ['passed', 'retries.spec.js', 'retries › passes at once', 14, 1],
        // flakyFailure: the first try failed; the time of every try is added up.
        ['passed', 'retries.spec.js', 'retries › passes on the second try', 10 + 34, 2],
        ['passed', 'retries.spec.js', 'retries › passes on the third try', 4 + 34 + 4, 3],
        // <failure> for the first try, a rerunFailure for each retry.
        ['failed', 'retries.spec.js', 'retries › fails every time', 23 + 20 + 11, 3],
        ['skipped', 'retries.spec.js', 'retries › is skipped', null, 1],
      ],
    ],
    [
      // Two projects: the same file and test names under suites whose hostname is the project.
      'playwright-projects.xml',
      [
        ['passed', 'booking.spec.js [desktop]', 'books a follow-up', 46, 1],
        ['passed', 'booking.spec.js [desktop]', 'shows the slots', 41, 1],
        // Retried once and passed, but without includeRetries the file does not say so.
        ['passed', 'booking.spec.js [desktop]', 'confirms by email', 96, 1],
        ['passed', 'booking.spec.js [mobile]', 'books a follow-up', 39, 1],
        ['failed', 'booking.spec.js [mobile]', 'shows the slots', 94, 1],
        ['passed', 'booking.spec.js [mobile]', 'confirms by email', 43, 1],
      ],
    ],
    [
      // pytest-rerunfailures 16.6.1 (--reruns 2): one <testcase> per try, the last with the outcome.
      'pytest-rerunfailures.xml',
      [
        ['passed', 'test_booking', 'test_books_follow_up', 1, 1],
        ['passed', 'test_booking', 'test_confirms_by_email', 3, 2],
        ['failed', 'test_booking', 'test_slots_on_small_screen', 7, 3],
        ['skipped', 'test_booking', 'test_cancels_appointment', 0, 1],
      ],
    ],
    [
      // maven-surefire-plugin 3.2.5 with rerunFailingTestsCount 2 (JUnit 5.11.4).
      'surefire-rerun.xml',
      [
        // <failure> for the first run, a rerunFailure for each rerun.
        ['failed', 'booking.BookingTest', 'failsEveryTime', 60, 3],
        ['passed', 'booking.BookingTest', 'confirmsOnSecondTry', 3, 2],
        ['passed', 'booking.BookingTest', 'booksFollowUp', 2, 1],
        // flakyError then flakyFailure, then it passed.
        ['passed', 'booking.BookingTest', 'confirmsOnThirdTry', 1, 3],
        ['error', 'booking.BookingTest', 'throwsEveryTime', 14, 3],
        ['skipped', 'booking.BookingTest', 'cancelsAppointment', 0, 1],
      ],
    ],
    [
      // A Surefire flakyFailure on a test that passed at last (hand-written, jenkins-style.xml).
      'jenkins-style.xml',
      [
        ['passed', 'triage.EmergencyTest', 'routesChestPain', 1200, 1],
        ['passed', 'triage.EmergencyTest', 'escalatesStroke', 800, 1],
        ['failed', 'triage.EmergencyTest', 'handlesOverdose', 2100, 1],
        ['passed', 'triage.EmergencyTest', 'flakyButPassedOnRerun', 500, 2],
        ['passed', 'scheduling.BookingTest', 'booksFollowUp', 300, 1],
        ['error', 'scheduling.BookingTest', 'cancelsAppointment', 100, 1],
        ['skipped', 'scheduling.BookingTest', 'reschedulesAcrossTimezones', 0, 1],
        ['passed', 'scheduling.ReminderTest', 'sendsSmsReminder', 400, 1],
        ['skipped', 'scheduling.ReminderTest', 'sendsEmailReminder', 0, 1],
        ['error', 'scheduling.ReminderTest', 'timesOutOnProvider', 30000, 1],
      ],
    ],
    [
      // jest-junit repeats the name as classname: the suite is the <testsuite>'s name instead.
      'jest-junit.xml',
      [
        ['passed', 'triage rules', 'triage rules routes chest pain to emergency', 6, 1],
        ['failed', 'triage rules', 'triage rules fails on purpose', 4, 1],
        ['skipped', 'triage rules', 'triage rules pediatrics handles infants', 0, 1],
        ['passed', 'triage rules', 'triage rules pediatrics handles teenagers', 0, 1],
        ['passed', 'triage rules', 'triage rules pediatrics escalates fever in newborns', 1, 1],
        ['failed', 'triage rules', 'throws on purpose', 1, 1],
        ['passed', 'undefined', 'books a follow-up', 2, 1],
      ],
    ],
    [
      // The package that does not compile: an errored result named after the file.
      'gotestsum.xml',
      [
        ['passed', 'example.com/carebot/booking', 'TestBooksFollowUp', 0, 1],
        ['failed', 'example.com/carebot/triage', 'TestFailsOnPurpose', 0, 1],
        ['failed', 'example.com/carebot/triage', 'TestSeverity/high', 0, 1],
        ['failed', 'example.com/carebot/triage', 'TestSeverity', 0, 1],
        ['skipped', 'example.com/carebot/triage', 'TestSkipped', 0, 1],
        ['passed', 'example.com/carebot/triage', 'TestRoutesChestPain', 0, 1],
        ['passed', 'example.com/carebot/triage', 'TestSeverity/low', 0, 1],
        ['error', 'gotestsum.xml', 'an error outside any test case', null, 1],
      ],
    ],
  ])('%s', async (file, rows) => {
    const summary = await parseJUnitFiles([fixture(file)]);
    expect(summary.results.map(row)).toEqual(rows);
    // The counts are the results'.
    const count = (status: string) => rows.filter((r) => r[0] === status).length;
    expect(summary).toMatchObject({
      passed: count('passed'),
      failed: count('failed'),
      errored: count('error'),
      skipped: count('skipped'),
      total: rows.length,
    });
  });

  it('gives failed and errored results their message, and none to the others', async () => {
    const { results } = await parseJUnitFiles([fixture('surefire-rerun.xml'), fixture('pytest.xml')]);
    const messages = Object.fromEntries(results.map((r) => [r.name, r.message]));
    expect(messages).toMatchObject({
      booksFollowUp: undefined,
      confirmsOnSecondTry: undefined,
      cancelsAppointment: undefined,
      failsEveryTime: 'slots on a small screen ==> expected: <4> but was: <3>',
      throwsEveryTime: 'provider directory unreachable',
      test_pediatrics: undefined,
      test_needs_database: 'failed on setup with "ConnectionError: database is not reachable"',
    });
    expect(results.find((r) => r.name === 'test_fails_on_purpose')!.message).toMatch(
      /^AssertionError: assert \{'pass_rate': 85\} == \{'pass_rate': 90\}\n/,
    );
  });

  it('cuts a message to 4,000 characters in results and to 1,000 in failures, and names and suites to 500', async () => {
    const path = writeTmp(
      'long-message.xml',
      `<testsuite name="s"><testcase name="${'n'.repeat(600)}" classname="${'c'.repeat(600)}"><failure message="${'x'.repeat(5000)}"/></testcase></testsuite>`,
    );
    const { results, failures } = await parseJUnitFiles([path]);
    const [result] = results;
    expect(Array.from(result!.message!)).toHaveLength(4000);
    expect(result!.message!.endsWith('x…')).toBe(true);
    expect(Array.from(result!.name)).toHaveLength(500);
    expect(Array.from(result!.suite!)).toHaveLength(500);
    expect(Array.from(failures[0]!.message!)).toHaveLength(1000);
    expect(failures[0]!.name).toBe(result!.name);
  });

  it('merges the same test across files: the runs add up, the last file gives the outcome', async () => {
    const first = writeTmp(
      'shard-first.xml',
      `<testsuite name="s" timestamp="2026-03-01T08:00:00Z" time="1">
         <testcase classname="c" name="flaky" time="0.5"><failure message="first try"/></testcase>
         <testcase classname="c" name="stable" time="0.25"/>
       </testsuite>`,
    );
    const rerun = writeTmp(
      'rerun-step.xml',
      `<testsuite name="s" timestamp="2026-03-01T08:05:00Z" time="1">
         <testcase classname="c" name="flaky" time="0.5"><flakyFailure message="second try"/></testcase>
       </testsuite>`,
    );
    const summary = await parseJUnitFiles([first, rerun]);
    expect(summary.results).toEqual([
      { name: 'flaky', suite: 'c', status: 'passed', duration_ms: 1000, attempts: 3 },
      { name: 'stable', suite: 'c', status: 'passed', duration_ms: 250 },
    ]);
    expect(summary).toMatchObject({ passed: 2, failed: 0, total: 2, failures: [] });
    // The other way round the failure is the last word.
    const reversed = await parseJUnitFiles([rerun, first]);
    expect(reversed.results[0]).toEqual({
      name: 'flaky',
      suite: 'c',
      status: 'failed',
      duration_ms: 1000,
      message: 'first try',
      attempts: 3,
    });
    expect(reversed.failures.map((f) => f.name)).toEqual(['flaky']);
  });

  it('counts a repeated test case with rerun entries once per try, not twice', async () => {
    // A pytest-rerunfailures that writes a <testcase> per try and flakyFailure entries on the last.
    const path = writeTmp(
      'both-styles.xml',
      `<testsuite name="s">
         <testcase classname="c" name="t" time="0.1"/>
         <testcase classname="c" name="t" time="0.1"/>
         <testcase classname="c" name="t" time="0.1"><flakyFailure message="1"/><flakyFailure message="2"/></testcase>
       </testsuite>`,
    );
    expect((await parseJUnitFiles([path])).results).toEqual([
      { name: 't', suite: 'c', status: 'passed', duration_ms: 300, attempts: 3 },
    ]);
  });

  it('takes the suite from the enclosing <testsuite> when there is no classname, and sends none without either', async () => {
    const path = writeTmp(
      'no-classname.xml',
      `<testsuites><testcase name="at the root"/><testsuite name="outer"><testsuite name="inner"><testcase name="deep"/></testsuite><testcase name="shallow"/></testsuite></testsuites>`,
    );
    expect((await parseJUnitFiles([path])).results).toEqual([
      { name: 'at the root', status: 'passed' },
      { name: 'shallow', suite: 'outer', status: 'passed' },
      { name: 'deep', suite: 'inner', status: 'passed' },
    ]);
  });
});

describe('the time of several files', () => {
  it('spans shards that ran side by side from the earliest start to the latest end (wall clock, not the sum)', async () => {
    const a = writeTmp(
      'shard-a.xml',
      '<testsuite name="a" timestamp="2026-03-01T10:00:00Z" time="60"><testcase name="x" time="60"/></testsuite>',
    );
    const b = writeTmp(
      'shard-b.xml',
      '<testsuite name="b" timestamp="2026-03-01T10:00:05Z" time="30"><testcase name="y" time="30"/></testsuite>',
    );
    const summary = await parseJUnitFiles([b, a]);
    expect(summary).toMatchObject({
      startedAt: '2026-03-01T10:00:00.000Z',
      completedAt: '2026-03-01T10:01:00.000Z',
      durationSeconds: 60,
    });
    expect(runBody('agent-1', summary)).toMatchObject({
      started_at: '2026-03-01T10:00:00.000Z',
      completed_at: '2026-03-01T10:01:00.000Z',
    });
  });

  it('spans steps that ran one after the other, the wait between them included', async () => {
    const unit = writeTmp(
      'step-unit.xml',
      '<testsuite name="unit" timestamp="2026-03-01T10:00:00Z" time="20"><testcase name="x"/></testsuite>',
    );
    const e2e = writeTmp(
      'step-e2e.xml',
      '<testsuite name="e2e" timestamp="2026-03-01T10:01:00Z" time="40"><testcase name="y"/></testsuite>',
    );
    expect(await parseJUnitFiles([unit, e2e])).toMatchObject({
      startedAt: '2026-03-01T10:00:00.000Z',
      completedAt: '2026-03-01T10:01:40.000Z',
      durationSeconds: 100,
    });
  });
});

describe('what report sends', () => {
  it('puts every result, the counts they make and --suite-id in the one POST /runs body', async () => {
    const summary = await parseJUnitFiles([fixture('surefire-rerun.xml')]);
    const body = runBody('agent-1', summary, 'Nightly', 'booking-regression');
    expect(body).toMatchObject({
      agent_id: 'agent-1',
      name: 'Nightly',
      test_suite_id: 'booking-regression',
      status: 'failed',
      passed_count: 3,
      failed_count: 1,
      error_count: 1,
      total_scenarios: 5,
      results: summary.results,
    });
    expect(body.results).toHaveLength(6);
    expect((body.failures as Failure[]).map((f) => [f.name, f.kind])).toEqual([
      ['failsEveryTime', 'failed'],
      ['throwsEveryTime', 'error'],
    ]);
    expect(runBody('agent-1', summary)).not.toHaveProperty('test_suite_id');
  });

  it('derives a key per request of a chunked run, hashing a key too long to take the suffix', () => {
    expect(partKey('build-42', 'results:3')).toBe('build-42:results:3');
    const long = 'k'.repeat(250);
    const key = partKey(long, 'complete');
    expect(key).toMatch(/^runhook-report-[0-9a-f]{64}:complete$/);
    expect(partKey(long, 'create')).toBe(key.replace(/:complete$/, ':create'));
    expect(partKey(`${long}x`, 'complete')).not.toBe(key);
  });
});
