/** Reads that several screens share. */
import { api } from './api';
import { withQuery } from './router';
import type { Agent, ListPage, Webhook } from './types';

type Page<K extends string, T> = ListPage & { [key in K]: T[] };

/** Walks a list endpoint 100 at a time until `stop` says enough or the list ends. */
export async function collectPages<K extends string, T>(
  path: string,
  itemsKey: K,
  signal: AbortSignal | undefined,
  options: {
    maxPages?: number;
    stop?: (page: T[]) => boolean;
    query?: Record<string, string | undefined>;
  } = {},
): Promise<T[]> {
  const all: T[] = [];
  const maxPages = options.maxPages ?? 20;
  for (let page = 0; page < maxPages; page++) {
    const url = withQuery(path, { ...options.query, limit: 100, offset: page * 100 });
    const answer = await api.get<Page<K, T>>(url, signal);
    const items = answer[itemsKey] ?? [];
    all.push(...items);
    if (items.length < 100 || all.length >= answer.total) break;
    if (options.stop?.(items)) break;
  }
  return all;
}

/** The organization-level webhook is the one without an agent; there is at most one. */
export async function findOrgWebhook(signal?: AbortSignal): Promise<Webhook | null> {
  const webhooks = await collectPages<'webhooks', Webhook>('/webhooks', 'webhooks', signal, {
    stop: (page) => page.some((w) => w.agent_id === null),
  });
  return webhooks.find((w) => w.agent_id === null) ?? null;
}

export async function findAgentWebhook(agentId: string, signal?: AbortSignal): Promise<Webhook | null> {
  const answer = await api.get<{ webhooks: Webhook[] }>(
    withQuery('/webhooks', { agent_id: agentId }),
    signal,
  );
  return answer.webhooks.find((w) => w.agent_id === agentId) ?? null;
}

export function listAllWebhooks(signal?: AbortSignal): Promise<Webhook[]> {
  return collectPages<'webhooks', Webhook>('/webhooks', 'webhooks', signal);
}

export function listAllAgents(signal?: AbortSignal): Promise<Agent[]> {
  return collectPages<'agents', Agent>('/agents', 'agents', signal);
}

/** A readable name for a webhook: "Organization webhook" or "Agent <name>". */
export function webhookLabel(webhook: Webhook | undefined, agents: Map<string, Agent>): string {
  if (!webhook) return 'Deleted webhook';
  if (webhook.agent_id === null) return 'Organization webhook';
  const agent = agents.get(webhook.agent_id);
  return agent ? `Agent: ${agent.name}` : 'Agent webhook';
}
