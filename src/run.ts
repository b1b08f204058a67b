// The pipeline for setup/deploy/rollback/status: options → config → host
// plans → scripts → transports → results → report. Effects (filesystem,
// network, clock, output, signals) come in through Io so the hook, the
// library API and tests drive the same code.
import { hostname, homedir, userInfo } from 'node:os';
import type { Options } from './args.js';
import { configFromSource, loadConfig, type Batch, type EnvConfig } from './config.js';
import { cachedReader } from './files.js';
import { dim, sanitize, useColor, type Stream } from './output.js';
import { planHosts, waves, type Action, type HostPlan, type RunFlags } from './plan.js';
import { Progress } from './progress.js';
import { exitCode, jsonReport, statusTable, summary } from './report.js';
import { MAX_CONCURRENCY, runHosts, type HostJob, type HostResult } from './runner.js';
import { buildScript, type BuiltScript } from './script.js';
import { LocalTransport } from './transport/local.js';
import { VERSION } from './version.js';
import type { Transport } from './transport/types.js';

export interface Io {
  stdout: Stream & { isTTY?: boolean };
  stderr: Stream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
  now(): number;
  /** Ctrl-C / SIGTERM: the handler runs on each one; returns a function that stops listening. */
  onInterrupt?(handler: () => void): () => void;
}

export interface Prepared {
  env: EnvConfig;
  plans: HostPlan[];
  /**
   * Each host's script, or the function that builds one. A function is called
   * as each host starts, so a run to thousands of hosts never holds all their
   * scripts (tens of KB each) at once.
   */
  scripts: readonly BuiltScript[] | ((plan: HostPlan) => BuiltScript);
}

/** Host i's script, built now when `p.scripts` is a function. */
export function scriptOf(p: Prepared, i: number): BuiltScript {
  return typeof p.scripts === 'function' ? p.scripts(p.plans[i]!) : p.scripts[i]!;
}

/**
 * A runner job whose script is built when the runner asks for it, and let go
 * once handed to the transport (the mark, a few bytes, is kept).
 */
function lazyJob(name: string, transport: Transport, build: () => BuiltScript): HostJob {
  let built: BuiltScript | undefined;
  let mark: string | undefined;
  return {
    name,
    transport,
    get mark() {
      if (mark === undefined) {
        built ??= build();
        mark = built.mark;
      }
      return mark;
    },
    get script() {
      const text = (built ?? build()).text;
      built = undefined;
      return text;
    },
  };
}

/** The config stage: find, read and validate the environment. Any problem is exit 2. */
export async function loadEnv(opts: Pick<Options, 'path' | 'project' | 'env'>, cwd: string): Promise<EnvConfig> {
  const source = await loadConfig(opts.path, cwd, opts.project, opts.env);
  return configFromSource(source, opts.project, opts.env);
}

/** Who runs this, for the history and the lock on each host. */
export function whoAmI(env: NodeJS.ProcessEnv): string {
  let user = env['USER'] ?? env['LOGNAME'];
  try {
    user ??= userInfo().username;
  } catch {
    user ??= 'unknown';
  }
  // It goes into tab-separated, one-a-line history and lock files on every host.
  return `${user}@${hostname()}`.replace(/[\x00-\x1f\x7f]/g, '?');
}

/** What of the options decides how a host runs; the library's deploy() passes the same. */
export type RunOptions = Pick<Options, 'debug' | 'check' | 'force' | 'timeout' | 'waitLock' | 'connectTimeout' | 'history' | 'rev'>;

export function runFlags(opts: RunOptions, env: EnvConfig, io: Pick<Io, 'env'>): RunFlags {
  return {
    debug: opts.debug,
    check: opts.check,
    force: opts.force,
    timeout: opts.timeout ?? env.timeout ?? 0,
    waitLock: opts.waitLock ?? 0,
    by: whoAmI(io.env),
    ...((opts.connectTimeout ?? env.connectTimeout) !== undefined ? { connectTimeout: (opts.connectTimeout ?? env.connectTimeout)! } : {}),
    history: opts.history ?? 0,
    ...(opts.rev !== undefined ? { rollbackTo: opts.rev } : {}),
  };
}

/** Everything up to the scripts; pure but for the SSH settings check. Any problem here is exit 2. */
export async function prepare(action: Action, env: EnvConfig, opts: Options, io: Io): Promise<Prepared> {
  const plans = planHosts(env, action, { roles: opts.roles, ...(opts.only !== undefined ? { only: opts.only } : {}) }, io.cwd, runFlags(opts, env, io));
  return { env, plans, scripts: buildScript };
}

/** How to reach a host over SSH (~/.ssh/config included); a problem is a ConfigError, found by --dry-run too. */
export async function sshSettings(plan: HostPlan, io: Io, readFile: (path: string) => string | undefined) {
  const { resolveSsh } = await import('./ssh/options.js');
  const home = io.env['HOME'] ?? homedir();
  return resolveSsh(plan.host.name, plan.host.ssh, {
    home,
    localUser: io.env['USER'] ?? userInfo().username,
    ...(io.env['SSH_AUTH_SOCK'] ? { agentSocket: io.env['SSH_AUTH_SOCK'] } : {}),
    ...(plan.run.connectTimeout !== undefined ? { connectTimeoutSec: plan.run.connectTimeout } : {}),
    readFile,
  });
}

// ssh2 costs ~100 ms to load: only pay that when a host needs SSH and something will run.
export async function transportFor(plan: HostPlan, io: Io, readFile = cachedReader()): Promise<Transport> {
  if (plan.host.local) return new LocalTransport(io.env, io.cwd);
  const [settings, { SshTransport, defaultSshDeps }] = await Promise.all([sshSettings(plan, io, readFile), import('./ssh/transport.js')]);
  return new SshTransport(settings, { ...defaultSshDeps, readFile });
}

export interface ExecuteOptions {
  concurrency?: number;
  quiet?: boolean;
  /** Host output: where it goes (default io.stdout). */
  hostOut?: Stream;
  batch?: Batch;
  canary?: boolean;
  /** The live status line (terminal) or keep-alive lines (CI); default on. */
  progress?: boolean;
  /** Each output line of each host, unprefixed, instead of writing to io.stdout/io.stderr. */
  onLine?(host: string, line: string, stream: 'stdout' | 'stderr'): void;
  /** Aborted: the running hosts are told to stop (as a second Ctrl-C). */
  signal?: AbortSignal;
}

// --debug traces post scripts (bash -x), and a trace shows the values of
// rake_env as the script uses them: mask those in host output. Output is
// masked a line at a time, and bash's trace shows a value raw, in single
// quotes with ' as '\'', or as $'...' with escapes (\001), depending on what
// it holds: so besides the whole value, each run of it between line breaks,
// control characters, quotes and backslashes is masked, whichever form the
// trace took. Values and runs shorter than 4 characters are not masked ("1",
// "yes"): they are no secret, and masking them would garble every line.
const MASK = '***';
const MIN_MASKED = 4;
function masker(plans: readonly HostPlan[]): ((s: string) => string) | undefined {
  if (!plans.some((p) => p.run.debug)) return undefined;
  const values = new Set<string>();
  for (const v of plans.flatMap((p) => Object.values(p.env))) {
    for (const form of [v, v.split("'").join("'\\''"), ...v.split(/[\x00-\x1f\x7f'\\]/)]) if (form.length >= MIN_MASKED) values.add(form);
  }
  // Longest first, so a value containing another is masked whole.
  const list = [...values].sort((a, b) => b.length - a.length);
  return list.length === 0 ? undefined : (s) => list.reduce((t, v) => (t.includes(v) ? t.split(v).join(MASK) : t), s);
}

/** Run prepared scripts on their hosts. Never rejects for a host's failure. */
export async function execute(p: Prepared, io: Io, o: ExecuteOptions = {}): Promise<{ results: HostResult[]; interrupted: boolean }> {
  // Resolve every host's SSH settings first: a bad ssh_option is a config error (exit 2).
  const readFile = cachedReader();
  const transports = await Promise.all(p.plans.map((plan) => transportFor(plan, io, readFile)));
  const color = useColor(io.stdout.isTTY, io.env);
  const width = Math.max(...p.plans.map((plan) => plan.host.name.length));
  const progress = new Progress({
    stream: io.stderr,
    isTTY: o.progress !== false && io.stderr.isTTY === true && io.env['TERM'] !== 'dumb',
    quiet: o.quiet === true || o.progress === false,
    now: io.now,
    setInterval: (fn, ms) => setInterval(fn, ms),
    clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
    columns: () => (io.stderr as { columns?: number }).columns,
  });
  const mask = masker(p.plans);
  const masked = (s: Stream): Stream => (mask ? { write: (t: string) => s.write(mask(t)) } : s);
  const stopStarting = new AbortController();
  const abortRunning = new AbortController();
  const running = new Set<string>();
  let interrupts = 0;
  const off = io.onInterrupt?.(() => {
    interrupts++;
    progress.stop();
    if (interrupts === 1) {
      stopStarting.abort();
      io.stderr.write(`wd: interrupted: starting no new host; waiting for ${running.size} running (${[...running].join(', ')}). Ctrl-C again to abort them.\n`);
    } else if (!abortRunning.signal.aborted) {
      abortRunning.abort();
      io.stderr.write(`wd: aborting ${running.size} running host(s): their runs are stopped and recorded as interrupted.\n`);
    }
  });
  const onSignal = (): void => abortRunning.abort();
  o.signal?.addEventListener('abort', onSignal, { once: true });
  if (o.signal?.aborted) abortRunning.abort();
  progress.start(p.plans.map((plan) => plan.host.name));
  try {
    const timeoutSec = p.plans[0]?.run.timeout ?? 0;
    const results = await runHosts(
      p.plans.map((plan, i) => lazyJob(plan.host.name, transports[i]!, () => scriptOf(p, i))),
      {
        concurrency: o.concurrency ?? MAX_CONCURRENCY,
        stdout: progress.wrap(masked(o.hostOut ?? io.stdout)),
        stderr: progress.wrap(masked(io.stderr)),
        quiet: o.quiet ?? false,
        prefix: (h) => (o.onLine ? '' : `${dim(color, sanitize(h).padEnd(width) + ' |')} `),
        ...(o.onLine ? { hostStreams: (h: string) => lineStreams(h, o.onLine!) } : {}),
        now: io.now,
        waves: waves(p.plans.length, o.batch, o.canary ?? false),
        stopStarting: stopStarting.signal,
        abortRunning: abortRunning.signal,
        onStep: (h, step) => {
          if (step === 'connecting') running.add(h);
          progress.step(h, step);
        },
        onDone: (h, ok) => {
          running.delete(h);
          progress.done(h, ok);
        },
        ...(timeoutSec > 0 ? { timeoutSec, waitLockSec: p.plans[0]?.run.waitLock ?? 0 } : {}),
      },
    );
    return { results, interrupted: interrupts > 0 };
  } finally {
    progress.stop();
    off?.();
    o.signal?.removeEventListener('abort', onSignal);
  }
}

/** Streams that hand each whole line (the runner writes one line per call, ending in \n) to onLine. */
function lineStreams(host: string, onLine: NonNullable<ExecuteOptions['onLine']>): { stdout: Stream; stderr: Stream } {
  const to = (stream: 'stdout' | 'stderr'): Stream => ({
    write(t: string) {
      for (const line of t.split('\n').slice(0, -1)) onLine(host, line, stream);
      return true;
    },
  });
  return { stdout: to('stdout'), stderr: to('stderr') };
}

/** The CLI's setup/deploy/rollback/status. */
export async function runAction(action: Action, opts: Options, io: Io): Promise<{ code: number; results: HostResult[] }> {
  const env = await loadEnv(opts, io.cwd);
  for (const w of env.warnings) io.stderr.write(`wd: warning: ${w}\n`);
  const prepared = await prepare(action, env, opts, io);
  const { plans } = prepared;
  if (plans.length === 0 && !opts.json) {
    io.stdout.write(`No deployments to report.\n`);
    if (opts.only !== undefined)
      io.stderr.write(`wd: --only '${opts.only}' matches no host of '${env.environment}' (hosts: ${env.hosts.map((h) => h.name).join(', ')}).\n`);
    return { code: 0, results: [] };
  }
  if (opts.dryRun) {
    // What a real run would reject, a dry run rejects too.
    const readFile = cachedReader();
    await Promise.all(plans.filter((p) => !p.host.local).map((p) => sshSettings(p, io, readFile)));
  }
  if (opts.dryRun && opts.json) {
    const hosts = plans.map((p, i) => ({ host: p.host.name, script: scriptOf(prepared, i).text }));
    io.stdout.write(JSON.stringify({ version: VERSION, command: action, environment: env.environment, status: 'dry-run', hosts }, null, 2) + '\n');
    return { code: 0, results: [] };
  }
  if (opts.dryRun) {
    plans.forEach((p, i) => {
      io.stdout.write(`# ---- ${p.host.name} ----\n${scriptOf(prepared, i).text}`);
    });
    return { code: 0, results: [] };
  }
  const started = io.now();
  const color = useColor(io.stdout.isTTY, io.env);
  const status = action === 'status';
  const { results, interrupted } = await execute(prepared, io, {
    ...(opts.concurrency !== undefined ? { concurrency: opts.concurrency } : {}),
    quiet: opts.quiet || status,
    hostOut: opts.json ? io.stderr : io.stdout,
    ...((opts.batch ?? env.batch) !== undefined ? { batch: (opts.batch ?? env.batch)! } : {}),
    canary: opts.canary,
    progress: !status,
  });
  const code = interrupted ? 130 : exitCode(results);
  if (opts.json) io.stdout.write(jsonReport(action, env.environment, results, started, io.now()));
  else if (status) io.stdout.write(statusTable(results, color, io.now()));
  else if (!(opts.quiet && code === 0 && results.every((r) => r.unchanged))) io.stdout.write(summary(results, color));
  return { code, results };
}
