import { randomUUID } from 'node:crypto';
import type { TestSuite } from '../../domain/types.js';
import { ConflictError, type Page, type Paged, type TestSuiteInput } from '../store.js';
import { type Ctx, countAll, isUniqueViolation, readPage } from './context.js';
import { toTestSuite } from './mappers.js';

/** Test suites (docs/api.md#test-suites): named selections of scenario ids, unique by name per organization. */

const nameTaken = (name: string | undefined) =>
  new ConflictError(`a test suite named "${name}" already exists`);

export async function createTestSuite(
  { db }: Ctx,
  orgId: string,
  input: TestSuiteInput,
  now: number,
): Promise<TestSuite> {
  try {
    const row = await db
      .insertInto('test_suites')
      .values({
        id: randomUUID(),
        org_id: orgId,
        name: input.name,
        description: input.description,
        scenario_ids: JSON.stringify(input.scenarioIds),
        created_at: now,
        updated_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toTestSuite(row);
  } catch (err) {
    if (isUniqueViolation(err)) throw nameTaken(input.name);
    throw err;
  }
}

export async function listTestSuites({ db }: Ctx, orgId: string, page: Page): Promise<Paged<TestSuite>> {
  const base = db.selectFrom('test_suites').where('org_id', '=', orgId);
  return readPage(
    base.selectAll().orderBy('created_at', 'desc').orderBy('id').limit(page.limit).offset(page.offset),
    base.select(countAll),
    toTestSuite,
  );
}

export async function getTestSuite({ db }: Ctx, orgId: string, id: string): Promise<TestSuite | null> {
  const row = await db
    .selectFrom('test_suites')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .executeTakeFirst();
  return row ? toTestSuite(row) : null;
}

export async function updateTestSuite(
  { db }: Ctx,
  orgId: string,
  id: string,
  patch: Partial<TestSuiteInput>,
  now: number,
): Promise<TestSuite | null> {
  try {
    const row = await db
      .updateTable('test_suites')
      .set({
        ...(patch.name !== undefined && { name: patch.name }),
        ...(patch.description !== undefined && { description: patch.description }),
        ...(patch.scenarioIds !== undefined && { scenario_ids: JSON.stringify(patch.scenarioIds) }),
        updated_at: now,
      })
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    return row ? toTestSuite(row) : null;
  } catch (err) {
    if (isUniqueViolation(err)) throw nameTaken(patch.name);
    throw err;
  }
}

export async function deleteTestSuite({ db }: Ctx, orgId: string, id: string): Promise<boolean> {
  const res = await db
    .deleteFrom('test_suites')
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}

export async function testSuiteNames(
  { db }: Ctx,
  orgId: string,
  ids: readonly string[],
): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .selectFrom('test_suites')
    .select(['id', 'name'])
    .where('org_id', '=', orgId)
    .where('id', 'in', [...new Set(ids)])
    .execute();
  return new Map(rows.map((r) => [r.id, r.name]));
}
