// config + options → host plans: which hosts this run acts on, and how each
// is reached. Pure: the local working directory is passed in.
import { isAbsolute, resolve } from 'node:path';
import type { Batch, EnvConfig, HostEntry, Strategy } from './config.js';
import { ConfigError, UsageError } from './errors.js';

export type Action = 'setup' | 'deploy' | 'status' | 'rollback';

/** What a run asks of every host, beyond the config. */
export interface RunFlags {
  debug: boolean;
  check: boolean;
  /** Go ahead over local commits, untracked files in the way, an unrelated checkout. */
  force: boolean;
  /** Seconds for the whole script on the host; 0: no limit. */
  timeout: number;
  /** Seconds to connect to a host (wins over ConnectTimeout from ssh_options and ~/.ssh/config). */
  connectTimeout?: number;
  /** Seconds to wait for another run's lock; 0: fail at once. */
  waitLock: number;
  /** user@client-host, for the history and the lock. */
  by: string;
  /** rollback: the revision to go back to (default: one successful deploy back). */
  rollbackTo?: string;
  /** status: history lines to show. */
  history: number;
}

export interface ConfigCheckout {
  to: string;
  repository: string;
  branch: string;
  target: string;
}

/** Everything one host's script needs, resolved: the script reads only this. */
export interface HostPlan {
  host: HostEntry;
  action: Action;
  environment: string;
  /** deploy_to as the script should use it (relative local paths made absolute). */
  deployTo: string;
  /** repository as the host should clone it (relative local paths made absolute). */
  repository: string;
  branch: string;
  /** rake_env: variables for post scripts and rake. */
  env: Record<string, string>;
  /** The post script this action runs (rollback runs the deploy one), as configured. */
  postScript?: string;
  postKey: 'post_setup_script' | 'post_deploy_script';
  rakeTask: 'deploy:post_setup' | 'deploy:post_deploy';
  config?: ConfigCheckout;
  run: RunFlags;
  /** in_place: deploy_to is the checkout; releases: deploy_to holds repo/, releases/, shared/ and current (docs/releases.md). */
  strategy: Strategy;
  /** releases: how many releases pruning keeps (the live one and the previous one are always kept). */
  keepReleases: number;
  /** releases: paths inside each release linked to the same path under shared/. */
  sharedPaths: string[];
  /** releases: run in the new release before current switches to it, as configured (relative: to the release). */
  beforeSwitchScript?: string;
}

export interface PlanFlags {
  only?: string;
  roles: string[];
}

export const DEFAULT_RUN: RunFlags = { debug: false, check: false, force: false, timeout: 0, waitLock: 0, by: 'wd', history: 0 };

export function planHosts(env: EnvConfig, action: Action, flags: PlanFlags, cwd: string, run: RunFlags = DEFAULT_RUN): HostPlan[] {
  let hosts = env.hosts;
  if (flags.only !== undefined) {
    const only = flags.only;
    // whiskey_disk matched --only against the host without its user; accept both.
    hosts = hosts.filter(
      (h) => h.name === only || stripUser(h.name) === only || stripUser(h.name) === stripPort(only) || stripPort(stripUser(h.name)) === only,
    );
    // No match is no work, not an error (whiskey_disk: "No deployments to report."): the same
    // cron line `wd deploy --only=$(hostname)` runs on every machine, most of which are no host.
    if (hosts.length === 0) return [];
  }
  if (flags.roles.length > 0) {
    const want = flags.roles;
    hosts = hosts.filter((h) => h.roles.some((r) => want.includes(r)));
    if (hosts.length === 0) {
      const known = [...new Set(env.hosts.flatMap((h) => h.roles))];
      throw new UsageError(
        `--roles ${want.join(',')} matches no host of environment '${env.environment}' in ${env.source}. Roles there: ${known.join(', ') || '(none)'}.`,
      );
    }
  }
  if (env.strategy === 'releases') checkSharedPaths(env);
  const setup = action === 'setup';
  const postScript = setup ? env.postSetupScript : env.postDeployScript;
  return hosts.map((host) => {
    const plan: HostPlan = {
      host,
      action,
      environment: env.environment,
      deployTo: localPath(env.deployTo, host.local, cwd),
      repository: localRepo(env.repository, host.local, cwd),
      branch: env.branch,
      env: env.rakeEnv,
      postKey: setup ? 'post_setup_script' : 'post_deploy_script',
      rakeTask: setup ? 'deploy:post_setup' : 'deploy:post_deploy',
      run,
      ...(postScript !== undefined ? { postScript } : {}),
      strategy: env.strategy,
      keepReleases: env.keepReleases,
      sharedPaths: env.sharedPaths,
      ...(env.beforeSwitchScript !== undefined ? { beforeSwitchScript: env.beforeSwitchScript } : {}),
    };
    if (env.configRepo) {
      plan.config = {
        to: localPath(env.configRepo.deployTo, host.local, cwd),
        repository: localRepo(env.configRepo.repository, host.local, cwd),
        branch: env.configRepo.branch,
        target: env.configRepo.target,
      };
    }
    return plan;
  });
}

// One shared path inside another would be linked through the other's link,
// and replacing it would delete inside shared/.
function checkSharedPaths(env: EnvConfig): void {
  for (const inner of env.sharedPaths) {
    const outer = env.sharedPaths.find((p) => inner.startsWith(`${p}/`));
    if (outer !== undefined) {
      throw new ConfigError(
        `${env.source}, environment '${env.environment}', key 'shared_paths': '${inner}' is inside '${outer}', which is shared already; list only '${outer}'.`,
      );
    }
  }
}

// A relative path means "under the login directory" on a remote host (the
// shell starts there) but "under the current directory" for a local deploy.
function localPath(p: string, local: boolean, cwd: string): string {
  if (!local || isAbsolute(p) || p === '~' || p.startsWith('~/')) return p;
  return resolve(cwd, p);
}

// A local repository given as a relative path is relative to where wd runs,
// not to deploy_to (where git would resolve it after cd).
function localRepo(repo: string, local: boolean, cwd: string): string {
  if (!local || /^[a-z][a-z0-9+.-]*:\/\//i.test(repo) || /^[^/]*:/.test(repo) || isAbsolute(repo)) return repo;
  return resolve(cwd, repo);
}

function stripUser(name: string): string {
  const at = name.lastIndexOf('@');
  return at >= 0 ? name.slice(at + 1) : name;
}

function stripPort(name: string): string {
  return name.replace(/:[0-9]+$/, '');
}

/**
 * Wave sizes for `total` hosts, taken in the order of `domain`: the canary
 * alone first, then batches; without either, one wave of everything.
 */
export function waves(total: number, batch: Batch | undefined, canary: boolean): number[] {
  const out: number[] = [];
  let left = total;
  if (canary && left > 0) {
    out.push(1);
    left--;
  }
  const size = batch === undefined ? left : 'size' in batch ? batch.size : Math.max(1, Math.ceil((total * batch.percent) / 100));
  while (left > 0) {
    const n = Math.min(Math.max(1, size), left);
    out.push(n);
    left -= n;
  }
  return out;
}
