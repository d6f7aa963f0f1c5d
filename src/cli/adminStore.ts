/** What the admin commands (`orgs`, `keys`) share: a store opened for one command, and `--org` lookup. */
import { loadConfig } from '../config.js';
import type { Organization } from '../domain/types.js';
import { closeRuntime, openRuntime, type Runtime } from '../runtime.js';

/** Opens the database (migrating it), runs `fn`, closes it whatever happens. */
export async function withRuntime<T>(fn: (rt: Runtime) => Promise<T>): Promise<T> {
  const rt = await openRuntime(loadConfig());
  try {
    return await fn(rt);
  } finally {
    await closeRuntime(rt);
  }
}

/** `--org` takes an id or a name; names are not unique, so an ambiguous name asks for the id. */
export async function resolveOrganization(rt: Runtime, idOrName: string): Promise<Organization> {
  const found = await rt.store.findOrganizations(idOrName.trim());
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
