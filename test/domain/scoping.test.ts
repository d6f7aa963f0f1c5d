import { describe, expect, it } from 'vitest';
import { resolveWebhook } from '../../src/domain/scoping.js';
import type { DisabledReason } from '../../src/domain/types.js';

type W = { id: string; isEnabled: boolean; disabledReason: DisabledReason | null };
const on = (id: string): W => ({ id, isEnabled: true, disabledReason: null });
const off = (id: string, reason: DisabledReason): W => ({ id, isEnabled: false, disabledReason: reason });

describe('resolveWebhook', () => {
  it.each([
    ['agent enabled, org enabled', on('agent'), on('org'), 'send agent'],
    ['agent enabled, org off by hand', on('agent'), off('org', 'manual'), 'send agent'],
    ['agent enabled, org gone', on('agent'), off('org', 'gone'), 'send agent'],
    ['agent enabled, no org', on('agent'), null, 'send agent'],
    ['agent off by hand falls back to org', off('agent', 'manual'), on('org'), 'send org'],
    ['agent off by hand, org off by hand', off('agent', 'manual'), off('org', 'manual'), 'none'],
    ['agent off by hand, no org', off('agent', 'manual'), null, 'none'],
    ['agent gone: blocked, no fallback', off('agent', 'gone'), on('org'), 'blocked agent'],
    ['agent failing: blocked, no fallback', off('agent', 'failing'), on('org'), 'blocked agent'],
    ['agent failing, no org', off('agent', 'failing'), null, 'blocked agent'],
    ['agent off by hand, org failing', off('agent', 'manual'), off('org', 'failing'), 'blocked org'],
    ['no agent, org enabled', null, on('org'), 'send org'],
    ['no agent, org off by hand', null, off('org', 'manual'), 'none'],
    ['no agent, org gone', null, off('org', 'gone'), 'blocked org'],
    ['none', null, null, 'none'],
  ])('%s → %s', (_label, agent, org, expected) => {
    const route = resolveWebhook(agent, org);
    expect(route.kind === 'none' ? 'none' : `${route.kind} ${route.webhook.id}`).toBe(expected);
  });
});
