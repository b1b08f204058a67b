// The built binary, spawned as a user would: exact output and exit codes.
// Local deploys (no SSH) exercise the whole pipeline with real git and bash.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { git, makeOrigin } from './helpers/git.js';
import { cleanup, tmpDir } from './helpers/tmp.js';
import { runWd, WD_BIN } from './helpers/wd.js';
import { KEY_NAMES } from '../src/keys.js';

test.after(cleanup);

const pkg = JSON.parse(readFileSync(join(WD_BIN, '..', '..', 'package.json'), 'utf8')) as { version: string };

function project(yaml: (o: { origin: string; dir: string }) => string, files: Record<string, string> = {}) {
  const origin = makeOrigin('origin', files);
  const dir = tmpDir('wd-cli-');
  writeFileSync(join(dir, 'deploy.yml'), yaml({ origin: origin.url, dir }));
  return { origin, dir };
}

// Durations vary; the short revision after "succeeded" is checked where it matters.
const durations = (s: string): string => s.replace(/\(\d+\.\d+s\)/g, '(T)').replace(/succeeded [0-9a-f]{7} /g, 'succeeded ');

test('--version matches package.json; --help; help for a command', async () => {
  const v = await runWd(['--version']);
  assert.is(v.code, 0);
  assert.is(v.stdout, `wd ${pkg.version}\n`);
  const h = await runWd(['--help']);
  assert.is(h.code, 0);
  assert.match(h.stdout, /^wd \d+\.\d+\.\d+: fast git deploys/);
  assert.match(h.stdout, /-n, --dry-run/);
  const d = await runWd(['deploy', '--help']);
  assert.match(d.stdout, /^Usage: wd deploy <env>/);
});

test('usage errors: exit 2, one clear line on stderr, nothing on stdout', async () => {
  const r = await runWd([]);
  assert.is(r.code, 2);
  assert.is(r.stdout, '');
  assert.match(r.stderr, /^wd: no command given\./);
  const u = await runWd(['deploy', 'x', '--frobnicate']);
  assert.is(u.code, 2);
  assert.match(u.stderr, /^wd: unknown option '--frobnicate'/);
  assert.not.match(u.stderr, /at .*\.js:\d+/); // no stack trace
});

test('config errors exit 2 before anything runs', async () => {
  const { dir } = project(
    ({ origin }) => `prod:\n  domain: local\n  deploy_to: app\n  repository: ${origin}\n  branch: main\n  post_deploy_script: x.sh\n  colour: blue\n`,
  );
  const r = await runWd(['setup', 'prod'], { cwd: dir });
  assert.is(r.code, 2);
  assert.is(r.stdout, '');
  assert.is(r.stderr, `wd: ${join(dir, 'deploy.yml')}:7:3, environment 'prod': unknown key 'colour'. Known keys: ${KEY_NAMES.join(', ')}.\n`);
  assert.not.ok(existsSync(join(dir, 'app')));
  writeFileSync(join(dir, 'bad.yml'), 'prod:\n  deploy_to: [\n');
  const y = await runWd(['deploy', 'prod', '-p', 'bad.yml'], { cwd: dir });
  assert.is(y.code, 2);
  assert.match(y.stderr, new RegExp(`^wd: YAML syntax error in ${join(dir, 'bad.yml')}:3:1: `));
});

test('local setup then deploy: files, output lines, summary, exit 0', async () => {
  const { origin, dir } = project(
    ({ origin }) => `prod:
  deploy_to: my app's dir
  repository: ${origin}
  branch: main
  post_setup_script: hooks/setup.sh
  post_deploy_script: hooks/deploy.sh
  rake_env:
    GREETING: "hi $(there) 'you'"
`,
    {
      'hooks/setup.sh': 'echo "setup in $PWD: $GREETING"\necho "at ${WD_REVISION:0:7}"\n',
      'hooks/deploy.sh':
        'echo "deployed $(cat app.txt) from ${WD_PREVIOUS_REVISION:0:7} to ${WD_REVISION:0:7}"\nwd_changed app.txt && echo "app.txt changed"\nwd_changed hooks || echo "hooks unchanged"\ncat >/dev/null; echo "stdin was empty"\n',
    },
  );
  const app = join(dir, "my app's dir");
  const s = await runWd(['setup', 'prod'], { cwd: dir });
  assert.is(s.stderr, '');
  assert.is(
    durations(s.stdout),
    `local | Running post script...\nlocal | setup in ${app}: hi $(there) 'you'\nlocal | at ${origin.head('main').slice(0, 7)}\nResults:\n  local => succeeded (T)\nTotal: 1 deployment, 1 success, 0 failures.\n`,
  );
  assert.is(s.code, 0);
  assert.is(readFileSync(join(app, 'app.txt'), 'utf8'), 'v1\n');
  const before = origin.head('main');
  const after = origin.commit('main', { 'app.txt': 'v2\n' });
  const d = await runWd(['deploy', 'prod'], { cwd: dir });
  assert.is(d.code, 0);
  assert.is(
    durations(d.stdout),
    `local | Running post script...\nlocal | deployed v2 from ${before.slice(0, 7)} to ${after.slice(0, 7)}\nlocal | app.txt changed\nlocal | hooks unchanged\nlocal | stdin was empty\nResults:\n  local => succeeded (T)\nTotal: 1 deployment, 1 success, 0 failures.\n`,
  );
  assert.is(git(app, 'rev-parse', 'HEAD'), after);
  // Setup again: already cloned.
  const again = await runWd(['setup', 'prod'], { cwd: dir });
  assert.is(again.code, 0);
  assert.match(again.stdout, `local | Repository already cloned to [${app}].  Skipping.\n`, again.stdout + again.stderr);
});

test('a failing post script: exit 1 and the reason in the summary', async () => {
  const { dir } = project(({ origin }) => `prod:\n  deploy_to: app\n  repository: ${origin}\n  branch: main\n  post_setup_script: fail.sh\n`, {
    'fail.sh': 'echo about to fail\nexit 3\n',
  });
  const r = await runWd(['setup', 'prod'], { cwd: dir });
  assert.is(r.code, 1);
  assert.is(
    durations(r.stdout),
    'local | Running post script...\nlocal | about to fail\nResults:\n  local => failed: post_setup_script exited 3 (T)\nTotal: 1 deployment, 0 successes, 1 failure.\n',
  );
});

test('deploy before setup fails with the next step to take', async () => {
  const { dir } = project(({ origin }) => `prod:\n  deploy_to: app\n  repository: ${origin}\n`);
  const r = await runWd(['deploy', 'prod'], { cwd: dir });
  assert.is(r.code, 1);
  assert.match(r.stderr, `local | wd: no git checkout at ${join(dir, 'app')}; run 'wd setup prod' first\n`);
  assert.match(r.stdout, '  local => failed: no git checkout at');
});

test('--dry-run prints the script and touches nothing', async () => {
  const { dir } = project(({ origin }) => `prod:\n  domain: [deploy@web1, deploy@web2]\n  deploy_to: /srv/app\n  repository: ${origin}\n`);
  const r = await runWd(['deploy', 'prod', '-n'], { cwd: dir });
  assert.is(r.code, 0);
  assert.is(r.stderr, '');
  assert.match(
    r.stdout,
    /^# ---- deploy@web1 ----\n\[ -n "\$\{BASH_SOURCE\[0\]-\}" \] \|\| \{ eval "\$\(head -c \d+\)"; exit; \}\n# wd [\d.]+: deploy script, run as 'bash -s' with this text on stdin \(the line above reads the rest at once\)\. Values are only in the quoted assignments below\.\n\{\nset -euo pipefail\n/,
  );
  assert.match(r.stdout, '\n# ---- deploy@web2 ----\n');
  assert.match(r.stdout, '  wd_sync "$WD_DEPLOY_TO" "$WD_REPOSITORY" "$WD_BRANCH" deploy_to "$WD_PREVIOUS_REVISION"\n');
});

test('--json: one object on stdout, host output on stderr', async () => {
  const { dir, origin } = project(({ origin }) => `prod:\n  deploy_to: app\n  repository: ${origin}\n  branch: main\n  post_setup_script: hi.sh\n`, {
    'hi.sh': 'echo hi\n',
  });
  const r = await runWd(['setup', 'prod', '--json'], { cwd: dir });
  assert.is(r.code, 0);
  assert.is(r.stderr, 'local | Running post script...\nlocal | hi\n');
  const j = JSON.parse(r.stdout) as { status: string; hosts: Array<{ host: string; status: string; revision: string }> };
  assert.is(j.status, 'succeeded');
  assert.is(j.hosts[0]!.host, 'local');
  assert.is(j.hosts[0]!.revision, origin.head('main'));
});

test('inside a git hook (GIT_DIR set) a local deploy still acts on deploy_to', async () => {
  const { dir, origin } = project(({ origin }) => `prod:\n  deploy_to: app\n  repository: ${origin}\n  branch: main\n`);
  const env = { GIT_DIR: origin.url, GIT_WORK_TREE: '/nonexistent', GIT_INDEX_FILE: '/nonexistent/index' };
  assert.is((await runWd(['setup', 'prod'], { cwd: dir, env })).code, 0);
  const sha = origin.commit('main', { 'app.txt': 'v3\n' });
  assert.is((await runWd(['deploy', 'prod'], { cwd: dir, env })).code, 0);
  assert.is(git(join(dir, 'app'), 'rev-parse', 'HEAD'), sha);
});

test('--quiet: nothing but the summary on success, the host output on failure', async () => {
  const { dir } = project(
    ({ origin }) =>
      `ok:\n  deploy_to: a\n  repository: ${origin}\n  branch: main\n  post_setup_script: hi.sh\nbad:\n  deploy_to: b\n  repository: ${origin}\n  branch: main\n  post_setup_script: nope.sh\n`,
    { 'hi.sh': 'echo chatter\n' },
  );
  const ok = await runWd(['setup', 'ok', '-q'], { cwd: dir });
  assert.is(durations(ok.stdout), 'Results:\n  local => succeeded (T)\nTotal: 1 deployment, 1 success, 0 failures.\n');
  const bad = await runWd(['setup', 'bad', '-q'], { cwd: dir });
  assert.is(bad.code, 1);
  assert.match(bad.stderr, `local | wd: post_setup_script not found: ${join(dir, 'b', 'nope.sh')}\n`);
});

test('wd init writes a starter that validates, and never overwrites', async () => {
  const dir = tmpDir('wd-init-');
  const r = await runWd(['init'], { cwd: dir });
  assert.is(r.code, 0);
  assert.is(r.stdout, `Wrote ${join(dir, 'deploy.yml')}. Edit it, then run: wd setup staging\n`);
  const dry = await runWd(['deploy', 'staging', '-n'], { cwd: dir });
  assert.is(dry.code, 0, dry.stderr);
  const again = await runWd(['init'], { cwd: dir });
  assert.is(again.code, 2);
  assert.match(again.stderr, /already exists; not overwriting it/);
});

test.run();
