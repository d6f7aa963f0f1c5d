/**
 * What the benchmark reads besides wall-clock time: CPU of this process (every thread: the main
 * thread, SQLite's worker thread, V8's garbage-collector threads, libuv's pool), CPU of other
 * processes from /proc (the `runhook serve` child, PostgreSQL's backends), and peak RSS.
 *
 * `process.cpuUsage()` is getrusage(RUSAGE_SELF): all threads of the process, to the microsecond
 * (checked against /proc/self/stat with a busy worker thread and an idle main thread). Other
 * processes are read in clock ticks (`getconf CLK_TCK`, 100 here: 10 ms), so their phases must be
 * long enough for that resolution.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import type pg from 'pg';

function clockTicksPerSecond(): number {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
}

const US_PER_TICK = 1_000_000 / clockTicksPerSecond();

/** CPU (user + system) of this whole process so far, µs. */
export function processCpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/** utime + stime of /proc/<path>/stat, µs; null when the process (or thread) is gone. */
function statCpuUs(path: string): number | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${path}/stat`, 'latin1');
  } catch {
    return null;
  }
  // The command name may hold spaces and parentheses: fields start after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * US_PER_TICK;
}

/** CPU (user + system) of another process so far, µs (10 ms resolution); null when it is gone. */
export function pidCpuUs(pid: number): number | null {
  return statCpuUs(String(pid));
}

/** CPU of each thread of a process (this one by default), µs, by thread id; empty when it is gone. */
export function threadCpuUs(pid: number | 'self' = 'self'): Map<number, number> {
  const out = new Map<number, number>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    const us = statCpuUs(`${pid}/task/${tid}`);
    if (us !== null) out.set(Number(tid), us);
  }
  return out;
}

/**
 * Where a phase's CPU went inside this process: the main thread, the busiest other thread (on
 * SQLite, its worker thread) and all the rest (V8's GC and compiler threads, libuv's pool). µs.
 */
export function threadSplit(
  before: Map<number, number>,
  after: Map<number, number>,
  pid: number = process.pid,
): { main: number; busiest: number; rest: number } {
  const deltas: number[] = [];
  let main = 0;
  for (const [tid, us] of after) {
    const d = us - (before.get(tid) ?? 0);
    if (tid === pid) main = d;
    else deltas.push(d);
  }
  deltas.sort((a, b) => b - a);
  const busiest = deltas[0] ?? 0;
  return { main, busiest, rest: deltas.slice(1).reduce((s, d) => s + d, 0) };
}

function statusKb(field: string): number {
  const m = readFileSync('/proc/self/status', 'latin1').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
  return m ? Number(m[1]) : 0;
}

/**
 * Peak RSS, overall and per phase. The kernel's high-water mark (VmHWM) is reset to the current RSS
 * at the start of each phase (`5` into /proc/self/clear_refs) after folding it into the overall peak.
 */
export class PeakRss {
  private overallKb = statusKb('VmHWM');

  /** Starts a phase: the next `phaseMb()` is the peak since now. */
  startPhase(): void {
    this.overallKb = Math.max(this.overallKb, statusKb('VmHWM'));
    try {
      writeFileSync('/proc/self/clear_refs', '5');
    } catch {
      // Not resettable here: phases then report the peak so far, which is still an upper bound.
    }
  }

  /** Peak RSS since the phase started, MB. */
  phaseMb(): number {
    return statusKb('VmHWM') / 1024;
  }

  /** Peak RSS of the whole run so far, MB. */
  overallMb(): number {
    this.overallKb = Math.max(this.overallKb, statusKb('VmHWM'));
    return this.overallKb / 1024;
  }
}

/**
 * CPU of the PostgreSQL backends serving connections named `applicationName`, summed over a phase:
 * their pids come from pg_stat_activity (sampled every second by `admin`, whose own backend is not
 * counted), their CPU from /proc/<pid>/stat (same machine). A backend first seen during the phase
 * counts from its start; one that exits between samples loses at most its last second (none when
 * it exits idle, as a pool closes idle connections). Sampling costs this process well under a
 * millisecond a second.
 */
export class PgBackendCpu {
  private readonly first = new Map<number, number>();
  private readonly last = new Map<number, number>();
  private timer: NodeJS.Timeout | null = null;
  private sampling: Promise<void> = Promise.resolve();
  private started = false;

  constructor(
    private readonly admin: pg.Client,
    private readonly applicationName: string,
  ) {}

  private async sample(): Promise<void> {
    const { rows } = await this.admin.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()`,
      [this.applicationName],
    );
    for (const { pid } of rows) {
      const us = pidCpuUs(pid);
      if (us === null) continue;
      if (!this.first.has(pid)) this.first.set(pid, this.started ? 0 : us);
      this.last.set(pid, us);
    }
  }

  async start(): Promise<void> {
    await this.sample();
    this.started = true;
    this.timer = setInterval(() => {
      this.sampling = this.sampling.then(() => this.sample()).catch(() => {});
    }, 1_000);
  }

  /** Stops sampling; the backends' CPU over the phase, µs. */
  async stop(): Promise<number> {
    if (this.timer) clearInterval(this.timer);
    await this.sampling;
    await this.sample();
    let total = 0;
    for (const [pid, us] of this.last) total += us - (this.first.get(pid) ?? us);
    return total;
  }
}
