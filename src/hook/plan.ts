// The pure half of the git hook: which environments a push deploys, which
// pushed branch deploys which of them, what install does with the hook that is
// already there, and the hook's text. No filesystem, git or clock here; those
// are in hook.ts.
import type { Options } from '../args.js';
import { listEnvironments, parseYaml, selectEnv, validateEnv, type Source } from '../config.js';
import { ConfigError, UsageError } from '../errors.js';
import { quote } from '../quote.js';

/** First line after the shebang; how install recognises its own hook. */
export const HOOK_MARKER = '# wd-managed post-receive hook';
export const CHAINED_SUFFIX = '.wd-chained';
export const LOG_NAME = 'wd-deploy.log';
export const LOCK_NAME = 'wd-deploy.lock';

type Named = { project?: string; env: string };

export interface PushTarget extends Named {
  branch: string;
  why: 'named' | 'deploy_on_push';
}

/** One branch update from git's post-receive input. */
export interface Push {
  branch: string;
  old: string;
  new: string;
}

export const label = (t: Named): string => (t.project ? `${t.project}:${t.env}` : t.env);

/**
 * The environments a push may deploy: the named ones (an error each if
 * missing or invalid) and every valid one with deploy_on_push: true. An
 * environment that is broken but asks for deploy_on_push is reported, not
 * skipped silently; other broken environments are none of the hook's business.
 */
export function pushTargets(source: Source, named: readonly Named[]): { targets: PushTarget[]; errors: Array<{ message: string; named: boolean }> } {
  const data = parseYaml(source);
  const targets: PushTarget[] = [];
  const errors: Array<{ message: string; named: boolean }> = [];
  const seen = new Set<string>();
  const add = (want: Named, isNamed: boolean): void => {
    try {
      const picked = selectEnv(data, source.name, want.project, want.env);
      const key = label(picked);
      if (seen.has(key)) return;
      const asked = picked.raw['deploy_on_push'];
      const wanted = isNamed || (asked !== undefined && asked !== null && asked !== false);
      if (!wanted) return;
      const env = validateEnv(picked.raw, { source: source.name, env: picked.env, ...(picked.project ? { project: picked.project } : {}) });
      seen.add(key);
      targets.push({ env: picked.env, ...(picked.project ? { project: picked.project } : {}), branch: env.branch, why: isNamed ? 'named' : 'deploy_on_push' });
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      errors.push({ message: e.message, named: isNamed });
    }
  };
  for (const n of named) add(n, true);
  for (const c of listEnvironments(data)) add(c, false);
  return { targets, errors };
}

/** git's post-receive stdin → the branches updated (not deleted); tags and other refs are ignored. */
export function pushedBranches(input: string): Push[] {
  const out: Push[] = [];
  for (const line of input.split('\n')) {
    const [oldSha, newSha, ref] = line.trim().split(/\s+/);
    if (!oldSha || !newSha || !ref?.startsWith('refs/heads/') || /^0+$/.test(newSha)) continue;
    out.push({ branch: ref.slice('refs/heads/'.length), old: oldSha, new: newSha });
  }
  return out;
}

/** Each push with the targets tracking its branch (none: nothing deploys it), in push order then target order. */
export function deploysFor(pushes: readonly Push[], targets: readonly PushTarget[]): Array<{ push: Push; targets: PushTarget[] }> {
  return pushes.map((push) => ({ push, targets: targets.filter((t) => t.branch === push.branch) }));
}

/** The options of the `wd deploy` one target runs: the hook's own options, one environment, nothing hook-specific. */
export function deployOptions(opts: Options, target: PushTarget): Options {
  const out: Options = { ...opts, command: 'deploy', env: target.env, rest: [], check: false, dryRun: false, json: false };
  delete out.project;
  if (target.project !== undefined) out.project = target.project;
  return out;
}

/** The log's heading for one push: `=== <UTC time> push: main 1a2b3c4..5d6e7f8, ...`. */
export function logHeading(now: number, pushes: readonly Push[]): string {
  const what = pushes.map((p) => `${p.branch} ${p.old.slice(0, 7)}..${p.new.slice(0, 7)}`).join(', ') || '(no branch updated)';
  return `=== ${new Date(now).toISOString()} push: ${what}\n`;
}

/**
 * What install does, given the post-receive hook already at hookPath (its
 * text, or undefined) and whether a chained hook exists beside it: write
 * wd's hook (first moving a foreign hook aside to be chained), or nothing
 * because the same hook is there. A UsageError when it must not go on.
 */
export function installStep(
  hookPath: string,
  existing: string | undefined,
  text: string,
  chainedExists: boolean,
  force: boolean,
): { write: false } | { write: true; chainExisting: boolean } {
  const chained = hookPath + CHAINED_SUFFIX;
  if (existing !== undefined && !existing.includes(HOOK_MARKER)) {
    if (chainedExists) {
      throw new UsageError(`${hookPath} is not wd's hook, and ${chained} exists too; merge them by hand (or move one away), then run 'wd hook install' again.`);
    }
    return { write: true, chainExisting: true };
  }
  if (existing === text) return { write: false };
  if (existing !== undefined && !force) {
    throw new UsageError(`wd's post-receive hook is already installed in ${hookPath}, with other settings; run again with --force to replace it.`);
  }
  return { write: true, chainExisting: false };
}

export interface HookSettings {
  /** The node binary the hook runs wd with. */
  node: string;
  /** wd's dist/cli.js. */
  cli: string;
  config: string;
  /** Where install ran: relative paths in the config resolve from it. */
  cwd: string;
  envs: string[];
  /** The deploy flags given to install, passed on to every deploy the hook runs (hookFlags). */
  flags: string[];
}

/**
 * The run flags `wd hook install` was given, as arguments for the installed
 * hook's `wd hook post-receive`: what install accepts it must not drop.
 * --force is install's own (replace wd's hook), never a deploy's.
 */
export function hookFlags(o: Options): string[] {
  const num = (flag: string, v: number | undefined): string[] => (v === undefined ? [] : [flag, String(v)]);
  const batch = o.batch === undefined ? [] : ['--batch', 'size' in o.batch ? String(o.batch.size) : `${o.batch.percent}%`];
  return [
    ...(o.quiet ? ['-q'] : []),
    ...(o.debug ? ['-d'] : []),
    ...num('-j', o.concurrency),
    ...num('--timeout', o.timeout),
    ...num('--connect-timeout', o.connectTimeout),
    ...batch,
    ...(o.canary ? ['--canary'] : []),
    ...num('--wait-lock', o.waitLock),
  ];
}

export function hookScript(s: HookSettings): string {
  const cmd = [quote(s.node), quote(s.cli), 'hook', 'post-receive', '-p', quote(s.config), ...s.flags.map(quote), ...s.envs.map(quote)].join(' ');
  return `#!/bin/sh
${HOOK_MARKER}, written by 'wd hook install' (see wd's docs/git-hooks.md).
# Change it with 'wd hook install --force ...', remove it with 'wd hook uninstall'.
# Deploys the environments named below and every one with deploy_on_push: true whose
# branch was pushed; the output goes to the pusher and to ${LOG_NAME} in this repository.
wd_node=${quote(s.node)}
wd_cli=${quote(s.cli)}
# Relative paths in the config are resolved from where the hook was installed.
wd_dir=${quote(s.cwd)}
input=$(cat)
status=0
# The post-receive hook that was here before wd's still runs, first, with the same input.
if [ -x "$0${CHAINED_SUFFIX}" ]; then
  printf '%s\\n' "$input" | "$0${CHAINED_SUFFIX}" "$@"
  status=$?
fi
GIT_DIR=$(cd -- "\${GIT_DIR:-.}" && pwd) && export GIT_DIR
if [ ! -x "$wd_node" ] || [ ! -f "$wd_cli" ]; then
  echo "wd: $wd_node or $wd_cli is gone, so nothing was deployed; reinstall this hook with 'wd hook install --force'." >&2
  exit 1
fi
cd -- "$wd_dir" || { echo "wd: cannot cd to $wd_dir, so nothing was deployed; reinstall this hook with 'wd hook install --force'." >&2; exit 1; }
# Pushes that arrive together deploy one after another, in order, not over each other.
# The lock file is created 0600 whatever umask git runs with (the subshell keeps it from the deploy).
if command -v flock >/dev/null 2>&1 && (umask 077 && : >>"$GIT_DIR/${LOCK_NAME}"); then exec 9>>"$GIT_DIR/${LOCK_NAME}" && flock 9; fi
printf '%s\\n' "$input" | ${cmd}
rc=$?
[ "$status" -ne 0 ] || status=$rc
exit "$status"
`;
}
