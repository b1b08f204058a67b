// Operations against a real OpenSSH sshd with three fake hosts: status of
// reachable and unreachable hosts (one connection each), rollback (one
// connection each), the client SIGKILLed mid-post-script, one and two Ctrl-C
// with hosts still to start, and waves (--batch, --canary) stopping after a
// failure. Each test has its own deploy_to.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { git } from '../helpers/git.js';
import { currentSshdGate, SSHD_MISSING, startWorld, type FakeHost, type World } from '../helpers/e2e-fixture.js';
import {
  BY,
  durations,
  history,
  killMatching,
  lockHeld,
  logs,
  processesMatching,
  show,
  startWd,
  waitFor,
  WAIT_FOR_GO,
  WD_ENV,
  type Bg,
} from '../helpers/ops.js';
import { cleanup, tmpDir } from '../helpers/tmp.js';
import { runWd, type WdRun } from '../helpers/wd.js';

const gate = currentSshdGate();
const ops = suite('operations over a real sshd');
const t = gate === 'run' ? ops : ops.skip;
if (gate === 'skip') console.error(`${SSHD_MISSING}!! CI is not 'true': skipping the sshd operations suite.\n`);
if (gate === 'fail') ops('sshd operations: OpenSSH sshd must be installed under CI=true', () => assert.unreachable(SSHD_MISSING));

// Fails on hosts with the db role when FAIL_DB is set; appends start/end to ORDER (a file all hosts share).
const ORDERED = `#!/bin/bash
if [ -n "\${ORDER-}" ]; then echo "start $WD_HOST" >>"$ORDER"; fi
if [ -n "\${FAIL_DB-}" ] && wd_role db; then echo "db says no" >&2; exit 3; fi
if [ -n "\${ORDER-}" ]; then sleep 0.3; echo "end $WD_HOST" >>"$ORDER"; fi
`;
const SLEEPER = '#!/bin/bash\necho "post: started"\n: >"$WD_DEPLOY_TO.started"\nsleep 600.432\necho "post: never"\n';

let w: World;
let hosts: FakeHost[];
ops.before(async () => {
  if (gate !== 'run') return;
  w = await startWorld([['web', 'db'], ['web'], ['worker']], { 'deploy/wait.sh': WAIT_FOR_GO, 'deploy/ordered.sh': ORDERED, 'deploy/sleep.sh': SLEEPER });
  hosts = w.hosts;
});
ops.after(async () => {
  killMatching('sleep 600.432');
  await (w as World | undefined)?.stop();
  await cleanup();
});

const at = (h: FakeHost, dir: string, ...path: string[]): string => join(h.home, dir, ...path);
const stateOf = (h: FakeHost, dir: string): string => at(h, dir, '.git', 'wd');
const headOf = (h: FakeHost, dir: string): string => git(at(h, dir), 'rev-parse', 'HEAD');
const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
// As World.wd, but as TEST_USER, so history and lock lines name a known user.
const wdEnv = (): NodeJS.ProcessEnv => ({ HOME: w.localHome, SSH_AUTH_SOCK: '', ...WD_ENV });
const wd = (args: string[]): Promise<WdRun> => runWd(args, { cwd: w.cwd, env: wdEnv(), timeoutMs: 60_000 });
const bg = (args: string[]): Bg => startWd(args, { cwd: w.cwd, env: wdEnv() });

async function setup(env: Record<string, unknown>, list = hosts): Promise<string> {
  const file = w.config(env, list);
  const r = await wd(['setup', 'prod', '-p', file]);
  assert.is(r.code, 0, show(r));
  return file;
}

/** Runs wd; returns how many SSH connections each host (and the down one) got meanwhile. */
async function counted(args: string[], list = hosts): Promise<{ r: WdRun; conns: number[] }> {
  const before = list.map((h) => w.sshd.connectionsFromLog(h.port));
  const r = await wd(args);
  return { r, conns: list.map((h, i) => w.sshd.connectionsFromLog(h.port) - before[i]!) };
}

t('status: every host at once with one connection each; an unreachable host makes it exit 1; --json says which', async () => {
  const file = await setup({ deploy_to: '~/o1' });
  const r0 = w.origin.head('main');
  writeFileSync(at(hosts[1]!, 'o1', 'app.txt'), 'edited on web2\n');
  const withDown = w.config({ deploy_to: '~/o1' }, [...hosts, w.down]);
  const { r, conns } = await counted(['status', 'prod', '-p', withDown]);
  assert.is(r.code, 1, show(r));
  assert.equal(conns, [1, 1, 1]);
  const lines = r.stdout.split('\n');
  assert.match(lines[0]!, /^HOST +REVISION +BRANCH +DEPLOYED +BY +LAST RUN +TREE +ORIGIN +LOCK$/);
  hosts.forEach((h, i) => {
    // Each host's own setup time: the hosts' setups may straddle a minute.
    const when = history(stateOf(h, 'o1'))[0]![0]!;
    const tree = i === 1 ? 'dirty \\(1\\)' : 'clean';
    assert.match(lines[1 + i]!, new RegExp(`^${esc(h.name)} +${r0.slice(0, 7)} initial +main +${esc(when)} +${esc(BY)} +setup ok +${tree} +up to date +-$`));
  });
  assert.match(lines[4]!, new RegExp(`^${esc(w.down.name)} +unreachable$`));
  assert.is(lines[5], `  ${w.down.name}: connection refused by 127.0.0.1:${w.down.port}: is sshd running there, and is the port right?`);

  const j = await wd(['status', 'prod', '-p', withDown, '--json']);
  assert.is(j.code, 1, show(j));
  const doc = JSON.parse(j.stdout) as { status: string; hosts: Array<Record<string, unknown>> };
  assert.is(doc.status, 'failed');
  assert.equal(
    doc.hosts.map((h) => [h['host'], h['reachable'], h['dirtyFiles'] ?? null]),
    [
      [hosts[0]!.name, true, 0],
      [hosts[1]!.name, true, 1],
      [hosts[2]!.name, true, 0],
      [w.down.name, false, null],
    ],
  );
  assert.is(doc.hosts[3]!['reason'], `connection refused by 127.0.0.1:${w.down.port}: is sshd running there, and is the port right?`);

  const ok = await wd(['status', 'prod', '-p', file]);
  assert.is(ok.code, 0, show(ok));
});

t('rollback over SSH: one connection per host, every host one step back, recorded in each history', async () => {
  const file = await setup({ deploy_to: '~/o2' });
  const r0 = w.origin.head('main');
  const r1 = w.origin.commit('main', { 'app.txt': 'o2 v2\n' }, 'o2 v2');
  assert.is((await wd(['deploy', 'prod', '-p', file])).code, 0);
  const { r, conns } = await counted(['rollback', 'prod', '-p', file]);
  assert.is(r.code, 0, show(r));
  assert.equal(conns, [1, 1, 1]);
  for (const h of hosts) {
    assert.is(headOf(h, 'o2'), r0);
    assert.equal(history(stateOf(h, 'o2')).at(-1)!.slice(1, 8), [BY, history(stateOf(h, 'o2'))[0]![2]!, 'rollback', 'main', r1, r0, 'ok']);
  }
});

t('wd killed with SIGKILL during the post scripts: every host finishes, logs its output, frees its lock; status says ok', async () => {
  const file = await setup({ deploy_to: '~/o3', post_deploy_script: 'deploy/wait.sh' });
  const rev = w.origin.commit('main', { 'app.txt': 'o3 v2\n' }, 'o3 v2');
  const run = bg(['deploy', 'prod', '-p', file]);
  await waitFor(() => hosts.every((h) => existsSync(at(h, 'o3.started'))), 'every post script to start');
  run.child.kill('SIGKILL');
  assert.is((await run.done).code, null);
  for (const h of hosts) writeFileSync(at(h, 'o3.go'), '');
  await waitFor(() => hosts.every((h) => history(stateOf(h, 'o3')).length === 2 && !lockHeld(join(stateOf(h, 'o3'), 'lock'))), 'every host to record its run');
  for (const h of hosts) {
    assert.equal(history(stateOf(h, 'o3'))[1]!.slice(3, 8), ['deploy', 'main', history(stateOf(h, 'o3'))[0]![6]!, rev, 'ok']);
    assert.is(headOf(h, 'o3'), rev);
    const log = readFileSync(logs(stateOf(h, 'o3')).find((l) => /-deploy-/.test(l))!, 'utf8');
    assert.match(log, /^post: finished$/m, `${h.name}: the output after the client died is in the log`);
  }
  const s = await wd(['status', 'prod', '-p', file, '--json']);
  assert.is(s.code, 0, show(s));
  const doc = JSON.parse(s.stdout) as { hosts: Array<{ lastRun: { result: string }; lock: unknown; revision: string }> };
  assert.equal(
    doc.hosts.map((h) => [h.lastRun.result, h.lock, h.revision]),
    hosts.map(() => ['ok', null, rev]),
  );
});

t('one Ctrl-C with -j 1: the running host finishes, the hosts not started are skipped (never contacted), exit 130 after the summary', async () => {
  const file = await setup({ deploy_to: '~/o4', post_deploy_script: 'deploy/wait.sh' });
  const r0 = w.origin.head('main');
  const rev = w.origin.commit('main', { 'app.txt': 'o4 v2\n' }, 'o4 v2');
  const before = hosts.map((h) => w.sshd.connectionsFromLog(h.port));
  const run = bg(['deploy', 'prod', '-p', file, '-j', '1']);
  await waitFor(() => existsSync(at(hosts[0]!, 'o4.started')), 'the first host to reach its post script');
  run.child.kill('SIGINT');
  await waitFor(() => run.stderr().includes('Ctrl-C again'), 'wd to acknowledge the interrupt');
  assert.match(run.stderr(), `wd: interrupted: starting no new host; waiting for 1 running (${hosts[0]!.name}). Ctrl-C again to abort them.\n`);
  writeFileSync(at(hosts[0]!, 'o4.go'), '');
  const r = await run.done;
  assert.is(r.code, 130, show(r));
  assert.match(
    durations(r.stdout),
    `Results:\n  ${hosts[0]!.name} => succeeded ${rev.slice(0, 7)} (T)\n  ${hosts[1]!.name} => skipped: interrupted before it started\n  ${hosts[2]!.name} => skipped: interrupted before it started\nTotal: 3 deployments, 1 success, 0 failures, 2 skipped.\n`,
  );
  assert.equal(
    hosts.map((h, i) => w.sshd.connectionsFromLog(h.port) - before[i]!),
    [1, 0, 0],
  );
  assert.equal(
    hosts.map((h) => headOf(h, 'o4')),
    [rev, r0, r0],
  );
});

t('two Ctrl-C: every running host is aborted (its post script killed), history says interrupted, locks free, exit 130', async () => {
  const file = await setup({ deploy_to: '~/o5', post_deploy_script: 'deploy/sleep.sh' });
  w.origin.commit('main', { 'app.txt': 'o5 v2\n' }, 'o5 v2');
  const run = bg(['deploy', 'prod', '-p', file]);
  await waitFor(() => hosts.every((h) => existsSync(at(h, 'o5.started'))), 'every post script to start');
  assert.is(processesMatching('sleep 600.432').length, 3);
  run.child.kill('SIGINT');
  await waitFor(() => run.stderr().includes('Ctrl-C again'), 'wd to acknowledge the first interrupt');
  run.child.kill('SIGINT');
  const r = await run.done;
  assert.is(r.code, 130, show(r));
  assert.match(r.stderr, 'wd: aborting 3 running host(s): their runs are stopped and recorded as interrupted.\n');
  for (const h of hosts) assert.match(durations(r.stdout), `  ${h.name} => interrupted: interrupted during post_deploy_script (T)\n`);
  assert.match(r.stdout, 'Total: 3 deployments, 0 successes, 3 failures.\n');
  assert.equal(processesMatching('sleep 600.432'), [], 'no post script left running on any host');
  for (const h of hosts) {
    const last = history(stateOf(h, 'o5')).at(-1)!;
    assert.equal([last[3], last[7]], ['deploy', 'interrupted']);
    assert.not.ok(lockHeld(join(stateOf(h, 'o5'), 'lock')));
  }
});

t('--batch 1: after the failing first wave no further wave starts; the rest are skipped and never contacted; exit 1', async () => {
  const order = join(tmpDir('wd-order-'), 'order');
  const file = await setup({ deploy_to: '~/o6', post_deploy_script: 'deploy/ordered.sh', rake_env: { FAIL_DB: '1', ORDER: order } });
  const before = hosts.map((h) => w.sshd.connectionsFromLog(h.port));
  const r = await wd(['deploy', 'prod', '-p', file, '--batch', '1']);
  assert.is(r.code, 1, show(r));
  assert.match(
    durations(r.stdout),
    `Results:\n  ${hosts[0]!.name} => failed: post_deploy_script exited 3 (T)\n  ${hosts[1]!.name} => skipped: an earlier wave had a failure\n  ${hosts[2]!.name} => skipped: an earlier wave had a failure\nTotal: 3 deployments, 0 successes, 1 failure, 2 skipped.\n`,
  );
  assert.equal(
    hosts.map((h, i) => w.sshd.connectionsFromLog(h.port) - before[i]!),
    [1, 0, 0],
  );
  assert.is(readFileSync(order, 'utf8'), `start ${hosts[0]!.name}\n`);

  // Without the failure, waves of one run one after the other, in domain order.
  writeFileSync(order, '');
  const ok = await wd([
    'deploy',
    'prod',
    '-p',
    w.config({ deploy_to: '~/o6', post_deploy_script: 'deploy/ordered.sh', rake_env: { ORDER: order } }),
    '--batch',
    '1',
  ]);
  assert.is(ok.code, 0, show(ok));
  assert.is(readFileSync(order, 'utf8'), hosts.map((h) => `start ${h.name}\nend ${h.name}\n`).join(''));
});

t('--canary: a failing canary stops the deploy (the rest skipped, exit 1); a good one goes first, then the rest together', async () => {
  const order = join(tmpDir('wd-order-'), 'order');
  const file = await setup({ deploy_to: '~/o7', post_deploy_script: 'deploy/ordered.sh', rake_env: { FAIL_DB: '1', ORDER: order } });
  const r0 = w.origin.head('main');
  const rev = w.origin.commit('main', { 'app.txt': 'o7 v2\n' }, 'o7 v2');
  const bad = await wd(['deploy', 'prod', '-p', file, '--canary']);
  assert.is(bad.code, 1, show(bad));
  assert.match(
    durations(bad.stdout),
    `  ${hosts[0]!.name} => failed: post_deploy_script exited 3 (T)\n  ${hosts[1]!.name} => skipped: an earlier wave had a failure\n  ${hosts[2]!.name} => skipped: an earlier wave had a failure\n`,
  );
  assert.equal(
    hosts.slice(1).map((h) => headOf(h, 'o7')),
    [r0, r0],
  );

  writeFileSync(order, '');
  const good = await wd([
    'deploy',
    'prod',
    '-p',
    w.config({ deploy_to: '~/o7', post_deploy_script: 'deploy/ordered.sh', rake_env: { ORDER: order } }),
    '--canary',
  ]);
  assert.is(good.code, 0, show(good));
  const lines = readFileSync(order, 'utf8').split('\n').filter(Boolean);
  assert.equal(lines.slice(0, 2), [`start ${hosts[0]!.name}`, `end ${hosts[0]!.name}`], 'the canary finishes before any other host starts');
  assert.equal(
    lines.slice(2, 4).sort(),
    hosts
      .slice(1)
      .map((h) => `start ${h.name}`)
      .sort(),
    'then the rest at once',
  );
  assert.equal(
    hosts.map((h) => headOf(h, 'o7')),
    [rev, rev, rev],
  );
});

ops.run();
