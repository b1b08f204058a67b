// host jobs → results. Starts every host at once (bounded by concurrency),
// streams output as it comes, and never rejects: each host gets a result.
import { HostOutput, type Stream } from './output.js';
import type { Transport } from './transport/types.js';

export interface HostJob {
  name: string;
  script: string;
  transport: Transport;
}

export interface HostResult {
  host: string;
  ok: boolean;
  /** --check found nothing to deploy. */
  unchanged: boolean;
  exitCode: number | null;
  step?: string;
  reason?: string;
  previous?: string;
  revision?: string;
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
  now(): number;
}

// "All hosts at once" has to stop somewhere: past this, more sockets in
// flight only queue on the CPU doing key exchange.
export const MAX_CONCURRENCY = 256;

const STEP_WORDS: Record<string, string> = {
  cd: 'checking deploy_to',
  check: 'staleness check',
  fetch: 'git fetch/checkout/reset',
  changes: 'recording changed files',
  config: 'config repository update',
  config_clone: 'config repository clone',
  rsync: 'config rsync',
  clone: 'git clone',
  rake: 'rake hook',
};

export function failureReason(step: string | undefined, exitCode: number | null, signal: string | undefined, lastError: string): string {
  const tail = lastError ? `: ${lastError}` : '';
  if (signal) return `killed by ${signal}${step ? ` during ${STEP_WORDS[step] ?? step}` : ''}`;
  if (step === 'post_deploy_script' || step === 'post_setup_script') return `${step} exited ${exitCode}`;
  if (step === undefined) return `the script failed before its first step (exit ${exitCode})${tail}`;
  return `${STEP_WORDS[step] ?? step} failed (exit ${exitCode})${tail}`;
}

export async function runHosts(jobs: readonly HostJob[], o: RunOptions): Promise<HostResult[]> {
  const results: HostResult[] = new Array<HostResult>(jobs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await runOne(jobs[i]!, o);
    }
  };
  const n = Math.max(1, Math.min(o.concurrency, jobs.length, MAX_CONCURRENCY));
  await Promise.all(Array.from({ length: n }, worker));
  return results;
}

async function runOne(job: HostJob, o: RunOptions): Promise<HostResult> {
  const startedAt = o.now();
  let step: string | undefined;
  let previous: string | undefined;
  let revision: string | undefined;
  let finished = false;
  let unchanged = false;
  const out = new HostOutput({
    prefix: o.prefix(job.name),
    stdout: o.stdout,
    stderr: o.stderr,
    hold: o.quiet,
    onMark: ([kind, value]) => {
      if (kind === 'step') step = value;
      else if (kind === 'previous') previous = value;
      else if (kind === 'revision') revision = value;
      else if (kind === 'done') finished = true;
      else if (kind === 'unchanged') unchanged = finished = true;
    },
  });
  let r;
  try {
    r = await job.transport.run({ script: job.script, onStdout: (c) => out.out.push(c), onStderr: (c) => out.err.push(c) });
  } catch (e) {
    // Transports promise not to throw; if one does, it is still just this host's failure.
    r = { exitCode: null, error: `internal error: ${(e as Error).message}` };
  }
  out.close();
  const endedAt = o.now();
  let reason: string | undefined;
  if (r.error !== undefined) reason = step ? `${r.error} (during ${STEP_WORDS[step] ?? step})` : r.error;
  else if (r.exitCode !== 0 || r.signal) reason = failureReason(step, r.exitCode, r.signal, out.lastError);
  else if (!finished) reason = `the script stopped without finishing${step ? ` (last step: ${STEP_WORDS[step] ?? step})` : ''}`;
  const ok = reason === undefined;
  if (!ok && o.quiet) out.flushHeld();
  return {
    host: job.name,
    ok,
    unchanged: ok && unchanged,
    exitCode: r.exitCode,
    startedAt,
    endedAt,
    ...(step !== undefined ? { step } : {}),
    ...(reason !== undefined ? { reason } : {}),
    ...(previous ? { previous } : {}),
    ...(revision ? { revision } : {}),
  };
}
