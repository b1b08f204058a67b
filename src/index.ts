// The library API: what the CLI itself uses, for tools that embed deploys
// (CI bots, chat ops) and want results as data instead of parsing output.
//
//   import { loadEnv, deploy } from 'wd-deploy';
//   const env = await loadEnv({ path: 'config/deploy.yml', env: 'production' });
//   const results = await deploy(env, { onLine: (host, line) => log(host, line) });
import type { EnvConfig } from './config.js';
import { revision } from './args.js';
import { planHosts, type Action } from './plan.js';
import { execute, loadEnv as load, runFlags, type Io } from './run.js';
import type { HostResult } from './runner.js';
import { buildScript } from './script.js';

export type { Batch, EnvConfig, HostEntry } from './config.js';
export type { HostResult, HostStatus } from './runner.js';
export { hostStatus, parseHistory, type HistoryEntry } from './report.js';
export { WdError, UsageError, ConfigError } from './errors.js';
export { VERSION } from './version.js';

/** Find, read and validate one environment (as the CLI does; a ConfigError names the problem). */
export function loadEnv(where: { path?: string; env?: string; project?: string; cwd?: string }): Promise<EnvConfig> {
  return load(
    {
      ...(where.path !== undefined ? { path: where.path } : {}),
      ...(where.env !== undefined ? { env: where.env } : {}),
      ...(where.project !== undefined ? { project: where.project } : {}),
    },
    where.cwd ?? process.cwd(),
  );
}

export interface DeployOptions {
  /** default 'deploy' */
  action?: Action;
  /** Only this host (as written in domain, or its host part). */
  only?: string;
  roles?: string[];
  check?: boolean;
  force?: boolean;
  debug?: boolean;
  /** Seconds for the whole script on a host; default the environment's timeout key. */
  timeout?: number;
  waitLock?: number;
  /** Seconds to connect to a host; default the environment's connect_timeout key, else 20. */
  connectTimeout?: number;
  /** rollback: the revision to go back to. */
  rollbackTo?: string;
  concurrency?: number;
  /** Each line a host prints, without prefix. Without it, output goes to process.stdout/stderr with the CLI's prefixes. */
  onLine?(host: string, line: string, stream: 'stdout' | 'stderr'): void;
  /** Abort: running hosts are told to stop and are reported 'interrupted'. */
  signal?: AbortSignal;
  /** Relative local paths are resolved from here; default process.cwd(). */
  cwd?: string;
  /** The environment wd (and ssh) read: HOME, SSH_AUTH_SOCK, USER; default process.env. */
  processEnv?: NodeJS.ProcessEnv;
}

/** Run one command on the environment's hosts. Resolves with one result per host; rejects only for configuration errors. */
export async function deploy(env: EnvConfig, o: DeployOptions = {}): Promise<HostResult[]> {
  const pe = o.processEnv ?? process.env;
  const io: Io = { stdout: process.stdout, stderr: process.stderr, env: pe, cwd: o.cwd ?? process.cwd(), now: () => Date.now() };
  const run = runFlags(
    {
      debug: o.debug ?? false,
      check: o.check ?? false,
      force: o.force ?? false,
      ...(o.timeout !== undefined ? { timeout: o.timeout } : {}),
      ...(o.connectTimeout !== undefined ? { connectTimeout: o.connectTimeout } : {}),
      ...(o.waitLock !== undefined ? { waitLock: o.waitLock } : {}),
      ...(o.rollbackTo !== undefined ? { rev: revision(o.rollbackTo, 'rollbackTo') } : {}),
    },
    env,
    io,
  );
  const plans = planHosts(env, o.action ?? 'deploy', { roles: o.roles ?? [], ...(o.only !== undefined ? { only: o.only } : {}) }, io.cwd, run);
  const { results } = await execute({ env, plans, scripts: buildScript }, io, {
    progress: false,
    ...(o.concurrency !== undefined ? { concurrency: o.concurrency } : {}),
    ...(o.onLine ? { onLine: o.onLine } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  return results;
}
