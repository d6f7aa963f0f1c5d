/**
 * The `discord` and `teams` formats (docs/payloads.md): a finished run as a Discord webhook
 * message and as a Microsoft Teams workflow message carrying an Adaptive Card 1.4. Both are built
 * from the `standard` payload and kept inside the limits each service documents, whatever the
 * length of the names and messages they carry.
 */
import { escapeSlackText } from './alertPayload.js';
import { changeSummary } from './changes.js';
import { cutText } from './failures.js';
import type { PayloadGroup, TestRunGroupCompletedEvent } from './payloadSchemas.js';
import type { StandardPayload, StandardPayloadTestRun } from './payloads.js';
import { groupLink } from './runGroups.js';
import { failingCount, type OutcomeKind, runOutcome } from './runOutcome.js';

/** Discord's documented limits for a webhook message and its embeds. */
export const DISCORD_LIMITS = {
  content: 2000,
  title: 256,
  description: 4096,
  fields: 10,
  fieldName: 256,
  fieldValue: 1024,
  footer: 2048,
  /** All the text of one embed together. */
  embedTotal: 6000,
} as const;

/** Embed colours by outcome: green, red, grey. */
export const DISCORD_COLORS: Record<OutcomeKind, number> = {
  passed: 0x57f287,
  failed: 0xed4245,
  errors: 0xed4245,
  canceled: 0x95a5a6,
};

/** Failing tests a Discord or Teams message lists; the rest are counted. */
const CHAT_FAILURES = 10;
/** What a Test Webhook send's chat message opens with. */
export const TEST_PREFIX = '[Test webhook from Runhook] ';

/** User text on one line: a chat message's own lines are never broken by it. */
export const oneLine = (text: string) => text.replace(/[\r\n\t]+/g, ' ');
/** Discord markdown: user text shows literally (no bold, links, spoilers or quotes of its own). */
export const discordEscape = (text: string) => oneLine(text).replace(/([\\*_`~|>[\]()#-])/g, '\\$1');
/**
 * Adaptive Card TextBlock and Fact markdown (Teams): user text shows literally, with no bold,
 * italics, links (`[text](url)`) or list of its own.
 */
export const escapeTeamsText = (text: string) =>
  oneLine(text)
    .replace(/([\\*_`~[\]()])/g, '\\$1')
    .replace(/^(\s*)([-+]|\d+\.)(?=\s)/, '$1\\$2');

function runTitle(run: StandardPayloadTestRun): string {
  return run.name === '' ? run.test_run_id : run.name;
}

/** A failing test as a chat message lists it: new failures first, flaky ones marked. */
export interface ChatFailure {
  name: string;
  message: string | null;
  mark: '' | 'new' | 'flaky';
}

/**
 * The failing tests a chat message lists, in order: the run's new failures (docs/api.md#what-changed),
 * then its other failing tests; a test the changes call flaky is marked.
 */
export function chatFailures(payload: StandardPayload): ChatFailure[] {
  const changes = payload.changes;
  const key = (suite: string | null, name: string) => `${suite ?? ''}\u0000${name}`;
  const flaky = new Set((changes?.flaky ?? []).map((f) => key(f.suite, f.name)));
  const out: ChatFailure[] = [];
  const seen = new Set<string>();
  for (const f of changes?.new_failures ?? []) {
    seen.add(key(f.suite, f.name));
    out.push({ name: f.name, message: f.message, mark: 'new' });
  }
  for (const f of payload.test_run.failures ?? []) {
    const k = key(f.classname, f.name);
    if (seen.has(k)) continue;
    seen.add(k);
    out.push({ name: f.name, message: f.message, mark: flaky.has(k) ? 'flaky' : '' });
  }
  return out;
}

/** The line a chat message opens with: what changed since the baseline, or null without one. */
export function chatChangeLine(payload: StandardPayload): string | null {
  return changeSummary(payload.changes, payload.test_run.pass_rate);
}

const MARKS = { '': '', new: ' (new)', flaky: ' (flaky)' } as const;

/** "name — message" lines of the first failing tests, then how many more there are. */
function failureLines(
  payload: StandardPayload,
  clean: (text: string) => string,
  bold: (text: string) => string,
): string[] {
  const run = payload.test_run;
  const failures = chatFailures(payload);
  const lines = failures.slice(0, CHAT_FAILURES).map((f) => {
    const message = f.message === null ? '' : ` — ${clean(cutText(f.message, 300))}`;
    return `${bold(clean(cutText(f.name, 150)))}${MARKS[f.mark]}${message}`;
  });
  const more = Math.max(failingCount(run), failures.length) - lines.length;
  if (lines.length > 0 && more > 0) lines.push(`…and ${more} more`);
  return lines;
}

interface DiscordField {
  name: string;
  value: string;
  inline: boolean;
}

export interface DiscordMessage {
  content: string;
  embeds: Array<{
    title: string;
    url: string;
    description: string;
    color: number;
    fields: DiscordField[];
    timestamp: string;
    footer: { text: string };
  }>;
  allowed_mentions: { parse: string[] };
}

export function discordMessage(payload: StandardPayload): DiscordMessage {
  const run = payload.test_run;
  const outcome = runOutcome(run);
  const prefix = payload.event === 'test' ? TEST_PREFIX : '';
  const title = cutText(
    `${prefix}${outcome.emoji} ${discordEscape(runTitle(run))} ${outcome.words}`,
    DISCORD_LIMITS.title,
  );
  const changeLine = chatChangeLine(payload);
  const content = cutText(
    `${prefix}${changeLine === null ? '' : `${changeLine} · `}${outcome.emoji} ${discordEscape(runTitle(run))} ${outcome.words} · agent ${discordEscape(run.agent_name)} · ` +
      `${run.passed_count}/${run.total_scenarios} passed · ${run.pass_rate}% pass rate`,
    DISCORD_LIMITS.content,
  );
  const fields: DiscordField[] = [
    { name: 'Run', value: run.test_run_id, inline: true },
    { name: 'Agent', value: cutText(discordEscape(run.agent_name), DISCORD_LIMITS.fieldValue), inline: true },
    { name: 'Status', value: run.status, inline: true },
    { name: 'Passed', value: `${run.passed_count}/${run.total_scenarios} (${run.pass_rate}%)`, inline: true },
    { name: 'Failed', value: String(run.failed_count), inline: true },
    { name: 'Errors', value: String(run.error_count), inline: true },
    { name: 'Duration', value: `${run.duration_seconds}s`, inline: true },
  ];
  const footer = { text: 'Runhook' };
  const fixed =
    Array.from(title).length +
    footer.text.length +
    fields.reduce((n, f) => n + Array.from(f.name).length + Array.from(f.value).length, 0);
  const lines = failureLines(payload, discordEscape, (t) => `**${t}**`);
  const change = chatChangeLine(payload);
  const description = [
    ...(change === null ? [] : [`**${change}**`]),
    ...(lines.length > 0
      ? ['Failing tests:', ...lines.map((l) => `• ${l}`)]
      : ['No failing tests reported.']),
  ].join('\n');
  return {
    content,
    embeds: [
      {
        title,
        url: payload.results_url,
        // Within 4,096 and within what the 6,000 of the whole embed leaves.
        description: cutText(
          description,
          Math.min(DISCORD_LIMITS.description, DISCORD_LIMITS.embedTotal - fixed),
        ),
        color: DISCORD_COLORS[outcome.kind],
        fields,
        timestamp: run.completed_at,
        footer,
      },
    ],
    // Names are user input: "@everyone" in a run name must not ping a channel.
    allowed_mentions: { parse: [] },
  };
}

/** Adaptive Card text colours by outcome. */
const TEAMS_COLORS: Record<OutcomeKind, string> = {
  passed: 'good',
  failed: 'attention',
  errors: 'attention',
  canceled: 'default',
};

export interface TeamsMessage {
  type: 'message';
  attachments: Array<{
    contentType: 'application/vnd.microsoft.card.adaptive';
    content: Record<string, unknown>;
  }>;
}

/**
 * A Teams message of one Adaptive Card with a "View results" button: the envelope every Teams body
 * shares (a finished run, a run group, the other event types in eventMessages.ts).
 */
export function teamsCard(fallbackText: string, body: readonly unknown[], resultsUrl: string): TeamsMessage {
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          fallbackText,
          body,
          actions: [{ type: 'Action.OpenUrl', title: 'View results', url: resultsUrl }],
        },
      },
    ],
  };
}

export function teamsMessage(payload: StandardPayload): TeamsMessage {
  const run = payload.test_run;
  const outcome = runOutcome(run);
  const prefix = payload.event === 'test' ? TEST_PREFIX : '';
  const heading = `${prefix}${outcome.emoji} ${escapeTeamsText(cutText(runTitle(run), 200))} ${outcome.words}`;
  const facts = [
    { title: 'Run', value: run.test_run_id },
    { title: 'Agent', value: escapeTeamsText(cutText(run.agent_name, 200)) },
    { title: 'Status', value: run.status },
    { title: 'Passed', value: `${run.passed_count}/${run.total_scenarios} (${run.pass_rate}%)` },
    { title: 'Failed', value: String(run.failed_count) },
    { title: 'Errors', value: String(run.error_count) },
    { title: 'Duration', value: `${run.duration_seconds}s` },
    { title: 'Completed', value: run.completed_at },
  ];
  const lines = failureLines(payload, escapeTeamsText, (t) => t);
  const change = chatChangeLine(payload);
  const failures =
    lines.length === 0
      ? []
      : [
          { type: 'TextBlock', text: 'Failing tests', weight: 'bolder', spacing: 'medium', wrap: true },
          ...lines.map((text) => ({ type: 'TextBlock', text, wrap: true, spacing: 'small' })),
        ];
  // Opens with the change, as Slack's text and Discord's content do (docs/api.md#what-changed).
  const opening = change === null ? '' : `${change} · `;
  return teamsCard(
    `${prefix}${opening}${outcome.emoji} ${cutText(oneLine(runTitle(run)), 200)} ${outcome.words}: ${payload.results_url}`,
    [
      ...(change === null
        ? []
        : [{ type: 'TextBlock', text: `${prefix}${change}`, weight: 'bolder', wrap: true }]),
      {
        type: 'TextBlock',
        text: change === null ? heading : heading.slice(prefix.length),
        size: 'medium',
        weight: 'bolder',
        color: TEAMS_COLORS[outcome.kind],
        wrap: true,
        ...(change !== null && { spacing: 'small' }),
      },
      { type: 'FactSet', facts },
      ...failures,
    ],
    payload.results_url,
  );
}

// ---- run groups (docs/delivery.md#run-groups): the same three services, the group's summed view

/** Runs and new failures a group's chat message lists; the rest are counted. */
const GROUP_LINES = 10;

/** Slack mrkdwn: user text shows literally, on one line. */
export const slackEscape = (text: string) => escapeSlackText(oneLine(text));

/** "1 new failure · 2 fixed · 1 flaky", "No change", or null when no run had a baseline. */
export function groupChangeLine(group: PayloadGroup): string | null {
  const c = group.changes;
  if (c === null) return null;
  const parts = [
    c.counts.new_failures > 0 &&
      `${c.counts.new_failures} new failure${c.counts.new_failures === 1 ? '' : 's'}`,
    c.counts.fixed > 0 && `${c.counts.fixed} fixed`,
    c.counts.flaky > 0 && `${c.counts.flaky} flaky`,
  ].filter((p): p is string => typeof p === 'string');
  return parts.length === 0 ? 'No change' : parts.join(' · ');
}

/** The parts every rendering of a group shares, with user text cleaned by `clean`. */
function groupText(payload: TestRunGroupCompletedEvent, clean: (text: string) => string) {
  const g = payload.group;
  const outcome = runOutcome(g);
  const prefix = payload.is_test ? TEST_PREFIX : '';
  const title = `${outcome.emoji} ${prefix}Run group ${clean(cutText(g.name, 150))} ${outcome.words}`;
  const summary =
    `${g.run_count} run${g.run_count === 1 ? '' : 's'} · ${g.passed_count}/${g.total_scenarios} passed · ` +
    `${g.pass_rate}% pass rate${g.agent_name === null ? '' : ` · agent ${clean(cutText(g.agent_name, 150))}`}`;
  const runs = g.runs
    .slice(0, GROUP_LINES)
    .map(
      (r) =>
        `${r.test_run_id} ${clean(cutText(r.name, 100))}: ${r.status}, ${r.passed_count}/${r.total_scenarios} passed`,
    );
  if (g.run_count > runs.length) runs.push(`…and ${g.run_count - runs.length} more`);
  const failures = (g.changes?.new_failures ?? [])
    .slice(0, GROUP_LINES)
    .map(
      (f) =>
        `${clean(cutText(f.name, 150))} (${f.test_run_id})${f.message === null ? '' : ` — ${clean(cutText(f.message, 200))}`}`,
    );
  const moreFailures = (g.changes?.counts.new_failures ?? 0) - failures.length;
  if (failures.length > 0 && moreFailures > 0) failures.push(`…and ${moreFailures} more`);
  return { outcome, title, summary, change: groupChangeLine(g), runs, failures, link: groupLink(g) };
}

export function slackGroupMessage(payload: TestRunGroupCompletedEvent) {
  const t = groupText(payload, slackEscape);
  const opening = t.change === null ? '' : `${t.change} · `;
  const details = [
    ...(t.change === null ? [] : [`*${t.change}*`]),
    `*${t.title}*`,
    t.summary,
    '*Runs:*',
    ...t.runs.map((l) => `• ${l}`),
    ...(t.failures.length > 0 ? ['*New failures:*', ...t.failures.map((l) => `• ${l}`)] : []),
  ].join('\n');
  return {
    text: `${opening}${t.title} · ${t.summary}`,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: cutText(details, 2900) } },
      {
        type: 'actions',
        elements: [{ type: 'button', text: { type: 'plain_text', text: 'View results' }, url: t.link }],
      },
    ],
  };
}

export function discordGroupMessage(payload: TestRunGroupCompletedEvent): DiscordMessage {
  const g = payload.group;
  const t = groupText(payload, discordEscape);
  const fields: DiscordField[] = [
    { name: 'Runs', value: String(g.run_count), inline: true },
    { name: 'Status', value: g.status, inline: true },
    { name: 'Passed', value: `${g.passed_count}/${g.total_scenarios} (${g.pass_rate}%)`, inline: true },
    { name: 'Failed', value: String(g.failed_count), inline: true },
    { name: 'Errors', value: String(g.error_count), inline: true },
    { name: 'Duration', value: `${g.duration_seconds}s`, inline: true },
  ];
  const description = [
    ...(t.change === null ? [] : [`**${t.change}**`]),
    t.summary,
    '',
    ...t.runs.map((l) => `• ${l}`),
    ...(t.failures.length > 0 ? ['', 'New failures:', ...t.failures.map((l) => `• ${l}`)] : []),
  ].join('\n');
  const title = cutText(t.title, DISCORD_LIMITS.title);
  return {
    content: cutText(
      `${t.change === null ? '' : `${t.change} · `}${t.title} · ${t.summary}`,
      DISCORD_LIMITS.content,
    ),
    embeds: [
      {
        title,
        url: t.link,
        // Well inside the 6,000 of the whole embed: the fields and title are short.
        description: cutText(description, 4000),
        color: DISCORD_COLORS[t.outcome.kind],
        fields,
        timestamp: g.completed_at,
        footer: { text: 'Runhook' },
      },
    ],
    allowed_mentions: { parse: [] },
  };
}

export function teamsGroupMessage(payload: TestRunGroupCompletedEvent): TeamsMessage {
  const g = payload.group;
  const t = groupText(payload, escapeTeamsText);
  const block = (text: string, extra: Record<string, unknown> = {}) => ({
    type: 'TextBlock',
    text,
    wrap: true,
    ...extra,
  });
  // Opens with the change, as the run's card does.
  return teamsCard(
    `${payload.is_test ? TEST_PREFIX : ''}${t.change === null ? '' : `${oneLine(t.change)} · `}${t.outcome.emoji} Run group ${cutText(oneLine(g.name), 150)} ${t.outcome.words}: ${t.link}`,
    [
      ...(t.change === null
        ? []
        : [block(`${payload.is_test ? TEST_PREFIX : ''}${t.change}`, { weight: 'bolder' })]),
      block(t.title, { size: 'medium', weight: 'bolder', color: TEAMS_COLORS[t.outcome.kind] }),
      {
        type: 'FactSet',
        facts: [
          { title: 'Runs', value: String(g.run_count) },
          { title: 'Status', value: g.status },
          { title: 'Passed', value: `${g.passed_count}/${g.total_scenarios} (${g.pass_rate}%)` },
          { title: 'Failed', value: String(g.failed_count) },
          { title: 'Errors', value: String(g.error_count) },
          { title: 'Duration', value: `${g.duration_seconds}s` },
          { title: 'Completed', value: g.completed_at },
        ],
      },
      block('Runs', { weight: 'bolder', spacing: 'medium' }),
      ...t.runs.map((l) => block(l, { spacing: 'small' })),
      ...(t.failures.length > 0
        ? [
            block('New failures', { weight: 'bolder', spacing: 'medium' }),
            ...t.failures.map((l) => block(l, { spacing: 'small' })),
          ]
        : []),
    ],
    t.link,
  );
}
