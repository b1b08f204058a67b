// results → the summary block and the exit status.
import { green, red, sanitize } from './output.js';
import type { HostResult } from './runner.js';

const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;
const secs = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;

export function summary(results: readonly HostResult[], color: boolean): string {
  const lines = ['Results:'];
  for (const r of results) {
    const took = secs(r.endedAt - r.startedAt);
    // Host names and reasons (a host's own stderr) are made inert: a CR or an
    // escape sequence in them must not make a failed host's line read "succeeded".
    const host = sanitize(r.host);
    if (r.ok) lines.push(`  ${host} => ${green(color, 'succeeded')}${r.unchanged ? ', no changes' : ''} (${took})`);
    else lines.push(`  ${host} => ${red(color, 'failed')}: ${sanitize(r.reason ?? 'unknown error')} (${took})`);
  }
  const ok = results.filter((r) => r.ok).length;
  const bad = results.length - ok;
  lines.push(`Total: ${plural(results.length, 'deployment', 'deployments')}, ${plural(ok, 'success', 'successes')}, ${plural(bad, 'failure', 'failures')}.`);
  return lines.join('\n') + '\n';
}

export function exitCode(results: readonly HostResult[]): number {
  return results.every((r) => r.ok) ? 0 : 1;
}

export function jsonReport(command: string, environment: string, results: readonly HostResult[], startedAt: number, endedAt: number): string {
  return JSON.stringify({
    command,
    environment,
    status: results.every((r) => r.ok) ? 'succeeded' : 'failed',
    durationMs: endedAt - startedAt,
    hosts: results.map((r) => ({
      host: r.host,
      status: r.ok ? (r.unchanged ? 'unchanged' : 'succeeded') : 'failed',
      ...(r.reason !== undefined ? { reason: r.reason } : {}),
      ...(r.step !== undefined && !r.ok ? { step: r.step } : {}),
      exitCode: r.exitCode,
      previousRevision: r.previous ?? null,
      revision: r.revision ?? null,
      durationMs: r.endedAt - r.startedAt,
    })),
  }, null, 2) + '\n';
}
