// Pull mode on this machine (domain: local): the systemd branch, forced with
// the test-only WD_PULL_TEST_SYSTEMD=DIR (containers run no systemd: the units
// are written to DIR and systemctl is not called), with the exact unit texts,
// checked by systemd-analyze where it is installed; a switch from cron to
// systemd; and strategy: releases, whose state directory is deploy_to/.wd.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { localProject, show } from '../helpers/ops.js';
import { WD_BIN } from '../helpers/wd.js';
import { cleanup, tmpDir } from '../helpers/tmp.js';
import { pullId } from '../../src/pull/schedule.js';

test.after(async () => {
  // A failed test must not leave its entry in root's crontab.
  const r = spawnSync('crontab', ['-l'], { encoding: 'utf8' });
  if (r.status === 0 && r.stdout.includes('wd:wd-pull-')) {
    const kept = r.stdout.split('\n').filter((l) => !l.includes('wd:wd-pull-'));
    spawnSync('crontab', kept.join('').trim() === '' ? ['-r'] : ['-'], { input: kept.join('\n') });
  }
  await cleanup();
});

const haveCrontab = spawnSync('crontab', ['-l']).error === undefined;
const BASH = spawnSync('bash', ['-c', 'command -v bash'], { encoding: 'utf8' }).stdout.trim();
const haveAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;

/** systemd's reading of one ExecStart= word as the installer writes it: "...", with \\, \", %% and $$. */
function sdWord(w: string): string {
  assert.match(w, /^".*"$/s);
  return w.slice(1, -1).replace(/\\(.)|%%|\$\$/g, (m, c: string | undefined) => c ?? m[0]!);
}

test('systemd: exact service and timer units, ExecStart quoting a hostile deploy_to; uninstall removes them', async () => {
  const p = localProject({ 'app.txt': 'v1\n' });
  const app = join(p.dir, `a p'p"%s$HOME\\x`);
  p.config({ deploy_to: app });
  const units = tmpDir('wd-units-');
  const env = { WD_PULL_TEST_SYSTEMD: units };
  const s = await p.wd(['setup', 'prod']);
  assert.is(s.code, 0, show(s));
  const i = await p.wd(['pull', 'install', 'prod', '--every', '15m'], { env });
  assert.is(i.code, 0, show(i));
  const id = pullId('prod', app);
  const dir = join(app, '.git', 'wd', 'pull');
  assert.is(
    i.stdout,
    `local | Installed the systemd timer ${units}/${id}.timer: every 15m, each run a random 0-900s late.\n` +
      `local | Pull mode is on: ${dir}/run.sh deploys ${app} when its branch moves.\n` +
      `Results:\n  local => installed: systemd-system, every 15m (${/\((\d+\.\ds)\)/.exec(i.stdout)![1]})\nTotal: 1 host, 1 installed, 0 failures.\n`,
  );
  assert.equal(readdirSync(units).sort(), [`${id}.service`, `${id}.timer`]);
  const service = readFileSync(join(units, `${id}.service`), 'utf8');
  const word = (v: string): string => `"${v.replace(/[\\"]/g, '\\$&').replace(/%/g, '%%').replace(/\$/g, '$$$$')}"`;
  assert.is(
    service,
    `[Unit]\nDescription=wd pull mode: ${id}\n\n[Service]\nType=oneshot\nKillMode=process\nExecStart=${word(BASH)} ${word(`${dir}/run.sh`)}\n`,
  );
  assert.is(
    readFileSync(join(units, `${id}.timer`), 'utf8'),
    `[Unit]\nDescription=wd pull mode: ${id}, every 15m\n\n[Timer]\nOnCalendar=*-*-* *:00/15:00\nRandomizedDelaySec=900\nAccuracySec=1s\n\n[Install]\nWantedBy=timers.target\n`,
  );
  // Each word, read back as systemd reads it, is the path itself.
  const words = /^ExecStart=(".*") (".*")$/m.exec(service)!;
  assert.equal([sdWord(words[1]!), sdWord(words[2]!)], [BASH, `${dir}/run.sh`]);
  if (haveAnalyze) {
    const v = spawnSync('systemd-analyze', ['verify', '--man=no', join(units, `${id}.service`), join(units, `${id}.timer`)], { encoding: 'utf8' });
    assert.is(v.status, 0, v.stderr);
  }
  // What systemd runs: deploys when the branch moved, with no environment at all.
  p.origin.commit('main', { 'app.txt': 'v2\n' }, 'v2');
  const run = spawnSync(sdWord(words[1]!), [sdWord(words[2]!)], { env: {}, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', cwd: '/' });
  assert.is(run.status, 0, run.stdout + run.stderr);
  assert.is(readFileSync(join(app, 'app.txt'), 'utf8'), 'v2\n');
  assert.is(readFileSync(join(dir, 'last'), 'utf8').split('\t')[1], 'ok');

  const st = await p.wd(['pull', 'status', 'prod', '--json'], { env });
  const h = JSON.parse(st.stdout).hosts[0];
  assert.equal([h.pull, h.scheduler, h.every, h.lastRun.result], [true, 'systemd-system', 900, 'ok']);
  // wd status shows it too: a line under the host, and `pull` in its JSON.
  const last = readFileSync(join(dir, 'last'), 'utf8').split('\t');
  const ws = await p.wd(['status', 'prod']);
  assert.is(ws.code, 0, show(ws));
  assert.ok(ws.stdout.endsWith(`\n  local: pull mode (systemd-system, every 15m); last pulled run ${last[0]} ok\n`), show(ws));
  const wj = JSON.parse((await p.wd(['status', 'prod', '--json'])).stdout).hosts[0];
  assert.equal(wj.pull, {
    scheduler: 'systemd-system',
    every: 900,
    lastRun: { time: last[0], result: 'ok', revision: last[2], exitCode: 0, duration: last[4], reason: null },
  });

  const u = await p.wd(['pull', 'uninstall', 'prod'], { env });
  assert.is(u.code, 0, show(u));
  assert.ok(u.stdout.includes(`local | Removed the systemd timer ${units}/${id}.timer and its service.\n`), show(u));
  assert.equal(readdirSync(units), []);
  assert.not.ok(existsSync(dir));
});

test('install again with the other scheduler: the crontab entry goes, the timer takes over', async () => {
  if (!haveCrontab) {
    if (process.env['CI'] === 'true') assert.unreachable('crontab is not installed (.ci/run installs the cron package)');
    return;
  }
  const p = localProject({ 'app.txt': 'v1\n' });
  const units = tmpDir('wd-units-');
  assert.is((await p.wd(['setup', 'prod'])).code, 0);
  const before = spawnSync('crontab', ['-l'], { encoding: 'utf8' });
  const id = pullId('prod', p.app);
  const c = await p.wd(['pull', 'install', 'prod']);
  assert.is(c.code, 0, show(c));
  assert.match(spawnSync('crontab', ['-l'], { encoding: 'utf8' }).stdout, `# wd:${id}`);
  const s = await p.wd(['pull', 'install', 'prod'], { env: { WD_PULL_TEST_SYSTEMD: units } });
  assert.is(s.code, 0, show(s));
  const after = spawnSync('crontab', ['-l'], { encoding: 'utf8' });
  assert.equal([after.status, after.stdout], [before.status, before.stdout]);
  assert.equal(readdirSync(units).sort(), [`${id}.service`, `${id}.timer`]);
  assert.match(readFileSync(join(p.state, 'pull', 'schedule'), 'utf8'), /^systemd-system\t300\t/);
  assert.is((await p.wd(['pull', 'uninstall', 'prod'], { env: { WD_PULL_TEST_SYSTEMD: units } })).code, 0);
  assert.equal(readdirSync(units), []);
});

test('strategy releases: the files under deploy_to/.wd/pull, and a pulled run makes and switches to a new release', async () => {
  if (!haveCrontab) {
    if (process.env['CI'] === 'true') assert.unreachable('crontab is not installed (.ci/run installs the cron package)');
    return;
  }
  const p = localProject({ 'app.txt': 'v1\n' }, { strategy: 'releases' });
  assert.is((await p.wd(['setup', 'prod'])).code, 0);
  const i = await p.wd(['pull', 'install', 'prod', '--every', '1m']);
  assert.is(i.code, 0, show(i));
  const dir = join(p.app, '.wd', 'pull');
  const line = spawnSync('crontab', ['-l'], { encoding: 'utf8' })
    .stdout.split('\n')
    .find((l) => l.includes(`wd:${pullId('prod', p.app)}`) && !l.startsWith('#'));
  assert.is(line, `* * * * * '${BASH}' '${dir}/run.sh' 60 # wd:${pullId('prod', p.app)}`);
  const live = realpathSync(join(p.app, 'current'));
  const skip = spawnSync('bash', [join(dir, 'run.sh')], { env: { PATH: '/usr/bin:/bin' }, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  assert.is(skip.status, 0, skip.stderr);
  assert.is(readFileSync(join(dir, 'last'), 'utf8').split('\t')[1], 'unchanged');
  assert.is(realpathSync(join(p.app, 'current')), live);
  const r1 = p.origin.commit('main', { 'app.txt': 'v2\n' }, 'v2');
  const ok = spawnSync('bash', [join(dir, 'run.sh')], { env: { PATH: '/usr/bin:/bin' }, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  assert.is(ok.status, 0, readFileSync(join(dir, 'last.log'), 'utf8'));
  assert.is.not(realpathSync(join(p.app, 'current')), live);
  assert.is(readFileSync(join(p.app, 'current', 'app.txt'), 'utf8'), 'v2\n');
  assert.equal(readFileSync(join(dir, 'last'), 'utf8').split('\t').slice(1, 3), ['ok', r1]);
  const hist = readFileSync(join(p.app, '.wd', 'history'), 'utf8')
    .trim()
    .split('\n')
    .at(-1)!
    .split('\t');
  assert.equal([hist[1], hist[3], hist[7]], ['pull@local', 'deploy', 'ok']);
  assert.is((await p.wd(['pull', 'uninstall', 'prod'])).code, 0);
  assert.not.ok(existsSync(dir));
});

test('--json of pull install, status, uninstall and a dry run: the documented shapes (schema/result.schema.json)', async () => {
  const schema = JSON.parse(readFileSync(join(WD_BIN, '..', '..', 'schema', 'result.schema.json'), 'utf8')) as object;
  const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
  const valid = (stdout: string): Record<string, unknown> => {
    const doc = JSON.parse(stdout) as Record<string, unknown>;
    assert.ok(validate(doc), `${JSON.stringify(validate.errors, null, 2)}\n${stdout}`);
    return doc;
  };
  const p = localProject({ 'app.txt': 'v1\n' });
  const env = { WD_PULL_TEST_SYSTEMD: tmpDir('wd-units-') };
  const notSetUp = valid((await p.wd(['pull', 'status', 'prod', '--json'], { env })).stdout) as Record<string, unknown> & {
    hosts: Array<Record<string, unknown>>;
  };
  assert.equal([notSetUp.hosts[0]!['setUp'], notSetUp.hosts[0]!['pull']], [false, false]);
  const failed = valid((await p.wd(['pull', 'install', 'prod', '--json'], { env })).stdout) as { status: string; hosts: Array<Record<string, unknown>> };
  assert.equal([failed.status, failed.hosts[0]!['status']], ['failed', 'failed']);
  assert.is((await p.wd(['setup', 'prod'])).code, 0);
  const dry = valid((await p.wd(['pull', 'install', 'prod', '--json', '-n'], { env })).stdout);
  assert.equal([dry['command'], dry['status']], ['pull install', 'dry-run']);
  const i = valid((await p.wd(['pull', 'install', 'prod', '--json', '--every', '2h'], { env })).stdout) as Record<string, unknown> & {
    hosts: Array<Record<string, unknown>>;
  };
  assert.equal(
    [i['command'], i.hosts[0]!['status'], i.hosts[0]!['scheduler'], i.hosts[0]!['every'], i.hosts[0]!['id'], i.hosts[0]!['dir']],
    ['pull install', 'succeeded', 'systemd-system', 7200, pullId('prod', p.app), join(p.state, 'pull')],
  );
  const st = valid((await p.wd(['pull', 'status', 'prod', '--json'], { env })).stdout) as Record<string, unknown> & { hosts: Array<Record<string, unknown>> };
  assert.equal([st.hosts[0]!['pull'], st.hosts[0]!['every'], st.hosts[0]!['lastRun']], [true, 7200, null]);
  const ws = valid((await p.wd(['status', 'prod', '--json'])).stdout) as Record<string, unknown> & { hosts: Array<Record<string, unknown>> };
  assert.equal(ws.hosts[0]!['pull'], { scheduler: 'systemd-system', every: 7200, lastRun: null });
  const u = valid((await p.wd(['pull', 'uninstall', 'prod', '--json'], { env })).stdout) as Record<string, unknown> & { hosts: Array<Record<string, unknown>> };
  assert.equal([u['command'], u.hosts[0]!['removed']], ['pull uninstall', true]);
});

test.run();
