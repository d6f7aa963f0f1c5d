/**
 * `runhook report <files…> --agent NAME`: turn JUnit XML files into one finished test run with
 * every test's result on a Runhook server, through the public REST API (docs/api.md), as any CI
 * script would.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { type Command, CommanderError } from 'commander';
import { type JUnitSummary, parseJUnitFiles } from './junit.js';
import {
  type ApiAnswer,
  ApiError,
  asObject,
  isObject,
  RETRY_DELAYS_MS,
  ReportError,
  RunhookApi,
  requireString,
  stripSlashes,
} from './reportApi.js';
import {
  chunkedBodies,
  IDEMPOTENCY_KEY_MAX,
  partKey,
  REQUEST_BYTES_MAX,
  RESULTS_PER_REQUEST,
  type ReportGroup,
  runBody,
} from './reportBodies.js';

export { type JUnitFailure, type JUnitResult, type JUnitSummary, parseJUnitFiles } from './junit.js';
export { ReportError } from './reportApi.js';
export {
  chunkedBodies,
  chunkResults,
  DEFAULT_RUN_NAME,
  partKey,
  REQUEST_BYTES_MAX,
  RESULTS_PER_REQUEST,
  type ReportGroup,
  RUN_NAME_MAX,
  runBody,
} from './reportBodies.js';

export const DEFAULT_API_URL = 'http://127.0.0.1:8080';

export interface ReportOptions {
  files: string[];
  /** Agent name; the agent is created when no agent has exactly this name. */
  agent: string;
  /** Base URL of the Runhook server (`http://host:port`; a trailing `/api/v1` is tolerated). */
  apiUrl: string;
  apiKey: string;
  /** Run name; defaults to the first suite name in the files, else "JUnit report". */
  name?: string;
  /** `test_suite_id` of the run: which runs are compared with each other (docs/api.md). */
  suiteId?: string;
  /** The run group the run joins (docs/delivery.md#run-groups), e.g. the CI build id. */
  group?: ReportGroup;
  /** Base of `results_url` (the server's RUNHOOK_PUBLIC_URL); defaults to `apiUrl`. */
  publicUrl?: string;
  /**
   * `Idempotency-Key` of the POST /runs; defaults to one derived from the files, agent, name and
   * suite id. Above RESULTS_PER_REQUEST results each request gets its own key made from this one.
   */
  idempotencyKey?: string;
  /** Waits before each retry of a request that failed for a passing reason (tests shorten them). */
  retryDelaysMs?: number[];
}

export interface ReportResult {
  id: string;
  test_run_id: string;
  results_url: string;
  /** The run object as the server answered it. */
  run: Record<string, unknown>;
  summary: JUnitSummary;
  /** The Idempotency-Key the requests' keys come from (the POST /runs key itself up to 1,000 results). */
  idempotency_key: string;
  /** True when the server had already made this whole run for the same key (a retried CI step). */
  replayed: boolean;
  /** Requests that carried results: 1 for one POST /runs, else the POST /runs/{id}/results chunks. */
  result_requests: number;
}

const PAGE_SIZE = 100;
const SUITE_ID_MAX = 200;
const GROUP_MAX = 200;

/**
 * The key a retried CI step sends again: the same files (by content), agent, `--name` and
 * `--suite-id` give the same key, so the server answers the first run instead of creating a
 * second one. (v2: the body carries `results`, so a key of the version without them must not
 * match.)
 */
export async function deriveIdempotencyKey(
  files: string[],
  agent: string,
  name?: string,
  suiteId?: string,
  group?: ReportGroup,
): Promise<string> {
  const hash = createHash('sha256');
  hash.update(`runhook report v2\0${agent}\0${name ?? ''}\0${suiteId ?? ''}\0${files.length}\0`);
  // Only with a group, so the keys of reports without one stay what they were.
  if (group !== undefined) hash.update(`group\0${group.name}\0${group.size ?? ''}\0`);
  for (const file of files) {
    const bytes = await readFile(file);
    hash.update(createHash('sha256').update(bytes).digest());
  }
  return `runhook-report-${hash.digest('hex')}`;
}

/** `--group` 1 to 200 characters, `--group-size` a whole number of at least 1 (the server's rules). */
function checkGroup(group: ReportGroup | undefined): void {
  if (group === undefined) return;
  if (group.name.trim() === '' || Array.from(group.name).length > GROUP_MAX)
    throw new ReportError(`--group must be 1 to ${GROUP_MAX} characters`, 2);
  if (group.size !== undefined && !(Number.isSafeInteger(group.size) && group.size >= 1))
    throw new ReportError('--group-size must be a whole number of at least 1', 2);
}

/** Parses the files, finds or creates the agent, and posts one finished run with its results. */
export async function reportRun(opts: ReportOptions): Promise<ReportResult> {
  if (opts.files.length === 0) throw new ReportError('no JUnit files given', 2);
  if (opts.idempotencyKey !== undefined) {
    // An HTTP header value: visible ASCII and spaces only.
    if (!new RegExp(`^[\\x20-\\x7e]{1,${IDEMPOTENCY_KEY_MAX}}$`).test(opts.idempotencyKey)) {
      throw new ReportError(
        `--idempotency-key must be 1 to ${IDEMPOTENCY_KEY_MAX} characters of printable ASCII`,
        2,
      );
    }
  }
  if (
    opts.suiteId !== undefined &&
    (opts.suiteId.trim() === '' || Array.from(opts.suiteId).length > SUITE_ID_MAX)
  ) {
    throw new ReportError(`--suite-id must be 1 to ${SUITE_ID_MAX} characters`, 2);
  }
  checkGroup(opts.group);
  let summary: JUnitSummary;
  let key: string;
  try {
    summary = await parseJUnitFiles(opts.files);
    key =
      opts.idempotencyKey ??
      (await deriveIdempotencyKey(opts.files, opts.agent, opts.name, opts.suiteId, opts.group));
  } catch (error) {
    throw new ReportError((error as Error).message);
  }

  const api = new RunhookApi(opts.apiUrl, opts.apiKey, opts.retryDelaysMs ?? RETRY_DELAYS_MS);
  const agentId = await findOrCreateAgent(api, opts.agent);
  const oneCall = runBody(agentId, summary, opts.name, opts.suiteId, opts.group);
  const sent =
    summary.results.length <= RESULTS_PER_REQUEST &&
    Buffer.byteLength(JSON.stringify(oneCall)) <= REQUEST_BYTES_MAX
      ? await sendInOneCall(api, oneCall, key)
      : await sendInChunks(api, chunkedBodies(agentId, summary, opts.name, opts.suiteId, opts.group), key);
  const { run, replayed, resultRequests } = sent;
  const id = requireString(run, 'id', 'the run answer');
  const testRunId = requireString(run, 'test_run_id', 'the run answer');
  // Run objects carry no results_url (docs/api.md); it is <RUNHOOK_PUBLIC_URL>/runs/<id>, as in the payload.
  const resultsUrl =
    typeof run.results_url === 'string'
      ? run.results_url
      : `${stripSlashes(opts.publicUrl ?? api.baseUrl)}/runs/${encodeURIComponent(id)}`;
  return {
    id,
    test_run_id: testRunId,
    results_url: resultsUrl,
    run,
    summary,
    idempotency_key: key,
    replayed,
    result_requests: resultRequests,
  };
}

interface Sent {
  run: Record<string, unknown>;
  replayed: boolean;
  resultRequests: number;
}

async function sendInOneCall(api: RunhookApi, body: Record<string, unknown>, key: string): Promise<Sent> {
  const answer = await createRun(api, body, key, key);
  return {
    run: asObject(answer.json, 'POST /api/v1/runs'),
    replayed: answer.replayed,
    resultRequests: body.results === undefined ? 0 : 1,
  };
}

/**
 * Creates the run, sends the chunks, completes it. Each request has its own key (partKey), so a
 * retried CI step repeats them as replays. When the creation is a replay, the run is read first:
 * already finished means the first try did everything, and nothing more is sent.
 */
async function sendInChunks(
  api: RunhookApi,
  bodies: ReturnType<typeof chunkedBodies>,
  key: string,
): Promise<Sent> {
  const created = await createRun(api, bodies.create, partKey(key, 'create'), key);
  const run = asObject(created.json, 'POST /api/v1/runs');
  const path = `/runs/${encodeURIComponent(requireString(run, 'id', 'POST /api/v1/runs'))}`;
  if (created.replayed) {
    const current = asObject(await api.call('GET', path), `GET /api/v1${path}`);
    if (current.status !== 'running') {
      return { run: current, replayed: true, resultRequests: 0 };
    }
  }
  try {
    for (const [i, chunk] of bodies.chunks.entries()) {
      await api.send('POST', `${path}/results`, chunk, {
        'idempotency-key': partKey(key, `results:${i + 1}`),
      });
    }
    const completed = await api.send('POST', `${path}/complete`, bodies.complete, {
      'idempotency-key': partKey(key, 'complete'),
    });
    return {
      run: asObject(completed.json, `POST /api/v1${path}/complete`),
      replayed: false,
      resultRequests: bodies.chunks.length,
    };
  } catch (error) {
    if (!(error instanceof ReportError)) throw error;
    // Said so that nobody waits for a run that will not finish by itself.
    const testRunId = typeof run.test_run_id === 'string' ? run.test_run_id : 'made';
    throw new ReportError(
      `${error.message} (the run ${testRunId} was created and is left running; the same step run again with the same Idempotency-Key sends what is missing)`,
      error.exitCode,
    );
  }
}

/** POST /runs, explaining a 409 on the key: the same files were reported before as another run. */
async function createRun(
  api: RunhookApi,
  body: Record<string, unknown>,
  requestKey: string,
  key: string,
): Promise<ApiAnswer> {
  try {
    return await api.send('POST', '/runs', body, { 'idempotency-key': requestKey });
  } catch (error) {
    if (error instanceof ApiError && error.status === 409 && error.code === 'ALREADY_EXISTS') {
      throw new ReportError(
        `${error.message}. The Idempotency-Key was ${key}: if these files were reported with it before and now make a different run (a file without timestamps was copied or touched since, changing its times), pass --idempotency-key with a new value to report them again`,
      );
    }
    throw error;
  }
}

async function findOrCreateAgent(api: RunhookApi, name: string): Promise<string> {
  const existing = await findAgent(api, name);
  if (existing !== null) return existing;
  try {
    const agent = asObject(await api.call('POST', '/agents', { name }), 'POST /api/v1/agents');
    return requireString(agent, 'id', 'POST /api/v1/agents');
  } catch (error) {
    // Another CI job created it between our read and our write.
    if (error instanceof ApiError && error.status === 409 && error.code === 'ALREADY_EXISTS') {
      const raced = await findAgent(api, name);
      if (raced !== null) return raced;
    }
    throw error;
  }
}

async function findAgent(api: RunhookApi, name: string): Promise<string | null> {
  for (let offset = 0; ; offset += PAGE_SIZE) {
    const path = `/agents?limit=${PAGE_SIZE}&offset=${offset}`;
    const page = asObject(await api.call('GET', path), `GET /api/v1${path}`);
    const agents = Array.isArray(page.agents) ? page.agents : [];
    for (const agent of agents) {
      if (isObject(agent) && agent.name === name && typeof agent.id === 'string') return agent.id;
    }
    const total = typeof page.total === 'number' ? page.total : 0;
    if (agents.length === 0 || offset + agents.length >= total) return null;
  }
}

/** Adds `report` to the `runhook` program. */
export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description(
      'Post JUnit XML results to Runhook as one finished test run with every test case as a ' +
        'result (passed, failed, error, skipped). A test case is failed if it has <failure>, error ' +
        'if <error>, skipped if <skipped>, else passed. The same test (classname and name) written ' +
        'more than once, and Surefire/Playwright rerun entries, are one result with "attempts" and ' +
        'the last outcome. Skipped tests did not run, so they are not scenarios: total_scenarios = ' +
        'passed + failed + error. The run is "failed" when any test failed or errored, else ' +
        '"completed"; it spans from the earliest start to the latest end of the files. Up to 1,000 ' +
        'results go in one request, more in chunks of 1,000. Sending the same files again (a ' +
        'retried CI step) answers the run already made instead of making a second one. Prints ' +
        '"<test_run_id> <results_url>".',
    )
    .argument('<files...>', 'JUnit XML files (several make one run)')
    .requiredOption('--agent <name>', 'agent the run belongs to; created when missing')
    .option(
      '--name <name>',
      'run name, up to 200 characters (default: the first suite name in the files, shortened to 200, else "JUnit report")',
    )
    .option(
      '--suite-id <id>',
      'test_suite_id of the run, up to 200 characters: runs with the same one are compared with each other',
    )
    .option(
      '--group <id>',
      'run group to join, up to 200 characters, e.g. the CI build id: one test_run_group_completed event when all its runs are final',
    )
    .option('--group-size <n>', 'how many runs the group expects (at least 1); with --group')
    .option('--api-url <url>', `Runhook server (default: $RUNHOOK_API_URL, else ${DEFAULT_API_URL})`)
    .option('--api-key <key>', 'API key (default: $RUNHOOK_API_KEY)')
    .option(
      '--public-url <url>',
      'base of results_url, i.e. the server RUNHOOK_PUBLIC_URL (default: the API URL)',
    )
    .option(
      '--idempotency-key <key>',
      'Idempotency-Key of the run, up to 255 characters (default: derived from the files, --agent, --name and --suite-id)',
    )
    .option('--json', 'print the created run as JSON, with its results_url')
    // A CI script tells bad usage (2) from a refused report (1), also for commander's own errors;
    // commander has printed the message, and src/cli/main.ts exits with the code.
    .exitOverride((err) => {
      const usage = err.exitCode === 1 && err.code.startsWith('commander.');
      throw new CommanderError(usage ? 2 : err.exitCode, err.code, err.message);
    })
    .action(async (files: string[], options: ReportCommandOptions, command: Command) => {
      const apiKey = options.apiKey ?? process.env.RUNHOOK_API_KEY;
      if (!apiKey) {
        command.error('runhook report: no API key; pass --api-key or set RUNHOOK_API_KEY', {
          exitCode: 2,
          code: 'runhook.report.missingApiKey',
        });
      }
      if (options.groupSize !== undefined && options.group === undefined) {
        command.error('runhook report: --group-size needs --group', {
          exitCode: 2,
          code: 'runhook.report.groupSizeWithoutGroup',
        });
      }
      const groupSize =
        options.groupSize === undefined
          ? undefined
          : /^\d+$/.test(options.groupSize)
            ? Number(options.groupSize)
            : Number.NaN;
      try {
        const result = await reportRun({
          files,
          agent: options.agent,
          apiUrl: options.apiUrl ?? process.env.RUNHOOK_API_URL ?? DEFAULT_API_URL,
          apiKey: apiKey as string,
          name: options.name,
          suiteId: options.suiteId,
          group: options.group === undefined ? undefined : { name: options.group, size: groupSize },
          publicUrl: options.publicUrl,
          idempotencyKey: options.idempotencyKey,
        });
        const { passed, failed, errored, skipped } = result.summary;
        const again = result.replayed ? ' (already reported: this is the same run)' : '';
        process.stderr.write(
          `runhook report: ${passed} passed, ${failed} failed, ${errored} errored, ${skipped} skipped${again}\n`,
        );
        process.stdout.write(
          options.json
            ? `${JSON.stringify({ ...result.run, results_url: result.results_url }, null, 2)}\n`
            : `${result.test_run_id} ${result.results_url}\n`,
        );
      } catch (error) {
        if (!(error instanceof ReportError)) throw error;
        command.error(`runhook report: ${error.message}`, {
          exitCode: error.exitCode,
          code: 'runhook.report.failed',
        });
      }
    });
}

interface ReportCommandOptions {
  agent: string;
  name?: string;
  suiteId?: string;
  group?: string;
  groupSize?: string;
  apiUrl?: string;
  apiKey?: string;
  publicUrl?: string;
  idempotencyKey?: string;
  json?: boolean;
}
