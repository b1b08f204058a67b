// wd end to end against a real OpenSSH sshd: the built binary, a bare origin,
// three fake hosts (one home each) behind one sshd, key auth and pinned host
// keys. Each test uses its own deploy_to so tests don't depend on each other.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, tmpDir } from './helpers/tmp.js';
import { git } from './helpers/git.js';
import { show } from './helpers/output.js';
import { assertLine, assertSummary, currentSshdGate, hostLine, sshdGate, SSHD_MISSING, startWorld, type FakeHost, type World } from './helpers/e2e-fixture.js';
import type { WdRun } from './helpers/wd.js';

// A post script that records what it sees beside the checkout (so the
// checkout itself stays clean), and fails on the db host when asked to.
const RECORD_SH = `#!/bin/bash
{
  printf 'cwd=%s\\n' "$PWD"
  printf 'previous=%s\\n' "\${WD_PREVIOUS_REVISION-}"
  printf 'revision=%s\\n' "\${WD_REVISION-}"
  printf 'changed=%s\\n' "$(paste -sd, "$WD_CHANGED_FILES")"
  printf 'host=%s roles=%s\\n' "$WD_HOST" "$WD_ROLES"
  printf 'tricky=%s\\n' "\${TRICKY-}"
} >"$WD_DEPLOY_TO.record"
if [ -n "\${FAIL_ON_DB-}" ] && wd_role db; then echo "db says no" >&2; exit 3; fi
`;
const ROLES = [['web', 'db'], ['web'], ['worker']];
const TRICKY = `it's "quoted"  $(touch pwned-env) \`touch pwned-bt\` $HOME; echo injected`;

const gate = currentSshdGate();
const e2e = suite('e2e (real sshd)');
const t = gate === 'run' ? e2e : e2e.skip;
if (gate === 'skip') console.error(`${SSHD_MISSING}!! CI is not 'true': skipping the e2e suite.\n`);
if (gate === 'fail') {
  e2e('e2e: OpenSSH sshd must be installed under CI=true', () => {
    assert.unreachable(SSHD_MISSING);
  });
}

let w: World;
let hosts: FakeHost[];
e2e.before(async () => {
  if (gate !== 'run') return;
  w = await startWorld(ROLES, { 'deploy/record.sh': RECORD_SH });
  hosts = w.hosts;
});
e2e.after(async () => {
  await (w as World | undefined)?.stop(); // unset when startWorld threw
  await cleanup();
});

const at = (h: FakeHost, dir: string, ...path: string[]): string => join(h.home, dir, ...path);
const read = (h: FakeHost, dir: string, path: string): string => readFileSync(at(h, dir, path), 'utf8');
const headOf = (h: FakeHost, dir: string): string => git(at(h, dir), 'rev-parse', 'HEAD');
const branchOf = (h: FakeHost, dir: string): string => git(at(h, dir), 'rev-parse', '--abbrev-ref', 'HEAD');
const originFile = (branch: string, path: string): string => git(w.origin.url, 'show', `refs/heads/${branch}:${path}`) + '\n';

/** Setup with the given env keys; asserts it succeeded everywhere. */
async function setup(env: Record<string, unknown>, list = hosts): Promise<string> {
  const file = w.config(env, list);
  const r = await w.wd(['setup', 'prod', '-p', file]);
  assertSummary(r, list);
  return file;
}

/** Runs wd and returns how many SSH connections each host got meanwhile. */
async function counted(args: string[]): Promise<{ r: WdRun; conns: number[] }> {
  const before = hosts.map((h) => w.sshd.connectionsFromLog(h.port));
  const r = await w.wd(args);
  return { r, conns: hosts.map((h, i) => w.sshd.connectionsFromLog(h.port) - before[i]!) };
}

/** Every path under the roots whose base name matches. */
function findNamed(roots: string[], re: RegExp): string[] {
  const hits: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, e.name);
      if (re.test(e.name)) hits.push(full);
      if (e.isDirectory()) walk(full);
    }
  };
  for (const r of roots) if (existsSync(r)) walk(r);
  return hits;
}
const everywhere = (): string[] => [...hosts.map((h) => h.home), w.localHome, w.cwd, w.origin.work, w.origin.url, w.sshd.dir];

e2e('the CI gate: run with sshd, fail without it under CI=true, else skip', () => {
  assert.is(sshdGate(true, { CI: 'true' }), 'run');
  assert.is(sshdGate(false, { CI: 'true' }), 'fail');
  assert.is(sshdGate(false, {}), 'skip');
  assert.is(sshdGate(false, { CI: 'false' }), 'skip');
});

t('setup clones on every host and checks out the branch; a second setup skips the clone', async () => {
  const file = w.config({ deploy_to: '~/s1' });
  const first = await w.wd(['setup', 'prod', '-p', file]);
  assertSummary(first, hosts);
  for (const h of hosts) {
    assert.is(read(h, 's1', 'app.txt'), originFile('main', 'app.txt'));
    assert.is(branchOf(h, 's1'), 'main');
    assert.is(headOf(h, 's1'), w.origin.head('main'));
  }
  const again = await w.wd(['setup', 'prod', '-p', file]);
  assertSummary(again, hosts);
  for (const h of hosts) assertLine(again.stdout, hostLine(h, `Repository already cloned to [${at(h, 's1')}].  Skipping.`));
});

t('deploy after a new commit updates every host; the post script sees the changed file and both revisions', async () => {
  const file = await setup({ deploy_to: '~/s2', post_deploy_script: 'deploy/record.sh' });
  const previous = w.origin.head('main');
  const revision = w.origin.commit('main', { 'app.txt': 'v2 from the deploy test\n' }, 'v2');
  const r = await w.wd(['deploy', 'prod', '-p', file]);
  assertSummary(r, hosts);
  for (const h of hosts) {
    assert.is(read(h, 's2', 'app.txt'), 'v2 from the deploy test\n');
    assert.is(headOf(h, 's2'), revision);
    assert.is(
      read(h, '', 's2.record'),
      [
        `cwd=${at(h, 's2')}`,
        `previous=${previous}`,
        `revision=${revision}`,
        'changed=app.txt',
        `host=${h.name} roles=${h.roles.join(':')}`,
        'tricky=',
        '',
      ].join('\n'),
    );
  }
});

t('deploy with branch: other switches every host to that branch', async () => {
  await setup({ deploy_to: '~/s3' });
  const r = await w.wd(['deploy', 'prod', '-p', w.config({ deploy_to: '~/s3', branch: 'other' })]);
  assertSummary(r, hosts);
  for (const h of hosts) {
    assert.is(branchOf(h, 's3'), 'other');
    assert.is(headOf(h, 's3'), w.origin.head('other'));
    assert.is(read(h, 's3', 'other.txt'), 'on other\n');
  }
});

t('deploy restores a file modified and a file deleted on the host; a commit made there stops that host until --force, which keeps it', async () => {
  const file = await setup({ deploy_to: '~/s4' });
  for (const h of hosts) {
    writeFileSync(at(h, 's4', 'app.txt'), 'edited on the host\n');
    rmSync(at(h, 's4', 'README'));
  }
  // Only reset --hard (not checkout -f) undoes a commit on the branch itself.
  git(at(hosts[0]!, 's4'), 'commit', '-qam', 'hotfix made on the host');
  const hotfix = headOf(hosts[0]!, 's4');
  const refused = await w.wd(['deploy', 'prod', '-p', file]);
  assert.is(refused.code, 1);
  assert.match(
    refused.stdout,
    new RegExp(
      `${hosts[0]!.name.replace(/[.]/g, '\\.')} => failed: \\S+/s4 has commits that are not on \\S+: ${hotfix.slice(0, 7)} hotfix made on the host\\. Push them, or run again with --force`,
    ),
  );
  assert.is(headOf(hosts[0]!, 's4'), hotfix, 'the refused host is untouched');
  assert.match(refused.stderr, /discarding local edits to tracked files/);
  const r = await w.wd(['deploy', 'prod', '-p', file, '--force']);
  assertSummary(r, hosts);
  const saved = git(at(hosts[0]!, 's4'), 'for-each-ref', '--format=%(objectname)', 'refs/wd/saved/');
  assert.is(saved, hotfix, 'the dropped commit is kept under refs/wd/saved/');
  for (const h of hosts) {
    assert.is(read(h, 's4', 'app.txt'), originFile('main', 'app.txt'));
    assert.is(read(h, 's4', 'README'), 'hello\n');
    assert.is(git(at(h, 's4'), 'status', '--porcelain'), '');
    assert.is(headOf(h, 's4'), w.origin.head('main'));
  }
});

t('post scripts (relative and absolute) get rake_env values literally and run in deploy_to', async () => {
  const abs = join(tmpDir('wd-e2e-abs-'), 'post deploy.sh');
  writeFileSync(abs, '#!/bin/bash\nprintf "abs cwd=%s\\ntricky=%s\\nplain=%s\\n" "$PWD" "$TRICKY" "$PLAIN" >"$WD_DEPLOY_TO.abs"\n', { mode: 0o755 });
  const env = { deploy_to: '~/s5', rake_env: { TRICKY, PLAIN: 'x' }, post_setup_script: 'deploy/record.sh', post_deploy_script: abs };
  const file = await setup(env);
  for (const h of hosts) {
    const rec = read(h, '', 's5.record');
    assertLine(rec, `cwd=${at(h, 's5')}`);
    assertLine(rec, `tricky=${TRICKY}`);
    assert.not.ok(existsSync(at(h, '', 's5.abs')), 'post_deploy_script must not run on setup');
  }
  const r = await w.wd(['deploy', 'prod', '-p', file]);
  assertSummary(r, hosts);
  for (const h of hosts) assert.is(read(h, '', 's5.abs'), `abs cwd=${at(h, 's5')}\ntricky=${TRICKY}\nplain=x\n`);
  assert.equal(findNamed(everywhere(), /^pwned-/), []);
  assert.not.match(r.stdout, /injected/);
});

t('a post script failing on one host fails that host only, exit 1', async () => {
  await setup({ deploy_to: '~/s6' });
  const db = hosts[0]!;
  const r = await w.wd(['deploy', 'prod', '-p', w.config({ deploy_to: '~/s6', post_deploy_script: 'deploy/record.sh', rake_env: { FAIL_ON_DB: '1' } })]);
  assertSummary(r, hosts.slice(1), [[db, 'post_deploy_script exited 3']]);
  assertLine(r.stderr, hostLine(db, 'db says no'));
  for (const h of hosts) assert.ok(existsSync(at(h, '', 's6.record')), `the post script ran on ${h.name}`);
});

t('a host that is down fails with "connection refused"; the others deploy', async () => {
  await setup({ deploy_to: '~/s7' });
  const revision = w.origin.commit('main', { 'down.txt': 'while one host was down\n' }, 'down');
  const r = await w.wd(['deploy', 'prod', '-p', w.config({ deploy_to: '~/s7' }, [...hosts, w.down])]);
  assertSummary(r, hosts, [[w.down, `connection refused by 127.0.0.1:${w.down.port}: is sshd running there, and is the port right?`]]);
  for (const h of hosts) assert.is(headOf(h, 's7'), revision);
});

t('exactly one SSH connection per host per command', async () => {
  const file = w.config({ deploy_to: '~/s8', post_deploy_script: 'deploy/record.sh' });
  for (const cmd of ['setup', 'setup', 'deploy', 'deploy']) {
    const { r, conns } = await counted([cmd, 'prod', '-p', file]);
    assertSummary(r, hosts);
    assert.equal(conns, [1, 1, 1], `${cmd}: connections per host`);
  }
});

t('deploy before setup fails on every host and says to run wd setup', async () => {
  const r = await w.wd(['deploy', 'prod', '-p', w.config({ deploy_to: '~/s9' })]);
  const msg = (h: FakeHost): string => `wd: no git checkout at ${at(h, 's9')}; run 'wd setup prod' first`;
  assertSummary(
    r,
    [],
    hosts.map((h) => [h, msg(h).replace(/^wd: /, '')]),
  );
  for (const h of hosts) {
    assertLine(r.stderr, hostLine(h, msg(h)));
    assert.not.ok(existsSync(at(h, 's9')));
  }
});

t('a branch named like a command substitution deploys and runs nothing', async () => {
  const branch = '$(touch${IFS}pwned)`touch${IFS}pwned2`;touch${IFS}pwned3';
  const revision = w.origin.commit(branch, { 'hostile.txt': 'hostile branch\n' }, 'hostile');
  const file = await setup({ deploy_to: '~/s10', branch });
  w.origin.commit(branch, { 'hostile.txt': 'hostile branch, v2\n' }, 'hostile v2');
  const r = await w.wd(['deploy', 'prod', '-p', file]);
  assertSummary(r, hosts);
  for (const h of hosts) {
    assert.is(branchOf(h, 's10'), branch);
    assert.is(headOf(h, 's10'), w.origin.head(branch));
    assert.is.not(headOf(h, 's10'), revision);
    assert.is(read(h, 's10', 'hostile.txt'), 'hostile branch, v2\n');
  }
  assert.equal(findNamed(everywhere(), /^pwned\d?$/), []);
});

t('deploy_to with spaces and a single quote works', async () => {
  const dir = "my app's dir";
  const file = await setup({ deploy_to: `~/${dir}`, post_deploy_script: 'deploy/record.sh' });
  const r = await w.wd(['deploy', 'prod', '-p', file]);
  assertSummary(r, hosts);
  for (const h of hosts) {
    assert.is(read(h, dir, 'app.txt'), originFile('main', 'app.txt'));
    assert.is(headOf(h, dir), w.origin.head('main'));
    assertLine(read(h, '', `${dir}.record`), `cwd=${at(h, dir)}`);
  }
});

t('--dry-run prints each host script and contacts nothing', async () => {
  const before = w.sshd.connectionsFromLog();
  const r = await w.wd(['deploy', 'prod', '--dry-run', '-p', w.config({ deploy_to: '~/s11' }, [...hosts, w.down])]);
  assert.is(r.code, 0, show(r));
  for (const h of [...hosts, w.down]) {
    assertLine(r.stdout, `# ---- ${h.name} ----`);
    assertLine(r.stdout, `export WD_HOST=${h.name}`);
  }
  assertLine(r.stdout, 'export WD_DEPLOY_TO="$HOME"/s11');
  assert.not.match(r.stdout, /^Results:$/m);
  assert.is(w.sshd.connectionsFromLog(), before);
  for (const h of hosts) assert.not.ok(existsSync(at(h, 's11')));
});

t('--only acts on one host, --roles on the hosts with any of the roles', async () => {
  const file = w.config({ deploy_to: '~/s12' });
  const only = await counted(['setup', 'prod', '-p', file, '--only', hosts[1]!.name]);
  assertSummary(only.r, [hosts[1]!]);
  assert.equal(only.conns, [0, 1, 0]);
  assert.equal(
    hosts.map((h) => existsSync(at(h, 's12', '.git'))),
    [false, true, false],
  );

  const roles = await counted(['setup', 'prod', '-p', file, '--roles', 'db,worker']);
  assertSummary(roles.r, [hosts[0]!, hosts[2]!]);
  assert.equal(roles.conns, [1, 0, 1]);
  assert.equal(
    hosts.map((h) => existsSync(at(h, 's12', '.git'))),
    [true, true, true],
  );
});

e2e.run();
