import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseJUnitFiles } from '../../src/cli/report.js';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/junit/${name}`, import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'runhook-junit-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function writeTmp(name: string, xml: string): string {
  const path = join(tmp, name);
  writeFileSync(path, xml);
  return path;
}

/** A zone-less JUnit timestamp is local time; this is what it becomes in UTC here. */
const localToUtc = (local: string) => `${new Date(local).toISOString().slice(0, 19)}Z`;

describe('parseJUnitFiles on files written by real runners', () => {
  it.each([
    [
      'node-test.xml',
      { passed: 4, failed: 2, errored: 0, skipped: 3, total: 9, name: null, startedAt: null },
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
        startedAt: '2026-11-23T09:40:46Z',
      },
    ],
    [
      'pytest.xml',
      {
        passed: 3,
        failed: 1,
        errored: 1,
        skipped: 2,
        total: 7,
        name: 'triage',
        startedAt: '2026-11-23T09:40:55Z',
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
        startedAt: localToUtc('2026-01-30T10:29:30'),
      },
    ],
  ])('%s', async (file, expected) => {
    expect(await parseJUnitFiles([fixture(file)])).toEqual(expected);
  });

  it('adds up several files, takes the earliest timestamp, and names the run after the root', async () => {
    const files = ['node-test.xml', 'vitest.xml', 'pytest.xml', 'jenkins-style.xml'].map(fixture);
    expect(await parseJUnitFiles(files)).toEqual({
      passed: 15,
      failed: 6,
      errored: 3,
      skipped: 9,
      total: 33,
      name: 'vitest tests',
      startedAt: localToUtc('2026-01-30T10:29:30'),
    });
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
    expect(await parseJUnitFiles([path])).toMatchObject({ startedAt: null, passed: 1 });
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
