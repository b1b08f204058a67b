// History, status and rollback through the built binary with local deploys:
// what each run leaves on the host (history line, deployed revision, log),
// what `wd status` reads back from it, and how `wd rollback` walks the
// history. Real git, real bash, real flock.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { git } from '../helpers/git.js';
import { BY, headOf, history, holdLock, localProject, lockHeld, logs, show, waitFor, WAIT_FOR_GO } from '../helpers/ops.js';
import { cleanup } from '../helpers/tmp.js';
import { WD_BIN } from '../helpers/wd.js';

test.after(cleanup);

const VERSION = (JSON.parse(readFileSync(join(WD_BIN, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

/** One history line's fields, the time and duration checked for their shape and dropped. */
function fields(line: string[] | undefined): string[] {
  assert.ok(line, 'a history line');
  assert.is(line!.length, 9, `nine tab-separated fields: ${JSON.stringify(line)}`);
  assert.match(line![0]!, TIME);
  assert.match(line![8]!, /^\d+s$/);
  return line!.slice(1, 8);
}

// Fails when <deploy_to>.fail exists; says which revision it saw.
const POST = `#!/bin/bash
echo "post: \${WD_PREVIOUS_REVISION:0:7} -> \${WD_REVISION:0:7}"
if [ -e "$WD_DEPLOY_TO.fail" ]; then echo "post: failing on purpose" >&2; exit 4; fi
`;

test('history: one exact line per setup, deploy, failed deploy and rollback; deployed revision; a log per run', async () => {
  const p = localProject({ 'post.sh': POST }, { post_deploy_script: 'post.sh' });
  const r0 = p.origin.head('main');
  const s = await p.wd(['setup', 'prod']);
  assert.is(s.code, 0, show(s));
  assert.equal(history(p.state).map(fields), [[BY, VERSION, 'setup', 'main', '-', r0, 'ok']]);
  assert.is(readFileSync(join(p.state, 'deployed'), 'utf8'), `${r0}\n`);

  const r1 = p.origin.commit('main', { 'app.txt': 'v2\n' }, 'v2');
  const d = await p.wd(['deploy', 'prod']);
  assert.is(d.code, 0, show(d));
  // --check with nothing new is not a run worth recording.
  const c = await p.wd(['deploy', 'prod', '--check']);
  assert.is(c.code, 0, show(c));
  assert.match(c.stdout, 'local | No changes to deploy.');

  const r2 = p.origin.commit('main', { 'app.txt': 'v3\n' }, 'v3');
  writeFileSync(`${p.app}.fail`, '');
  const f = await p.wd(['deploy', 'prod']);
  assert.is(f.code, 1, show(f));
  assert.match(f.stdout, /local => failed: post_deploy_script exited 4/);
  // A failed run moved HEAD but is not what the host counts as deployed.
  assert.is(headOf(p.app), r2);
  assert.is(readFileSync(join(p.state, 'deployed'), 'utf8'), `${r1}\n`);

  rmSync(`${p.app}.fail`);
  const rb = await p.wd(['rollback', 'prod']);
  assert.is(rb.code, 0, show(rb));
  assert.is(headOf(p.app), r0);

  assert.equal(history(p.state).map(fields), [
    [BY, VERSION, 'setup', 'main', '-', r0, 'ok'],
    [BY, VERSION, 'deploy', 'main', r0, r1, 'ok'],
    [BY, VERSION, 'deploy', 'main', r1, r2, 'failed post_deploy_script'],
    [BY, VERSION, 'rollback', 'main', r1, r0, 'ok'],
  ]);
  assert.is(readFileSync(join(p.state, 'deployed'), 'utf8'), `${r0}\n`);

  // Every run's output is kept, even runs that started within the same second.
  const kept = logs(p.state);
  const text = kept.map((l) => `${basename(l)}:\n${readFileSync(l, 'utf8')}`).join('\n');
  assert.equal(
    kept.map((l) => /^\d{4}-\d\d-\d\dT\d{6}Z-(setup|deploy|rollback)[-.]/.exec(basename(l))?.[1]).sort(),
    ['deploy', 'deploy', 'rollback', 'setup'],
    text,
  );
  assert.match(text, `post: ${r0.slice(0, 7)} -> ${r1.slice(0, 7)}`);
  assert.match(text, 'post: failing on purpose');
  assert.match(text, `post: ${r1.slice(0, 7)} -> ${r0.slice(0, 7)}`);
  assert.is(readFileSync(join(p.state, 'lock'), 'utf8'), '', 'the lock file names no holder after the runs');
  assert.not.ok(lockHeld(join(p.state, 'lock')));
});

test('history is bounded to the last 1000 lines', async () => {
  const p = localProject();
  assert.is((await p.wd(['setup', 'prod'])).code, 0);
  const old = Array.from({ length: 1200 }, (_, i) => `2020-01-01T00:00:00Z\told@x\t0.0.1\tdeploy\tmain\t-\t-\tok\t${i}s`).join('\n') + '\n';
  writeFileSync(join(p.state, 'history'), old);
  assert.is((await p.wd(['deploy', 'prod'])).code, 0);
  const h = history(p.state);
  assert.is(h.length, 1000);
  assert.equal(h[0]![8], '201s');
  assert.equal(h[999]!.slice(1, 4), [BY, VERSION, 'deploy']);
});

test('history: 999 lines grow to 1000 and lose nothing; at 1000 the oldest line goes (the file is rewritten only past the bound)', async () => {
  const p = localProject();
  assert.is((await p.wd(['setup', 'prod'])).code, 0);
  const old = (n: number): string => Array.from({ length: n }, (_, i) => `2020-01-01T00:00:00Z\told@x\t0.0.1\tdeploy\tmain\t-\t-\tok\t${i}s`).join('\n') + '\n';
  const file = join(p.state, 'history');
  writeFileSync(file, old(999));
  const inode = statSync(file).ino;
  assert.is((await p.wd(['deploy', 'prod'])).code, 0);
  let h = history(p.state);
  assert.is(h.length, 1000);
  assert.equal(h[0]![8], '0s');
  assert.is(statSync(file).ino, inode, 'within the bound the history is only appended to');
  assert.is((await p.wd(['deploy', 'prod'])).code, 0);
  h = history(p.state);
  assert.is(h.length, 1000);
  assert.equal(h[0]![8], '1s');
  assert.equal(h[999]!.slice(1, 4), [BY, VERSION, 'deploy']);
});

test("logs: the newest 20 by name (the run's start time), whatever their mtimes say", async () => {
  const p = localProject();
  assert.is((await p.wd(['setup', 'prod'])).code, 0);
  // Old runs' logs touched later (a copy, a backup restore): their names still say when they ran.
  const future = new Date(Date.now() + 3600_000);
  for (let i = 0; i < 25; i++) {
    const f = join(p.state, 'logs', `2020-01-01T0000${String(i).padStart(2, '0')}Z-deploy-old${i}.log`);
    writeFileSync(f, 'old\n');
    utimesSync(f, future, future);
  }
  assert.is((await p.wd(['deploy', 'prod'])).code, 0);
  const after = logs(p.state).map((l) => basename(l));
  assert.is(after.length, 20);
  assert.equal(after.filter((l) => !l.includes('-old')).length, 2, 'the setup and the deploy logs are kept');
  assert.equal(
    after.filter((l) => l.includes('-old')),
    Array.from({ length: 18 }, (_, i) => `2020-01-01T0000${String(i + 7).padStart(2, '0')}Z-deploy-old${i + 7}.log`),
  );
});

test('logs: one per run even for runs within the same second; the newest 20 are kept', async () => {
  const p = localProject({ 'post.sh': '#!/bin/bash\necho "post: run $(date +%s%N)"\n' }, { post_deploy_script: 'post.sh' });
  assert.is((await p.wd(['setup', 'prod'])).code, 0);
  // Five runs back to back span far less than three seconds, so at least two share a second.
  for (let i = 0; i < 5; i++) assert.is((await p.wd(['deploy', 'prod'])).code, 0);
  const kept = logs(p.state);
  assert.is(kept.length, 6, kept.join('\n'));
  const runs = new Set(
    kept.flatMap((l) =>
      readFileSync(l, 'utf8')
        .split('\n')
        .filter((x) => x.startsWith('post: run ')),
    ),
  );
  assert.is(runs.size, 5, 'each deploy log holds its own run');

  const old = new Date('2020-01-01T00:00:00Z');
  for (let i = 0; i < 25; i++) {
    const f = join(p.state, 'logs', `2020-01-01T0000${String(i).padStart(2, '0')}Z-deploy-old${i}.log`);
    writeFileSync(f, 'old\n');
    utimesSync(f, old, old);
  }
  assert.is((await p.wd(['deploy', 'prod'])).code, 0);
  const after = logs(p.state);
  assert.is(after.length, 20);
  assert.equal(after.filter((l) => !l.includes('-old')).length, 7, 'the newest (real) logs are the ones kept');
});

test('a user name with a tab or a newline cannot break the history into extra fields or lines', async () => {
  const p = localProject();
  const env = { USER: 'ev\til\nname', LOGNAME: 'ev\til\nname' };
  assert.is((await p.wd(['setup', 'prod'], { env })).code, 0);
  assert.is((await p.wd(['deploy', 'prod'], { env })).code, 0);
  const h = history(p.state);
  assert.equal(
    h.map(fields).map((l) => l.slice(0, 3)),
    [
      [BY.replace(/^[^@]*/, 'ev?il?name'), VERSION, 'setup'],
      [BY.replace(/^[^@]*/, 'ev?il?name'), VERSION, 'deploy'],
    ],
  );
  const s = await p.wd(['status', 'prod', '--json']);
  assert.is((JSON.parse(s.stdout) as { hosts: Array<{ lastRun: { command: string } }> }).hosts[0]!.lastRun.command, 'deploy');
});

/** The status table's one host row, split on runs of 2+ spaces. */
function row(out: string): string[] {
  const lines = out.split('\n');
  assert.match(lines[0]!, /^HOST +REVISION +BRANCH +DEPLOYED +BY +LAST RUN +TREE +ORIGIN +LOCK$/);
  return lines[1]!.split(/ {2,}/);
}

test('status: clean, dirty, behind origin, locked by a run, locked by anyone; table and --json; exit 0', async () => {
  const p = localProject({ 'post.sh': WAIT_FOR_GO });
  const r0 = p.origin.head('main');
  assert.is((await p.wd(['setup', 'prod'])).code, 0);
  const when = history(p.state)[0]![0]!;

  const clean = await p.wd(['status', 'prod']);
  assert.is(clean.code, 0, show(clean));
  assert.is(clean.stderr, '');
  assert.equal(row(clean.stdout), ['local', `${r0.slice(0, 7)} initial`, 'main', when, BY, 'setup ok', 'clean', 'up to date', '-']);
  const j = await p.wd(['status', 'prod', '--json']);
  assert.is(j.code, 0, show(j));
  assert.equal(JSON.parse(j.stdout), {
    version: VERSION,
    command: 'status',
    environment: 'prod',
    status: 'succeeded',
    hosts: [
      {
        host: 'local',
        reachable: true,
        deployed: true,
        revision: r0,
        subject: 'initial',
        branch: 'main',
        deployedRevision: r0,
        deployedAt: when,
        deployedBy: BY,
        lastRun: { command: 'setup', result: 'ok', time: when, by: BY },
        dirtyFiles: 0,
        originRevision: r0,
        behindOrigin: false,
        lock: null,
      },
    ],
  });

  writeFileSync(join(p.app, 'app.txt'), 'edited on the host\n');
  writeFileSync(join(p.app, 'README'), 'edited too\n');
  const r1 = p.origin.commit('main', { 'new.txt': 'new\n' }, 'newer');
  const dirty = await p.wd(['status', 'prod']);
  assert.is(dirty.code, 0, show(dirty));
  assert.equal(row(dirty.stdout).slice(6), ['dirty (2)', `behind (${r1.slice(0, 7)})`, '-']);
  const dj = JSON.parse((await p.wd(['status', 'prod', '--json'])).stdout) as { hosts: Array<Record<string, unknown>> };
  assert.equal([dj.hosts[0]!['dirtyFiles'], dj.hosts[0]!['originRevision'], dj.hosts[0]!['behindOrigin']], [2, r1, true]);

  // Locked by a real run: a deploy waiting in its post script.
  git(p.app, 'checkout', '-q', '--', '.');
  const bg = p.start(['deploy', 'prod', '-p', p.config({ post_deploy_script: 'post.sh' }, 'wait.yml')]);
  try {
    await waitFor(() => existsSync(`${p.app}.started`), 'the post script to start');
    const locked = await p.wd(['status', 'prod']);
    assert.is(locked.code, 0, show(locked));
    const cells = row(locked.stdout);
    assert.match(cells[8]!, new RegExp(`^${BY.replace(/[.]/g, '\\.')} deploy \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ pid \\d+$`));
    const lj = JSON.parse((await p.wd(['status', 'prod', '--json'])).stdout) as { hosts: Array<Record<string, unknown>> };
    assert.is(lj.hosts[0]!['lock'], cells[8]);
  } finally {
    writeFileSync(`${p.app}.go`, '');
  }
  const done = await bg.done;
  assert.is(done.code, 0, show(done));
  const after = await p.wd(['status', 'prod']);
  assert.equal(row(after.stdout).slice(5), ['deploy ok', 'clean', 'up to date', '-']);

  // Locked by some other process that holds the flock without writing a holder line.
  const lock = await holdLock(join(p.state, 'lock'));
  try {
    const held = await p.wd(['status', 'prod', '--json']);
    assert.is(held.code, 0, show(held));
    const lock1 = (JSON.parse(held.stdout) as { hosts: Array<Record<string, unknown>> }).hosts[0]!['lock'];
    assert.type(lock1, 'string', `a held lock is reported even without a holder line: ${held.stdout}`);
    assert.match(row((await p.wd(['status', 'prod'])).stdout)[8]!, /held/);
  } finally {
    await lock.release();
  }
});

test('status --history N: the last N history lines per host, in the table and in --json', async () => {
  const p = localProject();
  assert.is((await p.wd(['setup', 'prod'])).code, 0);
  const r1 = p.origin.commit('main', { 'app.txt': 'v2\n' });
  assert.is((await p.wd(['deploy', 'prod'])).code, 0);
  const r2 = p.origin.commit('main', { 'app.txt': 'v3\n' });
  assert.is((await p.wd(['deploy', 'prod'])).code, 0);
  const h = history(p.state);
  const t = await p.wd(['status', 'prod', '--history', '2']);
  assert.is(t.code, 0, show(t));
  assert.equal(t.stdout.split('\n').slice(2), [...h.slice(1).map((l) => `  local: ${l.join('  ')}`), '']);
  const j = JSON.parse((await p.wd(['status', 'prod', '--json', '--history', '2'])).stdout) as { hosts: Array<{ history: Array<Record<string, unknown>> }> };
  assert.equal(
    j.hosts[0]!.history.map((e) => [e['command'], e['previousRevision'], e['revision'], e['result']]),
    [
      ['deploy', h[0]![6], r1, 'ok'],
      ['deploy', r1, r2, 'ok'],
    ],
  );
});

test('status of a host that was never set up: "not set up", exit 0', async () => {
  const p = localProject();
  const r = await p.wd(['status', 'prod']);
  assert.is(r.code, 0, show(r));
  assert.equal(row(r.stdout), ['local', 'not set up']);
  const j = JSON.parse((await p.wd(['status', 'prod', '--json'])).stdout) as { hosts: unknown[] };
  assert.equal(j.hosts, [{ host: 'local', reachable: true, deployed: false, reason: `no checkout at ${p.app}` }]);
});

// Each revision changes one thing, so wd_changed can be asked about each.
const RB_POST = `#!/bin/bash
yn() { if wd_changed "$1"; then echo yes; else echo no; fi; }
echo "post: rollback=\${WD_ROLLBACK-} \${WD_PREVIOUS_REVISION:0:7} -> \${WD_REVISION:0:7} migrate=$(yn db/migrate) app=$(yn app.txt) readme=$(yn README)"
`;

test('rollback walks back one successful deploy per call, runs the post script with WD_ROLLBACK=1 and wd_changed for the difference, then has nothing left', async () => {
  const p = localProject({ 'post.sh': RB_POST }, { post_deploy_script: 'post.sh' });
  const r0 = p.origin.head('main');
  assert.is((await p.wd(['setup', 'prod'])).code, 0);
  const r1 = p.origin.commit('main', { 'db/migrate/001_users.rb': 'create users\n' }, 'migration');
  const r2 = p.origin.commit('main', { 'app.txt': 'v2\n' }, 'app v2');
  const r3 = p.origin.commit('main', { README: 'readme v2\n' }, 'readme');
  // Three deploys, one revision each; the post script runs without WD_ROLLBACK.
  for (const want of [r1, r2]) {
    git(p.origin.url, 'update-ref', 'refs/heads/main', want);
    const d = await p.wd(['deploy', 'prod']);
    assert.is(d.code, 0, show(d));
    assert.match(d.stdout, /^local \| post: rollback= /m);
  }
  git(p.origin.url, 'update-ref', 'refs/heads/main', r3);
  assert.is((await p.wd(['deploy', 'prod'])).code, 0);
  assert.is(headOf(p.app), r3);

  const s = (r: string): string => r.slice(0, 7);
  const steps: Array<[string, string, string]> = [
    [r3, r2, 'migrate=no app=no readme=yes'],
    [r2, r1, 'migrate=no app=yes readme=no'],
    [r1, r0, 'migrate=yes app=no readme=no'],
  ];
  for (const [from, to, changed] of steps) {
    const rb = await p.wd(['rollback', 'prod']);
    assert.is(rb.code, 0, show(rb));
    assert.match(rb.stdout, `local | post: rollback=1 ${s(from)} -> ${s(to)} ${changed}\n`, show(rb));
    assert.match(rb.stdout, new RegExp(`^  local => succeeded ${s(to)} \\(\\d+\\.\\ds\\)$`, 'm'));
    assert.is(headOf(p.app), to);
    assert.equal(history(p.state).at(-1)!.slice(3, 8), ['rollback', 'main', from, to, 'ok']);
  }
  const none = await p.wd(['rollback', 'prod']);
  assert.is(none.code, 1, show(none));
  assert.match(none.stdout, `  local => failed: nothing to roll back to: the history in ${join(p.state, 'history')} has no earlier successful deploy`);
  assert.is(headOf(p.app), r0, 'a refused rollback moves nothing');
});

const esc = (t: string): string => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test('rollback refuses to drop commits made on the host (they are in no history); --force keeps them under refs/wd/saved/', async () => {
  const p = localProject({ 'post.sh': RB_POST }, { post_deploy_script: 'post.sh' });
  const r0 = p.origin.head('main');
  assert.is((await p.wd(['setup', 'prod'])).code, 0);
  p.origin.commit('main', { 'app.txt': 'v2\n' }, 'app v2');
  assert.is((await p.wd(['deploy', 'prod'])).code, 0);
  writeFileSync(join(p.app, 'hotfix.txt'), 'made here\n');
  git(p.app, 'add', 'hotfix.txt');
  git(p.app, 'commit', '-q', '-m', 'hotfix on the host');
  const made = headOf(p.app);
  const r = await p.wd(['rollback', 'prod']);
  assert.is(r.code, 1, show(r));
  assert.match(
    r.stdout,
    new RegExp(
      `  local => failed: ${esc(p.app)} has commits that are not on ${esc(p.origin.url)}: [0-9a-f]{7,} hotfix on the host\\. Push them, or run again with --force to roll back over them`,
    ),
  );
  assert.is(headOf(p.app), made, 'nothing moved');
  const f = await p.wd(['rollback', 'prod', '--force']);
  assert.is(f.code, 0, show(f));
  assert.is(headOf(p.app), r0);
  const saved = git(p.app, 'for-each-ref', '--format=%(objectname) %(refname)', 'refs/wd/saved/');
  assert.match(saved, new RegExp(`^${made} refs/wd/saved/\\d{8}T\\d{6}Z-local-commits$`));
});

test('rollback --rev REV and --to REV go to that revision; an unknown revision fails with the reason', async () => {
  const p = localProject({ 'post.sh': RB_POST }, { post_deploy_script: 'post.sh' });
  const r0 = p.origin.head('main');
  assert.is((await p.wd(['setup', 'prod'])).code, 0);
  const r1 = p.origin.commit('main', { 'db/migrate/001_users.rb': 'create users\n' }, 'migration');
  assert.is((await p.wd(['deploy', 'prod'])).code, 0);
  const r2 = p.origin.commit('main', { 'app.txt': 'v2\n' }, 'app v2');
  assert.is((await p.wd(['deploy', 'prod'])).code, 0);

  const byRev = await p.wd(['rollback', 'prod', '--rev', r0]);
  assert.is(byRev.code, 0, show(byRev));
  assert.match(byRev.stdout, `local | post: rollback=1 ${r2.slice(0, 7)} -> ${r0.slice(0, 7)} migrate=yes app=yes readme=no\n`);
  assert.is(headOf(p.app), r0);

  const byTo = await p.wd(['rollback', 'prod', '--to', r1.slice(0, 10)]);
  assert.is(byTo.code, 0, show(byTo));
  assert.match(byTo.stdout, `local | post: rollback=1 ${r0.slice(0, 7)} -> ${r1.slice(0, 7)} migrate=yes app=no readme=no\n`);
  assert.is(headOf(p.app), r1);
  assert.is(readFileSync(join(p.state, 'deployed'), 'utf8'), `${r1}\n`);

  const unknown = await p.wd(['rollback', 'prod', '--rev', 'deadbeefdeadbeef']);
  assert.is(unknown.code, 1, show(unknown));
  assert.match(
    unknown.stdout,
    `local => failed: revision deadbeefdeadbeef is not known in ${p.app}; name a commit that was deployed here (see: wd status prod --history 20)`,
  );
  assert.is(headOf(p.app), r1);
  const h = history(p.state);
  assert.equal(
    h.slice(-3).map((l) => [l[3], l[7]]),
    [
      ['rollback-to', 'ok'],
      ['rollback-to', 'ok'],
      ['rollback-to', 'failed rollback'],
    ],
  );
});

test.run();
