// strategy: releases against a real OpenSSH sshd: two fake hosts, the built
// binary, one connection per host per command.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup } from '../helpers/tmp.js';
import { assertLine, assertSummary, currentSshdGate, hostLine, SSHD_MISSING, startWorld, type FakeHost, type World } from '../helpers/e2e-fixture.js';
import type { WdRun } from '../helpers/wd.js';

// Fails on the db host when asked to, so one host's release never goes live.
const BUILD_SH = `#!/bin/bash
if [ -n "\${FAIL_ON_DB-}" ] && wd_role db; then echo "the build broke on db" >&2; exit 3; fi
printf 'built %s\\n' "$(cat app.txt)" >built.txt
`;
const POST_SH = `#!/bin/bash
printf '%s rollback=%s revision=%s changed=%s\\n' "$PWD" "\${WD_ROLLBACK-}" "$WD_REVISION" "$(paste -sd, "$WD_CHANGED_FILES")" >>"$WD_DEPLOY_TO/../post.log"
`;

const gate = currentSshdGate();
const e2e = suite('releases e2e (real sshd)');
const t = gate === 'run' ? e2e : e2e.skip;
if (gate === 'fail') {
  e2e('releases e2e: OpenSSH sshd must be installed under CI=true', () => {
    assert.unreachable(SSHD_MISSING);
  });
}

let w: World;
let hosts: FakeHost[];
e2e.before(async () => {
  if (gate !== 'run') return;
  w = await startWorld([['web', 'db'], ['web']], { 'deploy/build.sh': BUILD_SH, 'deploy/post.sh': POST_SH });
  hosts = w.hosts;
});
e2e.after(async () => {
  await (w as World | undefined)?.stop();
  await cleanup();
});

/** Runs wd and returns how many SSH connections each host got meanwhile. */
async function counted(args: string[]): Promise<{ r: WdRun; conns: number[] }> {
  const before = hosts.map((h) => w.sshd.connectionsFromLog(h.port));
  const r = await w.wd(args);
  return { r, conns: hosts.map((h, i) => w.sshd.connectionsFromLog(h.port) - before[i]!) };
}

const app = (h: FakeHost, ...p: string[]): string => join(h.home, 'rel app', ...p);
const live = (h: FakeHost): string => readlinkSync(app(h, 'current'));

t('setup, a deploy whose before_switch_script fails on one host, rollback: one connection per host per command', async () => {
  const keys = {
    deploy_to: '~/rel app',
    strategy: 'releases',
    shared_paths: ['log'],
    before_switch_script: 'deploy/build.sh',
    post_deploy_script: 'deploy/post.sh',
  };
  const [db, web] = hosts as [FakeHost, FakeHost];
  const v1 = w.origin.head('main');
  const setup = await counted(['setup', 'prod', '-p', w.config(keys)]);
  assertSummary(setup.r, hosts);
  assert.equal(setup.conns, [1, 1]);
  const first = new Map(hosts.map((h) => [h, live(h)]));
  for (const h of hosts) {
    assert.is(readFileSync(app(h, 'current', 'built.txt'), 'utf8'), 'built v1\n');
    assert.is(readlinkSync(app(h, 'current', 'log')), app(h, 'shared', 'log'));
  }

  const v2 = w.origin.commit('main', { 'app.txt': 'v2\n' }, 'v2');
  const deploy = await counted(['deploy', 'prod', '-p', w.config({ ...keys, rake_env: { FAIL_ON_DB: '1' } })]);
  assertSummary(deploy.r, [web], [[db, 'before_switch_script exited 3']]);
  assert.equal(deploy.conns, [1, 1]);
  assertLine(deploy.r.stderr, hostLine(db, 'the build broke on db'));
  assert.is(live(db), first.get(db), 'the failed host keeps its release');
  assert.is(readFileSync(app(db, 'current', 'app.txt'), 'utf8'), 'v1\n');
  assert.not.ok(existsSync(join(db.home, 'post.log')));
  assert.is.not(live(web), first.get(web));
  assert.is(readFileSync(app(web, 'current', 'built.txt'), 'utf8'), 'built v2\n');
  assert.is(readFileSync(join(web.home, 'post.log'), 'utf8'), `${app(web, 'current')} rollback= revision=${v2} changed=app.txt\n`);
  assert.is(readdirSync(app(db, 'releases')).length, 2, 'the failed release is left for a look');

  const back = await counted(['rollback', 'prod', '-p', w.config(keys)]);
  assert.equal(back.conns, [1, 1]);
  assertSummary(
    back.r,
    [web],
    [
      [
        db,
        `nothing to roll back to: no release was live before ${first.get(db)!.slice('releases/'.length)}, and no older release is kept in ${app(db, 'releases')}`,
      ],
    ],
  );
  assert.is(live(web), first.get(web));
  assert.is(readFileSync(app(web, 'current', 'app.txt'), 'utf8'), 'v1\n');
  assert.is(readFileSync(join(web.home, 'post.log'), 'utf8').split('\n')[1], `${app(web, 'current')} rollback=1 revision=${v1} changed=app.txt`);

  const status = await counted(['status', 'prod', '-p', w.config(keys)]);
  assert.is(status.r.code, 0, status.r.stdout + status.r.stderr);
  assert.equal(status.conns, [1, 1]);
  for (const h of hosts)
    assertLine(
      status.r.stdout,
      `  ${h.name}: current -> ${live(h)}; kept: ${readdirSync(app(h, 'releases'))
        .sort()
        .map((n) => (`releases/${n}` === live(h) ? `${n} (live)` : n))
        .join(', ')}`,
    );
});

e2e.run();
