// The pipeline for setup/deploy: options → config → host plans → scripts →
// transports → results → report. Effects (filesystem, network, clock, output)
// come in through Io so the hook runner and tests can drive it too.
import { homedir, userInfo } from 'node:os';
import type { Options } from './args.js';
import { configFromSource, loadConfig, type EnvConfig } from './config.js';
import { dim, useColor, type Stream } from './output.js';
import { planHosts, type Action, type HostPlan } from './plan.js';
import { exitCode, jsonReport, summary } from './report.js';
import { MAX_CONCURRENCY, runHosts, type HostResult } from './runner.js';
import { buildScript } from './script.js';
import { cachedReader } from './files.js';
import { LocalTransport } from './transport/local.js';
import type { Transport } from './transport/types.js';

export interface Io {
  stdout: Stream & { isTTY?: boolean };
  stderr: Stream;
  env: NodeJS.ProcessEnv;
  cwd: string;
  now(): number;
}

export interface Prepared {
  env: EnvConfig;
  plans: HostPlan[];
  scripts: string[];
}

/** Everything up to the scripts; any problem here is exit 2, before a host is contacted. */
export async function prepare(action: Action, opts: Options, io: Io): Promise<Prepared> {
  const source = await loadConfig(opts.path, io.cwd, opts.project, opts.env);
  const env = configFromSource(source, opts.project, opts.env);
  for (const w of env.warnings) io.stderr.write(`wd: warning: ${w}\n`);
  const plans = planHosts(env, action, { roles: opts.roles, ...(opts.only !== undefined ? { only: opts.only } : {}) }, io.cwd);
  const scripts = plans.map((p) => buildScript(env, p, { debug: opts.debug, check: opts.check }));
  return { env, plans, scripts };
}

// ssh2 and the ssh_config parser cost ~100 ms to load: only pay that when a host needs SSH.
export async function transportFor(plan: HostPlan, io: Io, readFile = cachedReader()): Promise<Transport> {
  if (plan.host.local) return new LocalTransport(io.env, io.cwd);
  const [{ resolveSsh }, { SshTransport, defaultSshDeps }] = await Promise.all([import('./ssh/options.js'), import('./ssh/transport.js')]);
  const home = io.env['HOME'] ?? homedir();
  const settings = resolveSsh(plan.host.name, plan.host.ssh, {
    home,
    localUser: io.env['USER'] ?? userInfo().username,
    ...(io.env['SSH_AUTH_SOCK'] ? { agentSocket: io.env['SSH_AUTH_SOCK'] } : {}),
    readFile,
  });
  return new SshTransport(settings, { ...defaultSshDeps, readFile });
}

export async function runAction(action: Action, opts: Options, io: Io): Promise<{ code: number; results: HostResult[] }> {
  const { env, plans, scripts } = await prepare(action, opts, io);
  if (opts.dryRun) {
    plans.forEach((p, i) => {
      io.stdout.write(`# ---- ${p.host.name} ----\n${scripts[i]}`);
    });
    return { code: 0, results: [] };
  }
  // Resolve every host's SSH settings first: a bad ssh_option is a config error (exit 2).
  const readFile = cachedReader();
  const transports = await Promise.all(plans.map((p) => transportFor(p, io, readFile)));
  const color = useColor(io.stdout.isTTY, io.env);
  const width = Math.max(...plans.map((p) => p.host.name.length));
  const hostOut: Stream = opts.json ? io.stderr : io.stdout;
  const started = io.now();
  const results = await runHosts(
    plans.map((p, i) => ({ name: p.host.name, script: scripts[i]!, transport: transports[i]! })),
    {
      concurrency: opts.concurrency ?? MAX_CONCURRENCY,
      stdout: hostOut,
      stderr: io.stderr,
      quiet: opts.quiet,
      prefix: (h) => `${dim(color, h.padEnd(width) + ' |')} `,
      now: io.now,
    },
  );
  const code = exitCode(results);
  if (opts.json) io.stdout.write(jsonReport(action, env.environment, results, started, io.now()));
  else if (!(opts.quiet && code === 0 && results.every((r) => r.unchanged))) io.stdout.write(summary(results, color));
  return { code, results };
}
