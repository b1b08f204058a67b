// What happens to a run on the host when the client goes away or is
// interrupted, with local deploys (the script runs detached from wd exactly
// as it does behind sshd): SIGKILL of wd mid-post-script, one Ctrl-C/SIGTERM
// (the running host finishes), two (the running host is aborted).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { durations, headOf, history, killMatching, localProject, lockHeld, logs, processesMatching, show, waitFor, WAIT_FOR_GO } from '../helpers/ops.js';
import { cleanup } from '../helpers/tmp.js';

test.after(async () => {
  killMatching('sleep 600.321');
  await cleanup();
});

test('wd killed with SIGKILL during the post script: the host finishes, the log has the output, the lock is free, status says ok', async () => {
  const p = localProject({ 'post.sh': WAIT_FOR_GO }, { post_deploy_script: 'post.sh' });
  assert.is((await p.wd(['setup', 'prod'])).code, 0);
  const rev = p.origin.commit('main', { 'app.txt': 'v2\n' });
  const bg = p.start(['deploy', 'prod']);
  await waitFor(() => existsSync(`${p.app}.started`), 'the post script to start');
  bg.child.kill('SIGKILL');
  const killed = await bg.done;
  assert.is(killed.code, null, 'wd died of the signal');
  // Only now may the post script go on: nothing is listening on the other end any more.
  writeFileSync(`${p.app}.go`, '');
  await waitFor(() => history(p.state).length === 2 && !lockHeld(join(p.state, 'lock')), 'the detached run to record its end');
  assert.equal(history(p.state)[1]!.slice(3, 8), ['deploy', 'main', history(p.state)[0]![6]!, rev, 'ok']);
  assert.is(readFileSync(join(p.state, 'deployed'), 'utf8'), `${rev}\n`);
  assert.is(headOf(p.app), rev);
  const log = readFileSync(logs(p.state).find((l) => /-deploy-/.test(l))!, 'utf8');
  assert.match(log, /^post: started$/m);
  assert.match(log, /^post: finished$/m, 'output written after the client died is in the log');
  const s = await p.wd(['status', 'prod', '--json']);
  assert.is(s.code, 0, show(s));
  const host = (JSON.parse(s.stdout) as { hosts: Array<Record<string, unknown>> }).hosts[0]!;
  assert.equal([host['lastRun'] && (host['lastRun'] as Record<string, unknown>)['result'], host['lock'], host['revision']], ['ok', null, rev]);
});

test('one SIGTERM (as one Ctrl-C): the running host finishes, wd says it is waiting, prints the summary, exits 130', async () => {
  const p = localProject({ 'post.sh': WAIT_FOR_GO }, { post_deploy_script: 'post.sh' });
  assert.is((await p.wd(['setup', 'prod'])).code, 0);
  const rev = p.origin.commit('main', { 'app.txt': 'v2\n' });
  const bg = p.start(['deploy', 'prod']);
  await waitFor(() => existsSync(`${p.app}.started`), 'the post script to start');
  bg.child.kill('SIGTERM');
  await waitFor(() => bg.stderr().includes('interrupted'), 'wd to acknowledge the interrupt');
  assert.match(bg.stderr(), 'wd: interrupted: starting no new host; waiting for 1 running (local). Ctrl-C again to abort them.\n');
  assert.is(bg.child.exitCode, null, 'wd waits for the running host');
  writeFileSync(`${p.app}.go`, '');
  const r = await bg.done;
  assert.is(r.code, 130, show(r));
  assert.is(
    durations(r.stdout),
    `local | Running post script...\nlocal | post: started\nlocal | post: finished\nResults:\n  local => succeeded ${rev.slice(0, 7)} (T)\nTotal: 1 deployment, 1 success, 0 failures.\n`,
  );
  assert.is(history(p.state).at(-1)![7], 'ok');
  assert.is(headOf(p.app), rev);
});

test('two Ctrl-C: the running host is aborted, nothing of it left running, history says interrupted, exit 130', async () => {
  const post = '#!/bin/bash\necho "post: started"\n: >"$WD_DEPLOY_TO.started"\nsleep 600.321\necho "post: never"\n';
  const p = localProject({ 'post.sh': post }, { post_deploy_script: 'post.sh' });
  assert.is((await p.wd(['setup', 'prod'])).code, 0);
  p.origin.commit('main', { 'app.txt': 'v2\n' });
  const bg = p.start(['deploy', 'prod']);
  await waitFor(() => existsSync(`${p.app}.started`), 'the post script to start');
  bg.child.kill('SIGINT');
  await waitFor(() => bg.stderr().includes('Ctrl-C again'), 'wd to acknowledge the first interrupt');
  bg.child.kill('SIGINT');
  const r = await bg.done;
  assert.is(r.code, 130, show(r));
  assert.match(r.stderr, 'wd: aborting 1 running host(s): their runs are stopped and recorded as interrupted.\n');
  assert.match(
    durations(r.stdout),
    /^Results:\n {2}local => interrupted: interrupted during post_deploy_script \(T\)\nTotal: 1 deployment, 0 successes, 1 failure\.\n$/m,
  );
  assert.not.match(r.stdout, /post: never/);
  assert.equal(processesMatching('sleep 600.321'), [], 'the post script was killed on the host');
  assert.equal(history(p.state).at(-1)!.slice(3, 4).concat(history(p.state).at(-1)![7]!), ['deploy', 'interrupted']);
  assert.not.ok(lockHeld(join(p.state, 'lock')));
  // Not deployed: the revision before stays the one counted as deployed.
  assert.is(readFileSync(join(p.state, 'deployed'), 'utf8'), `${history(p.state)[0]![6]}\n`);
});

test.run();
