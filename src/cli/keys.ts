import type { Command } from 'commander';
import { toIso } from '../domain/time.js';
import { generateApiKey, newApiKeyRecord } from '../security/apiKeys.js';
import { MAX_ACTIVE_API_KEYS } from '../store/store.js';
import { printJsonLine, resolveOrganization, withStore } from './adminStore.js';

const iso = (ms: number | null) => (ms === null ? null : toIso(ms));

/**
 * API keys from the server's side: the way back in when an organization has lost every key.
 * Unlike the API, `revoke` may remove an organization's last key (the operator can always create
 * another here); it says so on stderr.
 */
export function registerKeysCommand(program: Command): void {
  const keys = program.command('keys').description("manage organizations' API keys (access recovery)");

  keys
    .command('create')
    .description(
      'create an API key for an organization and print {"id","api_key"} (the key is shown only here)',
    )
    .requiredOption('--org <id or name>', 'the organization')
    .option('--name <name>', 'a name for the key', 'created by runhook keys create')
    .action(async (opts: { org: string; name: string }) => {
      const name = opts.name.trim();
      if (name.length === 0 || name.length > 200) throw new Error('--name must be 1 to 200 characters');
      await withStore(async (store) => {
        const org = await resolveOrganization(store, opts.org);
        const apiKey = generateApiKey();
        const outcome = await store.createApiKey(org.id, newApiKeyRecord(apiKey, name, null), Date.now());
        if (outcome.kind === 'too_many_keys') {
          throw new Error(
            `organization ${org.id} already has ${MAX_ACTIVE_API_KEYS} active API keys; revoke one first with \`runhook keys revoke <key id>\``,
          );
        }
        printJsonLine({ id: outcome.key.id, api_key: apiKey });
      });
    });

  keys
    .command('list')
    .description(
      "print an organization's API keys (revoked ones too), one JSON object per line, newest first",
    )
    .requiredOption('--org <id or name>', 'the organization')
    .action(async (opts: { org: string }) => {
      await withStore(async (store) => {
        const org = await resolveOrganization(store, opts.org);
        const now = Date.now();
        for (const k of await store.listAllApiKeys(org.id)) {
          printJsonLine({
            id: k.id,
            name: k.name,
            prefix: k.prefix,
            active: k.revokedAt === null && (k.expiresAt === null || k.expiresAt > now),
            created_at: toIso(k.createdAt),
            expires_at: iso(k.expiresAt),
            last_used_at: iso(k.lastUsedAt),
            revoked_at: iso(k.revokedAt),
          });
        }
      });
    });

  keys
    .command('revoke')
    .description(
      'revoke an API key by its id (it stops working at once) and print {"id","org_id","revoked_at"}',
    )
    .argument('<key id>', 'the key id, as `runhook keys list` shows it')
    .action(async (id: string) => {
      await withStore(async (store) => {
        const now = Date.now();
        const outcome = await store.revokeApiKey({
          id: id.trim(),
          orgId: null,
          now,
          keepLastActiveKey: false,
        });
        if (outcome.kind !== 'revoked') throw new Error(`no active API key has the id "${id}"`);
        printJsonLine({ id: outcome.key.id, org_id: outcome.key.orgId, revoked_at: toIso(now) });
        const left = (await store.listOrganizations(now)).find((o) => o.id === outcome.key.orgId);
        if (left && left.activeKeys === 0) {
          process.stderr.write(
            `runhook: organization ${left.id} ("${left.name}") has no active API key left; create one with \`runhook keys create --org ${left.id}\`\n`,
          );
        }
      });
    });
}
