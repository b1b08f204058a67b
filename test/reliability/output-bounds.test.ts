// Through the binary, a local deploy whose post script prints what real
// scripts print by accident: a 30 MB line without a newline, 300 lines of
// 1 MB under --quiet, a character split across writes, terminal escapes.
// wd's output stays bounded and inert, and the host's result stays right.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeOrigin } from '../helpers/git.js';
import { cleanup, tmpDir } from '../helpers/tmp.js';
import { runWd } from '../helpers/wd.js';

test.after(cleanup);

async function deployWith(post: string, args: string[] = []) {
  const origin = makeOrigin('origin', { 'post.sh': `#!/bin/bash\n${post}` });
  const dir = tmpDir('wd-output-');
  writeFileSync(join(dir, 'deploy.yml'), `prod:\n  deploy_to: app\n  repository: ${origin.url}\n  branch: main\n  post_deploy_script: post.sh\n`);
  assert.is((await runWd(['setup', 'prod'], { cwd: dir })).code, 0);
  return runWd(['deploy', 'prod', ...args], { cwd: dir, timeoutMs: 120_000 });
}

const MiB = 1024 * 1024;

test('a 30 MB line without a newline: success, 64 KiB of it shown and the rest counted', async () => {
  const r = await deployWith(`head -c ${30 * MiB} /dev/zero | tr '\\0' x\n`);
  assert.is(r.code, 0, r.stderr.slice(0, 2000));
  assert.match(r.stdout, /^ {2}local => succeeded/m);
  assert.ok(r.stdout.length < 70 * 1024, `stdout is ${r.stdout.length} characters`);
  assert.ok(r.stdout.includes(`local | ${'x'.repeat(64 * 1024)}… [${30 * MiB - 64 * 1024} bytes not shown]\n`));
  assert.not.match(r.stdout + r.stderr, /::wd::/);
});

test('--quiet, 300 lines of 1 MB and a failure: the latest ~1 MiB is shown, the rest counted', async () => {
  const post = `for i in $(seq -w 1 300); do printf 'line %s ' "$i"; head -c 1000000 /dev/zero | tr '\\0' y; echo; done\nexit 3\n`;
  const r = await deployWith(post, ['-q']);
  assert.is(r.code, 1, r.stderr.slice(0, 2000));
  assert.match(r.stdout, /^ {2}local => failed: post_deploy_script exited 3 \(/m);
  const all = r.stdout + r.stderr;
  assert.ok(all.length < 1.2 * MiB, `output is ${all.length} characters`);
  const shown = all.match(/^local \| line \d{3} y+… \[\d+ bytes not shown\]$/gm) ?? [];
  const dropped = /^local \| \.\.\. \((\d+) earlier lines not shown\)$/m.exec(r.stderr);
  assert.ok(dropped, r.stderr.slice(0, 500));
  assert.ok(shown.length > 0 && shown.length < 300, `${shown.length} lines shown`);
  // 300 lines of the script and wd's own "Running post script..." before them.
  assert.is(Number(dropped[1]) + shown.length, 301);
  assert.ok(shown[shown.length - 1]!.startsWith('local | line 300 '), 'the last line is among those shown');
});

test('a UTF-8 character written in two halves is not replaced by U+FFFD', async () => {
  const r = await deployWith("printf 'caf\\xc3'; sleep 0.3; printf '\\xa9 ok\\n'\nprintf '\\xe2\\x82' >&2; sleep 0.3; printf '\\xac\\n' >&2\n");
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /^local \| café ok$/m);
  assert.match(r.stderr, /^local \| €$/m);
  assert.not.ok((r.stdout + r.stderr).includes('\ufffd'));
});

test('escape sequences, CR and controls from a host never reach the terminal', async () => {
  const post =
    "printf 'ok\\x1b[2K\\x1b[1A\\x1b]0;pwned\\x07\\rlocal => succeeded\\x07\\x1bc\\n'\nprintf 'fatal\\r\\x1b[32m  local => succeeded\\x1b[0m\\n' >&2\nexit 4\n";
  const r = await deployWith(post);
  assert.is(r.code, 1);
  const all = r.stdout + r.stderr;
  // eslint-disable-next-line no-control-regex
  assert.not.match(all.replace(/\n/g, ''), /[\x00-\x08\x0a-\x1f\x7f-\x9f]/);
  assert.match(r.stdout, /^local \| local => succeeded\\x07$/m);
  assert.match(r.stderr, /^local \| {3}local => succeeded$/m);
  assert.match(r.stdout, /^ {2}local => failed: post_deploy_script exited 4 \(/m);
});

test.run();
