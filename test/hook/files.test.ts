// The hook's effects: runHook driven in-process through HookIo (stdin, the
// node binary, the pid), and the files it writes keeping private modes
// whatever the umask, checked in-process and through a real `git push`.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { parseArgs } from '../../src/args.js';
import { UsageError } from '../../src/errors.js';
import { runHook, type HookIo } from '../../src/hook/hook.js';
import { HOOK_MARKER, LOCK_NAME, LOG_NAME } from '../../src/hook/plan.js';
import { git } from '../helpers/git.js';
import { project } from '../helpers/hook-project.js';
import { show } from '../helpers/output.js';
import { cleanup, tmpDir } from '../helpers/tmp.js';
import { runProcess } from '../helpers/wd.js';

test.after(cleanup);

const modeOf = (path: string): number => statSync(path).mode & 0o777;

/** A HookIo whose output is kept; `stdin` holds git's ref lines. */
function hookIo(cwd: string, extra: Partial<HookIo> & { env?: NodeJS.ProcessEnv } = {}) {
  const out = { stdout: '', stderr: '' };
  const io: HookIo = {
    stdout: { write: (s: string) => (out.stdout += s) },
    stderr: { write: (s: string) => (out.stderr += s) },
    env: { ...process.env, NO_COLOR: '1', ...extra.env },
    cwd,
    now: () => Date.UTC(2026, 0, 2, 3, 4, 5),
    ...extra,
  };
  return { io, out };
}

/** Runs fn with the process umask set to `mask`, restoring it after. */
async function underUmask<T>(mask: number, fn: () => Promise<T>): Promise<T> {
  const old = process.umask(mask);
  try {
    return await fn();
  } finally {
    process.umask(old);
  }
}

test('install takes the node binary and pid from HookIo; a hooks dir it creates is 0755 under umask 000', async () => {
  const p = await project({ production: { onPush: true } });
  const hooks = join(tmpDir('wd-hooks-'), 'new', 'hooks');
  git(p.origin.url, 'config', 'core.hooksPath', hooks);
  const { io, out } = hookIo(p.dir, { execPath: '/opt/node 22/bin/node', pid: 4242 });
  const code = await underUmask(0, () => runHook(parseArgs(['hook', 'install', '--repo', p.origin.url, '-p', p.config]), io));
  assert.is(code, 0, out.stderr);
  assert.match(out.stdout, `Installed ${join(hooks, 'post-receive')}\n`);
  const text = readFileSync(join(hooks, 'post-receive'), 'utf8');
  assert.match(text, HOOK_MARKER);
  assert.match(text, "\nwd_node='/opt/node 22/bin/node'\n");
  assert.is(modeOf(join(hooks, 'post-receive')), 0o755);
  assert.is(modeOf(hooks), 0o755);
  assert.equal(readdirSync(hooks), ['post-receive'], 'no temporary file left');
});

test('post-receive reads the ref lines from HookIo.stdin and deploys; the log is 0600 under umask 000', async () => {
  const p = await project({ production: { onPush: true } });
  const sha = p.origin.commit('main', { 'app.txt': 'v2\n' });
  const stdin = Readable.from([`${'0'.repeat(39)}1 ${sha} refs/heads/main\n`]);
  const { io, out } = hookIo(p.dir, { stdin, env: { GIT_DIR: p.origin.url } });
  const code = await underUmask(0, () => runHook(parseArgs(['hook', 'post-receive', '-p', p.config]), io));
  assert.is(code, 0, out.stdout + out.stderr);
  assert.match(out.stdout, `wd: push to main (${sha.slice(0, 7)}): deploying production\n`);
  assert.is(git(p.deployTo('production'), 'rev-parse', 'HEAD'), sha);
  const log = join(p.origin.url, LOG_NAME);
  assert.is(modeOf(log), 0o600);
  assert.match(readFileSync(log, 'utf8'), `=== 2026-01-02T03:04:05.000Z push: main 0000000..${sha.slice(0, 7)}\n`);
});

test('post-receive refuses a terminal on HookIo.stdin', async () => {
  const p = await project({ production: {} });
  const stdin = Object.assign(Readable.from([]), { isTTY: true });
  const { io } = hookIo(p.dir, { stdin });
  try {
    await runHook(parseArgs(['hook', 'post-receive', '-p', p.config]), io);
    assert.unreachable('post-receive read a terminal');
  } catch (e) {
    assert.instance(e, UsageError);
    assert.match((e as Error).message, `reads git's "<old> <new> <ref>" lines on stdin`);
  }
});

test('a real push under umask 000: the log and the lock file are 0600', async () => {
  const p = await project({ production: { onPush: true } });
  const inst = await p.install();
  assert.is(inst.code, 0, show(inst));
  git(p.origin.work, 'commit', '-q', '--allow-empty', '-m', 'pushed under umask 000');
  const r = await runProcess('sh', ['-c', 'umask 000 && exec git push origin main:refs/heads/main'], {
    cwd: p.origin.work,
    env: { GIT_DIR: undefined, GIT_WORK_TREE: undefined, GIT_INDEX_FILE: undefined },
  });
  assert.is(r.code, 0, show(r));
  assert.match(r.stderr, 'deploying production', show(r));
  assert.is(modeOf(join(p.origin.url, LOG_NAME)), 0o600);
  assert.is(modeOf(join(p.origin.url, LOCK_NAME)), 0o600);
});

test.run();
