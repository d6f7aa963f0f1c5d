import { describe, expect, it } from 'vitest';
import { resolveWebhook } from '../../src/domain/scoping.js';

type W = { id: string; isEnabled: boolean };
const agentOn: W = { id: 'agent', isEnabled: true };
const agentOff: W = { id: 'agent', isEnabled: false };
const orgOn: W = { id: 'org', isEnabled: true };
const orgOff: W = { id: 'org', isEnabled: false };

describe('resolveWebhook', () => {
  it.each([
    ['agent enabled, org enabled', agentOn, orgOn, 'agent'],
    ['agent enabled, org disabled', agentOn, orgOff, 'agent'],
    ['agent enabled, no org', agentOn, null, 'agent'],
    ['agent disabled falls back to org', agentOff, orgOn, 'org'],
    ['agent disabled, org disabled', agentOff, orgOff, null],
    ['agent disabled, no org', agentOff, null, null],
    ['no agent, org enabled', null, orgOn, 'org'],
    ['no agent, org disabled', null, orgOff, null],
    ['none', null, null, null],
  ])('%s → %s', (_label, agent, org, expected) => {
    expect(resolveWebhook(agent, org)?.id ?? null).toBe(expected);
  });
});
