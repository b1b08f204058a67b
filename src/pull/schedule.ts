// Pull mode's schedule, pure: --every as seconds, the same times as a cron
// line and as a systemd OnCalendar=, and the id that names a host's timer
// units and crontab entry.
import { createHash } from 'node:crypto';
import { UsageError } from '../errors.js';

export const DEFAULT_EVERY = '5m';

// Both schedulers run on the clock's grid (cron can do nothing else), so an
// interval must divide an hour (minutes) or a day (hours): every run is then
// the same length apart, on cron and on systemd alike.
const MINUTES = [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30];
const HOURS = [1, 2, 3, 4, 6, 8, 12, 24];

/** `--every 5m` → 300. Whole minutes that divide an hour, or whole hours that divide a day. */
export function parseEvery(value: string): number {
  const m = /^([1-9][0-9]{0,5})([smh])$/.exec(value);
  const valid = `one that divides an hour or a day evenly: ${MINUTES.map((n) => `${n}m`).join(', ')}, ${HOURS.map((n) => `${n}h`).join(', ')} (or the same in s)`;
  if (!m) throw new UsageError(`--every '${value}' is not an interval: write a number and s, m or h, e.g. --every 5m; ${valid}.`);
  const sec = Number(m[1]) * { s: 1, m: 60, h: 3600 }[m[2] as 's' | 'm' | 'h'];
  if (sec % 60 !== 0 || sec < 60)
    throw new UsageError(`--every '${value}': pulls run on whole minutes (cron can do no finer), so the shortest is 1m; use ${valid}.`);
  const min = sec / 60;
  if (min < 60 ? !MINUTES.includes(min) : min % 60 !== 0 || !HOURS.includes(min / 60)) {
    throw new UsageError(
      `--every '${value}' does not divide ${min < 60 ? 'an hour' : 'a day'} evenly, so runs would not be the same time apart; use ${valid}.`,
    );
  }
  return sec;
}

/** 300 → "5m", 7200 → "2h": how help and output say it. */
export function everyText(sec: number): string {
  return sec % 3600 === 0 ? `${sec / 3600}h` : `${sec / 60}m`;
}

/** The five time fields of a crontab line. */
export function cronTimes(sec: number): string {
  const min = sec / 60;
  if (min === 1) return '* * * * *';
  if (min < 60) return `*/${min} * * * *`;
  const h = min / 60;
  return h === 1 ? '0 * * * *' : h === 24 ? '0 0 * * *' : `0 */${h} * * *`;
}

/** The same times as a systemd calendar expression. */
export function onCalendar(sec: number): string {
  const min = sec / 60;
  if (min === 1) return '*-*-* *:*:00';
  if (min < 60) return `*-*-* *:00/${min}:00`;
  const h = min / 60;
  return h === 1 ? '*-*-* *:00:00' : h === 24 ? '*-*-* 00:00:00' : `*-*-* 00/${h}:00:00`;
}

/** The readable part of a pull id: the environment's letters and digits, then '-' (or nothing). */
export function pullSlug(environment: string): string {
  const slug = environment
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 32)
    .replace(/-+$/, '');
  return slug ? `${slug}-` : '';
}

/**
 * The name of a host's pull units and crontab entry: `wd-pull-<env>-<hash>`,
 * made on the host (the installer computes the same). The environment part is
 * only for people; the hash of the environment and deploy_to's absolute path
 * there makes it unique per checkout and is what is matched, so no user text
 * needs quoting in a unit name.
 */
export function pullId(environment: string, absDeployTo: string): string {
  const hash = createHash('sha256').update(`${environment}\0${absDeployTo}`).digest('hex').slice(0, 12);
  return `wd-pull-${pullSlug(environment)}${hash}`;
}
