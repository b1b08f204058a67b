// The per-host lock and the per-host timeout, through the binary with local
// deploys: two runs against one checkout (one wins, the other is told who
// holds it, or queues with --wait-lock), and a post script that never ends
// (--timeout kills its whole process group, history says timeout, lock freed).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BY,
  durations,
  headOf,
  history,
  holdLock,
  killMatching,
  localProject,
  lockHeld,
  processesMatching,
  show,
  waitFor,
  WAIT_FOR_GO,
} from '../helpers/ops.js';
import { cleanup } from '../helpers/tmp.js';
import type { WdRun } from '../helpers/wd.js';

const SLEEPS = ['sleep 600.123', 'sleep 600.124', 'flock -w 37 9'];
test.after(async () => {
  for (const s of SLEEPS) killMatching(s);
  await cleanup();
});

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const HOLDER = `${esc(BY)} deploy \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ pid \\d+`;

test('two deploys at once: exactly one wins, the other fails fast naming the lock; nothing of the loser is recorded', async () => {
  const p = localProject({ 'post.sh': WAIT_FOR_GO }, { post_deploy_script: 'post.sh' });
  assert.is((await p.wd(['setup', 'prod'])).code, 0);
  const rev = p.origin.commit('main', { 'app.txt': 'v2\n' });
  const runs = [p.start(['deploy', 'prod']), p.start(['deploy', 'prod'])];
  // The winner waits in its post script until the test says go, so a loser that queued on the
  // lock would never end: ending while the winner still holds it is failing fast, with no clock.
  const loser = await Promise.race(runs.map((r, i) => r.done.then((res) => ({ i, res }))));
  assert.is(runs[1 - loser.i]!.child.exitCode, null, 'the winner still holds the lock');
  await waitFor(() => existsSync(`${p.app}.started`), 'the winner to reach its post script');
  writeFileSync(`${p.app}.go`, '');
  const winner = await runs[1 - loser.i]!.done;
  assert.is(winner.code, 0, show(winner));
  assert.is(loser.res.code, 1, show(loser.res));
  assert.match(loser.res.stdout, /^ {2}local => failed: locked by another run \(.+\); try again later, or queue with --wait-lock SECONDS \(\d+\.\ds\)$/m);
  assert.match(loser.res.stderr, new RegExp(`^local \\| wd: ${esc(p.app)} is locked by another run: `, 'm'));
  assert.not.match(loser.res.stdout, /post: started/, 'the loser ran no post script');
  assert.is(headOf(p.app), rev);
  assert.equal(
    history(p.state).map((l) => [l[3], l[7]]),
    [
      ['setup', 'ok'],
      ['deploy', 'ok'],
    ],
  );
  assert.not.ok(lockHeld(join(p.state, 'lock')));
});

test('a lock held for an instant (as the probe of wd status holds it) does not refuse a deploy: it gets a second of grace', async () => {
  const p = localProject();
  assert.is((await p.wd(['setup', 'prod'])).code, 0);
  const rev = p.origin.commit('main', { 'app.txt': 'v2\n' });
  const lock = await holdLock(join(p.state, 'lock'));
  const run = p.start(['deploy', 'prod']);
  try {
    // Without the grace the deploy fails at once and this never appears.
    await waitFor(() => processesMatching('flock -w 1 9').length > 0, 'the deploy to wait its second of grace');
  } finally {
    await lock.release();
  }
  const r = await run.done;
  assert.is(r.code, 0, show(r));
  assert.is(headOf(p.app), rev);
});

test('a deploy against a host locked by a running deploy names the holder: who, what, since when, pid', async () => {
  const p = localProject({ 'post.sh': WAIT_FOR_GO }, { post_deploy_script: 'post.sh' });
  assert.is((await p.wd(['setup', 'prod'])).code, 0);
  const a = p.start(['deploy', 'prod']);
  let b: WdRun;
  try {
    await waitFor(() => existsSync(`${p.app}.started`), 'the first deploy to reach its post script');
    // The first deploy goes on only after this one ends: queuing on the lock would never end.
    b = await p.wd(['deploy', 'prod']);
  } finally {
    writeFileSync(`${p.app}.go`, '');
  }
  assert.is(b.code, 1, show(b));
  assert.match(
    durations(b.stdout),
    new RegExp(
      `^Results:\n  local => failed: locked by another run \\(${HOLDER}\\); try again later, or queue with --wait-lock SECONDS \\(T\\)\nTotal: 1 deployment, 0 successes, 1 failure\\.\n$`,
    ),
  );
  const pid = /pid (\d+)\)/.exec(b.stdout)![1];
  assert.is((await a.done).code, 0);
  // The pid named is the job that held the lock: it is gone now, and the lock with it.
  assert.equal(
    processesMatching(`${pid}`).filter((x) => String(x) === pid),
    [],
  );
  assert.not.ok(lockHeld(join(p.state, 'lock')));
  assert.is(readFileSync(join(p.state, 'lock'), 'utf8'), '');
});

test('--wait-lock 37 queues behind a running deploy and then deploys; --wait-lock 1 gives up with the reason', async () => {
  const p = localProject({ 'post.sh': WAIT_FOR_GO }, { post_deploy_script: 'post.sh' });
  assert.is((await p.wd(['setup', 'prod'])).code, 0);
  const r0 = p.origin.head('main');
  const rev = p.origin.commit('main', { 'app.txt': 'v2\n' });
  const a = p.start(['deploy', 'prod']);
  await waitFor(() => existsSync(`${p.app}.started`), 'the first deploy to reach its post script');
  const short = await p.wd(['deploy', 'prod', '--wait-lock', '1']);
  assert.is(short.code, 1, show(short));
  assert.match(short.stdout, new RegExp(`local => failed: locked by another run \\(${HOLDER}\\)`));
  const b = p.start(['deploy', 'prod', '--wait-lock', '37']);
  await waitFor(() => processesMatching('flock -w 37 9').length > 0, 'the second deploy to queue on the lock');
  assert.is(b.child.exitCode, null, 'the queued deploy is waiting');
  writeFileSync(`${p.app}.go`, '');
  const [ra, rb] = await Promise.all([a.done, b.done]);
  assert.is(ra.code, 0, show(ra));
  assert.is(rb.code, 0, show(rb));
  assert.match(rb.stdout, /^local \| post: finished$/m, 'the queued deploy ran its own post script');
  assert.equal(
    history(p.state).map((l) => [l[3], l[5], l[6], l[7]]),
    [
      ['setup', '-', r0, 'ok'],
      ['deploy', r0, rev, 'ok'],
      ['deploy', rev, rev, 'ok'],
    ],
  );
});

test('two Ctrl-C while queued on --wait-lock: the queued run is called off on the host, it never deploys later', async () => {
  const p = localProject({ 'post.sh': WAIT_FOR_GO }, { post_deploy_script: 'post.sh' });
  assert.is((await p.wd(['setup', 'prod'])).code, 0);
  const a = p.start(['deploy', 'prod']);
  await waitFor(() => existsSync(`${p.app}.started`), 'the first deploy to reach its post script');
  const b = p.start(['deploy', 'prod', '--wait-lock', '38']);
  await waitFor(() => processesMatching('flock -w 38 9').length > 0, 'the second deploy to queue on the lock');
  b.child.kill('SIGINT');
  await waitFor(() => b.stderr().includes('Ctrl-C again'), 'wd to acknowledge the first interrupt');
  b.child.kill('SIGINT');
  await waitFor(() => processesMatching('flock -w 38 9').length === 0, 'the queued run to stop waiting for the lock');
  // The first deploy ends now: a queued run that was not called off would take the lock and deploy.
  writeFileSync(`${p.app}.go`, '');
  assert.is((await a.done).code, 0);
  const rb = await b.done;
  assert.is(rb.code, 130, show(rb));
  assert.match(rb.stdout, /^ {2}local => interrupted: interrupted during taking the lock \(\d+\.\ds\)$/m);
  assert.match(rb.stderr, /^local \| wd: called off before it started; nothing was changed$/m);
  await waitFor(() => !lockHeld(join(p.state, 'lock')), 'the lock to be free');
  assert.equal(
    history(p.state).map((l) => [l[3], l[7]]),
    [
      ['setup', 'ok'],
      ['deploy', 'ok'],
    ],
    'only the first deploy ran',
  );
});

test('--timeout 3 with a post script that sleeps 600 s: the host fails with the reason, nothing left running, history says timeout, lock free', async () => {
  const p = localProject({ 'post.sh': '#!/bin/bash\necho "post: sleeping"\nsleep 600.123\necho never\n' }, { post_deploy_script: 'post.sh' });
  assert.is((await p.wd(['setup', 'prod'])).code, 0);
  const r = await p.wd(['deploy', 'prod', '--timeout', '3']);
  assert.is(r.code, 1, show(r));
  assert.is(
    durations(r.stdout),
    'local | Running post script...\nlocal | post: sleeping\nResults:\n  local => failed: timed out after 3s during post_deploy_script (T)\nTotal: 1 deployment, 0 successes, 1 failure.\n',
  );
  assert.equal(processesMatching('sleep 600.123'), [], 'the post script and its sleep are killed');
  const last = history(p.state).at(-1)!;
  assert.equal([last[3], last[7]], ['deploy', 'timeout']);
  assert.not.ok(lockHeld(join(p.state, 'lock')));
  // The next deploy is not blocked by anything the timed-out one left.
  const again = await p.wd(['deploy', 'prod', '-p', p.config({ post_deploy_script: undefined }, 'plain.yml')]);
  assert.is(again.code, 0, show(again));
});

test('the timeout key, and a post script that ignores SIGTERM: killed all the same (SIGKILL after the grace)', async () => {
  const p = localProject({ 'post.sh': "#!/bin/bash\ntrap '' TERM\necho 'post: deaf to TERM'\nsleep 600.124\n" }, { post_deploy_script: 'post.sh', timeout: 3 });
  assert.is((await p.wd(['setup', 'prod'])).code, 0);
  const r = await p.wd(['deploy', 'prod']);
  assert.is(r.code, 1, show(r));
  assert.match(r.stdout, /^ {2}local => failed: timed out after 3s during post_deploy_script \(\d+\.\ds\)$/m);
  assert.equal(processesMatching('sleep 600.124'), []);
  assert.is(history(p.state).at(-1)![7], 'timeout');
  assert.not.ok(lockHeld(join(p.state, 'lock')));
});

test.run();
