import type { FastifyInstance } from 'fastify';
import { parseRunId } from '../../domain/runMath.js';
import { InvalidStateError } from '../../store/store.js';
import type { AppDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { isUuid } from '../params.js';
import { presentRun } from '../present.js';
import { idParams, runSchema } from '../schemas.js';
import { suiteNameOf } from '../suiteNames.js';

/** PATCH /runs/{id}: what may change on a run that has not ended. Only its status, to `grading`. */
const updateRunBody = {
  type: 'object',
  additionalProperties: false,
  required: ['status'],
  properties: {
    status: {
      type: 'string',
      enum: ['grading'],
      description:
        'Every scenario has run and the results are being graded. Finish the run with /complete or /cancel.',
    },
  },
  examples: [{ status: 'grading' }],
} as const;

const runNotFound = () => new ApiError('RUN_NOT_FOUND', 'test run not found');

/**
 * A run's progress before it ends (docs/api.md#run-status): a pending or running run moves to
 * `grading`. No event is sent; it stays cancelable and can be completed.
 */
export function registerRunProgressRoutes(api: FastifyInstance, deps: AppDeps): void {
  const { store } = deps;
  const now = deps.now ?? Date.now;

  api.patch<{ Params: { id: string }; Body: { status: 'grading' } }>(
    '/runs/:id',
    {
      schema: {
        tags: ['test runs'],
        summary: 'Move a pending or running run to grading',
        params: idParams,
        body: updateRunBody,
        response: { 200: runSchema },
      },
    },
    async (req) => {
      const { id } = req.params;
      const seq = parseRunId(id);
      const run = isUuid(id)
        ? await store.getRun(req.orgId, id)
        : seq !== null
          ? await store.getRunBySeq(req.orgId, seq)
          : null;
      if (!run) throw runNotFound();
      try {
        const moved = await store.markRunGrading(req.orgId, run.id, now());
        if (!moved) throw runNotFound();
        return presentRun(moved, await suiteNameOf(store, req.orgId, moved));
      } catch (err) {
        if (err instanceof InvalidStateError) {
          const current = (await store.getRun(req.orgId, run.id))?.status ?? run.status;
          throw new ApiError('INVALID_STATE', `test run ${id} has already finished (${current})`, {
            current_status: current,
          });
        }
        throw err;
      }
    },
  );
}
