// The generated scripts, pinned by golden files (UPDATE_GOLDEN=1 rewrites
// them; review the diff). --dry-run prints exactly these texts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configFromSource } from '../src/config.js';
import { DEFAULT_RUN, planHosts, type Action } from '../src/plan.js';
import { buildScript } from '../src/script.js';
import { quote } from '../src/quote.js';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

const GOLDEN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'golden');

function script(yaml: string, action: Action, flags: { debug?: boolean; check?: boolean } = {}, host = 0): string {
  const env = configFromSource({ name: 'deploy.yml', text: yaml }, undefined, 'prod');
  const run = { ...DEFAULT_RUN, debug: flags.debug ?? false, check: flags.check ?? false, by: 'deployer@laptop' };
  const plan = planHosts(env, action, { roles: [] }, '/work/here', run)[host]!;
  return buildScript(plan).text;
}

/**
 * Compare with test/golden/NAME. Outside CI a missing file is written (and
 * said so) for review; under CI=true it is a failure, since a test that writes
 * its own expectation cannot fail.
 */
function golden(name: string, actual: string, ci = process.env['CI'] === 'true'): void {
  const file = join(GOLDEN, name);
  if (!existsSync(file)) {
    if (ci)
      assert.unreachable(
        `golden file test/golden/${name} is missing; run the tests outside CI (or with UPDATE_GOLDEN=1) to write it, review it, and commit it`,
      );
    writeFileSync(file, actual);
    console.error(`wrote the missing golden file test/golden/${name}: review it and commit it`);
  } else if (process.env['UPDATE_GOLDEN'] === '1' && !ci) {
    writeFileSync(file, actual);
  }
  assert.fixture(actual, readFileSync(file, 'utf8'), `golden file ${name} (UPDATE_GOLDEN=1 to accept a change)`);
}

test('golden(): under CI=true a missing golden file fails and is not written', () => {
  const name = 'missing-on-purpose.sh';
  try {
    let message = '(golden() passed)';
    try {
      golden(name, 'echo hi\n', true);
    } catch (e) {
      message = (e as Error).message;
    }
    assert.match(message, /^golden file test\/golden\/missing-on-purpose\.sh is missing; run the tests outside CI/);
    assert.not.ok(existsSync(join(GOLDEN, name)));
  } finally {
    rmSync(join(GOLDEN, name), { force: true });
  }
});

const MINIMAL = `prod:
  domain: deploy@web1.example.com
  deploy_to: /var/www/app
  repository: git@github.com:example/app.git
  branch: main
`;

const FULL = `prod:
  domain:
    - name: deploy@web1.example.com:2222
      roles: [web, db]
    - name: deploy@web2.example.com
      roles: web
  deploy_to: ~/apps/my app's "dir"
  repository: git@github.com:example/app.git
  branch: "release/$(id>pwned)"
  post_setup_script: script/setup.sh
  post_deploy_script: /opt/hooks/after deploy.sh
  rake_env:
    RAILS_ENV: production
    MESSAGE: "it's $(not) \`run\`"
  deploy_config_to: /etc/app-config
  config_repository: git@github.com:example/config.git
  config_branch: live
  config_target: web
`;

test('setup, minimal config', () => golden('setup-minimal.sh', script(MINIMAL, 'setup')));
test('deploy, minimal config', () => golden('deploy-minimal.sh', script(MINIMAL, 'deploy')));
test('deploy, minimal config, --debug', () => golden('deploy-debug.sh', script(MINIMAL, 'deploy', { debug: true })));
test('setup, config repository, roles, post script, hostile values', () => golden('setup-full.sh', script(FULL, 'setup')));
test('deploy, config repository, roles, post script, hostile values, --check', () => golden('deploy-full-check.sh', script(FULL, 'deploy', { check: true })));

test('rollback, minimal config', () => golden('rollback-minimal.sh', script(MINIMAL, 'rollback')));
test('status, config repository', () => golden('status-full.sh', script(FULL, 'status')));
test('releases: deploy, config repository, shared paths, before_switch_script, hostile values, --check', () =>
  golden(
    'deploy-releases-full.sh',
    script(
      `${FULL}  strategy: releases\n  keep_releases: 3\n  shared_paths: [log, "my files/$(touch pwned)"]\n  before_switch_script: script/build it.sh\n`,
      'deploy',
      { check: true },
    ),
  ));
test('releases: setup, rollback and status, minimal config', () => {
  for (const a of ['setup', 'rollback', 'status'] as const) golden(`${a}-releases-minimal.sh`, script(`${MINIMAL}  strategy: releases\n`, a));
});

test('per-host values differ only in WD_HOST and WD_ROLES', () => {
  const a = script(FULL, 'deploy', {}, 0).split('\n');
  const b = script(FULL, 'deploy', {}, 1).split('\n');
  // The marker token is derived from the whole text, so it differs too, and the loader's byte count.
  const diff = a.filter((l, i) => l !== b[i] && !l.startsWith('WD_MARK=') && i > 0);
  assert.equal(diff, ['export WD_HOST=deploy@web1.example.com:2222', 'export WD_ROLES=web:db']);
});

// bash -s reads a script on a pipe byte by byte; the first line reads the rest with one head -c.
test('the loader line reads exactly the rest of the script, in bytes: what follows on stdin is not run', () => {
  const yaml = 'prod:\n  domain: deploy@h\n  deploy_to: /nonexistent/wd-tést/äpp ü\n  repository: git@github.com:example/app.git\n';
  const text = script(yaml, 'status');
  const [first, ...rest] = text.split('\n');
  assert.is(first, `[ -n "\${BASH_SOURCE[0]-}" ] || { eval "$(head -c ${Buffer.byteLength(rest.join('\n'))})"; exit; }`);
  const r = spawnSync('bash', ['-s'], { input: text + 'echo THIS-IS-THE-CONTROL-CHANNEL\n', encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, / status missing \/nonexistent\/wd-tést\/äpp ü\n/);
  assert.match(r.stdout, / done\n/);
  assert.not.match(r.stdout + r.stderr, 'THIS-IS-THE-CONTROL-CHANNEL');
});

test('the same script text runs from a file (bash FILE, as pull mode runs it): the loader line steps aside', () => {
  const yaml = 'prod:\n  domain: deploy@h\n  deploy_to: /nonexistent/wd-tést/äpp ü\n  repository: git@github.com:example/app.git\n';
  const dir = mkdtempSync(join(tmpdir(), 'wd-loader-'));
  try {
    writeFileSync(join(dir, 'status.sh'), script(yaml, 'status'));
    const r = spawnSync('bash', [join(dir, 'status.sh')], { input: 'echo THIS-IS-STDIN\n', encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
    assert.match(r.stdout, / status missing \/nonexistent\/wd-tést\/äpp ü\n/);
    assert.not.match(r.stdout + r.stderr, 'THIS-IS-STDIN');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('local deploy_to and repository are resolved against the working directory', () => {
  const s = script('prod:\n  deploy_to: tmp/app\n  repository: .\n', 'deploy');
  assert.match(s, 'export WD_DEPLOY_TO=/work/here/tmp/app\n');
  assert.match(s, 'WD_REPOSITORY=/work/here\n');
});

test('config values enter the script only as quoted assignments', () => {
  const s = script(FULL, 'deploy');
  for (const v of ['release/$(id>pwned)', "it's $(not) `run`", '/opt/hooks/after deploy.sh', 'git@github.com:example/config.git']) {
    const q = quote(v);
    const lines = s.split('\n').filter((l) => l.includes(q));
    assert.ok(lines.length >= 1, `${v} appears as ${q}`);
    for (const l of lines) assert.match(l, /^\s*(export |elif )?[A-Z_]+=/, `value ${v} on line: ${l}`);
  }
});

test('every golden script is shellcheck-clean at warning level', () => {
  const sc = spawnSync('shellcheck', ['--version']);
  if (sc.error) {
    if (process.env['CI'] === 'true') assert.unreachable('shellcheck is not installed (.ci/run installs it)');
    console.warn('WARNING: shellcheck not installed; golden scripts not checked');
    return;
  }
  for (const f of readdirSync(GOLDEN).filter((n) => n.endsWith('.sh'))) {
    const r = spawnSync('shellcheck', ['-S', 'warning', '-s', 'bash', join(GOLDEN, f)], { encoding: 'utf8' });
    assert.is(r.status, 0, `${f}:\n${r.stdout}`);
  }
});

test('every golden script parses with bash -n', () => {
  for (const f of readdirSync(GOLDEN).filter((n) => n.endsWith('.sh'))) {
    const r = spawnSync('bash', ['-n', join(GOLDEN, f)], { encoding: 'utf8' });
    assert.is(r.status, 0, `${f}: ${r.stderr}`);
  }
});

test.run();
