/**
 * The REST API's objects as the dashboard sees them: generated from the API's schemas into
 * ./apiTypes.ts, and named here by the parts the pages use. Only the dashboard's own lists (the
 * orders its filters offer) are written by hand.
 */
import type {
  AgentTest,
  Attempt,
  Delivery,
  RunChanges,
  ScenarioRun,
  TestHistory,
  TestRun,
  Webhook,
} from './apiTypes';

export { AGENT_PROVIDERS } from '../../src/domain/agentConfig';
export { RESULT_STATUSES } from '../../src/domain/results';
export type { WebhookEventType, WebhookFormat } from '../../src/domain/types';
export { DELIVERY_KINDS, WEBHOOK_FORMATS } from '../../src/domain/types';
export type {
  Agent,
  AgentTest,
  AgentValidation,
  ApiKey,
  Attempt,
  CreatedApiKey,
  CriterionResult,
  Delivery,
  DeliveryDetail,
  LiveAttempt,
  ResultSummary,
  RunChanges,
  RunhookEvent,
  RunResults,
  ScenarioRun,
  Score,
  TestFailure,
  TestHistory,
  TestRun,
  Webhook,
  WebhookFilter,
  WebhookStats,
  WebhookTestResult,
} from './apiTypes';
export { DELIVERY_STATUSES, RUN_STATUSES } from './apiTypes';

export const MAX_CUSTOM_HEADERS = 10;

export type RunStatus = TestRun['status'];
export type DeliveryStatus = Delivery['status'];
export type DeliveryKind = Delivery['kind'];
export type AttemptTrigger = Attempt['trigger'];
export type WebhookHealth = Webhook['health'];
export type DisabledReason = NonNullable<Webhook['disabled_reason']>;

/** The paging fields of every list answer. */
export type ListPage = Pick<TestHistory, 'total' | 'limit' | 'offset'>;

// ---- Scenario results and what changed (docs/api.md#scenario-results) ----

export type ResultStatus = ScenarioRun['status'];

/** How a result compares with the baseline run's. */
export type ResultChange = ScenarioRun['change'];
/** The order the results filter offers them in. */
export const RESULT_CHANGES: readonly ResultChange[] = [
  'new_failure',
  'fixed',
  'still_failing',
  'flaky',
  'new',
  'unchanged',
];

/** A test named in a run's changes. */
export type TestRef = Pick<RunChanges['fixed'][number], 'name' | 'suite'>;

export type TestState = AgentTest['state'];
/** The order the tests filter offers them in. */
export const TEST_STATES: readonly TestState[] = ['failing', 'flaky', 'passing'];
