// The trust issue's items about what wd does to a host, through the binary
// with local deploys (and a real sshd for secrets in the process list):
// reruns after a failure still see the change, half-done setups complete,
// wd_changed with any file name, nothing wd did not make is destroyed without
// --force (and --force keeps it), secrets stay out of argv and --debug, and
// the common git failures get a reason a person can act on.
import { suite, test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { git, makeOrigin } from '../helpers/git.js';
import { currentSshdGate, startWorld, type World } from '../helpers/e2e-fixture.js';
import { durations, headOf, history, killMatching, localProject, show, waitFor } from '../helpers/ops.js';
import { cleanup } from '../helpers/tmp.js';

const MIGRATE = `#!/bin/bash
if wd_changed db/migrate; then echo "post: migrating (\${WD_PREVIOUS_REVISION:0:7} -> \${WD_REVISION:0:7})"; else echo "post: no migration"; fi
if [ -e "$WD_DEPLOY_TO.fail" ]; then echo "post: failing after the migration" >&2; exit 5; fi
if [ -e "$WD_DEPLOY_TO.hang" ]; then rm -f -- "$WD_DEPLOY_TO.hang"; : >"$WD_DEPLOY_TO.started"; sleep 600.543; fi
`;
const s7 = (r: string): string => r.slice(0, 7);

test('a rerun after a failed post script, and after an interrupted one, still runs the migration hook', async () => {
  const p = localProject({ 'post.sh': MIGRATE }, { post_deploy_script: 'post.sh' });
  const r0 = p.origin.head('main');
  assert.is((await p.wd(['setup', 'prod'])).code, 0);
  const r1 = p.origin.commit('main', { 'db/migrate/001_users.rb': 'create users\n' }, 'migration');
  const migrating = `local | post: migrating (${s7(r0)} -> ${s7(r1)})\n`;

  writeFileSync(`${p.app}.fail`, '');
  const failed = await p.wd(['deploy', 'prod']);
  assert.is(failed.code, 1, show(failed));
  assert.match(failed.stdout, migrating);
  assert.is(headOf(p.app), r1, 'the failed run moved HEAD already');
  rmSync(`${p.app}.fail`);

  // Interrupted (two Ctrl-C) in its post script: not completed either.
  writeFileSync(`${p.app}.hang`, '');
  const run = p.start(['deploy', 'prod']);
  await waitFor(() => existsSync(`${p.app}.started`), 'the post script to hang');
  run.child.kill('SIGINT');
  await waitFor(() => run.stderr().includes('Ctrl-C again'), 'wd to acknowledge the first interrupt');
  run.child.kill('SIGINT');
  const interrupted = await run.done;
  assert.is(interrupted.code, 130, show(interrupted));
  assert.match(interrupted.stdout, migrating);

  const ok = await p.wd(['deploy', 'prod']);
  assert.is(ok.code, 0, show(ok));
  assert.match(ok.stdout, migrating);
  assert.equal(
    history(p.state).map((l) => [l[3], l[5], l[6], l[7]]),
    [
      ['setup', '-', r0, 'ok'],
      ['deploy', r0, r1, 'failed post_deploy_script'],
      ['deploy', r0, r1, 'interrupted'],
      ['deploy', r0, r1, 'ok'],
    ],
  );
  const after = await p.wd(['deploy', 'prod']);
  assert.match(after.stdout, 'local | post: no migration\n', 'once a deploy completed, the migration is not seen again');
});

test('setup over a half-done setup (an empty repository, or one with origin and fetched objects but no commit checked out) completes', async () => {
  for (const half of ['empty', 'fetched']) {
    const p = localProject();
    git(p.dir, 'init', '-q', p.app);
    if (half === 'fetched') {
      git(p.app, 'remote', 'add', 'origin', p.origin.url);
      git(p.app, 'fetch', '-q', p.origin.url, 'main');
    }
    const r = await p.wd(['setup', 'prod']);
    assert.is(r.code, 0, `${half}: ${show(r)}`);
    assert.not.match(r.stdout + r.stderr, /fatal|ambiguous/, half);
    assert.is(headOf(p.app), p.origin.head('main'), half);
    assert.is(readFileSync(join(p.app, 'app.txt'), 'utf8'), 'v1\n', half);
    assert.is(git(p.app, 'status', '--porcelain'), '', half);
    assert.equal(
      history(p.state).map((l) => [l[3], l[5], l[7]]),
      [['setup', '-', 'ok']],
      half,
    );
    // ...and deploys work on it afterwards.
    const rev = p.origin.commit('main', { 'app.txt': 'v2\n' });
    const d = await p.wd(['deploy', 'prod']);
    assert.is(d.code, 0, show(d));
    assert.is(headOf(p.app), rev);
  }
});

test('setup refuses a deploy_to that is not empty and not a git checkout, and leaves it alone', async () => {
  const p = localProject();
  mkdirSync(p.app);
  writeFileSync(join(p.app, 'precious.txt'), 'mine\n');
  const r = await p.wd(['setup', 'prod']);
  assert.is(r.code, 1, show(r));
  assert.match(r.stdout, `local => failed: ${p.app} exists and is not a git checkout; move it away or point deploy_to elsewhere`);
  assert.equal(readdirSync(p.app), ['precious.txt']);
});

test('wd_changed answers for non-ASCII names, quotes, backslashes, tabs and spaces in names', async () => {
  const added = ['données/é.txt', 'say "hi".txt', 'tab\there.txt', 'back\\slash.txt', 'with space/ok.txt'];
  const asked = ['données', ...added, 'with space', 'app.txt'];
  // The names come from a file beside the checkout, one a line: no quoting between the test and bash.
  const post =
    '#!/bin/bash\nn=0\nwhile IFS= read -r f; do n=$((n + 1)); if wd_changed "$f"; then echo "changed $n"; else echo "unchanged $n"; fi; done <"$WD_DEPLOY_TO.names"\n';
  const p = localProject({ 'post.sh': post }, { post_deploy_script: 'post.sh' });
  writeFileSync(`${p.app}.names`, asked.join('\n') + '\n');
  assert.is((await p.wd(['setup', 'prod'])).code, 0);
  p.origin.commit('main', Object.fromEntries(added.map((n) => [n, `${n}\n`])), 'odd names');
  const r = await p.wd(['deploy', 'prod']);
  assert.is(r.code, 0, show(r));
  const lines = asked.map((n, i) => `local | ${n === 'app.txt' ? 'unchanged' : 'changed'} ${i + 1}`);
  assert.is(
    r.stdout
      .split('\n')
      .filter((l) => l.startsWith('local | ') && l !== 'local | Running post script...')
      .join('\n'),
    lines.join('\n'),
    `asked about ${JSON.stringify(asked)}`,
  );
});

test('an unrelated checkout at deploy_to is refused by setup and deploy; --force replaces it and keeps its HEAD under refs/wd/saved/', async () => {
  const p = localProject();
  const other = makeOrigin('unrelated', { 'theirs.txt': 'their work\n' });
  git(p.dir, 'clone', '-q', '-b', 'main', other.url, p.app);
  const theirs = headOf(p.app);
  for (const cmd of ['setup', 'deploy']) {
    const r = await p.wd([cmd, 'prod']);
    assert.is(r.code, 1, `${cmd}: ${show(r)}`);
    assert.match(
      r.stdout,
      `local => failed: ${p.app} holds a checkout of ${other.url} that shares no history with ${p.origin.url}; wd will not overwrite it. Move it away, fix deploy_to or the repository in deploy.yml, or run again with --force to replace it (its HEAD is kept under refs/wd/saved/)`,
      cmd,
    );
    assert.is(headOf(p.app), theirs, `${cmd} left it alone`);
    assert.is(readFileSync(join(p.app, 'theirs.txt'), 'utf8'), 'their work\n');
    assert.is(git(p.app, 'config', '--get', 'remote.origin.url'), other.url);
  }
  const f = await p.wd(['deploy', 'prod', '--force']);
  assert.is(f.code, 0, show(f));
  assert.match(f.stderr, /--force: the previous HEAD is kept as refs\/wd\/saved\/\d{8}T\d{6}Z-unrelated/);
  assert.is(headOf(p.app), p.origin.head('main'));
  assert.is(git(p.app, 'for-each-ref', '--format=%(objectname)', 'refs/wd/saved/'), theirs);
  assert.is(git(p.app, 'show', `${theirs}:theirs.txt`), 'their work');
});

test('an untracked file the new revision would add is refused by name; --force moves it to <git dir>/wd/saved/; an identical one is not in the way', async () => {
  const p = localProject();
  assert.is((await p.wd(['setup', 'prod'])).code, 0);
  const before = headOf(p.app);
  mkdirSync(join(p.app, 'config'));
  writeFileSync(join(p.app, 'config', 'new.yml'), 'made on the host\n');
  writeFileSync(join(p.app, 'same.txt'), 'same\n');
  const rev = p.origin.commit('main', { 'config/new.yml': 'from the repository\n', 'same.txt': 'same\n' });
  const r = await p.wd(['deploy', 'prod']);
  assert.is(r.code, 1, show(r));
  assert.match(
    r.stdout,
    `local => failed: untracked files in ${p.app} would be overwritten by main: config/new.yml. Move them away, or run again with --force (they are kept under ${p.state}/saved/)`,
  );
  assert.is(headOf(p.app), before);
  assert.is(readFileSync(join(p.app, 'config', 'new.yml'), 'utf8'), 'made on the host\n');
  const f = await p.wd(['deploy', 'prod', '--force']);
  assert.is(f.code, 0, show(f));
  assert.is(headOf(p.app), rev);
  assert.is(readFileSync(join(p.app, 'config', 'new.yml'), 'utf8'), 'from the repository\n');
  const saved = readdirSync(join(p.state, 'saved'));
  assert.is(saved.length, 1);
  assert.match(saved[0]!, /^\d{8}T\d{6}Z$/);
  assert.is(readFileSync(join(p.state, 'saved', saved[0]!, 'config', 'new.yml'), 'utf8'), 'made on the host\n');
  assert.not.ok(existsSync(join(p.state, 'saved', saved[0]!, 'same.txt')), 'an identical file was not in the way');
  assert.match(f.stderr, `wd: --force: 1 untracked file(s) in the way moved to ${join(p.state, 'saved', saved[0]!)}`);
});

// A quote in it: bash's trace writes it as '\\'' inside quotes.
const SECRET = "hunter2's-s3cr3t-Zq9";
const FRAGMENTS = ['hunter2', 's3cr3t-Zq9'];
// Records every process's argv while it runs, and uses the secret the way a real script would.
const PS_POST = `#!/bin/bash
ps -eo args >"$WD_DEPLOY_TO.ps"
if [ "\${#API_TOKEN}" = ${SECRET.length} ]; then echo "post: token present"; fi
true "Authorization: $API_TOKEN"
`;
const noSecret = (text: string, where: string): void => {
  for (const f of FRAGMENTS) assert.not.match(text, f, `${where} shows the rake_env value`);
};

test('rake_env values are not in any process argv on the host while the script runs, nor in --debug output', async () => {
  const p = localProject({ 'post.sh': PS_POST }, { post_deploy_script: 'post.sh', rake_env: { API_TOKEN: SECRET } });
  assert.is((await p.wd(['setup', 'prod'])).code, 0);
  const r = await p.wd(['deploy', 'prod']);
  assert.is(r.code, 0, show(r));
  assert.match(r.stdout, 'local | post: token present\n');
  const ps = readFileSync(`${p.app}.ps`, 'utf8');
  assert.match(ps, /bash -s/, 'the snapshot was taken while the host script ran');
  noSecret(ps, 'ps -eo args');
  const d = await p.wd(['deploy', 'prod', '--debug']);
  assert.is(d.code, 0, show(d));
  assert.match(d.stdout, 'local | post: token present\n');
  assert.match(d.stdout + d.stderr, /\+ wd_post post_deploy_script/, 'the script was traced');
  assert.match(d.stderr, "local | + true 'Authorization: ***'\n", 'the traced use of the value is masked');
  noSecret(d.stdout + d.stderr, '--debug output');
  noSecret(readFileSync(`${p.app}.ps`, 'utf8'), 'ps -eo args under --debug');
});

test('--debug masks a multi-line rake_env value (a PEM key) and one with control characters, whichever form the trace takes', async () => {
  // A newline makes bash trace the value raw over several lines; \x01 without one makes it $'...\001...'.
  const pem = '-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0B\nAQEFAASCBKcwggSjAgEAAoIB\n-----END KEY-----';
  const ctl = 'Zq9-first-half\x01Zq9-second-half';
  const post = '#!/bin/bash\ntrue "$PEM_KEY"\ntrue "$CTL_TOKEN"\n';
  const p = localProject({ 'post.sh': post }, { post_deploy_script: 'post.sh', rake_env: { PEM_KEY: pem, CTL_TOKEN: ctl } });
  assert.is((await p.wd(['setup', 'prod'])).code, 0);
  const d = await p.wd(['deploy', 'prod', '--debug']);
  assert.is(d.code, 0, show(d));
  const all = d.stdout + d.stderr;
  assert.match(all, /\+ true '\*\*\*\n/, 'the multi-line value was traced, masked line by line');
  assert.match(all, "local | + true $'***\\001***'\n", "the $'...' form is masked around its escape");
  for (const f of ['MIIEvQIBADANBgkqhkiG9w0B', 'AQEFAASCBKcwggSjAgEAAoIB', 'Zq9-first-half', 'Zq9-second-half']) assert.not.match(all, f, `${f} is shown`);
});

test('a stale .git/index.lock gives the clear reason and changes nothing', async () => {
  const p = localProject();
  assert.is((await p.wd(['setup', 'prod'])).code, 0);
  const before = headOf(p.app);
  p.origin.commit('main', { 'app.txt': 'v2\n' });
  writeFileSync(join(p.app, '.git', 'index.lock'), '');
  const r = await p.wd(['deploy', 'prod']);
  assert.is(r.code, 1, show(r));
  assert.is(
    durations(r.stdout).split('\n').slice(-3).join('\n'),
    `  local => failed: ${p.app}/.git/index.lock exists: another git command is running there, or one crashed. If none is running, remove that file and run again. (T)\nTotal: 1 deployment, 0 successes, 1 failure.\n`,
  );
  assert.is(headOf(p.app), before);
  assert.equal(history(p.state).at(-1)!.slice(7, 8), ['failed fetch']);
});

test('an unreachable repository, or a missing branch, gives the clear reason (setup and deploy)', async () => {
  const p = localProject();
  const gone = join(p.dir, 'no-such-repo.git');
  const setup = await p.wd(['setup', 'prod', '-p', p.config({ repository: gone }, 'gone.yml')]);
  assert.is(setup.code, 1, show(setup));
  const reason = `cannot fetch main from ${gone} (deploy_to): the host cannot reach the repository or may not read it (git's message is above); check the URL, the host's network and its deploy key`;
  assert.match(setup.stdout, `local => failed: ${reason}`);
  assert.match(setup.stderr, /local \| fatal: .*no-such-repo\.git/);
  // The half-done setup it left is finished by the next one.
  assert.is((await p.wd(['setup', 'prod'])).code, 0);
  const d = await p.wd(['deploy', 'prod', '-p', join(p.dir, 'gone.yml')]);
  assert.is(d.code, 1, show(d));
  assert.match(d.stdout, `local => failed: ${reason}`);
  const b = await p.wd(['deploy', 'prod', '-p', p.config({ branch: 'nope' }, 'nope.yml')]);
  assert.is(b.code, 1, show(b));
  assert.match(b.stdout, `local => failed: branch nope not found in ${p.origin.url} (deploy_to); push it, or set the branch in deploy.yml`);
  assert.is(headOf(p.app), p.origin.head('main'));
});

// The same over a real sshd: the script reaches the host on stdin, not in the command line.
const gate = currentSshdGate();
const overSsh = suite('trust: secrets over a real sshd');
let w: World | undefined;
overSsh.before(async () => {
  if (gate === 'run') w = await startWorld([['web']], { 'post.sh': PS_POST });
});
overSsh.after(async () => {
  await w?.stop();
  await cleanup();
});
(gate === 'run' ? overSsh : overSsh.skip)('over SSH too, rake_env values never show in the host process list', async () => {
  const file = w!.config({ deploy_to: '~/secret', post_deploy_script: 'post.sh', rake_env: { API_TOKEN: SECRET } });
  assert.is((await w!.wd(['setup', 'prod', '-p', file])).code, 0);
  const r = await w!.wd(['deploy', 'prod', '-p', file]);
  assert.is(r.code, 0, show(r));
  assert.match(r.stdout, 'post: token present');
  const ps = readFileSync(join(w!.hosts[0]!.home, 'secret.ps'), 'utf8');
  assert.match(ps, /bash -s/);
  noSecret(ps, 'ps -eo args on the SSH host');
});

test.after(async () => {
  killMatching('sleep 600.543');
  await cleanup();
});
test.run();
overSsh.run();
