// config + options → host plans: which hosts this run acts on, and how each
// is reached. Pure: the local working directory is passed in.
import { isAbsolute, resolve } from 'node:path';
import type { EnvConfig, HostEntry } from './config.js';
import { UsageError } from './errors.js';

export type Action = 'setup' | 'deploy' | 'status' | 'rollback';

export interface HostPlan {
  host: HostEntry;
  action: Action;
  /** deploy_to as the script should use it (relative local paths made absolute). */
  deployTo: string;
  /** repository as the host should clone it (relative local paths made absolute). */
  repository: string;
  configTo?: string;
  configRepository?: string;
}

export interface PlanFlags {
  only?: string;
  roles: string[];
}

export function planHosts(env: EnvConfig, action: Action, flags: PlanFlags, cwd: string): HostPlan[] {
  let hosts = env.hosts;
  if (flags.only !== undefined) {
    const only = flags.only;
    // whiskey_disk matched --only against the host without its user; accept both.
    hosts = hosts.filter((h) => h.name === only || stripUser(h.name) === only || stripUser(h.name) === stripPort(only) || stripPort(stripUser(h.name)) === only);
    if (hosts.length === 0) {
      throw new UsageError(`--only '${only}' matches no host of environment '${env.environment}' in ${env.source}. Hosts: ${env.hosts.map((h) => h.name).join(', ')}.`);
    }
  }
  if (flags.roles.length > 0) {
    const want = flags.roles;
    hosts = hosts.filter((h) => h.roles.some((r) => want.includes(r)));
    if (hosts.length === 0) {
      const known = [...new Set(env.hosts.flatMap((h) => h.roles))];
      throw new UsageError(`--roles ${want.join(',')} matches no host of environment '${env.environment}' in ${env.source}. Roles there: ${known.join(', ') || '(none)'}.`);
    }
  }
  return hosts.map((host) => {
    const plan: HostPlan = { host, action, deployTo: localPath(env.deployTo, host.local, cwd), repository: localRepo(env.repository, host.local, cwd) };
    if (env.configRepo) {
      plan.configTo = localPath(env.configRepo.deployTo, host.local, cwd);
      plan.configRepository = localRepo(env.configRepo.repository, host.local, cwd);
    }
    return plan;
  });
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
