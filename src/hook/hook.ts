// git hook integration, the effects: `wd hook install` writes a post-receive
// hook into a (bare) repository; on every push git runs it, and it runs
// `wd hook post-receive`, which deploys the environments tracking the pushed
// branches through the same pipeline as `wd deploy`. What deploys what, and
// the hook's text, are decided in plan.ts.
import { execFileSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { splitTarget, type Options } from '../args.js';
import { loadConfig } from '../config.js';
import { ConfigError, UsageError, WdError, didYouMean } from '../errors.js';
import type { Stream } from '../output.js';
import { readText } from '../files.js';
import { quote } from '../quote.js';
import { runAction, type Io } from '../run.js';
import { scrubbedEnv } from '../transport/local.js';
import {
  CHAINED_SUFFIX,
  HOOK_MARKER,
  LOG_NAME,
  deployOptions,
  deploysFor,
  hookFlags,
  hookScript,
  installStep,
  label,
  logHeading,
  pushTargets,
  pushedBranches,
  type PushTarget,
} from './plan.js';

const SUBCOMMANDS = ['install', 'uninstall', 'post-receive'];

/** Io plus what only the hook reads from its process; each defaults to this process's own. */
export interface HookIo extends Io {
  /** git's ref lines; process.stdin when absent. */
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean };
  /** The node binary the installed hook runs wd with; process.execPath when absent. */
  execPath?: string;
  /** Makes install's temporary file name unique; process.pid when absent. */
  pid?: number;
}

// stdin stays optional: touching process.stdin creates it, and only post-receive reads it.
type HookProcess = HookIo & Required<Pick<HookIo, 'execPath' | 'pid'>>;

// Files the hook creates hold deploy output: private, whatever the umask (which can only take bits away).
const LOG_MODE = 0o600;

export async function runHook(opts: Options, hookIo: HookIo): Promise<number> {
  const io: HookProcess = { ...hookIo, execPath: hookIo.execPath ?? process.execPath, pid: hookIo.pid ?? process.pid };
  const [sub, ...names] = opts.rest;
  if (sub === 'install') return install(names, opts, io);
  if (sub === 'uninstall') return uninstall(names, opts, io);
  if (sub === 'post-receive') return postReceive(names, opts, io);
  if (sub === undefined) throw new UsageError(`'wd hook' needs a subcommand: ${SUBCOMMANDS.join(', ')}. See 'wd hook --help'.`);
  throw new UsageError(`unknown hook subcommand '${sub}'${didYouMean(sub, SUBCOMMANDS)}. Subcommands: ${SUBCOMMANDS.join(', ')}.`);
}

// ---------------------------------------------------------------- install / uninstall

/** The repository's git dir and hooks dir (core.hooksPath honoured), absolute. */
function locateRepo(opts: Options, io: Io): { gitDir: string; hooksDir: string; bare: boolean } {
  const dir = resolve(io.cwd, opts.repo ?? '.');
  let out: string;
  try {
    // With --repo, a GIT_DIR inherited from a surrounding hook must not redirect git.
    out = execFileSync('git', ['rev-parse', '--absolute-git-dir', '--git-path', 'hooks', '--is-bare-repository'], {
      cwd: dir,
      env: opts.repo !== undefined ? scrubbedEnv(io.env) : io.env,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (e) {
    const err = e as { stderr?: string; code?: string; message: string };
    const why = err.code === 'ENOENT' && !existsSync(dir) ? 'no such directory' : err.stderr?.trim() || err.message;
    throw new UsageError(
      `${opts.repo !== undefined ? `--repo ${opts.repo}` : `the current directory (${dir})`} is not a git repository (${why}). Name the bare repository with --repo PATH.`,
    );
  }
  const [gitDir = '', hooks = '', bare = ''] = out.trim().split('\n');
  return { gitDir, hooksDir: resolve(dir, hooks), bare: bare === 'true' };
}

async function install(names: string[], opts: Options, io: HookProcess): Promise<number> {
  const named = names.map(splitTarget);
  const repo = locateRepo(opts, io);
  const source = await loadConfig(opts.path, io.cwd, named[0]?.project, named[0]?.env);
  const { targets, errors } = pushTargets(source, named);
  const bad = errors.find((e) => e.named);
  if (bad !== undefined) throw new ConfigError(bad.message);

  const hookPath = join(repo.hooksDir, 'post-receive');
  const chained = hookPath + CHAINED_SUFFIX;
  const text = hookScript({
    node: io.execPath,
    // Compiled alone this module is dist/hook/hook.js; bundled into the CLI (scripts/bundle.mjs), its URL is dist/cli.js.
    cli: fileURLToPath(new URL(import.meta.url.endsWith('/hook/hook.js') ? '../cli.js' : './cli.js', import.meta.url)),
    config: source.name,
    cwd: io.cwd,
    envs: names,
    flags: hookFlags(opts),
  });
  const say = (s: string): void => void io.stdout.write(s + '\n');
  const step = installStep(hookPath, readText(hookPath), text, existsSync(chained), opts.force);
  if (!step.write) {
    say(`wd's post-receive hook is already installed in ${hookPath}, with these settings; nothing changed.`);
    return 0;
  }
  if (step.chainExisting) {
    renameSync(hookPath, chained);
    say(`Kept the existing post-receive hook as ${chained}; it still runs on every push, before wd.`);
  }
  mkdirSync(repo.hooksDir, { recursive: true, mode: 0o755 });
  // Write beside and rename: a push arriving now runs the old hook or the new one, never half of one.
  const tmp = `${hookPath}.wd-tmp-${io.pid}`;
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
    io.stderr.write(
      `wd: warning: no environment of ${source.name} has deploy_on_push: true and none was named, so pushes deploy nothing yet. ` +
        `Add deploy_on_push: true to an environment, or name it: wd hook install ENV --force.\n`,
    );
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
    return { fd: openSync(path, 'a', LOG_MODE), path };
  } catch (e) {
    return { problem: `cannot append to ${path} (${(e as Error).message}); output is not logged` };
  }
}

async function postReceive(names: string[], opts: Options, io: HookProcess): Promise<number> {
  const stdin = io.stdin ?? process.stdin;
  if (stdin.isTTY) {
    throw new UsageError(
      `'wd hook post-receive' reads git's "<old> <new> <ref>" lines on stdin; git's post-receive hook runs it. To deploy by hand: wd deploy ENV.`,
    );
  }
  const pushes = pushedBranches(await readAll(stdin));
  const log = openLog(io);
  const out = teeTo(io, log.fd);
  const say = (s: string): void => void (opts.quiet || out.stdout.write(`wd: ${s}\n`));
  const fail = (s: string): void => void out.stderr.write(`wd: ${s}\n`);
  try {
    if (log.fd !== undefined) writeSync(log.fd, logHeading(io.now(), pushes));
    if (log.problem) fail(`warning: ${log.problem}`);
    if (pushes.length === 0) {
      say('no branch was updated (only tags or deletions); nothing to deploy.');
      return 0;
    }
    let targets: PushTarget[];
    let failed = false;
    try {
      const found = pushTargets(await loadConfig(opts.path, io.cwd, undefined, undefined), names.map(splitTarget));
      targets = found.targets;
      for (const e of found.errors) fail(e.message);
      failed = found.errors.length > 0;
    } catch (e) {
      if (!(e instanceof WdError)) throw e;
      fail(`${e.message}\nwd: nothing was deployed; the push itself was accepted.`);
      return e.exitCode;
    }
    for (const { push, targets: mine } of deploysFor(pushes, targets)) {
      if (mine.length === 0) {
        say(`nothing deploys branch ${push.branch}.`);
        continue;
      }
      for (const t of mine) {
        say(`push to ${push.branch} (${push.new.slice(0, 7)}): deploying ${label(t)}`);
        let code: number;
        try {
          code = (await runAction('deploy', deployOptions(opts, t), out)).code;
        } catch (e) {
          if (!(e instanceof WdError)) throw e;
          fail(e.message);
          code = e.exitCode;
        }
        if (code !== 0) {
          failed = true;
          fail(
            `deploying ${label(t)} FAILED; the push itself was accepted. Fix the problem, then run: wd deploy ${quote(label(t))} -p ${quote(opts.path ?? 'CONFIG')}` +
              (log.path ? ` (output logged in ${log.path})` : ''),
          );
        }
      }
    }
    return failed ? 1 : 0;
  } finally {
    if (log.fd !== undefined) closeSync(log.fd);
  }
}
