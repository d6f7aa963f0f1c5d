import { useState } from 'react';
import type { Webhook } from '../types';
import { TestWebhookPanel } from './TestWebhookPanel';
import { WebhookForm } from './WebhookForm';
import { WebhookHealthBanner } from './WebhookHealth';
import { WebhookStatusLine } from './WebhookStatusLine';

/** What a page keeps about the webhook it edits: the webhook as last answered, and the tests sent. */
export interface WebhookEditing {
  /** undefined while loading, null when there is none. */
  webhook: Webhook | null | undefined;
  /** Test Webhook sends so far, to refresh what shows deliveries. */
  tests: number;
  formKey: number;
  /** The API's answer replaces the first load; `reset` also starts the form over from it. */
  replace: (webhook: Webhook | null, reset: boolean) => void;
  tested: () => void;
}

/** `loaded`: the webhook as the page loaded it (undefined while loading). */
export function useWebhookEditing(loaded: Webhook | null | undefined): WebhookEditing {
  // After a save or delete the page trusts the API's answer over the first load.
  const [local, setLocal] = useState<{ webhook: Webhook | null } | null>(null);
  const [formKey, setFormKey] = useState(0);
  const [tests, setTests] = useState(0);
  return {
    webhook: local ? local.webhook : loaded,
    tests,
    formKey,
    replace: (webhook, reset) => {
      setLocal({ webhook });
      if (reset) setFormKey((k) => k + 1);
    },
    tested: () => setTests((n) => n + 1),
  };
}

/**
 * The organization's or an agent's own webhook, edited in place: its health and status, the form
 * (Save creates it when there is none) and the Test Webhook panel.
 */
export function WebhookEditor({
  editing,
  agentId,
  deleteLabel,
  emptyText,
  fallsBack,
}: {
  /** Nothing is shown while the webhook loads. */
  editing: WebhookEditing;
  /** null for the organization webhook. */
  agentId: string | null;
  deleteLabel: string;
  /** Shown instead of the status while there is no webhook. */
  emptyText: string;
  /** An agent webhook turned off by hand: its runs go to the organization webhook. */
  fallsBack?: boolean;
}) {
  const { webhook, replace } = editing;
  const [dirty, setDirty] = useState(false);
  if (webhook === undefined) return null;
  return (
    <>
      {webhook ? (
        <>
          <WebhookHealthBanner
            webhook={webhook}
            fallsBack={fallsBack}
            onChanged={(changed) => replace(changed, true)}
          />
          <WebhookStatusLine webhook={webhook} />
        </>
      ) : (
        <p className="muted">{emptyText}</p>
      )}
      <WebhookForm
        key={editing.formKey}
        webhook={webhook}
        agentId={agentId}
        idPrefix="webhook"
        deleteLabel={deleteLabel}
        onDirtyChange={setDirty}
        onSaved={(saved) => replace(saved, false)}
        onDeleted={() => replace(null, true)}
      />
      <TestWebhookPanel webhookId={webhook?.id ?? null} dirty={dirty} onTested={editing.tested} />
    </>
  );
}
