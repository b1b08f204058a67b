// results → the summary block, the status table, JSON, and the exit status.
import { everyText } from './pull/schedule.js';
import { green, red, sanitize } from './output.js';
import type { HostResult } from './runner.js';
import { VERSION } from './version.js';

const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;
const secs = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;
const short = (rev: string | undefined): string => (rev ? rev.slice(0, 7) : '');

export function summary(results: readonly HostResult[], color: boolean): string {
  const lines = ['Results:'];
  for (const r of results) {
    const took = secs(r.endedAt - r.startedAt);
    const rev = r.revision ? ` ${short(r.revision)}` : '';
    // Host names and reasons (a host's own stderr) are made inert: a CR or an
    // escape sequence in them must not make a failed host's line read "succeeded".
    const host = sanitize(r.host);
    if (r.ok) lines.push(`  ${host} => ${green(color, 'succeeded')}${rev}${r.unchanged ? ', no changes' : ''} (${took})`);
    else if (r.status === 'skipped') lines.push(`  ${host} => skipped: ${sanitize(r.reason ?? '').replace(/^skipped: /, '')}`);
    else lines.push(`  ${host} => ${red(color, r.status === 'interrupted' ? 'interrupted' : 'failed')}: ${sanitize(r.reason ?? 'unknown error')} (${took})`);
  }
  const ok = results.filter((r) => r.ok).length;
  const skipped = results.filter((r) => r.status === 'skipped').length;
  const bad = results.length - ok - skipped;
  lines.push(
    `Total: ${plural(results.length, 'deployment', 'deployments')}, ${plural(ok, 'success', 'successes')}, ${plural(bad, 'failure', 'failures')}` +
      `${skipped ? `, ${skipped} skipped` : ''}.`,
  );
  return lines.join('\n') + '\n';
}

export function exitCode(results: readonly HostResult[]): number {
  return results.every((r) => r.ok) ? 0 : 1;
}

/** One history line (tab-separated on the host) as an object. */
export interface HistoryEntry {
  time: string;
  by: string;
  version: string;
  command: string;
  branch: string;
  previousRevision: string | null;
  revision: string | null;
  result: string;
  duration: string;
}

export function parseHistory(line: string | undefined): HistoryEntry | undefined {
  if (!line) return undefined;
  const f = line.split('\t');
  if (f.length < 9) return undefined;
  const rev = (s: string | undefined): string | null => (s && s !== '-' ? s : null);
  return {
    time: f[0]!,
    by: f[1]!,
    version: f[2]!,
    command: f[3]!,
    branch: f[4]!,
    previousRevision: rev(f[5]),
    revision: rev(f[6]),
    result: f[7]!,
    duration: f[8]!,
  };
}

/** One line of <state>/pull/last, written by pull mode's run.sh after every pulled run (docs/scaling.md). */
export interface PullRun {
  time: string;
  /** The deploy job's result: ok, unchanged, failed <step>, busy <holder>, timeout. */
  result: string;
  revision: string | null;
  exitCode: number;
  duration: string;
  reason: string | null;
}

export function parsePullRun(line: string | undefined): PullRun | null {
  if (!line) return null;
  const f = line.split('\t');
  if (f.length < 5) return null;
  return { time: f[0]!, result: f[1]!, revision: f[2] && f[2] !== '-' ? f[2] : null, exitCode: Number(f[3]), duration: f[4]!, reason: f[5] || null };
}

/** <state>/pull/schedule, written by `wd pull install`: scheduler, every (seconds), id, installed at, installed by. */
export function parsePullSchedule(line: string): { scheduler: string | null; every: number | null; installedAt: string | null; installedBy: string | null } {
  const s = line.split('\t');
  return { scheduler: s[0] || null, every: s[1] && /^[0-9]+$/.test(s[1]) ? Number(s[1]) : null, installedAt: s[3] || null, installedBy: s[4] || null };
}

/** Pull mode as `wd status` sees it: installed (its <state>/pull/schedule line) and the last pulled run. */
function pullOf(f: Record<string, string>): Record<string, unknown> {
  if (f['pull'] === undefined) return {};
  const { scheduler, every } = parsePullSchedule(f['pull']);
  return { pull: { scheduler, every, lastRun: parsePullRun(f['pull_last']) } };
}

/** wd status: what each host reported, as data. */
export function hostStatus(r: HostResult): Record<string, unknown> {
  const f = r.fields ?? {};
  if (!r.ok) return { host: r.host, reachable: false, reason: r.reason ?? 'unknown error' };
  if (f['missing'] !== undefined) return { host: r.host, reachable: true, deployed: false, reason: `no checkout at ${f['missing']}` };
  const last = parseHistory(f['last']);
  const lastOk = parseHistory(f['last_ok']);
  const origin = f['origin'] ?? '';
  return {
    host: r.host,
    reachable: true,
    deployed: true,
    revision: f['revision'] || null,
    subject: f['subject'] ?? null,
    branch: f['branch'] ?? null,
    deployedRevision: f['deployed'] || null,
    deployedAt: lastOk?.time ?? null,
    deployedBy: lastOk?.by ?? null,
    lastRun: last ? { command: last.command, result: last.result, time: last.time, by: last.by } : null,
    dirtyFiles: Number(f['dirty'] ?? 0),
    originRevision: origin && origin !== 'unreachable' ? origin : null,
    behindOrigin: origin === 'unreachable' || origin === '' ? null : origin !== f['revision'],
    lock: f['lock'] ? f['lock'] : null,
    // strategy: releases: the release current points to, and the ones kept (oldest first).
    ...(f['strategy'] === 'releases' ? { strategy: 'releases', release: f['release'] || null, releases: f['releases'] ? f['releases'].split('/') : [] } : {}),
    ...pullOf(f),
    ...(r.history ? { history: r.history.map((l) => parseHistory(l) ?? { raw: l }) } : {}),
  };
}

export function statusTable(results: readonly HostResult[], color: boolean, _now: number): string {
  const rows: string[][] = [['HOST', 'REVISION', 'BRANCH', 'DEPLOYED', 'BY', 'LAST RUN', 'TREE', 'ORIGIN', 'LOCK']];
  const extra: string[] = [];
  for (const r of results) {
    const s = hostStatus(r) as Record<string, unknown> & { lastRun?: { command: string; result: string } | null };
    if (!s['reachable']) {
      rows.push([r.host, red(color, 'unreachable'), '', '', '', '', '', '', '']);
      extra.push(`  ${r.host}: ${String(s['reason'])}`);
      continue;
    }
    if (!s['deployed']) {
      rows.push([r.host, 'not set up', '', '', '', '', '', '', '']);
      continue;
    }
    const rev = short(s['revision'] as string | undefined) + (s['subject'] ? ` ${String(s['subject']).slice(0, 40)}` : '');
    const lr = s.lastRun;
    const lastRun = lr ? `${lr.command} ${lr.result}` : '-';
    const dirty = Number(s['dirtyFiles']);
    const behind = s['behindOrigin'];
    rows.push([
      r.host,
      rev,
      String(s['branch'] ?? ''),
      String(s['deployedAt'] ?? '-'),
      String(s['deployedBy'] ?? '-'),
      lr && lr.result !== 'ok' ? red(color, lastRun) : lastRun,
      dirty ? `dirty (${dirty})` : 'clean',
      behind === null ? 'unknown' : behind ? `behind (${short(s['originRevision'] as string)})` : 'up to date',
      String(s['lock'] ?? '-'),
    ]);
    if (s['strategy'] === 'releases') {
      const kept = (s['releases'] as string[]).map((n) => (n === s['release'] ? `${n} (live)` : n));
      extra.push(`  ${r.host}: ${s['release'] ? `current -> releases/${String(s['release'])}` : 'no live release'}; kept: ${kept.join(', ') || 'none'}`);
    }
    const pull = s['pull'] as { scheduler: string | null; every: number | null; lastRun: PullRun | null } | undefined;
    if (pull) {
      const every = pull.every ? `, every ${everyText(pull.every)}` : '';
      const last = pull.lastRun ? `last pulled run ${pull.lastRun.time} ${pull.lastRun.result}` : 'no pulled run yet';
      extra.push(`  ${r.host}: pull mode (${pull.scheduler ?? 'unknown'}${every}); ${sanitize(last)}`);
    }
    for (const h of r.history ?? []) extra.push(`  ${r.host}: ${h.replace(/\t/g, '  ')}`);
  }
  return [...table(rows), ...extra].join('\n') + '\n';
}

/** Rows as aligned columns, two spaces apart; widths from the text without colour codes. */
export function table(rows: readonly string[][]): string[] {
  const plain = (t: string): string => t.replace(/\x1b\[[0-9;]*m/g, '');
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => plain(row[c] ?? '').length)));
  return rows.map((row) =>
    row
      .map((cell, c) => (c === row.length - 1 ? cell : cell + ' '.repeat(widths[c]! - plain(cell).length)))
      .join('  ')
      .trimEnd(),
  );
}

export function jsonReport(command: string, environment: string, results: readonly HostResult[], startedAt: number, endedAt: number): string {
  if (command === 'status') {
    return (
      JSON.stringify(
        { version: VERSION, command, environment, status: results.every((r) => r.ok) ? 'succeeded' : 'failed', hosts: results.map(hostStatus) },
        null,
        2,
      ) + '\n'
    );
  }
  return (
    JSON.stringify(
      {
        version: VERSION,
        command,
        environment,
        status: results.every((r) => r.ok) ? 'succeeded' : 'failed',
        durationMs: endedAt - startedAt,
        hosts: results.map((r) => ({
          host: r.host,
          status: r.status,
          ...(r.reason !== undefined ? { reason: r.reason } : {}),
          ...(r.step !== undefined && !r.ok ? { step: r.step } : {}),
          exitCode: r.exitCode,
          previousRevision: r.previous ?? null,
          revision: r.revision ?? null,
          durationMs: r.endedAt - r.startedAt,
        })),
      },
      null,
      2,
    ) + '\n'
  );
}
