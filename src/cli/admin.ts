import type { Command } from 'commander';
import { loadConfig } from '../config.js';
import { closeRuntime, openRuntime } from '../runtime.js';
import { generateApiKey, newApiKeyRecord } from '../security/apiKeys.js';

export function registerAdminCommands(program: Command): void {
  program
    .command('migrate')
    .description('apply database migrations and exit')
    .action(async () => {
      const rt = await openRuntime(loadConfig());
      await closeRuntime(rt);
      process.stdout.write(`migrations applied (${rt.config.database.kind})\n`);
    });

  const orgs = program.command('orgs').description('manage organizations');
  orgs
    .command('create')
    .description('create an organization and print {"org_id","api_key"} (the key is shown only here)')
    .requiredOption('--name <name>', 'organization name')
    .action(async (opts: { name: string }) => {
      const name = opts.name.trim();
      if (name.length === 0 || name.length > 200) throw new Error('--name must be 1 to 200 characters');
      const rt = await openRuntime(loadConfig());
      try {
        const apiKey = generateApiKey();
        const org = await rt.store.createOrganization(
          name,
          newApiKeyRecord(apiKey, 'created by runhook orgs create', null),
          Date.now(),
        );
        process.stdout.write(`${JSON.stringify({ org_id: org.id, api_key: apiKey })}\n`);
      } finally {
        await closeRuntime(rt);
      }
    });
}
