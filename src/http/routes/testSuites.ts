import type { FastifyInstance } from 'fastify';
import { ConflictError } from '../../store/store.js';
import type { AppDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { isUuid, pageOf } from '../params.js';
import { presentTestSuite } from '../present.js';
import { idempotencyHeaders, idParams, listQuery, listResponse } from '../schemas.js';
import {
  createTestSuiteBody,
  testSuiteSchema,
  testSuiteSummarySchema,
  updateTestSuiteBody,
} from '../testSuiteSchemas.js';

interface SuiteBody {
  name?: string;
  description?: string | null;
  scenario_ids?: string[];
  /** Read-only; accepted on PUT/PATCH and ignored. */
  scenario_count?: number;
}

const suiteNotFound = () => new ApiError('NOT_FOUND', 'test suite not found');
const nameTaken = (err: ConflictError) => new ApiError('ALREADY_EXISTS', err.message, { field: 'name' });

/** The answer of POST and the list: a suite without its scenario ids (docs/api.md#test-suites). */
function summary(suite: ReturnType<typeof presentTestSuite>) {
  const { scenario_ids: _ids, updated_at: _updated, ...rest } = suite;
  return rest;
}

/** Test suites: named selections of scenario ids that runs refer to by `test_suite_id`. */
export function registerTestSuiteRoutes(api: FastifyInstance, deps: AppDeps): void {
  const { store } = deps;
  const now = deps.now ?? Date.now;
  const tags = ['test suites'];

  api.post<{ Body: SuiteBody }>(
    '/test-suites',
    {
      config: { idempotent: true },
      schema: {
        headers: idempotencyHeaders,
        tags,
        summary: 'Create a test suite',
        body: createTestSuiteBody,
        response: { 201: testSuiteSummarySchema },
      },
    },
    async (req, reply) => {
      const b = req.body;
      try {
        const suite = await store.createTestSuite(
          req.orgId,
          { name: b.name!, description: b.description ?? '', scenarioIds: b.scenario_ids! },
          now(),
        );
        return reply.code(201).send(summary(presentTestSuite(suite)));
      } catch (err) {
        if (err instanceof ConflictError) throw nameTaken(err);
        throw err;
      }
    },
  );

  api.get<{ Querystring: { limit?: number; offset?: number } }>(
    '/test-suites',
    {
      schema: {
        tags,
        summary: 'List test suites, newest first',
        querystring: listQuery(),
        response: { 200: listResponse('test_suites', testSuiteSummarySchema) },
      },
    },
    async (req) => {
      const page = pageOf(req.query);
      const { items, total } = await store.listTestSuites(req.orgId, page);
      return { test_suites: items.map((s) => summary(presentTestSuite(s))), total, ...page };
    },
  );

  api.get<{ Params: { id: string } }>(
    '/test-suites/:id',
    {
      schema: {
        tags,
        summary: 'Get a test suite with its scenario ids',
        params: idParams,
        response: { 200: testSuiteSchema },
      },
    },
    async (req) => {
      const suite = isUuid(req.params.id) ? await store.getTestSuite(req.orgId, req.params.id) : null;
      if (!suite) throw suiteNotFound();
      return presentTestSuite(suite);
    },
  );

  const update = async (req: { orgId: string; params: { id: string }; body: SuiteBody }) => {
    const b = req.body;
    if (b.name === undefined && b.description === undefined && b.scenario_ids === undefined) {
      throw new ApiError('MISSING_REQUIRED_FIELD', 'give at least one of name, description, scenario_ids', {
        fields: ['name', 'description', 'scenario_ids'],
      });
    }
    if (!isUuid(req.params.id)) throw suiteNotFound();
    try {
      const suite = await store.updateTestSuite(
        req.orgId,
        req.params.id,
        {
          name: b.name,
          description: b.description === null ? '' : b.description,
          scenarioIds: b.scenario_ids,
        },
        now(),
      );
      if (!suite) throw suiteNotFound();
      return presentTestSuite(suite);
    } catch (err) {
      if (err instanceof ConflictError) throw nameTaken(err);
      throw err;
    }
  };
  const updateSchema = {
    tags,
    summary: 'Update a test suite (at least one field)',
    params: idParams,
    body: updateTestSuiteBody,
    response: { 200: testSuiteSchema },
  };
  api.put<{ Params: { id: string }; Body: SuiteBody }>('/test-suites/:id', { schema: updateSchema }, update);
  api.patch<{ Params: { id: string }; Body: SuiteBody }>(
    '/test-suites/:id',
    { schema: updateSchema },
    update,
  );

  api.delete<{ Params: { id: string } }>(
    '/test-suites/:id',
    { schema: { tags, summary: 'Delete a test suite', params: idParams } },
    async (req, reply) => {
      const deleted = isUuid(req.params.id) && (await store.deleteTestSuite(req.orgId, req.params.id));
      if (!deleted) throw suiteNotFound();
      return reply.code(204).send();
    },
  );
}
