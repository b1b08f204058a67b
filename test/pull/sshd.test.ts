// Pull mode against a real OpenSSH sshd: `wd pull install` puts the script and
// a crontab entry on every host (one connection each), the installed command
// is then run the way cron runs it (sh -c, next to no environment, no stdin)
// and deploys a new commit, skips when nothing changed, respects the lock in
// both directions, writes history; `wd pull status` reports it and
// `wd pull uninstall` leaves nothing behind. The fake hosts all log in as
// root on this machine, so their entries share root's crontab: the tests
// compare it with what it was before.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { git } from '../helpers/git.js';
import { currentSshdGate, SSHD_MISSING, startWorld, type FakeHost, type World } from '../helpers/e2e-fixture.js';
import { history, holdLock, show, waitFor, WAIT_FOR_GO, WD_ENV } from '../helpers/ops.js';
import { cleanup, reapOnExit } from '../helpers/tmp.js';
import { runWd, WD_BIN, type WdRun } from '../helpers/wd.js';
import { pullId } from '../../src/pull/schedule.js';

const gate = currentSshdGate();
const pull = suite('pull mode over a real sshd');
const t = gate === 'run' ? pull : pull.skip;
if (gate === 'skip') console.error(`${SSHD_MISSING}!! CI is not 'true': skipping the sshd pull suite.\n`);
if (gate === 'fail') pull('pull mode: OpenSSH sshd must be installed under CI=true', () => assert.unreachable(SSHD_MISSING));
const haveCrontab = spawnSync('crontab', ['-l']).error === undefined;

const VERSION = (JSON.parse(readFileSync(join(WD_BIN, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
const BASH = spawnSync('bash', ['-c', 'command -v bash'], { encoding: 'utf8' }).stdout.trim();

let w: World;
let hosts: FakeHost[];
let before: string | null;
pull.before(async () => {
  if (gate !== 'run') return;
  if (!haveCrontab) {
    if (process.env['CI'] === 'true') throw new Error('crontab is not installed (.ci/run installs the cron package)');
    return;
  }
  before = crontab();
  w = await startWorld([['web'], ['web']], { 'deploy/wait.sh': WAIT_FOR_GO });
  hosts = w.hosts;
});
pull.after(async () => {
  // Whatever a failed test left in root's crontab goes.
  if (haveCrontab && before !== undefined) {
    const now = crontab() ?? '';
    const kept = now.split('\n').filter((l) => !l.includes('wd:wd-pull-'));
    const was = (before ?? '').split('\n').filter((l) => !l.includes('wd:wd-pull-'));
    if (kept.join('\n') !== now) spawnSync('crontab', was.join('\n').trim() === '' ? ['-r'] : ['-'], { input: was.join('\n') });
  }
  await (w as World | undefined)?.stop();
  await cleanup();
});

/** root's crontab, or null when there is none. */
function crontab(): string | null {
  const r = spawnSync('crontab', ['-l'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout : null;
}

const wdEnv = (): NodeJS.ProcessEnv => ({ HOME: w.localHome, SSH_AUTH_SOCK: '', ...WD_ENV });
const wd = (args: string[]): Promise<WdRun> => runWd(args, { cwd: w.cwd, env: wdEnv(), timeoutMs: 60_000 });
const stateOf = (h: FakeHost, dir: string): string => join(h.home, dir, '.git', 'wd');
const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const BY = 'pull@127.0.0.1';

/** The two crontab lines install writes for one host. */
function cronLines(dir: string, id: string, times = '*/10 * * * *', every = 600, text = '10m'): string[] {
  const word = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`.replace(/%/g, '\\%');
  return [
    `# wd:${id} pull mode, every ${text}: written by 'wd pull install', removed by 'wd pull uninstall'`,
    `${times} ${word(BASH)} ${word(join(dir, 'run.sh'))} ${every} # wd:${id}`,
  ];
}

/**
 * Run a crontab entry's command the way cron does: through /bin/sh with
 * cron's environment (HOME, LOGNAME, SHELL, a short PATH) and no stdin, its
 * `\%` unescaped. The trailing delay argument is dropped so the test does not
 * sleep a random part of the interval.
 */
function cronCommand(line: string, home: string): { command: string; env: NodeJS.ProcessEnv } {
  const command = line
    .split(' ')
    .slice(5)
    .join(' ')
    .replace(/ [0-9]+ # wd:wd-pull-[a-z0-9-]+$/, '')
    .replace(/\\%/g, '%');
  return { command, env: { HOME: home, LOGNAME: 'root', SHELL: '/bin/sh', PATH: '/usr/bin:/bin' } };
}

function runAsCron(line: string, home: string): { code: number | null; out: string } {
  const c = cronCommand(line, home);
  const r = spawnSync('/bin/sh', ['-c', c.command], { env: c.env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  return { code: r.status, out: r.stdout + r.stderr };
}

function lastOf(dir: string): string[] {
  return readFileSync(join(dir, 'last'), 'utf8').replace(/\n$/, '').split('\t');
}

async function setup(env: Record<string, unknown>, list = hosts): Promise<string> {
  const file = w.config(env, list);
  const r = await wd(['setup', 'prod', '-p', file]);
  assert.is(r.code, 0, show(r));
  return file;
}

t('install: every host at once, one connection each; exact crontab lines and files; re-install replaces', async () => {
  const file = await setup({ deploy_to: '~/p1' });
  const idOf = (h: FakeHost): string => pullId('prod', join(h.home, 'p1'));
  const conns0 = hosts.map((h) => w.sshd.connectionsFromLog(h.port));
  const r = await wd(['pull', 'install', 'prod', '-p', file, '--every', '10m']);
  assert.is(r.code, 0, show(r));
  assert.equal(
    hosts.map((h, i) => w.sshd.connectionsFromLog(h.port) - conns0[i]!),
    [1, 1],
  );
  for (const h of hosts) {
    const dir = join(stateOf(h, 'p1'), 'pull');
    assert.ok(r.stdout.includes(`${h.name} | Installed a crontab entry for root: every 10m, each run a random 0-600s late.\n`), show(r));
    assert.ok(r.stdout.includes(`${h.name} | Pull mode is on: ${dir}/run.sh deploys ${h.home}/p1 when its branch moves.\n`), show(r));
    assert.match(r.stdout, new RegExp(`^  ${esc(h.name)} => installed: cron, every 10m \\(\\d+\\.\\ds\\)$`, 'm'));
    assert.equal(readdirSync(dir).sort(), ['deploy.sh', 'path', 'run.sh', 'schedule']);
    assert.match(
      readFileSync(join(dir, 'schedule'), 'utf8'),
      new RegExp(`^cron\\t600\\t${idOf(h)}\\t\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ\\t${esc(`${WD_ENV.USER}@`)}[^\\t]+\\n$`),
    );
    // deploy.sh is the deploy script with --check, by pull@host, for this host.
    const deploy = readFileSync(join(dir, 'deploy.sh'), 'utf8');
    assert.match(deploy, `\nWD_BY=${BY}\n`);
    assert.match(deploy, `\nexport WD_HOST=${h.name}\n`);
    assert.match(deploy, '    echo "No changes to deploy."\n');
  }
  assert.match(r.stdout, /^Total: 2 hosts, 2 installed, 0 failures\.$/m);
  // root's crontab: what was there, then each host's two lines (the hosts share it here).
  const lines = (crontab() ?? '').split('\n').filter(Boolean);
  const kept = (before ?? '').split('\n').filter(Boolean);
  assert.equal(lines.slice(0, kept.length), kept);
  const ours = lines.slice(kept.length);
  const expected = hosts.map((h) => cronLines(join(stateOf(h, 'p1'), 'pull'), idOf(h)));
  assert.equal(ours.sort(), expected.flat().sort());

  // Again, with another interval: the entries are replaced, not added.
  const again = await wd(['pull', 'install', 'prod', '-p', file, '--every', '1h']);
  assert.is(again.code, 0, show(again));
  const ours2 = (crontab() ?? '').split('\n').filter(Boolean).slice(kept.length);
  assert.equal(ours2.sort(), hosts.flatMap((h) => cronLines(join(stateOf(h, 'p1'), 'pull'), idOf(h), '0 * * * *', 3600, '1h')).sort());

  const u = await wd(['pull', 'uninstall', 'prod', '-p', file]);
  assert.is(u.code, 0, show(u));
  assert.is(crontab(), before);
});

t('the installed entry, run as cron runs it: skips, deploys a new commit, refuses a held lock, holds off a push', async () => {
  const h = hosts[0]!;
  const file = await setup({ deploy_to: '~/p2', post_deploy_script: 'deploy/wait.sh' }, [h]);
  const r0 = w.origin.head('main');
  const state = stateOf(h, 'p2');
  const dir = join(state, 'pull');
  writeFileSync(`${h.home}/p2.go`, '');
  const i = await wd(['pull', 'install', 'prod', '-p', file]);
  assert.is(i.code, 0, show(i));
  const line = (crontab() ?? '').split('\n').find((l) => l.includes(`'${dir}/run.sh'`));
  assert.ok(line, `a crontab line for ${dir}`);
  assert.is(line!.split(' ').slice(0, 5).join(' '), '*/5 * * * *');
  assert.match(line!, / 300 # wd:wd-pull-prod-[0-9a-f]{12}$/);
  const hist0 = history(state).length;

  // Nothing new: no deploy, no history line, but `last` says it ran.
  const skip = runAsCron(line!, h.home);
  assert.is(skip.code, 0, skip.out);
  assert.is(skip.out, '', 'cron would mail any output: there is none');
  assert.equal(lastOf(dir).slice(1), ['unchanged', r0, '0', lastOf(dir)[4]!, '']);
  assert.match(lastOf(dir)[0]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.match(readFileSync(join(dir, 'last.log'), 'utf8'), /^No changes to deploy\.$/m);
  assert.is(history(state).length, hist0);

  // A new commit: deployed, with a history line by pull@host and a log.
  const r1 = w.origin.commit('main', { 'app.txt': 'pulled\n' }, 'pulled');
  const ok = runAsCron(line!, h.home);
  assert.is(ok.code, 0, ok.out + readFileSync(join(dir, 'last.log'), 'utf8'));
  assert.is(git(join(h.home, 'p2'), 'rev-parse', 'HEAD'), r1);
  assert.is(readFileSync(join(h.home, 'p2', 'app.txt'), 'utf8'), 'pulled\n');
  assert.equal(lastOf(dir).slice(1, 4), ['ok', r1, '0']);
  const last = history(state).at(-1)!;
  assert.equal(last.slice(1, 8), [BY, VERSION, 'deploy', 'main', r0, r1, 'ok']);
  assert.is(readFileSync(join(state, 'deployed'), 'utf8'), `${r1}\n`);
  assert.ok(
    readdirSync(join(state, 'logs')).some((l) => /-deploy-/.test(l) && readFileSync(join(state, 'logs', l), 'utf8').includes('post: finished')),
    'the pulled run kept its log like a pushed one',
  );

  // The lock is the pushed deploys' lock: held, the pull fails fast and says so.
  const r2 = w.origin.commit('main', { 'app.txt': 'second\n' }, 'second');
  const lock = await holdLock(join(state, 'lock'));
  try {
    const busy = runAsCron(line!, h.home);
    assert.is(busy.code, 75, busy.out);
    assert.equal(lastOf(dir).slice(1, 4), ['busy unknown holder', '-', '75']);
    assert.is(git(join(h.home, 'p2'), 'rev-parse', 'HEAD'), r1);
  } finally {
    await lock.release();
  }

  // A pull in its post script holds the lock: a push is refused, as with two pushes.
  rmSync(`${h.home}/p2.go`);
  rmSync(`${h.home}/p2.started`, { force: true });
  const c = cronCommand(line!, h.home);
  const bg = spawn('/bin/sh', ['-c', c.command], { env: c.env, stdio: 'ignore', detached: true });
  const unreap = reapOnExit(bg.pid!, true);
  const exited = new Promise<number | null>((res) => bg.once('exit', (code) => res(code)));
  try {
    await waitFor(() => existsSync(`${h.home}/p2.started`), 'the pulled deploy to reach its post script');
    const push = await wd(['deploy', 'prod', '-p', file]);
    assert.is(push.code, 1, show(push));
    assert.match(
      push.stdout,
      new RegExp(
        `^  ${esc(h.name)} => failed: locked by another run \\(${esc(BY)} deploy \\S+ pid \\d+\\); try again later, or queue with --wait-lock SECONDS`,
        'm',
      ),
    );
    // pull status sees the pull holding the lock.
    const st = await wd(['pull', 'status', 'prod', '-p', file, '--json']);
    assert.match(JSON.parse(st.stdout).hosts[0].lock, new RegExp(`^${esc(BY)} deploy `));
  } finally {
    writeFileSync(`${h.home}/p2.go`, '');
    assert.is(await exited, 0);
    unreap();
  }
  assert.is(git(join(h.home, 'p2'), 'rev-parse', 'HEAD'), r2);
  assert.equal(lastOf(dir).slice(1, 4), ['ok', r2, '0']);

  // pull status: on, the interval, the last run and the last pulled deploy.
  const st = await wd(['pull', 'status', 'prod', '-p', file]);
  assert.is(st.code, 0, show(st));
  const rows = st.stdout.split('\n');
  assert.match(rows[0]!, /^HOST +PULL +EVERY +LAST RUN +RESULT +REVISION +LAST PULLED DEPLOY +LOCK$/);
  assert.match(rows[1]!, new RegExp(`^${esc(h.name)} +cron +5m +\\d{4}-\\S+Z +ok +${r2.slice(0, 7)} +\\d{4}-\\S+Z ok +-$`));
  const sj = JSON.parse((await wd(['pull', 'status', 'prod', '-p', file, '--json'])).stdout);
  assert.equal(
    [sj.command, sj.status, sj.hosts[0].pull, sj.hosts[0].scheduler, sj.hosts[0].every, sj.hosts[0].lastRun.result, sj.hosts[0].lastDeploy.by],
    ['pull status', 'succeeded', true, 'cron', 300, 'ok', BY],
  );

  // Uninstall: the entry and the files go; the deploy's own state stays; twice is harmless.
  const u = await wd(['pull', 'uninstall', 'prod', '-p', file]);
  assert.is(u.code, 0, show(u));
  assert.ok(u.stdout.includes(`${h.name} | Removed the crontab entry ${pullId('prod', join(h.home, 'p2'))}.\n`), show(u));
  assert.ok(u.stdout.includes(`${h.name} | Removed ${dir} (the pull script and its state).\n`), show(u));
  assert.match(u.stdout, new RegExp(`^  ${esc(h.name)} => removed \\(`, 'm'));
  assert.is(crontab(), before);
  assert.not.ok(existsSync(dir));
  assert.ok(existsSync(join(state, 'history')));
  const u2 = await wd(['pull', 'uninstall', 'prod', '-p', file, '--json']);
  assert.is(u2.code, 0, show(u2));
  assert.ok(u2.stderr.includes(`${h.name} | Pull mode was not installed here: nothing to remove.\n`), show(u2));
  assert.equal(JSON.parse(u2.stdout).hosts[0].removed, false);
  const off = await wd(['pull', 'status', 'prod', '-p', file]);
  assert.match(off.stdout.split('\n')[1]!, new RegExp(`^${esc(h.name)} +off +- +- +- +- +\\d{4}-\\S+Z ok +-$`));
});

t('hostile environment and deploy_to: quoted into the crontab line, and the entry still runs', async () => {
  const h = hosts[1]!;
  const to = `~/p3 q'r"%s$x\\y`;
  const file = await setup({ deploy_to: to }, [h]);
  const i = await wd(['pull', 'install', 'prod', '-p', file]);
  assert.is(i.code, 0, show(i));
  const dir = join(h.home, `p3 q'r"%s$x\\y`, '.git', 'wd', 'pull');
  const id = pullId('prod', join(h.home, `p3 q'r"%s$x\\y`));
  const lines = (crontab() ?? '').split('\n').filter((l) => l.includes(`wd:${id}`));
  assert.equal(lines, cronLines(dir, id, '*/5 * * * *', 300, '5m'));
  const r1 = w.origin.commit('main', { 'app.txt': 'hostile\n' }, 'hostile');
  const run = runAsCron(lines[1]!, h.home);
  assert.is(run.code, 0, run.out);
  assert.is(git(join(h.home, `p3 q'r"%s$x\\y`), 'rev-parse', 'HEAD'), r1);
  const u = await wd(['pull', 'uninstall', 'prod', '-p', file]);
  assert.is(u.code, 0, show(u));
  assert.is(crontab(), before);
  assert.not.ok(existsSync(dir));
});

t('install before setup: the host fails with what to do; nothing is installed', async () => {
  const file = w.config({ deploy_to: '~/never' }, [hosts[0]!]);
  const r = await wd(['pull', 'install', 'prod', '-p', file]);
  assert.is(r.code, 1, show(r));
  assert.match(
    r.stdout,
    `  ${hosts[0]!.name} => failed: no deploy at ${hosts[0]!.home}/never (strategy in_place); run 'wd setup prod' first, then 'wd pull install prod'`,
  );
  assert.is(crontab(), before);
});

pull.run();
