// Regression tests for the trust issue's first three bugs, each failing on
// the code before its fix: a marker glued to output without a final newline,
// an environment name that broke out of a script comment, and a closed stdout.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeOrigin } from '../helpers/git.js';
import { cleanup, tmpDir } from '../helpers/tmp.js';
import { runProcess, runWd, WD_BIN } from '../helpers/wd.js';

test.after(cleanup);

function localProject(env: string, files: Record<string, string>, extra = ''): { dir: string } {
  const origin = makeOrigin('origin', files);
  const dir = tmpDir('wd-trust-');
  writeFileSync(join(dir, 'deploy.yml'), `${JSON.stringify(env)}:\n  deploy_to: app\n  repository: ${origin.url}\n  branch: main\n${extra}`);
  return { dir };
}

test('post script output without a final newline: success, text shown, no marker leaks', async () => {
  const { dir } = localProject('prod', { 'post.sh': "#!/bin/bash\nprintf 'health: ok'\n" }, '  post_deploy_script: post.sh\n');
  assert.is((await runWd(['setup', 'prod'], { cwd: dir })).code, 0);
  const r = await runWd(['deploy', 'prod'], { cwd: dir });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^local \| health: ok$/m);
  assert.not.match(r.stdout + r.stderr, /::wd::/);
  assert.match(r.stdout, /local => succeeded/);
});

test('binary post script output without a newline still reports success', async () => {
  const { dir } = localProject('prod', { 'post.sh': "#!/bin/bash\nhead -c 3000 /dev/urandom | tr -d '\\n'\n" }, '  post_deploy_script: post.sh\n');
  assert.is((await runWd(['setup', 'prod'], { cwd: dir })).code, 0);
  const r = await runWd(['deploy', 'prod'], { cwd: dir });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /local => succeeded/);
});

test('an environment name with a newline runs nothing on the host', async () => {
  const base = tmpDir('wd-pwn-');
  const pwned = join(base, 'PWNED');
  for (const sep of ['\n', '\r\n', '\r']) {
    const env = `prod${sep}touch ${pwned} #`;
    const { dir } = localProject(env, {});
    // Rejected by the config stage (exit 2, dry run included), so no script is ever made of it.
    const dry = await runWd(['deploy', env, '-n'], { cwd: dir });
    assert.is(dry.code, 2, dry.stderr);
    assert.match(dry.stderr, /environment name .* contains a (newline|carriage return); environment names must be printable/);
    assert.is((await runWd(['setup', env], { cwd: dir })).code, 2);
    assert.is((await runWd(['deploy', env], { cwd: dir })).code, 2);
    assert.not.ok(existsSync(pwned), `separator ${JSON.stringify(sep)} let the name run code`);
  }
});

test('a closed stdout (wd deploy | head -1) neither crashes wd nor stops the deploy', async () => {
  const post =
    '#!/bin/bash\nfor i in $(seq 1 3000); do echo "line $i"; done\nsleep 0.3\nfor i in $(seq 1 3000); do echo "more $i"; done\ntouch "$WD_DEPLOY_TO/finished"\n';
  const { dir } = localProject('prod', { 'post.sh': post }, '  post_deploy_script: post.sh\n');
  assert.is((await runWd(['setup', 'prod'], { cwd: dir })).code, 0);
  const r = await runProcess(
    'bash',
    ['-c', `NO_COLOR=1 ${JSON.stringify(process.execPath)} ${JSON.stringify(WD_BIN)} deploy prod | head -1; echo "wd exit: \${PIPESTATUS[0]}" >&2`],
    { cwd: dir },
  );
  assert.match(r.stderr, /wd exit: 0$/m, r.stderr);
  assert.not.match(r.stderr, /EPIPE|internal error/);
  assert.ok(existsSync(join(dir, 'app', 'finished')), 'the post script ran to its end');
});

test.run();
