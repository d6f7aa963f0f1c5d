/**
 * Runhook receiver SDK: verify that a webhook delivery really comes from your Runhook server.
 * Depends on nothing but `node:crypto`.
 *
 * @example
 * import { verifyWebhook } from '@runhook/sdk'; // or 'runhook/sdk' from the server package
 * const event = verifyWebhook(rawBody, req.headers, process.env.RUNHOOK_WEBHOOK_SECRET!);
 */
export {
  signClixSignature,
  signRunhookSignature,
  verifyClixSignature,
  verifyRunhookSignature,
} from './signatures.js';
export { signingKey } from './signingKey.js';
export {
  signStandardWebhook,
  type VerifyOptions,
  verifyWebhook,
  type WebhookHeaders,
  WebhookVerificationError,
} from './standardWebhooks.js';
export type {
  AnyRunhookEvent,
  ClixPayload,
  RunhookEvent,
  TestEvent,
  TestFailure,
  TestRunCompletedEvent,
  TestRunGroupCompletedEvent,
  TestRunStartedEvent,
  TestRunSummary,
  TestStatusChangedEvent,
  WebhookDisabledEvent,
  WebhookRecoveredEvent,
} from './types.js';
