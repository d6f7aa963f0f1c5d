/** On SQLite the data folder is created 0700 and every database file is 0600 (docs/operations.md). */
import { chmodSync, existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { bootstrapOrganization, closeRuntime, openRuntime } from '../../src/runtime.js';

const mode = (path: string) => statSync(path).mode & 0o777;

describe('file modes (SQLite)', () => {
  it('a new data folder is 0700; the database, its -wal and -shm, and secret.key are 0600', async () => {
    const root = mkdtempSync(join(tmpdir(), 'runhook-modes-'));
    const dir = join(root, 'nested', 'data');
    const db = join(dir, 'runhook.db');
    const previous = process.umask(0o022); // the usual umask, which would make files 0644
    try {
      const rt = await openRuntime(
        loadConfig({ RUNHOOK_DATABASE_URL: `sqlite:${db}`, RUNHOOK_LOG_LEVEL: 'silent' }),
      );
      try {
        expect(await bootstrapOrganization(rt)).not.toBeNull(); // writes, so the WAL exists
        expect(mode(join(root, 'nested'))).toBe(0o700);
        expect(mode(dir)).toBe(0o700);
        expect(existsSync(`${db}-wal`)).toBe(true);
        expect(existsSync(`${db}-shm`)).toBe(true);
        for (const f of [db, `${db}-wal`, `${db}-shm`, join(dir, 'secret.key')]) {
          expect({ file: f, mode: mode(f).toString(8) }).toEqual({ file: f, mode: '600' });
        }
      } finally {
        await closeRuntime(rt);
      }
    } finally {
      process.umask(previous);
    }
  });

  it('database files an older version left readable by others are tightened at start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'runhook-modes-'));
    const db = join(dir, 'runhook.db');
    const first = await openRuntime(
      loadConfig({ RUNHOOK_DATABASE_URL: `sqlite:${db}`, RUNHOOK_LOG_LEVEL: 'silent' }),
    );
    await closeRuntime(first);
    chmodSync(db, 0o644);
    writeFileSync(`${db}-journal`, '');
    chmodSync(`${db}-journal`, 0o666);
    chmodSync(dir, 0o755);
    const again = await openRuntime(
      loadConfig({ RUNHOOK_DATABASE_URL: `sqlite:${db}`, RUNHOOK_LOG_LEVEL: 'silent' }),
    );
    await closeRuntime(again);
    expect(mode(db)).toBe(0o600);
    expect(mode(`${db}-journal`)).toBe(0o600);
    // An existing folder is the operator's: left as it was.
    expect(mode(dir)).toBe(0o755);
  });
});
