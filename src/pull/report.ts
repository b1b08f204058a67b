// `wd pull` results → the summary, the pull status table and JSON.
import { green, red, sanitize } from '../output.js';
import { parseHistory, parsePullRun, parsePullSchedule, table, type HistoryEntry, type PullRun } from '../report.js';
import type { HostResult } from '../runner.js';
import { VERSION } from '../version.js';
import type { PullSubcommand } from '../args.js';
import { everyText } from './schedule.js';

const secs = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;
const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;

/** wd pull status: one host's pull mode, as data. */
export interface PullHostStatus {
  host: string;
  reachable: boolean;
  reason?: string;
  /** deploy_to holds a deploy (wd setup has run). */
  setUp?: boolean;
  /** A timer or crontab entry is in place. */
  pull?: boolean;
  scheduler?: string | null;
  every?: number | null;
  installedAt?: string | null;
  installedBy?: string | null;
  lastRun?: PullRun | null;
  lastDeploy?: HistoryEntry | null;
  lock?: string | null;
}

export function pullHostStatus(r: HostResult): PullHostStatus {
  const f = r.fields ?? {};
  if (!r.ok) return { host: r.host, reachable: false, reason: r.reason ?? 'unknown error' };
  if (f['missing'] !== undefined) return { host: r.host, reachable: true, setUp: false, pull: false, reason: `no deploy at ${f['missing']}` };
  const s = parsePullSchedule(f['schedule'] ?? '');
  const scheduled = f['scheduled'] ?? '';
  return {
    host: r.host,
    reachable: true,
    setUp: true,
    pull: scheduled !== '',
    scheduler:
      scheduled === ''
        ? null
        : scheduled === 'cron'
          ? 'cron'
          : s.scheduler?.startsWith('systemd')
            ? `${s.scheduler}${scheduled.includes('not active') ? ' (timer not active)' : ''}`
            : scheduled,
    every: s.every,
    installedAt: s.installedAt,
    installedBy: s.installedBy,
    lastRun: parsePullRun(f['last']),
    lastDeploy: parseHistory(f['last_pull']) ?? null,
    lock: f['lock'] || null,
  };
}

export function pullStatusTable(results: readonly HostResult[], color: boolean): string {
  const rows: string[][] = [['HOST', 'PULL', 'EVERY', 'LAST RUN', 'RESULT', 'REVISION', 'LAST PULLED DEPLOY', 'LOCK']];
  const extra: string[] = [];
  for (const r of results) {
    const s = pullHostStatus(r);
    const host = sanitize(r.host);
    if (!s.reachable) {
      rows.push([host, red(color, 'unreachable'), '', '', '', '', '', '']);
      extra.push(`  ${host}: ${sanitize(s.reason ?? '')}`);
      continue;
    }
    if (!s.setUp) {
      rows.push([host, 'not set up', '', '', '', '', '', '']);
      continue;
    }
    const last = s.lastRun;
    const bad = last !== null && last !== undefined && last.result !== 'ok' && last.result !== 'unchanged';
    const d = s.lastDeploy;
    rows.push([
      host,
      s.pull ? sanitize(s.scheduler ?? 'on') : 'off',
      s.every ? everyText(s.every) : '-',
      last ? sanitize(last.time) : s.pull ? 'not yet' : '-',
      last ? (bad ? red(color, sanitize(last.result)) : sanitize(last.result)) : '-',
      last?.revision ? last.revision.slice(0, 7) : '-',
      d ? sanitize(`${d.time} ${d.result}`) : '-',
      sanitize(s.lock ?? '-'),
    ]);
    if (bad && last?.reason) extra.push(`  ${host}: ${sanitize(last.reason)}`);
  }
  return [...table(rows), ...extra].join('\n') + '\n';
}

/** What install or uninstall did on one host, in a word or three. */
function done(sub: PullSubcommand, r: HostResult): string {
  const f = r.fields ?? {};
  if (sub === 'uninstall') return f['removed'] === 'no' ? 'nothing to remove' : 'removed';
  const every = f['every'] && /^[0-9]+$/.test(f['every']) ? `, every ${everyText(Number(f['every']))}` : '';
  return `installed: ${sanitize(f['scheduler'] ?? '')}${every}`;
}

export function pullSummary(sub: PullSubcommand, results: readonly HostResult[], color: boolean): string {
  const lines = ['Results:'];
  for (const r of results) {
    const host = sanitize(r.host);
    const took = secs(r.endedAt - r.startedAt);
    if (r.ok) lines.push(`  ${host} => ${green(color, done(sub, r))} (${took})`);
    else if (r.status === 'skipped') lines.push(`  ${host} => skipped: ${sanitize(r.reason ?? '').replace(/^skipped: /, '')}`);
    else lines.push(`  ${host} => ${red(color, r.status === 'interrupted' ? 'interrupted' : 'failed')}: ${sanitize(r.reason ?? 'unknown error')} (${took})`);
  }
  const ok = results.filter((r) => r.ok).length;
  const bad = results.length - ok;
  lines.push(
    `Total: ${plural(results.length, 'host', 'hosts')}, ${ok} ${sub === 'install' ? 'installed' : 'uninstalled'}, ${plural(bad, 'failure', 'failures')}.`,
  );
  return lines.join('\n') + '\n';
}

export function pullJson(sub: PullSubcommand, environment: string, results: readonly HostResult[], startedAt: number, endedAt: number): string {
  const status = results.every((r) => r.ok) ? 'succeeded' : 'failed';
  const command = `pull ${sub}`;
  if (sub === 'status') return JSON.stringify({ version: VERSION, command, environment, status, hosts: results.map(pullHostStatus) }, null, 2) + '\n';
  const hosts = results.map((r) => {
    const f = r.fields ?? {};
    return {
      host: r.host,
      status: r.ok ? 'succeeded' : r.status,
      ...(r.reason !== undefined ? { reason: r.reason } : {}),
      exitCode: r.exitCode,
      ...(sub === 'install' && r.ok
        ? { scheduler: f['scheduler'] ?? null, every: f['every'] ? Number(f['every']) : null, id: f['id'] ?? null, dir: f['dir'] ?? null }
        : {}),
      ...(sub === 'uninstall' && r.ok ? { removed: f['removed'] === 'yes' } : {}),
      durationMs: r.endedAt - r.startedAt,
    };
  });
  return JSON.stringify({ version: VERSION, command, environment, status, durationMs: endedAt - startedAt, hosts }, null, 2) + '\n';
}
