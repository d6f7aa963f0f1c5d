import type { Command } from 'commander';
import { toIso } from '../domain/time.js';
import { generateApiKey, newApiKeyRecord } from '../security/apiKeys.js';
import { printJsonLine, withStore } from './adminStore.js';

export function registerOrgsCommand(program: Command): void {
  const orgs = program.command('orgs').description('manage organizations');

  orgs
    .command('create')
    .description('create an organization and print {"org_id","api_key"} (the key is shown only here)')
    .requiredOption('--name <name>', 'organization name')
    .action(async (opts: { name: string }) => {
      const name = opts.name.trim();
      if (name.length === 0 || name.length > 200) throw new Error('--name must be 1 to 200 characters');
      await withStore(async (store) => {
        const apiKey = generateApiKey();
        const org = await store.createOrganization(
          name,
          newApiKeyRecord(apiKey, 'created by runhook orgs create', null),
          Date.now(),
        );
        printJsonLine({ org_id: org.id, api_key: apiKey });
      });
    });

  orgs
    .command('list')
    .description(
      'print every organization, one JSON object per line: {"id","name","created_at","active_keys"}',
    )
    .action(async () => {
      await withStore(async (store) => {
        for (const o of await store.listOrganizations(Date.now())) {
          printJsonLine({
            id: o.id,
            name: o.name,
            created_at: toIso(o.createdAt),
            active_keys: o.activeKeys,
          });
        }
      });
    });
}
