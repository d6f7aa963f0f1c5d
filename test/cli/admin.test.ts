/**
 * Access recovery from the server's side (docs/operations.md): `orgs list`, `keys create|list|revoke`,
 * the first organization created only once the port is bound, and the API refusing to revoke an
 * organization's last active key. Real `runhook` processes on both backends.
 */
import { createServer, type Server } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseDatabaseUrl } from '../../src/config.js';
import { generateApiKey, newApiKeyRecord } from '../../src/security/apiKeys.js';
import { openStore } from '../../src/store/openStore.js';
import { MAX_ACTIVE_API_KEYS } from '../../src/store/store.js';
import { type Backend, backends, type TestDatabase } from '../helpers/backends.js';
import { ensureBuilt, runCli, type Spawned } from '../helpers/cli.js';

const KEY = /sk_live_[A-Za-z0-9]{40}/;

async function occupyPort(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return { server, port: address.port };
}

for (const backend of backends) {
  describe(`admin CLI (real processes, ${backend.name})`, () => {
    const children: Spawned[] = [];
    let db: TestDatabase;
    let env: Record<string, string>;

    beforeAll(async () => {
      ensureBuilt();
      db = await createDb(backend);
      env = {
        RUNHOOK_DATABASE_URL: db.url,
        RUNHOOK_SECRET_KEY: 'admin-cli-test-secret-key-0123456789abcdef',
        RUNHOOK_LOG_LEVEL: 'warn',
      };
    }, 120_000);
    afterEach(() => {
      for (const c of children.splice(0)) c.child.kill('SIGKILL');
    });
    afterAll(async () => {
      await db?.drop();
    });

    /** Runs a command to its end; returns its exit code, stdout+stderr and the JSON lines it printed. */
    async function cli(args: string[], extra: Record<string, string> = {}) {
      const p = runCli(args, { ...env, ...extra });
      children.push(p);
      const code = await p.exited;
      const out = p.output();
      const json = out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      return { code, out, json };
    }

    it('recovers access end to end: first start after a port clash, last-key 409, keys create/list/revoke, orgs list', async () => {
      // 1. The port is taken on the very first start: startup fails and creates nothing.
      const taken = await occupyPort();
      try {
        const failed = await cli(['serve'], { RUNHOOK_PORT: String(taken.port) });
        expect(failed.code).not.toBe(0);
        expect(failed.out).not.toMatch(KEY);
      } finally {
        taken.server.close();
      }
      const none = await cli(['orgs', 'list']);
      expect(none.code).toBe(0);
      expect(none.json).toEqual([]);

      // 2. The next start binds, then creates the organization and prints its key.
      const serve = runCli(['serve'], { ...env, RUNHOOK_PORT: '0' });
      children.push(serve);
      const started = await serve.waitForOutput(KEY, 20_000);
      const firstKey = KEY.exec(started)?.[0] as string;
      const port = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(started)?.[1];
      const base = `http://127.0.0.1:${port}/api/v1`;
      const call = async (method: string, path: string, key: string) => {
        const res = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${key}` } });
        const text = await res.text();
        return { status: res.status, body: text ? (JSON.parse(text) as any) : undefined };
      };
      expect((await call('GET', '/agents', firstKey)).status).toBe(200);

      // 3. Through the API, the organization's last active key cannot be revoked.
      const keys = await call('GET', '/api-keys', firstKey);
      expect(keys.body.api_keys).toHaveLength(1);
      const firstId = keys.body.api_keys[0].id as string;
      const refused = await call('DELETE', `/api-keys/${firstId}`, firstKey);
      expect(refused.status).toBe(409);
      expect(refused.body.code).toBe('INVALID_STATE');
      expect((await call('GET', '/agents', firstKey)).status).toBe(200);

      // 4. orgs list: one JSON object per line.
      const listed = await cli(['orgs', 'list']);
      expect(listed.code).toBe(0);
      expect(listed.json).toHaveLength(1);
      const org = listed.json[0] as { id: string; name: string; created_at: string; active_keys: number };
      expect(Object.keys(org)).toEqual(['id', 'name', 'created_at', 'active_keys']);
      expect(org.name).toBe('default');
      expect(org.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
      expect(org.active_keys).toBe(1);

      // 5. keys create by name and by id: each prints {"id","api_key"} and the key works at once.
      const [byName, byId] = await Promise.all([
        cli(['keys', 'create', '--org', 'default', '--name', 'recovered']),
        cli(['keys', 'create', '--org', org.id]),
      ]);
      expect(byName.code).toBe(0);
      expect(Object.keys(byName.json[0]!)).toEqual(['id', 'api_key']);
      const secondKey = byName.json[0]!.api_key as string;
      expect(secondKey).toMatch(KEY);
      expect((await call('GET', '/agents', secondKey)).status).toBe(200);
      expect(byId.code).toBe(0);
      const thirdId = byId.json[0]!.id as string;
      expect((await cli(['orgs', 'list'])).json[0]!.active_keys).toBe(3);

      // With another active key, the API may revoke the first one.
      expect((await call('DELETE', `/api-keys/${firstId}`, secondKey)).status).toBe(204);
      expect((await call('GET', '/agents', firstKey)).status).toBe(401);

      // 6. keys list shows every key, revoked ones too, and never a key's value.
      const list = await cli(['keys', 'list', '--org', org.id]);
      expect(list.code).toBe(0);
      expect(list.json).toHaveLength(3);
      expect(list.out).not.toContain(secondKey);
      const first = list.json.find((k) => k.id === firstId)!;
      expect(first.active).toBe(false);
      expect(first.revoked_at).toMatch(/Z$/);
      expect(list.json.filter((k) => k.active).map((k) => k.name)).toEqual(
        expect.arrayContaining(['recovered', 'created by runhook keys create']),
      );

      // 7. keys revoke: the key stops working at once; revoking the last one warns on stderr.
      const revoked = await cli(['keys', 'revoke', thirdId]);
      expect(revoked.code).toBe(0);
      expect(revoked.json[0]).toMatchObject({ id: thirdId, org_id: org.id });
      const secondId = (await cli(['keys', 'list', '--org', 'default'])).json.find((k) => k.active)!
        .id as string;
      const last = await cli(['keys', 'revoke', secondId]);
      expect(last.code).toBe(0);
      expect(last.out).toContain('has no active API key left');
      expect((await call('GET', '/agents', secondKey)).status).toBe(401);
      expect((await cli(['orgs', 'list'])).json[0]!.active_keys).toBe(0);

      // ... and the CLI is the way back in.
      const back = await cli(['keys', 'create', '--org', 'default']);
      expect((await call('GET', '/agents', back.json[0]!.api_key as string)).status).toBe(200);
    }, 90_000);

    it('refuses what it cannot do, naming the problem', async () => {
      // Independent refusals, each its own process: run side by side.
      const unknownOrg = async () => {
        const res = await cli(['keys', 'create', '--org', 'no-such-org']);
        expect(res.code).not.toBe(0);
        expect(res.out).toContain('no organization has the id or name "no-such-org"');
      };
      // Organization names are not unique: an ambiguous name asks for the id.
      const ambiguousName = async () => {
        await Promise.all([
          cli(['orgs', 'create', '--name', 'twin']),
          cli(['orgs', 'create', '--name', 'twin']),
        ]);
        const ambiguous = await cli(['keys', 'list', '--org', 'twin']);
        expect(ambiguous.code).not.toBe(0);
        expect(ambiguous.out).toContain('2 organizations are named "twin"; pass the id');
      };
      const unknownKey = async () => {
        const res = await cli(['keys', 'revoke', '00000000-0000-4000-8000-000000000000']);
        expect(res.code).not.toBe(0);
        expect(res.out).toContain('no active API key has the id');
      };
      // An organization holds at most 100 active keys: `keys create` refuses the 101st too.
      const fullOrg = async () => {
        const crowded = (await cli(['orgs', 'create', '--name', 'crowded'])).json[0]!.org_id as string;
        const store = await openStore(parseDatabaseUrl(db.url));
        try {
          for (let i = 1; i < MAX_ACTIVE_API_KEYS; i++) {
            const made = await store.createApiKey(
              crowded,
              newApiKeyRecord(generateApiKey(), `k${i}`, null),
              Date.now(),
            );
            expect(made.kind).toBe('created');
          }
        } finally {
          await store.close();
        }
        const full = await cli(['keys', 'create', '--org', crowded]);
        expect(full.code).not.toBe(0);
        expect(full.out).toContain('already has 100 active API keys');
        expect(full.out).not.toMatch(KEY);
      };
      const noOrg = async () => {
        const res = await cli(['keys', 'create']);
        expect(res.code).not.toBe(0);
        expect(res.out).toContain('--org');
      };
      await Promise.all([unknownOrg(), ambiguousName(), unknownKey(), fullOrg(), noOrg()]);
    }, 60_000);
  });
}

async function createDb(backend: Backend): Promise<TestDatabase> {
  return backend.create();
}
