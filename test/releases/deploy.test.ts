// strategy: releases end to end on this machine (domain: local): the built
// binary, real git, bash and rsync. Each test has its own origin and deploy_to.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { Ajv } from 'ajv';
import { git, makeOrigin, type Origin } from '../helpers/git.js';
import { cleanup, tmpDir } from '../helpers/tmp.js';
import { runWd, WD_BIN, type WdRun } from '../helpers/wd.js';

test.after(cleanup);

// Runs in the new release: proves where it runs, leaves a build product, and
// fails while a flag file sits beside deploy_to.
const BUILD_SH = `#!/bin/bash
[ "$PWD" = "$WD_RELEASE" ] || { echo "cwd $PWD is not WD_RELEASE $WD_RELEASE" >&2; exit 9; }
mkdir -p public && printf 'built %s\\n' "$(head -n 1 app.txt)" >public/built.txt
if [ -e "$WD_DEPLOY_TO/../fail-build" ]; then echo "the build broke" >&2; exit 5; fi
printf '%s\\n' "\${WD_RELEASE##*/}" >>"$WD_DEPLOY_TO/../build.log"
`;
// Records what a post script sees, beside deploy_to.
const POST_SH = `#!/bin/bash
{
  printf 'cwd=%s rollback=%s\\n' "$PWD" "\${WD_ROLLBACK-}"
  printf 'revision=%s previous=%s\\n' "$WD_REVISION" "\${WD_PREVIOUS_REVISION-}"
  printf 'changed=%s rsync=%s\\n' "$(paste -sd, "$WD_CHANGED_FILES")" "$(paste -sd, "$WD_RSYNC_CHANGED_FILES")"
  if wd_changed app.txt; then echo 'wd_changed app.txt: yes'; else echo 'wd_changed app.txt: no'; fi
} >>"$WD_DEPLOY_TO/../post.log"
`;
const NAME = /^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{7}$/;

interface Project {
  dir: string;
  app: string;
  origin: Origin;
  wd(...args: string[]): Promise<WdRun>;
  /** Rewrite deploy.yml with other keys. */
  config(keys: Record<string, unknown>): void;
}

function project(keys: Record<string, unknown> = {}, files: Record<string, string> = {}, app?: string): Project {
  const origin = makeOrigin('origin', { 'deploy/build.sh': BUILD_SH, 'deploy/post.sh': POST_SH, ...files });
  const dir = tmpDir('wd-rel-');
  const p: Project = {
    dir,
    app: app ?? join(dir, 'app'),
    origin,
    wd: (...args) => runWd(args, { cwd: dir }),
    config(k) {
      const prod = { domain: 'local', deploy_to: p.app, repository: origin.url, branch: 'main', strategy: 'releases', ...k };
      writeFileSync(join(dir, 'deploy.yml'), yaml.dump({ prod }));
    },
  };
  p.config(keys);
  return p;
}

const releases = (app: string): string[] => readdirSync(join(app, 'releases')).sort();
const live = (app: string): string => readlinkSync(join(app, 'current'));
const read = (...path: string[]): string => readFileSync(join(...path), 'utf8');
const lines = (s: string): string[] => s.split('\n').filter((l) => l !== '');
const history = (app: string): string[][] => lines(read(app, '.wd', 'history')).map((l) => l.split('\t'));
const all = (r: WdRun): string => `\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

function ok(r: WdRun, rev?: string): void {
  assert.is(r.code, 0, all(r));
  assert.match(r.stdout, new RegExp(`^  local => succeeded ${rev ? rev.slice(0, 7) : '[0-9a-f]{7}'}`, 'm'), all(r));
}

function failed(r: WdRun, reason: string): void {
  assert.is(r.code, 1, all(r));
  const line = r.stdout.split('\n').find((l) => l.startsWith('  local => '));
  assert.is(line?.replace(/ \(\d+\.\ds\)$/, ''), `  local => failed: ${reason}`, all(r));
}

test('setup makes the layout and a first release: repo, releases/, shared/, current, .wd; the hooks run where they should', async () => {
  const p = project({ before_switch_script: 'deploy/build.sh', post_setup_script: 'deploy/post.sh', post_deploy_script: 'deploy/post.sh' });
  const r = await p.wd('setup', 'prod');
  ok(r, p.origin.head('main'));
  const [first, ...more] = releases(p.app);
  assert.equal(more, []);
  assert.match(first!, NAME);
  assert.is(first!.slice(-7), p.origin.head('main').slice(0, 7));
  assert.is(live(p.app), `releases/${first}`);
  assert.equal(readdirSync(p.app).sort(), ['.wd', 'current', 'releases', 'repo', 'shared']);
  assert.is(git(join(p.app, 'repo'), 'rev-parse', '--is-bare-repository'), 'true');
  assert.is(git(join(p.app, 'current'), 'rev-parse', 'HEAD'), p.origin.head('main'));
  assert.is(read(p.app, 'current', 'app.txt'), 'v1\n');
  assert.is(read(p.app, 'current', 'public', 'built.txt'), 'built v1\n');
  assert.is(read(p.dir, 'build.log'), `${first}\n`);
  assert.is(read(p.dir, 'post.log').split('\n')[0], `cwd=${p.app}/current rollback=`);
  assert.match(read(p.dir, 'post.log'), 'wd_changed app.txt: yes');
  assert.equal(
    history(p.app).map((h) => [h[3], h[5], h[6], h[7]]),
    [['setup', '-', p.origin.head('main'), 'ok']],
  );
  assert.is(read(p.app, '.wd', 'deployed'), `${p.origin.head('main')}\n`);
  assertLine(r.stdout, `local | New release: releases/${first}`);
  assertLine(r.stdout, `local | current -> releases/${first}`);
});

test('a failing before_switch_script leaves current and the live app untouched and fails the host with that reason', async () => {
  const p = project({ before_switch_script: 'deploy/build.sh', post_deploy_script: 'deploy/post.sh' });
  ok(await p.wd('setup', 'prod'));
  const v1 = p.origin.head('main');
  const [r1] = releases(p.app);
  p.origin.commit('main', { 'app.txt': 'v2\n' }, 'v2');
  writeFileSync(join(p.dir, 'fail-build'), '');
  const r = await p.wd('deploy', 'prod');
  failed(r, 'before_switch_script exited 5');
  assertLine(r.stderr, 'local | the build broke');
  assert.is(live(p.app), `releases/${r1}`);
  assert.is(read(p.app, 'current', 'app.txt'), 'v1\n');
  assert.is(read(p.app, 'current', 'public', 'built.txt'), 'built v1\n');
  assert.not.ok(existsSync(join(p.dir, 'post.log')), 'post_deploy_script must not run');
  assert.is(read(p.app, '.wd', 'deployed'), `${v1}\n`);
  const last = history(p.app).at(-1)!;
  assert.equal([last[3], last[5], last[6], last[7]], ['deploy', v1, p.origin.head('main'), 'failed before_switch_script']);
  // The failed release stays for a look, and is never a rollback target.
  const failedRelease = releases(p.app).find((n) => n !== r1)!;
  assert.is(read(p.app, 'releases', failedRelease, 'public', 'built.txt'), 'built v2\n');

  const again = await p.wd('deploy', 'prod');
  failed(again, 'before_switch_script exited 5');
  assert.is(live(p.app), `releases/${r1}`);
  rmSync(join(p.dir, 'fail-build'));
  ok(await p.wd('deploy', 'prod'), p.origin.head('main'));
  assert.is(read(p.app, 'current', 'app.txt'), 'v2\n');
  ok(await p.wd('rollback', 'prod'), v1);
  assert.is(live(p.app), `releases/${r1}`);
});

test('liveness: a reader of a file through current during four deploys never misses it nor sees half of a release', async () => {
  // The file is 202 lines; the reader checks the first, the last and the size.
  const big = (k: number): string => `BEGIN ${k}\n${`${k} ${'x'.repeat(60)}\n`.repeat(200)}END ${k}\n`;
  // before_switch_script waits until the reader has seen the live version, so
  // every deploy happens while the reader is reading.
  const wait = `#!/bin/bash
k=$(head -n 1 app.txt); k=\${k#BEGIN }
for _ in $(seq 1200); do grep -qx "OK $((k - 1))" "$WD_DEPLOY_TO/../probe.log" && exit 0; sleep 0.05; done
echo "the reader never saw version $((k - 1))" >&2; exit 1
`;
  const p = project({ keep_releases: 2, before_switch_script: 'deploy/wait.sh' }, { 'app.txt': big(1), 'deploy/wait.sh': wait });
  writeFileSync(join(p.dir, 'probe.log'), 'OK 0\n');
  ok(await p.wd('setup', 'prod'));
  // Builtins only, and no pattern work over the whole text: the reader spins
  // fast (under a millisecond a read here), so a gap of a few would show.
  const probe = `app=$1 log=$2 stop=$3 size=$4 seen= nl=$'\\n'
while [ ! -e "$stop" ]; do
  first= rest=
  { IFS= read -r first; IFS= read -r -d '' rest; } 2>/dev/null <"$app/current/app.txt" || true
  if [ -z "$first" ]; then echo MISSING >>"$log"; continue; fi
  k=\${first#BEGIN }
  if [[ $rest != *"$nl""END $k$nl" ]] || [ \${#rest} != "$size" ]; then echo "BAD first=$first size=\${#rest}" >>"$log"
  elif [ "$k" != "$seen" ]; then echo "OK $k" >>"$log"; seen=$k; fi
done
echo STOPPED >>"$log"
`;
  const stop = join(p.dir, 'stop');
  const size = String(big(1).length - 'BEGIN 1\n'.length);
  const reader = spawn('bash', ['-c', probe, 'probe', p.app, join(p.dir, 'probe.log'), stop, size], { stdio: 'ignore' });
  const ended = new Promise((resolve) => reader.on('exit', resolve));
  try {
    for (let k = 2; k <= 5; k++) {
      p.origin.commit('main', { 'app.txt': big(k) }, `v${k}`);
      ok(await p.wd('deploy', 'prod'));
    }
    for (let i = 0; i < 600 && !lines(read(p.dir, 'probe.log')).includes('OK 5'); i++) await new Promise((r) => setTimeout(r, 50));
  } finally {
    writeFileSync(stop, '');
    await ended;
  }
  assert.equal(lines(read(p.dir, 'probe.log')), ['OK 0', 'OK 1', 'OK 2', 'OK 3', 'OK 4', 'OK 5', 'STOPPED']);
  assert.is(releases(p.app).length, 2);
});

test('shared_paths survive three deploys; paths with spaces and $(...) are links, never run; shared/ is seeded by the host or, once, by the repository', async () => {
  const hostile = 'my files/$(touch pwned)';
  const p = project(
    { shared_paths: ['log', hostile, 'config/settings.yml', '.env'], post_deploy_script: 'deploy/log.sh', post_setup_script: 'deploy/log.sh' },
    {
      'log/.keep': '',
      'config/settings.yml': 'from the repository\n',
      'deploy/log.sh':
        '#!/bin/bash\nprintf "%s\\n" "$(head -n 1 app.txt)" >>log/app.log\nprintf "%s\\n" "$(head -n 1 app.txt)" >>"my files/$(printf "%s" "\\$(touch pwned)")/seen"\n',
    },
  );
  // A file the repository does not have is put in shared/ before setup.
  mkdirSync(join(p.app, 'shared'), { recursive: true });
  writeFileSync(join(p.app, 'shared', '.env'), 'SECRET=on the host\n');
  ok(await p.wd('setup', 'prod'));
  assert.is(read(p.app, 'current', '.env'), 'SECRET=on the host\n');
  assert.is(read(p.app, 'shared', 'config', 'settings.yml'), 'from the repository\n');
  writeFileSync(join(p.app, 'shared', 'config', 'settings.yml'), 'edited on the host\n');
  for (let k = 2; k <= 4; k++) {
    p.origin.commit('main', { 'app.txt': `v${k}\n`, 'config/settings.yml': `repository v${k}\n` }, `v${k}`);
    ok(await p.wd('deploy', 'prod'));
  }
  assert.is(read(p.app, 'shared', 'log', 'app.log'), 'v1\nv2\nv3\nv4\n');
  assert.is(read(p.app, 'shared', 'my files', '$(touch pwned)', 'seen'), 'v1\nv2\nv3\nv4\n');
  assert.ok(existsSync(join(p.app, 'shared', 'log', '.keep')));
  assert.is(read(p.app, 'current', 'config', 'settings.yml'), 'edited on the host\n');
  for (const n of releases(p.app)) {
    const rel = join(p.app, 'releases', n);
    assert.is(readlinkSync(join(rel, 'log')), join(p.app, 'shared', 'log'));
    assert.is(readlinkSync(join(rel, 'my files', '$(touch pwned)')), join(p.app, 'shared', hostile));
    assert.is(readlinkSync(join(rel, 'config', 'settings.yml')), join(p.app, 'shared', 'config', 'settings.yml'));
  }
  const pwned = (dir: string): string[] =>
    readdirSync(dir, { recursive: true })
      .map(String)
      .filter((f) => f.split('/').at(-1) === 'pwned');
  assert.equal([...pwned(p.app), ...pwned(p.dir)], []);
  // The links are not edits: status says clean.
  const st = JSON.parse((await p.wd('status', 'prod', '--json')).stdout) as { hosts: Array<Record<string, unknown>> };
  assert.is(st.hosts[0]!['dirtyFiles'], 0);
});

test('a shared path whose parent in the release is a symlink is refused, and nothing outside the release is touched', async () => {
  const outside = tmpDir('wd-rel-outside-');
  writeFileSync(join(outside, 'precious'), 'keep me\n');
  const p = project({ shared_paths: ['public/precious'] });
  ok(await p.wd('setup', 'prod'));
  // A symlink committed to the repository: public -> a directory outside.
  symlinkSync(outside, join(p.origin.work, 'public'));
  git(p.origin.work, 'add', 'public');
  git(p.origin.work, 'commit', '-qm', 'public link');
  git(p.origin.work, 'push', '-q', 'origin', 'main');
  const before = live(p.app);
  const r = await p.wd('deploy', 'prod');
  assert.is(r.code, 1, all(r));
  assert.match(
    r.stdout,
    /local => failed: shared path public\/precious: \S+\/public is a symlink in the release; wd will not replace anything through it\./,
    all(r),
  );
  assert.is(read(outside, 'precious'), 'keep me\n');
  assert.is(live(p.app), before);
});

test('pruning keeps exactly keep_releases, and never the live release nor the one before it', async () => {
  const p = project({ keep_releases: 2 });
  ok(await p.wd('setup', 'prod'));
  const made: string[] = [...releases(p.app)];
  const deploy = async (): Promise<string> => {
    p.origin.commit('main', { 'app.txt': `v${made.length + 1}\n` });
    ok(await p.wd('deploy', 'prod'));
    const n = live(p.app).slice('releases/'.length);
    made.push(n);
    return n;
  };
  await deploy();
  await deploy();
  assert.equal(releases(p.app), made.slice(-2));
  assert.equal(
    lines(git(join(p.app, 'repo'), 'worktree', 'list', '--porcelain')).filter((l) => l.startsWith('worktree ')).length,
    3,
    'pruned worktrees are gone from the cache',
  );
  // After a rollback the live release is the older one; the next deploy keeps it (it is the previous one then).
  ok(await p.wd('rollback', 'prod'));
  assert.is(live(p.app), `releases/${made[1]}`);
  await deploy();
  assert.equal(releases(p.app), [made[1], made[2], made[3]]);
  await deploy();
  assert.equal(releases(p.app), [made[3], made[4]]);
  // A clock set back: two releases named in the future sort after the new one;
  // pruning goes no further than the live release and the previous one.
  for (const n of ['29991231T235958Z-aaaaaaa', '29991231T235959Z-bbbbbbb']) mkdirSync(join(p.app, 'releases', n));
  const n = await deploy();
  assert.equal(releases(p.app), [made[4], n, '29991231T235958Z-aaaaaaa', '29991231T235959Z-bbbbbbb']);
  // What wd did not make is never counted or removed.
  mkdirSync(join(p.app, 'releases', 'keep me'));
  await deploy();
  assert.ok(existsSync(join(p.app, 'releases', 'keep me')));
});

test('the stack is rewritten only when a release was pruned or it outgrew 100 lines; otherwise only appended to', async () => {
  const p = project({ keep_releases: 5 });
  ok(await p.wd('setup', 'prod'));
  const stack = join(p.app, '.wd', 'stack');
  const inode = statSync(stack).ino;
  p.origin.commit('main', { 'app.txt': 'v2\n' });
  ok(await p.wd('deploy', 'prod'));
  assert.is(statSync(stack).ino, inode, 'nothing pruned: the stack was appended to, not rewritten');
  const [first, second] = lines(read(stack));
  assert.equal(releases(p.app), [first, second]);
  // 152 lines, ten of them releases that are gone, the live release on top: the next deploy keeps
  // the newest 100 of those still kept.
  writeFileSync(stack, `${`${first}\n`.repeat(140)}${'20200101T000000Z-0000000\n'.repeat(10)}${first}\n${second}\n`);
  p.origin.commit('main', { 'app.txt': 'v3\n' });
  ok(await p.wd('deploy', 'prod'));
  const after = lines(read(stack));
  assert.is(after.length, 100);
  assert.equal(after.slice(-3), [first, second, live(p.app).slice('releases/'.length)]);
  assert.not.ok(after.includes('20200101T000000Z-0000000'));
});

test('the live release is the one current leads to, also through an absolute link the stack does not know', async () => {
  const p = project();
  ok(await p.wd('setup', 'prod'));
  for (const v of ['v2', 'v3']) {
    p.origin.commit('main', { 'app.txt': `${v}\n` });
    ok(await p.wd('deploy', 'prod'));
  }
  const [r1, r2] = releases(p.app);
  rmSync(join(p.app, 'current'));
  symlinkSync(join(p.app, 'releases', r2!), join(p.app, 'current'));
  writeFileSync(join(p.app, '.wd', 'stack'), '');
  const r = await p.wd('rollback', 'prod');
  ok(r);
  assert.match(r.stderr, `does not say which release was live before ${r2}; going back to the newest older one, ${r1}`);
  assert.is(live(p.app), `releases/${r1}`);
});

test('rollback switches current back one release at a time, without git work, and runs post_deploy_script with WD_ROLLBACK=1', async () => {
  const p = project({ post_deploy_script: 'deploy/post.sh', keep_releases: 5 });
  ok(await p.wd('setup', 'prod'));
  const v1 = p.origin.head('main');
  const v2 = p.origin.commit('main', { 'app.txt': 'v2\n' }, 'v2');
  ok(await p.wd('deploy', 'prod'));
  const v3 = p.origin.commit('main', { 'other.txt': 'v3\n' }, 'v3');
  ok(await p.wd('deploy', 'prod'));
  const [r1, r2, r3] = releases(p.app);
  // Origin moves on: a rollback must not fetch it.
  p.origin.commit('main', { 'app.txt': 'v4\n' }, 'v4');
  const cache = join(p.app, 'repo');
  const refs = git(cache, 'for-each-ref');
  writeFileSync(join(p.dir, 'post.log'), '');

  const back = await p.wd('rollback', 'prod');
  ok(back, v2);
  assertLine(back.stdout, `local | current -> releases/${r2}`);
  assert.is(live(p.app), `releases/${r2}`);
  assert.is(read(p.dir, 'post.log'), `cwd=${p.app}/current rollback=1\nrevision=${v2} previous=${v3}\nchanged=other.txt rsync=\nwd_changed app.txt: no\n`);
  assert.is(git(cache, 'for-each-ref'), refs, 'no fetch');
  assert.equal(releases(p.app), [r1, r2, r3], 'no release made, none removed');

  writeFileSync(join(p.dir, 'post.log'), '');
  ok(await p.wd('rollback', 'prod'), v1);
  assert.is(live(p.app), `releases/${r1}`);
  assert.is(read(p.dir, 'post.log'), `cwd=${p.app}/current rollback=1\nrevision=${v1} previous=${v2}\nchanged=app.txt rsync=\nwd_changed app.txt: yes\n`);
  const none = await p.wd('rollback', 'prod');
  failed(none, `nothing to roll back to: no release was live before ${r1}, and no older release is kept in ${p.app}/releases`);
  assert.is(live(p.app), `releases/${r1}`);

  ok(await p.wd('rollback', 'prod', '--to', r3!), v3);
  assert.is(live(p.app), `releases/${r3}`);
  ok(await p.wd('rollback', 'prod', '--rev', v2.slice(0, 9)), v2);
  assert.is(live(p.app), `releases/${r2}`);
  // A name with a slash is a revision (as the cache knows it), never a path under releases/.
  ok(await p.wd('rollback', 'prod', '--rev', 'origin/main~2'), v1);
  assert.is(live(p.app), `releases/${r1}`);
  failed(
    await p.wd('rollback', 'prod', '--rev', '../releases'),
    `../releases names no kept release: no directory ${p.app}/releases/../releases, and no release of that revision. Kept: ${r1} ${r2} ${r3} (see: wd status prod)`,
  );
  ok(await p.wd('rollback', 'prod', '--rev', r2!), v2);
  failed(await p.wd('rollback', 'prod', '--rev', r2!), `release ${r2} is already live; nothing to roll back`);
  const bad = await p.wd('rollback', 'prod', '--rev', '$(touch${IFS}pwned)');
  failed(
    bad,
    `$(touch\${IFS}pwned) names no kept release: no directory ${p.app}/releases/$(touch\${IFS}pwned), and no release of that revision. Kept: ${r1} ${r2} ${r3} (see: wd status prod)`,
  );
  assert.not.ok(existsSync(join(p.dir, 'pwned')));
  // --to pushes: a plain rollback now goes back to the release live before it, r1.
  ok(await p.wd('rollback', 'prod'), v1);
  assert.is(live(p.app), `releases/${r1}`);
  assert.equal(
    history(p.app)
      .slice(3)
      .map((h) => `${h[3]} ${h[7]}`),
    [
      'rollback ok',
      'rollback ok',
      'rollback failed rollback',
      'rollback-to ok',
      'rollback-to ok',
      'rollback-to ok',
      'rollback-to failed rollback',
      'rollback-to ok',
      'rollback-to failed rollback',
      'rollback-to failed rollback',
      'rollback ok',
    ],
  );
});

test('an in-place checkout at deploy_to is refused (migrating must be explicit); so is a directory holding other files', async () => {
  const p = project();
  p.config({ strategy: 'in_place' });
  ok(await p.wd('setup', 'prod'));
  const head = git(p.app, 'rev-parse', 'HEAD');
  p.config({});
  for (const cmd of ['setup', 'deploy', 'rollback']) {
    const r = await p.wd(cmd, 'prod');
    failed(
      r,
      `${p.app} holds a git checkout (strategy: in_place's layout); strategy: releases will not build over it. Set deploy_to to a new directory, or move the checkout away first (see docs/releases.md, Migrating)`,
    );
  }
  assert.is(git(p.app, 'rev-parse', 'HEAD'), head);
  assert.is(git(p.app, 'status', '--porcelain'), '');
  assert.not.ok(existsSync(join(p.app, 'releases')));

  const q = project();
  failed(await q.wd('deploy', 'prod'), `no releases layout at ${q.app} (strategy: releases); run 'wd setup prod' first`);
  mkdirSync(q.app);
  writeFileSync(join(q.app, 'index.html'), 'hello\n');
  failed(
    await q.wd('setup', 'prod'),
    `${q.app} holds index.html, which is not part of a releases layout (repo, releases, shared, current, .wd); move it away or set deploy_to to a new directory`,
  );
  assert.equal(readdirSync(q.app), ['index.html']);
});

test('config repository: rsynced into each new release before before_switch_script; wd_changed answers for what differs from the live release', async () => {
  const config = makeOrigin('config', { 'prod/config/db.yml': 'db: one\n', 'prod/app.txt': 'from config\n' });
  const check = '#!/bin/bash\ngrep -q "^db:" config/db.yml || { echo "no config before the switch" >&2; exit 6; }\n';
  const p = project(
    { before_switch_script: 'deploy/check.sh', post_deploy_script: 'deploy/post.sh', post_setup_script: 'deploy/post.sh' },
    { 'deploy/check.sh': check },
  );
  const cfgTo = join(p.dir, 'config');
  p.config({
    before_switch_script: 'deploy/check.sh',
    post_deploy_script: 'deploy/post.sh',
    post_setup_script: 'deploy/post.sh',
    config_repository: config.url,
    deploy_config_to: cfgTo,
    config_branch: 'main',
  });
  ok(await p.wd('setup', 'prod'));
  assert.is(read(p.app, 'current', 'config', 'db.yml'), 'db: one\n');
  assert.is(read(p.app, 'current', 'app.txt'), 'from config\n');
  assert.match(read(p.dir, 'post.log'), 'rsync=app.txt,config/db.yml\n');

  writeFileSync(join(p.dir, 'post.log'), '');
  p.origin.commit('main', { 'other.txt': 'x\n' }, 'app only');
  ok(await p.wd('deploy', 'prod'));
  assert.is(
    read(p.dir, 'post.log'),
    `cwd=${p.app}/current rollback=\nrevision=${p.origin.head('main')} previous=${git(p.origin.work, 'rev-parse', 'HEAD~1')}\nchanged=other.txt rsync=\nwd_changed app.txt: no\n`,
  );

  writeFileSync(join(p.dir, 'post.log'), '');
  config.commit('main', { 'prod/config/db.yml': 'db: two\n' }, 'db two');
  ok(await p.wd('deploy', 'prod'));
  assert.match(read(p.dir, 'post.log'), 'changed= rsync=config/db.yml\n');
  assert.is(read(p.app, 'current', 'config', 'db.yml'), 'db: two\n');
  // The releases before keep the configuration they were built with.
  assert.equal(
    releases(p.app).map((n) => read(p.app, 'releases', n, 'config', 'db.yml')),
    ['db: one\n', 'db: one\n', 'db: two\n'],
  );
});

test('wd_changed answers for names with quotes, backslashes and tabs, as git has them', async () => {
  const odd = 'it\'s "odd"\\ \tname.txt';
  const check = '#!/bin/bash\nname=$(<deploy/name.txt)\nif wd_changed "$name"; then echo yes; else echo no; fi >"$WD_DEPLOY_TO/../odd.log"\n';
  const p = project({ post_deploy_script: 'deploy/odd.sh' }, { 'deploy/odd.sh': check, 'deploy/name.txt': odd });
  ok(await p.wd('setup', 'prod'));
  p.origin.commit('main', { [odd]: 'x\n' }, 'odd name');
  ok(await p.wd('deploy', 'prod'));
  assert.is(read(p.dir, 'odd.log'), 'yes\n');
  assert.is(read(p.app, '.wd', 'changed-git'), `${odd}\n`);
});

test('--check compares origin with the live release', async () => {
  const p = project();
  ok(await p.wd('setup', 'prod'));
  const r = await p.wd('deploy', 'prod', '--check');
  assert.is(r.code, 0, all(r));
  assertLine(r.stdout, 'local | No changes to deploy.');
  assert.match(r.stdout, /local => succeeded [0-9a-f]{7}, no changes/);
  assert.is(releases(p.app).length, 1);
  const v2 = p.origin.commit('main', { 'app.txt': 'v2\n' });
  ok(await p.wd('deploy', 'prod', '--check'), v2);
  assert.is(releases(p.app).length, 2);
});

test('status shows the live release and the ones kept, as text and as JSON that matches the schema', async () => {
  const p = project();
  ok(await p.wd('setup', 'prod'));
  p.origin.commit('main', { 'app.txt': 'v2\n' }, 'second');
  ok(await p.wd('deploy', 'prod'));
  ok(await p.wd('rollback', 'prod'));
  const [r1, r2] = releases(p.app);
  const t = await p.wd('status', 'prod');
  assert.is(t.code, 0, all(t));
  assertLine(t.stdout, `  local: current -> releases/${r1}; kept: ${r1} (live), ${r2}`);
  assert.match(t.stdout, new RegExp(`^local +${r1!.slice(-7)} initial +main +`, 'm'), all(t));
  const schema = JSON.parse(readFileSync(join(WD_BIN, '..', '..', 'schema', 'result.schema.json'), 'utf8')) as object;
  const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
  const doc = JSON.parse((await p.wd('status', 'prod', '--json')).stdout) as { hosts: Array<Record<string, unknown>> };
  assert.ok(validate(doc), JSON.stringify(validate.errors));
  const h = doc.hosts[0]!;
  assert.equal(
    [h['strategy'], h['release'], h['releases'], h['revision'], h['branch'], h['dirtyFiles'], h['behindOrigin']],
    ['releases', r1, [r1, r2], git(join(p.app, 'releases', r1!), 'rev-parse', 'HEAD'), 'main', 0, true],
  );
  const none = project();
  const n = JSON.parse((await none.wd('status', 'prod', '--json')).stdout) as { hosts: Array<Record<string, unknown>> };
  assert.equal([n.hosts[0]!['deployed'], n.hosts[0]!['reason']], [false, `no checkout at ${none.app}`]);
});

test('hostile deploy_to: quotes, spaces and $(...) in the path stay one literal path', async () => {
  const base = tmpDir('wd-rel-hostile-');
  const app = join(base, `it's "my" app $(touch pwned) \`touch bt\``);
  const p = project({ post_deploy_script: 'deploy/post.sh', shared_paths: ['log'] }, {}, app);
  ok(await p.wd('setup', 'prod'));
  p.origin.commit('main', { 'app.txt': 'v2\n' });
  ok(await p.wd('deploy', 'prod'));
  assert.is(read(app, 'current', 'app.txt'), 'v2\n');
  assert.ok(lstatSync(join(app, 'current', 'log')).isSymbolicLink());
  ok(await p.wd('rollback', 'prod'));
  assert.is(read(app, 'current', 'app.txt'), 'v1\n');
  assert.equal(readdirSync(base), [`it's "my" app $(touch pwned) \`touch bt\``, 'post.log'].sort());
  assert.not.ok(existsSync(join(p.dir, 'pwned')) || existsSync(join(p.dir, 'bt')));
});

test('shared_paths nested in one another are a config error (exit 2) before any host is contacted', async () => {
  const p = project({ shared_paths: ['public', 'public/uploads'] });
  const r = await p.wd('deploy', 'prod');
  assert.is(r.code, 2, all(r));
  assert.is(
    r.stderr,
    `wd: ${join(p.dir, 'deploy.yml')}, environment 'prod', key 'shared_paths': 'public/uploads' is inside 'public', which is shared already; list only 'public'.\n`,
  );
  assert.not.ok(existsSync(p.app));
});

function assertLine(out: string, line: string): void {
  assert.ok(out.split('\n').includes(line), `expected the line ${JSON.stringify(line)} in:\n${out}`);
}

test.run();
