// host jobs → results. Starts hosts up to the concurrency cap, in waves when
// asked, streams output as it comes, and never rejects: each host gets a result.
import { setMaxListeners } from 'node:events';
import { parseMark, stepWords, type Outcome } from './marks.js';
import { HostOutput, type Stream } from './output.js';
import type { Transport, TransportResult } from './transport/types.js';

export interface HostJob {
  name: string;
  script: string;
  /** The marker prefix the script prints. */
  mark: string;
  transport: Transport;
}

export type HostStatus = 'succeeded' | 'unchanged' | 'failed' | 'skipped' | 'interrupted' | 'timeout';

export interface HostResult {
  host: string;
  ok: boolean;
  status: HostStatus;
  /** --check found nothing to deploy. */
  unchanged: boolean;
  exitCode: number | null;
  step?: string;
  reason?: string;
  previous?: string;
  revision?: string;
  /** wd status: the fields the host reported. */
  fields?: Record<string, string>;
  /** wd status --history: the lines the host reported. */
  history?: string[];
  startedAt: number;
  endedAt: number;
}

export interface RunOptions {
  concurrency: number;
  stdout: Stream;
  stderr: Stream;
  quiet: boolean;
  /** Prefix for a host's lines, e.g. "web1 | " padded. */
  prefix(host: string): string;
  /** Per-host streams instead of stdout/stderr (the library's onLine). */
  hostStreams?(host: string): { stdout: Stream; stderr: Stream };
  now(): number;
  /** Seconds the host enforces on the script (0: none); the client waits a little longer. */
  timeoutSec?: number;
  /** Seconds a host may wait for its lock before the script's clock starts (--wait-lock). */
  waitLockSec?: number;
  /** Waves: sizes of consecutive groups; no wave starts after one with a failure. */
  waves?: number[];
  /** Aborted: start no new host (first Ctrl-C). */
  stopStarting?: AbortSignal;
  /** Aborted: tell running hosts to stop (second Ctrl-C). */
  abortRunning?: AbortSignal;
  /** Called when a host starts and when its step changes. */
  onStep?(host: string, step: string): void;
  /** Called when a host has its result. */
  onDone?(host: string, ok: boolean): void;
}

// "All hosts at once" has to stop somewhere. Chosen from the null-host bench
// (docs/scaling.md#the-concurrency-cap): with hosts that take 2 s to deploy,
// 5,000 of them took 96 s at 256 and 62 s at 512; past 512 the key exchanges
// queue on the client's CPU until some hit the connect timeout (1,024 on a busy
// 2-core machine: 2 of 5,000 hosts timed out; 2,048: hundreds), and each
// connection in flight costs about 30 KB more memory.
export const MAX_CONCURRENCY = 512;
/** How much longer than the host's own timeout the client waits before it gives up on the host. */
const CLIENT_TIMEOUT_SLACK_MS = 15_000;

export function failureReason(step: string | undefined, exitCode: number | null, signal: string | undefined, lastError: string): string {
  const tail = lastError ? `: ${lastError}` : '';
  if (signal) return `killed by ${signal}${step ? ` during ${stepWords(step)}` : ''}`;
  if (step === 'post_deploy_script' || step === 'post_setup_script' || step === 'before_switch_script') return `${step} exited ${exitCode}`;
  if (step === undefined) return `the script failed before its first step (exit ${exitCode})${tail}`;
  return `${stepWords(step)} failed (exit ${exitCode})${tail}`;
}

export async function runHosts(jobs: readonly HostJob[], o: RunOptions): Promise<HostResult[]> {
  // Every running host listens for the second Ctrl-C: hundreds of listeners are expected, not a leak warning on stderr.
  if (o.abortRunning) setMaxListeners(0, o.abortRunning);
  const results: HostResult[] = new Array<HostResult>(jobs.length);
  const waves = o.waves ?? [jobs.length];
  let start = 0;
  let failedWave = false;
  for (const size of waves) {
    const idx = Array.from({ length: Math.min(size, jobs.length - start) }, (_, k) => start + k);
    start += idx.length;
    if (failedWave || o.stopStarting?.aborted) {
      for (const i of idx) results[i] = skipped(jobs[i]!, o, failedWave ? 'an earlier wave had a failure' : 'interrupted before it started');
      continue;
    }
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < idx.length) {
        const i = idx[next++]!;
        results[i] = o.stopStarting?.aborted ? skipped(jobs[i]!, o, 'interrupted before it started') : await runOne(jobs[i]!, o);
      }
    };
    const n = Math.max(1, Math.min(o.concurrency, idx.length, MAX_CONCURRENCY));
    await Promise.all(Array.from({ length: n }, worker));
    if (idx.some((i) => !results[i]!.ok)) failedWave = true;
  }
  return results;
}

function skipped(job: HostJob, o: RunOptions, why: string): HostResult {
  const t = o.now();
  return { host: job.name, ok: false, status: 'skipped', unchanged: false, exitCode: null, reason: `skipped: ${why}`, startedAt: t, endedAt: t };
}

async function runOne(job: HostJob, o: RunOptions): Promise<HostResult> {
  const startedAt = o.now();
  let step: string | undefined;
  let previous: string | undefined;
  let revision: string | undefined;
  let finished = false;
  let unchanged = false;
  let said: string | undefined;
  let outcome: { outcome: Outcome; detail: string } | undefined;
  const fields: Record<string, string> = {};
  const history: string[] = [];
  o.onStep?.(job.name, 'connecting');
  const streams = o.hostStreams?.(job.name) ?? { stdout: o.stdout, stderr: o.stderr };
  const out = new HostOutput({
    prefix: o.prefix(job.name),
    stdout: streams.stdout,
    stderr: streams.stderr,
    hold: o.quiet,
    mark: job.mark,
    onMark: (f) => {
      const m = parseMark(f.join(' '));
      if (!m) return;
      if (m.kind === 'step') {
        step = m.step;
        o.onStep?.(job.name, stepWords(m.step));
      } else if (m.kind === 'previous') previous = m.revision;
      else if (m.kind === 'revision') revision = m.revision;
      else if (m.kind === 'done') finished = true;
      else if (m.kind === 'unchanged') unchanged = finished = true;
      else if (m.kind === 'reason') said = m.text;
      else if (m.kind === 'result') outcome = m;
      else if (m.kind === 'status') fields[m.key] = m.value;
      else if (m.kind === 'history') history.push(m.line);
    },
  });

  // The client's own deadline, a little after the host's: a host that does not answer is cut off.
  const abort = new AbortController();
  let clientTimedOut = false;
  const timer = o.timeoutSec
    ? setTimeout(
        () => {
          clientTimedOut = true;
          abort.abort();
        },
        (o.timeoutSec + (o.waitLockSec ?? 0)) * 1000 + CLIENT_TIMEOUT_SLACK_MS,
      )
    : undefined;
  const onAbortRunning = (): void => abort.abort();
  o.abortRunning?.addEventListener('abort', onAbortRunning, { once: true });
  if (o.abortRunning?.aborted) abort.abort();

  let r: TransportResult;
  try {
    r = await job.transport.run({ script: job.script, onStdout: (c) => out.out.push(c), onStderr: (c) => out.err.push(c), abort: abort.signal });
  } catch (e) {
    // Transports promise not to throw; if one does, it is still just this host's failure.
    r = { exitCode: null, error: `internal error: ${(e as Error).message}` };
  } finally {
    if (timer) clearTimeout(timer);
    o.abortRunning?.removeEventListener('abort', onAbortRunning);
  }
  out.close();
  const endedAt = o.now();
  const during = step ? ` during ${stepWords(step)}` : '';
  let status: HostStatus = 'failed';
  let reason: string | undefined;
  // Assigned in a callback: TypeScript's flow analysis cannot see that.
  const o2 = outcome as { outcome: Outcome; detail: string } | undefined;
  if (o2?.outcome === 'timeout') {
    status = 'timeout';
    reason = `timed out after ${o.timeoutSec}s${during}`;
  } else if (o2?.outcome === 'interrupted' || (abort.signal.aborted && !clientTimedOut && !finished)) {
    status = 'interrupted';
    reason = `interrupted${during}`;
  } else if (o2?.outcome === 'busy') {
    reason = `locked by another run (${o2.detail}); try again later, or queue with --wait-lock SECONDS`;
  } else if (clientTimedOut && !finished) {
    status = 'timeout';
    reason = `timed out after ${o.timeoutSec}s${during}: the host did not answer`;
  } else if (r.error !== undefined) reason = step ? `${r.error} (during ${stepWords(step)})` : r.error;
  else if (r.exitCode !== 0 || r.signal) reason = said ?? failureReason(step, r.exitCode, r.signal, out.lastError);
  else if (!finished) reason = `the script stopped without finishing${step ? ` (last step: ${stepWords(step)})` : ''}`;
  if (reason === undefined) status = unchanged ? 'unchanged' : 'succeeded';
  const ok = reason === undefined;
  if (!ok && o.quiet) out.flushHeld();
  o.onDone?.(job.name, ok);
  return {
    host: job.name,
    ok,
    status,
    unchanged: ok && unchanged,
    exitCode: r.exitCode,
    startedAt,
    endedAt,
    ...(step !== undefined ? { step } : {}),
    ...(reason !== undefined ? { reason } : {}),
    ...(previous ? { previous } : {}),
    ...(revision ? { revision } : {}),
    ...(Object.keys(fields).length ? { fields } : {}),
    ...(history.length ? { history } : {}),
  };
}
