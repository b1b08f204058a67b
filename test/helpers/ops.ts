// Helpers for the operations and reliability suites: a local project (real
// origin, deploy.yml, deploy_to beside it), wd started in the background so a
// test can signal or race it, and probes of the host's state (history, lock,
// processes) made the way an operator would make them.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { git, makeOrigin, type Origin } from './git.js';
import { reapOnExit, tmpDir } from './tmp.js';
import { runWd, WD_BIN, type RunOpts, type WdRun } from './wd.js';

/** The user name wd reports in history and lock lines for runs started here. */
export const TEST_USER = 'ops-tester';
export const BY = `${TEST_USER}@${hostname()}`;
export const WD_ENV = { USER: TEST_USER, LOGNAME: TEST_USER };

export interface Local {
  origin: Origin;
  /** Where deploy.yml lives and wd runs. */
  dir: string;
  /** deploy_to (absolute). */
  app: string;
  /** <deploy_to>/.git/wd */
  state: string;
  /** Write deploy.yml (environment `prod`, domain local) with these extra keys (undefined: leave the key out); returns its path. */
  config(extra?: Record<string, unknown>, file?: string): string;
  wd(args: string[], opts?: RunOpts): Promise<WdRun>;
  start(args: string[], opts?: RunOpts): Bg;
}

/** A project deploying locally: origin with `files` on main, deploy_to `<dir>/app`. */
export function localProject(files: Record<string, string> = {}, extra: Record<string, unknown> = {}): Local {
  const origin = makeOrigin('origin', files);
  const dir = tmpDir('wd-ops-');
  const app = join(dir, 'app');
  const config = (more: Record<string, unknown> = {}, file = 'deploy.yml'): string => {
    const path = join(dir, file);
    const prod = Object.fromEntries(
      Object.entries({ deploy_to: app, repository: origin.url, branch: 'main', ...extra, ...more }).filter(([, v]) => v !== undefined),
    );
    writeFileSync(path, yaml.dump({ prod }));
    return path;
  };
  config();
  return {
    origin,
    dir,
    app,
    state: join(app, '.git', 'wd'),
    config,
    wd: (args, opts = {}) => runWd(args, { cwd: dir, timeoutMs: 60_000, ...opts, env: { ...WD_ENV, ...opts.env } }),
    start: (args, opts = {}) => startWd(args, { cwd: dir, ...opts, env: { ...WD_ENV, ...opts.env } }),
  };
}

export interface Bg {
  child: ChildProcess;
  pid: number;
  /** Resolves when wd has exited. */
  done: Promise<WdRun>;
  stdout(): string;
  stderr(): string;
}

/** wd in the background: the test may signal it (child.kill) or race it against another run. */
export function startWd(args: string[], opts: RunOpts = {}): Bg {
  const child = spawn(process.execPath, [WD_BIN, ...args], {
    cwd: opts.cwd ?? process.cwd(),
    env: { ...process.env, NO_COLOR: '1', ...opts.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`could not start wd ${args.join(' ')}`);
  const unreap = reapOnExit(child.pid);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  child.stdin!.end(opts.input ?? '');
  const done = new Promise<WdRun>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`wd ${args.join(' ')} did not finish within ${opts.timeoutMs ?? 60_000}ms\nstdout:\n${out}\nstderr:\n${err}`));
    }, opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      unreap();
      resolve({ code, stdout: out, stderr: err });
    });
  });
  // A test that fails before awaiting it must not turn into an unhandled rejection.
  done.catch(() => {});
  return { child, pid: child.pid, done, stdout: () => out, stderr: () => err };
}

/** Poll until cond() holds; throws naming `what` after `ms` (a bound on a wait, not a timing assertion). */
export async function waitFor(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`waited ${ms}ms for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The history file of a checkout: one array of tab-separated fields per line. */
export function history(state: string): string[][] {
  const file = join(state, 'history');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split('\t'));
}

/** Whether some process holds the flock on `file` (asks flock itself, without waiting). */
export function lockHeld(file: string): boolean {
  return spawnSync('flock', ['-n', file, 'true']).status !== 0;
}

/** Process ids whose command line contains `pattern` (a fixed string), other than pgrep itself. */
export function processesMatching(pattern: string): number[] {
  const r = spawnSync('pgrep', ['-f', '--', pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')], { encoding: 'utf8' });
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map(Number)
    .filter((p) => p !== r.pid);
}

/** Kill whatever a failed test left running with `pattern` in its command line. */
export function killMatching(pattern: string): void {
  for (const pid of processesMatching(pattern)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone already */
    }
  }
}

/** Hold the flock on `file` from a separate process until release(). */
export async function holdLock(file: string): Promise<{ release(): Promise<void> }> {
  // Its own process group: flock forks sh (then sleep), which inherits the lock; all must go.
  // The holder says when it has the lock: probing with another flock would compete for it.
  const child = spawn('flock', ['-n', file, 'sh', '-c', 'echo locked; exec sleep 600'], { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
  const unreap = reapOnExit(child.pid!, true);
  const closed = new Promise<void>((r) => child.once('close', () => r()));
  let said = '';
  child.stdout!.on('data', (d: Buffer) => (said += d.toString()));
  await waitFor(() => said.includes('locked') || child.exitCode !== null, `flock on ${file}`);
  if (!said.includes('locked')) throw new Error(`could not take the lock on ${file}`);
  return {
    async release() {
      process.kill(-child.pid!, 'SIGKILL');
      await closed;
      unreap();
    },
  };
}

/** The logs kept under <git dir>/wd/logs, newest name last. */
export function logs(state: string): string[] {
  const dir = join(state, 'logs');
  return existsSync(dir)
    ? readdirSync(dir)
        .sort()
        .map((f) => join(dir, f))
    : [];
}

/** A post script that says it started, then waits for `<deploy_to>.go` (made by the test), a minute at most. */
export const WAIT_FOR_GO = `#!/bin/bash
echo "post: started"
: >"$WD_DEPLOY_TO.started"
# Bounded, so a test that fails before saying go leaves nothing behind for long.
for ((i = 0; i < 1200; i++)); do
  if [ -e "$WD_DEPLOY_TO.go" ]; then echo "post: finished"; exit 0; fi
  sleep 0.05
done
echo "post: never told to go" >&2
exit 9
`;

export const headOf = (dir: string): string => git(dir, 'rev-parse', 'HEAD');

/** Durations vary: "(1.2s)" becomes "(T)". */
export const durations = (s: string): string => s.replace(/\(\d+\.\d+s\)/g, '(T)');

export const show = (r: WdRun): string => `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
