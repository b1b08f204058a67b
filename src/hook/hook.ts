// git hook integration: `wd hook install` writes a post-receive hook into a
// (bare) repository; on every push git runs it, and it runs
// `wd hook post-receive`, which deploys the environments tracking the pushed
// branches through the same pipeline as `wd deploy`.
import { execFileSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { splitTarget, type Options } from '../args.js';
import { listEnvironments, loadConfig, parseYaml, selectEnv, validateEnv, type Source } from '../config.js';
import { ConfigError, UsageError, WdError, didYouMean } from '../errors.js';
import type { Stream } from '../output.js';
import { readText } from '../files.js';
import { quote } from '../quote.js';
import { runAction, type Io } from '../run.js';
import { scrubbedEnv } from '../transport/local.js';

/** First line after the shebang; how install recognises its own hook. */
export const HOOK_MARKER = '# wd-managed post-receive hook';
export const CHAINED_SUFFIX = '.wd-chained';
export const LOG_NAME = 'wd-deploy.log';
const SUBCOMMANDS = ['install', 'uninstall', 'post-receive'];

export interface HookIo extends Io {
  /** git's ref lines; process.stdin when absent. */
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean };
}

export async function runHook(opts: Options, io: HookIo): Promise<number> {
  const [sub, ...names] = opts.rest;
  if (sub === 'install') return install(names, opts, io);
  if (sub === 'uninstall') return uninstall(names, opts, io);
  if (sub === 'post-receive') return postReceive(names, opts, io);
  if (sub === undefined) throw new UsageError(`'wd hook' needs a subcommand: ${SUBCOMMANDS.join(', ')}. See 'wd hook --help'.`);
  throw new UsageError(`unknown hook subcommand '${sub}'${didYouMean(sub, SUBCOMMANDS)}. Subcommands: ${SUBCOMMANDS.join(', ')}.`);
}

// ---------------------------------------------------------------- which envs a push deploys

type Named = { project?: string; env: string };

export interface PushTarget extends Named {
  branch: string;
  why: 'named' | 'deploy_on_push';
}

const label = (t: Named): string => (t.project ? `${t.project}:${t.env}` : t.env);

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
export function pushedBranches(input: string): Array<{ branch: string; old: string; new: string }> {
  const out: Array<{ branch: string; old: string; new: string }> = [];
  for (const line of input.split('\n')) {
    const [oldSha, newSha, ref] = line.trim().split(/\s+/);
    if (!oldSha || !newSha || !ref || !ref.startsWith('refs/heads/') || /^0+$/.test(newSha)) continue;
    out.push({ branch: ref.slice('refs/heads/'.length), old: oldSha, new: newSha });
  }
  return out;
}

// ---------------------------------------------------------------- install / uninstall

interface HookSettings {
  node: string;
  cli: string;
  config: string;
  cwd: string;
  envs: string[];
  quiet: boolean;
}

export function hookScript(s: HookSettings): string {
  const cmd = [quote(s.node), quote(s.cli), 'hook', 'post-receive', '-p', quote(s.config), ...(s.quiet ? ['-q'] : []), ...s.envs.map(quote)].join(' ');
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
if command -v flock >/dev/null 2>&1; then exec 9>>"$GIT_DIR/wd-deploy.lock" && flock 9; fi
printf '%s\\n' "$input" | ${cmd}
rc=$?
[ "$status" -ne 0 ] || status=$rc
exit "$status"
`;
}

/** The repository's git dir and hooks dir (core.hooksPath honoured), absolute. */
function locateRepo(opts: Options, io: Io): { gitDir: string; hooksDir: string; bare: boolean } {
  const dir = resolve(io.cwd, opts.repo ?? '.');
  let out: string;
  try {
    // With --repo, a GIT_DIR inherited from a surrounding hook must not redirect git.
    out = execFileSync('git', ['rev-parse', '--absolute-git-dir', '--git-path', 'hooks', '--is-bare-repository'], {
      cwd: dir, env: opts.repo !== undefined ? scrubbedEnv(io.env) : io.env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (e) {
    const err = e as { stderr?: string; code?: string; message: string };
    const why = err.code === 'ENOENT' && !existsSync(dir) ? 'no such directory' : (err.stderr?.trim() || err.message);
    throw new UsageError(`${opts.repo !== undefined ? `--repo ${opts.repo}` : `the current directory (${dir})`} is not a git repository (${why}). Name the bare repository with --repo PATH.`);
  }
  const [gitDir = '', hooks = '', bare = ''] = out.trim().split('\n');
  return { gitDir, hooksDir: resolve(dir, hooks), bare: bare === 'true' };
}

async function install(names: string[], opts: Options, io: Io): Promise<number> {
  const named = names.map(splitTarget);
  const repo = locateRepo(opts, io);
  const source = await loadConfig(opts.path, io.cwd, named[0]?.project, named[0]?.env);
  const { targets, errors } = pushTargets(source, named);
  const bad = errors.find((e) => e.named);
  if (bad !== undefined) throw new ConfigError(bad.message);

  const hookPath = join(repo.hooksDir, 'post-receive');
  const chained = hookPath + CHAINED_SUFFIX;
  const text = hookScript({
    node: process.execPath,
    cli: fileURLToPath(new URL('../cli.js', import.meta.url)),
    config: source.name,
    cwd: io.cwd,
    envs: names,
    quiet: opts.quiet,
  });
  const existing = readText(hookPath);
  const say = (s: string): void => void io.stdout.write(s + '\n');
  if (existing !== undefined && !existing.includes(HOOK_MARKER)) {
    if (existsSync(chained)) {
      throw new UsageError(`${hookPath} is not wd's hook, and ${chained} exists too; merge them by hand (or move one away), then run 'wd hook install' again.`);
    }
    renameSync(hookPath, chained);
    say(`Kept the existing post-receive hook as ${chained}; it still runs on every push, before wd.`);
  } else if (existing === text) {
    say(`wd's post-receive hook is already installed in ${hookPath}, with these settings; nothing changed.`);
    return 0;
  } else if (existing !== undefined && !opts.force) {
    throw new UsageError(`wd's post-receive hook is already installed in ${hookPath}, with other settings; run again with --force to replace it.`);
  }
  mkdirSync(repo.hooksDir, { recursive: true });
  // Write beside and rename: a push arriving now runs the old hook or the new one, never half of one.
  const tmp = `${hookPath}.wd-tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode: 0o755 });
  chmodSync(tmp, 0o755);
  renameSync(tmp, hookPath);

  say(`Installed ${hookPath}`);
  say(`  config: ${source.name}`);
  say(`  log:    ${join(repo.gitDir, LOG_NAME)}`);
  for (const t of targets) say(`  a push to ${t.branch} deploys ${label(t)} (${t.why === 'named' ? 'named here' : 'deploy_on_push: true'})`);
  for (const e of errors) io.stderr.write(`wd: warning: ${e.message}\n`);
  if (!repo.bare) io.stderr.write(`wd: note: ${repo.gitDir} is not a bare repository; the hook runs only when someone pushes into it.\n`);
  if (targets.length === 0) {
    io.stderr.write(`wd: warning: no environment of ${source.name} has deploy_on_push: true and none was named, so pushes deploy nothing yet. ` +
      `Add deploy_on_push: true to an environment, or name it: wd hook install ENV --force.\n`);
  }
  return 0;
}

function uninstall(names: string[], opts: Options, io: Io): number {
  if (names.length > 0) throw new UsageError(`'wd hook uninstall' takes no environment names (got ${names.join(' ')}); it removes the whole hook.`);
  const hookPath = join(locateRepo(opts, io).hooksDir, 'post-receive');
  const existing = readText(hookPath);
  if (existing === undefined) throw new UsageError(`no post-receive hook in ${hookPath}; nothing to uninstall.`);
  if (!existing.includes(HOOK_MARKER)) throw new UsageError(`${hookPath} was not written by wd; leaving it alone.`);
  unlinkSync(hookPath);
  io.stdout.write(`Removed ${hookPath}\n`);
  if (existsSync(hookPath + CHAINED_SUFFIX)) {
    renameSync(hookPath + CHAINED_SUFFIX, hookPath);
    io.stdout.write(`Restored the earlier hook from ${hookPath + CHAINED_SUFFIX}\n`);
  }
  return 0;
}

// ---------------------------------------------------------------- post-receive

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
  return text;
}

/** Output to the pusher (git shows it as `remote:` lines) and, when there is one, to the log. */
function teeTo(io: Io, log: number | undefined): Io {
  const tee = (s: Stream): Stream => ({
    write(t: string) {
      s.write(t);
      if (log !== undefined) {
        try {
          writeSync(log, t);
        } catch {
          // A full disk must not stop the deploy the pusher is watching.
        }
      }
      return true;
    },
  });
  return { ...io, stdout: tee(io.stdout), stderr: tee(io.stderr) };
}

function openLog(io: Io): { fd?: number; path?: string; problem?: string } {
  // git sets GIT_DIR for hooks; run by hand there is no repository to log into.
  const gitDir = io.env['GIT_DIR'];
  if (!gitDir) return {};
  const path = join(resolve(io.cwd, gitDir), LOG_NAME);
  try {
    return { fd: openSync(path, 'a'), path };
  } catch (e) {
    return { problem: `cannot append to ${path} (${(e as Error).message}); output is not logged` };
  }
}

async function postReceive(names: string[], opts: Options, io: HookIo): Promise<number> {
  const stdin = io.stdin ?? process.stdin;
  if (stdin.isTTY) {
    throw new UsageError(`'wd hook post-receive' reads git's "<old> <new> <ref>" lines on stdin; git's post-receive hook runs it. To deploy by hand: wd deploy ENV.`);
  }
  const pushes = pushedBranches(await readAll(stdin));
  const log = openLog(io);
  const out = teeTo(io, log.fd);
  const say = (s: string): void => void (opts.quiet || out.stdout.write(`wd: ${s}\n`));
  const fail = (s: string): void => void out.stderr.write(`wd: ${s}\n`);
  try {
    if (log.fd !== undefined) {
      writeSync(log.fd, `=== ${new Date(io.now()).toISOString()} push: ${pushes.map((p) => `${p.branch} ${p.old.slice(0, 7)}..${p.new.slice(0, 7)}`).join(', ') || '(no branch updated)'}\n`);
    }
    if (log.problem) fail(`warning: ${log.problem}`);
    if (pushes.length === 0) {
      say('no branch was updated (only tags or deletions); nothing to deploy.');
      return 0;
    }
    const named = names.map(splitTarget);
    let targets: PushTarget[];
    let failed = false;
    try {
      const found = pushTargets(await loadConfig(opts.path, io.cwd, undefined, undefined), named);
      targets = found.targets;
      for (const e of found.errors) fail(e.message);
      failed = found.errors.length > 0;
    } catch (e) {
      if (!(e instanceof WdError)) throw e;
      fail(`${e.message}\nwd: nothing was deployed; the push itself was accepted.`);
      return e.exitCode;
    }
    for (const push of pushes) {
      const mine = targets.filter((t) => t.branch === push.branch);
      if (mine.length === 0) {
        say(`nothing deploys branch ${push.branch}.`);
        continue;
      }
      for (const t of mine) {
        say(`push to ${push.branch} (${push.new.slice(0, 7)}): deploying ${label(t)}`);
        const deployOpts: Options = {
          ...opts, command: 'deploy', env: t.env, rest: [], check: false, dryRun: false, json: false,
        };
        delete deployOpts.project;
        if (t.project !== undefined) deployOpts.project = t.project;
        let code: number;
        try {
          code = (await runAction('deploy', deployOpts, out)).code;
        } catch (e) {
          if (!(e instanceof WdError)) throw e;
          fail(e.message);
          code = e.exitCode;
        }
        if (code !== 0) {
          failed = true;
          fail(`deploying ${label(t)} FAILED; the push itself was accepted. Fix the problem, then run: wd deploy ${quote(label(t))} -p ${quote(opts.path ?? 'CONFIG')}` +
            (log.path ? ` (output logged in ${log.path})` : ''));
        }
      }
    }
    return failed ? 1 : 0;
  } finally {
    if (log.fd !== undefined) closeSync(log.fd);
  }
}
