import type { Command } from 'commander';
import { loadConfig } from '../config.js';
import { parseRecoverRange } from '../domain/recoverRange.js';
import { closeRuntime, openRuntime } from '../runtime.js';

/**
 * `runhook webhooks recover`: the operator's side of POST /api/v1/webhooks/{id}/recover, run on
 * the server against the database (like `orgs create`), for scripts after an incident. It needs no
 * API key and is not counted by the manual-send limit; the webhook must be enabled, as in the API.
 */
export function registerWebhookCommands(program: Command): void {
  const webhooks = program
    .command('webhooks')
    .description('operate on webhooks (on the server, against the database)');
  webhooks
    .command('recover <webhook-id>')
    .description(
      'resend every failed event delivery of the webhook created in [--since, --until) with its original webhook-id; prints {"webhook_id","count","dry_run"}',
    )
    .requiredOption('--since <time>', 'ISO-8601 time, e.g. 2026-12-02T08:00:00Z')
    .option('--until <time>', 'ISO-8601 time (default: now); at most a year after --since')
    .option('--dry-run', 'only count the deliveries that would be resent')
    .action(async (webhookId: string, opts: { since: string; until?: string; dryRun?: boolean }) => {
      const now = Date.now();
      const range = parseRecoverRange(opts.since, opts.until, now);
      if (!range.ok) throw new Error(`--${range.field}: ${range.message.replace(/^(since|until) /, '')}`);
      const rt = await openRuntime(loadConfig());
      try {
        const webhook = await rt.store.findWebhook(webhookId);
        if (!webhook) throw new Error(`no webhook with id ${webhookId}`);
        const dryRun = opts.dryRun === true;
        const result = await rt.store.recoverDeliveries(webhook.orgId, webhook.id, range, dryRun, now);
        if (result.kind === 'not_found') throw new Error(`no webhook with id ${webhookId}`);
        if (result.kind === 'disabled') {
          throw new Error(
            `webhook ${webhookId} is disabled (${webhook.disabledReason}); turn it back on before recovering its deliveries`,
          );
        }
        process.stdout.write(
          `${JSON.stringify({ webhook_id: webhook.id, count: result.count, dry_run: dryRun })}\n`,
        );
      } finally {
        await closeRuntime(rt);
      }
    });
}
