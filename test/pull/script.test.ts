// Pull mode, the pure parts: --every, the schedule texts, the unit/crontab id,
// the argument rules, and the scripts pinned by golden files (UPDATE_GOLDEN=1
// rewrites them; review the diff). test/script.test.ts runs shellcheck and
// bash -n over every golden script, these included.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from '../../src/args.js';
import { configFromSource } from '../../src/config.js';
import { UsageError } from '../../src/errors.js';
import { DEFAULT_RUN, planHosts } from '../../src/plan.js';
import { cronTimes, onCalendar, parseEvery, pullId } from '../../src/pull/schedule.js';
import { pullBy, pullScript, pulledDeploy, runnerScript } from '../../src/pull/script.js';

const GOLDEN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'golden');

function golden(name: string, actual: string): void {
  const file = join(GOLDEN, name);
  const ci = process.env['CI'] === 'true';
  if (!existsSync(file)) {
    if (ci) assert.unreachable(`golden file test/golden/${name} is missing; run the tests outside CI to write it, review it, and commit it`);
    writeFileSync(file, actual);
    console.error(`wrote the missing golden file test/golden/${name}: review it and commit it`);
  } else if (process.env['UPDATE_GOLDEN'] === '1' && !ci) writeFileSync(file, actual);
  assert.fixture(actual, readFileSync(file, 'utf8'), `golden file ${name} (UPDATE_GOLDEN=1 to accept a change)`);
}

const YAML = `prod:
  domain:
    - name: deploy@web1.example.com:2222
      roles: [web]
  deploy_to: /srv/app
  repository: git@github.com:acme/app.git
  branch: main
  post_deploy_script: deploy/post.sh
  rake_env:
    SECRET: "s3cr'et"
`;

function plan(yaml = YAML, env = 'prod') {
  const e = configFromSource({ name: 'deploy.yml', text: yaml }, undefined, env);
  return planHosts(e, 'deploy', { roles: [] }, '/work/here', { ...DEFAULT_RUN, by: 'deployer@laptop', timeout: 600 })[0]!;
}

function usage(argv: string[]): string {
  try {
    parseArgs(argv);
  } catch (e) {
    assert.instance(e, UsageError);
    return (e as Error).message;
  }
  assert.unreachable(`parseArgs(${JSON.stringify(argv)}) accepted`);
  return '';
}

test('--every: s, m and h on the clock grid; anything else names the value', () => {
  assert.is(parseEvery('5m'), 300);
  assert.is(parseEvery('300s'), 300);
  assert.is(parseEvery('1m'), 60);
  assert.is(parseEvery('2h'), 7200);
  assert.is(parseEvery('120m'), 7200);
  assert.is(parseEvery('24h'), 86400);
  const err = (v: string): string => {
    try {
      parseEvery(v);
    } catch (e) {
      return (e as Error).message;
    }
    return 'accepted';
  };
  assert.match(err('5'), /^--every '5' is not an interval: write a number and s, m or h, e\.g\. --every 5m; one that divides/);
  assert.match(err('5 m'), /^--every '5 m' is not an interval/);
  assert.match(err('-5m'), /^--every '-5m' is not an interval/);
  assert.match(err('0m'), /^--every '0m' is not an interval/);
  assert.match(err('$(id)m'), /^--every '\$\(id\)m' is not an interval/);
  assert.match(err('30s'), /^--every '30s': pulls run on whole minutes \(cron can do no finer\), so the shortest is 1m; use one that/);
  assert.match(err('90s'), /^--every '90s': pulls run on whole minutes/);
  assert.match(err('7m'), /^--every '7m' does not divide an hour evenly/);
  assert.match(err('5h'), /^--every '5h' does not divide a day evenly/);
  assert.match(err('48h'), /^--every '48h' does not divide a day evenly/);
});

test('cron times and systemd OnCalendar say the same times', () => {
  const cases: Array<[number, string, string]> = [
    [60, '* * * * *', '*-*-* *:*:00'],
    [300, '*/5 * * * *', '*-*-* *:00/5:00'],
    [1800, '*/30 * * * *', '*-*-* *:00/30:00'],
    [3600, '0 * * * *', '*-*-* *:00:00'],
    [6 * 3600, '0 */6 * * *', '*-*-* 00/6:00:00'],
    [86400, '0 0 * * *', '*-*-* 00:00:00'],
  ];
  for (const [sec, cron, cal] of cases) {
    assert.is(cronTimes(sec), cron);
    assert.is(onCalendar(sec), cal);
  }
  // systemd itself agrees that each expression is valid (where systemd-analyze is installed).
  if (spawnSync('systemd-analyze', ['--version']).status === 0) {
    for (const [, , cal] of cases) {
      const r = spawnSync('systemd-analyze', ['calendar', cal], { encoding: 'utf8' });
      assert.is(r.status, 0, `${cal}: ${r.stderr}`);
    }
  }
});

test('the unit and crontab id: a valid systemd unit name whatever the environment and deploy_to', () => {
  assert.is(pullId('prod', '/srv/app'), pullId('prod', '/srv/app'));
  assert.is.not(pullId('prod', '/srv/app'), pullId('prod', '/srv/app2'));
  assert.is.not(pullId('prod', '/srv/app'), pullId('staging', '/srv/app'));
  assert.match(pullId('prod', '/srv/app'), /^wd-pull-prod-[0-9a-f]{12}$/);
  for (const [env, to] of [
    ["it's $(rm -rf /)\n%n", "/srv/a b/'c'/%h/$HOME"],
    ['ÜNÏCØDÉ', '~/x'],
    ['-', '.'],
    ['a'.repeat(300), '/x'],
  ] as const) {
    const id = pullId(env, to);
    assert.match(id, /^wd-pull-([a-z0-9]+(-[a-z0-9]+)*-)?[0-9a-f]{12}$/, id);
    assert.ok(id.length <= 8 + 33 + 12, id);
  }
  assert.match(pullId("it's $(rm -rf /)", '/x'), /^wd-pull-it-s-rm-rf-[0-9a-f]{12}$/);
});

test('wd pull: subcommand, environment and --every are checked before anything runs', () => {
  const o = parseArgs(['pull', 'install', 'prod', '--every', '10m', '-j', '50', '--only', 'web1']);
  assert.equal([o.command, o.pull, o.env, o.every, o.concurrency, o.only], ['pull', 'install', 'prod', 600, 50, 'web1']);
  assert.is(parseArgs(['pull', 'install', '--to=app:prod']).every, 300);
  assert.equal([parseArgs(['pull', 'install', '--to=app:prod']).project, parseArgs(['pull', 'status', 'prod']).every], ['app', undefined]);
  assert.is(usage(['pull']), `'wd pull' needs a subcommand: install, uninstall, status. Usage: wd pull install|uninstall|status <env> [options].`);
  assert.is(usage(['pull', 'instal', 'prod']), `unknown pull subcommand 'instal' (did you mean 'install'?). Subcommands: install, uninstall, status.`);
  assert.is(usage(['pull', 'status', 'prod', '--every', '5m']), `--every applies to 'wd pull install' only (got 'wd pull status').`);
  assert.is(usage(['pull', 'install', 'prod', 'extra']), `too many arguments: 'extra'. Usage: wd pull install <env> [options].`);
  assert.match(usage(['pull', 'install', 'prod', '--every', '7m']), /^--every '7m' does not divide an hour evenly/);
  assert.match(usage(['deploy', 'prod', '--every', '5m']), /^--every does not apply to 'wd deploy'; it is an option of: wd pull\./);
  assert.match(usage(['pull', 'install', 'prod', '--check']), /^--check does not apply to 'wd pull'/);
});

test('the pulled deploy: the deploy script with --check, failing fast on a held lock, by pull@host', () => {
  const p = plan();
  assert.is(pullBy(p.host.name), 'pull@web1.example.com');
  assert.is(pullBy('local'), 'pull@local');
  assert.is(pullBy('a\nb@c\td'), 'pull@c?d');
  const text = pulledDeploy(p).text;
  assert.match(text, '\nWD_BY=pull@web1.example.com\n');
  assert.match(text, '\nWD_WAIT_LOCK=0\n');
  assert.match(text, '\nWD_TIMEOUT=600\n');
  assert.match(text, '  wd_step check\n');
  assert.match(text, '    echo "No changes to deploy."\n');
});

test('golden: pull install, uninstall and status scripts, and run.sh', () => {
  const p = plan();
  golden('pull-install.sh', pullScript(p, 'install', { every: 600 }).text);
  golden('pull-uninstall.sh', pullScript(p, 'uninstall').text);
  golden('pull-status.sh', pullScript(p, 'status').text);
  golden('pull-run.sh', runnerScript(p, pulledDeploy(p).mark));
});

test('the installer holds deploy.sh and run.sh byte for byte, and hostile values only in quoted assignments', () => {
  const hostile = `"x'y$(touch /tmp/pwned)\`z\`%n\\`;
  const yaml = `${JSON.stringify(hostile)}:
  deploy_to: ${JSON.stringify(`/srv/${hostile}`)}
  repository: ${JSON.stringify(`/git/${hostile}`)}
  branch: main
  rake_env:
    K: ${JSON.stringify(`v\nWD_PULL_EOF_x\n${hostile}`)}
`;
  const p = plan(yaml, hostile);
  const s = pullScript(p, 'install', { every: 300 }).text;
  const deploy = pulledDeploy(p);
  assert.ok(s.includes(`\n${deploy.text}WD_PULL_EOF_`), 'deploy.sh verbatim, then its delimiter');
  assert.ok(s.includes(`\n${runnerScript(p, deploy.mark)}WD_PULL_EOF_`), 'run.sh verbatim, then its delimiter');
  // Outside the two heredocs, the values appear only in the quoted assignments at the top.
  const outside = s.replace(/<<'(WD_PULL_EOF_[0-9a-f]+)'\n[\s\S]*?\n\1\n/g, '');
  for (const line of outside.split('\n').filter((l) => l.includes('pwned') && !l.startsWith('WD_PULL_SLUG='))) assert.match(line, /^WD_[A-Z_]+='/, line);
  // The id is made of the environment's letters and digits only.
  assert.match(s, '\nWD_PULL_SLUG=x-y-touch-tmp-pwned-z-n-\n');
  const r = spawnSync('bash', ['-n'], { input: s, encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
});

test.run();
