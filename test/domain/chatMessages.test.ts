/**
 * Formats `discord` and `teams` against the rules of the services they are for: Discord's
 * documented message and embed limits, and the published Adaptive Card 1.4 JSON schema
 * (test/fixtures/adaptive-card, unchanged) for Teams.
 */
import { describe, expect, it } from 'vitest';
import {
  DISCORD_COLORS,
  DISCORD_LIMITS,
  type DiscordMessage,
  type TeamsMessage,
} from '../../src/domain/chatMessages.js';
import type { TestFailure } from '../../src/domain/failures.js';
import { renderBody, standardPayload, testPayload } from '../../src/domain/payloads.js';
import type { TestRun } from '../../src/domain/types.js';
import { adaptiveCardValidator } from '../helpers/adaptiveCard.js';

const URL_BASE = 'https://runhook.example.com';
const EVENT_AT = Date.UTC(2026, 0, 30, 10, 32, 46);

function run(overrides: Partial<TestRun> = {}): TestRun {
  return {
    id: '7c9e6679-7425-40de-944b-e07fc1f90ae7',
    orgId: 'org',
    seq: 42,
    name: 'Emergency Response Test',
    agentId: '6ba7b810-9dad-11d1-80b4-00c04fd430c8',
    agentName: 'Healthcare Assistant',
    status: 'completed',
    passedCount: 17,
    failedCount: 3,
    errorCount: 0,
    totalScenarios: null,
    startedAt: Date.UTC(2026, 0, 30, 10, 30, 0),
    completedAt: Date.UTC(2026, 0, 30, 10, 32, 45),
    createdAt: Date.UTC(2026, 0, 30, 10, 30, 0),
    failures: [],
    testSuiteId: null,
    testMode: null,
    maxScenarios: null,
    maxTurns: null,
    ...overrides,
  };
}

const huge = (n: number, c = 'x') => c.repeat(n);
const manyFailures: TestFailure[] = Array.from({ length: 50 }, (_, i) => ({
  name: `${huge(495)} ${i}`,
  classname: huge(500),
  file: huge(500),
  message: huge(1000, 'm'),
  kind: 'failed',
}));

/** Runs that push every text to its limit, and the plain cases. */
const CASES: Array<[string, TestRun]> = [
  [
    'a run with 3 failures',
    run({ failures: manyFailures.slice(0, 3).map((f, i) => ({ ...f, name: `t${i}` })) }),
  ],
  ['50 failures with the longest names and messages', run({ failures: manyFailures, failedCount: 50 })],
  [
    'a 200-character name and agent',
    run({ name: huge(200, 'N'), agentName: huge(200, 'A'), failures: manyFailures }),
  ],
  [
    'markdown and mentions in names',
    run({ name: '@everyone **bold** [x](http://e.vil) `c`', agentName: '<@&123>' }),
  ],
  ['all passed', run({ failedCount: 0 })],
  ['failed with errors', run({ status: 'failed', failedCount: 0, errorCount: 2 })],
  ['canceled', run({ status: 'canceled' })],
  ['an unnamed run', run({ name: '' })],
];

const chars = (text: string) => Array.from(text).length;

describe('format discord', () => {
  const render = (r: TestRun) =>
    JSON.parse(renderBody('discord', standardPayload(r, EVENT_AT, URL_BASE), EVENT_AT)) as DiscordMessage;

  it.each(CASES)('%s: inside every documented Discord limit', (_label, r) => {
    const body = render(r);
    expect(chars(body.content)).toBeLessThanOrEqual(DISCORD_LIMITS.content);
    expect(body.embeds).toHaveLength(1);
    const embed = body.embeds[0]!;
    expect(chars(embed.title)).toBeLessThanOrEqual(DISCORD_LIMITS.title);
    expect(chars(embed.description)).toBeLessThanOrEqual(DISCORD_LIMITS.description);
    expect(embed.fields.length).toBeLessThanOrEqual(DISCORD_LIMITS.fields);
    for (const f of embed.fields) {
      expect(chars(f.name)).toBeLessThanOrEqual(DISCORD_LIMITS.fieldName);
      expect(chars(f.value)).toBeLessThanOrEqual(DISCORD_LIMITS.fieldValue);
      expect(f.value.length).toBeGreaterThan(0);
    }
    expect(chars(embed.footer.text)).toBeLessThanOrEqual(DISCORD_LIMITS.footer);
    const total =
      chars(embed.title) +
      chars(embed.description) +
      chars(embed.footer.text) +
      embed.fields.reduce((n, f) => n + chars(f.name) + chars(f.value), 0);
    expect(total).toBeLessThanOrEqual(DISCORD_LIMITS.embedTotal);
    expect(embed.url).toBe(`${URL_BASE}/runs/${r.id}`);
    expect(body.allowed_mentions).toEqual({ parse: [] });
  });

  it.each([
    ['all passed', run({ failedCount: 0 }), DISCORD_COLORS.passed, 0x57f287],
    ['failed tests', run(), DISCORD_COLORS.failed, 0xed4245],
    ['errors only', run({ failedCount: 0, errorCount: 1 }), DISCORD_COLORS.errors, 0xed4245],
    ['canceled', run({ status: 'canceled' }), DISCORD_COLORS.canceled, 0x95a5a6],
  ])('colour for %s', (_label, r, expected, literal) => {
    expect(expected).toBe(literal);
    expect(render(r).embeds[0]!.color).toBe(expected);
  });

  it('names the failing tests with their messages, then counts the rest', () => {
    const failures = Array.from({ length: 12 }, (_, i) => ({
      name: `case_${i}`,
      classname: null,
      file: null,
      message: `boom ${i}`,
      kind: 'failed' as const,
    }));
    const embed = render(run({ failures, failedCount: 15 })).embeds[0]!;
    expect(embed.description).toContain('**case\\_0** — boom 0');
    expect(embed.description).toContain('case\\_9');
    expect(embed.description).not.toContain('case\\_10');
    expect(embed.description).toContain('…and 5 more');
  });

  it('escapes markdown in user text so it shows literally', () => {
    const body = render(run({ name: '**x** _y_' }));
    expect(body.content).toContain('\\*\\*x\\*\\* \\_y\\_');
  });

  it('says so for a test send', () => {
    const body = JSON.parse(
      renderBody('discord', testPayload(EVENT_AT, URL_BASE), EVENT_AT),
    ) as DiscordMessage;
    expect(body.content.startsWith('[Test webhook from Runhook]')).toBe(true);
  });
});

describe('format teams', () => {
  const validate = adaptiveCardValidator();
  const render = (r: TestRun) =>
    JSON.parse(renderBody('teams', standardPayload(r, EVENT_AT, URL_BASE), EVENT_AT)) as TeamsMessage;

  it('the schema fixture is the real one: it refuses what Adaptive Cards refuse', () => {
    const good = render(run()).attachments[0]!.content;
    expect(validate(good).ok).toBe(true);
    expect(validate({ ...good, colour: 'red' }).ok).toBe(false);
    expect(validate({ ...good, actions: [{ type: 'Action.OpenUrl', title: 'x' }] }).ok).toBe(false);
    expect(validate({ ...good, body: [{ type: 'FactSet', facts: [{ title: 'a' }] }] }).ok).toBe(false);
    expect(validate({ ...good, body: [{ type: 'TextBlock', text: 'x', color: 'purple' }] }).ok).toBe(false);
  });

  it.each([...CASES, ['the Test Webhook sample', run()] as [string, TestRun]])(
    '%s: a workflow message whose card is a valid Adaptive Card 1.4',
    (label, r) => {
      const payload =
        label === 'the Test Webhook sample'
          ? testPayload(EVENT_AT, URL_BASE)
          : standardPayload(r, EVENT_AT, URL_BASE);
      const text = renderBody('teams', payload, EVENT_AT);
      const body = JSON.parse(text) as TeamsMessage;
      expect(Object.keys(body)).toEqual(['type', 'attachments']);
      expect(body.type).toBe('message');
      expect(body.attachments).toHaveLength(1);
      const [attachment] = body.attachments;
      expect(Object.keys(attachment!)).toEqual(['contentType', 'content']);
      expect(attachment!.contentType).toBe('application/vnd.microsoft.card.adaptive');
      const card = attachment!.content as {
        version: string;
        actions: unknown[];
        body: Array<{ type: string }>;
      };
      const result = validate(card);
      expect(result.ok, result.errors).toBe(true);
      expect(card.version).toBe('1.4');
      expect(card.actions).toEqual([
        { type: 'Action.OpenUrl', title: 'View results', url: payload.results_url },
      ]);
      // The sample has changes: a line saying what changed comes between the heading and the facts.
      const expected =
        payload.changes === null ? ['TextBlock', 'FactSet'] : ['TextBlock', 'TextBlock', 'FactSet'];
      expect(card.body.map((b) => b.type).slice(0, expected.length)).toEqual(expected);
      // Teams refuses messages over 28 KB.
      expect(Buffer.byteLength(text)).toBeLessThan(28 * 1024);
    },
  );

  it("states the run's facts and lists failing tests", () => {
    const failures = [
      { name: 'case_a', classname: null, file: null, message: 'boom', kind: 'failed' as const },
    ];
    const card = render(run({ failures })).attachments[0]!.content as {
      body: Array<{ type: string; text?: string; facts?: Array<{ title: string; value: string }> }>;
    };
    const facts = Object.fromEntries(card.body[1]!.facts!.map((f) => [f.title, f.value]));
    expect(facts).toMatchObject({
      Run: 'TR-00042',
      Agent: 'Healthcare Assistant',
      Status: 'completed',
      Passed: '17/20 (85%)',
      Failed: '3',
      Errors: '0',
      Duration: '165s',
    });
    const texts = card.body.map((b) => b.text ?? '');
    expect(texts).toContain('case\\_a — boom');
    expect(texts).toContain('…and 2 more');
  });
});

describe('tenant text cannot format a chat message (every format)', () => {
  const LINK = '[Re-authenticate CI](https://evil.example/login)';
  const hostile = run({
    name: LINK,
    agentName: `**urgent** ${LINK}`,
    failures: [
      {
        name: `- ${LINK}`,
        classname: null,
        file: null,
        message: `<!channel> ${LINK} <https://evil.example|click>`,
        kind: 'failed',
      },
    ],
  });
  const body = (format: 'slack' | 'discord' | 'teams') =>
    renderBody(format, standardPayload(hostile, EVENT_AT, URL_BASE), EVENT_AT);
  /** Every string in a rendered message (texts, facts, titles). */
  const strings = (value: unknown): string[] =>
    typeof value === 'string'
      ? [value]
      : Array.isArray(value)
        ? value.flatMap(strings)
        : value !== null && typeof value === 'object'
          ? Object.values(value).flatMap(strings)
          : [];

  it('teams: no markdown link, bold or list from run, agent or test names and messages', () => {
    const card = (JSON.parse(body('teams')) as TeamsMessage).attachments[0]!.content;
    const { fallbackText, actions, ...markdownParts } = card;
    const texts = strings(markdownParts);
    expect(texts.join('\n')).not.toContain('](https://evil');
    expect(texts.join('\n')).not.toContain('**urgent**');
    expect(texts.some((t) => t.includes('\\[Re-authenticate CI\\]\\(https://evil.example/login\\)'))).toBe(
      true,
    );
    expect(texts).toContain(
      '\\- \\[Re-authenticate CI\\]\\(https://evil.example/login\\) — <!channel> \\[Re-authenticate CI\\]\\(https://evil.example/login\\) <https://evil.example|click>',
    );
    expect(strings(actions).some((u) => u.startsWith(URL_BASE))).toBe(true);
    expect(String(fallbackText)).toContain(LINK); // plain text, not markdown
    expect(adaptiveCardValidator()(card).ok).toBe(true);
  });

  it('discord: no masked link or bold, in the title, content, fields and description', () => {
    const msg = JSON.parse(body('discord')) as DiscordMessage;
    const all = strings(msg).join('\n');
    expect(all).not.toContain('](https://evil');
    expect(all).not.toContain('**urgent**');
    expect(msg.embeds[0]!.title).toContain('\\[Re\\-authenticate CI\\]\\(https://evil.example/login\\)');
    expect(msg.allowed_mentions).toEqual({ parse: [] });
  });

  it('slack: & < > escaped, so no <!channel> and no <url|label> link', () => {
    const all = strings(JSON.parse(body('slack'))).join('\n');
    expect(all).not.toContain('<!channel>');
    expect(all).not.toContain('<https://evil.example|click>');
    expect(all).toContain('&lt;!channel&gt;');
    expect(all).toContain('&lt;https://evil.example|click&gt;');
  });
});
