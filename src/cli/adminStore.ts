/** What the admin commands (`orgs`, `keys`) share: a store opened for one command, and `--org` lookup. */
import { loadConfig } from '../config.js';
import { openMigratedStore } from '../database.js';
import type { Organization } from '../domain/types.js';
import type { Store } from '../store/store.js';

/**
 * Opens the database (migrating it), runs `fn`, closes it whatever happens. Only the store: these
 * commands send nothing and log nothing, so they load neither the send pipeline nor the logger.
 */
export async function withStore<T>(fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openMigratedStore(loadConfig());
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** `--org` takes an id or a name; names are not unique, so an ambiguous name asks for the id. */
export async function resolveOrganization(store: Store, idOrName: string): Promise<Organization> {
  const found = await store.findOrganizations(idOrName.trim());
  const exact = found.find((o) => o.id === idOrName.trim());
  if (exact) return exact;
  if (found.length === 0) {
    throw new Error(`no organization has the id or name "${idOrName}" (see \`runhook orgs list\`)`);
  }
  if (found.length > 1) {
    throw new Error(
      `${found.length} organizations are named "${idOrName}"; pass the id instead (see \`runhook orgs list\`)`,
    );
  }
  return found[0]!;
}

/** One JSON object per line: easy to read, to grep and to feed to `jq`. */
export function printJsonLine(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}
