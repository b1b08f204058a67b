// The hook's pure parts (src/hook/plan.ts): which push deploys which
// environment, what install does with the hook already there, the options of
// each deploy, the log heading, and the hook's text, run by sh with hostile
// values and a stand-in node that records how it was called.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from '../../src/args.js';
import { UsageError } from '../../src/errors.js';
import { FLAGS, flagsFor } from '../../src/flags.js';
import {
  HOOK_MARKER,
  LOCK_NAME,
  deployOptions,
  deploysFor,
  hookFlags,
  hookScript,
  installStep,
  logHeading,
  pushTargets,
  type HookSettings,
  type Push,
  type PushTarget,
} from '../../src/hook/plan.js';
import { show } from '../helpers/output.js';
import { cleanup, tmpDir } from '../helpers/tmp.js';
import { runProcess } from '../helpers/wd.js';

test.after(cleanup);

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const push = (branch: string): Push => ({ branch, old: A, new: B });
const target = (env: string, branch: string, project?: string): PushTarget => ({ env, branch, why: 'deploy_on_push', ...(project ? { project } : {}) });

test('deploysFor: each push with the targets tracking its branch, in order; an untracked branch gets none', () => {
  const prod = target('production', 'main');
  const stage = target('staging', 'main', 'shop');
  const feat = target('feature', 'other');
  assert.equal(deploysFor([push('other'), push('topic'), push('main')], [prod, feat, stage]), [
    { push: push('other'), targets: [feat] },
    { push: push('topic'), targets: [] },
    { push: push('main'), targets: [prod, stage] },
  ]);
  assert.equal(deploysFor([], [prod]), []);
});

test('pushTargets: named ones first, then deploy_on_push ones; a broken opted-in one is an error, a broken other one is not', () => {
  const text = [
    'a:',
    '  repository: /r.git',
    '  deploy_to: /a',
    '  branch: one',
    '  deploy_on_push: true',
    'b:',
    '  repository: /r.git',
    '  deploy_to: /b',
    'c:',
    '  repository: /r.git',
    '  deploy_on_push: true',
    'd:',
    '  deploy_to: /d',
    '',
  ].join('\n');
  const { targets, errors } = pushTargets({ name: 'deploy.yml', text }, [{ env: 'b' }, { env: 'nope' }]);
  assert.equal(targets, [
    { env: 'b', branch: 'master', why: 'named' },
    { env: 'a', branch: 'one', why: 'deploy_on_push' },
  ]);
  assert.equal(
    errors.map((e) => e.named),
    [true, false],
  );
  assert.match(errors[0]!.message, "unknown environment 'nope'");
  assert.match(errors[1]!.message, "environment 'c'");
});

test('installStep: write, chain a foreign hook, leave the same hook, refuse other settings without --force', () => {
  const path = '/repo/hooks/post-receive';
  const ours = `#!/bin/sh\n${HOOK_MARKER}, v1\n`;
  assert.equal(installStep(path, undefined, ours, false, false), { write: true, chainExisting: false });
  assert.equal(installStep(path, '#!/bin/sh\necho theirs\n', ours, false, false), { write: true, chainExisting: true });
  assert.equal(installStep(path, ours, ours, false, false), { write: false });
  assert.equal(installStep(path, ours, ours, true, true), { write: false });
  assert.equal(installStep(path, ours.replace('v1', 'v0'), ours, true, true), { write: true, chainExisting: false });
  const refused = (existing: string, chained: boolean): string => {
    try {
      installStep(path, existing, ours, chained, false);
    } catch (e) {
      assert.instance(e, UsageError);
      return (e as Error).message;
    }
    return assert.unreachable('installStep did not refuse') as never;
  };
  assert.is(
    refused(ours.replace('v1', 'v0'), false),
    `wd's post-receive hook is already installed in ${path}, with other settings; run again with --force to replace it.`,
  );
  assert.is(
    refused('#!/bin/sh\necho theirs\n', true),
    `${path} is not wd's hook, and ${path}.wd-chained exists too; merge them by hand (or move one away), then run 'wd hook install' again.`,
  );
});

test("deployOptions: the hook's options for one environment's deploy; nothing hook-only carries over", () => {
  // What `wd hook post-receive` parses, plus settings its flags do not take (a caller could still pass them).
  const hookOpts = {
    ...parseArgs(['hook', 'post-receive', '-p', 'deploy.yml', '-q', '-d', 'extra']),
    project: 'shop',
    env: 'x',
    check: true,
    dryRun: true,
    json: true,
  };
  const plain = deployOptions(hookOpts, target('production', 'main'));
  assert.is(plain.command, 'deploy');
  assert.is(plain.env, 'production');
  assert.not.ok('project' in plain);
  assert.equal(plain.rest, []);
  assert.equal([plain.check, plain.dryRun, plain.json], [false, false, false]);
  assert.equal([plain.path, plain.quiet, plain.debug], ['deploy.yml', true, true]);
  assert.is(deployOptions(hookOpts, target('staging', 'main', 'other')).project, 'other');
  assert.is(hookOpts.command, 'hook', 'the hook options are not changed');
});

test('hookFlags: every deploy flag install takes reaches the installed hook, and parses back to the same options', () => {
  const given = ['-q', '-d', '-j', '4', '--timeout', '30', '--connect-timeout', '2.5', '--batch', '25%', '--canary', '--wait-lock', '60'];
  const install = parseArgs(['hook', 'install', 'production', '--force', ...given]);
  const flags = hookFlags(install);
  assert.equal(flags, given);
  const back = parseArgs(['hook', 'post-receive', ...flags]);
  for (const k of ['quiet', 'debug', 'concurrency', 'timeout', 'connectTimeout', 'batch', 'canary', 'waitLock'] as const) assert.equal(back[k], install[k], k);
  assert.is(back.force, false, "install's --force replaces the hook; it never forces the deploys");
  assert.equal(hookFlags(parseArgs(['hook', 'install'])), []);
  assert.equal(hookFlags(parseArgs(['hook', 'install', '--batch', '3'])), ['--batch', '3']);
  // A deploy flag added to 'hook' later must be carried too, or listed here as install's own.
  const own = new Set(['path', 'force', 'repo', 'help', 'version']);
  const carried = new Set(flags.map((f) => FLAGS.find((s) => `--${s.name}` === f || `-${s.short}` === f)?.name));
  for (const f of flagsFor('hook')) if (!own.has(f.name)) assert.ok(carried.has(f.name), `--${f.name} is accepted by hook install but not carried`);
});

test('logHeading: UTC time and each branch with short revisions; no branch says so', () => {
  const t = Date.UTC(2026, 0, 2, 3, 4, 5, 6);
  assert.is(logHeading(t, [push('main'), { branch: 'x', old: B, new: A }]), '=== 2026-01-02T03:04:05.006Z push: main aaaaaaa..bbbbbbb, x bbbbbbb..aaaaaaa\n');
  assert.is(logHeading(t, []), '=== 2026-01-02T03:04:05.006Z push: (no branch updated)\n');
});

// A stand-in node that records its arguments, stdin, cwd and GIT_DIR.
const FAKE_NODE = `#!/bin/sh
{ for a in "$@"; do printf 'arg=[%s]\\n' "$a"; done; printf 'cwd=%s\\nGIT_DIR=%s\\n' "$PWD" "$GIT_DIR"; sed 's/^/in=/'; } >"$RECORD"
`;

test('hookScript: every recorded value reaches wd as one argument, hostile ones included, and nothing they hold runs', async () => {
  const root = tmpDir('wd-hookscript-');
  const odd = join(root, `it's "odd" $(touch pwned1) \`touch pwned2\`; a\\b`);
  mkdirSync(odd);
  const node = join(odd, 'node');
  writeFileSync(node, FAKE_NODE, { mode: 0o755 });
  writeFileSync(join(odd, 'cli.js'), '');
  const gitDir = join(odd, 'repo.git');
  mkdirSync(gitDir);
  const settings: HookSettings = {
    node,
    cli: join(odd, 'cli.js'),
    config: join(odd, "deploy $HOME '.yml"),
    cwd: odd,
    envs: ['prod;touch pwned3', 'shop:a b', '$(touch pwned4)'],
    flags: ['-q', '--timeout', '$(touch pwned5)'],
  };
  const hook = join(gitDir, 'post-receive');
  writeFileSync(hook, hookScript(settings), { mode: 0o755 });
  const record = join(root, 'record');
  const ref = `${A} ${B} refs/heads/main`;
  const r = await runProcess('sh', [hook], { cwd: gitDir, input: `${ref}\n`, env: { RECORD: record, GIT_DIR: '.' } });
  assert.is(r.code, 0, show(r));
  assert.is(
    readFileSync(record, 'utf8'),
    [
      `arg=[${settings.cli}]`,
      'arg=[hook]',
      'arg=[post-receive]',
      'arg=[-p]',
      `arg=[${settings.config}]`,
      ...settings.flags.map((f) => `arg=[${f}]`),
      ...settings.envs.map((e) => `arg=[${e}]`),
      `cwd=${odd}`,
      `GIT_DIR=${gitDir}`,
      `in=${ref}`,
      '',
    ].join('\n'),
  );
  for (const dir of [root, odd, gitDir]) for (let i = 1; i <= 5; i++) assert.not.ok(existsSync(join(dir, `pwned${i}`)), `pwned${i} in ${dir}`);
});

test('hookScript: the lock file is created 0600 even under umask 000, and the deploy keeps the umask git gave it', async () => {
  const root = tmpDir('wd-hooklock-');
  const node = join(root, 'node');
  // The stand-in reports the umask wd would deploy with.
  writeFileSync(node, '#!/bin/sh\ncat >/dev/null; umask >"$RECORD"\n', { mode: 0o755 });
  writeFileSync(join(root, 'cli.js'), '');
  const gitDir = join(root, 'repo.git');
  mkdirSync(gitDir);
  const hook = join(gitDir, 'post-receive');
  writeFileSync(hook, hookScript({ node, cli: join(root, 'cli.js'), config: 'd.yml', cwd: root, envs: [], flags: [] }), { mode: 0o755 });
  const record = join(root, 'umask');
  const r = await runProcess('sh', ['-c', 'umask 000 && exec sh "$0"', hook], { cwd: gitDir, input: `${A} ${B} refs/heads/main\n`, env: { RECORD: record } });
  assert.is(r.code, 0, show(r));
  assert.is(statSync(join(gitDir, LOCK_NAME)).mode & 0o777, 0o600);
  assert.is(readFileSync(record, 'utf8').trim(), '0000');
});

test.run();
