/**
 * The chat renderings (`slack`, `discord`, `teams`; docs/payloads.md) of the event types beside
 * `test_run_completed`: each payload becomes one card (a heading, a few facts, a link), and the
 * card becomes each service's message, within the shapes and limits the finished-run messages
 * keep. Names are tenant text: escaped for each service as the finished-run messages escape them.
 * `clix` carries none of these types (src/domain/validateWebhook.ts#CLIX_EVENT_TYPES).
 */
import {
  DISCORD_LIMITS,
  discordEscape,
  escapeTeamsText,
  oneLine,
  slackEscape,
  TEST_PREFIX,
  teamsCard,
} from './chatMessages.js';
import type { OtherEventPayload } from './eventPayloads.js';
import { cutText } from './failures.js';
import type { WebhookFormat } from './types.js';

type Tone = 'good' | 'bad' | 'neutral';
interface Card {
  emoji: string;
  heading: string;
  facts: Array<[string, string]>;
  url: string;
  /** The link's label. */
  action: string;
  tone: Tone;
  timestamp: string;
}

/** What a card says, before any escaping: `clean` is applied to tenant text only. */
function cardOf(p: OtherEventPayload, clean: (text: string) => string): Card {
  const prefix = p.is_test ? TEST_PREFIX : '';
  switch (p.event) {
    case 'test_run_started': {
      const run = p.test_run;
      const name = clean(cutText(run.name === '' ? run.test_run_id : run.name, 200));
      return {
        emoji: '▶️',
        heading: `${prefix}${name} started`,
        facts: [
          ['Run', run.test_run_id],
          ['Agent', clean(cutText(run.agent_name, 200))],
          ...(run.total_scenarios === null
            ? []
            : [['Scenarios', String(run.total_scenarios)] as [string, string]]),
        ],
        url: p.results_url,
        action: 'View run',
        tone: 'neutral',
        timestamp: p.timestamp,
      };
    }
    case 'test_status_changed': {
      const t = p.test;
      const words = { failing: 'is now failing', flaky: 'is now flaky', passing: 'is passing again' }[
        t.state
      ];
      return {
        emoji: t.state === 'passing' ? '✅' : t.state === 'flaky' ? '⚠️' : '❌',
        heading: `${prefix}${clean(cutText(t.name, 200))} ${words}`,
        facts: [
          ...(t.suite === null ? [] : [['Suite', clean(cutText(t.suite, 200))] as [string, string]]),
          ['Agent', clean(cutText(t.agent_name, 200))],
          ['Was', t.previous_state],
          ['Run', p.test_run.test_run_id],
          ...(t.message === null ? [] : [['Message', clean(cutText(t.message, 300))] as [string, string]]),
        ],
        url: p.results_url,
        action: 'View run',
        tone: t.state === 'passing' ? 'good' : 'bad',
        timestamp: p.timestamp,
      };
    }
    case 'webhook_disabled':
    case 'webhook_recovered': {
      const w = p.webhook;
      const label = clean(cutText(w.description ?? w.host, 200));
      const disabled = p.event === 'webhook_disabled';
      return {
        emoji: disabled ? '🚫' : '✅',
        heading: `${prefix}Webhook ${label} ${disabled ? 'was disabled' : 'is back on'}`,
        facts: [
          ['Host', clean(w.host)],
          ['Reason', p.reason],
          ['Consecutive failures', String(p.consecutive_failures)],
        ],
        url: p.dashboard_url,
        action: 'View webhook',
        tone: disabled ? 'bad' : 'good',
        timestamp: p.timestamp,
      };
    }
  }
}

// The colours the finished-run messages use (the schema lists them): green, red, grey.
const DISCORD_TONES: Record<Tone, number> = { good: 0x57f287, bad: 0xed4245, neutral: 0x95a5a6 };
const TEAMS_TONES: Record<Tone, string> = { good: 'good', bad: 'attention', neutral: 'default' };

function slackBody(p: OtherEventPayload): unknown {
  const c = cardOf(p, slackEscape);
  const facts = c.facts.map(([k, v]) => `*${k}:* ${v}`);
  return {
    text: `${c.emoji} ${c.heading} · ${c.facts.map(([k, v]) => `${k.toLowerCase()} ${v}`).join(' · ')}`,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: [`${c.emoji} *${c.heading}*`, ...facts].join('\n') } },
      {
        type: 'actions',
        elements: [{ type: 'button', text: { type: 'plain_text', text: c.action }, url: c.url }],
      },
    ],
  };
}

function discordBody(p: OtherEventPayload): unknown {
  const c = cardOf(p, discordEscape);
  const title = cutText(`${c.emoji} ${c.heading}`, DISCORD_LIMITS.title);
  return {
    content: cutText(`${c.emoji} ${c.heading}`, DISCORD_LIMITS.content),
    embeds: [
      {
        title,
        url: c.url,
        description: c.action,
        color: DISCORD_TONES[c.tone],
        fields: c.facts.slice(0, DISCORD_LIMITS.fields).map(([name, value]) => ({
          name,
          value: cutText(value === '' ? '-' : value, DISCORD_LIMITS.fieldValue),
          inline: true,
        })),
        timestamp: c.timestamp,
        footer: { text: 'Runhook' },
      },
    ],
    allowed_mentions: { parse: [] },
  };
}

function teamsBody(p: OtherEventPayload): unknown {
  const c = cardOf(p, escapeTeamsText);
  const plain = cardOf(p, (t) => oneLine(t));
  return teamsCard(
    `${plain.emoji} ${plain.heading}: ${c.url}`,
    [
      {
        type: 'TextBlock',
        text: `${c.emoji} ${c.heading}`,
        size: 'medium',
        weight: 'bolder',
        color: TEAMS_TONES[c.tone],
        wrap: true,
      },
      { type: 'FactSet', facts: c.facts.map(([title, value]) => ({ title, value })) },
    ],
    c.url,
  );
}

/** The body of one of these events in a chat format; null for `clix`, which cannot carry it. */
export function otherEventBody(format: WebhookFormat, payload: OtherEventPayload): string | null {
  switch (format) {
    case 'standard':
      return JSON.stringify(payload);
    case 'slack':
      return JSON.stringify(slackBody(payload));
    case 'discord':
      return JSON.stringify(discordBody(payload));
    case 'teams':
      return JSON.stringify(teamsBody(payload));
    case 'clix':
      return null;
  }
}
