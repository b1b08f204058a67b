// git hooks and unattended runs: a real bare repository with wd's
// post-receive hook installed, real `git push`es into it, and the deploys
// they cause checked on the target (files, revision, output, log).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { git } from './helpers/git.js';
import { gitAsync, project, push, remote } from './helpers/hook-project.js';
import { both, readIfExists as read } from './helpers/output.js';
import { closeFixtures, sshFixture } from './helpers/ssh-fixture.js';
import { cleanup, tmpDir } from './helpers/tmp.js';
import { runWd } from './helpers/wd.js';
import { pushedBranches } from '../src/hook/plan.js';

test.after.each(closeFixtures);
test.after(cleanup);

test('pushedBranches: branch updates only; deletions, tags and blank lines deploy nothing', () => {
  const a = 'a'.repeat(40);
  const b = 'b'.repeat(40);
  const input = [
    `${a} ${b} refs/heads/main`,
    `${a} ${'0'.repeat(40)} refs/heads/gone`,
    `${'0'.repeat(40)} ${b} refs/tags/v1`,
    '',
    `${a} ${b} refs/heads/feature/x`,
    `${a} ${'0'.repeat(64)} refs/heads/sha256-gone`,
  ].join('\n');
  assert.equal(pushedBranches(input), [
    { branch: 'main', old: a, new: b },
    { branch: 'feature/x', old: a, new: b },
  ]);
  assert.equal(pushedBranches(''), []);
});

test('push to the tracked branch deploys it: files, revision, remote: lines, log file', async () => {
  const p = await project({ production: { onPush: true } });
  const inst = await p.install();
  assert.is(inst.code, 0, both(inst));
  assert.match(inst.stdout, `Installed ${join(p.origin.url, 'hooks', 'post-receive')}\n`);
  assert.match(inst.stdout, '  a push to main deploys production (deploy_on_push: true)\n');

  const { sha, run } = await push(p.origin, 'main', { 'app.txt': 'v2\n' });
  assert.is(read(join(p.deployTo('production'), 'app.txt')), 'v2\n');
  assert.is(git(p.deployTo('production'), 'rev-parse', 'HEAD'), sha);
  const lines = remote(run.stderr);
  assert.ok(lines.includes(`wd: push to main (${sha.slice(0, 7)}): deploying production`), run.stderr);
  assert.ok(lines.includes('Results:'), run.stderr);
  assert.ok(
    lines.some((l) => /^ {2}local => succeeded [0-9a-f]{7} \(\d+\.\ds\)$/.test(l)),
    run.stderr,
  );
  assert.ok(lines.includes('Total: 1 deployment, 1 success, 0 failures.'), run.stderr);
  assert.not.match(run.stderr, '\x1b['); // no TTY, no colour

  const log = read(join(p.origin.url, 'wd-deploy.log')) ?? '';
  assert.match(log, new RegExp(`^=== \\d{4}-\\d\\d-\\d\\dT[0-9:.]+Z push: main [0-9a-f]{7}\\.\\.${sha.slice(0, 7)}\n`));
  assert.match(log, `wd: push to main (${sha.slice(0, 7)}): deploying production\nResults:\n`);
});

test('a push to another branch deploys nothing, nor does a branch deletion or a tag', async () => {
  const p = await project({ production: { onPush: true }, feature: { branch: 'other', onPush: true } });
  assert.is((await p.install()).code, 0);
  const prodHead = git(p.deployTo('production'), 'rev-parse', 'HEAD');
  const featHead = git(p.deployTo('feature'), 'rev-parse', 'HEAD');

  // A branch nothing tracks.
  git(p.origin.work, 'checkout', '-q', '-b', 'topic', 'main');
  const { run } = await push(p.origin, 'topic', { 'app.txt': 'topic\n' });
  assert.ok(remote(run.stderr).includes('wd: nothing deploys branch topic.'), run.stderr);
  assert.not.match(run.stderr, 'deploying');
  assert.is(read(join(p.deployTo('production'), 'app.txt')), 'v1\n');
  assert.is(git(p.deployTo('production'), 'rev-parse', 'HEAD'), prodHead);

  // Deleting the branch an environment tracks, and pushing a tag.
  const del = await gitAsync(p.origin.work, ['push', 'origin', ':refs/heads/other']);
  assert.is(del.code, 0, both(del));
  assert.ok(remote(del.stderr).includes('wd: no branch was updated (only tags or deletions); nothing to deploy.'), del.stderr);
  git(p.origin.work, 'tag', 'v1', 'main');
  const tag = await gitAsync(p.origin.work, ['push', 'origin', 'refs/tags/v1']);
  assert.is(tag.code, 0, both(tag));
  assert.ok(remote(tag.stderr).includes('wd: no branch was updated (only tags or deletions); nothing to deploy.'), tag.stderr);
  assert.is(git(p.deployTo('feature'), 'rev-parse', 'HEAD'), featHead);
  assert.is(git(p.deployTo('production'), 'rev-parse', 'HEAD'), prodHead);
  assert.not.match(read(join(p.origin.url, 'wd-deploy.log')) ?? '', 'Results:');
});

test('two environments tracking the pushed branch both deploy (one named at install, one deploy_on_push)', async () => {
  const p = await project({ production: { onPush: true }, staging: {}, manual: {} });
  const inst = await p.install('staging');
  assert.is(inst.code, 0, both(inst));
  assert.match(inst.stdout, '  a push to main deploys staging (named here)\n  a push to main deploys production (deploy_on_push: true)\n');
  const { sha, run } = await push(p.origin, 'main', { 'app.txt': 'v2\n' });
  for (const env of ['staging', 'production']) {
    assert.is(read(join(p.deployTo(env), 'app.txt')), 'v2\n', env);
    assert.is(git(p.deployTo(env), 'rev-parse', 'HEAD'), sha, env);
    assert.ok(remote(run.stderr).includes(`wd: push to main (${sha.slice(0, 7)}): deploying ${env}`), run.stderr);
  }
  // Neither named nor opted in: untouched.
  assert.is(read(join(p.deployTo('manual'), 'app.txt')), 'v1\n');
  assert.is(remote(run.stderr).filter((l) => l === 'Results:').length, 2, run.stderr);
});

test('an existing post-receive hook is kept and still runs once per push, also after installing twice', async () => {
  const p = await project({ production: { onPush: true } });
  const hooks = join(p.origin.url, 'hooks');
  const calls = join(p.dir, 'foreign-calls');
  // The foreign hook records its stdin and the GIT_DIR git gave it.
  writeFileSync(join(hooks, 'post-receive'), `#!/bin/sh\n{ cat; echo "GIT_DIR=$GIT_DIR"; } >>'${calls}'\necho foreign hook ran\n`, { mode: 0o755 });

  const first = await p.install();
  assert.is(first.code, 0, both(first));
  assert.match(first.stdout, `Kept the existing post-receive hook as ${join(hooks, 'post-receive.wd-chained')}; it still runs on every push, before wd.\n`);
  const second = await p.install();
  assert.is(second.code, 0, both(second));
  assert.is(second.stdout, `wd's post-receive hook is already installed in ${join(hooks, 'post-receive')}, with these settings; nothing changed.\n`);
  const hookText = read(join(hooks, 'post-receive')) ?? '';
  assert.is(hookText.split('\n').filter((l) => l.includes('| "$0.wd-chained"')).length, 1, hookText);
  assert.match(read(join(hooks, 'post-receive.wd-chained')) ?? '', 'foreign hook ran');

  const { sha, run } = await push(p.origin, 'main', { 'app.txt': 'v2\n' });
  assert.is(read(calls), `${git(p.origin.work, 'rev-parse', 'HEAD~1')} ${sha} refs/heads/main\nGIT_DIR=.\n`);
  const lines = remote(run.stderr);
  assert.is(lines.filter((l) => l === 'foreign hook ran').length, 1, run.stderr);
  assert.ok(lines.indexOf('foreign hook ran') < lines.indexOf('Results:'), run.stderr);
  assert.is(git(p.deployTo('production'), 'rev-parse', 'HEAD'), sha);

  // Different settings need --force; the foreign hook stays chained once.
  const changed = await p.install('production', '-q');
  assert.is(changed.code, 2);
  assert.match(changed.stderr, 'with other settings; run again with --force to replace it.');
  assert.is((await p.install('production', '-q', '--timeout', '30', '--wait-lock', '5', '--force')).code, 0);
  assert.ok(existsSync(join(hooks, 'post-receive.wd-chained')));
  // The deploy flags given to install are the installed hook's, not dropped.
  assert.match(read(join(hooks, 'post-receive')) ?? '', / hook post-receive -p .* -q --timeout 30 --wait-lock 5 production\n/);
  // uninstall puts the foreign hook back where it was.
  const un = await runWd(['hook', 'uninstall', '--repo', p.origin.url]);
  assert.is(un.code, 0, both(un));
  assert.match(read(join(hooks, 'post-receive')) ?? '', 'foreign hook ran');
  assert.not.ok(existsSync(join(hooks, 'post-receive.wd-chained')));
});

test('push-to-deploy on the host itself: git commands in the deploy act on deploy_to despite GIT_DIR', async () => {
  // The post script asks git where it is; with the hook's GIT_DIR=. leaking in, it would be the bare repository.
  const p = await project(
    { production: { onPush: true, extra: { post_deploy_script: 'where.sh' } } },
    { 'where.sh': 'git rev-parse --absolute-git-dir >where.txt\necho "GIT_DIR=${GIT_DIR-unset}" >>where.txt\n' },
  );
  assert.is((await p.install()).code, 0);
  const { sha, run } = await push(p.origin, 'main', { 'app.txt': 'v2\n' });
  assert.ok(remote(run.stderr).includes('Total: 1 deployment, 1 success, 0 failures.'), run.stderr);
  const target = p.deployTo('production');
  assert.is(git(target, 'rev-parse', 'HEAD'), sha);
  assert.is(read(join(target, 'where.txt')), `${join(target, '.git')}\nGIT_DIR=unset\n`);
  // The bare repository is untouched: still bare, no work-tree files, branch at the push.
  assert.is(git(p.origin.url, 'rev-parse', '--is-bare-repository'), 'true');
  assert.not.ok(existsSync(join(p.origin.url, 'app.txt')));
  assert.is(p.origin.head('main'), sha);
});

test('a failed deploy: the push is still accepted, the failure is spelled out to the pusher and in the log', async () => {
  const p = await project({ production: { onPush: true, extra: { post_deploy_script: 'post.sh' } } }, { 'post.sh': 'echo migrating; exit 3\n' });
  assert.is((await p.install()).code, 0);
  const { sha, run } = await push(p.origin, 'main', { 'app.txt': 'v2\n' });
  assert.is(p.origin.head('main'), sha);
  const lines = remote(run.stderr);
  assert.ok(
    lines.some((l) => /^ {2}local => failed: post_deploy_script exited 3 \(\d+\.\ds\)$/.test(l)),
    run.stderr,
  );
  const failure = `wd: deploying production FAILED; the push itself was accepted. Fix the problem, then run: wd deploy production -p ${p.config} (output logged in ${join(p.origin.url, 'wd-deploy.log')})`;
  assert.ok(lines.includes(failure), run.stderr);
  assert.match(read(join(p.origin.url, 'wd-deploy.log')) ?? '', `local | migrating\n`);
});

test('install refuses what cannot work: unknown named environment, not a repository; no hook written', async () => {
  const p = await project({ production: {} });
  const r = await p.install('prodution');
  assert.is(r.code, 2);
  assert.is(r.stdout, '');
  assert.match(r.stderr, /^wd: unknown environment 'prodution' in .*deploy\.yml \(did you mean 'production'\?\)/);
  assert.not.ok(existsSync(join(p.origin.url, 'hooks', 'post-receive')));
  const notRepo = await runWd(['hook', 'install', '--repo', p.dir, '-p', p.config]);
  assert.is(notRepo.code, 2);
  assert.match(notRepo.stderr, `wd: --repo ${p.dir} is not a git repository`);
  // Nothing opted in and nothing named: installed, with a warning that pushes deploy nothing yet.
  const none = await p.install();
  assert.is(none.code, 0);
  assert.match(none.stderr, 'no environment of');
  assert.match(none.stderr, 'has deploy_on_push: true and none was named, so pushes deploy nothing yet.');
});

test('push over SSH: the hook deploys an environment on an (in-process) SSH host', async () => {
  const fx = await sshFixture();
  const h = fx.hosts[0]!;
  const config = fx.config({ deploy_on_push: true });
  const setup = await fx.wd(['setup', 'prod']);
  assert.is(setup.code, 0, both(setup));
  const inst = await runWd(['hook', 'install', '--repo', fx.origin.url, '-p', config], { env: { HOME: fx.home } });
  assert.is(inst.code, 0, both(inst));
  const { sha, run } = await push(fx.origin, 'main', { 'app.txt': 'v2\n' }, { HOME: fx.home, SSH_AUTH_SOCK: '' });
  assert.is(read(join(h.home, 'app', 'app.txt')), 'v2\n');
  assert.is(git(join(h.home, 'app'), 'rev-parse', 'HEAD'), sha);
  assert.ok(
    remote(run.stderr).some((l) => l.startsWith(`  ${h.name} => succeeded`)),
    run.stderr,
  );
});

test('cron: deploy --check --quiet prints nothing and exits 0 when up to date; deploys and reports when not', async () => {
  const p = await project({ production: {} });
  const cron = ['deploy', 'production', '-p', p.config, '--check', '--quiet'];
  // NO_COLOR unset: no TTY alone must keep output plain.
  const same = await runWd(cron, { env: { NO_COLOR: '' } });
  assert.equal(same, { code: 0, stdout: '', stderr: '' });
  const loud = await runWd(['deploy', 'production', '-p', p.config, '--check']);
  assert.is(loud.code, 0);
  assert.ok(loud.stdout.startsWith('local | No changes to deploy.\nResults:\n'), loud.stdout);

  const sha = p.origin.commit('main', { 'app.txt': 'v2\n' });
  const changed = await runWd(cron, { env: { NO_COLOR: '' } });
  assert.is(changed.code, 0, both(changed));
  assert.match(changed.stdout, /^Results:\n {2}local => succeeded [0-9a-f]{7} \(\d+\.\ds\)\nTotal: 1 deployment, 1 success, 0 failures\.\n$/);
  assert.is(changed.stderr, '');
  assert.is(git(p.deployTo('production'), 'rev-parse', 'HEAD'), sha);
});

test('pushes arriving together deploy one after another (the hook takes a lock)', async () => {
  const log = join(tmpDir('wd-hook-lock-'), 'order.log');
  const post = 'echo "start $WD_ENVIRONMENT" >>"$ORDER_LOG"; sleep 1; echo "end $WD_ENVIRONMENT" >>"$ORDER_LOG"\n';
  const extra = { post_deploy_script: 'post.sh', rake_env: { ORDER_LOG: log } };
  const p = await project({ a: { onPush: true, extra }, b: { branch: 'other', onPush: true, extra } }, { 'post.sh': post });
  git(p.origin.work, 'checkout', '-q', 'other');
  git(p.origin.work, 'merge', '-q', '--no-edit', 'main');
  git(p.origin.work, 'push', '-q', 'origin', 'other:refs/heads/other');
  assert.is((await p.install()).code, 0);
  for (const branch of ['main', 'other']) {
    git(p.origin.work, 'checkout', '-q', branch);
    writeFileSync(join(p.origin.work, 'app.txt'), `new on ${branch}\n`);
    git(p.origin.work, 'commit', '-q', '-am', `change ${branch}`);
  }
  const runs = await Promise.all(['main', 'other'].map((b) => gitAsync(p.origin.work, ['push', 'origin', `${b}:refs/heads/${b}`])));
  for (const r of runs) assert.is(r.code, 0, both(r));
  const lines = (read(log) ?? '').trim().split('\n');
  assert.is(lines.length, 4, lines.join('|'));
  // Whole deploys, never interleaved: start X, end X, start Y, end Y.
  assert.is(lines[0]!.replace('start', 'end'), lines[1]);
  assert.is(lines[2]!.replace('start', 'end'), lines[3]);
  assert.is.not(lines[0], lines[2]);
});

test.run();
